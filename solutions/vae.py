"""Reference solutions: autoencoders and VAEs (q2, q5–q7, q54)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def reparameterize(mu: Tensor, logvar: Tensor, eps: Tensor) -> Tensor:
    """z = mu + exp(½·logvar)·eps, the reparameterization trick (q5, q54).

    mu, logvar, eps: (B, D) → z: (B, D). Differentiable in mu and logvar; finite for |logvar| ≤ 100.
    """
    # exp(½·logvar) is the standard deviation. Taking the square root of exp(logvar) instead
    # would compute the variance first, which overflows float32 for logvar > 88.
    std = torch.exp(0.5 * logvar)
    # The noise is an input, so z is a deterministic, differentiable function of mu and logvar.
    return mu + std * eps


def kl_standard_normal(mu: Tensor, logvar: Tensor) -> Tensor:
    """KL(N(mu, diag exp(logvar)) ‖ N(0, I)) = −½ Σ_d (1 + logvar − mu² − exp(logvar)) (q6).

    mu, logvar: (B, D) → (B,): summed over the latent dimensions, one value per sample.
    """
    # Each latent dimension contributes ½(mu² + σ² − 1 − log σ²) ≥ 0, zero only at mu = 0, σ = 1.
    return -0.5 * (1 + logvar - mu.square() - logvar.exp()).sum(dim=-1)


def negative_elbo(x: Tensor, x_hat: Tensor, mu: Tensor, logvar: Tensor, beta: float | Tensor = 1.0, likelihood: str = "bernoulli") -> Tensor:
    """Per-sample negative ELBO: reconstruction + beta·KL, shape (B,) (q5, q7).

    x, x_hat: (B, ...) with the same shape; mu, logvar: (B, D).
    bernoulli: x_hat are logits, recon = BCE-with-logits summed over all non-batch dims
    (x may be fractional in [0, 1]); gaussian: recon = ½·Σ(x − x_hat)² (unit variance,
    constant dropped). An unknown likelihood raises ValueError.
    """
    if likelihood == "bernoulli":
        # softplus(l) − x·l, computed stably for any logit; x_hat are logits, not probabilities.
        recon = F.binary_cross_entropy_with_logits(x_hat, x, reduction="none")
    elif likelihood == "gaussian":
        # −log N(x; x_hat, I) without the constant ½·log 2π per element.
        recon = 0.5 * (x - x_hat).square()
    else:
        raise ValueError(f"unknown likelihood {likelihood!r}: expected 'bernoulli' or 'gaussian'")
    # Sum, not mean, over pixels: the ELBO is a log-likelihood of the whole sample. Averaging
    # would shrink the reconstruction term and let the KL term dominate.
    recon = recon.flatten(1).sum(dim=1)  # (B,)
    return recon + beta * kl_standard_normal(mu, logvar)


def slerp(z0: Tensor, z1: Tensor, t: float | Tensor) -> Tensor:
    """Row-wise spherical interpolation sin((1−t)Ω)/sinΩ·z0 + sin(tΩ)/sinΩ·z1 (q2, q54).

    z0, z1: (B, D) non-zero rows; t: float or (B,). Ω is the angle between the rows (cosine
    clamped to [−1, 1]); where sin Ω < 1e-6 (parallel or opposite rows) the result is the
    linear interpolation (1−t)·z0 + t·z1.
    """
    t = torch.as_tensor(t, dtype=z0.dtype, device=z0.device)
    if t.dim() == 1:
        t = t.unsqueeze(-1)  # (B, 1): one t per row, broadcast over D
    dot = (z0 * z1).sum(dim=-1, keepdim=True)  # (B, 1)
    cos = (dot / (z0.norm(dim=-1, keepdim=True) * z1.norm(dim=-1, keepdim=True))).clamp(-1.0, 1.0)
    # Decided on values only: the fallback is a choice of formula, not part of the graph.
    parallel = (1 - cos.detach().square()).clamp_min(0).sqrt() < 1e-6  # (B, 1)
    # Keep the unused branch finite: acos'(±1) and 1/sin Ω are infinite there, and
    # torch.where would turn 0·inf into NaN gradients even though it discards the values.
    omega = torch.acos(torch.where(parallel, torch.zeros_like(cos), cos))
    sin_omega = torch.sin(omega)
    spherical = torch.sin((1 - t) * omega) / sin_omega * z0 + torch.sin(t * omega) / sin_omega * z1
    linear = (1 - t) * z0 + t * z1
    return torch.where(parallel, linear, spherical)  # (B, D)
