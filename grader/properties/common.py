"""Helpers several topics' properties share: verdicts without a diagnosis, dtype sweeps,
and mistake variants that stand aside where they give the right answer."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from grader.failures import PropertyFailure
from grader.properties.api import Context
from grader.tensors import allclose, describe_inputs, difference


def fail_without_diagnosis(message: str, inputs: dict) -> None:
    """Fail without the engine's diagnosis, for failures no known mistake (a wrong value) explains:
    a call that raised is never recorded, so the replayed "latest call" would be an older one."""
    from grader.properties.hints import promotion_hint

    hint = promotion_hint(message, inputs)
    raise PropertyFailure(f"{hint}\n{message}" if hint else message, details=describe_inputs(inputs))


def check_plain(condition: bool, message: str, inputs: dict) -> None:
    """A check whose failure is not about values (a dtype): no value-level mistake explains it."""
    if not condition:
        fail_without_diagnosis(message, inputs)


def assert_gradients(ctx: Context, value: Any, expected_value: Any, got: Any, expected: Any, *, inputs: dict, what: str) -> None:
    """Compare gradients; when the student's value is right, no known mistake (a wrong value)
    can explain the difference, so the failure carries no diagnosis."""
    try:
        ctx.assert_close(got, expected, inputs=inputs, what=what)
    except PropertyFailure as failure:
        if difference(value, expected_value, tol=ctx.tolerance, check_dtype=False) is None:
            failure.diagnosis = None
        raise


def in_dtype(a: dict, dtype: torch.dtype) -> dict:
    """The drawn inputs with every floating tensor cast to dtype (for properties that try both)."""
    return {k: v.to(dtype) if isinstance(v, torch.Tensor) and v.is_floating_point() else v for k, v in a.items()}


class NotApplicable(ValueError):
    """Raised by a mistake variant on inputs where it gives the right answer."""


def unless_right(impl: Callable[..., Any], right: Callable[..., Any]) -> Callable[..., Any]:
    """``impl`` as a diagnosable mistake only on inputs where it differs from ``right``.

    A variant that coincides with the right answer on some inputs (a single pair, no zeros,
    commuting covariances) would otherwise name itself for any nearly right output there;
    the diagnosis skips variants that raise.
    """

    def variant(*args: Any, **kwargs: Any) -> Any:
        result = impl(*args, **kwargs)
        if allclose(result, right(*args, **kwargs)):
            raise NotApplicable(f"{impl.__name__} gives the right answer on these inputs")
        return result

    variant.__name__ = impl.__name__
    variant.__wrapped__ = impl  # type: ignore[attr-defined]  # the mistake as a student writes it (tests grade this)
    return variant
