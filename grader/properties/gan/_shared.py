"""Helpers shared by several gan exercises."""

from __future__ import annotations

from typing import Any

import torch

from grader.properties.api import Context
from grader.properties.common import check_plain as _check_plain


def _exact_softplus(x: torch.Tensor) -> torch.Tensor:
    """softplus in float64 without a threshold: relu(x) + log1p(exp(−|x|))."""
    x = x.double()
    return x.clamp(min=0) + torch.log1p(torch.exp(-x.abs()))


def _none_as_zeros(grads: Any, like: list[torch.Tensor]) -> tuple[torch.Tensor, ...]:
    """Gradients with None (a parameter the result does not depend on) read as zeros."""
    return tuple(torch.zeros_like(t.detach()) if g is None else g.detach() for g, t in zip(grads, like))


def _scalar_check(ctx: Context, got: Any, dtype: torch.dtype, inputs: dict) -> None:
    ctx.check(isinstance(got, torch.Tensor) and got.dim() == 0, f"the loss should be a 0-d tensor (a scalar), got {getattr(got, 'shape', type(got).__name__)}", inputs=inputs)
    _check_plain(got.dtype == dtype, f"inputs were {dtype}, the loss is {got.dtype}", inputs)
