"""Oracle tests: the flows reference agrees with independent implementations, in float64.

Oracles: torch.distributions (AffineTransform, TransformedDistribution, MultivariateNormal),
autograd Jacobians, and scipy quadrature. The fixtures the properties hand to students are
checked here too, since expected values in the properties are built from them.
"""

from __future__ import annotations

import itertools
import math

import pytest
import torch
from scipy import integrate
from torch import nn
from torch.distributions import AffineTransform, ExpTransform, Independent, MultivariateNormal, Normal, SigmoidTransform, TransformedDistribution
from torch.distributions.transforms import Transform

from grader import strategies as gs
from grader.properties.flows import strategies as flows_st
from grader.reference import load_reference
from tests.harness import SOLUTIONS, failed_properties, grade_impl
from tests.wrong.flows import EXTRA

ref = load_reference(SOLUTIONS, "flows")
F64 = torch.float64


def assert_close(got: torch.Tensor, expected: torch.Tensor) -> None:
    torch.testing.assert_close(got, expected, rtol=1e-9, atol=1e-10)


def per_sample_jacobian(fn, x: torch.Tensor) -> torch.Tensor:
    """(B, D, D) Jacobians of a row-wise map, one autograd Jacobian per sample."""
    return torch.stack([torch.autograd.functional.jacobian(lambda row: fn(row[None])[0], sample) for sample in x])


# ----------------------------------------------------------------------------- the fixtures themselves


@pytest.mark.parametrize("kind", flows_st.FLOW_KINDS)
@pytest.mark.parametrize("seed", range(3))
def test_fixture_is_exact(kind: str, seed: int) -> None:
    t = flows_st.flow_transform(kind, 4, F64, seed)
    x = gs.make_tensor((5, 4), F64, seed + 1)
    z, log_det = t(x)
    jac = per_sample_jacobian(lambda r: t(r)[0], x)
    assert_close(log_det, torch.linalg.slogdet(jac).logabsdet)
    back, inverse_log_det = t.inverse(z)
    assert_close(back, x)
    assert_close(inverse_log_det, -log_det)


# ----------------------------------------------------------------------------- AffineCoupling


@pytest.mark.parametrize("seed", range(5))
def test_coupling_matches_torch_affine_transform(seed: int) -> None:
    d, b = 5, 4
    scale_net, shift_net = flows_st.coupling_nets(d, 6, F64, seed)
    mask = torch.tensor([1.0, 0.0, 0.0, 1.0, 0.0], dtype=F64)
    x = gs.make_tensor((b, d), F64, seed + 1)
    layer = ref.AffineCoupling(mask, scale_net, shift_net)
    with torch.no_grad():
        y, log_det = layer(x)
        # The transformed dimensions are an affine map conditioned on the passed-through ones.
        free = ~mask.bool()
        affine = AffineTransform(loc=shift_net(mask * x)[:, free], scale=torch.exp(scale_net(mask * x))[:, free])
        expected = x.clone()
        expected[:, free] = affine(x[:, free])
        assert_close(y, expected)
        assert_close(log_det, affine.log_abs_det_jacobian(x[:, free], expected[:, free]).sum(-1))
        back, inverse_log_det = layer.inverse(y)
        assert_close(back, x)
        assert_close(inverse_log_det, -log_det)
    jac = per_sample_jacobian(lambda r: layer(r)[0], x)
    assert_close(log_det, torch.linalg.slogdet(jac).logabsdet)


def test_coupling_keeps_working_after_to_and_trains_both_nets() -> None:
    scale_net, shift_net = flows_st.coupling_nets(3, 4, torch.float32, 0)
    layer = ref.AffineCoupling(torch.tensor([1.0, 0.0, 0.0]), scale_net, shift_net).to(F64)
    assert [name for name, _ in layer.named_children()] == ["scale_net", "shift_net"]
    assert all(not n.startswith("mask") for n, _ in layer.named_parameters())
    x = gs.make_tensor((6, 3), F64, 1)
    y, log_det = layer(x)
    assert y.dtype == log_det.dtype == F64
    (y.sum() + log_det.sum()).backward()
    assert all(p.grad is not None and bool((p.grad != 0).any()) for p in layer.parameters())


# ----------------------------------------------------------------------------- log_prob and sample


class DataToNoise(nn.Module):
    """A torch.distributions transform T (noise -> data), wrapped in the course's convention (data -> noise)."""

    def __init__(self, transform: Transform) -> None:
        super().__init__()
        self.transform = transform

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        z = self.transform.inv(x)
        return z, -self.transform.log_abs_det_jacobian(z, x).sum(-1)

    def inverse(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.transform(z)
        return x, self.transform.log_abs_det_jacobian(z, x).sum(-1)


def torch_chains(d: int, seed: int) -> list[list[Transform]]:
    """Chains of torch transforms in the noise -> data direction."""
    loc, scale = gs.make_tensor((d,), F64, seed), torch.exp(gs.make_tensor((d,), F64, seed + 1, scale=0.5))
    loc2, scale2 = gs.make_tensor((d,), F64, seed + 2), torch.exp(gs.make_tensor((d,), F64, seed + 3, scale=0.5))
    return [
        [AffineTransform(loc, scale)],
        [AffineTransform(loc, scale), SigmoidTransform(), AffineTransform(loc2, scale2)],
        [AffineTransform(loc, scale), ExpTransform()],
    ]


@pytest.mark.parametrize("chain_index", range(3))
@pytest.mark.parametrize("seed", range(3))
def test_log_prob_and_sample_match_transformed_distribution(chain_index: int, seed: int) -> None:
    d, b = 3, 7
    chain = torch_chains(d, seed)[chain_index]
    base = Independent(Normal(torch.zeros(d, dtype=F64), torch.ones(d, dtype=F64)), 1)
    dist = TransformedDistribution(base, chain, validate_args=False)
    z = gs.make_tensor((b, d), F64, seed + 10)
    x = z
    for t in chain:
        x = t(x)
    # The course lists transforms data -> noise: the torch chain reversed, each one inverted.
    course = [DataToNoise(t) for t in reversed(chain)]
    assert_close(ref.log_prob(x, course), dist.log_prob(x))
    assert_close(ref.sample(z, course), x)


@pytest.mark.parametrize("seed", range(5))
def test_log_prob_of_an_affine_chain_is_a_multivariate_normal(seed: int) -> None:
    d = 4
    chain = [flows_st.flow_transform(kind, d, F64, seed + 10 * i) for i, kind in enumerate(("triangular", "permutation", "affine", "triangular"))]
    def run(x: torch.Tensor) -> torch.Tensor:
        for t in chain:
            x, _ = t(x)
        return x

    origin = torch.zeros(1, d, dtype=F64)
    a = per_sample_jacobian(run, origin)[0]  # z = A·x + c
    with torch.no_grad():
        c = run(origin)[0]
        x = gs.make_tensor((6, d), F64, seed + 1)
        # x = A⁻¹(z − c) with z ~ N(0, I): mean −A⁻¹c, precision AᵀA.
        mvn = MultivariateNormal(-torch.linalg.solve(a, c), precision_matrix=a.T @ a)
        assert_close(ref.log_prob(x, chain), mvn.log_prob(x))


@pytest.mark.parametrize("kinds", [("affine",), ("affine", "asinh"), ("asinh", "triangular", "affine"), ("leaky", "affine")])
def test_one_dimensional_density_integrates_to_one(kinds: tuple[str, ...]) -> None:
    chain = [flows_st.flow_transform(kind, 1, F64, 3 + i) for i, kind in enumerate(kinds)]

    def density(x: float) -> float:
        with torch.no_grad():
            return math.exp(float(ref.log_prob(torch.tensor([[x]], dtype=F64), chain)))

    breaks = [-math.inf, math.inf]
    if "leaky" in kinds:  # integrate on both sides of the kink: the x whose leaky-map input is 0
        breaks.insert(1, float(ref.sample(torch.zeros(1, 1, dtype=F64), chain[: kinds.index("leaky")])))
    total = sum(integrate.quad(density, lo, hi, limit=200)[0] for lo, hi in itertools.pairwise(breaks))
    assert total == pytest.approx(1.0, abs=1e-7)


@pytest.mark.parametrize("seed", range(5))
def test_sample_inverts_the_chain_log_prob_runs(seed: int) -> None:
    d = 3
    chain = [flows_st.flow_transform(kind, d, F64, seed + 10 * i) for i, kind in enumerate(flows_st.FLOW_KINDS)]
    x = gs.make_tensor((5, d), F64, seed + 1)
    z, total_log_det = flows_st.apply_chain(x, chain)
    assert_close(ref.sample(z, chain), x)
    assert_close(ref.log_prob(x, chain), Normal(torch.zeros((), dtype=F64), torch.ones((), dtype=F64)).log_prob(z).sum(-1) + total_log_det)
    assert_close(ref.log_prob(x, []), ref.log_prob(x, nn.ModuleList()))


# ----------------------------------------------------------------------------- more wrong variants


@pytest.mark.parametrize(("key", "impl"), list(EXTRA.items()), ids=[f"{e}:{p}" for e, p in EXTRA])
def test_extra_wrong_variants_are_caught(key: tuple[str, str], impl: object) -> None:
    exercise_id, prop = key
    assert prop in failed_properties(grade_impl(exercise_id, impl, only=prop))
