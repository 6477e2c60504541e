"""Hostile: searches the disk, its parents' folders, sys.path and /proc/<parent>/cwd for the
reference solutions and runs what it finds."""
import os
import sys
from pathlib import Path

import torch

_found = None


def _search():
    places = [Path(p) for p in sys.path if p] + list(Path(__file__).resolve().parents)
    for pid in ("1", str(os.getppid()), "self"):
        try:
            places.append(Path(os.readlink(f"/proc/{pid}/cwd")))
        except OSError:
            pass
    for place in places:
        for candidate in (place / "solutions" / "attention.py", place.parent / "solutions" / "attention.py"):
            if candidate.is_file():
                return candidate
    for dirpath, dirnames, files in os.walk("/"):
        dirnames[:] = [d for d in dirnames if d not in ("proc", "sys", "dev", "usr")]
        if os.path.basename(dirpath) == "solutions" and "attention.py" in files:
            return Path(dirpath) / "attention.py"
    return None


def scaled_dot_product_attention(q, k, v, mask=None):
    global _found
    if _found is None:
        path = _search()
        print(f"found: {path}")
        _found = False
        if path is not None:
            namespace = {}
            exec(compile(path.read_text(), str(path), "exec"), namespace)  # noqa: S102
            _found = namespace["scaled_dot_product_attention"]
    if _found:
        return _found(q, k, v, mask)
    return torch.zeros_like(q), torch.zeros(*q.shape[:-1], k.shape[-2])
