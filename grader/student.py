"""The judge's view of a submission: a black box it can call, never import.

``Student.call("log_prob", x, transforms)`` sends the call to the worker and returns the
result rebuilt from plain data. Errors the student's code raised become property failures
naming the student's file and line; an untouched stub aborts the exercise as "not
implemented yet"; a broken course-wide contract (wrong device, an argument modified in
place) fails the property.
"""

from __future__ import annotations

import itertools
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from grader.connection import Connection
from grader.failures import Abort, ContractViolation, StudentRaised
from grader.memory_probe import LargestTensor

if TYPE_CHECKING:
    from collections.abc import Callable

_handle_ids = itertools.count(1)


@dataclass
class Call:
    """One call the judge made: enough to replay it against a known-mistake variant."""

    name: str
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    result: Any
    init: tuple[tuple[Any, ...], dict[str, Any]] | None = None  # constructor args for a method call
    method: str | None = None


@dataclass
class VjpCall:
    """A vjp the judge asked for, with the gradients it got: replayed against the reference to
    name an argument no gradient reached (grader.properties.hints)."""

    name: str
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    grad_outputs: Any
    wrt: list[Any]
    grads: dict[str, Any]


@dataclass
class Student:
    """Calls into one topic module of the submission, on one device."""

    connection: Connection
    topic: str
    device: str = "cpu"
    call_timeout: float = 10.0
    deadline: float = float("inf")  # monotonic time at which the exercise's budget ends
    calls: list[Call] = field(default_factory=list)
    arg_names: Callable[..., list[str]] | None = None  # (name[, method]) -> parameter names, to show a raising call
    last_vjp: VjpCall | None = None  # the latest call when it was a vjp (gradient messages replay it)
    _pending: dict[str, Any] | None = field(default=None, init=False, repr=False)  # the request being answered
    _pending_target: tuple[str, ...] = field(default=(), init=False, repr=False)  # (name[, method]) it calls

    def call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        """Call the student's function ``name`` and return its result."""
        self.last_vjp, self._pending_target = None, (name,)
        answer = self._request({"op": "call", "topic": self.topic, "name": name, "args": args, "kwargs": kwargs})
        self._record(Call(name, args, kwargs, answer["value"]))
        return answer["value"]

    def call_measuring_memory(self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, LargestTensor | None]:
        """Call ``name`` and return (result, the largest tensor an operation allocated during the call).

        The worker runs the call under ``grader.memory_probe``'s dispatch mode; None means that no
        operation allocated a tensor.
        """
        answer = self._request({"op": "call", "topic": self.topic, "name": name, "args": args, "kwargs": kwargs, "memory": True})
        self._record(Call(name, args, kwargs, answer["value"]))
        try:
            largest = LargestTensor.from_plain(answer.get("memory"))
        except ValueError as exc:
            raise Abort("crashed", f"the worker sent a malformed memory record: {exc}") from None
        return answer["value"], largest

    def vjp(self, name: str, args: tuple[Any, ...], grad_outputs: Any, wrt: list[Any], **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        """Call ``name`` and return (result, gradients): a vector-Jacobian product in the worker.

        ``wrt`` lists positional indices or keyword names of tensor arguments, ``"params"``
        (the parameters of the object, for a method) or ``["params", i]`` (those of a module
        argument). ``grad_outputs`` mirrors the result's structure, ``None`` where unused.
        """
        self.last_vjp, self._pending_target = None, (name,)
        answer = self._request({"op": "call", "topic": self.topic, "name": name, "args": args, "kwargs": kwargs, "vjp": {"wrt": wrt, "grad_outputs": grad_outputs}})
        self._record(Call(name, args, kwargs, answer["value"]))
        self.last_vjp = VjpCall(name, args, kwargs, grad_outputs, list(wrt), answer["grads"])
        return answer["value"], answer["grads"]

    def new(self, name: str, *args: Any, **kwargs: Any) -> StudentObject:
        """Construct the student's class ``name``; returns a handle to call its methods."""
        handle = next(_handle_ids)
        self.last_vjp, self._pending_target = None, (name, "__init__")
        self._request({"op": "call", "topic": self.topic, "name": name, "args": args, "kwargs": kwargs, "new": True, "handle_id": handle})
        return StudentObject(self, name, handle, (args, kwargs))

    def probe(self) -> None:
        """Ask nothing but a ping: used to check that the worker is alive."""
        self._request({"op": "ping"})

    # ------------------------------------------------------------------ internals

    def _record(self, call: Call) -> None:
        self.calls.append(call)
        del self.calls[:-4]  # only the latest calls are replayed for a diagnosis

    def _request(self, message: dict[str, Any]) -> dict[str, Any]:
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise Abort("timed_out", "timed out: the exercise used up its time budget")
        message["device"] = self.device
        self._pending = message
        timeout = min(self.call_timeout, remaining)
        try:
            decoded = self.connection.request(message, timeout)
        except Abort as abort:
            if abort.status == "timed_out":
                which = "one call" if timeout == self.call_timeout else "the exercise"
                raise Abort("timed_out", f"timed out: {which} ran past its {timeout:.0f} s limit (an infinite loop?)") from None
            raise
        answer = decoded.value
        if not isinstance(answer, dict):
            raise Abort("crashed", "the worker sent an answer of the wrong shape")
        if "error" in answer:
            self._raise_student_error(answer["error"])
        # Functions without tensor inputs (schedules, masks) create results on the default device.
        expected = self.device.split(":")[0] if _has_tensor((message.get("args"), message.get("kwargs"))) or message.get("handle") else "cpu"
        wrong = [d for d in decoded.devices if d != expected]
        if wrong and not message.get("new"):
            raise ContractViolation(f"returned a tensor on {wrong[0]}, expected {expected}: results must stay on the input's device")
        if answer.get("mutated"):
            raise ContractViolation(f"modified its {', '.join(map(str, answer['mutated']))} in place: inputs must never be changed")
        return answer

    def _raise_student_error(self, error: Any) -> None:
        if not isinstance(error, dict):
            raise Abort("crashed", "the worker sent a malformed error")
        kind, message = str(error.get("type", "Exception")), str(error.get("message", ""))
        frames = [f for f in error.get("frames") or [] if isinstance(f, list) and len(f) == 4]
        where = _location(frames[-1]) if frames else None
        if error.get("not_implemented") and where:
            raise Abort("not_implemented", f"not implemented yet — {where}")
        if error.get("out_of_memory"):
            raise Abort("out_of_memory", f"ran out of memory ({kind}: {message[:200]})")
        if error.get("device_lost"):
            # Nothing more can run in that process: stop this exercise, give the next a fresh worker.
            self.connection.restart()
            first_line = message.strip().splitlines()[0] if message.strip() else kind
            raise Abort(
                "crashed",
                f"your code raised {kind} on {self.device}: {first_line}" + (f" ({where})" if where else "")
                + ". A failed CUDA kernel leaves the process unusable, so this exercise stopped here. A device-side"
                " assert is most often an index out of range (a class label ≥ the number of classes, a gather or"
                " embedding index); grade with --device cpu for a readable error.",
            )
        if kind == "ContractError":
            raise ContractViolation(message)
        trace = "\n".join(f"{_location(f)} in {f[2]}: {f[3]}" for f in frames)
        raise StudentRaised(f"your code raised {kind}: {message}" + (f" ({where})" if where else ""), details=self._describe_request(), trace=trace)

    def _describe_request(self) -> str:
        """The arguments of the call that raised, by parameter name where the reference names them."""
        from grader.tensors import describe_inputs

        request = self._pending or {}
        args, kwargs = request.get("args") or (), request.get("kwargs") or {}
        names: list[str] = []
        if self.arg_names is not None:
            names = self.arg_names(*self._pending_target) if self._pending_target else []
        shown = {(names[i] if i < len(names) else f"args[{i}]"): v for i, v in enumerate(args)}
        return describe_inputs({**shown, **kwargs})


@dataclass
class StudentObject:
    """A handle to an object the student's class built in the worker."""

    student: Student
    name: str
    handle: int
    init: tuple[tuple[Any, ...], dict[str, Any]]

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.call("forward", *args, **kwargs)

    def call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """Call a method of the object (``forward`` for ``obj(x)``)."""
        self.student.last_vjp, self.student._pending_target = None, (self.name, method)
        answer = self.student._request({"op": "call", "handle": self.handle, "method": method, "args": args, "kwargs": kwargs})
        self.student._record(Call(self.name, args, kwargs, answer["value"], self.init, method))
        return answer["value"]

    def vjp(self, method: str, args: tuple[Any, ...], grad_outputs: Any, wrt: list[Any], **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        """Like ``Student.vjp`` for a method; ``"params"`` in ``wrt`` means the object's parameters."""
        self.student.last_vjp, self.student._pending_target = None, (self.name, method)
        answer = self.student._request({"op": "call", "handle": self.handle, "method": method, "args": args, "kwargs": kwargs, "vjp": {"wrt": wrt, "grad_outputs": grad_outputs}})
        self.student._record(Call(self.name, args, kwargs, answer["value"], self.init, method))
        return answer["value"], answer["grads"]


def _has_tensor(value: Any) -> bool:
    import torch

    if isinstance(value, (torch.Tensor, torch.nn.Module)):
        return True
    if isinstance(value, (list, tuple)):
        return any(_has_tensor(v) for v in value)
    if isinstance(value, dict):
        return any(_has_tensor(v) for v in value.values())
    return False


def _location(frame: list[Any]) -> str:
    path = Path(str(frame[0]))
    try:
        shown = os.path.relpath(path)
    except ValueError:
        shown = str(path)
    if shown.startswith(".." + os.sep + ".."):
        shown = str(path)
    return f"{shown}:{frame[1]}"
