"""`grade batch CLASS --scheduler tcp://HOST:8786`: the same slots, on a dask.distributed cluster.

Each student is one dask task that runs exactly what a local slot runs (`grade_student`, with its
own sandboxed worker) on a dask worker where the course is installed, in a judge process of its
own (`grader.slot_task`), never in the dask worker's task thread. The class folder must be
visible at the same path on the workers (a shared filesystem, as on any SLURM cluster). Results
stream back as they finish and the caller writes each one into the output folder at once, so
an interrupted cluster batch resumes exactly like a local one.

A worker that dies mid-task (killed, out of memory, its node lost) is not a verdict: the scheduler
gives the task to another worker (dask's `distributed.scheduler.allowed-failures`, 3 by default),
and only the run that finishes is written, so the student is graded once.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

from grader.errors import UsageError
from grader.limits import Limits

INSTALL_HINT = 'pip install "genlab[cluster]"  (or: pip install distributed)'
CONNECT_TIMEOUT_S = 20


def require_distributed() -> ModuleType:
    """The `distributed` package, or a UsageError naming the command that installs it."""
    try:
        import distributed
    except ImportError:
        raise UsageError(f"--scheduler needs dask.distributed, which is not installed; install it with `{INSTALL_HINT}`") from None
    return distributed


def grade_on_cluster(scheduler: str, todo: list[Path], exercise_ids: list[str], *, device: str, limits: Limits, sandbox_mode: str) -> Iterator[dict[str, Any]]:
    """Records in the order the students finish on the cluster."""
    distributed = require_distributed()
    try:
        client = distributed.Client(scheduler, timeout=CONNECT_TIMEOUT_S, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        raise UsageError(f"cannot reach the dask scheduler at {scheduler}: {exc} (start one with `dask scheduler` and workers with `dask worker {scheduler}`)") from None
    with client:
        batch = uuid.uuid4().hex[:8]
        host_slots = _slots_per_host(client, distributed)
        folders, futures = {}, []
        for index, folder in enumerate(todo):
            future = client.submit(cluster_slot, str(folder.resolve()), exercise_ids, device=device, limits=limits, sandbox_mode=sandbox_mode, host_slots=host_slots, key=f"genlab-{batch}-{index}", pure=False)
            folders[future.key] = folder
            futures.append(future)
        for future in distributed.as_completed(futures, loop=client.loop):
            folder = folders[future.key]
            if future.status == "finished":
                yield future.result()
            else:  # the task itself failed: workers kept dying on it (KilledWorker), or dask could not run it
                yield _task_failed(folder, future.exception())


def _task_failed(folder: Path, exc: BaseException | None) -> dict[str, Any]:
    from grader.batch import SCHEMA, _now, student_name, submission_hash

    return {
        "schema": SCHEMA,
        "student": student_name(folder),
        "submission_hash": submission_hash(folder),
        "isolation": "none",
        "status": "error",
        "message": f"the cluster could not grade this student: {type(exc).__name__}: {exc} (a dask worker died on it repeatedly; rerun the same command to retry)",
        "retry": True,
        "report": None,
        "graded_at": _now(),
    }


def _slots_per_host(client: Any, distributed: ModuleType) -> dict[str, int]:
    """How many students the cluster grades at once on each host (all its workers' threads)."""
    slots: dict[str, int] = {}
    for address, info in client.scheduler_info().get("workers", {}).items():
        host = distributed.comm.get_address_host(address)
        slots[host] = slots.get(host, 0) + int(info.get("nthreads", 1))
    return slots


def cluster_slot(folder: str, exercise_ids: list[str], *, device: str, limits: Limits, sandbox_mode: str, host_slots: dict[str, int] | None = None) -> dict[str, Any]:
    """Runs on a dask worker: one student, graded as a local slot would, with this worker's sandbox."""
    from grader.batch import SCHEMA, _now, judge_died, slot_threads, student_name
    from grader.core import paths
    from grader.sandbox import SandboxUnavailable, resolve_mode
    from grader.slot_task import run_in_subprocess

    path = Path(folder)
    where = f"dask worker on {socket.gethostname()}"
    error = {"schema": SCHEMA, "student": student_name(path), "submission_hash": "", "isolation": "none", "status": "error", "report": None}
    if not path.is_dir():
        return {**error, "message": f"{folder} is not visible on the {where}; put the class folder on a filesystem the workers share", "graded_at": _now()}
    try:
        isolation, _ = resolve_mode(sandbox_mode)
    except SandboxUnavailable as exc:
        return {**error, "message": f"on the {where}: {exc}", "graded_at": _now()}
    slot_limits = Limits(limits.call_timeout, limits.exercise_timeout, limits.memory_mb, threads=slot_threads(_worker_slots(host_slots or {})))
    # In a judge process of its own: the task thread only waits (see grader.slot_task for why).
    try:
        return run_in_subprocess(path, exercise_ids, device=device, solutions=paths.solutions_dir(), limits=slot_limits, isolation=isolation)
    except RuntimeError as exc:
        return judge_died(path, isolation, exc)


def _worker_slots(host_slots: dict[str, int]) -> int:
    """How many students are graded at once on this host (every dask worker's threads on it, as
    the scheduler saw them when the batch started), so that their torch threads share its cores."""
    try:
        from distributed import get_worker
        from distributed.comm import get_address_host

        worker = get_worker()
        own = int(getattr(worker, "nthreads", None) or worker.state.nthreads)
        return max(own, host_slots.get(get_address_host(worker.address), own))
    except (ImportError, ValueError, AttributeError):
        return os.cpu_count() or 1
