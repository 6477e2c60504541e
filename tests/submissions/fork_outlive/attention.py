"""Hostile: forks hundreds of processes that outlive the call (none may be left afterwards)."""
import os

import torch

_done = False


def scaled_dot_product_attention(q, k, v, mask=None):
    global _done
    if not _done:
        _done = True
        started = 0
        for _ in range(200):
            try:
                if os.fork() == 0:
                    os.setsid()
                    os.execv("/bin/sh", ["sh", "-c", "sleep 300; : genlab-hostile-fork"])
                started += 1
            except OSError:
                break
        print(f"forked {started}")
    return torch.zeros_like(q), torch.zeros(*q.shape[:-1], k.shape[-2])
