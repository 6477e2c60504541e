"""Memory as a property: the largest tensor a student's call allocates.

Some contracts bound what an implementation may allocate, not only what it returns (online
softmax attention must never build the full ``(Lq, Lk)`` score matrix). When a property asks
for it, the worker runs the call under :class:`LargestTensorProbe`, a ``TorchDispatchMode``
that sees every aten operation the call performs and keeps the largest tensor any of them
produced. The record travels back to the judge as plain data (:meth:`LargestTensor.to_plain`)
and is rebuilt there with validation (:meth:`LargestTensor.from_plain`); a property compares it
with its bound (``Context.call_measuring_memory`` / ``Context.assert_allocation_at_most``).

What counts: an operation's output that does not share storage with one of the operation's
inputs. Views (slicing, ``transpose``, ``expand``, ``reshape`` without a copy) and in-place or
``out=`` operations write no new memory, so they are not allocations. Copies an operator makes
inside its own kernel are invisible here and are not the student's doing. Only the forward
call is measured: the backward pass of a gradient request is not.

Cost: nothing unless a property asks (the mode is entered only for requests that carry
``"memory": True``); under the mode every operation pays a Python callback, which is fine for
the course's small inputs.

The worker imports this module, so it must not import the properties, the reference or Hypothesis.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

_MAX_DIMS = 16


@dataclass(frozen=True)
class LargestTensor:
    """The largest tensor (by number of elements) an operation produced during one call."""

    numel: int
    bytes: int
    shape: tuple[int, ...]
    dtype: str  # "float64"
    op: str  # the aten operation that produced it, "aten.bmm.default"

    def describe(self) -> str:
        """'a float64 tensor of shape (2, 16, 64) = 2048 elements (16384 bytes), made by aten.bmm'."""
        op = self.op.removesuffix(".default")
        return f"a {self.dtype} tensor of shape {self.shape} = {self.numel} elements ({self.bytes} bytes), made by {op}"

    def to_plain(self) -> dict[str, Any]:
        return {"numel": self.numel, "bytes": self.bytes, "shape": list(self.shape), "dtype": self.dtype, "op": self.op}

    @classmethod
    def from_plain(cls, data: Any) -> LargestTensor | None:
        """Rebuild a record the worker sent; None for "no tensor allocated". Raises ValueError when malformed."""
        if data is None:
            return None
        if not isinstance(data, dict):
            raise ValueError("the memory record is not a mapping")
        numel, size, shape = data.get("numel"), data.get("bytes"), data.get("shape")
        if not all(_count(x) for x in (numel, size)):
            raise ValueError("the memory record's counts are not non-negative integers")
        if not isinstance(shape, (list, tuple)) or len(shape) > _MAX_DIMS or not all(_count(s) for s in shape):
            raise ValueError("the memory record's shape is not a list of sizes")
        return cls(numel, size, tuple(shape), str(data.get("dtype", "?"))[:32], str(data.get("op", "?"))[:100])


def _count(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool) and 0 <= x < 2**62


def probe() -> Any:
    """A fresh :class:`LargestTensorProbe` (imports torch only when a property asks for one)."""
    return _probe_class()()


_PROBE_CLASS: Any = None


def _probe_class() -> Any:
    global _PROBE_CLASS
    if _PROBE_CLASS is None:
        _PROBE_CLASS = _define_probe()
    return _PROBE_CLASS


def _define_probe() -> Any:
    import torch
    from torch.utils._python_dispatch import TorchDispatchMode
    from torch.utils._pytree import tree_flatten

    def storages(values: Any) -> set[tuple[str, int]]:
        found = set()
        for t in tree_flatten(values)[0]:
            if isinstance(t, torch.Tensor):
                key = _storage_key(t)
                if key is not None:
                    found.add(key)
        return found

    class LargestTensorProbe(TorchDispatchMode):
        """Keeps the largest tensor any operation allocates while the mode is active."""

        def __init__(self) -> None:
            super().__init__()
            self.largest: LargestTensor | None = None

        @classmethod
        def _should_skip_dynamo(cls) -> bool:
            # By default torch wraps __torch_dispatch__ in torch._dynamo.disable, which imports
            # torch._dynamo (and sympy) on the first operation: seconds of a student's call budget.
            # Nothing here is compiled, so there is nothing to disable.
            return False

        def __torch_dispatch__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
            out = func(*args, **(kwargs or {}))
            inputs: set[tuple[str, int]] | None = None  # computed lazily: most outputs are small
            for t in tree_flatten(out)[0]:
                if not isinstance(t, torch.Tensor) or (self.largest is not None and t.numel() <= self.largest.numel):
                    continue
                if inputs is None:
                    inputs = storages((args, kwargs))
                if _storage_key(t) in inputs:
                    continue  # a view of an input, or an in-place / out= write: no new memory
                self.largest = LargestTensor(t.numel(), t.numel() * t.element_size(), tuple(t.shape), str(t.dtype).removeprefix("torch."), str(func))
            return out

    return LargestTensorProbe


def _storage_key(t: Any) -> tuple[str, int] | None:
    try:
        storage = t.untyped_storage()
    except (RuntimeError, NotImplementedError):  # sparse and other storage-less layouts
        return None
    ptr = storage.data_ptr()
    return (str(t.device), ptr) if ptr else None
