"""Properties of the metrics exercises (q27–q29, q36).

Most of these metrics return Python floats. ``ctx.assert_close`` compares a float with
float64 tolerances unless told otherwise, so every comparison passes the tolerance of the
inputs' dtype explicitly (``_tol``).
"""

from __future__ import annotations

import math
import warnings

import torch
from hypothesis import assume, example, given
from hypothesis import strategies as st

from grader import strategies as gs
from grader.properties.api import Context, Exercise, Mistake
from grader.properties.common import unless_right as _unless_right


def _tol(ctx: Context, dtype: torch.dtype, *, scale: float = 1.0) -> dict[str, float]:
    """Keyword tolerances for comparing numbers computed from inputs of ``dtype``."""
    rtol, atol = ctx.tolerance(dtype)
    return {"rtol": rtol, "atol": atol * scale}


def _is_float(x: object) -> bool:
    return isinstance(x, float)


def _type_name(x: object) -> str:
    return f"{type(x).__name__} {x!r}"[:120]






# ============================================================================= inception_score
# ----------------------------------------------------------------------------- known mistakes


def _contiguous_splits(probs, splits):
    n = probs.shape[0]
    return [probs[i * n // splits : (i + 1) * n // splits] for i in range(splits)]


def _kl_rows(part, marginal):
    return (torch.special.xlogy(part, part) - torch.special.xlogy(part, marginal)).sum(dim=1)


def _mean_std(scores, ddof=0):
    s = torch.stack(scores)
    var = ((s - s.mean()) ** 2).sum() / (len(scores) - ddof)  # 0/0 = nan for one split, no warning
    return s.mean().item(), var.sqrt().item()


def _is_right(probs, splits=10):
    return _mean_std([_kl_rows(p, p.mean(dim=0, keepdim=True)).mean().exp() for p in _contiguous_splits(probs, splits)])


def _is_global_marginal(probs, splits=10):
    marginal = probs.mean(dim=0, keepdim=True)  # over all N samples, not the split's own
    return _mean_std([_kl_rows(p, marginal).mean().exp() for p in _contiguous_splits(probs, splits)])


def _is_reversed_kl(probs, splits=10):
    scores = []
    for p in _contiguous_splits(probs, splits):
        m = p.mean(dim=0, keepdim=True).expand_as(p)
        scores.append((torch.special.xlogy(m, m) - torch.special.xlogy(m, p)).sum(dim=1).mean().exp())
    return _mean_std(scores)


def _is_no_exp(probs, splits=10):
    return _mean_std([_kl_rows(p, p.mean(dim=0, keepdim=True)).mean() for p in _contiguous_splits(probs, splits)])


def _is_std_ddof1(probs, splits=10):
    return _mean_std([_kl_rows(p, p.mean(dim=0, keepdim=True)).mean().exp() for p in _contiguous_splits(probs, splits)], ddof=1)


def _is_chunked(probs, splits=10):
    parts = probs.chunk(splits, dim=0)  # ceil(N/S) rows per chunk, possibly fewer than S chunks
    return _mean_std([_kl_rows(p, p.mean(dim=0, keepdim=True)).mean().exp() for p in parts])


def _is_nan_for_zeros(probs, splits=10):
    scores = []
    for p in _contiguous_splits(probs, splits):
        m = p.mean(dim=0, keepdim=True)
        scores.append((p * (p.log() - m.log())).sum(dim=1).mean().exp())  # 0·(−inf) = nan
    return _mean_std(scores)


def _is_mean_of_exp(probs, splits=10):
    return _mean_std([_kl_rows(p, p.mean(dim=0, keepdim=True)).exp().mean() for p in _contiguous_splits(probs, splits)])


inception = Exercise(
    "metrics.inception_score",
    mistakes=[
        Mistake("nan_for_zeros", "your output equals p·(log p − log p(y)) computed literally: 0·log 0 gives NaN; use the convention 0·log 0 = 0 (torch.special.xlogy, or mask the zeros)", _unless_right(_is_nan_for_zeros, _is_right)),
        Mistake("reversed_kl", "your output equals exp of KL(p(y) ‖ p(y|x)), the reversed divergence; IS uses KL(p(y|x) ‖ p(y))", _unless_right(_is_reversed_kl, _is_right)),
        Mistake("no_exp", "your output equals the mean KL itself (the log of the score); IS is exp of the mean KL", _is_no_exp),
        Mistake("global_marginal", "your output uses the marginal p(y) of all N samples; in the improved-GAN convention each split uses its own marginal", _unless_right(_is_global_marginal, _is_right)),
        Mistake("chunked_splits", "your output equals splits made with torch.chunk (ceil(N/S) rows each); the convention is probs[i·N//S:(i+1)·N//S]", _unless_right(_is_chunked, _is_right)),
        Mistake("std_ddof1", "your std uses ddof = 1 (torch.std's default); the convention is ddof = 0 (numpy's np.std)", _unless_right(_is_std_ddof1, _is_right)),
        Mistake("mean_of_exp", "your output equals the mean of exp(KL) over samples; the score is exp of the mean KL", _unless_right(_is_mean_of_exp, _is_right)),
    ],
)


def _is_inputs(probs: torch.Tensor, splits: int) -> dict:
    return {"probs": probs, "splits": splits}


def _check_pair_of_floats(ctx: Context, got: object, inputs: dict) -> None:
    ctx.check(isinstance(got, tuple) and len(got) == 2 and all(_is_float(v) for v in got), f"expected a tuple of two Python floats (mean, std), got {_type_name(got)}", inputs=inputs)


@inception.property("between_one_and_k", "the score lies between 1 and the number of classes K, and its std is between 0 and (K − 1)/2", tier="public")
@given(a=gs.inception_inputs())
def _is_bounds(ctx: Context, a: dict) -> None:
    probs, splits = a["probs"], a["splits"]
    mean, std = ctx.call(probs, splits=splits)
    k = probs.shape[1]
    slack = 1e-4 if probs.dtype == torch.float32 else 1e-9
    ctx.check(1 - slack <= mean <= k + slack, f"the score should lie in [1, K = {k}], got {mean}", inputs=a)
    ctx.check(-slack <= std <= (k - 1) / 2 + slack, f"the std of scores in [1, K] should lie in [0, (K − 1)/2 = {(k - 1) / 2}], got {std}", inputs=a)


@inception.property("one_hot_even_gives_k", "confident samples spread evenly over K classes in every split score exactly K, with std 0", tier="public")
@given(k=gs.dims(1, 6), splits=st.integers(1, 3), repeats=st.integers(1, 2), dtype=gs.float_dtypes(), seed=gs.seeds())
def _is_one_hot_even(ctx: Context, k: int, splits: int, repeats: int, dtype: torch.dtype, seed: int) -> None:
    # Each split holds every class `repeats` times, in a shuffled order.
    labels = torch.cat([torch.arange(k).repeat(repeats)[torch.randperm(k * repeats, generator=gs.generator(seed + i))] for i in range(splits)])
    probs = torch.nn.functional.one_hot(labels, k).to(dtype)  # (splits·repeats·k, k)
    got = ctx.call(probs, splits=splits)
    ctx.assert_close(got, (float(k), 0.0), inputs=_is_inputs(probs, splits), **_tol(ctx, dtype))


@inception.property("identical_rows_give_one", "when every sample has the same class distribution p(y|x) = p(y), the score is 1 with std 0", tier="public")
@given(n=gs.dims(1, 8), k=gs.dims(1, 6), dtype=gs.float_dtypes(), seed=gs.seeds(), data=st.data())
def _is_identical_rows(ctx: Context, n: int, k: int, dtype: torch.dtype, seed: int, data: st.DataObject) -> None:
    probs = gs.make_class_probs(1, k, dtype, seed).expand(n, k).clone()  # (n, k), zeros included
    splits = data.draw(st.integers(1, n), label="splits")
    got = ctx.call(probs, splits=splits)
    ctx.assert_close(got, (1.0, 0.0), inputs=_is_inputs(probs, splits), **_tol(ctx, dtype))


@inception.property("known_answer_two_splits", "split 1 = K one-hot rows (score K), split 2 = K + 1 identical rows (score 1): (mean, std) = ((K + 1)/2, (K − 1)/2)", tier="public")
@given(k=gs.dims(2, 6), dtype=gs.float_dtypes(), seed=gs.seeds())
def _is_known_answer(ctx: Context, k: int, dtype: torch.dtype, seed: int) -> None:
    # N = 2K + 1 rows and S = 2: the first split is rows [0, K), the second [K, 2K + 1).
    one_hot = torch.eye(k, dtype=torch.float64)[torch.randperm(k, generator=gs.generator(seed))]
    same = gs.make_class_probs(1, k, torch.float64, seed + 1).expand(k + 1, k)
    probs = torch.cat([one_hot, same]).to(dtype)  # (2K + 1, K)
    got = ctx.call(probs, splits=2)
    ctx.assert_close(got, ((k + 1) / 2, (k - 1) / 2), inputs=_is_inputs(probs, 2), **_tol(ctx, dtype))


@inception.property("matches_reference", "mean and std equal the reference's on random class probabilities with exact zeros", tier="hidden")
@given(a=gs.inception_inputs())
@example(a={"probs": gs.make_class_probs(20, 5, torch.float64, 7), "splits": 10})
def _is_matches_reference(ctx: Context, a: dict) -> None:
    got = ctx.call(a["probs"], splits=a["splits"])
    ctx.assert_close(got, ctx.ref(a["probs"], splits=a["splits"]), inputs=a, **_tol(ctx, a["probs"].dtype))


@inception.property("default_splits", "without a splits argument the score uses 10 splits", tier="hidden")
@given(n=st.integers(10, 24), k=gs.dims(2, 6), dtype=gs.float_dtypes(), seed=gs.seeds())
def _is_default_splits(ctx: Context, n: int, k: int, dtype: torch.dtype, seed: int) -> None:
    probs = gs.make_class_probs(n, k, dtype, seed)
    got = ctx.call(probs)
    ctx.assert_close(got, ctx.ref(probs, splits=10), inputs={"probs": probs}, **_tol(ctx, dtype))


def _near_uniform_probs(deltas: tuple[float, ...]) -> torch.Tensor:
    """One split of rows (½ + δ, ½ − δ) and (½ − δ, ½ + δ) per δ; dyadic δ keep them exact."""
    rows = [r for d in deltas for r in ([0.5 + d, 0.5 - d], [0.5 - d, 0.5 + d])]
    return torch.tensor(rows, dtype=torch.float64)


def _near_uniform_scores(deltas: tuple[float, ...]) -> tuple[float, float]:
    """(mean, std) of exp(KL((½ ± δ, ½ ∓ δ) ‖ (½, ½))), computed in float64 with log1p."""
    scores = [math.exp((0.5 + d) * math.log1p(2 * d) + (0.5 - d) * math.log1p(-2 * d)) for d in deltas]
    mean = sum(scores) / len(scores)
    return mean, math.sqrt(sum((s - mean) ** 2 for s in scores) / len(scores))


@inception.property("dtype_contract", "returns two Python floats for float32 and float64 inputs; float64 inputs keep float64 precision", tier="public")
@given(a=gs.inception_inputs())
def _is_dtype_contract(ctx: Context, a: dict) -> None:
    _check_pair_of_floats(ctx, ctx.call(a["probs"], splits=a["splits"]), a)
    # Scores 1 + 2δ² differ by ~1e-6: their std is lost to rounding in float32 (eps 1.2e-7).
    deltas = (2.0**-10, 2.0**-9)
    probs = _near_uniform_probs(deltas)
    got = ctx.call(probs, splits=len(deltas))
    _check_pair_of_floats(ctx, got, _is_inputs(probs, len(deltas)))
    ctx.assert_close(got, _near_uniform_scores(deltas), inputs=_is_inputs(probs, len(deltas)), what="the float64 (mean, std) of scores 1 + 2δ² (is there a float32 round trip?)", atol=1e-12)


# ============================================================================= feature_statistics
# ----------------------------------------------------------------------------- known mistakes


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


feature_stats = Exercise(
    "metrics.feature_statistics",
    mistakes=[
        Mistake("biased_covariance", "your covariance divides by N; FID uses the unbiased covariance, dividing by N − 1 (numpy.cov's default)", _fs_biased),
        Mistake("columns_as_samples", "your covariance equals torch.cov(features), which treats the columns as samples; rows are samples here: torch.cov(features.T), or centre and divide by N − 1", _fs_columns_as_samples),
        Mistake("scalar_for_d1", "your covariance is a 0-d tensor for D = 1 (as torch.cov(features.T) returns); sigma must be a (D, D) matrix, (1, 1) here", _unless_right(_fs_scalar_for_d1, _fs_right)),
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
@given(x=gs.feature_samples(), seed=gs.seeds(), c=st.sampled_from([-3.0, 0.5, 2.0]))
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
@given(x=gs.feature_samples())
def _fs_matches_reference(ctx: Context, x: torch.Tensor) -> None:
    ctx.assert_close(ctx.call(x), ctx.ref(x), inputs={"features": x})


@feature_stats.property("gradients_match", "gradients of mu and sigma with respect to the features equal the reference's", tier="hidden")
@given(x=gs.feature_samples(), seed=gs.seeds())
def _fs_gradients(ctx: Context, x: torch.Tensor, seed: int) -> None:
    d = x.shape[1]
    g_mu, g_sigma = gs.make_tensor((d,), x.dtype, seed), gs.make_tensor((d, d), x.dtype, seed + 1)
    _, grads = ctx.student.vjp(ctx.exercise.name, (x,), (g_mu, g_sigma), [0])
    xr = x.clone().requires_grad_(True)
    (expected,) = torch.autograd.grad(ctx.ref(xr), xr, (g_mu, g_sigma))
    ctx.assert_close(grads["inputs"][0], expected, inputs={"features": x}, what="the gradient with respect to the features")


@feature_stats.property("dtype_contract", "mu and sigma keep the input's dtype, and float64 inputs keep float64 range and precision", tier="public")
@given(x=gs.feature_samples())
def _fs_dtype_contract(ctx: Context, x: torch.Tensor) -> None:
    mu, sigma = ctx.call(x)
    ctx.check(mu.dtype == x.dtype and sigma.dtype == x.dtype, f"features were {x.dtype}, mu and sigma are {mu.dtype} and {sigma.dtype}", inputs={"features": x})
    if x.dtype == torch.float64:
        # Products of 1e-25-sized features (1e-50) underflow to 0 in float32, not in float64.
        s = 1e-25
        tiny = x * s
        rtol, _ = ctx.tolerance(x.dtype)
        ctx.assert_close(ctx.call(tiny), (mu * s, sigma * s**2), inputs={"features": tiny}, what="(mu, sigma) of features·1e-25 (is there a float32 round trip?)", rtol=rtol * 10, atol=1e-9 * s**2)


# ============================================================================= frechet_distance
# ----------------------------------------------------------------------------- known mistakes


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
    evals, evecs = torch.linalg.eigh(a)
    return (evecs * evals.clamp(min=0).sqrt()) @ evecs.T


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
@given(a=gs.fid_stats())
def _fd_zero(ctx: Context, a: dict) -> None:
    mu, sigma = a["mu1"], a["sigma1"]
    got = ctx.call(mu, sigma, mu, sigma)
    ctx.assert_close(got, 0.0, inputs=_fd_inputs(mu, sigma, mu, sigma), what="FD(a, a)", **_fd_tol(mu.dtype, _fd_scale(mu, sigma, mu, sigma)))


@frechet.property("symmetric", "FD(1, 2) = FD(2, 1)", tier="public")
@given(a=gs.fid_stats())
def _fd_symmetric(ctx: Context, a: dict) -> None:
    got = _call_fd(ctx, a)
    swapped = ctx.call(a["mu2"], a["sigma2"], a["mu1"], a["sigma1"])
    ctx.assert_close(swapped, got, inputs=a, what="FD with the two Gaussians swapped", **_fd_tol(a["mu1"].dtype, _fd_scale(**a)))


@frechet.property("nonnegative", "the distance is never negative (nor NaN), also for equal means and large covariances", tier="public")
@given(a=gs.fid_stats(), same_mean=st.booleans(), c=st.sampled_from([1.0, 4.0]))
@example(a={"mu1": torch.zeros(2), "sigma1": torch.tensor([[4.0, 1.0], [1.0, 3.0]]), "mu2": torch.zeros(2), "sigma2": torch.tensor([[3.0, -1.0], [-1.0, 2.0]])}, same_mean=True, c=1.0)
def _fd_nonnegative(ctx: Context, a: dict, same_mean: bool, c: float) -> None:
    b = _fd_inputs(a["mu1"], a["sigma1"] * c, a["mu1"] if same_mean else a["mu2"], a["sigma2"] * c)
    got = _call_fd(ctx, b)
    ctx.check(_is_float(got), f"expected a Python float, got {_type_name(got)}", inputs=b)
    atol = _fd_tol(b["mu1"].dtype, _fd_scale(**b))["atol"]
    ctx.check(got >= -atol, f"a distance cannot be negative or NaN, got {got}", inputs=b)


@frechet.property("mean_shift", "for equal covariances the distance is the squared distance of the means ‖mu1 − mu2‖²", tier="public")
@given(a=gs.fid_stats(), seed=gs.seeds())
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
@given(a=gs.fid_stats())
def _fd_matches_reference(ctx: Context, a: dict) -> None:
    ctx.assert_close(_call_fd(ctx, a), _fd_ref64(ctx, a), inputs=a, **_fd_tol(a["mu1"].dtype, _fd_scale(**a)))


@frechet.property("singular_covariances", "stays finite and correct (relative tolerance 1e-4) when a covariance is singular, as with fewer samples than features", tier="hidden")
@given(a=gs.fid_stats(singular=True))
@example(a={"mu1": torch.zeros(3, dtype=torch.float64), "sigma1": gs.make_psd_covariance(3, torch.float64, 1, rank=1), "mu2": torch.ones(3, dtype=torch.float64), "sigma2": gs.make_psd_covariance(3, torch.float64, 2, rank=2)})
def _fd_singular(ctx: Context, a: dict) -> None:
    got = _call_fd(ctx, a)
    ctx.check(_is_float(got) and math.isfinite(got), f"expected a finite Python float, got {_type_name(got)}", inputs=a)
    ctx.assert_close(got, _fd_ref64(ctx, a), inputs=a, **_fd_tol(a["mu1"].dtype, _fd_scale(**a), singular=True))


@frechet.property("dtype_contract", "returns a Python float for float32 and float64 inputs; float64 inputs keep float64 precision", tier="public")
@given(a=gs.fid_stats(), seed=gs.seeds())
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


# ============================================================================= precision_recall
# ----------------------------------------------------------------------------- known mistakes


def _distances(a, b):
    return (a[:, None, :] - b[None, :, :]).norm(dim=-1)


def _share(samples, manifold, radii):
    return (_distances(samples, manifold) <= radii[None, :]).any(dim=1).double().mean().item()


def _pr_with_radii(real, fake, radius_fn):
    return _share(fake, real, radius_fn(real)), _share(real, fake, radius_fn(fake))


def _pr_right(real_features, fake_features, k=3):
    return _pr_with_radii(real_features, fake_features, lambda x: _distances(x, x).kthvalue(k + 1, dim=1).values)


def _pr_self_not_excluded(real_features, fake_features, k=3):
    # The k-th smallest distance counts the point itself (distance 0) as its first neighbour.
    return _pr_with_radii(real_features, fake_features, lambda x: _distances(x, x).kthvalue(k, dim=1).values)


def _pr_topk_largest(real_features, fake_features, k=3):
    # torch.topk returns the largest values unless largest=False.
    return _pr_with_radii(real_features, fake_features, lambda x: _distances(x, x).topk(k + 1, dim=1).values[:, -1])


def _pr_swapped(real_features, fake_features, k=3):
    p, r = _pr_right(real_features, fake_features, k)
    return r, p


def _pr_zeros_masked(real_features, fake_features, k=3):
    def radii(x):
        d = _distances(x, x)
        return d.masked_fill(d == 0, math.inf).kthvalue(k, dim=1).values  # drops duplicates too

    return _pr_with_radii(real_features, fake_features, radii)


precision_recall = Exercise(
    "metrics.precision_recall",
    mistakes=[
        Mistake("self_not_excluded", "your output counts each point as its own nearest neighbour (distance 0): the radius must be the k-th neighbour excluding the point itself, the (k+1)-th smallest distance", _pr_self_not_excluded),
        Mistake("topk_largest", "your radii are the k-th largest distances (torch.topk returns the largest unless largest=False); the radius is the distance to the k-th nearest neighbour", _pr_topk_largest),
        Mistake("swapped", "your (precision, recall) are swapped: precision is the share of fakes inside the real manifold (realism), recall the share of reals inside the fake manifold (coverage)", _unless_right(_pr_swapped, _pr_right)),
        Mistake("zeros_masked", "your radii skip every distance 0, so a duplicate of a point is not counted as its neighbour; exclude only the point itself (e.g. take the (k+1)-th smallest distance)", _unless_right(_pr_zeros_masked, _pr_right)),
    ],
)


def _pr_inputs(real: torch.Tensor, fake: torch.Tensor, k: int) -> dict:
    return {"real_features": real, "fake_features": fake, "k": k}


def _ties_at_radius(real: torch.Tensor, fake: torch.Tensor, k: int, rel: float = 1e-5) -> bool:
    """Whether some distance is (nearly) equal to a radius it is compared with: not graded."""
    r, f = real.double(), fake.double()
    for samples, manifold in ((f, r), (r, f)):
        radii = _distances(manifold, manifold).kthvalue(k + 1, dim=1).values  # (Nm,)
        gap = (_distances(samples, manifold) - radii[None, :]).abs()
        if bool((gap <= rel * (1 + radii[None, :])).any()):
            return True
    return False


def _check_shares(ctx: Context, got: object, inputs: dict) -> None:
    ok = isinstance(got, tuple) and len(got) == 2 and all(_is_float(v) for v in got)
    ctx.check(ok, f"expected a tuple of two Python floats (precision, recall), got {_type_name(got)}", inputs=inputs)
    ctx.check(all(0.0 <= v <= 1.0 for v in got), f"precision and recall are shares, in [0, 1]; got {got}", inputs=inputs)


@precision_recall.property("swap_symmetry", "swapping the real and fake sets swaps precision and recall", tier="public")
@given(a=gs.real_fake_sets())
def _pr_swap_symmetry(ctx: Context, a: dict) -> None:
    real, fake, k = a["real"], a["fake"], a["k"]
    assume(not _ties_at_radius(real, fake, k))
    p, r = ctx.call(real, fake, k=k)
    got = ctx.call(fake, real, k=k)
    ctx.assert_close(got, (r, p), inputs=_pr_inputs(fake, real, k), what="(precision, recall) with the sets swapped")


@precision_recall.property("identical_sets", "a set compared with (a shuffled copy of) itself has precision 1 and recall 1", tier="public")
@given(a=gs.real_fake_sets(), seed=gs.seeds())
def _pr_identical(ctx: Context, a: dict, seed: int) -> None:
    x, k = a["real"], a["k"]
    shuffled = x[torch.randperm(x.shape[0], generator=gs.generator(seed))]
    got = ctx.call(x, shuffled, k=k)
    ctx.assert_close(got, (1.0, 1.0), inputs=_pr_inputs(x, shuffled, k))


@precision_recall.property("bounded_and_monotone_in_k", "precision and recall are shares in [0, 1], and a larger k (larger radii) never lowers them", tier="public")
@given(a=gs.real_fake_sets(max_k=2))
def _pr_monotone(ctx: Context, a: dict) -> None:
    real, fake, k = a["real"], a["fake"], a["k"]
    assume(not _ties_at_radius(real, fake, k))
    got = ctx.call(real, fake, k=k)
    _check_shares(ctx, got, _pr_inputs(real, fake, k))
    if k + 1 < min(real.shape[0], fake.shape[0]):
        assume(not _ties_at_radius(real, fake, k + 1))
        wider = ctx.call(real, fake, k=k + 1)
        _check_shares(ctx, wider, _pr_inputs(real, fake, k + 1))
        ctx.check(wider[0] >= got[0] and wider[1] >= got[1], f"with k = {k} (precision, recall) = {got}, with k = {k + 1} they fell to {wider}", inputs=_pr_inputs(real, fake, k + 1))


@precision_recall.property("duplicates_are_neighbours", "when every real point appears twice, k = 1 radii are 0, so fakes near (not on) the reals have precision 0", tier="public")
@given(n=gs.dims(2, 5), d=gs.dims(1, 4), dtype=gs.float_dtypes(), seed=gs.seeds())
def _pr_duplicates(ctx: Context, n: int, d: int, dtype: torch.dtype, seed: int) -> None:
    x = gs.make_tensor((n, d), dtype, seed)
    real = torch.cat([x, x])[torch.randperm(2 * n, generator=gs.generator(seed + 1))]  # each point twice
    fake = (x.double() + gs.make_tensor((n, d), torch.float64, seed + 2, scale=0.05)).to(dtype)
    got = ctx.call(real, fake, k=1)
    _check_shares(ctx, got, _pr_inputs(real, fake, 1))
    ctx.check(got[0] == 0.0, f"every real point has a duplicate at distance 0, so its k = 1 radius is 0 and no fake is inside; got precision {got[0]}", inputs=_pr_inputs(real, fake, 1))


@precision_recall.property("known_answer_1d", "reals 0, 1, 3, 7 and fakes 0.5, 2.5, 12, −1.5 (moved and scaled together) with k = 1 give precision 0.5 and recall 1", tier="public")
@given(dtype=gs.float_dtypes(), d=gs.dims(1, 4), seed=gs.seeds(), scale=st.sampled_from([0.5, 1.0, 3.0]))
def _pr_known_answer(ctx: Context, dtype: torch.dtype, d: int, seed: int, scale: float) -> None:
    g = gs.generator(seed)
    direction = torch.randn(d, generator=g, dtype=torch.float64)
    direction = direction / direction.norm()  # the 1-D points on a random line: same distances
    shift = torch.randn(d, generator=g, dtype=torch.float64)

    def place(ts: list[float]) -> torch.Tensor:
        t = torch.tensor(ts, dtype=torch.float64)[torch.randperm(len(ts), generator=g)]
        return (t[:, None] * scale * direction + shift).to(dtype)  # (4, D)

    real, fake = place([0.0, 1.0, 3.0, 7.0]), place([0.5, 2.5, 12.0, -1.5])
    ctx.assert_close(ctx.call(real, fake, k=1), (0.5, 1.0), inputs=_pr_inputs(real, fake, 1))


@precision_recall.property("matches_reference", "precision and recall equal the reference's on random point sets", tier="hidden")
@given(a=gs.real_fake_sets())
def _pr_matches_reference(ctx: Context, a: dict) -> None:
    real, fake, k = a["real"], a["fake"], a["k"]
    assume(not _ties_at_radius(real, fake, k))
    ctx.assert_close(ctx.call(real, fake, k=k), ctx.ref(real, fake, k=k), inputs=_pr_inputs(real, fake, k))


@precision_recall.property("default_k", "without a k argument, k = 3", tier="hidden")
@given(a=gs.real_fake_sets(max_k=3).filter(lambda a: min(a["real"].shape[0], a["fake"].shape[0]) > 3))
def _pr_default_k(ctx: Context, a: dict) -> None:
    real, fake = a["real"], a["fake"]
    assume(not _ties_at_radius(real, fake, 3))
    ctx.assert_close(ctx.call(real, fake), ctx.ref(real, fake, k=3), inputs=_pr_inputs(real, fake, 3))


@precision_recall.property("dtype_contract", "returns two Python floats for float32 and float64 inputs", tier="public")
@given(a=gs.real_fake_sets())
def _pr_dtype_contract(ctx: Context, a: dict) -> None:
    _check_shares(ctx, ctx.call(a["real"], a["fake"], k=a["k"]), _pr_inputs(a["real"], a["fake"], a["k"]))


# ============================================================================= mean_pairwise_distance
# ----------------------------------------------------------------------------- known mistakes


def _mpd_with_self_pairs(features):
    return torch.cdist(features, features).mean().item()  # the N zero self-distances count


def _mpd_squared(features):
    return (torch.pdist(features) ** 2).mean().item()


def _mpd_double_counted(features):
    n = features.shape[0]
    return (torch.cdist(features, features).sum() / (n * (n - 1) / 2)).item()  # ordered pairs over unordered count


def _mpd_to_centroid(features):
    return (features - features.mean(dim=0)).norm(dim=1).mean().item()


pairwise = Exercise(
    "metrics.mean_pairwise_distance",
    mistakes=[
        Mistake("self_pairs_included", "your output averages the full N×N distance matrix, zero diagonal included; average over the N(N − 1)/2 pairs i < j", _mpd_with_self_pairs),
        Mistake("squared_distances", "your output averages squared distances; the score is the mean Euclidean distance", _mpd_squared),
        Mistake("double_counted", "your output sums both (i, j) and (j, i) but divides by the N(N − 1)/2 unordered pairs: each distance is counted twice", _mpd_double_counted),
        Mistake("distance_to_centroid", "your output is the mean distance to the centroid; the score averages distances between pairs of samples", _mpd_to_centroid),
    ],
)


@pairwise.property("known_answer", "points at 0, 1 and 3 on a line (times s, anywhere in space) have mean pairwise distance 2·s", tier="public")
@given(d=gs.dims(1, 4), dtype=gs.float_dtypes(), seed=gs.seeds(), s=st.sampled_from([0.5, 1.0, 4.0]))
def _mpd_known_answer(ctx: Context, d: int, dtype: torch.dtype, seed: int, s: float) -> None:
    g = gs.generator(seed)
    direction = torch.randn(d, generator=g, dtype=torch.float64)
    t = torch.tensor([0.0, 1.0, 3.0], dtype=torch.float64)[torch.randperm(3, generator=g)]
    x = (t[:, None] * s * direction / direction.norm() + torch.randn(d, generator=g, dtype=torch.float64)).to(dtype)  # (3, D)
    ctx.assert_close(ctx.call(x), 2.0 * s, inputs={"features": x}, **_tol(ctx, dtype, scale=s))


@pairwise.property("translation_and_permutation_invariant", "moving all points together or reordering the rows does not change the score", tier="public")
@given(x=gs.feature_samples(), seed=gs.seeds())
def _mpd_invariant(ctx: Context, x: torch.Tensor, seed: int) -> None:
    got = ctx.call(x)
    moved = x + gs.make_tensor((x.shape[1],), x.dtype, seed, scale=3.0)
    shuffled = x[torch.randperm(x.shape[0], generator=gs.generator(seed))]
    tol = _tol(ctx, x.dtype, scale=abs(got) if isinstance(got, float) else 1.0)
    ctx.assert_close(ctx.call(moved), got, inputs={"features": moved}, what="the score of the translated points", **tol)
    ctx.assert_close(ctx.call(shuffled), got, inputs={"features": shuffled}, what="the score of the reordered rows", **tol)


@pairwise.property("scales_linearly", "scaling all features by c > 0 scales the score by c", tier="public")
@given(x=gs.feature_samples(), c=st.sampled_from([0.1, 3.0, 10.0]))
def _mpd_scales(ctx: Context, x: torch.Tensor, c: float) -> None:
    got = ctx.call(x)
    scaled = x * c
    ctx.assert_close(ctx.call(scaled), got * c, inputs={"features": scaled}, what=f"the score of features·{c}", **_tol(ctx, x.dtype, scale=c))


@pairwise.property("matches_reference", "equals the reference on random features", tier="hidden")
@given(x=gs.feature_samples())
def _mpd_matches_reference(ctx: Context, x: torch.Tensor) -> None:
    ctx.assert_close(ctx.call(x), ctx.ref(x), inputs={"features": x}, **_tol(ctx, x.dtype))


@pairwise.property("dtype_contract", "returns a Python float for float32 and float64 inputs; float64 inputs keep float64 range (features of size 1e39 overflow float32)", tier="public")
@given(x=gs.feature_samples())
def _mpd_dtype_contract(ctx: Context, x: torch.Tensor) -> None:
    got = ctx.call(x)
    ctx.check(_is_float(got), f"expected a Python float, got {_type_name(got)}", inputs={"features": x})
    if x.dtype == torch.float64:
        huge = x * 1e39  # beyond float32's largest value, 3.4e38
        rtol, _ = ctx.tolerance(x.dtype)
        ctx.assert_close(ctx.call(huge), got * 1e39, inputs={"features": huge}, what="the score of features·1e39 (is there a float32 round trip?)", rtol=rtol * 10, atol=0.0)
