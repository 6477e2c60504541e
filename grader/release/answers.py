"""The reference's recorded answers: recorded on the solutions at release time, replayed in
the student copy in place of the reference module.

``RecordingReference`` wraps the real reference module: every call of one of its functions is
stored under the fingerprint of its name and inputs. When the property differentiates the
output, an identity autograd node on it records, for each cotangent it receives, the
reference's gradients with respect to every input that requires grad (module parameters
included). ``ReplayReference`` answers the same calls from the stored book; its outputs carry
an autograd node that returns the recorded gradients. A call it has no answer for raises
:class:`NotRecorded` (the property then skips that example, see ``Context.ref``).

Classes (a reference object with state and attributes) are not recorded: a property that
builds a reference object runs only in the instructor's copy.
"""

from __future__ import annotations

import io
import lzma
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from grader.release.fingerprint import fingerprint

FORMAT = 1


class NotRecorded(Exception):
    """The student copy has no recorded answer of the reference for this input."""


@dataclass
class AnswerBook:
    """One exercise's recorded answers: outputs by call key, gradients by (call key, cotangent)."""

    outputs: dict[str, Any] = field(default_factory=dict)
    grads: dict[str, Any] = field(default_factory=dict)
    differentiable: dict[str, list[int]] = field(default_factory=dict)  # key -> output positions with a graph
    conflicts: set[str] = field(default_factory=set)  # keys answered twice, differently

    def save(self, path: Path) -> None:
        buffer = io.BytesIO()
        torch.save({"format": FORMAT, "outputs": self.outputs, "grads": self.grads, "differentiable": self.differentiable}, buffer)
        path.write_bytes(lzma.compress(buffer.getvalue(), preset=9))

    @classmethod
    def load(cls, path: Path) -> AnswerBook:
        data = torch.load(io.BytesIO(lzma.decompress(path.read_bytes())), weights_only=True)
        if data.get("format") != FORMAT:
            raise ValueError(f"{path}: recorded answers of format {data.get('format')}, this grader reads {FORMAT}; build the release again")
        return cls(data["outputs"], data["grads"], data["differentiable"])


def _flatten(value: Any) -> list[Any]:
    if isinstance(value, (list, tuple)):
        return [x for v in value for x in _flatten(v)]
    if isinstance(value, dict):
        return [x for k in sorted(value, key=repr) for x in _flatten(value[k])]
    return [value]


def _rebuild(value: Any, leaves: list[Any]) -> Any:
    """``value``'s structure with its leaves taken, in order, from ``leaves``."""
    if isinstance(value, (list, tuple)):
        items = [_rebuild(v, leaves) for v in value]
        return type(value)(items) if type(value) in (list, tuple) else type(value)(*items)
    if isinstance(value, dict):
        rebuilt = {k: _rebuild(value[k], leaves) for k in sorted(value, key=repr)}
        return {k: rebuilt[k] for k in value}
    return leaves.pop(0)


def grad_inputs(args: Any) -> list[torch.Tensor]:
    """The tensors of a call that require grad, in a fixed order (module parameters included)."""
    found: list[torch.Tensor] = []
    for leaf in _flatten(args):
        if isinstance(leaf, torch.Tensor) and leaf.requires_grad:
            found.append(leaf)
        elif isinstance(leaf, torch.nn.Module):
            found += [p for p in leaf.parameters() if p.requires_grad]
    return found


def _stored(value: Any) -> Any:
    """A detached CPU copy of an output (what torch.load(weights_only=True) reads back)."""
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().clone()
    if isinstance(value, (list, tuple)):
        return type(value)(_stored(v) for v in value) if type(value) in (list, tuple) else tuple(_stored(v) for v in value)
    if isinstance(value, dict):
        return {k: _stored(v) for k, v in value.items()}
    if isinstance(value, (int, float, bool, str)) or value is None:
        return value
    raise TypeError(f"cannot record an output of type {type(value).__name__}")


def _key(name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    return fingerprint((name, list(args), kwargs))


def _grad_key(key: str, cotangents: tuple[Any, ...]) -> str:
    return key + ":" + fingerprint(list(cotangents))


class _Tap(torch.autograd.Function):
    """Identity on the outputs; on the way back, hands the cotangents to ``record``."""

    @staticmethod
    def forward(ctx: Any, record: Callable[[tuple[Any, ...]], None], *outs: torch.Tensor) -> Any:
        ctx.record = record
        return tuple(o.view_as(o) for o in outs)

    @staticmethod
    def backward(ctx: Any, *cotangents: torch.Tensor) -> Any:
        ctx.record(cotangents)
        return (None, *cotangents)


class _Replayed(torch.autograd.Function):
    """Recorded outputs as a function of the inputs that require grad; its backward looks the
    gradients up by the cotangents it receives."""

    @staticmethod
    def forward(ctx: Any, answer: tuple[list[torch.Tensor], Callable[[tuple[Any, ...]], Any]], *inputs: torch.Tensor) -> Any:
        outs, lookup = answer
        ctx.lookup = lookup
        ctx.shapes = [(i.shape, i.dtype) for i in inputs]
        return tuple(o.clone() for o in outs)

    @staticmethod
    def backward(ctx: Any, *cotangents: torch.Tensor) -> Any:
        grads = ctx.lookup(cotangents)
        return (None, *grads)


class RecordingReference:
    """The real reference module, recording every function call into an :class:`AnswerBook`."""

    recorded = True

    def __init__(self, module: Any, book: AnswerBook) -> None:
        self._module = module
        self.book = book
        self.calls = 0  # function calls recorded
        self.objects = 0  # reference classes handed out (not replayable)

    def __getattr__(self, name: str) -> Any:
        impl = getattr(self._module, name)
        if isinstance(impl, type) or not callable(impl):
            self.objects += 1
            return impl  # a reference object cannot be replayed: see the module docstring
        return lambda *args, **kwargs: self._call(name, impl, args, kwargs)

    def _call(self, name: str, impl: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        key = _key(name, args, kwargs)
        inputs = grad_inputs((args, kwargs)) if torch.is_grad_enabled() else []
        out = impl(*args, **kwargs)
        self.calls += 1
        try:
            stored = _stored(out)
        except TypeError:  # an output a torch file cannot hold: not recorded, so not replayed either
            return out
        if key in self.book.outputs and fingerprint(self.book.outputs[key]) != fingerprint(stored):
            self.book.conflicts.add(key)
        self.book.outputs.setdefault(key, stored)
        leaves = _flatten(out)
        positions = [i for i, o in enumerate(leaves) if isinstance(o, torch.Tensor) and o.requires_grad]
        if not inputs or not positions:
            return out
        self.book.differentiable[key] = positions
        graph_outs = [leaves[i] for i in positions]

        def record(cotangents: tuple[Any, ...]) -> None:
            grads = torch.autograd.grad(graph_outs, inputs, cotangents, allow_unused=True, retain_graph=True)
            self.book.grads.setdefault(_grad_key(key, cotangents), [None if g is None else g.detach().cpu().clone() for g in grads])

        tapped = list(_Tap.apply(record, *graph_outs))
        for i in positions:
            leaves[i] = tapped.pop(0)
        return _rebuild(out, leaves)


class ReplayReference:
    """Answers reference calls from an :class:`AnswerBook`; raises NotRecorded for the rest."""

    recorded = True

    def __init__(self, book: AnswerBook, exercise: str) -> None:
        self.book = book
        self.exercise = exercise

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):  # introspection (pretty-printers, copy), never a reference function
            raise AttributeError(name)
        return lambda *args, **kwargs: self._call(name, args, kwargs)

    def _call(self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        key = _key(name, args, kwargs)
        if key not in self.book.outputs:
            raise NotRecorded(f"no recorded answer of the reference {name} for this input")
        out = self.book.outputs[key]
        leaves = [o.clone() if isinstance(o, torch.Tensor) else o for o in _flatten(out)]
        positions = self.book.differentiable.get(key, [])
        inputs = grad_inputs((args, kwargs)) if torch.is_grad_enabled() else []
        if inputs and positions:

            def lookup(cotangents: tuple[Any, ...]) -> Any:
                grads = self.book.grads.get(_grad_key(key, cotangents))
                if grads is None:
                    raise NotRecorded(f"no recorded gradient of the reference {name} for this input and output gradient")
                return [None if g is None else g.to(i.device) for g, i in zip(grads, inputs)]

            replayed = list(_Replayed.apply(([leaves[i] for i in positions], lookup), *inputs))
            for i in positions:
                leaves[i] = replayed.pop(0)
        return _rebuild(out, leaves)
