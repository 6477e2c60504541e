"""Properties of the GAN exercises (q10–q15, q37)."""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from hypothesis import example, given
from hypothesis import strategies as st

from grader import fixtures
from grader import strategies as gs
from grader.failures import ContractViolation
from grader.properties.api import Context, Exercise, Mistake
from grader.properties.common import assert_gradients as _assert_gradients
from grader.properties.common import check_plain as _check_plain
from grader.properties.common import in_dtype as _in_dtype
from grader.tensors import describe_inputs

# ----------------------------------------------------------------------------- helpers


def _exact_softplus(x: torch.Tensor) -> torch.Tensor:
    """softplus in float64 without a threshold: relu(x) + log1p(exp(−|x|))."""
    x = x.double()
    return x.clamp(min=0) + torch.log1p(torch.exp(-x.abs()))


def _none_as_zeros(grads: Any, like: list[torch.Tensor]) -> tuple[torch.Tensor, ...]:
    """Gradients with None (a parameter the result does not depend on) read as zeros."""
    return tuple(torch.zeros_like(t.detach()) if g is None else g.detach() for g, t in zip(grads, like))








def _scalar_check(ctx: Context, got: Any, dtype: torch.dtype, inputs: dict) -> None:
    ctx.check(isinstance(got, torch.Tensor) and got.dim() == 0, f"the loss should be a 0-d tensor (a scalar), got {getattr(got, 'shape', type(got).__name__)}", inputs=inputs)
    _check_plain(got.dtype == dtype, f"inputs were {dtype}, the loss is {got.dtype}", inputs)


# ----------------------------------------------------------------------------- discriminator_loss


def _d_halved(real_logits, fake_logits):
    return 0.5 * (F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean())


def _d_labels_swapped(real_logits, fake_logits):
    return F.softplus(real_logits).mean() + F.softplus(-fake_logits).mean()


def _d_log_of_sigmoid(real_logits, fake_logits):
    return -torch.log(torch.sigmoid(real_logits)).mean() - torch.log(1 - torch.sigmoid(fake_logits)).mean()


def _d_one_mean_over_both(real_logits, fake_logits):
    return torch.cat([F.softplus(-real_logits).flatten(), F.softplus(fake_logits).flatten()]).mean()


discriminator_loss = Exercise(
    "gan.discriminator_loss",
    mistakes=[
        Mistake("halved", "your output is half the loss: the course's D loss is BCE(real, 1) + BCE(fake, 0), without the ½ that some training loops add", _d_halved),
        Mistake("labels_swapped", "your output uses label 0 for real and 1 for fake; the discriminator calls real samples 1: mean(softplus(−real)) + mean(softplus(fake))", _d_labels_swapped),
        Mistake("log_of_sigmoid", "your output computes log(sigmoid(·)), which is −inf once sigmoid rounds to 0 or 1 (logits of ±100); use softplus / binary_cross_entropy_with_logits", _d_log_of_sigmoid),
        Mistake("one_mean_over_both", "your output averages one BCE over the concatenated real and fake logits; each term is a mean over its own batch, which differs when the batch sizes differ", _d_one_mean_over_both),
    ],
)


@discriminator_loss.property("known_answer", "real logits (0, ln 3) and a fake logit −ln 3 (D = ½, ¾ and ¼) give ½(ln 2 + ln 4/3) + ln 4/3", tier="public")
@given(dtype=gs.float_dtypes(), column=st.booleans())
def _d_known_answer(ctx: Context, dtype: torch.dtype, column: bool) -> None:
    # Batch sizes differ (2 and 1): each term must be a mean over its own batch.
    real = torch.tensor([0.0, math.log(3.0)], dtype=dtype)
    fake = torch.tensor([-math.log(3.0)], dtype=dtype)
    if column:
        real, fake = real[:, None], fake[:, None]
    expected = 0.5 * (math.log(2.0) + math.log(4 / 3)) + math.log(4 / 3)
    ctx.assert_close(ctx.call(real, fake), torch.tensor(expected, dtype=dtype), inputs={"real_logits": real, "fake_logits": fake})


@discriminator_loss.property("finite_for_extreme_logits", "the loss is finite and exact for logits of ±100", tier="public")
@given(real=gs.gan_logits(dtype=torch.float32, extreme=True), fake=gs.gan_logits(dtype=torch.float32, extreme=True), dtype=gs.float_dtypes())
@example(real=torch.tensor([-100.0]), fake=torch.tensor([100.0]), dtype=torch.float32)
def _d_extreme(ctx: Context, real: torch.Tensor, fake: torch.Tensor, dtype: torch.dtype) -> None:
    real, fake = real.to(dtype), fake.to(dtype)
    inputs = {"real_logits": real, "fake_logits": fake}
    got = ctx.call(real, fake)
    ctx.check(isinstance(got, torch.Tensor) and bool(got.isfinite().all()), f"the loss should be finite for logits of ±100; got {got}", inputs=inputs)
    expected = _exact_softplus(-real).mean() + _exact_softplus(fake).mean()
    ctx.assert_close(got, expected.to(dtype), inputs=inputs)


@discriminator_loss.property("rewards_correct_confidence", "raising the real logits and lowering the fake logits lowers the loss", tier="public")
@given(real=gs.gan_logits(dtype=torch.float64, scale=3.0), fake=gs.gan_logits(dtype=torch.float64, scale=3.0), delta=st.floats(0.5, 2.0), dtype=gs.float_dtypes())
def _d_monotone(ctx: Context, real: torch.Tensor, fake: torch.Tensor, delta: float, dtype: torch.dtype) -> None:
    real, fake = real.to(dtype), fake.to(dtype)
    before = ctx.call(real, fake)
    after = ctx.call(real + delta, fake - delta)
    ctx.check(bool(torch.as_tensor(after < before).all()), f"the loss should decrease when D gets more confident and right (real + {delta:.3g}, fake − {delta:.3g}); it went from {before} to {after}", inputs={"real_logits": real, "fake_logits": fake})


@discriminator_loss.property("matches_reference", "the loss equals the reference for batches of different sizes, (B,) or (B, 1)", tier="hidden")
@given(real=gs.gan_logits(dtype=torch.float64), fake=gs.gan_logits(dtype=torch.float64))
def _d_matches_reference(ctx: Context, real: torch.Tensor, fake: torch.Tensor) -> None:
    for dtype in gs.FLOAT_DTYPES:
        r, f = real.to(dtype), fake.to(dtype)
        ctx.assert_close(ctx.call(r, f), ctx.ref(r, f), inputs={"real_logits": r, "fake_logits": f})


@discriminator_loss.property("gradients_match", "gradients with respect to both logits equal the reference's (σ(real) − 1)/B_real and σ(fake)/B_fake", tier="hidden")
@given(real=gs.gan_logits(dtype=torch.float64, extreme=True), fake=gs.gan_logits(dtype=torch.float64), dtype=gs.float_dtypes())
def _d_gradients(ctx: Context, real: torch.Tensor, fake: torch.Tensor, dtype: torch.dtype) -> None:
    real, fake = real.to(dtype), fake.to(dtype)
    g = torch.tensor(1.0, dtype=dtype)
    value, grads = ctx.student.vjp(ctx.exercise.name, (real, fake), g, [0, 1])
    r, f = real.clone().requires_grad_(True), fake.clone().requires_grad_(True)
    ref_value = ctx.ref(r, f)
    expected = torch.autograd.grad(ref_value, (r, f))
    got = _none_as_zeros(grads["inputs"], [real, fake])
    _assert_gradients(ctx, value, ref_value.detach(), got, expected, inputs={"real_logits": real, "fake_logits": fake}, what="the gradients (d real, d fake)")


@discriminator_loss.property("dtype_contract", "the loss is a 0-d tensor in the logits' dtype", tier="public")
@given(real=gs.gan_logits(dtype=torch.float64), fake=gs.gan_logits(dtype=torch.float64))
def _d_dtype(ctx: Context, real: torch.Tensor, fake: torch.Tensor) -> None:
    for dtype in gs.FLOAT_DTYPES:
        r, f = real.to(dtype), fake.to(dtype)
        _scalar_check(ctx, ctx.call(r, f), dtype, {"real_logits": r, "fake_logits": f})


# ----------------------------------------------------------------------------- generator_loss


def _g_saturating_sign_flipped(fake_logits, non_saturating=True):
    if non_saturating:
        return F.softplus(-fake_logits).mean()
    return F.softplus(fake_logits).mean()


def _g_flag_ignored(fake_logits, non_saturating=True):
    return F.softplus(-fake_logits).mean()


def _g_flag_inverted(fake_logits, non_saturating=True):
    if non_saturating:
        return -F.softplus(fake_logits).mean()
    return F.softplus(-fake_logits).mean()


def _g_log_of_sigmoid(fake_logits, non_saturating=True):
    d = torch.sigmoid(fake_logits)
    return -torch.log(d).mean() if non_saturating else torch.log(1 - d).mean()


generator_loss = Exercise(
    "gan.generator_loss",
    mistakes=[
        Mistake("saturating_sign_flipped", "your saturating loss is mean(softplus(fake)) = −log(1 − D(G(z))), the discriminator's term; G minimizes +log(1 − D(G(z))) = −mean(softplus(fake))", _g_saturating_sign_flipped),
        Mistake("flag_ignored", "your output is the non-saturating loss for both settings of non_saturating", _g_flag_ignored),
        Mistake("flag_inverted", "your output swaps the two variants: non_saturating=True is −log D(G(z)) = mean(softplus(−fake))", _g_flag_inverted),
        Mistake("log_of_sigmoid", "your output computes log of a sigmoid, which is −inf or has an infinite gradient once sigmoid rounds to 0 or 1 (logits of ±100); use softplus", _g_log_of_sigmoid),
    ],
)


# The generator-loss properties try non_saturating=True before False: a student who mixes up
# the flag then fails on True, where "flag inverted" and "flag ignored" differ.
VARIANTS = (True, False)


@generator_loss.property("gradient_saturation", "d loss/d logit is −σ(−l)/B (non-saturating: strong when D rejects fakes) and −σ(l)/B (saturating: vanishes there)", tier="public")
@given(fake=gs.gan_logits(dtype=torch.float64, extreme=True), dtype=gs.float_dtypes())
@example(fake=torch.tensor([-100.0, -10.0, 0.0]), dtype=torch.float32)
def _g_gradient(ctx: Context, fake: torch.Tensor, dtype: torch.dtype) -> None:
    fake = fake.to(dtype)
    f64 = fake.double()
    for non_saturating in VARIANTS:
        value, grads = ctx.student.vjp(ctx.exercise.name, (fake,), torch.tensor(1.0, dtype=dtype), [0], non_saturating=non_saturating)
        (got,) = _none_as_zeros(grads["inputs"], [fake])
        expected = -torch.sigmoid(-f64 if non_saturating else f64) / fake.numel()
        expected_value = _exact_softplus(-fake).mean() if non_saturating else -_exact_softplus(fake).mean()
        inputs = {"fake_logits": fake, "non_saturating": non_saturating}
        _assert_gradients(ctx, value, expected_value.to(dtype), got, expected.to(dtype), inputs=inputs, what="the gradient with respect to the logits")


@generator_loss.property("variants_sum_to_minus_mean_logit", "non-saturating + saturating loss = −mean(logits), since softplus(−l) − softplus(l) = −l", tier="public")
@given(fake=gs.gan_logits(dtype=torch.float64), dtype=gs.float_dtypes())
def _g_sum(ctx: Context, fake: torch.Tensor, dtype: torch.dtype) -> None:
    fake = fake.to(dtype)
    total = ctx.call(fake, True) + ctx.call(fake, False)
    ctx.assert_close(total, -fake.mean(), inputs={"fake_logits": fake}, what="generator_loss(l, True) + generator_loss(l, False)")


@generator_loss.property("known_answer", "logit 0 gives ln 2 (non-saturating) and −ln 2 (saturating); logit ln 3 gives ln 4/3 and −ln 4", tier="public")
@given(dtype=gs.float_dtypes())
def _g_known_answer(ctx: Context, dtype: torch.dtype) -> None:
    fake = torch.tensor([0.0, math.log(3.0)], dtype=dtype)  # D(G(z)) = ½ and ¾
    # Non-saturating first: a variant that mixes up the flag fails there and is named precisely.
    for non_saturating, parts in ((True, (math.log(2.0), math.log(4 / 3))), (False, (-math.log(2.0), -math.log(4.0)))):
        got = ctx.call(fake, non_saturating=non_saturating)
        ctx.assert_close(got, torch.tensor(sum(parts) / 2, dtype=dtype), inputs={"fake_logits": fake, "non_saturating": non_saturating})


@generator_loss.property("finite_for_extreme_logits", "both variants are finite and exact for logits of ±100", tier="public")
@given(fake=gs.gan_logits(dtype=torch.float64, extreme=True), dtype=gs.float_dtypes())
@example(fake=torch.tensor([100.0, -100.0, 2.0]), dtype=torch.float32)
def _g_extreme(ctx: Context, fake: torch.Tensor, dtype: torch.dtype) -> None:
    fake = fake.to(dtype)
    for non_saturating in VARIANTS:
        inputs = {"fake_logits": fake, "non_saturating": non_saturating}
        got = ctx.call(fake, non_saturating=non_saturating)
        ctx.check(isinstance(got, torch.Tensor) and bool(got.isfinite().all()), f"the loss should be finite for logits of ±100; got {got}", inputs=inputs)
        expected = _exact_softplus(-fake).mean() if non_saturating else -_exact_softplus(fake).mean()
        ctx.assert_close(got, expected.to(dtype), inputs=inputs)


@generator_loss.property("matches_reference", "both variants equal the reference on random logits", tier="hidden")
@given(fake=gs.gan_logits(dtype=torch.float64))
def _g_matches_reference(ctx: Context, fake: torch.Tensor) -> None:
    for dtype in gs.FLOAT_DTYPES:
        f = fake.to(dtype)
        for non_saturating in VARIANTS:
            got = ctx.call(f, non_saturating=non_saturating)
            ctx.assert_close(got, ctx.ref(f, non_saturating=non_saturating), inputs={"fake_logits": f, "non_saturating": non_saturating})


@generator_loss.property("dtype_contract", "the loss is a 0-d tensor in the logits' dtype", tier="public")
@given(fake=gs.gan_logits(dtype=torch.float64), non_saturating=st.booleans())
def _g_dtype(ctx: Context, fake: torch.Tensor, non_saturating: bool) -> None:
    for dtype in gs.FLOAT_DTYPES:
        f = fake.to(dtype)
        _scalar_check(ctx, ctx.call(f, non_saturating=non_saturating), dtype, {"fake_logits": f, "non_saturating": non_saturating})


# ----------------------------------------------------------------------------- gradient_penalty


def _penalty_from_grad(grad: torch.Tensor, weight: float, *, flatten: bool = True, squared: bool = False) -> torch.Tensor:
    per_sample = grad.flatten(1) if flatten else grad
    norms = per_sample.norm(dim=1)
    if squared:
        norms = norms.square()
    return weight * (norms - 1).square().mean()


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


# ----------------------------------------------------------------------------- minibatch_stddev


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


# ----------------------------------------------------------------------------- concat_condition


def _cond_onehot_first(x, labels, num_classes):
    onehot = F.one_hot(labels, num_classes).to(x.dtype)
    if x.dim() == 4:
        onehot = onehot[:, :, None, None].expand(-1, -1, *x.shape[2:])
    return torch.cat([onehot, x], dim=1)


def _cond_num_classes_inferred(x, labels, num_classes):
    onehot = F.one_hot(labels).to(x.dtype)  # K = max(labels) + 1
    if x.dim() == 4:
        onehot = onehot[:, :, None, None].expand(-1, -1, *x.shape[2:])
    return torch.cat([x, onehot], dim=1)


def _cond_last_axis(x, labels, num_classes):
    onehot = F.one_hot(labels, num_classes).to(x.dtype)
    if x.dim() == 4:
        onehot = onehot[:, None, None, :].expand(-1, x.shape[1], x.shape[2], -1)  # (B, C, H, K)
    return torch.cat([x, onehot], dim=-1)


concat_condition = Exercise(
    "gan.concat_condition",
    mistakes=[
        Mistake("onehot_first", "your output puts the one-hot before x; the condition is concatenated after x along dim 1", _cond_onehot_first),
        Mistake("num_classes_inferred", "your output has max(labels) + 1 one-hot columns: F.one_hot infers the number of classes unless you pass num_classes", _cond_num_classes_inferred),
        Mistake("last_axis_for_images", "for images your output concatenates along the last axis (width); the one-hot becomes K extra channels (dim 1), each constant over H×W", _cond_last_axis),
    ],
)


def _cond_inputs(a: dict) -> dict:
    return {"x": a["x"], "labels": a["labels"], "num_classes": a["num_classes"]}


def _expected_condition(x: torch.Tensor, labels: torch.Tensor, k: int) -> torch.Tensor:
    """The layout, built without one_hot: channel D + k is 1 exactly where label == k."""
    onehot = (labels[:, None] == torch.arange(k)[None, :]).to(x.dtype)  # (B, K)
    onehot = onehot.reshape(*onehot.shape, *([1] * (x.dim() - 2))).expand(-1, -1, *x.shape[2:])
    return torch.cat([x, onehot], dim=1)


@concat_condition.property("vector_layout", "for x (B, D) the result is (B, D+K): x, then the one-hot row of the label (K columns even if some class is absent)", tier="public")
@given(a=gs.condition_inputs(images=False))
@example(a={"x": torch.ones(2, 3), "labels": torch.tensor([0, 0]), "num_classes": 3})
def _cond_vector(ctx: Context, a: dict) -> None:
    ctx.assert_close(ctx.call(a["x"], a["labels"], a["num_classes"]), _expected_condition(a["x"], a["labels"], a["num_classes"]), inputs=_cond_inputs(a))


@concat_condition.property("image_layout", "for x (B, C, H, W) the result is (B, C+K, H, W): channel C + k is 1 everywhere for samples of class k", tier="public")
@given(a=gs.condition_inputs(images=True))
def _cond_image(ctx: Context, a: dict) -> None:
    ctx.assert_close(ctx.call(a["x"], a["labels"], a["num_classes"]), _expected_condition(a["x"], a["labels"], a["num_classes"]), inputs=_cond_inputs(a))


@concat_condition.property("gradient_reaches_x", "the gradient with respect to x is the upstream gradient of x's channels", tier="public")
@given(a=gs.condition_inputs(), seed=gs.seeds())
def _cond_gradient(ctx: Context, a: dict, seed: int) -> None:
    x, k = a["x"], a["num_classes"]
    g = gs.make_tensor((x.shape[0], x.shape[1] + k, *x.shape[2:]), x.dtype, seed)
    value, grads = ctx.student.vjp(ctx.exercise.name, (x, a["labels"], k), g, [0])
    (got,) = _none_as_zeros(grads["inputs"], [x])
    expected_value = _expected_condition(x, a["labels"], k)
    _assert_gradients(ctx, value, expected_value, got, g[:, : x.shape[1]], inputs=_cond_inputs(a), what="the gradient with respect to x")


@concat_condition.property("matches_reference", "the result equals the reference for vectors and images", tier="hidden")
@given(drawn=gs.condition_inputs())
def _cond_matches_reference(ctx: Context, drawn: dict) -> None:
    for dtype in gs.FLOAT_DTYPES:
        a = _in_dtype(drawn, dtype)
        ctx.assert_close(ctx.call(a["x"], a["labels"], a["num_classes"]), ctx.ref(a["x"], a["labels"], a["num_classes"]), inputs=_cond_inputs(a))


@concat_condition.property("dtype_contract", "the result has x's dtype (float32 or float64), the one-hot included", tier="public")
@given(drawn=gs.condition_inputs())
def _cond_dtype(ctx: Context, drawn: dict) -> None:
    for dtype in gs.FLOAT_DTYPES:
        a = _in_dtype(drawn, dtype)
        got = ctx.call(a["x"], a["labels"], a["num_classes"])
        _check_plain(isinstance(got, torch.Tensor) and got.dtype == dtype, f"x was {dtype}, the result is {getattr(got, 'dtype', type(got).__name__)}", _cond_inputs(a))
