"""The VAE reference solutions agree with independent implementations (float64)."""

from __future__ import annotations

import math

import pytest
import torch
from torch.distributions import Bernoulli, Normal, kl_divergence

from grader.properties.vae import strategies as gs
from grader.reference import load_reference
from tests.harness import SOLUTIONS

ref = load_reference(SOLUTIONS, "vae")
F64 = torch.float64
SEEDS = range(6)


def _params(seed: int, b: int = 4, d: int = 3, max_abs_logvar: float = 4.0) -> tuple[torch.Tensor, torch.Tensor]:
    mu = gs.make_tensor((b, d), F64, seed, scale=2.0)
    logvar = gs.make_tensor((b, d), F64, seed + 1, low=-max_abs_logvar, high=max_abs_logvar)
    return mu, logvar


# ----------------------------------------------------------------------------- reparameterize


@pytest.mark.parametrize("seed", SEEDS)
def test_reparameterize_matches_elementwise_loop(seed: int) -> None:
    mu, logvar = _params(seed, max_abs_logvar=100.0)
    eps = gs.make_tensor(tuple(mu.shape), F64, seed + 2)
    expected = torch.tensor([[m + math.exp(0.5 * lv) * e for m, lv, e in zip(*rows)] for rows in zip(mu.tolist(), logvar.tolist(), eps.tolist())], dtype=F64)
    torch.testing.assert_close(ref.reparameterize(mu, logvar, eps), expected, rtol=1e-12, atol=0)


def test_reparameterize_is_finite_in_float32_for_logvar_100() -> None:
    logvar = torch.tensor([[100.0, -100.0]])
    z = ref.reparameterize(torch.zeros(1, 2), logvar, torch.ones(1, 2))
    assert torch.isfinite(z).all()
    torch.testing.assert_close(z.double(), torch.tensor([[math.exp(50), math.exp(-50)]], dtype=F64), rtol=1e-6, atol=0)


@pytest.mark.parametrize("seed", SEEDS)
def test_reparameterize_sample_has_the_posterior_distribution(seed: int) -> None:
    """z = mu + σ·eps with eps ~ N(0, 1) has mean mu and std σ (a large seeded sample)."""
    mu, logvar = _params(seed, b=1, d=3)
    eps = torch.randn(200_000, 3, generator=gs.generator(seed), dtype=F64)
    z = ref.reparameterize(mu.expand(200_000, 3), logvar.expand(200_000, 3), eps)
    torch.testing.assert_close(z.mean(0), mu[0], rtol=0, atol=0.02 * math.exp(2.0))
    torch.testing.assert_close(z.std(0), torch.exp(0.5 * logvar[0]), rtol=0.01, atol=0)


# ----------------------------------------------------------------------------- kl_standard_normal


@pytest.mark.parametrize("seed", SEEDS)
def test_kl_matches_torch_distributions(seed: int) -> None:
    mu, logvar = _params(seed, b=5, d=4, max_abs_logvar=8.0)
    expected = kl_divergence(Normal(mu, torch.exp(0.5 * logvar)), Normal(torch.zeros_like(mu), torch.ones_like(mu))).sum(-1)
    torch.testing.assert_close(ref.kl_standard_normal(mu, logvar), expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("seed", SEEDS)
def test_kl_gradients_match_torch_distributions(seed: int) -> None:
    mu, logvar = (t.requires_grad_(True) for t in _params(seed))
    g = gs.make_tensor((mu.shape[0],), F64, seed + 5)
    ours = torch.autograd.grad(ref.kl_standard_normal(mu, logvar), (mu, logvar), g)
    theirs_kl = kl_divergence(Normal(mu, torch.exp(0.5 * logvar)), Normal(torch.zeros_like(mu), torch.ones_like(mu))).sum(-1)
    theirs = torch.autograd.grad(theirs_kl, (mu, logvar), g)
    torch.testing.assert_close(ours, theirs, rtol=1e-10, atol=1e-12)


# ----------------------------------------------------------------------------- negative_elbo


def _elbo_oracle(x, x_hat, mu, logvar, beta, likelihood):
    """−log p(x|z) from torch.distributions (constant removed for the Gaussian) + beta·KL."""
    if likelihood == "bernoulli":
        log_p = Bernoulli(logits=x_hat, validate_args=False).log_prob(x)  # fractional x: the same cross-entropy formula
    else:
        log_p = Normal(x_hat, torch.ones_like(x_hat)).log_prob(x) + 0.5 * math.log(2 * math.pi)
    kl = kl_divergence(Normal(mu, torch.exp(0.5 * logvar)), Normal(torch.zeros_like(mu), torch.ones_like(mu))).sum(-1)
    return -log_p.flatten(1).sum(1) + beta * kl


@pytest.mark.parametrize("likelihood", ["bernoulli", "gaussian"])
@pytest.mark.parametrize("shape", [(3, 5), (2, 3, 4, 4)])
@pytest.mark.parametrize("seed", range(3))
def test_negative_elbo_matches_torch_distributions(likelihood: str, shape: tuple[int, ...], seed: int) -> None:
    x = gs.make_tensor(shape, F64, seed, low=0.0, high=1.0)
    x_hat = gs.make_tensor(shape, F64, seed + 1, scale=3.0)
    mu, logvar = _params(seed + 2, b=shape[0])
    beta = 0.25 + seed
    torch.testing.assert_close(ref.negative_elbo(x, x_hat, mu, logvar, beta, likelihood), _elbo_oracle(x, x_hat, mu, logvar, beta, likelihood), rtol=1e-10, atol=1e-10)


def test_negative_elbo_bernoulli_is_exact_for_logits_of_100() -> None:
    x = torch.tensor([[1.0, 0.0, 0.3, 1.0]])
    x_hat = torch.tensor([[100.0, -100.0, 100.0, -100.0]])
    zeros = torch.zeros(1, 1)
    got = ref.negative_elbo(x, x_hat, zeros, zeros)
    assert torch.isfinite(got).all()
    torch.testing.assert_close(got, torch.tensor([70.0 + 100.0]), rtol=1e-6, atol=1e-6)


def test_negative_elbo_rejects_an_unknown_likelihood() -> None:
    x = torch.zeros(1, 2)
    with pytest.raises(ValueError, match="likelihood"):
        ref.negative_elbo(x, x, torch.zeros(1, 1), torch.zeros(1, 1), likelihood="laplace")


# ----------------------------------------------------------------------------- slerp


def _slerp_row(a: list[float], b: list[float], t: float) -> list[float]:
    """One row with plain floats: the textbook formula, linear for (anti)parallel rows."""
    dot = sum(x * y for x, y in zip(a, b))
    cos = max(-1.0, min(1.0, dot / (math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b)))))
    omega = math.acos(cos)
    if math.sin(omega) < 1e-6:
        return [(1 - t) * x + t * y for x, y in zip(a, b)]
    return [(math.sin((1 - t) * omega) * x + math.sin(t * omega) * y) / math.sin(omega) for x, y in zip(a, b)]


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("t_per_row", [False, True])
def test_slerp_matches_a_row_loop(seed: int, t_per_row: bool) -> None:
    z0, z1 = gs.separated_rows(5, 4, seed)
    p0, p1 = gs.parallel_rows(5, 4, seed + 1)
    z0, z1 = torch.cat([z0, p0]), torch.cat([z1, p1])  # random rows, then exactly (anti)parallel ones
    ts = gs.make_tensor((10,), F64, seed + 2, low=0.0, high=1.0)
    t = ts if t_per_row else 0.3
    expected = torch.tensor([_slerp_row(a, b, float(ts[i]) if t_per_row else 0.3) for i, (a, b) in enumerate(zip(z0.tolist(), z1.tolist()))], dtype=F64)
    torch.testing.assert_close(ref.slerp(z0, z1, t), expected, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("seed", SEEDS)
def test_slerp_gradients_pass_gradcheck(seed: int) -> None:
    z0, z1 = (t.requires_grad_(True) for t in gs.separated_rows(3, 4, seed))
    t = gs.make_tensor((3,), F64, seed + 2, low=0.0, high=1.0).requires_grad_(True)
    assert torch.autograd.gradcheck(ref.slerp, (z0, z1, t))


@pytest.mark.parametrize("seed", SEEDS)
def test_parallel_rows_are_exactly_parallel_in_float32(seed: int) -> None:
    """The strategy's (anti)parallel rows have cosine exactly ±1 however it is computed."""
    z0, z1 = (t.float() for t in gs.parallel_rows(6, 5, seed))
    by_norms = (z0 * z1).sum(-1) / (z0.norm(dim=-1) * z1.norm(dim=-1))
    by_units = (z0 / z0.norm(dim=-1, keepdim=True) * (z1 / z1.norm(dim=-1, keepdim=True))).sum(-1)
    for cos in (by_norms, by_units, torch.nn.functional.cosine_similarity(z0, z1, dim=-1)):
        assert bool((cos.abs() == 1).all()), cos


@pytest.mark.parametrize("seed", SEEDS)
def test_separated_rows_keep_their_distance(seed: int) -> None:
    z0, z1 = gs.separated_rows(8, 2, seed)
    cos = (z0 * z1).sum(-1) / (z0.norm(dim=-1) * z1.norm(dim=-1))
    assert bool(((1 - cos.square()).sqrt() >= 1e-2).all())
