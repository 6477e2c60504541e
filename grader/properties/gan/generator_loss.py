"""Properties and known mistakes of ``gan.generator_loss``."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from hypothesis import example, given
from hypothesis import strategies as st

from grader.properties.api import Context, Exercise, Mistake
from grader.properties.common import assert_gradients as _assert_gradients
from grader.properties.gan import strategies as gs
from grader.properties.gan._shared import _exact_softplus, _none_as_zeros, _scalar_check
from grader.properties.stability import SIGMOID_THEN_LOG, assert_stable


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


@generator_loss.property("exact_for_large_logits", "both variants are exact for logits of magnitude 1e2–1e4 (no saturating log of a sigmoid)", tier="public")
@given(fake=gs.large_gan_logits(), non_saturating=st.booleans())
def _g_large_logits(ctx: Context, fake: torch.Tensor, non_saturating: bool) -> None:
    expected = (_exact_softplus(-fake).mean() if non_saturating else -_exact_softplus(fake).mean()).to(fake.dtype)
    got = ctx.call(fake, non_saturating=non_saturating)
    assert_stable(ctx, got, expected, inputs={"fake_logits": fake, "non_saturating": non_saturating}, what="the loss", formula=SIGMOID_THEN_LOG)
