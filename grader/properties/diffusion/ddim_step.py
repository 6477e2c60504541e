"""diffusion.ddim_step: one DDIM step from t to t_prev with η and optional noise, also compared
with diffusers' DDIMScheduler; its properties and known mistakes.
"""

from __future__ import annotations

from typing import Any

import torch
from hypothesis import example, given
from hypothesis import strategies as st

from grader import strategies as gs
from grader.failures import StudentRaised
from grader.properties.api import Context, Exercise, Mistake
from grader.properties.diffusion._shared import (
    F64,
    _alpha_bar_prev,
    _assert_grads,
    _check_tensor,
    _diffusers_schedulers,
    _float64_buffers,
    _reference_grads,
    _step_tolerance,
)
from grader.properties.diffusion.strategies import ddim_grid_inputs, ddim_step_inputs
from grader.properties.judge_only import judge_only


@judge_only
def _ddim(eps, t, t_prev, x_t, alphas_cumprod, eta=0.0, noise=None, *, wrap_prev=False, x0_sqrt=True, sigma_sqrt=True, direction_sigma=True):
    """Song et al. eq. 12 with optional mistakes (judge-side helper of the variants below)."""
    a_t = alphas_cumprod[t]
    a_prev = alphas_cumprod[t_prev] if (t_prev >= 0 or wrap_prev) else torch.ones_like(a_t)  # wrap_prev: −1 reads the last entry
    root = torch.sqrt if x0_sqrt else (lambda v: v)
    x0_hat = (x_t - root(1 - a_t).to(x_t.dtype) * eps) / root(a_t).to(x_t.dtype)
    var = (1 - a_prev) / (1 - a_t) * (1 - a_t / a_prev)
    sigma = eta * (var.sqrt() if sigma_sqrt else var)
    direction = (1 - a_prev - (sigma**2 if direction_sigma else 0)).sqrt().to(x_t.dtype) * eps
    x_prev = a_prev.sqrt().to(x_t.dtype) * x0_hat + direction
    return x_prev + sigma.to(x_t.dtype) * noise if eta > 0 else x_prev


def _ddim_prev_wraps_around(eps, t, t_prev, x_t, alphas_cumprod, eta=0.0, noise=None):
    return _ddim(eps, t, t_prev, x_t, alphas_cumprod, eta, noise, wrap_prev=True)


def _ddim_x0_hat_no_sqrt(eps, t, t_prev, x_t, alphas_cumprod, eta=0.0, noise=None):
    return _ddim(eps, t, t_prev, x_t, alphas_cumprod, eta, noise, x0_sqrt=False)


def _ddim_sigma_without_sqrt(eps, t, t_prev, x_t, alphas_cumprod, eta=0.0, noise=None):
    return _ddim(eps, t, t_prev, x_t, alphas_cumprod, eta, noise, sigma_sqrt=False)


def _ddim_direction_ignores_sigma(eps, t, t_prev, x_t, alphas_cumprod, eta=0.0, noise=None):
    return _ddim(eps, t, t_prev, x_t, alphas_cumprod, eta, noise, direction_sigma=False)


ddim = Exercise(
    "diffusion.ddim_step",
    mistakes=[
        Mistake("prev_wraps_around", "your step uses alphas_cumprod[t_prev] for t_prev = −1, which Python reads as the last entry; the last step uses ᾱ_prev = 1 (set_alpha_to_one) and returns x̂0", _ddim_prev_wraps_around),
        Mistake("x0_hat_no_sqrt", "your x̂0 is (x_t − (1 − ᾱ_t)·eps)/ᾱ_t; invert q_sample with square roots: x̂0 = (x_t − √(1 − ᾱ_t)·eps)/√ᾱ_t", _ddim_x0_hat_no_sqrt),
        Mistake("sigma_without_sqrt", "your σ is η·(1 − ᾱ_prev)/(1 − ᾱ_t)·(1 − ᾱ_t/ᾱ_prev), a variance; σ = η·√((1 − ᾱ_prev)/(1 − ᾱ_t))·√(1 − ᾱ_t/ᾱ_prev)", _ddim_sigma_without_sqrt),
        Mistake("direction_ignores_sigma", "your direction term is √(1 − ᾱ_prev)·eps; with fresh noise it is √(1 − ᾱ_prev − σ²)·eps, so that the total variance stays 1 − ᾱ_prev", _ddim_direction_ignores_sigma),
    ],
)


DDIM_KEYS = ("eps", "t", "t_prev", "x_t", "alphas_cumprod", "eta", "noise")


def _ddim_args(a: dict[str, Any], **changes: Any) -> tuple[Any, ...]:
    return tuple(changes.get(k, a[k]) for k in DDIM_KEYS)


def _ddim_inputs(a: dict[str, Any]) -> dict[str, Any]:
    return {k: a[k] for k in DDIM_KEYS}


def _ddim_tolerance(ctx: Context, a: dict[str, Any]) -> tuple[float, float]:
    return _step_tolerance(ctx, a["x_t"].dtype, a["alphas_cumprod"], a["t"], a["t_prev"])


def _ddim_sigma(a: dict[str, Any]) -> torch.Tensor:
    """σ of the catalog's formula, float64."""
    a_t, a_prev = a["alphas_cumprod"][a["t"]].to(F64), _alpha_bar_prev(a["alphas_cumprod"], a["t_prev"])
    return float(a["eta"]) * ((1 - a_prev) / (1 - a_t)).sqrt() * (1 - a_t / a_prev).sqrt()


def _deterministic_example() -> dict[str, Any]:
    """The last step of a sampling chain: from the noisiest t to t_prev = −1."""
    betas = torch.linspace(1e-4, 0.2, 20, dtype=F64)
    x = gs.make_tensor((2, 2), torch.float32, 0)
    return {"eps": gs.make_tensor((2, 2), torch.float32, 1), "t": 19, "t_prev": -1, "x_t": x, "alphas_cumprod": torch.cumprod(1 - betas, 0), "eta": 0.0, "noise": None}


@ddim.property("deterministic_maps_marginals", "with η = 0 and the true noise eps, x_t = √ᾱ_t·x0 + √(1 − ᾱ_t)·eps goes exactly to √ᾱ_prev·x0 + √(1 − ᾱ_prev)·eps (to x0 when t_prev < 0)", tier="public")
@given(a=ddim_step_inputs(etas=st.just(0.0)))
@example(a=_deterministic_example())
def _ddim_deterministic(ctx: Context, a: dict[str, Any]) -> None:
    x0, eps, ac = a["x_t"].to(F64), a["eps"].to(F64), a["alphas_cumprod"]  # the drawn x_t serves as x0
    a_t, a_prev = ac[a["t"]].to(F64), _alpha_bar_prev(ac, a["t_prev"])
    a = {**a, "x_t": (a_t.sqrt() * x0 + (1 - a_t).sqrt() * eps).to(a["x_t"].dtype)}
    expected = (a_prev.sqrt() * x0 + (1 - a_prev).sqrt() * eps).to(a["x_t"].dtype)
    got = ctx.call(a["eps"], a["t"], a["t_prev"], a["x_t"], ac)  # η and noise left at their defaults
    rtol, atol = _ddim_tolerance(ctx, a)
    ctx.assert_close(got, expected, inputs=_ddim_inputs(a), what="x_prev", rtol=rtol, atol=atol)


def _ancestral_step(a: dict[str, Any]) -> torch.Tensor:
    """Ho et al. Algorithm 2 with σ² = β̃_t, written from ᾱ (β_t = 1 − ᾱ_t/ᾱ_{t−1}), in float64."""
    ac, t = a["alphas_cumprod"], a["t"]
    a_t, a_prev = ac[t].to(F64), _alpha_bar_prev(ac, t - 1)
    beta = 1 - a_t / a_prev
    mean = (a["x_t"].to(F64) - beta / (1 - a_t).sqrt() * a["eps"].to(F64)) / (1 - beta).sqrt()
    return mean + ((1 - a_prev) / (1 - a_t) * beta).sqrt() * a["noise"].to(F64)


@ddim.property("eta_one_is_ddpm", "with η = 1 and t_prev = t − 1 the step equals DDPM's ancestral step with σ² = β̃_t (fixed_small)", tier="public")
@given(a=ddim_step_inputs(etas=st.just(1.0), consecutive=True))
def _ddim_eta_one(ctx: Context, a: dict[str, Any]) -> None:
    rtol, atol = _ddim_tolerance(ctx, a)
    ctx.assert_close(ctx.call(*_ddim_args(a)), _ancestral_step(a).to(a["x_t"].dtype), inputs=_ddim_inputs(a), what="x_prev (compared with DDPM's step)", rtol=rtol, atol=atol)


@ddim.property("noise_scale", "the noise enters as σ·noise with σ = η·√((1 − ᾱ_prev)/(1 − ᾱ_t))·√(1 − ᾱ_t/ᾱ_prev)", tier="public")
@given(a=ddim_step_inputs(min_t_prev=0, etas=st.floats(0.05, 1.0)))
def _ddim_noise_scale(ctx: Context, a: dict[str, Any]) -> None:
    without = ctx.call(*_ddim_args(a, noise=torch.zeros_like(a["x_t"])))
    got = ctx.call(*_ddim_args(a))  # last: the call a diagnosis replays
    ctx.check(isinstance(without, torch.Tensor) and isinstance(got, torch.Tensor), "the step should return a tensor", inputs=_ddim_inputs(a))
    expected = (without.to(F64) + _ddim_sigma(a) * a["noise"].to(F64)).to(a["x_t"].dtype)
    rtol, atol = _ddim_tolerance(ctx, a)
    ctx.assert_close(got, expected, inputs=_ddim_inputs(a), what="the step with noise (compared with the step with noise = 0, plus σ·noise)", rtol=rtol, atol=atol)


@ddim.property("noise_required_iff_eta_positive", "with η = 0 noise is optional and ignored; with η > 0 a missing noise is an error", tier="public")
@given(a=ddim_step_inputs(min_t_prev=0, etas=st.floats(0.05, 1.0)))
def _ddim_noise_required(ctx: Context, a: dict[str, Any]) -> None:
    without = ctx.call(*_ddim_args(a, eta=0.0, noise=None))
    got = ctx.call(*_ddim_args(a, eta=0.0))
    ctx.assert_close(got, without, inputs=_ddim_inputs(a), what="the η = 0 step with noise (compared with noise=None)")
    try:
        ctx.call(*_ddim_args(a, noise=None))
    except StudentRaised:
        return  # required, and missing: an error, as it should be
    ctx.fail(f"with eta = {float(a['eta']):g} > 0 and noise=None the step returned a result; η > 0 makes the step stochastic, so a missing noise must raise an error", inputs=_ddim_inputs(a))


@ddim.property("matches_reference", "equals the reference step for random schedules, t_prev < t (also −1), η as a number or a 0-d tensor", tier="hidden")
@given(a=ddim_step_inputs(eta_tensor=None))
def _ddim_matches_reference(ctx: Context, a: dict[str, Any]) -> None:
    rtol, atol = _ddim_tolerance(ctx, a)
    ctx.assert_close(ctx.call(*_ddim_args(a)), ctx.ref(*_ddim_args(a)), inputs=_ddim_inputs(a), rtol=rtol, atol=atol)


def _diffusers_ddim_step(a: dict[str, Any]) -> torch.Tensor | None:
    """diffusers' DDIMScheduler.step in float64 on its own time-step grid (None without diffusers)."""
    schedulers = _diffusers_schedulers()
    if schedulers is None:
        return None
    betas = a["betas"]
    sched = schedulers[1](num_train_timesteps=len(betas), trained_betas=betas.numpy(), clip_sample=False, set_alpha_to_one=True, timestep_spacing="leading", steps_offset=0)
    _float64_buffers(sched, betas)
    sched.final_alpha_cumprod = torch.tensor(1.0, dtype=F64)
    sched.set_timesteps(a["num_inference_steps"])
    noise = None if a["noise"] is None else a["noise"].to(F64)
    out = sched.step(a["eps"].to(F64), a["t"], a["x_t"].to(F64), eta=a["eta"], variance_noise=noise).prev_sample
    return out.to(a["x_t"].dtype)


@ddim.property("matches_diffusers", "equals diffusers' DDIMScheduler(clip_sample=False, set_alpha_to_one=True).step on its time-step grid, with the same noise", tier="hidden")
@given(a=ddim_grid_inputs())
def _ddim_matches_diffusers(ctx: Context, a: dict[str, Any]) -> None:
    a = {**a, "alphas_cumprod": torch.cumprod(1 - a["betas"], dim=0)}
    expected = _diffusers_ddim_step(a)
    if expected is None:
        expected = ctx.ref(*_ddim_args(a))
    rtol, atol = _ddim_tolerance(ctx, a)
    ctx.assert_close(ctx.call(*_ddim_args(a)), expected, inputs={**_ddim_inputs(a), "num_inference_steps": a["num_inference_steps"]}, rtol=rtol, atol=atol)


@ddim.property("gradients_match", "gradients with respect to eps, x_t, noise and a tensor η equal the reference's (the schedule is a constant: its gradient is not graded)", tier="hidden")
@given(a=ddim_step_inputs(eta_tensor=None), seed=gs.seeds())
def _ddim_gradients_match(ctx: Context, a: dict[str, Any], seed: int) -> None:
    g = gs.make_tensor(tuple(a["x_t"].shape), a["x_t"].dtype, seed)
    wrt: list[Any] = [0, 3] + ([6] if a["noise"] is not None else [])  # data first; alphas_cumprod is a constant (catalog)
    data = len(wrt)
    if a["t_prev"] >= 0 and isinstance(a["eta"], torch.Tensor):  # at the last step η does not enter the result (x̂0)
        wrt.append(5)
    _, grads = ctx.student.vjp(ctx.exercise.name, _ddim_args(a), g, wrt)
    expected = _reference_grads(ctx, _ddim_args(a), wrt, g)
    _assert_grads(ctx, grads, expected, data=data, tol=_ddim_tolerance(ctx, a), inputs=_ddim_inputs(a), what="the gradients (d eps, d x_t[, d noise][, d eta])")


@ddim.property("dtype_contract", "the result has x_t's shape and dtype: float32 data with a float64 schedule gives float32", tier="public")
@given(a=ddim_step_inputs(eta_tensor=None))
def _ddim_dtype_contract(ctx: Context, a: dict[str, Any]) -> None:
    _check_tensor(ctx, ctx.call(*_ddim_args(a)), a["x_t"].shape, a["x_t"].dtype, _ddim_inputs(a))

