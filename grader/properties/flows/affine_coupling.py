"""Properties and known mistakes of ``flows.AffineCoupling``.

Over 300 lines on purpose: one exercise, one module (issue 12). A class exercise needs its
mistakes as whole layers and its properties drive several methods and both gradients; moving
the mistakes elsewhere would split the exercise again.
"""

from __future__ import annotations

import copy
import math
from typing import Any

import torch
from hypothesis import given
from torch import nn

from grader.properties.api import Context, Exercise, Mistake
from grader.properties.flows import strategies as gs
from grader.properties.flows._shared import _forget_calls, _loose

# ----------------------------------------------------------------------------- known mistakes


class _Coupling(nn.Module):
    """The coupling layer written step by step; each known mistake overrides one step."""

    def __init__(self, mask, scale_net, shift_net):
        super().__init__()
        self.scale_net, self.shift_net = scale_net, shift_net
        self.register_buffer("mask", torch.as_tensor(mask).detach().clone())

    def passed(self, m):  # the mask of dimensions passed through unchanged
        return m

    def nets(self, x, m):
        keep = self.passed(m)
        return self.scale_net(keep * x), self.shift_net(keep * x)

    def couple(self, x, s, t):
        return x * torch.exp(s) + t

    def uncouple(self, y, s, t):
        return (y - t) * torch.exp(-s)

    def log_det(self, s, m):
        return ((1 - self.passed(m)) * s).sum(-1)

    def inverse_log_det(self, s, m):
        return -self.log_det(s, m)

    def forward(self, x):
        m = self.mask.to(x.dtype)
        keep = self.passed(m)
        s, t = self.nets(x, m)
        return keep * x + (1 - keep) * self.couple(x, s, t), self.log_det(s, m)

    def inverse(self, y):
        m = self.mask.to(y.dtype)
        keep = self.passed(m)
        s, t = self.nets(y, m)
        return keep * y + (1 - keep) * self.uncouple(y, s, t), self.inverse_log_det(s, m)


class _LogDetAllDims(_Coupling):
    def log_det(self, s, m):
        return s.sum(-1)


class _InverseSubtractsAfterScaling(_Coupling):
    def uncouple(self, y, s, t):
        return y * torch.exp(-s) - t


class _InverseLogDetSameSign(_Coupling):
    def inverse_log_det(self, s, m):
        return self.log_det(s, m)


class _ShiftThenScale(_Coupling):
    def couple(self, x, s, t):
        return (x + t) * torch.exp(s)

    def uncouple(self, y, s, t):
        return y * torch.exp(-s) - t


class _MaskFlipped(_Coupling):
    def passed(self, m):
        return 1 - m


class _LogDetNotSummed(_Coupling):
    def log_det(self, s, m):
        return (1 - self.passed(m)) * s


class _ConditionsOnAllDims(_Coupling):
    def nets(self, x, m):
        return self.scale_net(x), self.shift_net(x)


coupling = Exercise(
    "flows.AffineCoupling",
    mistakes=[
        Mistake("log_det_all_dims", "your log_det equals Σ s over every dimension; the passed-through dimensions are not scaled, so log_det = Σ (1 − m)·s", _LogDetAllDims),
        Mistake("inverse_subtracts_after_scaling", "your inverse computes y·exp(−s) − t; forward scaled first and shifted second, so the inverse undoes the shift first: x = (y − t)·exp(−s)", _InverseSubtractsAfterScaling),
        Mistake("inverse_log_det_same_sign", "your inverse returns the forward's log_det; the inverse map has the reciprocal Jacobian determinant, so its log-det is the negative, −Σ (1 − m)·s", _InverseLogDetSameSign),
        Mistake("shift_then_scale", "your output equals (x + t)·exp(s) (Glow's order); the course follows RealNVP: y = x·exp(s) + t on the transformed dimensions", _ShiftThenScale),
        Mistake("mask_flipped", "your output passes through the dimensions where the mask is 0; here mask 1 = passed through unchanged, and the nets see m·x", _MaskFlipped),
        Mistake("log_det_not_summed", "your log_det has one entry per dimension, (B, D); the log-determinant of the layer is their sum, one number per sample (B,)", _LogDetNotSummed),
        Mistake("conditions_on_all_dims", "your nets see the whole input instead of m·x; then s and t depend on the dimensions being transformed, and the inverse cannot recompute them from y", _ConditionsOnAllDims),
    ],
)

# ----------------------------------------------------------------------------- helpers


def _coupling_init(a: dict[str, Any]) -> tuple[Any, ...]:
    return (a["mask"], a["scale_net"], a["shift_net"])


def _shown(a: dict[str, Any]) -> dict[str, Any]:
    return {k: a[k] for k in ("mask", "x", "y") if k in a}


def _pair(ctx: Context, result: Any, shape: tuple[int, ...], method: str, inputs: dict[str, Any]) -> tuple[torch.Tensor, torch.Tensor]:
    """(y, log_det) from a coupling call, with shapes checked."""
    ctx.check(isinstance(result, (tuple, list)) and len(result) == 2, f"{method} should return a pair (output, log_det), got {type(result).__name__}", inputs=inputs)
    out, log_det = result
    ctx.check(isinstance(out, torch.Tensor) and tuple(out.shape) == shape, f"{method}'s output should have the input's shape {shape}, got {getattr(out, 'shape', type(out).__name__)}", inputs=inputs)
    ctx.check(isinstance(log_det, torch.Tensor) and tuple(log_det.shape) == shape[:1], f"{method}'s log_det should have shape (B,) = {shape[:1]} (summed over dimensions, one per sample), got {getattr(log_det, 'shape', type(log_det).__name__)}", inputs=inputs)
    return out, log_det


def _net_param_names(a: dict[str, Any]) -> list[str]:
    return [name for net in (a["scale_net"], a["shift_net"]) for name, _ in net.named_parameters()]


def _by_net_param(ctx: Context, grads: dict[str, Any], names: list[str], inputs: dict[str, Any]) -> dict[str, Any]:
    """Map the worker's parameter gradients (keyed by the student's attribute paths) to the nets' own names."""
    found: dict[str, Any] = {}
    extra = []
    for key, grad in grads.items():
        hits = [n for n in names if key.endswith("." + n)]
        if len(hits) == 1:
            found[hits[0]] = grad
        else:
            extra.append(key.removeprefix("params."))
    ctx.check(not extra, f"your module has parameters besides the two nets': {extra}; keep the mask out of the parameters (register_buffer) so that an optimizer never changes it", inputs=inputs)
    missing = [n for n in names if n not in found]
    ctx.check(not missing, f"the nets' parameters {missing} are not parameters of your module: assign the nets as attributes (submodules), not inside a plain list or dict", inputs=inputs)
    return found


def _ref_layer(ctx: Context, a: dict[str, Any]) -> nn.Module:
    return ctx.ref_impl()(a["mask"].clone(), copy.deepcopy(a["scale_net"]), copy.deepcopy(a["shift_net"]))


def _constant_net(value: torch.Tensor) -> nn.Linear:
    """A net that ignores its input: a Linear layer with zero weight and bias ``value``."""
    d = value.shape[0]
    net = nn.Linear(d, d).to(value.dtype)
    with torch.no_grad():
        net.weight.zero_()
        net.bias.copy_(value)
    return net


# ----------------------------------------------------------------------------- properties


@coupling.property("inverse_undoes_forward", "inverse(forward(x)) gives back x, and forward(inverse(y)) gives back y", tier="public")
@given(a=gs.coupling_inputs(), seed=gs.seeds())
def _inverse_undoes_forward(ctx: Context, a: dict[str, Any], seed: int) -> None:
    x = a["x"]
    layer = ctx.new(*_coupling_init(a))
    y, _ = _pair(ctx, layer(x), tuple(x.shape), "forward", _shown(a))
    back, _ = _pair(ctx, layer.call("inverse", y), tuple(x.shape), "inverse", _shown(a))
    rtol, atol = _loose(ctx, x.dtype)
    ctx.assert_close(back, x, inputs=_shown(a), what="inverse(forward(x))", rtol=rtol, atol=atol)
    y2 = gs.make_tensor(tuple(x.shape), x.dtype, seed)
    x2, _ = _pair(ctx, layer.call("inverse", y2), tuple(x.shape), "inverse", {**_shown(a), "y": y2})
    again, _ = _pair(ctx, layer(x2), tuple(x.shape), "forward", {**_shown(a), "y": y2})
    ctx.assert_close(again, y2, inputs={**_shown(a), "y": y2}, what="forward(inverse(y))", rtol=rtol, atol=atol)


@coupling.property("log_dets_cancel", "the inverse's log-det at y = forward(x) is minus the forward's log-det at x", tier="public")
@given(a=gs.coupling_inputs())
def _log_dets_cancel(ctx: Context, a: dict[str, Any]) -> None:
    x = a["x"]
    layer = ctx.new(*_coupling_init(a))
    y, log_det = _pair(ctx, layer(x), tuple(x.shape), "forward", _shown(a))
    _, inverse_log_det = _pair(ctx, layer.call("inverse", y), tuple(x.shape), "inverse", _shown(a))
    rtol, atol = _loose(ctx, x.dtype)
    ctx.assert_close(inverse_log_det, -log_det, inputs=_shown(a), what="the inverse's log_det (expected: minus the forward's)", rtol=rtol, atol=atol)


@coupling.property("masked_dims_pass_through", "dimensions with mask 1 come out of forward and inverse exactly as they went in", tier="public")
@given(a=gs.coupling_inputs())
def _masked_dims_pass_through(ctx: Context, a: dict[str, Any]) -> None:
    x, keep = a["x"], a["mask"].bool()
    layer = ctx.new(*_coupling_init(a))
    y, _ = _pair(ctx, layer(x), tuple(x.shape), "forward", _shown(a))
    ctx.assert_close(y[:, keep], x[:, keep], inputs=_shown(a), what="forward's output on the passed-through dimensions (mask 1)")
    back, _ = _pair(ctx, layer.call("inverse", x), tuple(x.shape), "inverse", _shown(a))
    ctx.assert_close(back[:, keep], x[:, keep], inputs=_shown(a), what="inverse's output on the passed-through dimensions (mask 1)")


def _jacobian(layer: Any, x: torch.Tensor) -> torch.Tensor:
    """Per-sample Jacobian ∂y/∂x (B, D, D) of the student's forward, one vjp per output dimension.

    The samples of a batch do not interact (the nets act row by row), so one vjp with a
    one-hot row per sample gives row i of every sample's Jacobian at once.
    """
    b, d = x.shape
    rows = []
    for i in range(d):
        g = torch.zeros(b, d, dtype=x.dtype)
        g[:, i] = 1
        _, grads = layer.vjp("forward", (x,), (g, None), [0])
        row = grads["inputs"][0]
        rows.append(torch.zeros(b, d, dtype=x.dtype) if row is None else row)
    return torch.stack(rows, dim=1)


@coupling.property("log_det_is_log_abs_det_jacobian", "forward's log_det equals log|det ∂y/∂x| of the autograd Jacobian of its own output", tier="public")
@given(a=gs.coupling_inputs())
def _log_det_is_jacobian(ctx: Context, a: dict[str, Any]) -> None:
    x = a["x"]
    layer = ctx.new(*_coupling_init(a))
    jac = _jacobian(layer, x)
    _, log_det = _pair(ctx, layer(x), tuple(x.shape), "forward", _shown(a))
    expected = torch.linalg.slogdet(jac.double()).logabsdet.to(x.dtype)
    rtol, atol = _loose(ctx, x.dtype)
    ctx.assert_close(log_det, expected, inputs=_shown(a), what="log_det (expected log|det| of the Jacobian of y w.r.t. x)", rtol=rtol, atol=atol)


@coupling.property("known_answer", "with constant nets s = c and t = b: y = x on mask 1, y = x·exp(c) + b elsewhere, log_det = Σ (1 − m)·c", tier="public")
@given(dtype=gs.float_dtypes(), b=gs.dims(1, 4), d=gs.dims(1, 6), seed=gs.seeds())
def _known_answer(ctx: Context, dtype: torch.dtype, b: int, d: int, seed: int) -> None:
    # A hand-checked vector first: mask (1, 0), s = (0, ln 2), t = (0, 1), x = (3, 5) -> y = (3, 11).
    mask = torch.tensor([1.0, 0.0], dtype=dtype)
    s, t = torch.tensor([0.0, math.log(2.0)], dtype=dtype), torch.tensor([0.0, 1.0], dtype=dtype)
    x = torch.tensor([[3.0, 5.0]], dtype=dtype)
    layer = ctx.new(mask, _constant_net(s), _constant_net(t))
    got = _pair(ctx, layer(x), (1, 2), "forward", {"mask": mask, "x": x})
    ctx.assert_close(got, (torch.tensor([[3.0, 11.0]], dtype=dtype), torch.tensor([math.log(2.0)], dtype=dtype)), inputs={"mask": mask, "s": s, "t": t, "x": x})
    # Random constant nets: the layer is then an elementwise affine map.
    mask = gs.coupling_masks(d, dtype, seed)
    s, t = gs.make_tensor((d,), dtype, seed + 1, scale=0.5), gs.make_tensor((d,), dtype, seed + 2)
    x = gs.make_tensor((b, d), dtype, seed + 3)
    layer = ctx.new(mask, _constant_net(s), _constant_net(t))
    got = _pair(ctx, layer(x), (b, d), "forward", {"mask": mask, "x": x})
    expected = (torch.where(mask.bool(), x, x * torch.exp(s) + t), ((1 - mask) * s).sum().repeat(b))
    ctx.assert_close(got, expected, inputs={"mask": mask, "s": s, "t": t, "x": x})


@coupling.property("gradients_reach_both_nets", "backpropagating through forward gives every parameter of both nets a gradient, and the mask is not a parameter", tier="public")
@given(a=gs.coupling_inputs(), seed=gs.seeds())
def _gradients_reach_both_nets(ctx: Context, a: dict[str, Any], seed: int) -> None:
    x = a["x"]
    mask = a["mask"].clone()
    mask[0] = 0  # at least one transformed dimension, so that both nets matter
    a = {**a, "mask": mask}
    layer = ctx.new(*_coupling_init(a))
    g_y, g_ld = gs.make_tensor(tuple(x.shape), x.dtype, seed), gs.make_tensor((x.shape[0],), x.dtype, seed + 1)
    _, grads = layer.vjp("forward", (x,), (g_y, g_ld), ["params"])
    _forget_calls(ctx)
    found = _by_net_param(ctx, grads["params"], _net_param_names(a), _shown(a))
    for net in ("scale", "shift"):
        net_grads = {n: g for n, g in found.items() if n.startswith(net + "_")}
        none = [n for n, g in net_grads.items() if g is None]
        ctx.check(not none, f"the {net} net's parameters {none} got no gradient: is the net run under torch.no_grad(), or its output detached?", inputs=_shown(a))
        ctx.check(all(bool(torch.isfinite(g).all()) for g in net_grads.values()), f"the {net} net's gradients are not finite", inputs=_shown(a))
        ctx.check(any(bool((g != 0).any()) for g in net_grads.values()), f"the {net} net's gradients are all zero although the mask transforms some dimensions", inputs=_shown(a))


@coupling.property("dtype_contract", "float64 layers give float64 results, and a float32 layer moved with .to(torch.float64) works like one built in float64", tier="public")
@given(a=gs.coupling_inputs(dtype=torch.float64))
def _dtype_contract(ctx: Context, a: dict[str, Any]) -> None:
    x = a["x"]
    # float32 parameters, so that the layer built in float64 and the moved one hold the same values.
    init32 = (a["mask"].float(), copy.deepcopy(a["scale_net"]).float(), copy.deepcopy(a["shift_net"]).float())
    layer64 = ctx.new(init32[0].double(), copy.deepcopy(init32[1]).double(), copy.deepcopy(init32[2]).double())
    y, log_det = _pair(ctx, layer64(x), tuple(x.shape), "forward", _shown(a))
    x_back, inverse_log_det = _pair(ctx, layer64.call("inverse", y), tuple(x.shape), "inverse", _shown(a))
    dtypes = [str(t.dtype) for t in (y, log_det, x_back, inverse_log_det)]
    _forget_calls(ctx)
    ctx.check(dtypes == ["torch.float64"] * 4, f"inputs and nets were float64; (y, log_det) of forward and inverse are {dtypes}", inputs=_shown(a))
    moved = ctx.new(*init32)
    moved.call("to", torch.float64)
    got = _pair(ctx, moved(x), tuple(x.shape), "forward", _shown(a))
    _forget_calls(ctx)
    ctx.assert_close(got, (y, log_det), inputs=_shown(a), what="forward of a float32 layer moved to float64 (compared with your layer built in float64)")


@coupling.property("matches_reference", "forward and inverse equal the reference's outputs and log-dets on random layers and inputs", tier="hidden")
@given(a=gs.coupling_inputs(), seed=gs.seeds())
def _matches_reference(ctx: Context, a: dict[str, Any], seed: int) -> None:
    x = a["x"]
    y = gs.make_tensor(tuple(x.shape), x.dtype, seed)
    ref = _ref_layer(ctx, a)
    layer = ctx.new(*_coupling_init(a))
    with torch.no_grad():
        expected_forward, expected_inverse = ref(x), ref.inverse(y)
    ctx.assert_close(_pair(ctx, layer(x), tuple(x.shape), "forward", _shown(a)), expected_forward, inputs=_shown(a), what="forward(x)")
    ctx.assert_close(_pair(ctx, layer.call("inverse", y), tuple(x.shape), "inverse", {**_shown(a), "y": y}), expected_inverse, inputs={**_shown(a), "y": y}, what="inverse(y)")


@coupling.property("gradients_match", "gradients of forward with respect to x and to every net parameter equal the reference's", tier="hidden")
@given(a=gs.coupling_inputs(), seed=gs.seeds())
def _gradients_match(ctx: Context, a: dict[str, Any], seed: int) -> None:
    x = a["x"]
    g_y, g_ld = gs.make_tensor(tuple(x.shape), x.dtype, seed), gs.make_tensor((x.shape[0],), x.dtype, seed + 1)
    layer = ctx.new(*_coupling_init(a))
    value, grads = layer.vjp("forward", (x,), (g_y, g_ld), [0, "params"])
    ref = _ref_layer(ctx, a)
    xr = x.clone().requires_grad_(True)
    y, log_det = ref(xr)
    ctx.assert_close(_pair(ctx, value, tuple(x.shape), "forward", _shown(a)), (y, log_det), inputs=_shown(a), what="forward(x)")
    _forget_calls(ctx)
    found = _by_net_param(ctx, grads["params"], _net_param_names(a), _shown(a))
    ref_params = dict(ref.scale_net.named_parameters()) | dict(ref.shift_net.named_parameters())
    names = list(ref_params)
    expected = torch.autograd.grad((y, log_det), [xr, *ref_params.values()], (g_y, g_ld), allow_unused=True)
    got = [grads["inputs"][0], *(found[n] for n in names)]
    got = [torch.zeros_like(e) if g is None and e is not None else g for g, e in zip(got, expected)]
    ctx.assert_close(got[0], expected[0], inputs=_shown(a), what="the gradient with respect to x")
    for name, g, e in zip(names, got[1:], expected[1:]):
        ctx.assert_close(g, torch.zeros_like(ref_params[name]) if e is None else e, inputs=_shown(a), what=f"the gradient of the net parameter {name}")
