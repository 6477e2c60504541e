"""Properties and known mistakes of ``gan.discriminator_loss``."""

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


@discriminator_loss.property("exact_for_large_logits", "the loss is exact for logits of magnitude 1e2–1e4 (BCE-with-logits never saturates)", tier="public")
@given(real=gs.large_gan_logits(), fake=gs.large_gan_logits())
def _d_large_logits(ctx: Context, real: torch.Tensor, fake: torch.Tensor) -> None:
    fake = fake.to(real.dtype)
    expected = (_exact_softplus(-real).mean() + _exact_softplus(fake).mean()).to(real.dtype)
    assert_stable(ctx, ctx.call(real, fake), expected, inputs={"real_logits": real, "fake_logits": fake}, what="the loss", formula=SIGMOID_THEN_LOG)
