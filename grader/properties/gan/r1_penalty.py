"""Properties and known mistakes of ``gan.r1_penalty`` (R1: gamma/2 · mean_b ‖∇_x D(x_b)‖² at real data).

Expected values come from discriminators whose input-gradient is known in closed form (linear:
the weight everywhere; quadratic: c·x + w, which depends on the point), from the batch mean of
single-sample penalties, and from the reference on a small nonlinear discriminator. The
signature takes only real samples, so "R1 at fake samples" cannot be written against it.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from hypothesis import given
from hypothesis import strategies as st

from grader import fixtures
from grader.failures import ContractViolation
from grader.properties.api import Context, Exercise, Mistake
from grader.properties.common import assert_gradients as _assert_gradients
from grader.properties.common import check_plain as _check_plain
from grader.properties.common import in_dtype as _in_dtype
from grader.properties.gan import strategies as gs
from grader.properties.gan._shared import _none_as_zeros, _scalar_check
from grader.properties.judge_only import judge_only
from grader.tensors import describe_inputs


@judge_only
def _r1_with(discriminator, real, gamma, *, half=True, reduce="sum", per_sample="squared_norm"):
    """R1 with one known mistake switched on (the defaults give the right value)."""
    x = real.detach().requires_grad_(True)
    scores = discriminator(x).reshape(real.shape[0])
    scores = scores.sum() if reduce == "sum" else scores.mean()
    (grad,) = torch.autograd.grad(scores, x, create_graph=True)
    flat = grad.flatten(1)
    if per_sample == "squared_norm":
        terms = flat.square().sum(dim=1)
    elif per_sample == "norm":
        terms = flat.norm(dim=1)
    elif per_sample == "mean_square":
        terms = flat.square().mean(dim=1)
    else:  # "gp": WGAN-GP's two-sided (‖∇‖ − 1)²
        terms = (flat.norm(dim=1) - 1).square()
    return (gamma / 2 if half else gamma) * terms.mean()


def _r1_no_half(discriminator, real, gamma=10.0):
    return _r1_with(discriminator, real, gamma, half=False)


def _r1_grad_of_mean(discriminator, real, gamma=10.0):
    return _r1_with(discriminator, real, gamma, reduce="mean")


def _r1_mean_over_features(discriminator, real, gamma=10.0):
    return _r1_with(discriminator, real, gamma, per_sample="mean_square")


def _r1_norm_not_squared(discriminator, real, gamma=10.0):
    return _r1_with(discriminator, real, gamma, per_sample="norm")


def _r1_gp_form(discriminator, real, gamma=10.0):
    return _r1_with(discriminator, real, gamma, per_sample="gp")


r1_penalty = Exercise(
    "gan.r1_penalty",
    mistakes=[
        Mistake("no_half", "your output is gamma · mean ‖∇D‖², twice the R1 penalty; R1 (and StyleGAN2's r1_gamma) is gamma/2 · mean ‖∇D‖²", _r1_no_half),
        Mistake("grad_of_mean", "your output differentiates D(x).mean(), which divides every per-sample gradient by B (the penalty by B²); differentiate the sum of the scores (or pass grad_outputs=ones)", _r1_grad_of_mean),
        Mistake("mean_over_features", "your output averages the squared gradient over the features (grad.square().mean()), dividing by their number; ‖∇D‖² sums over all non-batch dims, then the mean is over the batch", _r1_mean_over_features),
        Mistake("norm_not_squared", "your output penalises the norm ‖∇D‖; R1 penalises its square ‖∇D‖²", _r1_norm_not_squared),
        Mistake("gradient_penalty_form", "your output penalises (‖∇D‖ − 1)², WGAN-GP's two-sided penalty; R1 pushes the gradient at real data to 0: gamma/2 · ‖∇D‖²", _r1_gp_form),
    ],
)


def _r1_inputs(a: dict, discriminator: torch.nn.Module) -> dict:
    return {"discriminator": discriminator, "real": a["real"], "gamma": a["gamma"]}


def _penalty(ctx: Context, discriminator: torch.nn.Module, real: torch.Tensor, gamma: Any) -> Any:
    """The student's penalty, called with autograd on (a vjp request that asks for nothing:
    plain calls run under torch.no_grad(), where D cannot be differentiated)."""
    value, _ = ctx.student.vjp(ctx.exercise.name, (discriminator, real, gamma), None, [["params", 0]])
    return value


def _penalty_and_d_grads(ctx: Context, discriminator: torch.nn.Module, a: dict, inputs: dict) -> tuple[Any, dict[str, Any]]:
    """The student's penalty and its gradients w.r.t. the discriminator's parameters ({name: gradient})."""
    args = (discriminator, a["real"], a["gamma"])
    try:
        value, grads = ctx.student.vjp(ctx.exercise.name, args, torch.tensor(1.0, dtype=a["real"].dtype), [["params", 0]])
    except ContractViolation as violation:
        if "not differentiable" not in violation.message:
            raise
        hint = "the penalty must backpropagate to the discriminator's parameters: take the input-gradient with torch.autograd.grad(..., create_graph=True)"
        raise ContractViolation(f"{violation.message}; {hint}", details=describe_inputs(inputs)) from None
    return value, {name.removeprefix("args[0]."): g for name, g in grads["params"].items()}


def _features(a: dict) -> int:
    return math.prod(a["real"].shape[1:])


def _mlp(a: dict, squeeze: bool) -> torch.nn.Module:
    return fixtures.MLPCritic(_features(a), seed=a["critic_seed"], squeeze=squeeze).to(a["real"].dtype)


def _linear(a: dict, norm: float, seed: int, squeeze: bool) -> torch.nn.Module:
    w = gs.make_tensor((_features(a),), torch.float64, seed)
    return fixtures.LinearCritic(w / w.norm() * norm, bias=0.3, squeeze=squeeze).to(a["real"].dtype)  # ‖∇D‖ = norm everywhere


@r1_penalty.property("linear_discriminator_known_value", "a linear discriminator with ‖w‖ = s has ∇D = w everywhere, so the penalty is gamma/2 · s², for vectors and images", tier="public")
@given(a=gs.r1_inputs(), norm=st.floats(0.2, 3.0), seed=gs.seeds(), squeeze=st.booleans())
def _r1_linear(ctx: Context, a: dict, norm: float, seed: int, squeeze: bool) -> None:
    d = _linear(a, norm, seed, squeeze)
    got = _penalty(ctx, d, a["real"], a["gamma"])
    ctx.assert_close(got, torch.tensor(a["gamma"] / 2 * norm**2, dtype=a["real"].dtype), inputs={**_r1_inputs(a, d), "‖w‖": norm})


@r1_penalty.property("taken_at_the_real_samples", "for D(x) = ½·c·‖x‖² + ⟨w, x⟩ the gradient at x_b is c·x_b + w, so the penalty is gamma/2 · mean_b ‖c·x_b + w‖²", tier="public")
@given(a=gs.r1_inputs(min_batch=2), curvature=st.sampled_from((0.5, 1.0, 2.0)), seed=gs.seeds(), squeeze=st.booleans())
def _r1_quadratic(ctx: Context, a: dict, curvature: float, seed: int, squeeze: bool) -> None:
    real = a["real"]
    w = gs.make_tensor((_features(a),), real.dtype, seed)
    d = fixtures.QuadraticCritic(w, curvature, squeeze=squeeze)
    expected = a["gamma"] / 2 * (curvature * real.double().flatten(1) + w.double()).square().sum(dim=1).mean()
    got = _penalty(ctx, d, real, a["gamma"])
    ctx.assert_close(got, expected.to(real.dtype), inputs={**_r1_inputs(a, d), "c": curvature, "w": w})


@r1_penalty.property("mean_of_per_sample_penalties", "the penalty of a batch is the mean of the penalties of its samples taken one at a time", tier="public")
@given(a=gs.r1_inputs(min_batch=2))
def _r1_mean(ctx: Context, a: dict) -> None:
    d = _mlp(a, squeeze=True)
    real = a["real"]
    singles = [_penalty(ctx, d, real[i : i + 1], a["gamma"]) for i in range(real.shape[0])]
    whole = _penalty(ctx, d, real, a["gamma"])  # last, so a diagnosis replays it
    ctx.assert_close(whole, torch.stack([torch.as_tensor(s) for s in singles]).mean(), inputs=_r1_inputs(a, d), what="the penalty of the whole batch")


@r1_penalty.property("differentiable_in_discriminator_parameters", "the penalty trains D: for a linear discriminator, d/dw = gamma·w, and the bias gets no gradient", tier="public")
@given(a=gs.r1_inputs(), norm=st.floats(0.2, 3.0), seed=gs.seeds())
def _r1_param_gradient(ctx: Context, a: dict, norm: float, seed: int) -> None:
    d = _linear(a, norm, seed, squeeze=True)
    inputs = {**_r1_inputs(a, d), "‖w‖": norm}
    value, grads = _penalty_and_d_grads(ctx, d, a, inputs)
    w = d.weight.detach()
    expected_value = torch.tensor(a["gamma"] / 2 * norm**2, dtype=w.dtype)
    got_w, got_b = grads.get("weight"), grads.get("bias")
    _check_plain(got_w is not None, "no gradient reached the discriminator's weight: compute the input-gradient with create_graph=True", inputs)
    _assert_gradients(ctx, value, expected_value, got_w, a["gamma"] * w, inputs=inputs, what="the gradient with respect to the discriminator's weight")
    if got_b is not None:  # the bias does not change the input-gradient: zero or no gradient
        _assert_gradients(ctx, value, expected_value, got_b, torch.zeros_like(got_b), inputs=inputs, what="the gradient with respect to the discriminator's bias")


@r1_penalty.property("gamma_may_be_a_tensor", "gamma may be a 0-d tensor; the penalty is then linear in it: d penalty / d gamma = ½ · mean ‖∇D‖²", tier="public")
@given(a=gs.r1_inputs(), norm=st.floats(0.2, 3.0), seed=gs.seeds())
def _r1_gamma_tensor(ctx: Context, a: dict, norm: float, seed: int) -> None:
    d = _linear(a, norm, seed, squeeze=True)
    gamma = torch.tensor(a["gamma"], dtype=a["real"].dtype)
    inputs = {**_r1_inputs(a, d), "gamma": gamma, "‖w‖": norm}
    value, grads = ctx.student.vjp(ctx.exercise.name, (d, a["real"], gamma), torch.tensor(1.0, dtype=gamma.dtype), [2])
    ctx.assert_close(value, torch.tensor(a["gamma"] / 2 * norm**2, dtype=gamma.dtype), inputs=inputs)
    (got,) = grads["inputs"]
    _check_plain(got is not None, "no gradient reached gamma, a 0-d tensor that requires grad: use it as a tensor, not through float() or .item()", inputs)
    ctx.assert_close(got, torch.tensor(norm**2 / 2, dtype=gamma.dtype), inputs=inputs, what="the gradient with respect to gamma")


@r1_penalty.property("dtype_contract", "the penalty is a 0-d tensor in the data's dtype, float32 or float64", tier="public")
@given(drawn=gs.r1_inputs())
def _r1_dtype(ctx: Context, drawn: dict) -> None:
    for dtype in gs.FLOAT_DTYPES:
        a = _in_dtype(drawn, dtype)
        d = _mlp(a, squeeze=False)
        _scalar_check(ctx, _penalty(ctx, d, a["real"], a["gamma"]), dtype, _r1_inputs(a, d))


@r1_penalty.property("matches_reference", "the penalty equals the reference for a small nonlinear discriminator, vectors and images", tier="hidden")
@given(drawn=gs.r1_inputs(), squeeze=st.booleans())
def _r1_matches_reference(ctx: Context, drawn: dict, squeeze: bool) -> None:
    for dtype in gs.FLOAT_DTYPES:
        a = _in_dtype(drawn, dtype)
        d = _mlp(a, squeeze)
        got = _penalty(ctx, d, a["real"], a["gamma"])
        ctx.assert_close(got, ctx.ref(d, a["real"], a["gamma"]), inputs=_r1_inputs(a, d))


@r1_penalty.property("discriminator_gradients_match", "the gradients of the penalty with respect to a nonlinear discriminator's parameters equal the reference's", tier="hidden")
@given(a=gs.r1_inputs(), squeeze=st.booleans())
def _r1_d_gradients(ctx: Context, a: dict, squeeze: bool) -> None:
    d = _mlp(a, squeeze)
    value, grads = _penalty_and_d_grads(ctx, d, a, _r1_inputs(a, d))
    names = [n for n, _ in d.named_parameters()]
    params = list(d.parameters())
    ref_value = ctx.ref(d, a["real"], a["gamma"])
    expected = torch.autograd.grad(ref_value, params, allow_unused=True)
    got = tuple(grads.get(n) for n in names)
    what = f"the gradients with respect to the discriminator's parameters {names}"
    _assert_gradients(ctx, value, ref_value.detach(), _none_as_zeros(got, params), _none_as_zeros(expected, params), inputs=_r1_inputs(a, d), what=what)
