"""Properties of the VAE exercises (q2, q5–q7, q54)."""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from hypothesis import example, given
from hypothesis import strategies as st

from grader import strategies as gs
from grader.failures import StudentRaised
from grader.properties.api import Context, Exercise, Mistake
from grader.properties.common import assert_gradients as _assert_gradients
from grader.properties.common import check_plain as _check_plain
from grader.properties.common import fail_without_diagnosis as _fail_without_diagnosis
from grader.properties.common import in_dtype as _in_dtype

# ----------------------------------------------------------------------------- helpers








def _grads_or_zeros(grads: list[Any], like: list[torch.Tensor]) -> tuple[torch.Tensor, ...]:
    """Gradients from a vjp, with None (the input was not used at all) read as zeros."""
    return tuple(torch.zeros_like(t) if g is None else g for g, t in zip(grads, like))


def _kl_terms(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    return 1 + logvar - mu.square() - logvar.exp()




def _t_column(t: Any, z: torch.Tensor) -> torch.Tensor:
    t = torch.as_tensor(t, dtype=z.dtype)
    return t.unsqueeze(-1) if t.dim() == 1 else t


# ----------------------------------------------------------------------------- reparameterize


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


# ----------------------------------------------------------------------------- kl_standard_normal


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


# ----------------------------------------------------------------------------- negative_elbo


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


# ----------------------------------------------------------------------------- slerp


def _slerp_with(z0, z1, t, cos, *, swap=False):
    """Spherical interpolation for given cosines, with the linear fallback."""
    t = _t_column(t, z0)
    cos = cos.clamp(-1.0, 1.0)
    parallel = (1 - cos.square()).clamp_min(0).sqrt() < 1e-6
    omega = torch.acos(torch.where(parallel, torch.zeros_like(cos), cos))
    w0, w1 = torch.sin((1 - t) * omega) / torch.sin(omega), torch.sin(t * omega) / torch.sin(omega)
    if swap:
        w0, w1 = w1, w0
    return torch.where(parallel, (1 - t) * z0 + t * z1, w0 * z0 + w1 * z1)


def _row_cos(z0, z1):
    return (z0 * z1).sum(-1, keepdim=True) / (z0.norm(dim=-1, keepdim=True) * z1.norm(dim=-1, keepdim=True))


def _slerp_linear(z0, z1, t):
    t = _t_column(t, z0)
    return (1 - t) * z0 + t * z1


def _slerp_swapped_weights(z0, z1, t):
    return _slerp_with(z0, z1, t, _row_cos(z0, z1), swap=True)


def _slerp_angle_without_norms(z0, z1, t):
    return _slerp_with(z0, z1, t, (z0 * z1).sum(-1, keepdim=True))


def _slerp_one_angle_for_batch(z0, z1, t):
    cos = (z0 * z1).sum() / (z0.norm() * z1.norm())
    return _slerp_with(z0, z1, t, cos.expand(z0.shape[0], 1))


def _slerp_no_fallback(z0, z1, t):
    t = _t_column(t, z0)
    omega = torch.acos(_row_cos(z0, z1).clamp(-1.0, 1.0))
    return torch.sin((1 - t) * omega) / torch.sin(omega) * z0 + torch.sin(t * omega) / torch.sin(omega) * z1


slerp = Exercise(
    "vae.slerp",
    mistakes=[
        Mistake("linear", "your output equals the linear interpolation (1−t)·z0 + t·z1 for every row; slerp follows the arc: sin((1−t)Ω)/sinΩ·z0 + sin(tΩ)/sinΩ·z1", _slerp_linear),
        Mistake("swapped_weights", "your output swaps the two weights: z0 must get sin((1−t)Ω)/sinΩ and z1 sin(tΩ)/sinΩ, so that t = 0 gives z0", _slerp_swapped_weights),
        Mistake("angle_without_norms", "your output takes Ω = acos(z0·z1) without dividing by ‖z0‖·‖z1‖; the rows are not unit vectors", _slerp_angle_without_norms),
        Mistake("one_angle_for_batch", "your output uses one angle for the whole batch (dot product over all entries); Ω is the angle between row b of z0 and row b of z1", _slerp_one_angle_for_batch),
        Mistake("no_fallback", "your output is nan or inf for parallel or opposite rows (sin Ω = 0); fall back to (1−t)·z0 + t·z1 where sin Ω < 1e-6", _slerp_no_fallback),
    ],
)


def _slerp_inputs(a: dict) -> dict:
    return {"z0": a["z0"], "z1": a["z1"], "t": a["t"]}


@slerp.property("endpoints", "t = 0 gives z0 and t = 1 gives z1", tier="public")
@given(a=gs.slerp_inputs(), as_tensor=st.booleans())
def _slerp_endpoints(ctx: Context, a: dict, as_tensor: bool) -> None:
    z0, z1 = a["z0"], a["z1"]
    for t, expected in ((0.0, z0), (1.0, z1)):
        t_arg = torch.full((z0.shape[0],), t, dtype=z0.dtype) if as_tensor else t
        got = ctx.call(z0, z1, t_arg)
        ctx.assert_close(got, expected, inputs={"z0": z0, "z1": z1, "t": t_arg}, what=f"slerp at t = {t:g}")


@slerp.property("known_answer", "for rows r·e0 and r·(cos Ω·e0 + sin Ω·e1) the result is r·(cos tΩ·e0 + sin tΩ·e1)", tier="public")
@given(dtype=gs.float_dtypes(), d=gs.dims(2, 6), t=st.floats(0.0, 1.0), seed=gs.seeds())
@example(dtype=torch.float32, d=2, t=0.5, seed=0)
def _slerp_known_answer(ctx: Context, dtype: torch.dtype, d: int, t: float, seed: int) -> None:
    omegas = torch.tensor([math.pi / 2, math.pi / 4, 2 * math.pi / 3, math.pi / 3], dtype=torch.float64)
    radii = torch.tensor([2.0, 1.0, 0.5, 3.0], dtype=torch.float64)
    i, j = torch.randperm(d, generator=gs.generator(seed))[:2].tolist()  # the plane of each pair
    z0, z1, expected = (torch.zeros(4, d, dtype=torch.float64) for _ in range(3))
    z0[:, i] = radii
    z1[:, i], z1[:, j] = radii * omegas.cos(), radii * omegas.sin()
    expected[:, i], expected[:, j] = radii * (t * omegas).cos(), radii * (t * omegas).sin()
    z0, z1 = z0.to(dtype), z1.to(dtype)
    ctx.assert_close(ctx.call(z0, z1, t), expected.to(dtype), inputs={"z0": z0, "z1": z1, "t": t})


@slerp.property("symmetric", "slerp(z0, z1, t) = slerp(z1, z0, 1 − t)", tier="public")
@given(a=gs.slerp_inputs(t_tensor=True))
def _slerp_symmetric(ctx: Context, a: dict) -> None:
    z0, z1, t = a["z0"], a["z1"], a["t"]
    forward = ctx.call(z0, z1, t)
    backward = ctx.call(z1, z0, 1 - t)
    ctx.assert_close(backward, forward, inputs=_slerp_inputs(a), what="slerp(z1, z0, 1 − t)")


@slerp.property("preserves_equal_norms", "when both rows have norm r, every interpolated row has norm r", tier="public")
@given(a=gs.slerp_inputs(parallel=False), seed=gs.seeds())
def _slerp_norms(ctx: Context, a: dict, seed: int) -> None:
    z0 = a["z0"].double()
    r = gs.make_tensor((z0.shape[0], 1), torch.float64, seed, low=0.3, high=3.0)
    z0 = (z0 / z0.norm(dim=-1, keepdim=True) * r).to(a["z0"].dtype)
    z1 = (a["z1"].double() / a["z1"].double().norm(dim=-1, keepdim=True) * r).to(a["z0"].dtype)
    got = ctx.call(z0, z1, a["t"])
    inputs = {"z0": z0, "z1": z1, "t": a["t"]}
    ctx.check(isinstance(got, torch.Tensor) and got.shape == z0.shape, f"the result should have shape {tuple(z0.shape)}, got {getattr(got, 'shape', type(got).__name__)}", inputs=inputs)
    ctx.assert_close(got.norm(dim=-1), r.squeeze(-1).to(z0.dtype), inputs=inputs, what="the norms of the interpolated rows")


@slerp.property("parallel_rows_fall_back_to_lerp", "for parallel or opposite rows the result is (1−t)·z0 + t·z1, finite", tier="public")
@given(a=gs.slerp_inputs(parallel=True))
def _slerp_parallel(ctx: Context, a: dict) -> None:
    z0, z1, t = a["z0"], a["z1"], a["t"]
    got = ctx.call(z0, z1, t)
    tc = _t_column(t, z0)
    ctx.assert_close(got, (1 - tc) * z0 + tc * z1, inputs=_slerp_inputs(a))


@slerp.property("fallback_has_finite_gradients", "for parallel or opposite rows the gradients are those of (1−t)·z0 + t·z1: finite, no nan from the unused branch", tier="public")
@given(b=gs.dims(1, 5), d=gs.dims(2, 6), dtype=gs.float_dtypes(), t_tensor=st.booleans(), seed=gs.seeds())
def _slerp_fallback_gradients(ctx: Context, b: int, d: int, dtype: torch.dtype, t_tensor: bool, seed: int) -> None:
    p0, p1 = gs.parallel_rows(b, d, seed)
    s0, s1 = gs.separated_rows(1, d, seed + 1)
    # The last row is not parallel: there the output differs from lerp, so a correct-valued
    # output is never mistaken for the lerp-everywhere mistake. Rows do not interact.
    z0, z1 = torch.cat([p0, s0]).to(dtype), torch.cat([p1, s1]).to(dtype)
    t = gs.make_tensor((b + 1,), dtype, seed + 2, low=0.0, high=1.0) if t_tensor else 0.25
    g = gs.make_tensor(tuple(z0.shape), dtype, seed + 3)
    inputs = {"z0": z0, "z1": z1, "t": t}
    _, grads = ctx.student.vjp(ctx.exercise.name, (z0, z1, t), g, [0, 1])
    d0, d1 = _grads_or_zeros(grads["inputs"], [z0, z1])
    finite = bool(d0.isfinite().all() and d1.isfinite().all())
    _check_plain(finite, "the gradients contain nan or inf: torch.where backpropagates through the branch it discards too, so keep that branch finite for parallel rows (e.g. use sin Ω = 1 there)", inputs)
    tc = _t_column(t, z0)[:b] if t_tensor else _t_column(t, z0)
    ctx.assert_close((d0[:b], d1[:b]), ((1 - tc) * g[:b], tc * g[:b]), inputs=inputs, what="the gradients (d z0, d z1) of the (anti)parallel rows (all but the last)")


@slerp.property("matches_reference", "the result equals the reference on random and (anti)parallel rows, t a float or one per row", tier="hidden")
@given(drawn=gs.slerp_inputs())
def _slerp_matches_reference(ctx: Context, drawn: dict) -> None:
    for dtype in gs.FLOAT_DTYPES:
        a = _in_dtype(drawn, dtype)
        ctx.assert_close(ctx.call(a["z0"], a["z1"], a["t"]), ctx.ref(a["z0"], a["z1"], a["t"]), inputs=_slerp_inputs(a))


@slerp.property("gradients_match", "gradients with respect to z0, z1 (and a tensor t) equal the reference's", tier="hidden")
@given(a=gs.slerp_inputs(parallel=False), seed=gs.seeds())
def _slerp_gradients(ctx: Context, a: dict, seed: int) -> None:
    z0, z1, t = a["z0"], a["z1"], a["t"]
    g = gs.make_tensor(tuple(z0.shape), z0.dtype, seed)
    t_is_tensor = isinstance(t, torch.Tensor)
    value, grads = ctx.student.vjp(ctx.exercise.name, (z0, z1, t), g, [0, 1, 2] if t_is_tensor else [0, 1])
    leaves = [z0.clone().requires_grad_(True), z1.clone().requires_grad_(True)]
    if t_is_tensor:
        leaves.append(t.clone().requires_grad_(True))
    ref_value = ctx.ref(leaves[0], leaves[1], leaves[2] if t_is_tensor else t)
    expected = torch.autograd.grad(ref_value, leaves, g)
    like = [z0, z1] + ([t] if t_is_tensor else [])
    _assert_gradients(ctx, value, ref_value.detach(), _grads_or_zeros(grads["inputs"], like), expected, inputs=_slerp_inputs(a), what="the gradients (d z0, d z1[, d t])")


@slerp.property("dtype_contract", "the result keeps the input's dtype (float32 or float64)", tier="public")
@given(drawn=gs.slerp_inputs())
def _slerp_dtype(ctx: Context, drawn: dict) -> None:
    for dtype in gs.FLOAT_DTYPES:
        a = _in_dtype(drawn, dtype)
        got = ctx.call(a["z0"], a["z1"], a["t"])
        _check_plain(isinstance(got, torch.Tensor) and got.dtype == dtype, f"inputs were {dtype}, the result is {getattr(got, 'dtype', type(got).__name__)}", _slerp_inputs(a))
