"""Exercises: autoencoders and VAEs (q2, q5–q7, q54).

Implement each function below, then run `grade vae` (or `grade q6`).
Convention: batch first, latent codes are (B, D); results keep the input's dtype and device.
"""

from __future__ import annotations

import torch  # you will need it
import torch.nn.functional as F  # you may need it
from torch import Tensor


def reparameterize(mu: Tensor, logvar: Tensor, eps: Tensor) -> Tensor:
    """z = mu + exp(½·logvar)·eps, the reparameterization trick (q5, q54).

    mu, logvar, eps: (B, D) → z: (B, D); logvar is log σ² (the log-variance), eps ~ N(0, I)
    is given. Must be differentiable in mu and logvar, and finite wherever the exact result
    is (|logvar| ≤ 100, also in float32).
    Question: why does sampling through eps let gradients reach the encoder?
    """
    # TODO(q5): the standard deviation from the log-variance, then shift and scale the noise.
    raise NotImplementedError("vae.reparameterize")


def kl_standard_normal(mu: Tensor, logvar: Tensor) -> Tensor:
    """KL(N(mu, diag exp(logvar)) ‖ N(0, I)) = −½ Σ_d (1 + logvar − mu² − exp(logvar)) (q6).

    mu, logvar: (B, D) → (B,): summed over the latent dimensions, no reduction over the batch.
    Question: why is it ≥ 0, and where is it exactly 0?
    """
    # TODO(q6): the closed form above, summed over dim 1.
    raise NotImplementedError("vae.kl_standard_normal")


def negative_elbo(x: Tensor, x_hat: Tensor, mu: Tensor, logvar: Tensor, beta: float | Tensor = 1.0, likelihood: str = "bernoulli") -> Tensor:
    """Per-sample negative ELBO: recon + beta·KL(q(z|x) ‖ N(0, I)), shape (B,) (q5, q7).

    x, x_hat: (B, ...) with the same shape; mu, logvar: (B, D); beta: number or 0-d tensor.
    - "bernoulli": x_hat are logits; recon = BCE-with-logits summed over all non-batch dims
      (x may be fractional in [0, 1]); finite for any logits.
    - "gaussian": recon = ½·Σ(x − x_hat)² over all non-batch dims (unit variance, constant dropped).
    - anything else: raise ValueError.
    Question (q7): which of these two likelihoods makes the reconstructions blurry, and why?
    """
    # TODO(q5): the reconstruction term per sample, then add beta times the KL per sample.
    raise NotImplementedError("vae.negative_elbo")


def slerp(z0: Tensor, z1: Tensor, t: float | Tensor) -> Tensor:
    """Row-wise spherical interpolation sin((1−t)Ω)/sinΩ·z0 + sin(tΩ)/sinΩ·z1 (q2, q54).

    z0, z1: (B, D) with non-zero rows; t: float or (B,) (one t per row). Ω is the angle
    between row b of z0 and row b of z1 (cosine clamped to [−1, 1]). Where sin Ω < 1e-6
    (parallel or opposite rows) fall back to (1−t)·z0 + t·z1 — with finite gradients.
    Question (q54): why interpolate Gaussian latents along the sphere rather than a line?
    """
    # TODO(q54): per-row angle, the two sine weights, and the linear fallback.
    raise NotImplementedError("vae.slerp")
