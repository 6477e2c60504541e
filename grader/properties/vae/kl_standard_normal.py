"""Properties and known mistakes of ``vae.kl_standard_normal``."""

from __future__ import annotations

import math

import torch
from hypothesis import given

from grader.properties.api import Context, Exercise, Mistake
from grader.properties.common import assert_gradients as _assert_gradients
from grader.properties.common import check_plain as _check_plain
from grader.properties.common import in_dtype as _in_dtype
from grader.properties.vae import strategies as gs
from grader.properties.vae._shared import _grads_or_zeros, _kl_terms


def _kl_no_half(mu, logvar):
    return -_kl_terms(mu, logvar).sum(dim=-1)


def _kl_mean_over_latent(mu, logvar):
    return -0.5 * _kl_terms(mu, logvar).mean(dim=-1)


def _kl_batch_reduced(mu, logvar):
    return (-0.5 * _kl_terms(mu, logvar).sum(dim=-1)).mean()


def _kl_logvar_as_log_std(mu, logvar):
    return -0.5 * (1 + 2 * logvar - mu.square() - (2 * logvar).exp()).sum(dim=-1)


def _kl_sign_flipped(mu, logvar):
    return 0.5 * _kl_terms(mu, logvar).sum(dim=-1)


kl = Exercise(
    "vae.kl_standard_normal",
    mistakes=[
        Mistake("no_half", "your output equals twice the KL: the closed form is −½·Σ(1 + logvar − mu² − exp(logvar))", _kl_no_half),
        Mistake("mean_over_latent", "your output averages over the latent dimensions; the KL of a diagonal Gaussian is the sum of the per-dimension KLs", _kl_mean_over_latent),
        Mistake("batch_reduced", "your output averages over the batch; return one KL per sample, shape (B,), and let the training loop reduce", _kl_batch_reduced),
        Mistake("logvar_as_log_std", "your output treats logvar as log σ (log standard deviation); here logvar = log σ², so σ² = exp(logvar)", _kl_logvar_as_log_std),
        Mistake("sign_flipped", "your output is minus the KL (½·Σ(1 + logvar − mu² − exp(logvar)) without the leading minus); the KL is never negative", _kl_sign_flipped),
    ],
)


@kl.property("nonnegative_zero_only_at_prior", "KL ≥ ½·Σmu² ≥ 0, it is 0 for the prior (mu = 0, logvar = 0), and positive when only the variance differs", tier="public")
@given(a=gs.gaussian_params(), seed=gs.seeds())
def _nonnegative(ctx: Context, a: dict, seed: int) -> None:
    mu, logvar = a["mu"].clone(), a["logvar"].clone()
    b = mu.shape[0]
    kind = torch.randint(0, 3, (b,), generator=gs.generator(seed))  # 0: prior, 1: variance only, 2: general
    kind[0] = 0
    prior, var_only = kind == 0, kind == 1
    mu[prior | var_only] = 0.0
    logvar[prior] = 0.0
    # |logvar| ≥ ½ where only the variance differs: each dimension then contributes ≥ 0.05.
    logvar[var_only] = torch.where(logvar[var_only] < 0, logvar[var_only].clamp(max=-0.5), logvar[var_only].clamp(min=0.5))
    got = ctx.call(mu, logvar)
    inputs = {"mu": mu, "logvar": logvar}
    ctx.check(isinstance(got, torch.Tensor) and got.shape == (b,), f"the KL should have shape (B,) = {(b,)}, got {getattr(got, 'shape', type(got).__name__)}", inputs=inputs)
    rtol, atol = ctx.tolerance(mu.dtype)
    bound = 0.5 * mu.square().sum(dim=-1)  # exp(lv) − 1 − lv ≥ 0, so KL ≥ ½·Σmu²
    ctx.check(bool((got >= bound * (1 - rtol) - atol).all()), f"KL must be ≥ ½·Σmu² ≥ 0 per sample; got {got.tolist()} where ½·Σmu² = {bound.tolist()}", inputs=inputs)
    ctx.check(bool((got[prior].abs() <= atol).all()), f"KL must be 0 at the prior (rows {prior.nonzero().flatten().tolist()}); got {got[prior].tolist()}", inputs=inputs)
    ctx.check(bool((got[var_only] >= 0.05).all()), f"KL must be positive when the variance differs from 1 (rows {var_only.nonzero().flatten().tolist()}); got {got[var_only].tolist()}", inputs=inputs)


@kl.property("known_values", "KL per sample equals the closed form on hand-computed rows (mu = (1, 0, −2), σ² = (1, 2, ¼)) and 0 at the prior", tier="public")
@given(dtype=gs.float_dtypes())
def _kl_known_values(ctx: Context, dtype: torch.dtype) -> None:
    mu = torch.tensor([[1.0, 0.0, -2.0], [0.0, 0.0, 0.0], [0.0, 0.5, 0.0]], dtype=dtype)
    logvar = torch.tensor([[0.0, math.log(2.0), -math.log(4.0)], [0.0, 0.0, 0.0], [math.log(3.0), 0.0, 0.0]], dtype=dtype)
    # Per dimension: ½(mu² + σ² − 1 − ln σ²).
    first = 0.5 * 1.0 + 0.5 * (2.0 - 1.0 - math.log(2.0)) + 0.5 * (4.0 + 0.25 - 1.0 + math.log(4.0))
    third = 0.5 * (3.0 - 1.0 - math.log(3.0)) + 0.5 * 0.25
    expected = torch.tensor([first, 0.0, third], dtype=dtype)
    ctx.assert_close(ctx.call(mu, logvar), expected, inputs={"mu": mu, "logvar": logvar})


@kl.property("additive_over_latent_dims", "the KL of concatenated latents is the sum of their KLs (independent dimensions add)", tier="public")
@given(a=gs.gaussian_params(), c=gs.gaussian_params())
def _kl_additive(ctx: Context, a: dict, c: dict) -> None:
    b = a["mu"].shape[0]
    mu2, lv2 = c["mu"][:1].expand(b, -1).to(a["mu"].dtype), c["logvar"][:1].expand(b, -1).to(a["mu"].dtype)
    mu, logvar = torch.cat([a["mu"], mu2], dim=1), torch.cat([a["logvar"], lv2], dim=1)
    parts = ctx.call(a["mu"], a["logvar"]) + ctx.call(mu2.contiguous(), lv2.contiguous())
    whole = ctx.call(mu, logvar)
    ctx.assert_close(whole, parts, inputs={"mu": mu, "logvar": logvar}, what="KL(concatenation)")


@kl.property("matches_reference", "the KL equals the reference on random mu and logvar", tier="hidden")
@given(drawn=gs.gaussian_params(max_abs_logvar=8.0))
def _kl_matches_reference(ctx: Context, drawn: dict) -> None:
    for dtype in gs.FLOAT_DTYPES:
        a = _in_dtype(drawn, dtype)
        ctx.assert_close(ctx.call(a["mu"], a["logvar"]), ctx.ref(a["mu"], a["logvar"]), inputs=a)


@kl.property("gradients_match", "gradients with respect to mu and logvar equal the reference's (mu and ½(exp(logvar) − 1) times the upstream gradient)", tier="hidden")
@given(a=gs.gaussian_params(), seed=gs.seeds())
def _kl_gradients(ctx: Context, a: dict, seed: int) -> None:
    mu, logvar = a["mu"], a["logvar"]
    g = gs.make_tensor((mu.shape[0],), mu.dtype, seed)
    value, grads = ctx.student.vjp(ctx.exercise.name, (mu, logvar), g, [0, 1])
    mr, lr = mu.clone().requires_grad_(True), logvar.clone().requires_grad_(True)
    ref_value = ctx.ref(mr, lr)
    expected = torch.autograd.grad(ref_value, (mr, lr), g)
    _assert_gradients(ctx, value, ref_value.detach(), _grads_or_zeros(grads["inputs"], [mu, logvar]), expected, inputs=a, what="the gradients (d mu, d logvar)")


@kl.property("dtype_contract", "the result keeps the input's dtype (float32 or float64)", tier="public")
@given(drawn=gs.gaussian_params())
def _kl_dtype(ctx: Context, drawn: dict) -> None:
    for dtype in gs.FLOAT_DTYPES:
        a = _in_dtype(drawn, dtype)
        got = ctx.call(a["mu"], a["logvar"])
        _check_plain(isinstance(got, torch.Tensor) and got.dtype == dtype, f"inputs were {dtype}, the result is {getattr(got, 'dtype', type(got).__name__)}", a)
