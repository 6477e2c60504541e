"""Properties and known mistakes of ``vae.slerp``."""

from __future__ import annotations

import math
from typing import Any

import torch
from hypothesis import example, given
from hypothesis import strategies as st

from grader.properties.api import Context, Exercise, Mistake
from grader.properties.common import assert_gradients as _assert_gradients
from grader.properties.common import check_plain as _check_plain
from grader.properties.common import in_dtype as _in_dtype
from grader.properties.judge_only import judge_only
from grader.properties.vae import strategies as gs
from grader.properties.vae._shared import _grads_or_zeros


def _t_column(t: Any, z: torch.Tensor) -> torch.Tensor:
    t = torch.as_tensor(t, dtype=z.dtype)
    return t.unsqueeze(-1) if t.dim() == 1 else t


@judge_only
def _slerp_with(z0, z1, t, cos, *, swap=False):
    """Spherical interpolation for given cosines, with the linear fallback."""
    t = _t_column(t, z0)
    cos = cos.clamp(-1.0, 1.0)
    parallel = (1 - cos.square()).clamp_min(0).sqrt() < 1e-6
    omega = torch.acos(torch.where(parallel, torch.zeros_like(cos), cos))
    w0, w1 = torch.sin((1 - t) * omega) / torch.sin(omega), torch.sin(t * omega) / torch.sin(omega)
    if swap:
        w0, w1 = w1, w0
    return torch.where(parallel, (1 - t) * z0 + t * z1, w0 * z0 + w1 * z1)


def _row_cos(z0, z1):
    return (z0 * z1).sum(-1, keepdim=True) / (z0.norm(dim=-1, keepdim=True) * z1.norm(dim=-1, keepdim=True))


def _slerp_linear(z0, z1, t):
    t = _t_column(t, z0)
    return (1 - t) * z0 + t * z1


def _slerp_swapped_weights(z0, z1, t):
    return _slerp_with(z0, z1, t, _row_cos(z0, z1), swap=True)


def _slerp_angle_without_norms(z0, z1, t):
    return _slerp_with(z0, z1, t, (z0 * z1).sum(-1, keepdim=True))


def _slerp_one_angle_for_batch(z0, z1, t):
    cos = (z0 * z1).sum() / (z0.norm() * z1.norm())
    return _slerp_with(z0, z1, t, cos.expand(z0.shape[0], 1))


def _slerp_no_fallback(z0, z1, t):
    t = _t_column(t, z0)
    omega = torch.acos(_row_cos(z0, z1).clamp(-1.0, 1.0))
    return torch.sin((1 - t) * omega) / torch.sin(omega) * z0 + torch.sin(t * omega) / torch.sin(omega) * z1


slerp = Exercise(
    "vae.slerp",
    mistakes=[
        Mistake("linear", "your output equals the linear interpolation (1−t)·z0 + t·z1 for every row; slerp follows the arc: sin((1−t)Ω)/sinΩ·z0 + sin(tΩ)/sinΩ·z1", _slerp_linear),
        Mistake("swapped_weights", "your output swaps the two weights: z0 must get sin((1−t)Ω)/sinΩ and z1 sin(tΩ)/sinΩ, so that t = 0 gives z0", _slerp_swapped_weights),
        Mistake("angle_without_norms", "your output takes Ω = acos(z0·z1) without dividing by ‖z0‖·‖z1‖; the rows are not unit vectors", _slerp_angle_without_norms),
        Mistake("one_angle_for_batch", "your output uses one angle for the whole batch (dot product over all entries); Ω is the angle between row b of z0 and row b of z1", _slerp_one_angle_for_batch),
        Mistake("no_fallback", "your output is nan or inf for parallel or opposite rows (sin Ω = 0); fall back to (1−t)·z0 + t·z1 where sin Ω < 1e-6", _slerp_no_fallback),
    ],
)


def _slerp_inputs(a: dict) -> dict:
    return {"z0": a["z0"], "z1": a["z1"], "t": a["t"]}


@slerp.property("endpoints", "t = 0 gives z0 and t = 1 gives z1", tier="public")
@given(a=gs.slerp_inputs(), as_tensor=st.booleans())
def _slerp_endpoints(ctx: Context, a: dict, as_tensor: bool) -> None:
    z0, z1 = a["z0"], a["z1"]
    for t, expected in ((0.0, z0), (1.0, z1)):
        t_arg = torch.full((z0.shape[0],), t, dtype=z0.dtype) if as_tensor else t
        got = ctx.call(z0, z1, t_arg)
        ctx.assert_close(got, expected, inputs={"z0": z0, "z1": z1, "t": t_arg}, what=f"slerp at t = {t:g}")


@slerp.property("known_answer", "for rows r·e0 and r·(cos Ω·e0 + sin Ω·e1) the result is r·(cos tΩ·e0 + sin tΩ·e1)", tier="public")
@given(dtype=gs.float_dtypes(), d=gs.dims(2, 6), t=st.floats(0.0, 1.0), seed=gs.seeds())
@example(dtype=torch.float32, d=2, t=0.5, seed=0)
def _slerp_known_answer(ctx: Context, dtype: torch.dtype, d: int, t: float, seed: int) -> None:
    omegas = torch.tensor([math.pi / 2, math.pi / 4, 2 * math.pi / 3, math.pi / 3], dtype=torch.float64)
    radii = torch.tensor([2.0, 1.0, 0.5, 3.0], dtype=torch.float64)
    i, j = torch.randperm(d, generator=gs.generator(seed))[:2].tolist()  # the plane of each pair
    z0, z1, expected = (torch.zeros(4, d, dtype=torch.float64) for _ in range(3))
    z0[:, i] = radii
    z1[:, i], z1[:, j] = radii * omegas.cos(), radii * omegas.sin()
    expected[:, i], expected[:, j] = radii * (t * omegas).cos(), radii * (t * omegas).sin()
    z0, z1 = z0.to(dtype), z1.to(dtype)
    ctx.assert_close(ctx.call(z0, z1, t), expected.to(dtype), inputs={"z0": z0, "z1": z1, "t": t})


@slerp.property("symmetric", "slerp(z0, z1, t) = slerp(z1, z0, 1 − t)", tier="public")
@given(a=gs.slerp_inputs(t_tensor=True))
def _slerp_symmetric(ctx: Context, a: dict) -> None:
    z0, z1, t = a["z0"], a["z1"], a["t"]
    forward = ctx.call(z0, z1, t)
    backward = ctx.call(z1, z0, 1 - t)
    ctx.assert_close(backward, forward, inputs=_slerp_inputs(a), what="slerp(z1, z0, 1 − t)")


@slerp.property("preserves_equal_norms", "when both rows have norm r, every interpolated row has norm r", tier="public")
@given(a=gs.slerp_inputs(parallel=False), seed=gs.seeds())
def _slerp_norms(ctx: Context, a: dict, seed: int) -> None:
    z0 = a["z0"].double()
    r = gs.make_tensor((z0.shape[0], 1), torch.float64, seed, low=0.3, high=3.0)
    z0 = (z0 / z0.norm(dim=-1, keepdim=True) * r).to(a["z0"].dtype)
    z1 = (a["z1"].double() / a["z1"].double().norm(dim=-1, keepdim=True) * r).to(a["z0"].dtype)
    got = ctx.call(z0, z1, a["t"])
    inputs = {"z0": z0, "z1": z1, "t": a["t"]}
    ctx.check(isinstance(got, torch.Tensor) and got.shape == z0.shape, f"the result should have shape {tuple(z0.shape)}, got {getattr(got, 'shape', type(got).__name__)}", inputs=inputs)
    ctx.assert_close(got.norm(dim=-1), r.squeeze(-1).to(z0.dtype), inputs=inputs, what="the norms of the interpolated rows")


@slerp.property("parallel_rows_fall_back_to_lerp", "for parallel or opposite rows the result is (1−t)·z0 + t·z1, finite", tier="public")
@given(a=gs.slerp_inputs(parallel=True))
def _slerp_parallel(ctx: Context, a: dict) -> None:
    z0, z1, t = a["z0"], a["z1"], a["t"]
    got = ctx.call(z0, z1, t)
    tc = _t_column(t, z0)
    ctx.assert_close(got, (1 - tc) * z0 + tc * z1, inputs=_slerp_inputs(a))


@slerp.property("fallback_has_finite_gradients", "for parallel or opposite rows the gradients are those of (1−t)·z0 + t·z1: finite, no nan from the unused branch", tier="public")
@given(b=gs.dims(1, 5), d=gs.dims(2, 6), dtype=gs.float_dtypes(), t_tensor=st.booleans(), seed=gs.seeds())
def _slerp_fallback_gradients(ctx: Context, b: int, d: int, dtype: torch.dtype, t_tensor: bool, seed: int) -> None:
    p0, p1 = gs.parallel_rows(b, d, seed)
    s0, s1 = gs.separated_rows(1, d, seed + 1)
    # The last row is not parallel: there the output differs from lerp, so a correct-valued
    # output is never mistaken for the lerp-everywhere mistake. Rows do not interact.
    z0, z1 = torch.cat([p0, s0]).to(dtype), torch.cat([p1, s1]).to(dtype)
    t = gs.make_tensor((b + 1,), dtype, seed + 2, low=0.0, high=1.0) if t_tensor else 0.25
    g = gs.make_tensor(tuple(z0.shape), dtype, seed + 3)
    inputs = {"z0": z0, "z1": z1, "t": t}
    _, grads = ctx.student.vjp(ctx.exercise.name, (z0, z1, t), g, [0, 1])
    d0, d1 = _grads_or_zeros(grads["inputs"], [z0, z1])
    finite = bool(d0.isfinite().all() and d1.isfinite().all())
    _check_plain(finite, "the gradients contain nan or inf: torch.where backpropagates through the branch it discards too, so keep that branch finite for parallel rows (e.g. use sin Ω = 1 there)", inputs)
    tc = _t_column(t, z0)[:b] if t_tensor else _t_column(t, z0)
    ctx.assert_close((d0[:b], d1[:b]), ((1 - tc) * g[:b], tc * g[:b]), inputs=inputs, what="the gradients (d z0, d z1) of the (anti)parallel rows (all but the last)")


@slerp.property("matches_reference", "the result equals the reference on random and (anti)parallel rows, t a float or one per row", tier="hidden")
@given(drawn=gs.slerp_inputs())
def _slerp_matches_reference(ctx: Context, drawn: dict) -> None:
    for dtype in gs.FLOAT_DTYPES:
        a = _in_dtype(drawn, dtype)
        ctx.assert_close(ctx.call(a["z0"], a["z1"], a["t"]), ctx.ref(a["z0"], a["z1"], a["t"]), inputs=_slerp_inputs(a))


@slerp.property("gradients_match", "gradients with respect to z0, z1 (and a tensor t) equal the reference's", tier="hidden")
@given(a=gs.slerp_inputs(parallel=False), seed=gs.seeds())
def _slerp_gradients(ctx: Context, a: dict, seed: int) -> None:
    z0, z1, t = a["z0"], a["z1"], a["t"]
    g = gs.make_tensor(tuple(z0.shape), z0.dtype, seed)
    t_is_tensor = isinstance(t, torch.Tensor)
    value, grads = ctx.student.vjp(ctx.exercise.name, (z0, z1, t), g, [0, 1, 2] if t_is_tensor else [0, 1])
    leaves = [z0.clone().requires_grad_(True), z1.clone().requires_grad_(True)]
    if t_is_tensor:
        leaves.append(t.clone().requires_grad_(True))
    ref_value = ctx.ref(leaves[0], leaves[1], leaves[2] if t_is_tensor else t)
    expected = torch.autograd.grad(ref_value, leaves, g)
    like = [z0, z1] + ([t] if t_is_tensor else [])
    _assert_gradients(ctx, value, ref_value.detach(), _grads_or_zeros(grads["inputs"], like), expected, inputs=_slerp_inputs(a), what="the gradients (d z0, d z1[, d t])")


@slerp.property("dtype_contract", "the result keeps the input's dtype (float32 or float64)", tier="public")
@given(drawn=gs.slerp_inputs())
def _slerp_dtype(ctx: Context, drawn: dict) -> None:
    for dtype in gs.FLOAT_DTYPES:
        a = _in_dtype(drawn, dtype)
        got = ctx.call(a["z0"], a["z1"], a["t"])
        _check_plain(isinstance(got, torch.Tensor) and got.dtype == dtype, f"inputs were {dtype}, the result is {getattr(got, 'dtype', type(got).__name__)}", _slerp_inputs(a))
