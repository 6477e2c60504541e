"""Hypothesis strategies of the metrics exercises: class probabilities with exact zeros, feature
samples, positive semi-definite covariances and real/generated feature sets.
"""

from __future__ import annotations

from typing import Any

import torch
from hypothesis import strategies as st

from grader.strategies import dims, float_dtypes, generator, make_tensor, seeds


def make_class_probs(n: int, k: int, dtype: torch.dtype, seed: int, *, zero_share: float = 0.3) -> torch.Tensor:
    """(n, k) rows of class probabilities summing to 1, about ``zero_share`` of entries exactly 0."""
    g = generator(seed)
    logits = torch.randn((n, k), generator=g, dtype=torch.float64) * 2.0
    keep = torch.rand((n, k), generator=g, dtype=torch.float64) >= zero_share
    keep[torch.arange(n), logits.argmax(dim=1)] = True  # every row keeps some mass
    p = logits.softmax(dim=1) * keep
    return (p / p.sum(dim=1, keepdim=True)).to(dtype)


@st.composite
def inception_inputs(draw: st.DrawFn) -> dict[str, Any]:
    """probs (N, K) with exact zeros and a number of splits 1 ≤ S ≤ N (no empty split)."""
    splits = draw(st.integers(1, 4))
    n, k = draw(st.integers(splits, 12)), draw(dims(1, 6))
    return {"probs": make_class_probs(n, k, draw(float_dtypes()), draw(seeds())), "splits": splits}


@st.composite
def feature_samples(draw: st.DrawFn, *, min_rows: int = 2, max_rows: int = 8, max_dim: int = 6) -> torch.Tensor:
    """features (N, D): rows are samples, N ≥ min_rows; columns have different means and scales."""
    n, d = draw(dims(min_rows, max_rows)), draw(dims(1, max_dim))
    dtype, seed = draw(float_dtypes()), draw(seeds())
    scales = make_tensor((d,), torch.float64, seed + 1, low=0.5, high=2.0)
    shift = make_tensor((d,), torch.float64, seed + 2, scale=2.0)
    return (make_tensor((n, d), torch.float64, seed) * scales + shift).to(dtype)


def make_psd_covariance(d: int, dtype: torch.dtype, seed: int, *, rank: int | None = None, low: float = 0.2, high: float = 2.0) -> torch.Tensor:
    """A symmetric PSD (d, d) matrix Q·diag(λ)·Qᵀ, λ uniform in [low, high); the last d − rank λ are 0."""
    g = generator(seed)
    q, _ = torch.linalg.qr(torch.randn((d, d), generator=g, dtype=torch.float64))
    lam = torch.rand(d, generator=g, dtype=torch.float64) * (high - low) + low
    if rank is not None:
        lam[rank:] = 0.0
    sigma = (q * lam) @ q.T  # (d, d)
    return ((sigma + sigma.T) / 2).to(dtype)  # exactly symmetric before rounding to dtype


@st.composite
def fid_stats(draw: st.DrawFn, *, singular: bool = False) -> dict[str, Any]:
    """mu1, sigma1, mu2, sigma2 of two D-dim Gaussians; well conditioned, or each covariance of rank < D."""
    d, dtype, seed = draw(dims(1, 6)), draw(float_dtypes()), draw(seeds())
    rank1 = draw(st.integers(0, d - 1)) if singular else None
    rank2 = draw(st.integers(0, d - 1)) if singular else None
    return {
        "mu1": make_tensor((d,), dtype, seed),
        "sigma1": make_psd_covariance(d, dtype, seed + 1, rank=rank1),
        "mu2": make_tensor((d,), dtype, seed + 2),
        "sigma2": make_psd_covariance(d, dtype, seed + 3, rank=rank2),
    }


@st.composite
def real_fake_sets(draw: st.DrawFn, *, max_k: int = 3) -> dict[str, Any]:
    """real (Nr, D) and fake (Nf, D) points in general position, and k < min(Nr, Nf).

    Fakes are drawn around a shifted centre so that precision and recall take various values.
    """
    k = draw(st.integers(1, max_k))
    n_real, n_fake, d = draw(dims(k + 1, 8)), draw(dims(k + 1, 8)), draw(dims(1, 4))
    dtype, seed = draw(float_dtypes()), draw(seeds())
    shift = draw(st.sampled_from([0.0, 0.5, 1.5]))
    real = make_tensor((n_real, d), dtype, seed)
    fake = (make_tensor((n_fake, d), torch.float64, seed + 1) + shift).to(dtype)
    return {"real": real, "fake": fake, "k": k}



@st.composite
def far_from_origin_features(draw: st.DrawFn) -> dict[str, Any]:
    """features (N, D) = c + small integers, |c| = 2^12 (float32) or 2^28 (float64), exact, and
    the same points moved to the origin ("centred"): distances are O(1), squared norms huge."""
    from grader.properties.stability import int_tensor

    n, d, dtype, seed = draw(dims(2, 5)), draw(dims(1, 4)), draw(float_dtypes()), draw(seeds())
    c = draw(st.sampled_from((1.0, -1.0))) * 2.0 ** (12 if dtype == torch.float32 else 28)
    centred = int_tensor((n, d), dtype, seed, -3, 3)
    return {"features": c + centred, "centred": centred}


@st.composite
def far_from_origin_real_fake(draw: st.DrawFn) -> dict[str, Any]:
    """real (Nr, D) and fake (Nf, D) = c + points on a 1/256 grid within ±4.5, |c| = 2^12
    (float32) or 2^28 (float64): exact, distances O(1), squared norms huge; "real_centred" and
    "fake_centred" are the same points without c (the grid keeps ties at a radius rare)."""
    from grader.properties.stability import int_tensor

    k = draw(st.integers(1, 2))
    n_real, n_fake, d = draw(dims(k + 1, 5)), draw(dims(k + 1, 5)), draw(dims(1, 3))
    dtype, seed = draw(float_dtypes()), draw(seeds())
    c = draw(st.sampled_from((1.0, -1.0))) * 2.0 ** (12 if dtype == torch.float32 else 28)
    shift = draw(st.sampled_from([0.0, 0.5, 1.5]))
    real = int_tensor((n_real, d), dtype, seed, -768, 768) / 256
    fake = int_tensor((n_fake, d), dtype, seed + 1, -768, 768) / 256 + shift
    return {"real": c + real, "fake": c + fake, "real_centred": real, "fake_centred": fake, "k": k}
