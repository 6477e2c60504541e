"""Hypothesis strategies of the vq exercises.

The vq properties import this module as ``gs``: it also re-exports the shared strategies they
use, so the properties' source (which Hypothesis hashes to derandomize the examples) stays the
same whichever module a strategy lives in.
"""

from __future__ import annotations

from typing import Any

import torch
from hypothesis import strategies as st

from grader.strategies import dims, float_dtypes, make_tensor, seeds

__all__ = ["far_from_origin_vq_inputs", "make_tensor", "nearest_gap", "seeds", "vq_inputs"]


def nearest_gap(z_e: torch.Tensor, codebook: torch.Tensor) -> float:
    """Smallest gap between the nearest and second-nearest squared distance over positions (float64)."""
    flat = z_e.double().permute(0, 2, 3, 1).reshape(-1, z_e.shape[1])
    d2 = ((flat[:, None, :] - codebook.double()[None]) ** 2).sum(-1)
    if d2.shape[1] < 2:
        return float("inf")
    two = d2.topk(2, dim=1, largest=False).values
    return float((two[:, 1] - two[:, 0]).min())


@st.composite
def vq_inputs(draw: st.DrawFn) -> dict[str, Any]:
    """z_e (B, D, H, W), codebook (K, D) and beta; near-ties of the nearest codeword are rejected
    (ties are outside the contract, and float32 rounding may break near-ties either way)."""
    from hypothesis import assume

    b, d, h, w, k = draw(dims(1, 3)), draw(dims(1, 4)), draw(dims(1, 4)), draw(dims(1, 4)), draw(dims(1, 8))
    dtype, seed = draw(float_dtypes()), draw(seeds())
    codebook = make_tensor((k, d), dtype, seed)
    z_e = make_tensor((b, d, h, w), dtype, seed + 1)
    assume(nearest_gap(z_e, codebook) > 1e-3)
    beta = draw(st.sampled_from((0.25, 0.1, 0.5, 2.0)))  # never 1: it would hide which term carries beta
    return {"z_e": z_e, "codebook": codebook, "beta": beta}


@st.composite
def far_from_origin_vq_inputs(draw: st.DrawFn) -> dict[str, Any]:
    """z_e and codebook = c + small integers with |c| = 2^12 (float32) or 2^28 (float64): exact
    inputs whose distances are small integers, but whose squared norms are so large that
    ‖z‖² + ‖e‖² − 2z·e rounds by more than the gaps. At most 25 positions and codewords, where
    torch.cdist computes differences too. Ties are rejected."""
    from hypothesis import assume

    from grader.properties.stability import int_tensor

    b, d, h, w, k = draw(dims(1, 2)), draw(dims(1, 4)), draw(dims(1, 3)), draw(dims(1, 3)), draw(dims(2, 6))
    dtype, seed = draw(float_dtypes()), draw(seeds())
    c = draw(st.sampled_from((1.0, -1.0))) * 2.0 ** (12 if dtype == torch.float32 else 28)
    codebook = c + int_tensor((k, d), dtype, seed, -3, 3)
    z_e = c + int_tensor((b, d, h, w), dtype, seed + 1, -3, 3)
    assume(nearest_gap(z_e, codebook) > 0.5)
    return {"z_e": z_e, "codebook": codebook, "beta": 0.25}
