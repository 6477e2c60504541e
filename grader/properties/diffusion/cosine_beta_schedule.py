"""diffusion.cosine_beta_schedule: Nichol & Dhariwal's cosine schedule, capped at max_beta; its
properties and known mistakes.
"""

from __future__ import annotations

import math

import torch
from hypothesis import example, given
from hypothesis import strategies as st

from grader.properties.api import Context, Exercise, Mistake
from grader.properties.diffusion._shared import F64, _call_on_cpu, _check_tensor
from grader.properties.judge_only import judge_only


@judge_only
def _cosine(num_steps, s, max_beta, *, dtype=F64, squared=True, one_plus_s=True, cap=True):
    """The cosine schedule with optional mistakes (judge-side helper of the variants below)."""
    u = torch.arange(num_steps + 1, dtype=dtype) / num_steps
    angle = (u + s) / (1 + s if one_plus_s else 1) * math.pi / 2
    alpha_bar = torch.cos(angle) ** 2 if squared else torch.cos(angle)
    betas = 1 - alpha_bar[1:] / alpha_bar[:-1]
    return betas.clamp(max=max_beta) if cap else betas


def _cosine_float32(num_steps, s=0.008, max_beta=0.999):
    return _cosine(num_steps, s, max_beta, dtype=torch.float32)  # diffusers' betas_for_alpha_bar returns float32


def _cosine_no_cap(num_steps, s=0.008, max_beta=0.999):
    return _cosine(num_steps, s, max_beta, cap=False)


def _cosine_not_squared(num_steps, s=0.008, max_beta=0.999):
    return _cosine(num_steps, s, max_beta, squared=False)


def _cosine_without_one_plus_s(num_steps, s=0.008, max_beta=0.999):
    return _cosine(num_steps, s, max_beta, one_plus_s=False)


cosine = Exercise(
    "diffusion.cosine_beta_schedule",
    mistakes=[
        Mistake("float32", "your schedule equals one computed in float32 (diffusers' betas_for_alpha_bar returns float32); build it in float64", _cosine_float32),
        Mistake("no_cap", "your betas are not capped: the last one is 1 (ᾱ(1) = cos²(π/2) = 0), which leaves no signal in x_T and makes x̂0 = x_t/√ᾱ_t divide by zero; take min(β, max_beta)", _cosine_no_cap),
        Mistake("not_squared", "your ᾱ(u) is cos(…) instead of cos²(…): Nichol & Dhariwal square the cosine", _cosine_not_squared),
        Mistake("without_one_plus_s", "your ᾱ(u) uses cos²((u + s)·π/2): divide by (1 + s), so that u = 1 lands exactly on π/2 and ᾱ(1) = 0", _cosine_without_one_plus_s),
    ],
)


def cosine_offsets() -> st.SearchStrategy[float]:
    return st.one_of(st.just(0.008), st.floats(0.0, 0.05))


@cosine.property("shape_dtype_range", "returns num_steps float64 betas, non-decreasing, in (0, max_beta], the last one exactly max_beta", tier="public")
@given(num_steps=st.integers(1, 60), s=cosine_offsets(), max_beta=st.one_of(st.just(0.999), st.floats(0.6, 0.999)))
@example(num_steps=1000, s=0.008, max_beta=0.999)
def _cosine_shape(ctx: Context, num_steps: int, s: float, max_beta: float) -> None:
    inputs = {"num_steps": num_steps, "s": s, "max_beta": max_beta}
    got = _call_on_cpu(ctx, num_steps, s, max_beta)
    _check_tensor(ctx, got, (num_steps,), F64, inputs, "the schedule")
    ctx.check(bool((got > 0).all()) and bool((got <= max_beta).all()), f"every beta should lie in (0, max_beta = {max_beta:g}]; got min {float(got.min()):.6g}, max {float(got.max()):.6g}", inputs=inputs)
    ctx.check(bool((got[1:] >= got[:-1]).all()), "the betas should never decrease (ᾱ(u) falls ever faster)", inputs=inputs)
    # ᾱ(1) = cos²(π/2) = 0, so the uncapped last beta is 1: the cap is always reached there.
    ctx.assert_close(float(got[-1]), max_beta, inputs=inputs, what="the last beta")


@cosine.property("alphas_cumprod_telescopes", "below the cap, cumprod(1 − β)[i] = ᾱ((i+1)/T)/ᾱ(0); the first is ᾱ(1/T)/ᾱ(0)", tier="public")
@given(num_steps=st.integers(2, 60), s=cosine_offsets())
@example(num_steps=1000, s=0.008)
def _cosine_telescopes(ctx: Context, num_steps: int, s: float) -> None:
    inputs = {"num_steps": num_steps, "s": s}
    got = _call_on_cpu(ctx, num_steps, s)
    _check_tensor(ctx, got, (num_steps,), F64, inputs, "the schedule")

    def alpha_bar(u: float) -> float:
        return math.cos((u + s) / (1 + s) * math.pi / 2) ** 2

    # The product of ratios ᾱ((i+1)/T)/ᾱ(i/T) telescopes; with the default cap only the last step is capped.
    expected = torch.tensor([alpha_bar((i + 1) / num_steps) / alpha_bar(0.0) for i in range(num_steps - 1)], dtype=F64)
    ctx.assert_close(torch.cumprod(1 - got, dim=0)[:-1], expected, inputs=inputs, what="cumprod(1 − betas) before the last step")


@cosine.property("cap_is_a_clamp", "a lower max_beta only clamps: betas(max_beta=m) = min(betas(), m)", tier="public")
@given(num_steps=st.integers(1, 60), s=cosine_offsets(), max_beta=st.floats(0.01, 0.999))
def _cosine_cap_is_a_clamp(ctx: Context, num_steps: int, s: float, max_beta: float) -> None:
    inputs = {"num_steps": num_steps, "s": s, "max_beta": max_beta}
    uncapped = _call_on_cpu(ctx, num_steps, s)
    got = _call_on_cpu(ctx, num_steps, s, max_beta)
    ctx.check(isinstance(uncapped, torch.Tensor) and isinstance(got, torch.Tensor), "the schedule should be a tensor", inputs=inputs)
    ctx.assert_close(got, uncapped.clamp(max=max_beta), inputs=inputs, what=f"the schedule with max_beta = {max_beta:g}")


@cosine.property("matches_reference", "equals the reference schedule for random lengths, offsets s and caps", tier="hidden")
@given(num_steps=st.integers(1, 60), s=cosine_offsets(), max_beta=st.one_of(st.just(0.999), st.floats(0.1, 0.999)))
@example(num_steps=1000, s=0.008, max_beta=0.999)
def _cosine_matches_reference(ctx: Context, num_steps: int, s: float, max_beta: float) -> None:
    inputs = {"num_steps": num_steps, "s": s, "max_beta": max_beta}
    ctx.assert_close(_call_on_cpu(ctx, num_steps, s, max_beta), ctx.ref(num_steps, s, max_beta), inputs=inputs, what="the schedule")

