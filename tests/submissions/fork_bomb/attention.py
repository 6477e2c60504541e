"""Hostile: a process that forks until the machine says no (bounded at 3000, so that a machine
without the cgroup's process limit survives the test); the children sleep on. The cgroup's pids
limit stops it; the exercise ending ends them all."""
import subprocess
import sys

import torch

BOMB = """
import os
started, why = 0, "no error"
for _ in range(3000):
    try:
        if os.fork() == 0:
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, 1)  # so that the captured output ends with the bomb itself
            os.dup2(null, 2)
            os.execv("/bin/sh", ["sh", "-c", "sleep 300; : genlab-hostile-bomb"])  # small: no copy of Python
        started += 1
    except OSError as exc:
        why = exc.strerror
        break
print(f"forked {started}: {why}", flush=True)
"""
_done = False


def scaled_dot_product_attention(q, k, v, mask=None):
    global _done
    if not _done:
        _done = True
        # A small process forks fast; forking the worker (torch loaded) takes tens of ms each.
        print(subprocess.run([sys.executable, "-c", BOMB], capture_output=True, text=True, timeout=60).stdout.strip())
    return torch.zeros_like(q), torch.zeros(*q.shape[:-1], k.shape[-2])
