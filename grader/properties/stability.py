"""Numerical stability checks shared by topics: inputs at large scales whose exact results
are finite, and messages that name the unstable formula a failure points to.

Inputs are integer-valued (times a power of two) wherever possible, so that every correct
way of computing the scores or distances rounds the same way and only the formula differs.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch

from grader.failures import PropertyFailure, StudentRaised
from grader.properties.api import Context
from grader.strategies import generator
from grader.tensors import describe_inputs

UNSTABLE_SOFTMAX = "exp(s)/Σexp(s) without subtracting the maximum overflows (inf/inf = nan) for scores of ±1e3, and underflows (0/0) for very negative rows; use torch.softmax, or subtract each row's max first"
NAIVE_LOG_SOFTMAX = "log(softmax(x)) underflows to log 0 = −inf, and exp(x)/Σexp(x) overflows to nan, for logits of magnitude 1e2–1e4; use F.log_softmax / F.cross_entropy (log-sum-exp with the max subtracted)"
FINITE_MASK_FILL = "filling masked scores with a finite number (−1e4, −1e9) lets them win over real scores below it; fill with float('-inf') (masked_fill(~mask, float('-inf')))"
EXPANDED_DISTANCE = "‖a‖² + ‖b‖² − 2a·b cancels catastrophically for points far from the origin (the rounding of ‖a‖² exceeds the distance itself); compute (a − b) first: ((a[:, None] − b[None]) ** 2).sum(-1) or torch.cdist with compute_mode='donot_use_mm_for_euclid_dist'"
SIGMOID_THEN_LOG = "log(sigmoid(x)) saturates to log 0, and binary_cross_entropy(sigmoid(x), y) caps each term at 100 (it clamps the log at −100), for logits beyond ±100; use F.logsigmoid / F.softplus / F.binary_cross_entropy_with_logits"
ONE_PASS_VARIANCE = "the one-pass covariance E[xxᵀ] − μμᵀ (XᵀX − N·μμᵀ) cancels catastrophically for features far from the origin (the rounding of XᵀX exceeds the covariance itself); subtract the mean first: c = x − μ, then cᵀc/(N − 1), or torch.cov(x.T)"
LOG_OF_DENSITY = "exp(−z²/2) underflows to 0 for |z| beyond 14 (float32) or 38 (float64), and its log is −inf; write the log-density directly, −z²/2 − ½·log 2π (or torch.distributions.Normal(0, 1).log_prob)"


def int_tensor(shape: tuple[int, ...], dtype: torch.dtype, seed: int, low: int, high: int) -> torch.Tensor:
    """Integers in [low, high] as a float tensor: exact in float32 and float64."""
    return torch.randint(low, high + 1, shape, generator=generator(seed)).to(dtype)


def _nonfinite(x: Any) -> bool:
    if isinstance(x, torch.Tensor):
        return x.is_floating_point() and not bool(torch.isfinite(x).all())
    if isinstance(x, float):
        return x != x or x in (float("inf"), float("-inf"))
    if isinstance(x, (tuple, list)):
        return any(_nonfinite(v) for v in x)
    return False


def assert_stable(ctx: Context, got: Any, expected: Any, *, inputs: dict[str, Any], what: str, formula: str, rtol: float | None = None, atol: float | None = None) -> None:
    """``got`` matches the finite ``expected``; a nan or inf result names the unstable ``formula``."""
    if _nonfinite(got) and not _nonfinite(expected):
        ctx.fail(f"{what}: nan or inf where the exact result is finite; {formula}", inputs=inputs)
    try:
        ctx.assert_close(got, expected, inputs=inputs, what=what, rtol=rtol, atol=atol)
    except PropertyFailure as failure:
        failure.message += f"\nat this scale the usual cause: {formula}"
        raise


@contextmanager
def naming_the_formula(formula: str, *, inputs: dict[str, Any] | None = None, note: str = "") -> Iterator[None]:
    """A failure inside (a wrong result, or the student's code raising, as torch.multinomial does
    on nan probabilities) says the usual ``formula`` at this scale; a raise shows ``inputs`` (the
    small input behind a large call, with ``note`` saying how it was enlarged)."""
    try:
        yield
    except PropertyFailure as failure:
        if type(failure) not in (PropertyFailure, StudentRaised):
            raise  # a contract violation has its own explanation
        failure.message += f"\nat this scale the usual cause: {formula}"
        if isinstance(failure, StudentRaised) and inputs is not None:
            failure.details = describe_inputs(inputs) + (f"\n{note}" if note else "")
        raise
