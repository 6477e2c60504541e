"""metrics.frechet_distance: the Fréchet distance between two Gaussians, with the matrix square
root of the covariance product; its properties and known mistakes.
"""

from __future__ import annotations

import math

import torch
from hypothesis import example, given
from hypothesis import strategies as st

from grader import strategies as gs
from grader.properties.api import Context, Exercise, Mistake
from grader.properties.common import unless_right as _unless_right
from grader.properties.metrics._shared import _is_float, _type_name
from grader.properties.metrics.strategies import fid_stats, make_psd_covariance


def _fd_parts(mu1, sigma1, mu2, sigma2):
    diff = mu1 - mu2
    return diff @ diff, sigma1.trace() + sigma2.trace()


def _fd_true_sqrt_trace(sigma1, sigma2):
    # The eigenvalues of Σ1Σ2 are real and ≥ 0: sqrt after clamping the rounding noise.
    return torch.linalg.eigvals(sigma1 @ sigma2).real.clamp(min=0).sqrt().sum()


def _fd_right(mu1, sigma1, mu2, sigma2):
    mean_term, traces = _fd_parts(mu1, sigma1, mu2, sigma2)
    return (mean_term + traces - 2 * _fd_true_sqrt_trace(sigma1, sigma2)).item()


def _fd_elementwise_sqrt(mu1, sigma1, mu2, sigma2):
    mean_term, traces = _fd_parts(mu1, sigma1, mu2, sigma2)
    return (mean_term + traces - 2 * torch.sqrt(sigma1 @ sigma2).trace()).item()


def _fd_no_factor_two(mu1, sigma1, mu2, sigma2):
    mean_term, traces = _fd_parts(mu1, sigma1, mu2, sigma2)
    return (mean_term + traces - _fd_true_sqrt_trace(sigma1, sigma2)).item()


def _fd_norm_not_squared(mu1, sigma1, mu2, sigma2):
    _, traces = _fd_parts(mu1, sigma1, mu2, sigma2)
    return ((mu1 - mu2).norm() + traces - 2 * _fd_true_sqrt_trace(sigma1, sigma2)).item()


def _fd_no_sqrt(mu1, sigma1, mu2, sigma2):
    mean_term, traces = _fd_parts(mu1, sigma1, mu2, sigma2)
    return (mean_term + traces - 2 * (sigma1 @ sigma2).trace()).item()


def _psd_sqrt(a):
    # From the SVD (U·S·Uᵀ for a symmetric PSD matrix), not the reference's eigendecomposition:
    # the release ships this module, and must not ship the reference's code.
    u, s, vh = torch.linalg.svd(a)
    return u @ torch.diag_embed(s.sqrt()) @ vh


def _fd_product_of_roots(mu1, sigma1, mu2, sigma2):
    mean_term, traces = _fd_parts(mu1, sigma1, mu2, sigma2)
    return (mean_term + traces - 2 * (_psd_sqrt(sigma1) @ _psd_sqrt(sigma2)).trace()).item()


def _fd_real_before_sqrt(mu1, sigma1, mu2, sigma2):
    mean_term, traces = _fd_parts(mu1, sigma1, mu2, sigma2)
    return (mean_term + traces - 2 * torch.linalg.eigvals(sigma1 @ sigma2).real.sqrt().sum()).item()


frechet = Exercise(
    "metrics.frechet_distance",
    mistakes=[
        Mistake("real_before_sqrt", "your output is NaN, as when the square root is taken of eigenvalues of Σ1Σ2 that rounding made slightly negative (their exact value is 0 for singular covariances): clamp them at 0, or take the square root of the complex eigenvalues before the real part", _unless_right(_fd_real_before_sqrt, _fd_right)),
        Mistake("elementwise_sqrt", "your output uses the elementwise square root of Σ1Σ2 (torch.sqrt); FID needs the matrix square root, whose trace is Σ√λ over the eigenvalues λ of Σ1Σ2", _fd_elementwise_sqrt),
        Mistake("no_sqrt", "your output uses tr(Σ1Σ2) without the matrix square root", _fd_no_sqrt),
        Mistake("no_factor_two", "your output subtracts tr (Σ1Σ2)^{1/2} once; the formula subtracts it twice: tr(Σ1 + Σ2 − 2(Σ1Σ2)^{1/2})", _fd_no_factor_two),
        Mistake("norm_not_squared", "your output adds ‖mu1 − mu2‖; the mean term is the squared norm ‖mu1 − mu2‖²", _fd_norm_not_squared),
        Mistake("product_of_roots", "your output uses tr(Σ1^{1/2}Σ2^{1/2}); (Σ1Σ2)^{1/2} equals Σ1^{1/2}Σ2^{1/2} only when Σ1 and Σ2 commute", _unless_right(_fd_product_of_roots, _fd_right)),
    ],
)


def _fd_inputs(mu1, sigma1, mu2, sigma2) -> dict:
    return {"mu1": mu1, "sigma1": sigma1, "mu2": mu2, "sigma2": sigma2}


def _fd_scale(mu1, sigma1, mu2, sigma2) -> float:
    """The size of the terms FD is the difference of: errors are relative to it."""
    diff = (mu1 - mu2).double()
    return float(diff @ diff + sigma1.double().trace() + sigma2.double().trace()) + 1e-3


def _fd_tol(dtype: torch.dtype, scale: float, *, singular: bool = False) -> dict[str, float]:
    """Tolerances for FD. A square root turns rounding noise ε in a zero eigenvalue into √ε,
    so singular covariances get the catalog's relative 1e-4 (float64), and ~√eps in float32."""
    if singular:
        rel = 1e-4 if dtype == torch.float64 else 1e-2
    else:
        rel = 1e-9 if dtype == torch.float64 else 1e-4
    return {"rtol": max(rel, 1e-7), "atol": rel * scale}


def _fd_ref64(ctx: Context, a: dict) -> float:
    """The reference on float64 copies: the exact value float32 results are compared with."""
    return ctx.ref(*(a[k].double() for k in ("mu1", "sigma1", "mu2", "sigma2")))


def _call_fd(ctx: Context, a: dict) -> object:
    return ctx.call(a["mu1"], a["sigma1"], a["mu2"], a["sigma2"])


@frechet.property("zero_for_identical", "the distance between a Gaussian and itself is 0", tier="public")
@given(a=fid_stats())
def _fd_zero(ctx: Context, a: dict) -> None:
    mu, sigma = a["mu1"], a["sigma1"]
    got = ctx.call(mu, sigma, mu, sigma)
    ctx.assert_close(got, 0.0, inputs=_fd_inputs(mu, sigma, mu, sigma), what="FD(a, a)", **_fd_tol(mu.dtype, _fd_scale(mu, sigma, mu, sigma)))


@frechet.property("symmetric", "FD(1, 2) = FD(2, 1)", tier="public")
@given(a=fid_stats())
def _fd_symmetric(ctx: Context, a: dict) -> None:
    got = _call_fd(ctx, a)
    swapped = ctx.call(a["mu2"], a["sigma2"], a["mu1"], a["sigma1"])
    ctx.assert_close(swapped, got, inputs=a, what="FD with the two Gaussians swapped", **_fd_tol(a["mu1"].dtype, _fd_scale(**a)))


@frechet.property("nonnegative", "the distance is never negative (nor NaN), also for equal means and large covariances", tier="public")
@given(a=fid_stats(), same_mean=st.booleans(), c=st.sampled_from([1.0, 4.0]))
@example(a={"mu1": torch.zeros(2), "sigma1": torch.tensor([[4.0, 1.0], [1.0, 3.0]]), "mu2": torch.zeros(2), "sigma2": torch.tensor([[3.0, -1.0], [-1.0, 2.0]])}, same_mean=True, c=1.0)
def _fd_nonnegative(ctx: Context, a: dict, same_mean: bool, c: float) -> None:
    b = _fd_inputs(a["mu1"], a["sigma1"] * c, a["mu1"] if same_mean else a["mu2"], a["sigma2"] * c)
    got = _call_fd(ctx, b)
    ctx.check(_is_float(got), f"expected a Python float, got {_type_name(got)}", inputs=b)
    atol = _fd_tol(b["mu1"].dtype, _fd_scale(**b))["atol"]
    ctx.check(got >= -atol, f"a distance cannot be negative or NaN, got {got}", inputs=b)


@frechet.property("mean_shift", "for equal covariances the distance is the squared distance of the means ‖mu1 − mu2‖²", tier="public")
@given(a=fid_stats(), seed=gs.seeds())
def _fd_mean_shift(ctx: Context, a: dict, seed: int) -> None:
    mu1, sigma = a["mu1"], a["sigma1"]
    mu2 = (mu1.double() + gs.make_tensor(mu1.shape, torch.float64, seed, scale=1.5)).to(mu1.dtype)
    b = _fd_inputs(mu1, sigma, mu2, sigma)
    expected = float(((mu1.double() - mu2.double()) ** 2).sum())
    ctx.assert_close(_call_fd(ctx, b), expected, inputs=b, what="FD for equal covariances", **_fd_tol(mu1.dtype, _fd_scale(**b)))


@frechet.property("commuting_covariances", "for Σ1 = Q·diag(a)·Qᵀ and Σ2 = Q·diag(b)·Qᵀ the distance is ‖mu1 − mu2‖² + Σ(√a − √b)²", tier="public")
@given(d=gs.dims(2, 6), dtype=gs.float_dtypes(), seed=gs.seeds())
def _fd_commuting(ctx: Context, d: int, dtype: torch.dtype, seed: int) -> None:
    g = gs.generator(seed)
    q, _ = torch.linalg.qr(torch.randn((d, d), generator=g, dtype=torch.float64))  # a random rotation
    ev_a, ev_b = (torch.rand(d, generator=g, dtype=torch.float64) * 1.8 + 0.2 for _ in range(2))
    mu1, mu2 = (torch.randn(d, generator=g, dtype=torch.float64) for _ in range(2))

    def rotated(ev: torch.Tensor) -> torch.Tensor:
        s = (q * ev) @ q.T
        return ((s + s.T) / 2).to(dtype)

    b = _fd_inputs(mu1.to(dtype), rotated(ev_a), mu2.to(dtype), rotated(ev_b))
    expected = float(((mu1 - mu2) ** 2).sum() + ((ev_a.sqrt() - ev_b.sqrt()) ** 2).sum())
    ctx.assert_close(_call_fd(ctx, b), expected, inputs=b, what="FD of Gaussians with commuting covariances", **_fd_tol(dtype, _fd_scale(**b)))


@frechet.property("matches_reference", "equals the reference on random Gaussians (compared with the float64 value)", tier="hidden")
@given(a=fid_stats())
def _fd_matches_reference(ctx: Context, a: dict) -> None:
    ctx.assert_close(_call_fd(ctx, a), _fd_ref64(ctx, a), inputs=a, **_fd_tol(a["mu1"].dtype, _fd_scale(**a)))


@frechet.property("singular_covariances", "stays finite and correct (relative tolerance 1e-4) when a covariance is singular, as with fewer samples than features", tier="hidden")
@given(a=fid_stats(singular=True))
@example(a={"mu1": torch.zeros(3, dtype=torch.float64), "sigma1": make_psd_covariance(3, torch.float64, 1, rank=1), "mu2": torch.ones(3, dtype=torch.float64), "sigma2": make_psd_covariance(3, torch.float64, 2, rank=2)})
def _fd_singular(ctx: Context, a: dict) -> None:
    got = _call_fd(ctx, a)
    ctx.check(_is_float(got) and math.isfinite(got), f"expected a finite Python float, got {_type_name(got)}", inputs=a)
    ctx.assert_close(got, _fd_ref64(ctx, a), inputs=a, **_fd_tol(a["mu1"].dtype, _fd_scale(**a), singular=True))


@frechet.property("dtype_contract", "returns a Python float for float32 and float64 inputs; float64 inputs keep float64 precision", tier="public")
@given(a=fid_stats(), seed=gs.seeds())
def _fd_dtype_contract(ctx: Context, a: dict, seed: int) -> None:
    got = _call_fd(ctx, a)
    ctx.check(_is_float(got), f"expected a Python float, got {_type_name(got)}", inputs=a)
    # A mean shift of 1e-4 per feature gives FD ≈ D·1e-8: float32 rounding of the trace
    # terms (~1e-7 of tr Σ) would swamp it.
    mu1, sigma = a["mu1"].double(), a["sigma1"].double()
    mu2 = mu1 + gs.make_tensor(mu1.shape, torch.float64, seed, scale=1e-4)
    b = _fd_inputs(mu1, sigma, mu2, sigma)
    expected = float(((mu1 - mu2) ** 2).sum())
    ctx.assert_close(_call_fd(ctx, b), expected, inputs=b, what="the float64 FD of a mean shift of ~1e-4 (is there a float32 round trip?)", rtol=1e-4, atol=1e-12 * _fd_scale(**b))

