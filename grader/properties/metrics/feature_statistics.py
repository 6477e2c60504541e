"""metrics.feature_statistics: the mean and the unbiased covariance of feature rows; its properties
and known mistakes.
"""

from __future__ import annotations

import warnings

import torch
from hypothesis import example, given
from hypothesis import strategies as st

from grader import strategies as gs
from grader.properties.api import Context, Exercise, Mistake
from grader.properties.common import unless_right as _unless_right
from grader.properties.judge_only import judge_only
from grader.properties.metrics._shared import _type_name
from grader.properties.metrics.strategies import far_from_origin_features, feature_samples
from grader.properties.stability import ONE_PASS_VARIANCE, assert_stable


@judge_only
def _fs_right(features):
    mu = features.mean(dim=0)
    c = features - mu
    return mu, c.T @ c / (features.shape[0] - 1)


def _fs_biased(features):
    mu = features.mean(dim=0)
    c = features - mu
    return mu, c.T @ c / features.shape[0]


def _fs_columns_as_samples(features):
    with warnings.catch_warnings():  # torch.cov warns when there is one column (no degrees of freedom)
        warnings.simplefilter("ignore")
        return features.mean(dim=0), torch.cov(features)  # torch.cov wants variables in rows


def _fs_scalar_for_d1(features):
    return features.mean(dim=0), torch.cov(features.T)  # a 0-d tensor when D = 1


def _fs_not_centered(features):
    return features.mean(dim=0), features.T @ features / (features.shape[0] - 1)


def _fs_one_pass(features):
    n = features.shape[0]
    mu = features.mean(dim=0)
    second = (features[:, :, None] * features[:, None, :]).sum(dim=0)  # Σ x·xᵀ, exactly symmetric
    return mu, (second - n * (mu[:, None] * mu[None, :])) / (n - 1)  # E[xxᵀ] − μμᵀ: cancels


feature_stats = Exercise(
    "metrics.feature_statistics",
    mistakes=[
        Mistake("biased_covariance", "your covariance divides by N; FID uses the unbiased covariance, dividing by N − 1 (numpy.cov's default)", _fs_biased),
        Mistake("columns_as_samples", "your covariance equals torch.cov(features), which treats the columns as samples; rows are samples here: torch.cov(features.T), or centre and divide by N − 1", _fs_columns_as_samples),
        Mistake("scalar_for_d1", "your covariance is a 0-d tensor for D = 1 (as torch.cov(features.T) returns); sigma must be a (D, D) matrix, (1, 1) here", _unless_right(_fs_scalar_for_d1, _fs_right)),
        Mistake("one_pass_covariance", f"your covariance equals (XᵀX − N·μμᵀ)/(N − 1): {ONE_PASS_VARIANCE}", _unless_right(_fs_one_pass, _fs_right)),
        Mistake("not_centered", "your covariance equals XᵀX/(N − 1) without subtracting the mean first", _unless_right(_fs_not_centered, _fs_right)),
    ],
)


def _check_stats_shapes(ctx: Context, got: object, d: int, inputs: dict) -> None:
    ok = isinstance(got, tuple) and len(got) == 2 and all(isinstance(t, torch.Tensor) for t in got)
    ctx.check(ok, f"expected a tuple (mu, sigma) of tensors, got {_type_name(got)}", inputs=inputs)
    mu, sigma = got
    ctx.check(tuple(mu.shape) == (d,) and tuple(sigma.shape) == (d, d), f"expected mu of shape ({d},) and sigma of shape ({d}, {d}), got {tuple(mu.shape)} and {tuple(sigma.shape)}", inputs=inputs)


@feature_stats.property("two_samples_known_answer", "for two samples a, b: mu = (a + b)/2 and sigma = (a − b)(a − b)ᵀ/2 (unbiased), a (1, 1) matrix when D = 1", tier="public")
@given(d=gs.dims(1, 6), dtype=gs.float_dtypes(), seed=gs.seeds())
@example(d=1, dtype=torch.float32, seed=0)
def _fs_two_samples(ctx: Context, d: int, dtype: torch.dtype, seed: int) -> None:
    x = gs.make_tensor((2, d), dtype, seed, scale=2.0) + 1.0  # (2, D), means away from 0
    got = ctx.call(x)
    _check_stats_shapes(ctx, got, d, {"features": x})
    a, b = x.double()
    diff = (a - b)[:, None]  # (D, 1)
    expected = ((a + b) / 2, diff @ diff.T / 2)
    ctx.assert_close(got, tuple(t.to(dtype) for t in expected), inputs={"features": x})


@feature_stats.property("translation_and_scaling", "features·c + t have mean mu·c + t and covariance c²·sigma; sigma is symmetric", tier="public")
@given(x=feature_samples(), seed=gs.seeds(), c=st.sampled_from([-3.0, 0.5, 2.0]))
def _fs_affine(ctx: Context, x: torch.Tensor, seed: int, c: float) -> None:
    d = x.shape[1]
    mu, sigma = got = ctx.call(x)
    _check_stats_shapes(ctx, got, d, {"features": x})
    ctx.check(torch.equal(sigma, sigma.T), "sigma should be exactly symmetric", inputs={"features": x})
    t = gs.make_tensor((d,), x.dtype, seed, scale=3.0)
    moved = x * c + t
    got2 = ctx.call(moved)
    ctx.assert_close(got2, (mu * c + t, sigma * c**2), inputs={"features": moved}, what="(mu, sigma) of features·c + t")


@feature_stats.property("matches_reference", "mu and sigma equal the reference's on random features", tier="hidden")
@given(x=feature_samples())
def _fs_matches_reference(ctx: Context, x: torch.Tensor) -> None:
    ctx.assert_close(ctx.call(x), ctx.ref(x), inputs={"features": x})


@feature_stats.property("gradients_match", "gradients of mu and sigma with respect to the features equal the reference's", tier="hidden")
@given(x=feature_samples(), seed=gs.seeds())
def _fs_gradients(ctx: Context, x: torch.Tensor, seed: int) -> None:
    d = x.shape[1]
    g_mu, g_sigma = gs.make_tensor((d,), x.dtype, seed), gs.make_tensor((d, d), x.dtype, seed + 1)
    _, grads = ctx.student.vjp(ctx.exercise.name, (x,), (g_mu, g_sigma), [0])
    xr = x.clone().requires_grad_(True)
    (expected,) = torch.autograd.grad(ctx.ref(xr), xr, (g_mu, g_sigma))
    ctx.assert_close(grads["inputs"][0], expected, inputs={"features": x}, what="the gradient with respect to the features")


@feature_stats.property("dtype_contract", "mu and sigma keep the input's dtype, and float64 inputs keep float64 range and precision", tier="public")
@given(x=feature_samples())
def _fs_dtype_contract(ctx: Context, x: torch.Tensor) -> None:
    mu, sigma = ctx.call(x)
    ctx.check(mu.dtype == x.dtype and sigma.dtype == x.dtype, f"features were {x.dtype}, mu and sigma are {mu.dtype} and {sigma.dtype}", inputs={"features": x})
    if x.dtype == torch.float64:
        # Products of 1e-25-sized features (1e-50) underflow to 0 in float32, not in float64.
        s = 1e-25
        tiny = x * s
        rtol, _ = ctx.tolerance(x.dtype)
        ctx.assert_close(ctx.call(tiny), (mu * s, sigma * s**2), inputs={"features": tiny}, what="(mu, sigma) of features·1e-25 (is there a float32 round trip?)", rtol=rtol * 10, atol=1e-9 * s**2)



@feature_stats.property("far_from_origin", "features far from the origin (|coordinates| ≈ 4e3 in float32, 3e8 in float64) have the covariance of the features moved to the origin, and the mean moved back", tier="public")
@given(a=far_from_origin_features())
def _fs_far_from_origin(ctx: Context, a: dict) -> None:
    x, centred = a["features"], a["centred"].double()
    shift = (x[0] - a["centred"][0]).double()  # c, exact
    c = centred - centred.mean(dim=0)
    expected = ((centred.mean(dim=0) + shift).to(x.dtype), (c.T @ c / (x.shape[0] - 1)).to(x.dtype))
    assert_stable(ctx, ctx.call(x), expected, inputs={"features": x}, what="(mu, sigma)", formula=ONE_PASS_VARIANCE)
