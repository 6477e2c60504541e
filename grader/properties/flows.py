"""Properties of the normalizing-flow exercises (q44–q51).

Transforms handed to the student's code are fixtures from ``grader.fixtures`` (the worker
can unpickle them); the judge runs the same fixtures itself to build expected values.
"""

from __future__ import annotations

import copy
import math
from typing import Any

import torch
from hypothesis import example, given
from hypothesis import strategies as st
from torch import nn

from grader import fixtures
from grader import strategies as gs
from grader.properties.api import Context, Exercise, Mistake

# ============================================================================ AffineCoupling
# ----------------------------------------------------------------------------- known mistakes


class _Coupling(nn.Module):
    """The coupling layer written step by step; each known mistake overrides one step."""

    def __init__(self, mask, scale_net, shift_net):
        super().__init__()
        self.register_buffer("mask", mask.detach().clone())
        self.scale_net = scale_net
        self.shift_net = shift_net

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


def _loose(ctx: Context, dtype: torch.dtype) -> tuple[float, float]:
    """Tolerance for a value computed through a round trip or a Jacobian (errors add up)."""
    rtol, atol = ctx.tolerance(dtype)
    return 10 * rtol, 10 * atol


def _forget_calls(ctx: Context) -> None:
    """The checks that follow are about gradients or dtypes, not values: forget the recorded
    calls, so that a failure names no value-level mistake (one may coincide with the right
    values on this input). Values are checked, with diagnoses, before this is called."""
    ctx.student.calls.clear()


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


# ============================================================================ log_prob
# ----------------------------------------------------------------------------- known mistakes


def _standard_normal(z):
    return -0.5 * (z * z).sum(-1) - 0.5 * z.shape[-1] * math.log(2 * math.pi)


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


log_prob = Exercise(
    "flows.log_prob",
    mistakes=[
        Mistake("subtracts_log_det", "your output equals log N(z) − Σ log-dets; with z = f(x) the density is p(x) = N(f(x))·|det ∂f/∂x|, so the log-dets are added", _lp_subtracts_log_det),
        Mistake("no_two_pi", "your output lacks the −D/2·log 2π normalising constant of the standard normal (without it the density does not integrate to 1)", _lp_no_two_pi),
        Mistake("reverse_order", "your output applies the transforms in reverse order; log_prob runs them as listed, data -> noise (sample undoes them last-first)", _lp_reverse_order),
        Mistake("no_log_det", "your output is only the base density log N(z); the change of variables adds each transform's log|det|", _lp_no_log_det),
        Mistake("sums_over_batch", "your output sums the log-densities over the batch into one number; log_prob returns one value per sample, shape (B,) (average it yourself for a loss)", _lp_sums_over_batch),
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


def _grads_vs_reference(ctx: Context, fn_args: tuple[torch.Tensor, nn.ModuleList], g: torch.Tensor, inputs: dict[str, Any]) -> None:
    """vjp of the student's function w.r.t. its tensor input and the transforms' parameters, against the reference's autograd."""
    t, transforms = fn_args
    value, grads = ctx.student.vjp(ctx.exercise.name, (t, transforms), g, [0, ["params", 1]])
    ref_transforms = copy.deepcopy(transforms)
    tr = t.clone().requires_grad_(True)
    params = dict(ref_transforms.named_parameters())
    out = ctx.ref(tr, ref_transforms)
    ctx.assert_close(value, out, inputs=inputs)
    _forget_calls(ctx)
    expected = torch.autograd.grad(out, [tr, *params.values()], g, allow_unused=True)
    got_x = grads["inputs"][0]
    ctx.check(got_x is not None, "no gradient reached the input: is the computation detached?", inputs=inputs)
    ctx.assert_close(got_x, expected[0], inputs=inputs, what="the gradient with respect to the input")
    for (name, p), e in zip(params.items(), expected[1:]):
        got = grads["params"].get(f"args[1].{name}")
        e = torch.zeros_like(p) if e is None else e
        ctx.check(got is not None or not bool((e != 0).any()), f"no gradient reached the transforms' parameter {name}", inputs=inputs)
        ctx.assert_close(torch.zeros_like(p) if got is None else got, e, inputs=inputs, what=f"the gradient of the transforms' parameter {name}")


@log_prob.property("gradients_match", "gradients with respect to x and to the transforms' parameters equal the reference's", tier="hidden")
@given(a=gs.flow_inputs(), seed=gs.seeds())
def _lp_gradients_match(ctx: Context, a: dict[str, Any], seed: int) -> None:
    x = a["x"]
    # A ModuleList (a list of modules) lets the worker take gradients of the transforms' parameters.
    transforms = nn.ModuleList(a["transforms"])
    _grads_vs_reference(ctx, (x, transforms), gs.make_tensor((x.shape[0],), x.dtype, seed), _flow_shown(a))


# ============================================================================ sample
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
