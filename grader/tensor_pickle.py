"""Pickles of judge → worker requests with plain tensors as raw bytes.

Torch pickles a tensor by running ``torch.save`` on its storage (a zip-less legacy archive
per tensor) and the worker runs ``torch.load`` on each: about 1–2 ms a request each way,
which over the ~200 calls of one exercise was a large share of a warm re-grade. A plain
tensor (exactly ``torch.Tensor``, on the CPU, strided, a leaf without hooks, names or Python
attributes) is sent here as its storage's bytes with dtype, offset, size, stride and
``requires_grad``, and rebuilt on a storage of its own, exactly what torch's own pickle
gives (torch does not share storage between two pickled views either; the same tensor
object twice is still one object, through pickle's memo). Anything else (a Parameter, a
subclass, a complex tensor with its conjugate bit) goes through torch's pickling unchanged.

Worker → judge answers are not pickles at all (grader.protocol); this module only speeds up
the trusted direction. It is imported by the worker to rebuild, so it must not import the
judge's side.
"""

from __future__ import annotations

import io
import pickle
from typing import Any

import torch


def rebuild(data: bytes, dtype: str, offset: int, size: tuple[int, ...], stride: tuple[int, ...], requires_grad: bool) -> torch.Tensor:
    """The tensor ``dumps`` reduced (runs in the worker, from pickle.loads)."""
    # A copy into memory torch allocated (aligned), not a view of the pickle's buffer.
    storage = torch.frombuffer(bytearray(data), dtype=torch.uint8).clone() if data else torch.empty(0, dtype=torch.uint8)
    tensor = torch.empty(0, dtype=getattr(torch, dtype)).set_(storage.untyped_storage(), offset, size, stride)
    return tensor.requires_grad_(True) if requires_grad else tensor


def _plain(obj: torch.Tensor) -> bool:
    return (
        obj.device.type == "cpu"
        and obj.layout is torch.strided
        and obj.grad_fn is None
        and not obj.is_quantized
        and not obj.is_conj()
        and not obj.is_neg()
        and not any(getattr(obj, "names", None) or ())  # named tensors (older torch)
        and not obj._backward_hooks
        and not obj.__dict__
    )


class _Pickler(pickle.Pickler):
    def reducer_override(self, obj: Any) -> Any:
        if type(obj) is torch.Tensor and _plain(obj):
            storage = obj.untyped_storage()
            raw = torch.empty(0, dtype=torch.uint8).set_(storage).numpy().tobytes() if storage.nbytes() else b""
            dtype = str(obj.dtype).removeprefix("torch.")
            return rebuild, (raw, dtype, obj.storage_offset(), tuple(obj.size()), obj.stride(), obj.requires_grad)
        return NotImplemented


def dumps(obj: Any) -> bytes:
    """``pickle.dumps(obj)`` with plain tensors sent as bytes (loaded by plain ``pickle.loads``)."""
    buffer = io.BytesIO()
    _Pickler(buffer, protocol=pickle.DEFAULT_PROTOCOL).dump(obj)
    return buffer.getvalue()
