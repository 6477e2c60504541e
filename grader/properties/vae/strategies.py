"""Hypothesis strategies of the vae exercises.

The vae properties import this module as ``gs``: it also re-exports the shared strategies they
use, so the properties' source (which Hypothesis hashes to derandomize the examples) stays the
same whichever module a strategy lives in.
"""

from __future__ import annotations

from typing import Any

import torch
from hypothesis import strategies as st

from grader.strategies import FLOAT_DTYPES, dims, float_dtypes, gaussian_params, generator, make_tensor, seeds, vector_or_image_shapes

__all__ = ["FLOAT_DTYPES", "dims", "elbo_inputs", "float_dtypes", "gaussian_params", "generator", "make_tensor", "parallel_rows", "reparameterize_inputs", "seeds", "separated_rows", "slerp_inputs", "vector_or_image_shapes"]


@st.composite
def reparameterize_inputs(draw: st.DrawFn, *, max_abs_logvar: float = 4.0) -> dict[str, Any]:
    """mu, logvar and the given noise eps of the reparameterization trick, all (B, D)."""
    params = draw(gaussian_params(max_abs_logvar=max_abs_logvar))
    mu = params["mu"]
    return {**params, "eps": make_tensor(tuple(mu.shape), mu.dtype, draw(seeds()))}




@st.composite
def elbo_inputs(draw: st.DrawFn, *, likelihood: str | None = None) -> dict[str, Any]:
    """Arguments of vae.negative_elbo: x in [0, 1] (fractional) and x_hat of one shape, (B, D)
    or (B, C, H, W); mu, logvar (B, Z); beta ≥ 0; the likelihood (drawn unless given)."""
    params = draw(gaussian_params())
    mu = params["mu"]
    shape = (mu.shape[0], *draw(vector_or_image_shapes()))
    seed = draw(seeds())
    return {
        "x": make_tensor(shape, mu.dtype, seed, low=0.0, high=1.0),
        "x_hat": make_tensor(shape, mu.dtype, seed + 1, scale=3.0),
        **params,
        "beta": draw(st.one_of(st.just(1.0), st.floats(0.0, 4.0))),
        "likelihood": likelihood or draw(st.sampled_from(("bernoulli", "gaussian"))),
    }


def parallel_rows(b: int, d: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """float64 (z0, z1), (B, D), whose rows are exactly parallel or opposite: z1 = c·z0, c = ±2^k.

    Rows have entries ±2^j on 1 or 4 coordinates, so dot products and norms are exact and the
    cosine is exactly ±1 however it is computed: the case where slerp must fall back to lerp.
    """
    g = generator(seed)
    z0 = torch.zeros(b, d, dtype=torch.float64)
    for i in range(b):
        n = 4 if d >= 4 and bool(torch.rand((), generator=g) < 0.5) else 1  # norm 2^j·√n is exact
        idx = torch.randperm(d, generator=g)[:n]
        signs = (torch.randint(0, 2, (n,), generator=g) * 2 - 1).double()
        z0[i, idx] = signs * 2.0 ** int(torch.randint(-1, 2, (), generator=g))
    sign = (torch.randint(0, 2, (b, 1), generator=g) * 2 - 1).double()
    c = sign * 2.0 ** torch.randint(-1, 3, (b, 1), generator=g).double()
    return z0, z0 * c


def separated_rows(b: int, d: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """float64 random (z0, z1), (B, D) with D ≥ 2, every pair of rows with sin Ω ≥ 1e-2."""
    z0 = make_tensor((b, d), torch.float64, seed)
    z1 = make_tensor((b, d), torch.float64, seed + 1, scale=1.5)
    cos = (z0 * z1).sum(-1) / (z0.norm(dim=-1) * z1.norm(dim=-1))
    for i in ((1 - cos.square()).clamp_min(0).sqrt() < 1e-2).nonzero().flatten().tolist():
        # Replace z1's row by one orthogonal to z0's: rotate z0 by 90° in the plane of its
        # largest coordinate and another one.
        j = int(z0[i].abs().argmax())
        k = (j + 1) % d
        z1[i] = 0.0
        z1[i, j], z1[i, k] = -z0[i, k], z0[i, j]
    return z0, z1


@st.composite
def slerp_inputs(draw: st.DrawFn, *, parallel: bool | None = None, t_tensor: bool | None = None) -> dict[str, Any]:
    """z0, z1: (B, D) with non-zero rows; t: a float or a (B,) tensor in [0, 1].

    parallel=True: every pair of rows exactly parallel or opposite; False: every pair with
    sin Ω ≥ 1e-2; None: a mix. Nothing in between is drawn (outside the contract).
    """
    b, dtype, seed = draw(dims(1, 6)), draw(float_dtypes()), draw(seeds())
    if parallel:
        z0, z1 = parallel_rows(b, draw(dims(1, 6)), seed)
    else:
        d = draw(dims(2, 6))
        z0, z1 = separated_rows(b, d, seed)
        if parallel is None:
            p0, p1 = parallel_rows(b, d, seed + 2)
            pick = torch.rand(b, 1, generator=generator(seed + 3)) < 0.3  # rows that are (anti)parallel
            z0, z1 = torch.where(pick, p0, z0), torch.where(pick, p1, z1)
    use_tensor = draw(st.booleans()) if t_tensor is None else t_tensor
    if use_tensor:
        t: Any = make_tensor((b,), dtype, seed + 4, low=0.0, high=1.0)
    else:
        t = draw(st.floats(0.0, 1.0))
    return {"z0": z0.to(dtype), "z1": z1.to(dtype), "t": t}
