"""Exercises: flows — normalizing flows (q44–q51).

Implement each function and class below, then run `grade flows` (or `grade q46`).
Convention: a transform maps data to noise and returns its log-determinant:
``t(x) -> (z, log|det ∂z/∂x|)`` with the log-det of shape (B,), and
``t.inverse(z) -> (x, log|det ∂x/∂z|)``. A list of transforms may be empty (the identity).
Everything must work for float32 and float64 and stay differentiable.
"""

from __future__ import annotations

import math  # you will need it
from collections.abc import Sequence

import torch  # you will need it
from torch import Tensor, nn


class AffineCoupling(nn.Module):
    """RealNVP affine coupling layer (q45, q48, q49).

    mask: (D,) float tensor of 0s and 1s, 1 = this dimension is passed through unchanged.
    scale_net, shift_net: modules mapping (B, D) -> (B, D).

    forward(x: (B, D)) -> (y, log_det):
        s = scale_net(m·x), t = shift_net(m·x)
        y = m·x + (1 − m)·(x·exp(s) + t)
        log_det = Σ_d (1 − m)·s                      shape (B,)
    inverse(y: (B, D)) -> (x, log_det of the inverse, i.e. the negative).

    The only submodules are the two nets (keep the mask out of the parameters: an
    optimizer must never change it). The module must keep working after .to(dtype).
    Questions: why may the nets be arbitrary (non-invertible) networks, and why is the
    log-determinant just a sum (q48, q49)?
    """

    def __init__(self, mask: Tensor, scale_net: nn.Module, shift_net: nn.Module) -> None:
        super().__init__()
        # TODO(q45): keep the mask (as a buffer) and the two nets.
        raise NotImplementedError("flows.AffineCoupling")

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        # TODO(q48): condition on the passed-through half, scale and shift the rest.
        raise NotImplementedError("flows.AffineCoupling")

    def inverse(self, y: Tensor) -> tuple[Tensor, Tensor]:
        # TODO(q49): recompute s and t from y, undo the shift and the scale.
        raise NotImplementedError("flows.AffineCoupling")


def log_prob(x: Tensor, transforms: Sequence[nn.Module]) -> Tensor:
    """log p(x) by the change of variables (q46, q47, q50).

    Apply the transforms in order, z = f_K(… f_1(x)), and sum their log-dets:
        log p(x) = log N(z; 0, I) + Σ_k log|det ∂f_k/∂(its input)|
    with log N(z; 0, I) = −½·Σ_d z_d² − D/2·log 2π (summed over dimensions).
    x: (B, D); transforms: a list (possibly empty) of transforms. Returns (B,) in x's dtype.
    Question: why is the log-det added, not subtracted, when f maps data to noise (q46)?
    """
    # TODO(q46): run the transforms, accumulate log-dets, add the base log-density.
    raise NotImplementedError("flows.log_prob")


def sample(z: Tensor, transforms: Sequence[nn.Module]) -> Tensor:
    """Map base samples z ~ N(0, I) to data (q44, q45, q50).

    The transforms are listed data -> noise (as log_prob applies them), so call each one's
    ``inverse`` in reverse order: x = f_1⁻¹(… f_K⁻¹(z)). z: (B, D). Returns x only, (B, D).
    Question: why must every layer of a flow be invertible to sample (q44)?
    """
    # TODO(q44): undo the transforms, last first.
    raise NotImplementedError("flows.sample")
