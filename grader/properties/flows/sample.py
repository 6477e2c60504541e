"""Properties and known mistakes of ``flows.sample``."""

from __future__ import annotations

from typing import Any

import torch
from hypothesis import given
from hypothesis import strategies as st
from torch import nn

from grader.properties.api import Context, Exercise, Mistake
from grader.properties.flows import strategies as gs
from grader.properties.flows._shared import _forget_calls, _grads_vs_reference, _loose

# ----------------------------------------------------------------------------- known mistakes


def _s_forward_order(z, transforms):
    x = z
    for t in transforms:
        x, _ = t.inverse(x)
    return x


def _s_calls_forward(z, transforms):
    x = z
    for t in reversed(list(transforms)):
        x, _ = t(x)
    return x


def _s_returns_log_det_too(z, transforms):
    x, total = z, torch.zeros(z.shape[0], dtype=z.dtype, device=z.device)
    for t in reversed(list(transforms)):
        x, ld = t.inverse(x)
        total = total + ld
    return x, total


sample = Exercise(
    "flows.sample",
    mistakes=[
        Mistake("forward_order", "your output calls the inverses in the listed order; the list runs data -> noise, so sampling undoes the last transform first (reverse order)", _s_forward_order),
        Mistake("calls_forward", "your output calls the transforms themselves, t(z); they map data to noise, so sampling calls t.inverse(z)", _s_calls_forward),
        Mistake("returns_log_det_too", "your output is the pair (x, log-det); sample returns only x", _s_returns_log_det_too),
    ],
)


def _sample_shown(z: torch.Tensor, transforms: list[Any]) -> dict[str, Any]:
    return {"z": z, "transforms": [type(t).__name__ for t in transforms]}


@sample.property("inverts_forward_chain", "sample(z, transforms) with z the transforms' output at x gives back x", tier="public")
@given(a=gs.flow_inputs())
def _inverts_forward_chain(ctx: Context, a: dict[str, Any]) -> None:
    x, transforms = a["x"], a["transforms"]
    z, _ = gs.apply_chain(x, transforms)
    got = ctx.call(z, transforms)
    rtol, atol = _loose(ctx, x.dtype)
    ctx.assert_close(got, x, inputs={**_sample_shown(z, transforms), "x": x}, what="sample(z) (expected the x that the transforms mapped to z)", rtol=rtol, atol=atol)


@sample.property("small_chains", "with no transforms sample returns z itself; with one transform it returns that transform's inverse at z", tier="public")
@given(a=gs.flow_inputs(min_transforms=1, max_transforms=1))
def _small_chains(ctx: Context, a: dict[str, Any]) -> None:
    z, transforms = a["x"], a["transforms"]
    ctx.assert_close(ctx.call(z, []), z, inputs=_sample_shown(z, []), what="sample(z, [])")
    with torch.no_grad():
        expected, _ = transforms[0].inverse(z)
    ctx.assert_close(ctx.call(z, transforms), expected, inputs=_sample_shown(z, transforms), what="sample(z, [t]) (expected t.inverse(z)[0])")


@sample.property("gradient_known_answer", "through elementwise affine transforms z ↦ (z − b)·exp(−s), the gradient of sample with respect to z is exp(−Σ s) times the upstream gradient", tier="public")
@given(dtype=gs.float_dtypes(), b=gs.dims(1, 5), d=gs.dims(1, 5), n=st.integers(1, 3), seed=gs.seeds())
def _sample_gradient(ctx: Context, dtype: torch.dtype, b: int, d: int, n: int, seed: int) -> None:
    transforms = [gs.flow_transform("affine", d, dtype, seed + 10 * i) for i in range(n)]
    z, g = gs.make_tensor((b, d), dtype, seed), gs.make_tensor((b, d), dtype, seed + 1)
    value, grads = ctx.student.vjp(ctx.exercise.name, (z, transforms), g, [0])
    total_scale = sum(t.log_scale.detach() for t in transforms)
    with torch.no_grad():
        x = z
        for t in reversed(transforms):
            x, _ = t.inverse(x)
    ctx.assert_close(value, x, inputs=_sample_shown(z, transforms), what="sample(z)")
    _forget_calls(ctx)
    ctx.check(grads["inputs"][0] is not None, "no gradient reached z: is the computation detached?", inputs=_sample_shown(z, transforms))
    ctx.assert_close(grads["inputs"][0], g * torch.exp(-total_scale), inputs=_sample_shown(z, transforms), what="the gradient with respect to z")


@sample.property("dtype_contract", "the result has z's shape and dtype, float32 or float64", tier="public")
@given(a=gs.flow_inputs())
def _s_dtype_contract(ctx: Context, a: dict[str, Any]) -> None:
    z = a["x"]
    got = ctx.call(z, a["transforms"])
    _forget_calls(ctx)
    ctx.check(isinstance(got, torch.Tensor) and got.shape == z.shape, f"expected a tensor of z's shape {tuple(z.shape)}, got {getattr(got, 'shape', type(got).__name__)}", inputs=_sample_shown(z, a["transforms"]))
    ctx.check(got.dtype == z.dtype, f"z was {z.dtype}, the result is {got.dtype}", inputs=_sample_shown(z, a["transforms"]))


@sample.property("matches_reference", "sample equals the reference on random chains of transforms", tier="hidden")
@given(a=gs.flow_inputs())
def _s_matches_reference(ctx: Context, a: dict[str, Any]) -> None:
    z, transforms = a["x"], a["transforms"]
    got = ctx.call(z, transforms)
    with torch.no_grad():
        expected = ctx.ref(z, transforms)
    ctx.assert_close(got, expected, inputs=_sample_shown(z, transforms))


@sample.property("gradients_match", "gradients with respect to z and to the transforms' parameters equal the reference's", tier="hidden")
@given(a=gs.flow_inputs(), seed=gs.seeds())
def _s_gradients_match(ctx: Context, a: dict[str, Any], seed: int) -> None:
    z = a["x"]
    _grads_vs_reference(ctx, (z, nn.ModuleList(a["transforms"])), gs.make_tensor(tuple(z.shape), z.dtype, seed), _sample_shown(z, a["transforms"]))
