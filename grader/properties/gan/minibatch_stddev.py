"""Properties and known mistakes of ``gan.minibatch_stddev``."""

from __future__ import annotations

import math

import torch
from hypothesis import given
from hypothesis import strategies as st

from grader.properties.api import Context, Exercise, Mistake
from grader.properties.common import assert_gradients as _assert_gradients
from grader.properties.common import check_plain as _check_plain
from grader.properties.common import in_dtype as _in_dtype
from grader.properties.gan import strategies as gs
from grader.properties.gan._shared import _none_as_zeros
from grader.properties.judge_only import judge_only


@judge_only
def _stddev_with(x, group_size=4, eps=1e-8, *, contiguous=False, correction=0, eps_outside=False, whole_batch=False, prepend=False):
    b, c, h, w = x.shape
    g = b if whole_batch else min(group_size, b)
    m = b // g
    y = x.reshape(m, g, c, h, w).transpose(0, 1) if contiguous else x.reshape(g, m, c, h, w)  # (G, M, C, H, W)
    var = (y - y.mean(dim=0)).square().sum(dim=0) / (g - correction)
    std = var.sqrt() + eps if eps_outside else (var + eps).sqrt()
    stat = std.mean(dim=(1, 2, 3))  # (M,)
    stat = stat.repeat_interleave(g) if contiguous else stat.repeat(g)  # (B,)
    channel = stat.reshape(b, 1, 1, 1).expand(b, 1, h, w)
    return torch.cat([channel, x] if prepend else [x, channel], dim=1)


def _mbstd_contiguous_groups(x, group_size=4, eps=1e-8):
    return _stddev_with(x, group_size, eps, contiguous=True)


def _mbstd_unbiased(x, group_size=4, eps=1e-8):
    return _stddev_with(x, group_size, eps, correction=1)


def _mbstd_eps_outside_sqrt(x, group_size=4, eps=1e-8):
    return _stddev_with(x, group_size, eps, eps_outside=True)


def _mbstd_whole_batch(x, group_size=4, eps=1e-8):
    return _stddev_with(x, group_size, eps, whole_batch=True)


def _mbstd_prepended(x, group_size=4, eps=1e-8):
    return _stddev_with(x, group_size, eps, prepend=True)


minibatch_stddev = Exercise(
    "gan.minibatch_stddev",
    mistakes=[
        Mistake("contiguous_groups", "your output groups consecutive samples (sample i in group i // G); the course follows StyleGAN2: sample i belongs to group i mod (B/G)", _mbstd_contiguous_groups),
        Mistake("unbiased_std", "your output uses the unbiased std (divides by G − 1, torch.std's default); the layer uses the population std, mean of squared deviations", _mbstd_unbiased),
        Mistake("eps_outside_sqrt", "your output computes sqrt(var) + eps; eps goes inside the root, sqrt(var + eps), which keeps the gradient finite for a constant group", _mbstd_eps_outside_sqrt),
        Mistake("whole_batch", "your output takes the std over the whole batch; split it into groups of G = min(group_size, B)", _mbstd_whole_batch),
        Mistake("prepended", "your output puts the statistic in channel 0; append it after x's channels, as channel C", _mbstd_prepended),
    ],
)


def _mbstd_inputs(a: dict) -> dict:
    return {"x": a["x"], "group_size": a["group_size"], "eps": a["eps"]}


@minibatch_stddev.property("appends_constant_channel", "the result is (B, C+1, H, W): x unchanged in the first C channels and a channel constant over H×W appended", tier="public")
@given(a=gs.minibatch_stddev_inputs())
def _mbstd_layout(ctx: Context, a: dict) -> None:
    x = a["x"]
    b, c, h, w = x.shape
    got = ctx.call(x, a["group_size"], a["eps"])
    inputs = _mbstd_inputs(a)
    ctx.check(isinstance(got, torch.Tensor) and got.shape == (b, c + 1, h, w), f"the result should have shape (B, C+1, H, W) = {(b, c + 1, h, w)}, got {getattr(got, 'shape', type(got).__name__)}", inputs=inputs)
    ctx.assert_close(got[:, :c], x, inputs=inputs, what="the first C channels (they must be x itself)")
    extra = got[:, c]
    ctx.assert_close(extra, extra[:, :1, :1].expand(b, h, w), inputs=inputs, what="the appended channel (constant over H×W per sample)")


@minibatch_stddev.property("group_membership", "changing sample j changes the statistic exactly for the samples of its group, i ≡ j (mod B/G)", tier="public")
@given(a=gs.minibatch_stddev_inputs(), seed=gs.seeds())
def _mbstd_groups(ctx: Context, a: dict, seed: int) -> None:
    x, group_size = a["x"], a["group_size"]
    b, c = x.shape[:2]
    g = min(group_size, b)
    m = b // g
    j = int(torch.randint(0, b, (), generator=gs.generator(seed)))
    x2 = x.clone()
    x2[j] = gs.make_tensor(tuple(x[j].shape), x.dtype, seed + 1, scale=3.0)
    before = ctx.call(x, group_size, a["eps"])[:, c, 0, 0]
    after = ctx.call(x2, group_size, a["eps"])[:, c, 0, 0]
    rtol, atol = ctx.tolerance(x.dtype)
    changed = ((after - before).abs() > atol + rtol * before.abs()).tolist()
    # A group of one has std sqrt(eps) whatever its sample is: nothing may change then.
    expected = [g > 1 and i % m == j % m for i in range(b)]
    ctx.check(changed == expected, f"after changing sample {j} (B = {b}, G = {g}), the statistic changed for samples {[i for i in range(b) if changed[i]]}; expected exactly {[i for i in range(b) if expected[i]]}", inputs={**_mbstd_inputs(a), "x (changed)": x2})


@minibatch_stddev.property("known_answer", "B = 4, G = 2: samples 0 and 2 are ±v (std |v|), samples 1 and 3 equal (std 0 → sqrt(eps))", tier="public")
@given(dtype=gs.float_dtypes(), c=gs.dims(1, 3), h=gs.dims(1, 3), eps=st.sampled_from((1e-8, 1e-4, 1e-2)), seed=gs.seeds())
def _mbstd_known_answer(ctx: Context, dtype: torch.dtype, c: int, h: int, eps: float, seed: int) -> None:
    v = gs.make_tensor((c, h, h), torch.float64, seed)
    u = gs.make_tensor((c, h, h), torch.float64, seed + 1)
    x = torch.stack([v, u, -v, u]).to(dtype)  # groups {0, 2} and {1, 3}
    expected_stat = torch.tensor([(v.square() + eps).sqrt().mean().item(), math.sqrt(eps)] * 2, dtype=torch.float64)
    expected = torch.cat([x, expected_stat.reshape(4, 1, 1, 1).expand(4, 1, h, h).to(dtype)], dim=1)
    ctx.assert_close(ctx.call(x, 2, eps), expected, inputs={"x": x, "group_size": 2, "eps": eps})


@minibatch_stddev.property("matches_reference", "the result equals the reference for any batch and group size", tier="hidden")
@given(drawn=gs.minibatch_stddev_inputs())
def _mbstd_matches_reference(ctx: Context, drawn: dict) -> None:
    for dtype in gs.FLOAT_DTYPES:
        a = _in_dtype(drawn, dtype)
        ctx.assert_close(ctx.call(a["x"], a["group_size"], a["eps"]), ctx.ref(a["x"], a["group_size"], a["eps"]), inputs=_mbstd_inputs(a))


@minibatch_stddev.property("gradients_match", "the gradient with respect to x equals the reference's (the statistic is differentiable)", tier="hidden")
@given(a=gs.minibatch_stddev_inputs(), seed=gs.seeds())
def _mbstd_gradients(ctx: Context, a: dict, seed: int) -> None:
    x = a["x"]
    b, c, h, w = x.shape
    g = gs.make_tensor((b, c + 1, h, w), x.dtype, seed)
    value, grads = ctx.student.vjp(ctx.exercise.name, (x, a["group_size"], a["eps"]), g, [0])
    xr = x.clone().requires_grad_(True)
    ref_value = ctx.ref(xr, a["group_size"], a["eps"])
    (expected,) = torch.autograd.grad(ref_value, xr, g)
    _assert_gradients(ctx, value, ref_value.detach(), _none_as_zeros(grads["inputs"], [x]), (expected,), inputs=_mbstd_inputs(a), what="the gradient with respect to x")


@minibatch_stddev.property("dtype_contract", "the result keeps the input's dtype (float32 or float64)", tier="public")
@given(drawn=gs.minibatch_stddev_inputs())
def _mbstd_dtype(ctx: Context, drawn: dict) -> None:
    for dtype in gs.FLOAT_DTYPES:
        a = _in_dtype(drawn, dtype)
        got = ctx.call(a["x"], a["group_size"], a["eps"])
        _check_plain(isinstance(got, torch.Tensor) and got.dtype == dtype, f"the input was {dtype}, the result is {getattr(got, 'dtype', type(got).__name__)}", _mbstd_inputs(a))
