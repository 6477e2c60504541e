"""The property API: exercises, their properties, and known mistakes.

A topic module declares, per exercise::

    kl = Exercise("vae.kl_standard_normal", mistakes=[Mistake("no_half", "...", wrong_fn)])

    @kl.property("matches_reference", "equals the reference KL on random inputs", tier="hidden")
    @given(inputs=strategies.gaussian_params())
    def _(ctx: Context, inputs): ...

A property is a function of a :class:`Context`, usually a Hypothesis test (the Context is
the first positional argument; Hypothesis supplies the rest). It passes by returning and
fails by raising :class:`PropertyFailure` (``ctx.fail`` / ``ctx.assert_close``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from grader.failures import PropertyFailure
from grader.memory_probe import LargestTensor
from grader.student import Call, Student
from grader.tensors import allclose, describe_inputs, difference

Tier = Literal["public", "hidden"]


@dataclass(frozen=True)
class Mistake:
    """A wrong variant students really write; when it matches the student's output it names the mistake."""

    name: str
    message: str  # "your output equals the reference without the 1/√d scaling"
    impl: Callable[..., Any]  # same signature as the exercise (a class for class exercises)


@dataclass(frozen=True)
class Property:
    """One checked statement about an exercise."""

    exercise: str
    name: str
    statement: str  # one sentence a student understands
    tier: Tier
    test: Callable[..., None]


@dataclass
class Exercise:
    """An exercise's properties and known mistakes, registered under its catalog id."""

    id: str
    mistakes: list[Mistake] = field(default_factory=list)
    properties: list[Property] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.id in REGISTRY:
            raise ValueError(f"exercise {self.id} registered twice")
        REGISTRY[self.id] = self

    @property
    def topic(self) -> str:
        return self.id.split(".", 1)[0]

    @property
    def name(self) -> str:
        return self.id.split(".", 1)[1]

    def property(self, name: str, statement: str, *, tier: Tier) -> Callable[[Callable[..., None]], Callable[..., None]]:
        """Decorator registering a property test of this exercise."""
        if tier not in ("public", "hidden"):
            raise ValueError(f"tier must be 'public' or 'hidden', not {tier!r}")

        def register(test: Callable[..., None]) -> Callable[..., None]:
            if any(p.name == name for p in self.properties):
                raise ValueError(f"{self.id}: property {name} defined twice")
            self.properties.append(Property(self.id, name, statement, tier, test))
            return test

        return register

    def property_named(self, name: str) -> Property:
        for prop in self.properties:
            if prop.name == name:
                return prop
        raise KeyError(f"{self.id} has no property {name!r}")


REGISTRY: dict[str, Exercise] = {}


# Tolerances by (dtype, device type): (rtol, atol). CUDA float32 kernels reorder sums, so
# they get a looser bound; float64 must agree almost exactly.
TOLERANCES: dict[tuple[str, str], tuple[float, float]] = {
    ("float16", "cpu"): (1e-2, 1e-3),
    ("bfloat16", "cpu"): (2e-2, 1e-2),
    ("float32", "cpu"): (1e-4, 1e-5),
    ("float32", "cuda"): (1e-3, 1e-4),
    ("float64", "cpu"): (1e-7, 1e-9),
    ("float64", "cuda"): (1e-6, 1e-8),
}


@dataclass(repr=False)
class Context:
    """What a property sees: the student's black box, the reference, the device."""

    def __repr__(self) -> str:
        # Hypothesis prints the arguments of a failing example; the recorded calls would be huge.
        return f"Context({self.exercise.id}, {self.device})"

    exercise: Exercise
    student: Student
    reference: Any | None  # the reference module (judge side), its recorded answers in a student copy, or None
    device: str = "cpu"
    replay_hits: int = 0  # reference calls answered from recordings (student copy)
    replay_misses: int = 0  # reference calls the recordings could not answer

    # ------------------------------------------------------------------ calling

    def call(self, *args: Any, **kwargs: Any) -> Any:
        """Call the student's implementation of this exercise (a function exercise)."""
        return self.student.call(self.exercise.name, *args, **kwargs)

    def new(self, *args: Any, **kwargs: Any) -> Any:
        """Construct the student's class of this exercise (a class exercise)."""
        return self.student.new(self.exercise.name, *args, **kwargs)

    def call_measuring_memory(self, *args: Any, **kwargs: Any) -> tuple[Any, LargestTensor | None]:
        """Call the student's function and also get the largest tensor any operation allocated
        during the call (views and in-place writes do not count; see ``grader.memory_probe``).
        Pair it with :meth:`assert_allocation_at_most`."""
        return self.student.call_measuring_memory(self.exercise.name, args, kwargs)

    def ref(self, *args: Any, **kwargs: Any) -> Any:
        """The reference implementation of this exercise, called in the judge."""
        return self.ref_impl()(*args, **kwargs)

    def ref_impl(self, name: str | None = None) -> Any:
        """A reference function or class by name (default: this exercise's)."""
        if self.reference is None:
            raise RuntimeError("hidden property run without a reference")
        impl = getattr(self.reference, name or self.exercise.name)
        if not getattr(self.reference, "recorded", False):
            return impl
        return lambda *args, **kwargs: self._recorded_answer(impl, args, kwargs)

    def _recorded_answer(self, impl: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """A student copy's reference answers from recordings (grader.release.answers): an input
        the release did not record (one shrunk from a failure, or built from the student's own
        output) is skipped as an example, and counted, so the runner can say what went unchecked."""
        from hypothesis import reject

        from grader.release.answers import NotRecorded

        try:
            answer = impl(*args, **kwargs)
        except NotRecorded:
            self.replay_misses += 1
            reject()
        self.replay_hits += 1
        return answer

    # ------------------------------------------------------------------ verdicts

    def tolerance(self, dtype: Any) -> tuple[float, float]:
        """(rtol, atol) for comparing results of this dtype on this device."""
        name = str(dtype).removeprefix("torch.")
        return TOLERANCES.get((name, self.device.split(":")[0]), TOLERANCES.get((name, "cpu"), (1e-4, 1e-5)))

    def assert_close(self, got: Any, expected: Any, *, inputs: dict[str, Any], what: str = "the output", rtol: float | None = None, atol: float | None = None, check_dtype: bool = True) -> None:
        """Fail unless ``got`` matches ``expected`` (tensors, numbers, or tuples of them)."""
        problem = difference(got, expected, tol=self._tol_for(expected, rtol, atol), check_dtype=check_dtype)
        if problem:
            self.fail(f"{what} is not as expected: {problem}", inputs=inputs, compared=(got, expected))

    def fail(self, message: str, *, inputs: dict[str, Any] | None = None, compared: tuple[Any, Any] | None = None) -> None:
        """Fail the property; names a known mistake when the last call's output matches one, and
        says how to fix a gradient cut off from an argument or a float64 result from type promotion.
        ``compared``: the (got, expected) of a failed comparison, for the zero-gradient hint."""
        raise PropertyFailure(self._with_hints(message, inputs or {}, compared), details=describe_inputs(inputs or {}), diagnosis=self.diagnose())

    def _with_hints(self, message: str, inputs: dict[str, Any], compared: tuple[Any, Any] | None = None) -> str:
        from grader.properties.hints import missing_gradient_hint, promotion_hint, zero_gradient_hint

        hints = []
        call = self.student.last_vjp
        if call is not None:
            names = self.student.arg_names(call.name) if self.student.arg_names else []
            hints.append(missing_gradient_hint(call, self.reference, names))
            if hints[-1] is None and compared is not None:  # without the reference: the property's own expected values
                hints.append(zero_gradient_hint(call, *compared, names))
        hints.append(promotion_hint(message, inputs))
        found = [h for h in hints if h]
        return "\n".join([*found, message]) if found else message

    def assert_allocation_at_most(self, largest: LargestTensor | None, bound: int, *, bound_text: str, inputs: dict[str, Any]) -> None:
        """Fail unless the largest tensor allocated has at most ``bound`` elements.

        ``bound_text`` says where the bound comes from ("(..., Lq, max(block_size, d, dv)) =
        (2, 16, 8)"). The failure carries no diagnosis: known mistakes are recognised by the
        values they return, and a call over its memory bound may return the right values.
        """
        if largest is not None and largest.numel > bound:
            raise PropertyFailure(
                f"your code allocated {largest.describe()}; the bound is {bound} elements, {bound_text}",
                details=describe_inputs(inputs),
            )

    def check(self, condition: bool, message: str, *, inputs: dict[str, Any] | None = None) -> None:
        """Fail with ``message`` unless ``condition`` holds."""
        if not condition:
            self.fail(message, inputs=inputs)

    def diagnose(self) -> str | None:
        """The message of the first known mistake that reproduces the latest student call."""
        for call in reversed(self.student.calls):
            right = self._reference_output(call)
            for mistake in self.exercise.mistakes:
                try:
                    wrong = replay(call, mistake.impl, self.device)
                except Exception:  # a variant may not apply to every input
                    continue
                # A variant that agrees with the reference on this input explains nothing.
                if _same(call.result, wrong) and (right is _UNKNOWN or not self._agrees(wrong, right)):
                    return mistake.message
            break  # only the latest call is the failing one
        return None

    def _agrees(self, wrong: Any, right: Any) -> bool:
        """Strictly equal (dtype included, the property's own tolerances)."""
        try:
            return difference(wrong, right, tol=self.tolerance, check_dtype=True) is None
        except Exception:
            return False

    def _reference_output(self, call: Call) -> Any:
        # Method calls are replayed on a fresh object, without the state the property built up
        # (loaded weights, earlier steps), so the reference's answer there proves nothing.
        if self.reference is None or call.name != self.exercise.name or call.init is not None:
            return _UNKNOWN
        try:
            return replay(call, getattr(self.reference, self.exercise.name), self.device)
        except Exception:
            return _UNKNOWN

    def _tol_for(self, expected: Any, rtol: float | None, atol: float | None) -> Callable[[Any], tuple[float, float]]:
        def tol(dtype: Any) -> tuple[float, float]:
            r, a = self.tolerance(dtype)
            return (r if rtol is None else rtol, a if atol is None else atol)

        return tol


_UNKNOWN = object()


def replay(call: Call, impl: Callable[..., Any], device: str = "cpu") -> Any:
    """Run a call the student answered against another implementation (in the judge).

    It runs on the device the student's call ran on: a CUDA generator draws other numbers
    than a CPU one with the same seed, and CUDA kernels round differently, so only a replay
    there reproduces a randomised or rounding-sensitive mistake. The result comes back on the CPU,
    like the student's.
    """
    import copy

    import torch

    from grader.worker import to_device

    if call.init is None:
        args, kwargs = to_device(copy.deepcopy((call.args, call.kwargs)), device)
        return to_device(impl(*args, **kwargs), "cpu")
    (init_args, init_kwargs), (args, kwargs) = to_device(copy.deepcopy((call.init, (call.args, call.kwargs))), device)
    obj = impl(*init_args, **init_kwargs)
    if isinstance(obj, torch.nn.Module):
        obj = obj.to(device)
    return to_device(getattr(obj, call.method or "forward")(*args, **kwargs), "cpu")


def _same(got: Any, wrong: Any) -> bool:
    return allclose(got, wrong)
