"""Helpers shared by several clip exercises."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from grader.properties.api import Context
from grader.properties.judge_only import judge_only
from grader.strategies import generator


def _scale_value(logit_scale: float | torch.Tensor) -> float:
    return math.exp(float(logit_scale))


def _tol(ctx: Context, dtype: torch.dtype, logit_scale: float | torch.Tensor) -> dict[str, float]:
    """Tolerances for results whose logits are exp(logit_scale)·cosines."""
    rtol, atol = ctx.tolerance(dtype)
    return {"rtol": rtol, "atol": atol * max(1.0, _scale_value(logit_scale))}


@judge_only
def _logits(a, b, logit_scale, *, normalize=True, use_exp=True, divide=False, norm_dim=-1):
    """Scaled similarity logits (Na, Nb) with switches for the known mistakes."""
    if normalize:
        a = F.normalize(a, dim=norm_dim) if norm_dim is not None else a / a.norm()
        b = F.normalize(b, dim=norm_dim) if norm_dim is not None else b / b.norm()
    s = torch.as_tensor(logit_scale, dtype=a.dtype, device=a.device)
    s = s.exp() if use_exp else s
    return a @ b.T / s if divide else s * (a @ b.T)


@judge_only
def _symmetric_ce(logits, *, directions=2, half=True, reduction="mean"):
    labels = torch.arange(logits.shape[0], device=logits.device)
    total = F.cross_entropy(logits, labels, reduction=reduction)
    if directions == 2:
        total = total + F.cross_entropy(logits.T, labels, reduction=reduction)
    return total / 2 if half and directions == 2 else total


def _rotation(d: int, seed: int) -> torch.Tensor:
    """A random (d, d) orthogonal matrix, float64."""
    q, _ = torch.linalg.qr(torch.randn((d, d), generator=generator(seed), dtype=torch.float64))
    return q
