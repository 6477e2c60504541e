"""Parallel slots run in judge processes that die with the batch (`grader.slot_pool`)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from tests.cli_helpers import ROOT

# A parent that starts a pool (from its main thread, or from another thread as a dask task does),
# prints the pool process's pid, and waits to be killed.
PARENT = """
import os, sys, threading, time
from grader.slot_pool import slot_pool
def start():
    pool = slot_pool(1, 1)
    print(pool.submit(os.getpid).result(), flush=True)
    time.sleep(600)
if sys.argv[1] == "main":
    start()
else:
    threading.Thread(target=start, daemon=True).start()
    time.sleep(600)
"""


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[1][0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("started_from", ["main", "thread"])
def test_a_judge_process_dies_when_its_batch_is_killed(started_from: str) -> None:
    parent = subprocess.Popen([sys.executable, "-c", PARENT, started_from], stdout=subprocess.PIPE, text=True, cwd=ROOT)
    assert parent.stdout is not None
    judge = int(parent.stdout.readline())
    assert judge != parent.pid and _alive(judge)
    os.kill(parent.pid, signal.SIGKILL)  # the parent only, not its process group
    parent.wait()
    parent.stdout.close()
    deadline = time.monotonic() + 10
    while _alive(judge) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(judge), f"judge process {judge} outlived its killed parent"


def test_a_judge_process_ignores_ctrl_c_and_uses_its_share_of_threads() -> None:
    from grader.slot_pool import slot_pool, stop_pool

    pool = slot_pool(1, 1)
    try:
        handler, threads = pool.submit(_probe).result()
    finally:
        stop_pool(pool, finished=True)
    assert handler == signal.SIG_IGN and threads == 1


def _probe() -> tuple[object, int]:
    import torch

    return signal.getsignal(signal.SIGINT), torch.get_num_threads()
