"""diffusion.ddpm_step: one ancestral sampling step of DDPM (fixed_small or fixed_large variance),
also compared with diffusers' DDPMScheduler; its properties and known mistakes.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from hypothesis import given
from hypothesis import strategies as st

from grader import strategies as gs
from grader.properties.api import Context, Exercise, Mistake
from grader.properties.diffusion._shared import F64, _assert_grads, _check_tensor, _diffusers_schedulers, _float64_buffers, _reference_grads, _step_tolerance
from grader.properties.diffusion.strategies import ddpm_step_inputs, diffusion_shapes
from grader.properties.judge_only import judge_only


@judge_only
def _ddpm(eps, t, x_t, betas, noise, variance="fixed_small", *, std=True, swap=False, alpha_bar_in_mean=False, wrap_prev=False, noise_at_zero=False):
    """Ho et al. Algorithm 2 with optional mistakes (judge-side helper of the variants below)."""
    ac = torch.cumprod(1 - betas, dim=0)
    beta_t, a_t = betas[t], ac[t]
    a_prev = ac[t - 1] if (t > 0 or wrap_prev) else torch.ones_like(a_t)  # wrap_prev: t = 0 reads ac[-1]
    if wrap_prev:  # the posterior-mean form (x̂0 and x_t coefficients), which uses ᾱ_{t−1}
        x0_hat = (x_t - (1 - a_t).sqrt().to(x_t.dtype) * eps) / a_t.sqrt().to(x_t.dtype)
        mean = (a_prev.sqrt() * beta_t / (1 - a_t)).to(x_t.dtype) * x0_hat + ((1 - beta_t).sqrt() * (1 - a_prev) / (1 - a_t)).to(x_t.dtype) * x_t
    else:
        scale = a_t if alpha_bar_in_mean else 1 - beta_t
        mean = (x_t - (beta_t / (1 - a_t).sqrt()).to(x_t.dtype) * eps) / scale.sqrt().to(x_t.dtype)
    if t == 0 and not noise_at_zero:
        return mean
    small = (variance == "fixed_small") != swap
    var = (1 - a_prev) / (1 - a_t) * beta_t if small else beta_t
    sigma = var.sqrt() if std else var
    return mean + sigma.to(x_t.dtype) * noise


def _ddpm_variance_as_std(eps, t, x_t, betas, noise, variance="fixed_small"):
    return _ddpm(eps, t, x_t, betas, noise, variance, std=False)


def _ddpm_variances_swapped(eps, t, x_t, betas, noise, variance="fixed_small"):
    return _ddpm(eps, t, x_t, betas, noise, variance, swap=True)


def _ddpm_alpha_bar_in_mean(eps, t, x_t, betas, noise, variance="fixed_small"):
    return _ddpm(eps, t, x_t, betas, noise, variance, alpha_bar_in_mean=True)


def _ddpm_prev_wraps_around(eps, t, x_t, betas, noise, variance="fixed_small"):
    return _ddpm(eps, t, x_t, betas, noise, variance, wrap_prev=True)


def _ddpm_noise_at_last_step(eps, t, x_t, betas, noise, variance="fixed_small"):
    return _ddpm(eps, t, x_t, betas, noise, variance, noise_at_zero=True)


ddpm = Exercise(
    "diffusion.ddpm_step",
    mistakes=[
        Mistake("variance_as_std", "your output adds σ²·noise: the variances β̃_t and β_t are σ², so add √(σ²)·noise", _ddpm_variance_as_std),
        Mistake("variances_swapped", "your output swaps the two variances: fixed_small is β̃_t = (1 − ᾱ_{t−1})/(1 − ᾱ_t)·β_t, fixed_large is β_t", _ddpm_variances_swapped),
        Mistake("alpha_bar_in_mean", "your mean divides by √ᾱ_t; the posterior mean divides by √α_t = √(1 − β_t) (one step, not the whole chain)", _ddpm_alpha_bar_in_mean),
        Mistake("prev_wraps_around", "your step uses alphas_cumprod[t − 1] at t = 0, which Python reads as the last entry; before the first step ᾱ is 1, so the last step returns x̂0", _ddpm_prev_wraps_around),
        Mistake("noise_at_last_step", "your output adds σ·noise at t = 0 too; the last step returns the mean without noise (Ho et al. Algorithm 2: z = 0 when t = 1)", _ddpm_noise_at_last_step),
    ],
)


def _ddpm_inputs(a: dict[str, Any]) -> dict[str, Any]:
    return {k: a[k] for k in ("eps", "t", "x_t", "betas", "noise", "variance")}


def _ddpm_args(a: dict[str, Any], noise: Any = "given") -> tuple[Any, ...]:
    return (a["eps"], a["t"], a["x_t"], a["betas"], a["noise"] if isinstance(noise, str) else noise, a["variance"])


def _ddpm_tolerance(ctx: Context, a: dict[str, Any]) -> tuple[float, float]:
    ac = torch.cumprod(1 - a["betas"], dim=0)
    return _step_tolerance(ctx, a["x_t"].dtype, ac, a["t"], a["t"] - 1)


@ddpm.property("last_step_returns_x0_hat", "at t = 0 no noise is added (noise may be None) and the step returns x̂0 = (x_t − √β_0·eps)/√(1 − β_0)", tier="public")
@given(a=ddpm_step_inputs(max_t=0))
def _ddpm_last_step(ctx: Context, a: dict[str, Any]) -> None:
    beta = a["betas"][0]
    x0_hat = ((a["x_t"].to(F64) - beta.sqrt() * a["eps"].to(F64)) / (1 - beta).sqrt()).to(a["x_t"].dtype)
    rtol, atol = _ddpm_tolerance(ctx, a)
    ctx.assert_close(ctx.call(*_ddpm_args(a)), x0_hat, inputs=_ddpm_inputs(a), what="the step at t = 0", rtol=rtol, atol=atol)
    if a["noise"] is not None:
        ctx.assert_close(ctx.call(*_ddpm_args(a, noise=None)), x0_hat, inputs=_ddpm_inputs(a), what="the step at t = 0 with noise=None", rtol=rtol, atol=atol)


@ddpm.property("noise_scale", "for t > 0 the noise enters as σ_t·noise, σ_t² = β̃_t = (1 − ᾱ_{t−1})/(1 − ᾱ_t)·β_t (fixed_small) or β_t (fixed_large)", tier="public")
@given(a=ddpm_step_inputs(min_t=1))
def _ddpm_noise_scale(ctx: Context, a: dict[str, Any]) -> None:
    betas, t = a["betas"], a["t"]
    ac = torch.cumprod(1 - betas, dim=0)
    var = (1 - ac[t - 1]) / (1 - ac[t]) * betas[t] if a["variance"] == "fixed_small" else betas[t]
    without = ctx.call(*_ddpm_args(a, noise=torch.zeros_like(a["x_t"])))
    got = ctx.call(*_ddpm_args(a))  # last: the call a diagnosis replays
    ctx.check(isinstance(without, torch.Tensor) and isinstance(got, torch.Tensor), "the step should return a tensor", inputs=_ddpm_inputs(a))
    expected = (without.to(F64) + var.sqrt() * a["noise"].to(F64)).to(a["x_t"].dtype)
    rtol, atol = _ddpm_tolerance(ctx, a)
    ctx.assert_close(got, expected, inputs=_ddpm_inputs(a), what="the step with noise (compared with the step with noise = 0, plus σ·noise)", rtol=rtol, atol=atol)


# β = (0.36, 0.4375) gives ᾱ = (0.64, 0.36): √(1 − β) = (0.8, 0.75), √(1 − ᾱ) = (0.6, 0.8).
KNOWN_BETAS = (0.36, 0.4375)


KNOWN_STEPS = {  # t -> (β_t/√(1 − ᾱ_t), √(1 − β_t), σ² fixed_small, σ² fixed_large)
    0: (0.6, 0.8, 0.0, 0.0),  # no noise at the last step
    1: (0.546875, 0.75, 0.36 / 0.64 * 0.4375, 0.4375),
}


@ddpm.property("known_answer", "with β = (0.36, 0.4375): x_0 = (x_1 − 0.546875·eps)/0.75 + σ·noise, σ² = 0.24609375 (fixed_small) or 0.4375 (fixed_large)", tier="public")
@given(t=st.sampled_from((1, 0)), variance=st.sampled_from(("fixed_small", "fixed_large")), shape=diffusion_shapes(), dtype=gs.float_dtypes(), seed=gs.seeds())
def _ddpm_known_answer(ctx: Context, t: int, variance: str, shape: tuple[int, ...], dtype: torch.dtype, seed: int) -> None:
    a = {"eps": gs.make_tensor(shape, dtype, seed), "t": t, "x_t": gs.make_tensor(shape, dtype, seed + 1), "betas": torch.tensor(KNOWN_BETAS, dtype=F64), "noise": gs.make_tensor(shape, dtype, seed + 2), "variance": variance}
    eps_coef, sqrt_alpha, var_small, var_large = KNOWN_STEPS[t]
    sigma = math.sqrt(var_small if variance == "fixed_small" else var_large)
    expected = (a["x_t"].to(F64) - eps_coef * a["eps"].to(F64)) / sqrt_alpha + sigma * a["noise"].to(F64)
    ctx.assert_close(ctx.call(*_ddpm_args(a)), expected.to(dtype), inputs=_ddpm_inputs(a))


@ddpm.property("matches_reference", "equals the reference step for random schedules, steps, variances, float32 and float64", tier="hidden")
@given(a=ddpm_step_inputs())
def _ddpm_matches_reference(ctx: Context, a: dict[str, Any]) -> None:
    rtol, atol = _ddpm_tolerance(ctx, a)
    ctx.assert_close(ctx.call(*_ddpm_args(a)), ctx.ref(*_ddpm_args(a)), inputs=_ddpm_inputs(a), rtol=rtol, atol=atol)


def _diffusers_ddpm_step(a: dict[str, Any], noise_seed: int) -> torch.Tensor | None:
    """diffusers' DDPMScheduler.step in float64, its noise drawn from ``noise_seed`` (None without diffusers)."""
    schedulers = _diffusers_schedulers()
    if schedulers is None:
        return None
    betas = a["betas"]
    sched = schedulers[0](num_train_timesteps=len(betas), trained_betas=betas.numpy(), clip_sample=False, variance_type=a["variance"])
    _float64_buffers(sched, betas)
    sched.one = torch.tensor(1.0, dtype=F64)
    # For t > 0 the scheduler draws torch.randn(shape, generator, dtype=float64) itself:
    # gs.make_tensor draws exactly that noise from the same seed for the student.
    shape = tuple(a["x_t"].shape)
    eps, x_t = (v.to(F64).reshape(shape[0], -1) for v in (a["eps"], a["x_t"]))  # step reads shape[1]: give it rank 2
    out = sched.step(eps, a["t"], x_t, generator=gs.generator(noise_seed)).prev_sample
    return out.reshape(shape).to(a["x_t"].dtype)


@ddpm.property("matches_diffusers", "equals diffusers' DDPMScheduler(clip_sample=False).step with the same noise, float64 schedule", tier="hidden")
@given(a=ddpm_step_inputs(), noise_seed=gs.seeds())
def _ddpm_matches_diffusers(ctx: Context, a: dict[str, Any], noise_seed: int) -> None:
    if a["noise"] is not None:
        a = {**a, "noise": gs.make_tensor(tuple(a["x_t"].shape), a["x_t"].dtype, noise_seed)}
    expected = _diffusers_ddpm_step(a, noise_seed)
    if expected is None:
        expected = ctx.ref(*_ddpm_args(a))
    rtol, atol = _ddpm_tolerance(ctx, a)
    ctx.assert_close(ctx.call(*_ddpm_args(a)), expected, inputs=_ddpm_inputs(a), rtol=rtol, atol=atol)


@ddpm.property("gradients_match", "gradients with respect to eps, x_t and noise equal the reference's (the schedule is a constant: its gradient is not graded)", tier="hidden")
@given(a=ddpm_step_inputs(), seed=gs.seeds())
def _ddpm_gradients_match(ctx: Context, a: dict[str, Any], seed: int) -> None:
    g = gs.make_tensor(tuple(a["x_t"].shape), a["x_t"].dtype, seed)
    wrt = [0, 2] + ([4] if a["noise"] is not None and a["t"] > 0 else [])  # betas are a constant of the process (catalog)
    _, grads = ctx.student.vjp(ctx.exercise.name, _ddpm_args(a), g, wrt)
    expected = _reference_grads(ctx, _ddpm_args(a), wrt, g)
    _assert_grads(ctx, grads, expected, data=len(wrt), tol=_ddpm_tolerance(ctx, a), inputs=_ddpm_inputs(a), what="the gradients (d eps, d x_t[, d noise])")


@ddpm.property("dtype_contract", "the result has x_t's shape and dtype: float32 data with float64 betas gives float32", tier="public")
@given(a=ddpm_step_inputs())
def _ddpm_dtype_contract(ctx: Context, a: dict[str, Any]) -> None:
    _check_tensor(ctx, ctx.call(*_ddpm_args(a)), a["x_t"].shape, a["x_t"].dtype, _ddpm_inputs(a))

