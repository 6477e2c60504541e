"""Reference solutions: flows — normalizing flows (q44–q51).

A transform maps data to noise: ``t(x) -> (z, log|det ∂z/∂x|)`` with the log-det of shape
(B,), and ``t.inverse(z) -> (x, log-det of the inverse)``. A list of transforms may be empty.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor, nn


class AffineCoupling(nn.Module):
    """RealNVP affine coupling layer (q45, q48, q49).

    mask: (D,) of 0s and 1s, 1 = passed through unchanged; scale_net, shift_net: (B, D) -> (B, D).
    forward(x): y = m·x + (1 − m)·(x·exp(s) + t) with s = scale_net(m·x), t = shift_net(m·x);
    log_det = Σ_d (1 − m)·s, shape (B,). inverse(y) returns (x, −log_det).
    The Jacobian is triangular (after reordering the dimensions): its log-determinant is
    the sum of the log-diagonal, which is just the scales of the transformed dimensions.
    """

    def __init__(self, mask: Tensor, scale_net: nn.Module, shift_net: nn.Module) -> None:
        super().__init__()
        # A buffer, not a parameter: it follows .to(device/dtype) but an optimizer never changes it.
        self.register_buffer("mask", mask.detach().clone())
        self.scale_net = scale_net
        self.shift_net = shift_net

    def _scale_shift(self, passed: Tensor, m: Tensor) -> tuple[Tensor, Tensor]:
        # The nets see only the passed-through half, which the inverse can read off y unchanged:
        # that is what makes the layer invertible however complex the nets are.
        # Masking s and t here (rather than the result) keeps exp(s) of the passed half out of
        # the computation: y = x·exp(0) + 0 = x there, and no inf·0 can appear.
        s = (1 - m) * self.scale_net(passed)  # (B, D), zero on passed-through dims
        t = (1 - m) * self.shift_net(passed)  # (B, D)
        return s, t

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        m = self.mask.to(x.dtype)
        s, t = self._scale_shift(m * x, m)
        y = x * torch.exp(s) + t
        return y, s.sum(dim=-1)  # log|det ∂y/∂x| = Σ of the log-diagonal = Σ (1 − m)·s

    def inverse(self, y: Tensor) -> tuple[Tensor, Tensor]:
        m = self.mask.to(y.dtype)
        s, t = self._scale_shift(m * y, m)  # m·y = m·x: the same s and t as in forward
        x = (y - t) * torch.exp(-s)  # undo the shift first, then the scale
        return x, -s.sum(dim=-1)


def log_prob(x: Tensor, transforms: Sequence[nn.Module]) -> Tensor:
    """log p(x) by the change of variables (q46, q47, q50).

    z = f_K(… f_1(x)), log p(x) = log N(z; 0, I) + Σ_k log|det ∂f_k/∂(its input)|.
    x: (B, D); each transform returns (z, log_det (B,)). Returns (B,).
    """
    z = x
    total_log_det = torch.zeros(x.shape[0], dtype=x.dtype, device=x.device)
    for transform in transforms:  # data -> noise, in the given order
        z, log_det = transform(z)
        total_log_det = total_log_det + log_det
    d = z.shape[-1]
    # Standard normal density summed over dimensions, with its normalising constant.
    log_base = -0.5 * (z * z).sum(dim=-1) - 0.5 * d * math.log(2 * math.pi)  # (B,)
    # + log-det: a transform that stretches space (|det| > 1) squeezes data into a small
    # region of z, so that region is denser in x than the base density alone says.
    return log_base + total_log_det


def sample(z: Tensor, transforms: Sequence[nn.Module]) -> Tensor:
    """Map base samples to data (q44, q45, q50): x = f_1⁻¹(… f_K⁻¹(z)).

    z: (B, D). The transforms are listed data -> noise, so sampling undoes them last-first.
    Returns x: (B, D).
    """
    x = z
    for transform in reversed(transforms):
        x, _ = transform.inverse(x)  # the log-det is not needed to draw samples
    return x
