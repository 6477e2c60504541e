"""Parallel grading slots as processes: each slot's judge runs in a process of its own.

Why not threads of one judge: the judge is mostly Python (Hypothesis's draws, the comparisons,
the reference) and holds the GIL, so two slots as threads barely beat one; and torch's autograd
state is not safe to share between judges that make views of tensors at the same moment (a batch
once failed a correct student with "Attempted to make a tensor into a differentiable view, but
the tensor already had autograd metadata"). A pool process imports torch once and then grades
one student after another, so the start-up is paid once per slot, not per student.

Pool processes are started with ``spawn`` (forking a process whose torch thread pools are
running is unsafe), ignore Ctrl-C (the parent stops the batch and cancels what is queued), and
die with their parent: ``PR_SET_PDEATHSIG`` on Linux when the pool is created by the main thread,
otherwise a thread that watches the parent's pid. So a batch killed with SIGKILL leaves no judge
behind, and each judge's sandboxed workers die with it (bubblewrap's ``--die-with-parent``).
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor

PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
PARENT_POLL_S = 0.5


def slot_pool(slots: int, threads: int) -> ProcessPoolExecutor:
    """A pool of ``slots`` judge processes, each with ``threads`` torch threads."""
    # PR_SET_PDEATHSIG fires when the *thread* that forked the child ends: only the main thread
    # lives as long as the process (a dask worker's task threads may be retired).
    deathsig = threading.current_thread() is threading.main_thread()
    return ProcessPoolExecutor(
        max_workers=max(1, slots),
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_start_slot,
        initargs=(os.getpid(), threads, deathsig),
    )


def stop_pool(pool: ProcessPoolExecutor, *, finished: bool) -> None:
    """Release a finished pool; on an interruption, drop what is queued and stop the judges now."""
    if finished:
        # Every result is in: do not wait for the judges' interpreter teardown (half a second
        # with torch loaded); they exit on their own, or with the batch.
        pool.shutdown(wait=False)
        return
    processes = list(getattr(pool, "_processes", {}).values())  # not public API; best effort
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        if process.is_alive():
            process.kill()


def _start_slot(parent: int, threads: int, deathsig: bool) -> None:
    """Runs first in every pool process."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    if not (deathsig and _kill_me_with_parent(parent)):
        threading.Thread(target=exit_when_orphaned, args=(parent,), name="genlab-parent-watch", daemon=True).start()
    import torch

    torch.set_num_threads(threads)  # the judge's own share of the cores (its reference runs here)


def _kill_me_with_parent(parent: int) -> bool:
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
            return False
    except (OSError, AttributeError):
        return False
    if os.getppid() != parent:  # the parent died before the signal was armed
        os._exit(1)
    return True


def exit_when_orphaned(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(PARENT_POLL_S)
    os._exit(1)
