"""Properties and known mistakes of ``vae.negative_elbo``."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from hypothesis import example, given
from hypothesis import strategies as st

from grader.failures import StudentRaised
from grader.properties.api import Context, Exercise, Mistake
from grader.properties.common import assert_gradients as _assert_gradients
from grader.properties.common import check_plain as _check_plain
from grader.properties.common import fail_without_diagnosis as _fail_without_diagnosis
from grader.properties.common import in_dtype as _in_dtype
from grader.properties.judge_only import judge_only
from grader.properties.vae import strategies as gs
from grader.properties.vae._shared import _grads_or_zeros, _kl_terms


@judge_only
def _recon(x, x_hat, likelihood, *, bce=None, half=0.5):
    if likelihood == "bernoulli":
        per_element = (bce or F.binary_cross_entropy_with_logits)(x_hat, x, reduction="none")
    elif likelihood == "gaussian":
        per_element = half * (x - x_hat).square()
    else:
        raise ValueError(likelihood)
    return per_element


def _elbo_recon_mean_over_pixels(x, x_hat, mu, logvar, beta=1.0, likelihood="bernoulli"):
    return _recon(x, x_hat, likelihood).flatten(1).mean(dim=1) - beta * 0.5 * _kl_terms(mu, logvar).sum(-1)


def _elbo_summed_over_batch(x, x_hat, mu, logvar, beta=1.0, likelihood="bernoulli"):
    return _recon(x, x_hat, likelihood).sum() - beta * 0.5 * _kl_terms(mu, logvar).sum()


def _elbo_gaussian_without_half(x, x_hat, mu, logvar, beta=1.0, likelihood="bernoulli"):
    return _recon(x, x_hat, likelihood, half=1.0).flatten(1).sum(dim=1) - beta * 0.5 * _kl_terms(mu, logvar).sum(-1)


def _elbo_sigmoid_then_bce_with_logits(x, x_hat, mu, logvar, beta=1.0, likelihood="bernoulli"):
    def bce(logits, target, reduction):
        return F.binary_cross_entropy_with_logits(torch.sigmoid(logits), target, reduction=reduction)

    return _recon(x, x_hat, likelihood, bce=bce).flatten(1).sum(dim=1) - beta * 0.5 * _kl_terms(mu, logvar).sum(-1)


def _elbo_log_of_sigmoid(x, x_hat, mu, logvar, beta=1.0, likelihood="bernoulli"):
    def bce(logits, target, reduction):
        p = torch.sigmoid(logits)
        return -(target * torch.log(p) + (1 - target) * torch.log(1 - p))

    return _recon(x, x_hat, likelihood, bce=bce).flatten(1).sum(dim=1) - beta * 0.5 * _kl_terms(mu, logvar).sum(-1)


def _elbo_unknown_is_gaussian(x, x_hat, mu, logvar, beta=1.0, likelihood="bernoulli"):
    known = "bernoulli" if likelihood == "bernoulli" else "gaussian"
    return _recon(x, x_hat, known).flatten(1).sum(dim=1) - beta * 0.5 * _kl_terms(mu, logvar).sum(-1)


def _elbo_beta_on_recon(x, x_hat, mu, logvar, beta=1.0, likelihood="bernoulli"):
    return beta * _recon(x, x_hat, likelihood).flatten(1).sum(dim=1) - 0.5 * _kl_terms(mu, logvar).sum(-1)


negative_elbo = Exercise(
    "vae.negative_elbo",
    mistakes=[
        Mistake("recon_mean_over_pixels", "your output averages the reconstruction term over pixels; the likelihood of a sample is the sum over its pixels (the mean lets the KL dominate and blurs samples)", _elbo_recon_mean_over_pixels),
        Mistake("summed_over_batch", "your output is one number for the whole batch (e.g. reduction='sum'); return the per-sample loss, shape (B,)", _elbo_summed_over_batch),
        Mistake("gaussian_without_half", "your output uses Σ(x − x_hat)² for the Gaussian term; −log N(x; x_hat, I) is ½·Σ(x − x_hat)² (constant dropped)", _elbo_gaussian_without_half),
        Mistake("sigmoid_then_bce_with_logits", "your output applies a sigmoid to x_hat before BCE-with-logits: x_hat are already logits, the sigmoid is inside the loss", _elbo_sigmoid_then_bce_with_logits),
        Mistake("log_of_sigmoid", "your output computes −[x·log σ(x_hat) + (1 − x)·log(1 − σ(x_hat))], which gives inf or nan once σ rounds to 0 or 1; use binary_cross_entropy_with_logits (softplus form)", _elbo_log_of_sigmoid),
        Mistake("unknown_is_gaussian", "your output treats an unknown likelihood as 'gaussian'; a typo must raise ValueError instead of silently training another model", _elbo_unknown_is_gaussian),
        Mistake("beta_on_recon", "your output multiplies the reconstruction term by beta; beta weights the KL term: recon + beta·KL", _elbo_beta_on_recon),
    ],
)


def _elbo_args(a: dict) -> tuple:
    return (a["x"], a["x_hat"], a["mu"], a["logvar"])


def _elbo_inputs(a: dict) -> dict:
    return {k: a[k] for k in ("x", "x_hat", "mu", "logvar", "beta", "likelihood") if k in a}


@negative_elbo.property("known_answer", "with x_hat = 0 logits (bernoulli) the recon is N·ln 2, with x_hat = x + 1 (gaussian) it is N/2; plus beta·½ for one unit of mu", tier="public")
@given(likelihood=st.sampled_from(("bernoulli", "gaussian")), dtype=gs.float_dtypes(), b=gs.dims(1, 4), shape=gs.vector_or_image_shapes(), z=gs.dims(1, 4), beta=st.sampled_from((0.5, 2.0, 4.0)), seed=gs.seeds())
def _elbo_known_answer(ctx: Context, likelihood: str, dtype: torch.dtype, b: int, shape: tuple, z: int, beta: float, seed: int) -> None:
    shape = (*shape[:-1], shape[-1] + 1)  # at least two elements per sample: a mean differs from a sum
    x = gs.make_tensor((b, *shape), dtype, seed, low=0.0, high=1.0)
    x_hat = torch.zeros_like(x) if likelihood == "bernoulli" else x + 1
    mu, logvar = torch.zeros(b, z, dtype=dtype), torch.zeros(b, z, dtype=dtype)
    mu[:, 0] = 1.0  # KL = ½ per sample
    n = math.prod(shape)
    per_sample = n * math.log(2.0) if likelihood == "bernoulli" else n / 2
    got = ctx.call(x, x_hat, mu, logvar, beta=beta, likelihood=likelihood)
    expected = torch.full((b,), per_sample + beta * 0.5, dtype=dtype)
    ctx.assert_close(got, expected, inputs={"x": x, "x_hat": x_hat, "mu": mu, "logvar": logvar, "beta": beta, "likelihood": likelihood})


@negative_elbo.property("fractional_targets", "for fractional x and x_hat = logit(x), the Bernoulli term is the binary entropy Σ −[x·ln x + (1−x)·ln(1−x)]", tier="public")
@given(dtype=gs.float_dtypes(), b=gs.dims(1, 4), shape=gs.vector_or_image_shapes(), seed=gs.seeds())
def _elbo_fractional_targets(ctx: Context, dtype: torch.dtype, b: int, shape: tuple, seed: int) -> None:
    x64 = gs.make_tensor((b, *shape), torch.float64, seed, low=0.05, high=0.95)
    x = x64.to(dtype)
    x_hat = torch.logit(x64).to(dtype)
    mu, logvar = torch.zeros(b, 2, dtype=dtype), torch.zeros(b, 2, dtype=dtype)
    entropy = -(x64 * x64.log() + (1 - x64) * (1 - x64).log()).flatten(1).sum(dim=1)
    got = ctx.call(x, x_hat, mu, logvar)
    ctx.assert_close(got, entropy.to(dtype), inputs={"x": x, "x_hat": x_hat, "mu": mu, "logvar": logvar})


@negative_elbo.property("finite_for_extreme_logits", "the Bernoulli term is finite and exact for logits of ±100, with x in {0, 1} or fractional", tier="public")
@given(dtype=gs.float_dtypes(), b=gs.dims(1, 4), d=gs.dims(2, 8), seed=gs.seeds())
@example(dtype=torch.float32, b=1, d=2, seed=0)
def _elbo_extreme_logits(ctx: Context, dtype: torch.dtype, b: int, d: int, seed: int) -> None:
    g = gs.generator(seed)
    x_hat = ((torch.randint(0, 2, (b, d), generator=g) * 2 - 1) * 100.0).to(dtype)
    x = torch.where(torch.rand(b, d, generator=g) < 0.5, torch.randint(0, 2, (b, d), generator=g).double(), torch.rand(b, d, generator=g, dtype=torch.float64)).to(dtype)
    x.view(-1)[0], x_hat.view(-1)[0] = 1.0, 100.0  # σ(100) rounds to exactly 1: log(1 − σ) = −inf
    mu, logvar = torch.zeros(b, 1, dtype=dtype), torch.zeros(b, 1, dtype=dtype)
    inputs = {"x": x, "x_hat": x_hat}
    got = ctx.call(x, x_hat, mu, logvar)
    ctx.check(isinstance(got, torch.Tensor) and bool(got.isfinite().all()), f"the loss should be finite for logits of ±100; got {got}", inputs=inputs)
    l64, x64 = x_hat.double(), x.double()
    exact = l64.clamp(min=0) - x64 * l64 + torch.log1p(torch.exp(-l64.abs()))  # softplus(l) − x·l
    ctx.assert_close(got, exact.sum(dim=1).to(dtype), inputs=inputs)


@negative_elbo.property("per_sample_shape", "the loss has shape (B,), and changing one sample changes only its own entry", tier="public")
@given(a=gs.elbo_inputs(), seed=gs.seeds())
def _elbo_per_sample(ctx: Context, a: dict, seed: int) -> None:
    b = a["x"].shape[0]
    got = ctx.call(*_elbo_args(a), beta=a["beta"], likelihood=a["likelihood"])
    ctx.check(isinstance(got, torch.Tensor) and got.shape == (b,), f"the loss should have shape (B,) = {(b,)}, got {getattr(got, 'shape', type(got).__name__)}", inputs=_elbo_inputs(a))
    j = int(torch.randint(0, b, (), generator=gs.generator(seed)))
    x_hat2 = a["x_hat"].clone()
    x_hat2[j] = gs.make_tensor(tuple(x_hat2[j].shape), x_hat2.dtype, seed + 1, scale=3.0)
    got2 = ctx.call(a["x"], x_hat2, a["mu"], a["logvar"], beta=a["beta"], likelihood=a["likelihood"])
    others = torch.arange(b) != j
    ctx.assert_close(got2[others], got[others], inputs={**_elbo_inputs(a), "x_hat": x_hat2}, what=f"the losses of the samples other than {j} after changing x_hat[{j}]")


@negative_elbo.property("unknown_likelihood_raises", "an unknown likelihood (e.g. 'laplace') raises ValueError", tier="public")
@given(a=gs.elbo_inputs(), likelihood=st.sampled_from(("laplace", "categorical", "normal", "")))
def _elbo_unknown_likelihood(ctx: Context, a: dict, likelihood: str) -> None:
    inputs = {**_elbo_inputs(a), "likelihood": likelihood}
    try:
        got = ctx.call(*_elbo_args(a), beta=a["beta"], likelihood=likelihood)
    except StudentRaised as raised:
        if not raised.message.startswith("your code raised ValueError"):
            _fail_without_diagnosis(f"likelihood={likelihood!r} should raise ValueError; {raised.message}", inputs)
        return
    ctx.fail(f"likelihood={likelihood!r} should raise ValueError, but a result came back: {got}", inputs=inputs)


@negative_elbo.property("matches_reference", "the loss equals the reference for both likelihoods, vectors and images, any beta", tier="hidden")
@given(drawn=gs.elbo_inputs())
def _elbo_matches_reference(ctx: Context, drawn: dict) -> None:
    for dtype in gs.FLOAT_DTYPES:
        a = _in_dtype(drawn, dtype)
        got = ctx.call(*_elbo_args(a), beta=a["beta"], likelihood=a["likelihood"])
        ctx.assert_close(got, ctx.ref(*_elbo_args(a), beta=a["beta"], likelihood=a["likelihood"]), inputs=_elbo_inputs(a))


@negative_elbo.property("gradients_match", "gradients with respect to x, x_hat, mu, logvar (and a tensor beta) equal the reference's", tier="hidden")
@given(a=gs.elbo_inputs(), beta_tensor=st.booleans(), seed=gs.seeds())
def _elbo_gradients(ctx: Context, a: dict, beta_tensor: bool, seed: int) -> None:
    dtype = a["x"].dtype
    beta = torch.tensor(a["beta"], dtype=dtype) if beta_tensor else a["beta"]
    g = gs.make_tensor((a["x"].shape[0],), dtype, seed)
    wrt = [0, 1, 2, 3] + (["beta"] if beta_tensor else [])
    value, grads = ctx.student.vjp(ctx.exercise.name, _elbo_args(a), g, wrt, beta=beta, likelihood=a["likelihood"])
    leaves = [t.clone().requires_grad_(True) for t in _elbo_args(a)]
    ref_beta = beta.clone().requires_grad_(True) if beta_tensor else beta
    out = ctx.ref(*leaves, beta=ref_beta, likelihood=a["likelihood"])
    expected = torch.autograd.grad(out, leaves + ([ref_beta] if beta_tensor else []), g)
    like = [*_elbo_args(a)] + ([beta] if beta_tensor else [])
    what = "the gradients (dx, dx_hat, dmu, dlogvar[, dbeta])"
    _assert_gradients(ctx, value, out.detach(), _grads_or_zeros(grads["inputs"], like), expected, inputs=_elbo_inputs(a), what=what)


@negative_elbo.property("dtype_contract", "the result keeps the input's dtype (float32 or float64)", tier="public")
@given(drawn=gs.elbo_inputs())
def _elbo_dtype(ctx: Context, drawn: dict) -> None:
    for dtype in gs.FLOAT_DTYPES:
        a = _in_dtype(drawn, dtype)
        got = ctx.call(*_elbo_args(a), beta=a["beta"], likelihood=a["likelihood"])
        _check_plain(isinstance(got, torch.Tensor) and got.dtype == dtype, f"inputs were {dtype}, the result is {getattr(got, 'dtype', type(got).__name__)}", _elbo_inputs(a))
