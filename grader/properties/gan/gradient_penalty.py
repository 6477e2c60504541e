"""Properties and known mistakes of ``gan.gradient_penalty``."""

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


def _penalty_from_grad(grad: torch.Tensor, weight: float, *, flatten: bool = True, squared: bool = False) -> torch.Tensor:
    per_sample = grad.flatten(1) if flatten else grad
    norms = per_sample.norm(dim=1)
    if squared:
        norms = norms.square()
    return weight * (norms - 1).square().mean()


@judge_only
def _gp_with(critic, real, fake, alpha, weight, *, paper=False, reduce="sum", flatten=True, squared=False):
    a = alpha.reshape(real.shape[0], *([1] * (real.dim() - 1)))
    x_hat = (a * real + (1 - a) * fake) if paper else (real + a * (fake - real))
    x_hat = x_hat.detach().requires_grad_(True)
    scores = critic(x_hat)
    scores = scores.sum() if reduce == "sum" else scores.mean()
    (grad,) = torch.autograd.grad(scores, x_hat, create_graph=True)
    return _penalty_from_grad(grad, weight, flatten=flatten, squared=squared)


def _gp_paper_interpolation(critic, real, fake, alpha, weight=10.0):
    return _gp_with(critic, real, fake, alpha, weight, paper=True)


def _gp_norm_over_dim1(critic, real, fake, alpha, weight=10.0):
    return _gp_with(critic, real, fake, alpha, weight, flatten=False)


def _gp_grad_of_mean(critic, real, fake, alpha, weight=10.0):
    return _gp_with(critic, real, fake, alpha, weight, reduce="mean")


def _gp_squared_norm(critic, real, fake, alpha, weight=10.0):
    return _gp_with(critic, real, fake, alpha, weight, squared=True)


gradient_penalty = Exercise(
    "gan.gradient_penalty",
    mistakes=[
        Mistake("paper_interpolation", "your output interpolates x̂ = alpha·real + (1 − alpha)·fake (the paper's ε); the course's convention is x̂ = real + alpha·(fake − real)", _gp_paper_interpolation),
        Mistake("norm_over_dim1", "your output takes the gradient norm over dim 1 only (per pixel for images); flatten each sample's gradient and take the norm over all non-batch dims", _gp_norm_over_dim1),
        Mistake("grad_of_mean", "your output differentiates critic(x̂).mean(), which divides every per-sample gradient by B; differentiate the sum (or pass grad_outputs=ones)", _gp_grad_of_mean),
        Mistake("squared_norm", "your output penalises (‖∇‖² − 1)²; WGAN-GP penalises (‖∇‖₂ − 1)², the norm itself", _gp_squared_norm),
    ],
)


def _penalty(ctx: Context, critic: torch.nn.Module, real: torch.Tensor, fake: torch.Tensor, alpha: torch.Tensor, weight: float) -> Any:
    """The student's penalty, called with autograd on.

    The engine runs plain calls under torch.no_grad(), where differentiating the critic is
    impossible; a vjp request with no output gradient runs the call with grad mode on (as in
    training) and asks for nothing.
    """
    value, _ = ctx.student.vjp(ctx.exercise.name, (critic, real, fake, alpha, weight), None, [["params", 0]])
    return value


def _penalty_and_critic_grads(ctx: Context, critic: torch.nn.Module, a: dict, inputs: dict) -> tuple[Any, dict[str, Any]]:
    """The student's penalty and its gradients w.r.t. the critic's parameters ({name: gradient})."""
    args = (critic, a["real"], a["fake"], a["alpha"], a["weight"])
    try:
        value, grads = ctx.student.vjp(ctx.exercise.name, args, torch.tensor(1.0, dtype=a["real"].dtype), [["params", 0]])
    except ContractViolation as violation:
        if "not differentiable" not in violation.message:
            raise
        hint = "the penalty must backpropagate to the critic's parameters: take the input-gradient with torch.autograd.grad(..., create_graph=True)"
        raise ContractViolation(f"{violation.message}; {hint}", details=describe_inputs(inputs)) from None
    return value, {name.removeprefix("args[0]."): g for name, g in grads["params"].items()}


def _critic_for(a: dict, squeeze: bool) -> torch.nn.Module:
    features = math.prod(a["real"].shape[1:])
    return fixtures.MLPCritic(features, seed=a["critic_seed"], squeeze=squeeze).to(a["real"].dtype)


def _unit_gradient_critic(a: dict, scale: float, seed: int, squeeze: bool) -> torch.nn.Module:
    features = math.prod(a["real"].shape[1:])
    w = gs.make_tensor((features,), torch.float64, seed)
    w = w / w.norm() * scale  # ‖∇critic‖ = scale everywhere
    return fixtures.LinearCritic(w, bias=0.3, squeeze=squeeze).to(a["real"].dtype)


def _gp_inputs(a: dict, critic: torch.nn.Module) -> dict:
    return {"critic": critic, "real": a["real"], "fake": a["fake"], "alpha": a["alpha"], "weight": a["weight"]}


@gradient_penalty.property("zero_for_unit_gradient_critic", "a linear critic with a unit weight vector has ‖∇‖ = 1 everywhere, so the penalty is 0", tier="public")
@given(a=gs.gradient_penalty_inputs(min_batch=2), seed=gs.seeds(), squeeze=st.booleans())
def _gp_zero(ctx: Context, a: dict, seed: int, squeeze: bool) -> None:
    critic = _unit_gradient_critic(a, 1.0, seed, squeeze)
    got = _penalty(ctx, critic, a["real"], a["fake"], a["alpha"], a["weight"])
    ctx.assert_close(got, torch.tensor(0.0, dtype=a["real"].dtype), inputs=_gp_inputs(a, critic), what="the penalty of a critic with unit gradient")


@gradient_penalty.property("linear_critic_known_value", "a linear critic with ‖w‖ = s has penalty weight·(s − 1)², for vectors and images", tier="public")
@given(a=gs.gradient_penalty_inputs(), scale=st.floats(0.2, 3.0), seed=gs.seeds(), squeeze=st.booleans())
def _gp_linear(ctx: Context, a: dict, scale: float, seed: int, squeeze: bool) -> None:
    critic = _unit_gradient_critic(a, scale, seed, squeeze)
    got = _penalty(ctx, critic, a["real"], a["fake"], a["alpha"], a["weight"])
    ctx.assert_close(got, torch.tensor(a["weight"] * (scale - 1) ** 2, dtype=a["real"].dtype), inputs={**_gp_inputs(a, critic), "‖w‖": scale})


@gradient_penalty.property("alpha_selects_the_endpoint", "with alpha = 0 the penalty is taken at real (fake does not matter), with alpha = 1 at fake", tier="public")
@given(a=gs.gradient_penalty_inputs(), seed=gs.seeds())
def _gp_endpoints(ctx: Context, a: dict, seed: int) -> None:
    critic = _critic_for(a, squeeze=False)
    real, fake = a["real"], a["fake"]
    alpha = (torch.rand(real.shape[0], generator=gs.generator(seed)) < 0.5).to(real.dtype)  # 0 or 1 per sample
    first = _penalty(ctx, critic, real, fake, alpha, a["weight"])
    # Change exactly what must not matter: fake where alpha = 0, real where alpha = 1.
    other = gs.make_tensor(tuple(real.shape), real.dtype, seed + 1, scale=3.0)
    keep = alpha.reshape(-1, *([1] * (real.dim() - 1))).bool()
    real2, fake2 = torch.where(keep, other, real), torch.where(keep, fake, other)
    second = _penalty(ctx, critic, real2, fake2, alpha, a["weight"])
    ctx.assert_close(second, first, inputs={**_gp_inputs(a, critic), "alpha": alpha}, what="the penalty after changing fake where alpha = 0 and real where alpha = 1")


@gradient_penalty.property("mean_of_per_sample_penalties", "the penalty of a batch is the mean of the penalties of its samples taken one at a time", tier="public")
@given(a=gs.gradient_penalty_inputs(min_batch=2))
def _gp_mean(ctx: Context, a: dict) -> None:
    critic = _critic_for(a, squeeze=True)
    b = a["real"].shape[0]
    singles = [_penalty(ctx, critic, a["real"][i : i + 1], a["fake"][i : i + 1], a["alpha"][i : i + 1], a["weight"]) for i in range(b)]
    whole = _penalty(ctx, critic, a["real"], a["fake"], a["alpha"], a["weight"])  # last, so a diagnosis replays it
    ctx.assert_close(whole, torch.stack([torch.as_tensor(s) for s in singles]).mean(), inputs=_gp_inputs(a, critic), what="the penalty of the whole batch")


@gradient_penalty.property("differentiable_in_critic_parameters", "the penalty backpropagates to the critic: for a linear critic, d/dw = 2·weight·(‖w‖ − 1)·w/‖w‖", tier="public")
@given(a=gs.gradient_penalty_inputs(), scale=st.floats(0.2, 3.0), seed=gs.seeds())
def _gp_param_gradient(ctx: Context, a: dict, scale: float, seed: int) -> None:
    critic = _unit_gradient_critic(a, scale, seed, squeeze=True)
    inputs = {**_gp_inputs(a, critic), "‖w‖": scale}
    value, grads = _penalty_and_critic_grads(ctx, critic, a, inputs)
    w = critic.weight.detach()
    expected = 2 * a["weight"] * (scale - 1) * w / w.norm()
    got_w, got_b = grads.get("weight"), grads.get("bias")
    expected_value = torch.tensor(a["weight"] * (scale - 1) ** 2, dtype=w.dtype)
    _check_plain(got_w is not None, "no gradient reached the critic's weight: compute the input-gradient with create_graph=True", inputs)
    _assert_gradients(ctx, value, expected_value, got_w, expected, inputs=inputs, what="the gradient with respect to the critic's weight")
    if got_b is not None:  # the bias does not change the input-gradient: zero or no gradient
        _assert_gradients(ctx, value, expected_value, got_b, torch.zeros_like(got_b), inputs=inputs, what="the gradient with respect to the critic's bias")


@gradient_penalty.property("matches_reference", "the penalty equals the reference for a small nonlinear critic, vectors and images", tier="hidden")
@given(drawn=gs.gradient_penalty_inputs(), squeeze=st.booleans())
def _gp_matches_reference(ctx: Context, drawn: dict, squeeze: bool) -> None:
    for dtype in gs.FLOAT_DTYPES:
        a = _in_dtype(drawn, dtype)
        critic = _critic_for(a, squeeze)
        got = _penalty(ctx, critic, a["real"], a["fake"], a["alpha"], a["weight"])
        ctx.assert_close(got, ctx.ref(critic, a["real"], a["fake"], a["alpha"], a["weight"]), inputs=_gp_inputs(a, critic))


@gradient_penalty.property("critic_gradients_match", "the gradients of the penalty with respect to a nonlinear critic's parameters equal the reference's", tier="hidden")
@given(a=gs.gradient_penalty_inputs(), squeeze=st.booleans())
def _gp_critic_gradients(ctx: Context, a: dict, squeeze: bool) -> None:
    critic = _critic_for(a, squeeze)
    value, grads = _penalty_and_critic_grads(ctx, critic, a, _gp_inputs(a, critic))
    names = [n for n, _ in critic.named_parameters()]
    params = list(critic.parameters())
    ref_value = ctx.ref(critic, a["real"], a["fake"], a["alpha"], a["weight"])
    expected = torch.autograd.grad(ref_value, params, allow_unused=True)
    got = tuple(grads.get(n) for n in names)
    what = f"the gradients with respect to the critic's parameters {names}"
    _assert_gradients(ctx, value, ref_value.detach(), _none_as_zeros(got, params), _none_as_zeros(expected, params), inputs=_gp_inputs(a, critic), what=what)


@gradient_penalty.property("dtype_contract", "the penalty is a 0-d tensor in the data's dtype", tier="public")
@given(drawn=gs.gradient_penalty_inputs())
def _gp_dtype(ctx: Context, drawn: dict) -> None:
    for dtype in gs.FLOAT_DTYPES:
        a = _in_dtype(drawn, dtype)
        critic = _critic_for(a, squeeze=False)
        _scalar_check(ctx, _penalty(ctx, critic, a["real"], a["fake"], a["alpha"], a["weight"]), dtype, _gp_inputs(a, critic))
