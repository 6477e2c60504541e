"""Properties and known mistakes of ``flows.log_prob``."""

from __future__ import annotations

import copy
import math
from typing import Any

import torch
from hypothesis import example, given
from hypothesis import strategies as st
from torch import nn

from grader import fixtures
from grader.properties.api import Context, Exercise, Mistake
from grader.properties.common import unless_right
from grader.properties.flows import strategies as gs
from grader.properties.flows._shared import _forget_calls, _grads_vs_reference, _loose
from grader.properties.judge_only import judge_only
from grader.properties.stability import LOG_OF_DENSITY, assert_stable, int_tensor

# ----------------------------------------------------------------------------- known mistakes


def _standard_normal(z):
    return -0.5 * (z * z).sum(-1) - 0.5 * z.shape[-1] * math.log(2 * math.pi)


@judge_only
def _run(x, transforms):
    z, total = x, torch.zeros(x.shape[0], dtype=x.dtype, device=x.device)
    for t in transforms:
        z, ld = t(z)
        total = total + ld
    return z, total


def _lp_subtracts_log_det(x, transforms):
    z, total = _run(x, transforms)
    return _standard_normal(z) - total


def _lp_no_two_pi(x, transforms):
    z, total = _run(x, transforms)
    return -0.5 * (z * z).sum(-1) + total


def _lp_reverse_order(x, transforms):
    z, total = _run(x, list(transforms)[::-1])
    return _standard_normal(z) + total


def _lp_no_log_det(x, transforms):
    z, _ = _run(x, transforms)
    return _standard_normal(z)


def _lp_sums_over_batch(x, transforms):
    z, total = _run(x, transforms)
    return (_standard_normal(z) + total).sum()


def _lp_mean_over_dims(x, transforms):
    z, total = _run(x, transforms)
    return (-0.5 * z * z - 0.5 * math.log(2 * math.pi)).mean(-1) + total


@judge_only
def _lp_right(x, transforms):
    z, total = _run(x, transforms)
    return _standard_normal(z) + total


def _lp_log_of_density(x, transforms):
    z, total = _run(x, transforms)
    return torch.log(torch.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)).sum(-1) + total  # exp underflows to 0 far out


log_prob = Exercise(
    "flows.log_prob",
    mistakes=[
        Mistake("subtracts_log_det", "your output equals log N(z) − Σ log-dets; with z = f(x) the density is p(x) = N(f(x))·|det ∂f/∂x|, so the log-dets are added", _lp_subtracts_log_det),
        Mistake("no_two_pi", "your output lacks the −D/2·log 2π normalising constant of the standard normal (without it the density does not integrate to 1)", _lp_no_two_pi),
        Mistake("reverse_order", "your output applies the transforms in reverse order; log_prob runs them as listed, data -> noise (sample undoes them last-first)", _lp_reverse_order),
        Mistake("no_log_det", "your output is only the base density log N(z); the change of variables adds each transform's log|det|", _lp_no_log_det),
        Mistake("sums_over_batch", "your output sums the log-densities over the batch into one number; log_prob returns one value per sample, shape (B,) (average it yourself for a loss)", _lp_sums_over_batch),
        Mistake("log_of_density", f"your output takes the log of the density exp(−z²/2)/√(2π): {LOG_OF_DENSITY}", unless_right(_lp_log_of_density, _lp_right)),
        Mistake("mean_over_dims", "your output averages the base log-density over dimensions; log N(z; 0, I) is a sum over the D dimensions", _lp_mean_over_dims),
    ],
)


def _flow_shown(a: dict[str, Any]) -> dict[str, Any]:
    return {"x": a["x"], "transforms": [type(t).__name__ for t in a["transforms"]]}


@log_prob.property("empty_list_is_standard_normal", "with no transforms, log_prob is the standard normal log-density, summed over dimensions", tier="public")
@given(dtype=gs.float_dtypes(), b=gs.dims(), d=gs.dims(), seed=gs.seeds())
@example(dtype=torch.float64, b=1, d=1, seed=0)
def _empty_list(ctx: Context, dtype: torch.dtype, b: int, d: int, seed: int) -> None:
    x = gs.make_tensor((b, d), dtype, seed)
    got = ctx.call(x, [])
    expected = torch.distributions.Normal(torch.zeros((), dtype=dtype), torch.ones((), dtype=dtype)).log_prob(x).sum(-1)
    ctx.assert_close(got, expected, inputs={"x": x, "transforms": []}, what="log_prob(x, [])")


@log_prob.property("chain_rule", "log_prob(x, [t1, t2, …]) equals log_prob(t1(x), [t2, …]) plus t1's log-det at x", tier="public")
@given(a=gs.flow_inputs(min_transforms=1))
def _chain_rule(ctx: Context, a: dict[str, Any]) -> None:
    x, transforms = a["x"], a["transforms"]
    whole = ctx.call(x, transforms)
    with torch.no_grad():
        z1, log_det1 = transforms[0](x)
    rest = ctx.call(z1, transforms[1:])
    rtol, atol = _loose(ctx, x.dtype)
    ctx.assert_close(whole, rest + log_det1, inputs=_flow_shown(a), what="log_prob(x, [t1, …]) (expected log_prob(t1(x), [t2, …]) + log-det of t1)", rtol=rtol, atol=atol)


@log_prob.property("density_integrates_to_one", "for a one-dimensional flow, exp(log_prob) integrates to 1 over the real line", tier="public")
@given(dtype=gs.float_dtypes(), chain=st.data())
def _integrates_to_one(ctx: Context, dtype: torch.dtype, chain: st.DataObject) -> None:
    # An affine transform always, so that the flow is never volume-preserving.
    transforms = [gs.flow_transform("affine", 1, dtype, chain.draw(gs.seeds())), *chain.draw(gs.flow_chains(1, dtype, max_size=2, kinds=gs.SMOOTH_FLOW_KINDS))]
    transforms = chain.draw(st.permutations(transforms))
    # Quadrature on the image of a uniform z-grid: the nodes crowd where the density is
    # high, and the tails beyond |z| = 8 hold less than 1e-14 of the mass.
    chain64 = [copy.deepcopy(t).double() for t in transforms]
    x = torch.linspace(-8.0, 8.0, 1601, dtype=torch.float64)[:, None]
    with torch.no_grad():
        for t in reversed(chain64):
            x, _ = t.inverse(x)
    lp = ctx.call(x.to(dtype), transforms)
    ctx.check(isinstance(lp, torch.Tensor) and lp.shape == (x.shape[0],), f"log_prob should return shape (B,) = ({x.shape[0]},), got {getattr(lp, 'shape', type(lp).__name__)}", inputs={"transforms": [type(t).__name__ for t in transforms]})
    total = float(torch.trapezoid(torch.exp(lp.double()), x[:, 0]))
    ctx.check(abs(total - 1.0) < 2e-3, f"∫ exp(log_prob(x)) dx = {total:.6g}, expected 1", inputs={"transforms": [type(t).__name__ for t in transforms], "x": x.to(dtype)})


@log_prob.property("gradients_known_answer", "with no transforms the gradient of log_prob is −x; through one elementwise affine z = x·exp(s) + c, the gradients of Σ log_prob are −z·exp(s) for x, Σ over the batch of −z·x·exp(s), plus B, for s, and −Σ over the batch of z for c", tier="public")
@given(dtype=gs.float_dtypes(), b=gs.dims(1, 5), d=gs.dims(1, 5), seed=gs.seeds())
def _gradients_known_answer(ctx: Context, dtype: torch.dtype, b: int, d: int, seed: int) -> None:
    x = gs.make_tensor((b, d), dtype, seed)
    ones = torch.ones(b, dtype=dtype)
    value, grads = ctx.student.vjp(ctx.exercise.name, (x, []), ones, [0])
    ctx.assert_close(value, _standard_normal(x), inputs={"x": x, "transforms": []}, what="log_prob(x, [])")
    _forget_calls(ctx)
    ctx.assert_close(grads["inputs"][0], -x, inputs={"x": x, "transforms": []}, what="the gradient of Σ log_prob(x, []) with respect to x (expected −x)")
    s, shift = gs.make_tensor((d,), dtype, seed + 1, scale=0.5), gs.make_tensor((d,), dtype, seed + 2)
    transforms = nn.ModuleList([fixtures.ElementwiseAffine(s, shift)])
    value, grads = ctx.student.vjp(ctx.exercise.name, (x, transforms), ones, [0, ["params", 1]])
    z = x * torch.exp(s) + shift
    ctx.assert_close(value, _standard_normal(z) + s.sum(), inputs={"x": x, "s": s, "c": shift}, what="log_prob(x, [affine])")
    _forget_calls(ctx)
    expected = {"x": -z * torch.exp(s), "args[1].0.log_scale": (-z * x * torch.exp(s)).sum(0) + b, "args[1].0.shift": -z.sum(0)}
    got = {"x": grads["inputs"][0], **grads["params"]}
    shown_as = {"x": "x", "args[1].0.log_scale": "s (log_scale)", "args[1].0.shift": "c (shift)"}
    for name, e in expected.items():
        g, shown = got.get(name), shown_as[name]
        ctx.check(g is not None, f"no gradient reached {shown}: is a log-det or z detached, or computed under torch.no_grad()?", inputs={"x": x, "s": s, "c": shift})
        ctx.assert_close(g, e, inputs={"x": x, "s": s, "c": shift}, what=f"the gradient of Σ log_prob with respect to {shown}")


@log_prob.property("dtype_contract", "the result has shape (B,) and the input's dtype, float32 or float64", tier="public")
@given(a=gs.flow_inputs())
def _lp_dtype_contract(ctx: Context, a: dict[str, Any]) -> None:
    x = a["x"]
    got = ctx.call(x, a["transforms"])
    _forget_calls(ctx)
    ctx.check(isinstance(got, torch.Tensor) and tuple(got.shape) == (x.shape[0],), f"expected shape (B,) = {(x.shape[0],)}, got {getattr(got, 'shape', type(got).__name__)}", inputs=_flow_shown(a))
    ctx.check(got.dtype == x.dtype, f"x was {x.dtype}, the result is {got.dtype}", inputs=_flow_shown(a))


@log_prob.property("matches_reference", "log_prob equals the reference on random chains of transforms", tier="hidden")
@given(a=gs.flow_inputs())
def _lp_matches_reference(ctx: Context, a: dict[str, Any]) -> None:
    got = ctx.call(a["x"], a["transforms"])
    with torch.no_grad():
        expected = ctx.ref(a["x"], a["transforms"])
    ctx.assert_close(got, expected, inputs=_flow_shown(a))


@log_prob.property("gradients_match", "gradients with respect to x and to the transforms' parameters equal the reference's", tier="hidden")
@given(a=gs.flow_inputs(), seed=gs.seeds())
def _lp_gradients_match(ctx: Context, a: dict[str, Any], seed: int) -> None:
    x = a["x"]
    # A ModuleList (a list of modules) lets the worker take gradients of the transforms' parameters.
    transforms = nn.ModuleList(a["transforms"])
    _grads_vs_reference(ctx, (x, transforms), gs.make_tensor((x.shape[0],), x.dtype, seed), _flow_shown(a))


@log_prob.property("finite_far_in_the_tails", "for points far in the tails (|z| from 14 to 130, where the density itself underflows to 0), log_prob is the finite −Σz²/2 − D/2·log 2π plus the log-dets", tier="public")
@given(dtype=gs.float_dtypes(), b=gs.dims(1, 3), d=gs.dims(1, 3), seed=gs.seeds(), shift=st.sampled_from((0.0, 64.0, -128.0)))
def _finite_far_in_the_tails(ctx: Context, dtype: torch.dtype, b: int, d: int, seed: int, shift: float) -> None:
    # Integers, so that z and z² are exact in both dtypes; with a shift the far z comes from an affine transform (log-det 0).
    x = int_tensor((b, d), dtype, seed, 14, 130) * (2 * int_tensor((b, d), dtype, seed + 1, 0, 1) - 1) if shift == 0 else int_tensor((b, d), dtype, seed, -3, 3)
    transforms = [] if shift == 0 else [fixtures.ElementwiseAffine(torch.zeros(d, dtype=dtype), torch.full((d,), shift, dtype=dtype))]
    got = ctx.call(x, transforms)
    expected = _standard_normal((x + shift).double()).to(dtype)
    shown = {"x": x, "transforms": [] if shift == 0 else [f"ElementwiseAffine(log_scale=0, shift={shift:g})"]}
    assert_stable(ctx, got, expected, inputs=shown, what="log_prob", formula=LOG_OF_DENSITY)
