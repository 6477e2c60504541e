"""Properties and known mistakes of ``vae.reparameterize``."""

from __future__ import annotations

import torch
from hypothesis import example, given

from grader.properties.api import Context, Exercise, Mistake
from grader.properties.common import assert_gradients as _assert_gradients
from grader.properties.common import check_plain as _check_plain
from grader.properties.common import in_dtype as _in_dtype
from grader.properties.vae import strategies as gs
from grader.properties.vae._shared import _grads_or_zeros


def _std_is_exp_logvar(mu, logvar, eps):
    return mu + torch.exp(logvar) * eps


def _logvar_as_std(mu, logvar, eps):
    return mu + logvar * eps


def _sqrt_of_variance(mu, logvar, eps):
    return mu + torch.sqrt(torch.exp(logvar)) * eps


reparameterize = Exercise(
    "vae.reparameterize",
    mistakes=[
        Mistake("std_is_exp_logvar", "your output equals mu + exp(logvar)·eps, i.e. the variance times eps; the standard deviation is exp(½·logvar)", _std_is_exp_logvar),
        Mistake("logvar_as_std", "your output equals mu + logvar·eps: logvar is the log-variance, not the standard deviation; use exp(½·logvar)", _logvar_as_std),
        Mistake("sqrt_of_variance", "your output equals mu + sqrt(exp(logvar))·eps, which is right on paper but overflows to inf in float32 for logvar > 88; compute exp(½·logvar) directly", _sqrt_of_variance),
    ],
)


@reparameterize.property("known_std", "with logvar = 2·ln s the result is mu + s·eps", tier="public")
@given(a=gs.reparameterize_inputs(), seed=gs.seeds())
def _known_std(ctx: Context, a: dict, seed: int) -> None:
    mu, eps = a["mu"], a["eps"]
    s = gs.make_tensor(tuple(mu.shape), torch.float64, seed, low=0.2, high=3.0)
    logvar = (2 * s.log()).to(mu.dtype)
    got = ctx.call(mu, logvar, eps)
    ctx.assert_close(got, mu + s.to(mu.dtype) * eps, inputs={"mu": mu, "logvar": logvar, "eps": eps})


@reparameterize.property("finite_for_extreme_logvar", "the result is finite and exact for logvar = ±100, also in float32", tier="public")
@given(dtype=gs.float_dtypes(), b=gs.dims(), d=gs.dims(), seed=gs.seeds())
@example(dtype=torch.float32, b=1, d=3, seed=0)
def _finite_for_extreme_logvar(ctx: Context, dtype: torch.dtype, b: int, d: int, seed: int) -> None:
    mu = gs.make_tensor((b, d), dtype, seed)
    eps = gs.make_tensor((b, d), dtype, seed + 1)
    g = gs.generator(seed + 2)
    extreme = (100.0 * (torch.randint(0, 2, (b, d), generator=g) * 2 - 1)).double()
    moderate = gs.make_tensor((b, d), torch.float64, seed + 3, low=-4.0, high=4.0)
    logvar = torch.where(torch.rand(b, d, generator=g) < 0.5, extreme, moderate).to(dtype)
    logvar.view(-1)[0] = 100.0  # always at least one huge variance
    got = ctx.call(mu, logvar, eps)
    inputs = {"mu": mu, "logvar": logvar, "eps": eps}
    ctx.check(isinstance(got, torch.Tensor) and bool(got.isfinite().all()), f"the result should be finite (std = e^50 ≈ 5.2e21 is representable); got {got}", inputs=inputs)
    expected = mu.double() + torch.exp(0.5 * logvar.double()) * eps.double()
    ctx.assert_close(got, expected.to(dtype), inputs=inputs)


@reparameterize.property("gradients_reach_mu_and_logvar", "∂z/∂mu = 1 and ∂z/∂logvar = ½·exp(½·logvar)·eps: gradients flow through the sample", tier="public")
@given(a=gs.reparameterize_inputs(), seed=gs.seeds())
def _gradients(ctx: Context, a: dict, seed: int) -> None:
    mu, logvar, eps = a["mu"], a["logvar"], a["eps"]
    g = gs.make_tensor(tuple(mu.shape), mu.dtype, seed)
    value, grads = ctx.student.vjp(ctx.exercise.name, (mu, logvar, eps), g, [0, 1])
    got = _grads_or_zeros(grads["inputs"], [mu, logvar])
    std = torch.exp(0.5 * logvar)
    _assert_gradients(ctx, value, mu + std * eps, got, (g, g * 0.5 * std * eps), inputs=a, what="the gradients (d mu, d logvar)")


@reparameterize.property("matches_reference", "z equals the reference on random mu, logvar and eps", tier="hidden")
@given(drawn=gs.reparameterize_inputs(max_abs_logvar=10.0))
def _reparameterize_matches_reference(ctx: Context, drawn: dict) -> None:
    for dtype in gs.FLOAT_DTYPES:
        a = _in_dtype(drawn, dtype)
        got = ctx.call(a["mu"], a["logvar"], a["eps"])
        ctx.assert_close(got, ctx.ref(a["mu"], a["logvar"], a["eps"]), inputs=a)


@reparameterize.property("dtype_contract", "the result keeps the input's dtype (float32 or float64) and shape (B, D)", tier="public")
@given(drawn=gs.reparameterize_inputs())
def _reparameterize_dtype(ctx: Context, drawn: dict) -> None:
    for dtype in gs.FLOAT_DTYPES:
        a = _in_dtype(drawn, dtype)
        got = ctx.call(a["mu"], a["logvar"], a["eps"])
        ok = isinstance(got, torch.Tensor) and got.dtype == dtype and got.shape == a["mu"].shape
        _check_plain(ok, f"inputs were {dtype} {tuple(a['mu'].shape)}, the result is {getattr(got, 'dtype', type(got).__name__)} {tuple(getattr(got, 'shape', ()))}", a)
