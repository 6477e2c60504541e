"""A content hash of a call's inputs: the key under which the reference's answer is recorded.

Grading is derandomized, so a student's run builds the same inputs, bit for bit, as the
release-time run on the solutions; only content counts (not object identity, device or
``requires_grad``), so a deep copy or a tensor moved to another device names the same input.
"""

from __future__ import annotations

import hashlib
import struct
from typing import Any

import torch


def fingerprint(value: Any) -> str:
    """sha256 (hex, 32 characters) of a value's canonical bytes."""
    h = hashlib.sha256()
    _feed(h, value, depth=0)
    return h.hexdigest()[:32]


def _feed(h: Any, value: Any, depth: int) -> None:  # noqa: PLR0912 - one branch per kind of value
    if depth > 20:
        h.update(b"<deep>")
        return
    if isinstance(value, torch.Tensor):
        t = value.detach().cpu().contiguous()
        h.update(f"T{t.dtype}{tuple(t.shape)}".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    elif isinstance(value, torch.nn.Module):
        h.update(f"M{type(value).__module__}.{type(value).__qualname__}{value.training}".encode())
        for name, tensor in value.state_dict().items():
            h.update(name.encode())
            _feed(h, tensor, depth + 1)
        for name, child in sorted(vars(value).items()):
            if not name.startswith("_") and name != "training":
                h.update(name.encode())
                _feed(h, child, depth + 1)
        for name, child in value.named_children():
            h.update(f"child {name}".encode())
            _feed(h, child, depth + 1)
    elif isinstance(value, torch.Generator):
        h.update(b"G")
        _feed(h, value.get_state(), depth + 1)
    elif isinstance(value, bool) or value is None:
        h.update(f"B{value}".encode())
    elif isinstance(value, int):
        h.update(f"I{value}".encode())
    elif isinstance(value, float):
        h.update(b"F" + struct.pack("<d", value))
    elif isinstance(value, (str, bytes)):
        h.update(b"S" + (value.encode() if isinstance(value, str) else value) + b"\0")
    elif isinstance(value, (list, tuple)):
        h.update(f"L{type(value).__name__}{len(value)}".encode())
        for item in value:
            _feed(h, item, depth + 1)
    elif isinstance(value, dict):
        h.update(f"D{len(value)}".encode())
        for key in sorted(value, key=repr):
            _feed(h, key, depth + 1)
            _feed(h, value[key], depth + 1)
    elif isinstance(value, (torch.dtype, torch.device, torch.Size)):
        h.update(f"X{value}".encode())
    elif isinstance(value, type) or (callable(value) and hasattr(value, "__qualname__")):
        h.update(f"C{getattr(value, '__module__', '')}.{value.__qualname__}".encode())
    elif hasattr(value, "__dict__"):
        h.update(f"O{type(value).__module__}.{type(value).__qualname__}".encode())
        _feed(h, {k: v for k, v in vars(value).items() if not k.startswith("_")}, depth + 1)
    else:
        h.update(f"R{type(value).__qualname__}:{value!r}".encode())
