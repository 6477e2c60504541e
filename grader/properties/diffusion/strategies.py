"""Hypothesis strategies of the diffusion exercises: float64 beta schedules (linear, cosine or
random), data shapes, and the inputs of q_sample, the DDPM and DDIM steps and guidance.
"""

from __future__ import annotations

from typing import Any

import torch
from hypothesis import strategies as st

from grader.strategies import dims, float_dtypes, generator, make_tensor, seeds

DIFFUSION_SCHEDULE_KINDS = ("linear", "cosine", "random")


@st.composite
def beta_schedules(draw: st.DrawFn, *, min_steps: int = 1, max_steps: int = 30) -> torch.Tensor:
    """A float64 beta schedule (T,): linear with random endpoints, cosine (capped at 0.999, so
    its last ᾱ is tiny, as in real models), or random increasing betas."""
    num_steps = draw(st.integers(min_steps, max_steps))
    kind = draw(st.sampled_from(DIFFUSION_SCHEDULE_KINDS))
    if kind == "linear":
        start = draw(st.floats(1e-4, 0.05))
        end = draw(st.floats(start, 0.3))
        return torch.linspace(start, end, num_steps, dtype=torch.float64)
    if kind == "cosine":
        u = torch.arange(num_steps + 1, dtype=torch.float64) / num_steps
        alpha_bar = torch.cos((u + 0.008) / 1.008 * torch.pi / 2) ** 2
        return (1 - alpha_bar[1:] / alpha_bar[:-1]).clamp(max=0.999)
    return make_tensor((num_steps,), torch.float64, draw(seeds()), low=1e-4, high=0.3).sort().values


@st.composite
def diffusion_shapes(draw: st.DrawFn, *, min_rank: int = 1, max_rank: int = 4, tied: bool = False) -> tuple[int, ...]:
    """(B, ...) of rank min_rank–max_rank whose other dims are often B itself, so that a
    per-sample coefficient broadcast along the last axis instead of the batch axis runs and
    shows. ``tied``: every other dim is B or 1, so such a bug never raises, it only gives
    wrong values or a wrong shape."""
    b = draw(dims(1, 4))
    rank = draw(st.integers(min_rank, max_rank))
    other = st.sampled_from((b, 1)) if tied else st.one_of(st.just(b), dims(1, 3))
    return (b, *(draw(other) for _ in range(rank - 1)))


@st.composite
def q_sample_inputs(draw: st.DrawFn, *, tied: bool = False) -> dict[str, Any]:
    """x0 and noise (B, ...) of the drawn dtype, per-sample t (B,) int64, float64 alphas_cumprod (T,)."""
    betas = draw(beta_schedules())
    shape = draw(diffusion_shapes(tied=tied))
    dtype = draw(float_dtypes())
    seed = draw(seeds())
    return {
        "x0": make_tensor(shape, dtype, seed),
        "t": torch.randint(0, len(betas), (shape[0],), generator=generator(seed + 1)),
        "noise": make_tensor(shape, dtype, seed + 2),
        "alphas_cumprod": torch.cumprod(1 - betas, dim=0),
    }


@st.composite
def ddpm_step_inputs(draw: st.DrawFn, *, min_t: int = 0, max_t: int | None = None) -> dict[str, Any]:
    """eps, x_t, noise of one shape and dtype, an int t in [min_t, T), float64 betas, a variance kind.
    At t = 0 the noise is sometimes None (allowed there)."""
    betas = draw(beta_schedules(min_steps=min_t + 1))
    t = draw(st.integers(min_t, len(betas) - 1 if max_t is None else min(max_t, len(betas) - 1)))
    shape = draw(diffusion_shapes())
    dtype = draw(float_dtypes())
    seed = draw(seeds())
    noise = None if t == 0 and draw(st.booleans()) else make_tensor(shape, dtype, seed + 2)
    return {
        "eps": make_tensor(shape, dtype, seed),
        "t": t,
        "x_t": make_tensor(shape, dtype, seed + 1),
        "betas": betas,
        "noise": noise,
        "variance": draw(st.sampled_from(("fixed_small", "fixed_large"))),
    }


def ddim_etas() -> st.SearchStrategy[float]:
    """η in [0, 1], with the two named cases (DDIM, DDPM-like) drawn often."""
    return st.one_of(st.sampled_from((0.0, 1.0)), st.floats(0.0, 1.0))


@st.composite
def ddim_step_inputs(draw: st.DrawFn, *, min_t_prev: int = -1, etas: st.SearchStrategy[float] | None = None, consecutive: bool = False, eta_tensor: bool | None = False) -> dict[str, Any]:
    """eps, x_t (and noise when η > 0) of one shape and dtype, ints t_prev < t (t_prev = −1 is
    the last step; ``consecutive``: t_prev = t − 1), float64 alphas_cumprod, and η drawn from
    ``etas`` (a 0-d float64 tensor when ``eta_tensor``; drawn when it is None)."""
    betas = draw(beta_schedules(min_steps=max(1, min_t_prev + 2)))
    t = draw(st.integers(min_t_prev + 1, len(betas) - 1))
    t_prev = t - 1 if consecutive else draw(st.integers(min_t_prev, t - 1))
    eta = draw(ddim_etas() if etas is None else etas)
    as_tensor = draw(st.booleans()) if eta_tensor is None else eta_tensor
    shape = draw(diffusion_shapes())
    dtype = draw(float_dtypes())
    seed = draw(seeds())
    return {
        "eps": make_tensor(shape, dtype, seed),
        "t": t,
        "t_prev": t_prev,
        "x_t": make_tensor(shape, dtype, seed + 1),
        "alphas_cumprod": torch.cumprod(1 - betas, dim=0),
        "eta": torch.tensor(eta, dtype=torch.float64) if as_tensor else eta,
        "noise": make_tensor(shape, dtype, seed + 2) if eta > 0 else None,
    }


@st.composite
def ddim_grid_inputs(draw: st.DrawFn) -> dict[str, Any]:
    """A step on a diffusers DDIM grid: float64 betas (T,), n inference steps, t = k·(T // n) and
    t_prev = t − T // n (negative at the last step), η, and eps, x_t, noise (None when η = 0)."""
    betas = draw(beta_schedules())
    n = draw(st.integers(1, len(betas)))
    ratio = len(betas) // n
    k = draw(st.integers(0, n - 1))
    eta = draw(ddim_etas())
    shape = draw(diffusion_shapes())
    dtype = draw(float_dtypes())
    seed = draw(seeds())
    return {
        "betas": betas,
        "num_inference_steps": n,
        "t": k * ratio,
        "t_prev": (k - 1) * ratio,
        "eta": eta,
        "eps": make_tensor(shape, dtype, seed),
        "x_t": make_tensor(shape, dtype, seed + 1),
        "noise": make_tensor(shape, dtype, seed + 2) if eta > 0 else None,
    }


def guidance_scales() -> st.SearchStrategy[float]:
    """Guidance scales as used in practice (0, 1, 7.5) and around them, negatives included."""
    return st.one_of(st.sampled_from((0.0, 1.0, 7.5)), st.floats(-2.0, 15.0))


@st.composite
def guidance_inputs(draw: st.DrawFn, *, scale_kind: str | None = None, tied: bool = False) -> dict[str, Any]:
    """eps_uncond, eps_cond (B, ...) and a scale: a float, a 0-d tensor, or a per-sample
    (B, 1, ..., 1) tensor in the data's dtype (the catalog's contract for a tensor scale)."""
    shape = draw(diffusion_shapes(tied=tied))
    dtype = draw(float_dtypes())
    seed = draw(seeds())
    kind = scale_kind or draw(st.sampled_from(("float", "0-d", "per-sample")))
    if kind == "float":
        scale: float | torch.Tensor = draw(guidance_scales())
    else:
        scale_shape = () if kind == "0-d" else (shape[0],) + (1,) * (len(shape) - 1)
        scale = make_tensor(scale_shape, dtype, seed + 2, low=-2.0, high=15.0)
    return {"eps_uncond": make_tensor(shape, dtype, seed), "eps_cond": make_tensor(shape, dtype, seed + 1), "scale": scale}



@st.composite
def respacing_inputs(draw: st.DrawFn, *, min_steps: int = 1) -> dict[str, Any]:
    """alphas_cumprod (T,) float32 or float64 from a drawn schedule (its float64 betas kept for
    known answers) and the kept time steps: ascending, unique, either a random subset or evenly
    spaced as improved-diffusion's space_timesteps (round(linspace(0, T − 1, K)))."""
    betas = draw(beta_schedules(min_steps=min_steps))
    num_steps = len(betas)
    k = draw(st.integers(1, num_steps))
    if draw(st.booleans()):
        timesteps = torch.randperm(num_steps, generator=generator(draw(seeds())))[:k].sort().values
    else:
        timesteps = torch.linspace(0, num_steps - 1, k, dtype=torch.float64).round().long().unique()
    return {"alphas_cumprod": torch.cumprod(1 - betas, dim=0).to(draw(float_dtypes())), "timesteps": timesteps, "betas": betas}
