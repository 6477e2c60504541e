"""The GAN reference solutions agree with independent implementations (float64)."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch.func import functional_call

from grader import fixtures
from grader import strategies as gs
from grader.reference import load_reference
from tests.harness import SOLUTIONS

ref = load_reference(SOLUTIONS, "gan")
F64 = torch.float64
SEEDS = range(5)


def _logits(shape: tuple[int, ...], seed: int, *, extreme: bool = False) -> torch.Tensor:
    logits = gs.make_tensor(shape, F64, seed, scale=4.0)
    if extreme:
        logits[..., ::2] = 100.0 * torch.sign(logits[..., ::2])
    return logits


# ----------------------------------------------------------------------------- losses


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("extreme", [False, True])
def test_discriminator_loss_matches_bce_with_logits(seed: int, extreme: bool) -> None:
    real, fake = _logits((5, 1), seed, extreme=extreme), _logits((3,), seed + 1, extreme=extreme)
    expected = F.binary_cross_entropy_with_logits(real, torch.ones_like(real)) + F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake))
    torch.testing.assert_close(ref.discriminator_loss(real, fake), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("extreme", [False, True])
def test_generator_losses_match_bce_with_logits(seed: int, extreme: bool) -> None:
    fake = _logits((6,), seed, extreme=extreme)
    # −log D(G(z)) is BCE against 1; log(1 − D(G(z))) is minus BCE against 0.
    torch.testing.assert_close(ref.generator_loss(fake, True), F.binary_cross_entropy_with_logits(fake, torch.ones_like(fake)), rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(ref.generator_loss(fake, False), -F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake)), rtol=1e-12, atol=1e-12)


def test_losses_are_finite_in_float32_for_logits_of_100() -> None:
    big = torch.tensor([100.0, -100.0])
    for value in (ref.discriminator_loss(big, big), ref.generator_loss(big, True), ref.generator_loss(big, False)):
        assert torch.isfinite(value)


def test_saturating_gradient_vanishes_where_non_saturating_does_not() -> None:
    """The q14 point: with D rejecting fakes (logit −10), only −log D(G(z)) still teaches G."""
    fake = torch.tensor([-10.0], dtype=F64, requires_grad=True)
    (non_sat,) = torch.autograd.grad(ref.generator_loss(fake, True), fake)
    (sat,) = torch.autograd.grad(ref.generator_loss(fake, False), fake)
    assert abs(non_sat.item()) > 0.99 and abs(sat.item()) < 1e-4


# ----------------------------------------------------------------------------- gradient_penalty


def _gp_loop(critic: torch.nn.Module, real: torch.Tensor, fake: torch.Tensor, alpha: torch.Tensor, weight: float) -> torch.Tensor:
    """One sample at a time, its input-gradient from torch.autograd.functional.jacobian."""
    terms = []
    for b in range(real.shape[0]):
        point = real[b] + float(alpha[b]) * (fake[b] - real[b])
        jac = torch.autograd.functional.jacobian(lambda p: critic(p.unsqueeze(0)).reshape(()), point)
        terms.append((jac.reshape(-1).norm() - 1) ** 2)
    return weight * torch.stack(terms).mean()


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("shape", [(4, 5), (3, 2, 3, 3)])
@pytest.mark.parametrize("squeeze", [False, True])
def test_gradient_penalty_matches_a_per_sample_jacobian(seed: int, shape: tuple[int, ...], squeeze: bool) -> None:
    critic = fixtures.MLPCritic(math.prod(shape[1:]), seed=seed, squeeze=squeeze)
    real, fake = gs.make_tensor(shape, F64, seed), gs.make_tensor(shape, F64, seed + 1, scale=2.0)
    alpha = gs.make_tensor((shape[0],), F64, seed + 2, low=0.0, high=1.0)
    torch.testing.assert_close(ref.gradient_penalty(critic, real, fake, alpha, 3.0), _gp_loop(critic, real, fake, alpha, 3.0), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("scale", [0.5, 1.0, 2.5])
def test_gradient_penalty_of_a_linear_critic_is_closed_form(scale: float) -> None:
    w = gs.make_tensor((12,), F64, 0)
    critic = fixtures.LinearCritic(w / w.norm() * scale, bias=1.0)
    real, fake = gs.make_tensor((4, 3, 2, 2), F64, 1), gs.make_tensor((4, 3, 2, 2), F64, 2)
    got = ref.gradient_penalty(critic, real, fake, torch.rand(4, dtype=F64, generator=gs.generator(3)), 10.0)
    torch.testing.assert_close(got, torch.tensor(10.0 * (scale - 1) ** 2, dtype=F64), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("seed", SEEDS)
def test_gradient_penalty_parameter_gradients_pass_gradcheck(seed: int) -> None:
    """Finite differences confirm the double backward: the penalty really trains the critic."""
    critic = fixtures.MLPCritic(4, hidden=3, seed=seed)
    real, fake = gs.make_tensor((3, 4), F64, seed), gs.make_tensor((3, 4), F64, seed + 1)
    alpha = gs.make_tensor((3,), F64, seed + 2, low=0.0, high=1.0)
    names = [n for n, _ in critic.named_parameters()]

    def penalty(*params: torch.Tensor) -> torch.Tensor:
        def with_params(x: torch.Tensor) -> torch.Tensor:
            return functional_call(critic, dict(zip(names, params)), (x,))

        return ref.gradient_penalty(with_params, real, fake, alpha, 2.0)

    params = tuple(p.detach().clone().requires_grad_(True) for p in critic.parameters())
    assert torch.autograd.gradcheck(penalty, params)


# ----------------------------------------------------------------------------- minibatch_stddev


def _mbstd_loop(x: torch.Tensor, group_size: int, eps: float) -> torch.Tensor:
    b, c, h, w = x.shape
    g = min(group_size, b)
    m = b // g
    out = torch.empty(b, c + 1, h, w, dtype=x.dtype)
    out[:, :c] = x
    for i in range(b):
        members = [j for j in range(b) if j % m == i % m]  # sample j is in group j mod (B/G)
        assert len(members) == g
        total = 0.0
        for ch in range(c):
            for y in range(h):
                for z in range(w):
                    values = [float(x[j, ch, y, z]) for j in members]
                    mean = sum(values) / g
                    total += math.sqrt(sum((v - mean) ** 2 for v in values) / g + eps)
        out[i, c] = total / (c * h * w)
    return out


@pytest.mark.parametrize(("b", "group_size"), [(8, 4), (6, 2), (6, 3), (3, 4), (5, 1), (1, 4), (12, 4)])
@pytest.mark.parametrize("eps", [1e-8, 1e-2])
def test_minibatch_stddev_matches_a_naive_loop(b: int, group_size: int, eps: float) -> None:
    x = gs.make_tensor((b, 2, 3, 2), F64, b * 10 + group_size)
    torch.testing.assert_close(ref.minibatch_stddev(x, group_size, eps), _mbstd_loop(x, group_size, eps), rtol=1e-12, atol=1e-12)


def test_minibatch_stddev_gradient_is_finite_for_a_constant_group() -> None:
    x = torch.ones(4, 1, 2, 2, dtype=F64, requires_grad=True)
    (grad,) = torch.autograd.grad(ref.minibatch_stddev(x, 2).sum(), x)
    assert torch.isfinite(grad).all()


# ----------------------------------------------------------------------------- concat_condition


def _concat_loop(x: torch.Tensor, labels: torch.Tensor, k: int) -> torch.Tensor:
    d = x.shape[1]
    out = torch.zeros(x.shape[0], d + k, *x.shape[2:], dtype=x.dtype)
    for i in range(x.shape[0]):
        out[i, :d] = x[i]
        out[i, d + int(labels[i])] = 1.0  # every spatial position of that channel
    return out


@pytest.mark.parametrize("shape", [(5, 3), (4, 2, 3, 2)])
@pytest.mark.parametrize("k", [1, 4, 7])
def test_concat_condition_matches_a_naive_loop(shape: tuple[int, ...], k: int) -> None:
    x = gs.make_tensor(shape, F64, k)
    labels = torch.randint(0, k, (shape[0],), generator=gs.generator(k))
    got = ref.concat_condition(x, labels, k)
    assert got.dtype == F64
    torch.testing.assert_close(got, _concat_loop(x, labels, k), rtol=0, atol=0)


# ----------------------------------------------------------------------------- r1_penalty


def _stylegan2_r1(discriminator: torch.nn.Module, real: torch.Tensor, gamma: float) -> torch.Tensor:
    """StyleGAN2's loss_Dr1 written directly (training/loss.py): the input-gradient of the summed
    real logits at a detached copy, squared and summed per sample, times r1_gamma / 2, batch mean."""
    real_tmp = real.detach().requires_grad_(True)
    real_logits = discriminator(real_tmp)
    (r1_grads,) = torch.autograd.grad(outputs=[real_logits.sum()], inputs=[real_tmp], create_graph=True)
    r1_penalty = r1_grads.square().sum(list(range(1, real.dim())))
    return (r1_penalty * (gamma / 2)).mean()


def _r1_loop(discriminator: torch.nn.Module, real: torch.Tensor, gamma: float) -> torch.Tensor:
    """One sample at a time, its input-gradient from torch.autograd.functional.jacobian."""
    terms = [torch.autograd.functional.jacobian(lambda p: discriminator(p.unsqueeze(0)).reshape(()), real[b]).square().sum() for b in range(real.shape[0])]
    return gamma / 2 * torch.stack(terms).mean()


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("shape", [(4, 5), (3, 2, 3, 3)])
@pytest.mark.parametrize("squeeze", [False, True])
def test_r1_penalty_matches_stylegan2_and_a_per_sample_jacobian(seed: int, shape: tuple[int, ...], squeeze: bool) -> None:
    discriminator = fixtures.MLPCritic(math.prod(shape[1:]), seed=seed, squeeze=squeeze)
    real = gs.make_tensor(shape, F64, seed)
    got = ref.r1_penalty(discriminator, real, 10.0)
    torch.testing.assert_close(got, _stylegan2_r1(discriminator, real, 10.0), rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(got, _r1_loop(discriminator, real, 10.0), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("curvature", [0.5, 2.0])
def test_r1_penalty_of_a_quadratic_discriminator_is_closed_form(curvature: float) -> None:
    w, real = gs.make_tensor((12,), F64, 0), gs.make_tensor((4, 3, 2, 2), F64, 1)
    got = ref.r1_penalty(fixtures.QuadraticCritic(w, curvature), real, 3.0)
    torch.testing.assert_close(got, 1.5 * (curvature * real.flatten(1) + w).square().sum(dim=1).mean(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("requires_grad", [False, True])
def test_r1_penalty_leaves_real_as_it_was(requires_grad: bool) -> None:
    """The gradient is taken at a detached copy: real keeps its flag, gets no .grad, and the
    penalty's backward reaches only the discriminator."""
    discriminator = fixtures.MLPCritic(5, seed=0)
    real = gs.make_tensor((3, 5), F64, 0).requires_grad_(requires_grad)
    before = real.detach().clone()
    ref.r1_penalty(discriminator, real, 10.0).backward()
    assert real.requires_grad is requires_grad and real.grad is None
    assert torch.equal(real.detach(), before)
    assert all(p.grad is not None for p in discriminator.parameters() if p is not discriminator.b2)


@pytest.mark.parametrize("seed", SEEDS)
def test_r1_penalty_parameter_gradients_pass_gradcheck(seed: int) -> None:
    """Finite differences confirm the double backward: the penalty really trains the discriminator."""
    discriminator = fixtures.MLPCritic(4, hidden=3, seed=seed)
    real = gs.make_tensor((3, 4), F64, seed)
    names = [n for n, _ in discriminator.named_parameters()]

    def penalty(*params: torch.Tensor) -> torch.Tensor:
        def with_params(x: torch.Tensor) -> torch.Tensor:
            return functional_call(discriminator, dict(zip(names, params)), (x,))

        return ref.r1_penalty(with_params, real, 2.0)

    params = tuple(p.detach().clone().requires_grad_(True) for p in discriminator.parameters())
    assert torch.autograd.gradcheck(penalty, params)
