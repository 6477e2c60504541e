"""diffusion.classifier_free_guidance: eps_uncond + scale·(eps_cond − eps_uncond), with a number,
0-d or per-sample scale; its properties and known mistakes.
"""

from __future__ import annotations

from typing import Any

import torch
from hypothesis import given
from hypothesis import strategies as st

from grader import strategies as gs
from grader.properties.api import Context, Exercise, Mistake
from grader.properties.diffusion._shared import F64, _check_tensor, _shape_of
from grader.properties.diffusion.strategies import guidance_inputs


def _cfg_scale(scale, like):
    return scale.to(like.dtype) if isinstance(scale, torch.Tensor) else scale


def _cfg_reversed(eps_uncond, eps_cond, scale):
    return eps_cond + _cfg_scale(scale, eps_cond) * (eps_uncond - eps_cond)


def _cfg_ho_salimans(eps_uncond, eps_cond, scale):
    w = _cfg_scale(scale, eps_cond)
    return (1 + w) * eps_cond - w * eps_uncond  # the paper's w, where w = 0 is conditional only


def _cfg_no_base(eps_uncond, eps_cond, scale):
    return _cfg_scale(scale, eps_cond) * (eps_cond - eps_uncond)


guidance = Exercise(
    "diffusion.classifier_free_guidance",
    mistakes=[
        Mistake("reversed_direction", "your output moves from the conditional prediction towards the unconditional one; guidance is eps_uncond + scale·(eps_cond − eps_uncond)", _cfg_reversed),
        Mistake("ho_salimans_w", "your output uses Ho & Salimans' w, (1 + w)·eps_cond − w·eps_uncond; the course uses diffusers' scale = 1 + w, so scale 1 is the conditional prediction", _cfg_ho_salimans),
        Mistake("no_base", "your output is scale·(eps_cond − eps_uncond) alone: add it to eps_uncond", _cfg_no_base),
    ],
)


GUIDANCE_KEYS = ("eps_uncond", "eps_cond", "scale")


def _cfg_args(a: dict[str, Any], **changes: Any) -> tuple[Any, ...]:
    return tuple(changes.get(k, a[k]) for k in GUIDANCE_KEYS)


@guidance.property("scale_endpoints", "scale 1 gives eps_cond, scale 0 gives eps_uncond (as a number or a 0-d tensor)", tier="public")
@given(a=guidance_inputs(scale_kind="float"), as_tensor=st.booleans())
def _cfg_endpoints(ctx: Context, a: dict[str, Any], as_tensor: bool) -> None:
    inputs = {k: a[k] for k in GUIDANCE_KEYS[:2]}
    for scale, expected in ((1.0, a["eps_cond"]), (0.0, a["eps_uncond"])):  # 1 first: it tells the conventions apart
        s = torch.tensor(scale, dtype=a["eps_cond"].dtype) if as_tensor else scale
        ctx.assert_close(ctx.call(*_cfg_args(a, scale=s)), expected, inputs={**inputs, "scale": s}, what=f"the guided prediction at scale {scale:g}")


@guidance.property("affine_in_scale", "the result is affine in the scale: f(s) = (1 − s)·f(0) + s·f(1)", tier="public")
@given(a=guidance_inputs(scale_kind="float"))
def _cfg_affine(ctx: Context, a: dict[str, Any]) -> None:
    f0, f1 = ctx.call(*_cfg_args(a, scale=0.0)), ctx.call(*_cfg_args(a, scale=1.0))
    got = ctx.call(*_cfg_args(a))
    ctx.check(all(isinstance(v, torch.Tensor) for v in (f0, f1, got)), "the result should be a tensor", inputs=a)
    s = a["scale"]
    expected = ((1 - s) * f0.to(F64) + s * f1.to(F64)).to(a["eps_cond"].dtype)
    rtol, atol = ctx.tolerance(a["eps_cond"].dtype)
    ctx.assert_close(got, expected, inputs=a, what=f"f({s:g}) (compared with (1 − s)·f(0) + s·f(1))", rtol=rtol, atol=atol * (1 + abs(s)))


@guidance.property("per_sample_scale", "with a per-sample scale (B, 1, ..., 1), sample b is guided with scale[b] alone", tier="public")
@given(a=guidance_inputs(scale_kind="per-sample", tied=True))
def _cfg_per_sample(ctx: Context, a: dict[str, Any]) -> None:
    u, c, scale = a["eps_uncond"], a["eps_cond"], a["scale"]
    rows = [ctx.call(u[b : b + 1], c[b : b + 1], float(scale[b])) for b in range(u.shape[0])]
    got = ctx.call(u, c, scale)  # last: the call a diagnosis replays
    ctx.check(isinstance(got, torch.Tensor) and got.shape == u.shape, f"the result should have the inputs' shape {tuple(u.shape)}, got {_shape_of(got)}", inputs=a)
    # Values only: the dtype with a float64 scale is dtype_contract's concern.
    ctx.assert_close(got, torch.cat(rows), inputs=a, what="the batch guided with a per-sample scale (compared with one call per sample)", check_dtype=False)


@guidance.property("gradients", "the gradients are (1 − scale)·g for eps_uncond, scale·g for eps_cond, and Σ g·(eps_cond − eps_uncond) for a tensor scale", tier="public")
@given(a=guidance_inputs(), seed=gs.seeds())
def _cfg_gradients(ctx: Context, a: dict[str, Any], seed: int) -> None:
    u, c, scale = a["eps_uncond"], a["eps_cond"], a["scale"]
    g = gs.make_tensor(tuple(u.shape), u.dtype, seed)
    tensor_scale = isinstance(scale, torch.Tensor)
    _, grads = ctx.student.vjp(ctx.exercise.name, _cfg_args(a), g, [0, 1, 2] if tensor_scale else [0, 1])
    s = scale.to(F64) if tensor_scale else scale
    expected = [((1 - s) * g.to(F64)).to(u.dtype), (s * g.to(F64)).to(u.dtype)]
    if tensor_scale:
        expected.append((g.to(F64) * (c.to(F64) - u.to(F64))).sum_to_size(scale.shape).to(scale.dtype))
    rtol, atol = ctx.tolerance(u.dtype)
    ctx.assert_close(tuple(grads["inputs"]), tuple(expected), inputs=a, what="the gradients (d eps_uncond, d eps_cond[, d scale])", rtol=rtol, atol=atol * 4)


@guidance.property("matches_reference", "equals the reference for number, 0-d and per-sample scales, float32 and float64", tier="hidden")
@given(a=guidance_inputs())
def _cfg_matches_reference(ctx: Context, a: dict[str, Any]) -> None:
    ctx.assert_close(ctx.call(*_cfg_args(a)), ctx.ref(*_cfg_args(a)), inputs=a)


@guidance.property("dtype_contract", "the result has the inputs' shape and dtype, float32 or float64, with a number or a scale tensor of that dtype", tier="public")
@given(a=guidance_inputs(), dtype=gs.float_dtypes())
def _cfg_dtype_contract(ctx: Context, a: dict[str, Any], dtype: torch.dtype) -> None:
    # A tensor scale comes in the inputs' dtype (catalog): a float64 scale on float32 data may promote.
    a = {k: v.to(dtype) if isinstance(v, torch.Tensor) else v for k, v in a.items()}
    _check_tensor(ctx, ctx.call(*_cfg_args(a)), a["eps_cond"].shape, dtype, a)

