"""diffusion.respaced_betas: the betas of a shorter process that keeps only some time steps
(improved-diffusion's SpacedDiffusion); its properties and known mistakes.

The defining property is the public one: cumprod(1 − beta) of the short process equals
alphas_cumprod at the kept steps. Known answers: keeping every step gives the original betas,
keeping one step t jumps from clean data, beta = 1 − ᾱ[t].
"""

from __future__ import annotations

from typing import Any

import torch
from hypothesis import example, given

from grader.properties.api import Context, Exercise, Mistake
from grader.properties.diffusion._shared import F64, _check_tensor
from grader.properties.diffusion.strategies import beta_schedules, respacing_inputs
from grader.properties.judge_only import judge_only


@judge_only
def _kept_and_previous(alphas_cumprod, timesteps, *, first=None, roll=False):
    kept = alphas_cumprod.to(torch.float64)[timesteps]
    if roll:
        return kept, kept.roll(1)  # the first step's previous wraps around to the last kept step
    start = torch.ones(1, dtype=torch.float64, device=kept.device) if first is None else first.reshape(1)
    return kept, torch.cat([start, kept[:-1]])


def _respaced_betas_at_timesteps(alphas_cumprod, timesteps):
    a = alphas_cumprod.to(torch.float64)
    betas = 1 - a / torch.cat([torch.ones(1, dtype=torch.float64, device=a.device), a[:-1]])  # the original schedule
    return betas[timesteps]


def _respaced_prev_wraps_around(alphas_cumprod, timesteps):
    kept, previous = _kept_and_previous(alphas_cumprod, timesteps, roll=True)
    return 1 - kept / previous


def _respaced_difference(alphas_cumprod, timesteps):
    kept, previous = _kept_and_previous(alphas_cumprod, timesteps)
    return previous - kept


def _respaced_one_minus_alpha_bar(alphas_cumprod, timesteps):
    return 1 - alphas_cumprod.to(torch.float64)[timesteps]


respaced_betas = Exercise(
    "diffusion.respaced_betas",
    mistakes=[
        Mistake("betas_at_timesteps", "your betas are the original schedule's betas at the kept steps (betas[timesteps]); one step of the short process covers every skipped step too: beta_i = 1 − ᾱ[t_i]/ᾱ[t_{i−1}]", _respaced_betas_at_timesteps),
        Mistake("previous_wraps_around", "your first beta divides by ᾱ of the last kept step (a roll wraps around); before the first kept step ᾱ = 1, so beta_0 = 1 − ᾱ[t_0]", _respaced_prev_wraps_around),
        Mistake("difference_not_ratio", "your betas are differences ᾱ[t_{i−1}] − ᾱ[t_i]; the noise levels multiply, ᾱ = ∏(1 − beta), so beta_i = 1 − ᾱ[t_i]/ᾱ[t_{i−1}]", _respaced_difference),
        Mistake("one_minus_alpha_bar", "your betas are 1 − ᾱ[t_i], each a jump from clean data; beta_i is the step from the previous kept step: 1 − ᾱ[t_i]/ᾱ[t_{i−1}]", _respaced_one_minus_alpha_bar),
    ],
)


def _inputs(a: dict[str, Any]) -> dict[str, Any]:
    return {"alphas_cumprod": a["alphas_cumprod"], "timesteps": a["timesteps"]}


def _betas(ctx: Context, alphas_cumprod: torch.Tensor, timesteps: torch.Tensor, inputs: dict[str, Any]) -> torch.Tensor:
    got = ctx.call(alphas_cumprod, timesteps)
    _check_tensor(ctx, got, (len(timesteps),), F64, inputs, "the respaced betas")
    return got


@respaced_betas.property("cumprod_gives_the_kept_alphas", "cumprod(1 − beta) of the short process equals alphas_cumprod at the kept time steps", tier="public")
@given(a=respacing_inputs())
def _respaced_cumprod(ctx: Context, a: dict[str, Any]) -> None:
    got = _betas(ctx, a["alphas_cumprod"], a["timesteps"], _inputs(a))
    expected = a["alphas_cumprod"].to(F64)[a["timesteps"]]
    ctx.assert_close(torch.cumprod(1 - got, dim=0), expected, inputs=_inputs(a), what="cumprod(1 − beta) of your betas")


@respaced_betas.property("every_step_kept_gives_the_original_betas", "keeping every time step 0…T−1 gives back the betas the schedule was built from", tier="public")
@given(betas=beta_schedules())
def _respaced_identity(ctx: Context, betas: torch.Tensor) -> None:
    alphas_cumprod = torch.cumprod(1 - betas, dim=0)
    timesteps = torch.arange(len(betas))
    inputs = {"alphas_cumprod": alphas_cumprod, "timesteps": timesteps}
    ctx.assert_close(_betas(ctx, alphas_cumprod, timesteps, inputs), betas, inputs=inputs)


@respaced_betas.property("one_kept_step_jumps_from_clean_data", "keeping a single step t gives one beta, 1 − ᾱ[t]: the whole way from clean data to step t", tier="public")
@given(a=respacing_inputs())
def _respaced_single(ctx: Context, a: dict[str, Any]) -> None:
    t = a["timesteps"][-1:]  # (1,): the last kept step, often far from 0
    inputs = {"alphas_cumprod": a["alphas_cumprod"], "timesteps": t}
    expected = 1 - a["alphas_cumprod"].to(F64)[t]
    ctx.assert_close(_betas(ctx, a["alphas_cumprod"], t, inputs), expected, inputs=inputs)


@respaced_betas.property("float64_for_a_float32_schedule", "a float32 schedule is cast to float64 first: the betas are float64 and as precise as float64 allows, also for tiny betas", tier="public")
@given(betas=beta_schedules(min_steps=2))
@example(betas=torch.linspace(1e-4, 0.02, 20, dtype=torch.float64))
def _respaced_float64(ctx: Context, betas: torch.Tensor) -> None:
    alphas_cumprod = torch.cumprod(1 - betas, dim=0).float()
    timesteps = torch.arange(0, len(betas), 2)  # every other step: each beta covers two, near ᾱ ≈ 1 too
    inputs = {"alphas_cumprod": alphas_cumprod, "timesteps": timesteps}
    kept = alphas_cumprod.to(F64)[timesteps]
    expected = 1 - kept / torch.cat([torch.ones(1, dtype=F64), kept[:-1]])
    ctx.assert_close(_betas(ctx, alphas_cumprod, timesteps, inputs), expected, inputs=inputs, what="the betas (computed in float64 from the float32 schedule)")


@respaced_betas.property("matches_reference", "the betas equal the reference for random schedules and random or evenly spaced kept steps", tier="hidden")
@given(a=respacing_inputs())
def _respaced_matches_reference(ctx: Context, a: dict[str, Any]) -> None:
    got = _betas(ctx, a["alphas_cumprod"], a["timesteps"], _inputs(a))
    ctx.assert_close(got, ctx.ref(a["alphas_cumprod"], a["timesteps"]), inputs=_inputs(a))
