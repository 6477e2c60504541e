"""diffusion.q_sample: x_t = √ᾱ_t·x0 + √(1 − ᾱ_t)·noise, per-sample t; its properties and known
mistakes.
"""

from __future__ import annotations

from typing import Any

import torch
from hypothesis import example, given

from grader import strategies as gs
from grader.properties.api import Context, Exercise, Mistake
from grader.properties.diffusion._shared import F64, _assert_grads, _check_tensor, _reference_grads, _shape_of
from grader.properties.diffusion.strategies import q_sample_inputs


def _per_sample(values: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """(B,) → (B, 1, ..., 1), broadcasting over one sample of ``like``."""
    return values.reshape((-1,) + (1,) * (like.dim() - 1))


def _q_mix(x0, noise, signal, noise_scale):
    return signal.to(x0.dtype) * x0 + noise_scale.to(x0.dtype) * noise


def _q_broadcast_last_axis(x0, t, noise, alphas_cumprod):
    a = alphas_cumprod[t]  # (B,) against (B, ..., D): lines up with the last axis, not the batch
    return _q_mix(x0, noise, a.sqrt(), (1 - a).sqrt())


def _q_image_shaped(x0, t, noise, alphas_cumprod):
    a = alphas_cumprod[t].view(-1, 1, 1, 1)  # right for (B, C, H, W) only
    return _q_mix(x0, noise, a.sqrt(), (1 - a).sqrt())


def _q_swapped(x0, t, noise, alphas_cumprod):
    a = _per_sample(alphas_cumprod[t], x0)
    return _q_mix(x0, noise, (1 - a).sqrt(), a.sqrt())


def _q_no_sqrt(x0, t, noise, alphas_cumprod):
    a = _per_sample(alphas_cumprod[t], x0)
    return _q_mix(x0, noise, a, 1 - a)


def _q_one_indexed(x0, t, noise, alphas_cumprod):
    a = _per_sample(alphas_cumprod[t - 1], x0)  # the paper's t = 1 is index 0: t = 0 reads the last entry
    return _q_mix(x0, noise, a.sqrt(), (1 - a).sqrt())


q_sample = Exercise(
    "diffusion.q_sample",
    mistakes=[
        Mistake("broadcast_last_axis", "your output multiplies x0 by a (B,) vector of coefficients, which broadcasts along x0's last axis instead of the batch axis; reshape it to (B, 1, ..., 1)", _q_broadcast_last_axis),
        Mistake("image_shaped_coefficients", "your output reshapes the coefficients to (B, 1, 1, 1), which is right only for 4-d x0; use (B,) + (1,) * (x0.dim() − 1)", _q_image_shaped),
        Mistake("swapped_coefficients", "your output swaps the coefficients: x0 is scaled by √ᾱ_t and the noise by √(1 − ᾱ_t)", _q_swapped),
        Mistake("no_sqrt", "your output uses ᾱ_t·x0 + (1 − ᾱ_t)·noise: take square roots, √ᾱ_t and √(1 − ᾱ_t), so that the variance stays 1", _q_no_sqrt),
        Mistake("one_indexed", "your output uses alphas_cumprod[t − 1] (the paper's 1-indexed t); time steps are 0-indexed here, as in diffusers: t = 0 uses alphas_cumprod[0] and leaves x0 almost clean", _q_one_indexed),
    ],
)


def _q_inputs(a: dict[str, Any]) -> dict[str, Any]:
    return {k: a[k] for k in ("x0", "t", "noise", "alphas_cumprod")}


def _q_coefficients(a: dict[str, Any]) -> tuple[torch.Tensor, torch.Tensor]:
    """(√ᾱ_t, √(1 − ᾱ_t)) per sample, shaped (B, 1, ..., 1), in float64."""
    alpha_bar = _per_sample(a["alphas_cumprod"][a["t"]].to(F64), a["x0"])
    return alpha_bar.sqrt(), (1 - alpha_bar).sqrt()


def _t_zero_example() -> dict[str, Any]:
    """t = 0 with DDPM's β_0 = 1e-4: x_0 is barely noised (√ᾱ_0 ≈ 0.99995). Ten steps, not a
    thousand: the example is shown to the student when it fails."""
    x0 = gs.make_tensor((3, 3), torch.float32, 1)
    return {"x0": x0, "t": torch.zeros(3, dtype=torch.int64), "noise": gs.make_tensor((3, 3), torch.float32, 2), "alphas_cumprod": torch.cumprod(1 - torch.linspace(1e-4, 0.02, 10, dtype=F64), 0)}


@q_sample.property("shape_and_dtype", "the result has x0's shape and dtype (float32 data with a float64 schedule gives float32)", tier="public")
@given(a=q_sample_inputs(tied=True))
def _q_shape_and_dtype(ctx: Context, a: dict[str, Any]) -> None:
    got = ctx.call(a["x0"], a["t"], a["noise"], a["alphas_cumprod"])
    _check_tensor(ctx, got, a["x0"].shape, a["x0"].dtype, _q_inputs(a))


@q_sample.property("per_sample", "each sample's result depends only on its own t: it equals q_sample of that sample alone", tier="public")
@given(a=q_sample_inputs(tied=True))
@example(a={**_t_zero_example(), "t": torch.tensor([0, 5, 9])})
def _q_per_sample(ctx: Context, a: dict[str, Any]) -> None:
    singles = [ctx.call(a["x0"][b : b + 1], a["t"][b : b + 1], a["noise"][b : b + 1], a["alphas_cumprod"]) for b in range(a["x0"].shape[0])]
    ctx.check(all(isinstance(s, torch.Tensor) and s.shape == a["x0"][:1].shape for s in singles), "for a batch of one sample, the result should have x0's shape", inputs=_q_inputs(a))
    got = ctx.call(a["x0"], a["t"], a["noise"], a["alphas_cumprod"])  # last: the call a diagnosis replays
    ctx.check(isinstance(got, torch.Tensor) and got.shape == a["x0"].shape, f"the result should have x0's shape {tuple(a['x0'].shape)}, got {_shape_of(got)}", inputs=_q_inputs(a))
    ctx.assert_close(got, torch.cat(singles), inputs=_q_inputs(a), what="the batched result (compared with one call per sample)")


@q_sample.property("signal_and_noise_parts", "with zero noise the result is √ᾱ_t·x0, with x0 = 0 it is √(1 − ᾱ_t)·noise, per sample (t = 0 leaves x0 almost clean)", tier="public")
@given(a=q_sample_inputs())
@example(a=_t_zero_example())
def _q_parts(ctx: Context, a: dict[str, Any]) -> None:
    x0, noise = a["x0"], a["noise"]
    signal, noise_scale = _q_coefficients(a)
    got = ctx.call(x0, a["t"], torch.zeros_like(noise), a["alphas_cumprod"])
    ctx.assert_close(got, (signal * x0.to(F64)).to(x0.dtype), inputs=_q_inputs(a), what="q_sample(x0, t, noise=0)")
    got = ctx.call(torch.zeros_like(x0), a["t"], noise, a["alphas_cumprod"])
    ctx.assert_close(got, (noise_scale * noise.to(F64)).to(x0.dtype), inputs=_q_inputs(a), what="q_sample(x0=0, t, noise)")


@q_sample.property("input_gradients", "the gradient with respect to x0 is √ᾱ_t and with respect to noise √(1 − ᾱ_t), sample by sample", tier="public")
@given(a=q_sample_inputs(), seed=gs.seeds())
def _q_input_gradients(ctx: Context, a: dict[str, Any], seed: int) -> None:
    g = gs.make_tensor(tuple(a["x0"].shape), a["x0"].dtype, seed)
    _, grads = ctx.student.vjp(ctx.exercise.name, (a["x0"], a["t"], a["noise"], a["alphas_cumprod"]), g, [0, 2])
    signal, noise_scale = _q_coefficients(a)
    expected = ((signal * g.to(F64)).to(g.dtype), (noise_scale * g.to(F64)).to(g.dtype))
    ctx.assert_close(tuple(grads["inputs"]), expected, inputs=_q_inputs(a), what="the gradients (d x0, d noise)")


@q_sample.property("matches_reference", "equals the reference for any rank of x0, per-sample t, float32 and float64", tier="hidden")
@given(a=q_sample_inputs())
@example(a=_t_zero_example())
def _q_matches_reference(ctx: Context, a: dict[str, Any]) -> None:
    args = (a["x0"], a["t"], a["noise"], a["alphas_cumprod"])
    ctx.assert_close(ctx.call(*args), ctx.ref(*args), inputs=_q_inputs(a))


@q_sample.property("gradients_match", "gradients with respect to x0 and noise equal the reference's (the schedule is a constant: its gradient is not graded)", tier="hidden")
@given(a=q_sample_inputs(), seed=gs.seeds())
def _q_gradients_match(ctx: Context, a: dict[str, Any], seed: int) -> None:
    args = (a["x0"], a["t"], a["noise"], a["alphas_cumprod"])
    g = gs.make_tensor(tuple(a["x0"].shape), a["x0"].dtype, seed)
    _, grads = ctx.student.vjp(ctx.exercise.name, args, g, [0, 2])  # alphas_cumprod is a constant (catalog)
    expected = _reference_grads(ctx, args, [0, 2], g)
    _assert_grads(ctx, grads, expected, data=2, tol=ctx.tolerance(a["x0"].dtype), inputs=_q_inputs(a), what="the gradients (d x0, d noise)")

