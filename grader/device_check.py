"""Device contracts checked without a GPU: a simulated second device, in the worker.

On a CPU-only machine every tensor is on the CPU, so code that creates a mask with
``torch.ones(n, n)`` (the default device), keeps a mask as a plain attribute instead of a
buffer, or indexes a schedule after ``.cpu()`` passes, and fails only on CUDA. The
:class:`DeviceTracker` runs the student's call on the CPU, with its real values (sampling,
``.item()``, ``nonzero`` and control flow on values all work), while it tags every tensor
that would be on the device in a CUDA run:

- the call's tensor inputs, the parameters and buffers of its module inputs and of the
  student's object (what ``.to(device)`` moves), and its generators;
- what an operation computes from a tagged tensor, and what a factory creates with
  ``device=x.device`` (``x.device`` reads ``cuda:0`` for a tagged tensor);
- for a function without tensor inputs (a schedule, a mask of a length), what a factory
  creates on the default device, as under ``torch.set_default_device("cuda")``.

An operation that mixes a tagged tensor with an untagged one of one or more dimensions (CUDA
refuses it, 0-d CPU scalars excepted), ``.numpy()`` of a tagged tensor, and a result that is
not tagged are violations; each names the student's line that used the tensor and the line
that created it. Meta tensors were the alternative: they need no tracking, but have no
values, so ``.item()``, sampling and data-dependent shapes fail on them and whole exercises
could not be checked.

This module runs in the worker: it must not import the properties or Hypothesis.

Over 300 lines on purpose: the tracker's function-mode handlers, device tags and messages
are one mechanism; split, each part would need the others' private state.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import torch
from torch.overrides import TorchFunctionMode

FAKE_DEVICE = torch.device("cuda", 0)  # what student code sees as the device of a tagged tensor
_ON = "_genlab_on_device"  # attribute of a tensor: True where a CUDA run would have it on the device
_FROM = "_genlab_created_at"  # attribute of an untagged tensor: (file, line, code) that created it
_DEVICE_GET = torch._C.TensorBase.device
_IS_CUDA_GET = torch._C.TensorBase.is_cuda
# Frames in these folders are never the student's line (torch itself; the grader, its fixtures included).
_SKIP_DIRS = (os.path.dirname(torch.__file__), os.path.dirname(__file__))
_MOVES = {"to", "cpu", "cuda", "type_as"}
# Copies across devices are allowed (slice assignment is a copy too); torch.tensor([...]) reads
# numbers out of its list and creates on the default device, wherever they were.
_CROSS_DEVICE = {"copy_", "__setitem__", "tensor", "as_tensor"}
_IN_PLACE_DUNDERS = {"__iadd__", "__isub__", "__imul__", "__itruediv__", "__ifloordiv__", "__imod__", "__ipow__", "__iand__", "__ior__", "__ixor__", "__ilshift__", "__irshift__", "__imatmul__", "__setitem__"}


Origin = tuple[str, int, str, str] | None  # (file, line, code, function) in the student's code


class FakeDeviceGenerator(torch.Generator):
    """A CPU generator with the same state whose ``.device`` reads ``cuda:0``: the generator
    of a CUDA run, as far as the student's code can tell (``torch.zeros(..., device=g.device)``)."""

    @property
    def device(self) -> torch.device:  # type: ignore[override]
        return FAKE_DEVICE


class DeviceViolation(Exception):
    """A CUDA run would fail here, or return a tensor on the wrong device."""

    def __init__(self, message: str, frames: list[list[Any]]) -> None:
        super().__init__(message)
        self.message = message
        self.frames = frames


def on_device(value: Any) -> bool:
    return bool(getattr(value, _ON, False))


def _tag(value: Any, on: bool, origin: Origin = None) -> None:
    try:
        setattr(value, _ON, on)
        if not on and origin is not None and getattr(value, _FROM, None) is None:
            setattr(value, _FROM, origin)
    except (AttributeError, RuntimeError):  # a tensor type that takes no attributes
        pass


def _is_fake(device: Any) -> bool:
    if isinstance(device, torch.device):
        return device.type != "cpu"
    if isinstance(device, str):
        return not device.startswith("cpu")
    if isinstance(device, int):
        return True  # a CUDA device index
    return False


def _tensors(value: Any, depth: int = 0) -> list[torch.Tensor]:
    if isinstance(value, torch.Tensor):
        return [value]
    if depth < 3 and isinstance(value, (list, tuple)):
        return [t for v in value for t in _tensors(v, depth + 1)]
    if depth < 3 and isinstance(value, dict):
        return [t for v in value.values() for t in _tensors(v, depth + 1)]
    return []


class DeviceTracker(TorchFunctionMode):
    """Tracks which tensors a CUDA run would hold on the device (see the module docstring).

    ``default_on_device``: factories without ``device=`` create on the device (a call with no
    tensor input, graded as under ``torch.set_default_device``); otherwise on the CPU.
    ``checking``: report violations (off while a module is constructed: it is built on the
    CPU and moved by ``.to(device)`` afterwards).
    """

    def __init__(self, submission: Path | None, *, default_on_device: bool = False, checking: bool = True) -> None:
        super().__init__()
        self.submission = str(submission) if submission is not None else None
        self.default_on_device = default_on_device
        self.checking = checking
        self.violation: DeviceViolation | None = None

    # ------------------------------------------------------------------ tagging inputs

    def move(self, value: Any) -> Any:
        """What ``to_device(value, "cuda")`` does in a CUDA run, as tags; returns the value
        (generators are replaced by :class:`FakeDeviceGenerator` with the same state)."""
        if isinstance(value, torch.Tensor):
            _tag(value, True)
        elif isinstance(value, torch.nn.Module):
            for module in value.modules():
                for t in list(module._parameters.values()) + list(module._buffers.values()):
                    if t is not None:
                        _tag(t, True)
                        if t.grad is not None:
                            _tag(t.grad, True)
        elif isinstance(value, torch.Generator) and not isinstance(value, FakeDeviceGenerator):
            fake = FakeDeviceGenerator()
            fake.set_state(value.get_state())
            return fake
        elif isinstance(value, list):
            return [self.move(v) for v in value]
        elif isinstance(value, tuple):
            return tuple(self.move(v) for v in value)
        elif isinstance(value, dict):
            return {k: self.move(v) for k, v in value.items()}
        return value

    def check_result(self, value: Any) -> None:
        """Every tensor of the result must be where a CUDA run would put it: on the device."""
        if self.default_on_device:
            advice = (
                ": a function without tensor inputs creates its result on the default device"
                " (under torch.set_default_device('cuda') it is on the GPU); torch.from_numpy and device='cpu' always give CPU tensors"
            )
        else:
            advice = ": results must be on the input's device. Create tensors with device=x.device, and register masks as buffers"
        for t in _tensors(value):
            if not on_device(t):
                self._violate("would return a tensor" + self._origin_text(t) + " on the CPU" + advice, origin=getattr(t, _FROM, None), here=None)

    # ------------------------------------------------------------------ the mode

    def __torch_function__(self, func: Any, types: Any, args: tuple = (), kwargs: dict | None = None) -> Any:
        kwargs = kwargs or {}
        owner = getattr(func, "__self__", None)
        if owner is _DEVICE_GET:
            return FAKE_DEVICE if on_device(args[0]) else func(*args)
        if owner is _IS_CUDA_GET:
            return on_device(args[0]) or func(*args)
        if type(owner).__name__ == "getset_descriptor":  # other attribute reads: .shape, .dtype, .T, .grad
            return self._attribute(func, args, kwargs)
        name = getattr(func, "__name__", "")
        if name in _MOVES:
            return self._move_call(name, func, args, kwargs)
        if name == "__iter__" and args and isinstance(args[0], torch.Tensor):
            rows = list(func(*args, **kwargs))  # for row in x: each row is where x is
            for row in rows:
                _tag(row, on_device(args[0]), getattr(args[0], _FROM, None))
            return iter(rows)
        if name in ("numpy", "__array__") and args and on_device(args[0]) and self.checking:
            self._violate("would call .numpy() on a GPU tensor, which raises: stay in torch, or move it with .cpu() first and back with .to(x.device)", origin=None, here=self._student_frame())
        target: bool | None = None  # the device= argument: True on the device, False on the CPU
        if kwargs.get("device") is not None:
            target = _is_fake(kwargs["device"])
            if target:
                kwargs = {**kwargs, "device": "cpu"}
        tensors = _tensors(args) + _tensors(kwargs)
        if name in ("tensor", "as_tensor") and args and isinstance(args[0], (list, tuple)):
            tensors = []  # built from numbers: a factory
        result = func(*args, **kwargs)
        in_place = (name.endswith("_") and not name.startswith("__")) or name in _IN_PLACE_DUNDERS
        if in_place and args and isinstance(args[0], torch.Tensor):
            out_on = on_device(args[0])
        elif target is not None:
            out_on = target
        elif tensors:
            out_on = any(on_device(t) for t in tensors)
        else:
            out_on = self.default_on_device
        if self.checking:
            self._check_mixing(name, args, tensors, out_on, kwargs.get("generator"))
        if not (in_place and args and isinstance(args[0], torch.Tensor)):
            self._tag_outputs(result, tensors, out_on)
        return result

    def _attribute(self, func: Any, args: tuple, kwargs: dict) -> Any:
        """An attribute read (``.shape``, ``.T``, ``.data``, ``.grad``): a tensor it returns is
        where its owner is."""
        result = func(*args, **kwargs)
        if isinstance(result, torch.Tensor) and args and isinstance(args[0], torch.Tensor) and result is not args[0]:
            self._tag_outputs(result, [args[0]], on_device(args[0]))
        return result

    def _move_call(self, name: str, func: Any, args: tuple, kwargs: dict) -> Any:
        """``.to(...)``, ``.cpu()``, ``.cuda()``: run on the CPU, tag by the destination."""
        source = args[0] if args and isinstance(args[0], torch.Tensor) else None
        destination: bool | None = {"cpu": False, "cuda": True}.get(name)
        rest: list[Any] = list(args[1:])
        if name == "type_as" and len(args) > 1 and isinstance(args[1], torch.Tensor):
            destination = on_device(args[1])  # the other's type, its device included
            result = func(*args, **kwargs)
        elif name == "to":
            for i, a in enumerate(rest):
                if isinstance(a, torch.Tensor):
                    destination = on_device(a)
                    rest[i] = a.dtype  # to(other) takes other's dtype and device
                elif isinstance(a, (torch.device, str)) or (isinstance(a, int) and not isinstance(a, bool)):
                    destination = _is_fake(a)
                    rest[i] = "cpu"
            if kwargs.get("device") is not None:
                destination = _is_fake(kwargs["device"])
                kwargs = {**kwargs, "device": "cpu"}
            result = func(args[0], *rest, **kwargs)
        elif name == "type_as":
            result = func(*args, **kwargs)
        else:
            result = args[0] if name == "cuda" else func(*args, **kwargs)
        if source is None or not isinstance(result, torch.Tensor):
            return result
        if destination is None:
            destination = on_device(source)
        if result is source and destination != on_device(source):
            result = source.view_as(source)  # a new tensor object: the source keeps its tag
        _tag(result, destination, None if destination else self._student_frame())
        return result

    def _check_mixing(self, name: str, args: tuple, tensors: list[torch.Tensor], out_on: bool, generator: Any) -> None:
        if isinstance(generator, FakeDeviceGenerator) and not out_on:
            self._violate(
                "would draw with the generator, which is on the GPU, into a tensor on the CPU, which raises:"
                " create the tensor with device=generator.device (or the input's device)",
                origin=None,
                here=self._student_frame(),
            )
        if name in _CROSS_DEVICE or not any(on_device(t) for t in tensors):
            return  # an op on CPU tensors only is fine
        skip = {id(t) for t in _tensors(args[1:2])} if name == "__getitem__" and on_device(args[0]) else set()
        # CUDA takes CPU index tensors and 0-d CPU scalars, nothing else from the CPU.
        off = [t for t in tensors if not on_device(t) and t.dim() > 0 and id(t) not in skip]
        if off:
            origin = getattr(off[0], _FROM, None)
            self._violate(
                f"would raise 'Expected all tensors to be on the same device' (in {name or 'an operation'}): a tensor"
                f"{self._origin_text(off[0])} stays on the CPU while the inputs are on the GPU. {_advice(origin)}",
                origin=origin,
                here=self._student_frame(),
            )

    def _tag_outputs(self, result: Any, tensors: list[torch.Tensor], on: bool) -> None:
        origin = None
        if not on:
            origin = next((getattr(t, _FROM) for t in tensors if getattr(t, _FROM, None) is not None), None) or self._student_frame()
        for out in _tensors(result):
            if not any(out is t for t in tensors):
                _tag(out, on, origin)

    # ------------------------------------------------------------------ where in the student's code

    def _student_frame(self) -> Origin:
        frame = sys._getframe(1)
        while frame is not None:
            filename = frame.f_code.co_filename
            if self._is_student_file(filename):
                import linecache

                line = linecache.getline(filename, frame.f_lineno).strip()[:200]
                return (filename, frame.f_lineno, line, "__init__" if self._in_constructor(frame) else frame.f_code.co_name)
            frame = frame.f_back  # type: ignore[assignment]
        return None

    def _in_constructor(self, frame: Any) -> bool:
        """Whether the student's code runs inside an ``__init__`` (a tensor kept from there is an attribute)."""
        while frame is not None:
            if frame.f_code.co_name == "__init__" and self._is_student_file(frame.f_code.co_filename):
                return True
            frame = frame.f_back
        return False

    def _is_student_file(self, filename: str) -> bool:
        if self.submission is not None:
            return filename.startswith(self.submission)
        return not filename.startswith(_SKIP_DIRS) and not filename.startswith("<") and "/lib/python" not in filename

    @staticmethod
    def _origin_text(t: Any) -> str:
        origin = getattr(t, _FROM, None)
        if origin is None:
            return " made before the call (at import time) or by torch.from_numpy"
        return f" created at {Path(origin[0]).name}:{origin[1]}"

    def _violate(self, message: str, *, origin: Origin, here: Origin) -> None:
        frames = [[f[0], f[1], label, f[2]] for f, label in ((origin, "created here"), (here, "fails here")) if f is not None]
        if here is not None:
            message = f"{message} (at {Path(here[0]).name}:{here[1]})"
        violation = DeviceViolation(message, frames)
        if self.violation is None:
            self.violation = violation  # the first one, even if the student's code catches it
        raise violation


def _advice(origin: Origin) -> str:
    if origin is not None and origin[3] == "__init__":
        return (
            "It was made in __init__ and kept as a plain attribute, which .to(device) does not move (only"
            " parameters and buffers): register it with self.register_buffer(name, tensor)"
        )
    return "Create it with device=x.device (or torch.zeros_like(x), x.new_ones(...))"
