"""The diffusion reference agrees with independent implementations in float64.

Oracles: diffusers' DDPMScheduler / DDIMScheduler (their buffers replaced by float64 ones,
since diffusers builds its schedules in float32), numpy.linspace, a naive math.cos loop,
torch.lerp (which is exactly the guidance formula) and improved-diffusion's respacing loop.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from grader.reference import load_reference
from tests.harness import SOLUTIONS

diffusers_ddpm = pytest.importorskip("diffusers.schedulers.scheduling_ddpm")
diffusers_ddim = pytest.importorskip("diffusers.schedulers.scheduling_ddim")

ref = load_reference(SOLUTIONS, "diffusion")
F64 = torch.float64


def _randn(shape: tuple[int, ...], seed: int) -> torch.Tensor:
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed), dtype=F64)


def _assert_close(got: torch.Tensor, expected: torch.Tensor, *, rtol: float = 1e-10, atol: float = 1e-12) -> None:
    assert got.dtype == expected.dtype, (got.dtype, expected.dtype)
    torch.testing.assert_close(got, expected, rtol=rtol, atol=atol)


def _ddpm_scheduler(betas: torch.Tensor, variance_type: str = "fixed_small") -> diffusers_ddpm.DDPMScheduler:
    """A DDPMScheduler whose schedule buffers are the given betas in float64."""
    sched = diffusers_ddpm.DDPMScheduler(num_train_timesteps=len(betas), trained_betas=betas.numpy(), clip_sample=False, variance_type=variance_type)
    sched.betas = betas.clone()
    sched.alphas = 1 - betas
    sched.alphas_cumprod = torch.cumprod(sched.alphas, dim=0)
    sched.one = torch.tensor(1.0, dtype=F64)
    return sched


def _ddim_scheduler(betas: torch.Tensor, num_inference_steps: int) -> diffusers_ddim.DDIMScheduler:
    """A DDIMScheduler (leading spacing, no offset, ᾱ_prev = 1 at the end) with float64 buffers."""
    sched = diffusers_ddim.DDIMScheduler(
        num_train_timesteps=len(betas), trained_betas=betas.numpy(), clip_sample=False, set_alpha_to_one=True, timestep_spacing="leading", steps_offset=0
    )
    sched.betas = betas.clone()
    sched.alphas = 1 - betas
    sched.alphas_cumprod = torch.cumprod(sched.alphas, dim=0)
    sched.final_alpha_cumprod = torch.tensor(1.0, dtype=F64)
    sched.set_timesteps(num_inference_steps)
    return sched


SCHEDULES = {
    "linear-1000": lambda: ref.linear_beta_schedule(1000),
    "linear-50": lambda: ref.linear_beta_schedule(50, 1e-3, 0.2),
    "cosine-1000": lambda: ref.cosine_beta_schedule(1000),
    "cosine-20": lambda: ref.cosine_beta_schedule(20),
}


# ----------------------------------------------------------------------------- schedules


@pytest.mark.parametrize(("num_steps", "start", "end"), [(1, 1e-4, 0.02), (2, 1e-4, 0.02), (10, 1e-4, 0.02), (1000, 1e-4, 0.02), (37, 0.003, 0.3)])
def test_linear_schedule_matches_numpy_and_diffusers(num_steps: int, start: float, end: float) -> None:
    got = ref.linear_beta_schedule(num_steps, start, end)
    _assert_close(got, torch.from_numpy(np.linspace(start, end, num_steps)), rtol=1e-13, atol=1e-16)
    # diffusers' "linear" schedule is the same linspace, built in float32.
    sched = diffusers_ddpm.DDPMScheduler(num_train_timesteps=num_steps, beta_start=start, beta_end=end, beta_schedule="linear")
    torch.testing.assert_close(got, sched.betas.double(), rtol=1e-6, atol=1e-9)


def _naive_cosine_betas(num_steps: int, s: float, max_beta: float) -> torch.Tensor:
    def alpha_bar(u: float) -> float:
        return math.cos((u + s) / (1 + s) * math.pi / 2) ** 2

    return torch.tensor([min(1 - alpha_bar((i + 1) / num_steps) / alpha_bar(i / num_steps), max_beta) for i in range(num_steps)], dtype=F64)


@pytest.mark.parametrize(("num_steps", "s", "max_beta"), [(1, 0.008, 0.999), (2, 0.008, 0.999), (10, 0.008, 0.999), (1000, 0.008, 0.999), (50, 0.0, 0.5), (17, 0.05, 0.9)])
def test_cosine_schedule_matches_naive_loop(num_steps: int, s: float, max_beta: float) -> None:
    _assert_close(ref.cosine_beta_schedule(num_steps, s, max_beta), _naive_cosine_betas(num_steps, s, max_beta), rtol=1e-11, atol=1e-14)


@pytest.mark.parametrize("num_steps", [1, 10, 1000])
def test_cosine_schedule_is_diffusers_squaredcos_cap_v2(num_steps: int) -> None:
    sched = diffusers_ddpm.DDPMScheduler(num_train_timesteps=num_steps, beta_schedule="squaredcos_cap_v2")
    torch.testing.assert_close(ref.cosine_beta_schedule(num_steps), sched.betas.double(), rtol=1e-6, atol=1e-9)


# ----------------------------------------------------------------------------- forward process


@pytest.mark.parametrize("shape", [(5,), (4, 4), (3, 3, 3), (2, 3, 2, 2), (3, 1, 3, 2, 3)])
@pytest.mark.parametrize("schedule", sorted(SCHEDULES))
def test_q_sample_matches_diffusers_add_noise(shape: tuple[int, ...], schedule: str) -> None:
    betas = SCHEDULES[schedule]()
    sched = _ddpm_scheduler(betas)
    x0, noise = _randn(shape, 0), _randn(shape, 1)
    t = torch.randint(0, len(betas), (shape[0],), generator=torch.Generator().manual_seed(2))
    t[0] = 0
    expected = sched.add_noise(x0, noise, t)
    _assert_close(ref.q_sample(x0, t, noise, sched.alphas_cumprod), expected)


# ----------------------------------------------------------------------------- DDPM


@pytest.mark.parametrize("variance", ["fixed_small", "fixed_large"])
@pytest.mark.parametrize("schedule", sorted(SCHEDULES))
def test_ddpm_step_matches_diffusers(variance: str, schedule: str, monkeypatch: pytest.MonkeyPatch) -> None:
    betas = SCHEDULES[schedule]()
    sched = _ddpm_scheduler(betas, variance)
    shape = (3, 2, 3, 3)
    for t in sorted({0, 1, 2, len(betas) // 2, len(betas) - 2, len(betas) - 1}):
        eps, x_t, noise = _randn(shape, 3 * t), _randn(shape, 3 * t + 1), _randn(shape, 3 * t + 2)
        # The scheduler draws its own noise; hand it ours instead.
        monkeypatch.setattr(diffusers_ddpm, "randn_tensor", lambda *a, _noise=noise, **k: _noise.clone())
        expected = sched.step(eps, t, x_t).prev_sample
        _assert_close(ref.ddpm_step(eps, t, x_t, betas, noise, variance), expected, rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize("variance", ["fixed_small", "fixed_large"])
def test_ddpm_step_matches_diffusers_mean_and_variance(variance: str) -> None:
    """The same comparison without patching: diffusers' mean (its step minus the noise it drew)
    plus σ·noise, with σ² from the scheduler's own _get_variance. This also pins down what the
    property ddpm_step:matches_diffusers relies on: with a seeded CPU generator, the scheduler
    draws torch.randn(shape, generator=..., dtype=float64), as gs.make_tensor does."""
    betas = ref.linear_beta_schedule(100, 1e-3, 0.05)
    sched = _ddpm_scheduler(betas, variance)
    shape = (2, 3, 4)
    for t in (1, 37, 99):
        eps, x_t, noise = _randn(shape, t), _randn(shape, t + 100), _randn(shape, t + 200)
        generator = torch.Generator().manual_seed(t)
        drawn = torch.randn(shape, generator=torch.Generator().manual_seed(t), dtype=F64)
        stepped = sched.step(eps, t, x_t, generator=generator).prev_sample
        std = sched._get_variance(t) ** 0.5
        mean = stepped - std * drawn
        _assert_close(ref.ddpm_step(eps, t, x_t, betas, noise, variance), mean + std * noise, rtol=1e-9, atol=1e-11)


def test_ddpm_step_at_t0_ignores_noise_and_matches_diffusers() -> None:
    betas = ref.cosine_beta_schedule(10)
    sched = _ddpm_scheduler(betas, "fixed_large")
    eps, x_t = _randn((4, 4), 0), _randn((4, 4), 1)
    expected = sched.step(eps, 0, x_t, generator=torch.Generator().manual_seed(0)).prev_sample
    _assert_close(ref.ddpm_step(eps, 0, x_t, betas, None, "fixed_large"), expected)
    _assert_close(ref.ddpm_step(eps, 0, x_t, betas, _randn((4, 4), 2), "fixed_large"), expected)


# ----------------------------------------------------------------------------- DDIM


def test_ddim_timesteps_match_diffusers_leading_spacing() -> None:
    for num_train in range(1, 61):
        for n in range(1, num_train + 1):
            expected = _ddim_scheduler(torch.full((num_train,), 0.01, dtype=F64), n).timesteps
            got = ref.ddim_timesteps(num_train, n)
            assert got.dtype == torch.int64 and torch.equal(got, expected), (num_train, n, got, expected)
    for num_train, n in [(1000, 50), (1000, 1000), (1000, 3), (1000, 7), (999, 10)]:
        assert torch.equal(ref.ddim_timesteps(num_train, n), _ddim_scheduler(torch.full((num_train,), 1e-3, dtype=F64), n).timesteps)


@pytest.mark.parametrize("eta", [0.0, 0.3, 1.0])
@pytest.mark.parametrize(("schedule", "n"), [("linear-1000", 50), ("linear-50", 50), ("cosine-1000", 10), ("cosine-20", 7), ("linear-50", 1)])
def test_ddim_sampling_loop_matches_diffusers(eta: float, schedule: str, n: int) -> None:
    """A whole sampling loop, with an ε 'model' that depends on x_t and t, stays on diffusers' trajectory."""
    betas = SCHEDULES[schedule]()
    sched = _ddim_scheduler(betas, n)
    alphas_cumprod = torch.cumprod(1 - betas, dim=0)
    timesteps = ref.ddim_timesteps(len(betas), n)
    assert torch.equal(timesteps, sched.timesteps)
    ratio = len(betas) // n
    x_ref = x_diff = _randn((2, 3, 2, 2), 0)
    for i, t in enumerate(timesteps.tolist()):
        eps = torch.tanh(x_ref) * (1 + t / len(betas))
        noise = _randn(x_ref.shape, 100 + i) if eta > 0 else None
        x_diff = sched.step(eps, t, x_diff, eta=eta, variance_noise=noise).prev_sample
        x_ref = ref.ddim_step(eps, t, t - ratio, x_ref, alphas_cumprod, eta, noise)
        _assert_close(x_ref, x_diff, rtol=1e-9, atol=1e-9)


def test_ddim_eta1_consecutive_equals_ddpm_fixed_small() -> None:
    betas = ref.cosine_beta_schedule(30)
    alphas_cumprod = torch.cumprod(1 - betas, dim=0)
    for t in range(30):
        eps, x_t, noise = _randn((3, 5), t), _randn((3, 5), t + 50), _randn((3, 5), t + 99)
        ddim = ref.ddim_step(eps, t, t - 1, x_t, alphas_cumprod, 1.0, noise)
        _assert_close(ddim, ref.ddpm_step(eps, t, x_t, betas, noise, "fixed_small"), rtol=1e-9, atol=1e-10)


def test_ddim_eta0_maps_forward_marginals_exactly() -> None:
    betas = ref.linear_beta_schedule(200)
    alphas_cumprod = torch.cumprod(1 - betas, dim=0)
    x0, eps = _randn((4, 3), 0), _randn((4, 3), 1)
    for t, t_prev in [(199, 150), (10, 9), (5, -1), (0, -1)]:
        x_t = ref.q_sample(x0, torch.full((4,), t), eps, alphas_cumprod)
        expected = x0 if t_prev < 0 else ref.q_sample(x0, torch.full((4,), t_prev), eps, alphas_cumprod)
        _assert_close(ref.ddim_step(eps, t, t_prev, x_t, alphas_cumprod), expected, rtol=1e-9, atol=1e-11)


def test_ddim_gradients_are_finite_at_the_last_step() -> None:
    alphas_cumprod = torch.cumprod(1 - ref.linear_beta_schedule(10), dim=0).requires_grad_(True)
    eps, x_t = _randn((2, 3), 0).requires_grad_(True), _randn((2, 3), 1)
    ref.ddim_step(eps, 4, -1, x_t, alphas_cumprod, 0.0).sum().backward()
    assert torch.isfinite(alphas_cumprod.grad).all() and torch.isfinite(eps.grad).all()


# ----------------------------------------------------------------------------- guidance


@pytest.mark.parametrize("scale", [0.0, 1.0, 7.5, -2.0, "per-sample", "0-d"])
def test_classifier_free_guidance_is_lerp(scale: float | str) -> None:
    u, c = _randn((3, 3, 2, 3), 0), _randn((3, 3, 2, 3), 1)
    if scale == "per-sample":
        s = torch.tensor([0.0, 1.0, 7.5], dtype=F64).reshape(3, 1, 1, 1)
    elif scale == "0-d":
        s = torch.tensor(3.0, dtype=F64)
    else:
        s = scale
    _assert_close(ref.classifier_free_guidance(u, c, s), torch.lerp(u, c, s if isinstance(s, torch.Tensor) else torch.tensor(s, dtype=F64)), rtol=1e-12, atol=1e-12)


# ----------------------------------------------------------------------------- respaced_betas


def _improved_diffusion_respacing(alphas_cumprod: torch.Tensor, use_timesteps: set[int]) -> torch.Tensor:
    """improved-diffusion's SpacedDiffusion.__init__ written out (respace.py): one pass over every
    step, a new beta at each kept one from the last kept ᾱ."""
    last_alpha_cumprod, new_betas = 1.0, []
    for i, alpha_cumprod in enumerate(alphas_cumprod.tolist()):
        if i in use_timesteps:
            new_betas.append(1 - alpha_cumprod / last_alpha_cumprod)
            last_alpha_cumprod = alpha_cumprod
    return torch.tensor(new_betas, dtype=F64)


RESPACINGS = {"every-10th": lambda t: list(range(0, t, 10)), "last-only": lambda t: [t - 1], "first-three": lambda t: [0, 1, 2], "uneven": lambda t: [3, 4, 17, t // 2, t - 2]}


@pytest.mark.parametrize("schedule", ["linear-1000", "cosine-1000"])
@pytest.mark.parametrize("respacing", sorted(RESPACINGS))
def test_respaced_betas_match_improved_diffusion_and_keep_the_noise_levels(schedule: str, respacing: str) -> None:
    alphas_cumprod = torch.cumprod(1 - SCHEDULES[schedule](), 0)
    timesteps = torch.tensor(sorted(set(RESPACINGS[respacing](1000))))
    got = ref.respaced_betas(alphas_cumprod, timesteps)
    _assert_close(got, _improved_diffusion_respacing(alphas_cumprod, set(timesteps.tolist())), rtol=1e-12, atol=1e-15)
    _assert_close(torch.cumprod(1 - got, 0), alphas_cumprod[timesteps], rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("schedule", sorted(SCHEDULES))
def test_respaced_betas_are_diffusers_ddpm_betas_between_custom_timesteps(schedule: str) -> None:
    """diffusers' DDPMScheduler with custom time steps takes, for each step, current_beta_t =
    1 − ᾱ_t/ᾱ_prev with ᾱ_prev of the previous *custom* step (its fixed_large variance)."""
    betas = SCHEDULES[schedule]()
    num_steps = len(betas)
    timesteps = torch.tensor(sorted({0, 1, num_steps // 7, num_steps // 3, num_steps // 2, num_steps - 1}))
    sched = _ddpm_scheduler(betas, variance_type="fixed_large")
    sched.set_timesteps(timesteps=timesteps.flip(0).tolist())  # diffusers wants them descending
    expected = torch.stack([sched._get_variance(int(t)) for t in timesteps]).to(F64)
    _assert_close(ref.respaced_betas(sched.alphas_cumprod, timesteps), expected, rtol=1e-12, atol=1e-15)


def test_respaced_betas_of_a_float32_schedule_are_computed_in_float64() -> None:
    alphas_cumprod = torch.cumprod(1 - ref.linear_beta_schedule(1000), 0).float()
    timesteps = torch.arange(0, 1000, 20)
    got = ref.respaced_betas(alphas_cumprod, timesteps)
    assert got.dtype == F64
    _assert_close(got, _improved_diffusion_respacing(alphas_cumprod.double(), set(timesteps.tolist())), rtol=1e-12, atol=1e-15)


# ----------------------------------------------------------------------------- the properties accept other correct code
#
# Correct implementations written the way students (and diffusers) write them: the posterior
# form with the schedule cast to the data's dtype, ** 0.5 instead of sqrt, unsqueeze loops,
# torch.lerp, Python loops. Each must pass every property of its exercise.


def _alt_linear(num_steps, beta_start=1e-4, beta_end=0.02):
    if num_steps == 1:
        return torch.tensor([beta_start], dtype=F64)
    return torch.tensor([beta_start + i * (beta_end - beta_start) / (num_steps - 1) for i in range(num_steps)], dtype=F64)


def _alt_cosine(num_steps, s=0.008, max_beta=0.999):
    return _naive_cosine_betas(num_steps, s, max_beta)


def _unsqueezed(values, like):
    values = values.flatten()
    while values.dim() < like.dim():
        values = values.unsqueeze(-1)
    return values


def _alt_q_sample(x0, t, noise, alphas_cumprod):
    alphas_cumprod = alphas_cumprod.to(x0.dtype)  # diffusers' add_noise casts the schedule first
    return _unsqueezed(alphas_cumprod[t] ** 0.5, x0) * x0 + _unsqueezed((1 - alphas_cumprod[t]) ** 0.5, x0) * noise


def _alt_ddpm_step(eps, t, x_t, betas, noise, variance="fixed_small"):
    alphas_cumprod = torch.cumprod(1 - betas.to(x_t.dtype), 0)
    a_t = alphas_cumprod[t]
    a_prev = alphas_cumprod[t - 1] if t > 0 else torch.ones((), dtype=x_t.dtype)
    beta = 1 - a_t / a_prev
    x0 = (x_t - (1 - a_t) ** 0.5 * eps) / a_t**0.5
    out = a_prev**0.5 * beta / (1 - a_t) * x0 + (1 - beta) ** 0.5 * (1 - a_prev) / (1 - a_t) * x_t
    if t > 0:
        out = out + ((1 - a_prev) / (1 - a_t) * beta if variance == "fixed_small" else beta) ** 0.5 * noise
    return out


def _alt_ddim_timesteps(num_train_steps, num_inference_steps):
    return torch.tensor(list(range(0, num_inference_steps * (num_train_steps // num_inference_steps), num_train_steps // num_inference_steps))[::-1], dtype=torch.int64)


def _alt_ddim_step(eps, t, t_prev, x_t, alphas_cumprod, eta=0.0, noise=None):
    alphas_cumprod = alphas_cumprod.to(x_t.dtype)
    a_t = alphas_cumprod[t]
    a_prev = alphas_cumprod[t_prev] if t_prev >= 0 else torch.tensor(1.0, dtype=x_t.dtype)
    x0 = (x_t - (1 - a_t) ** 0.5 * eps) / a_t**0.5
    std = eta * ((1 - a_prev) / (1 - a_t) * (1 - a_t / a_prev)) ** 0.5
    out = a_prev**0.5 * x0 + (1 - a_prev - std**2) ** 0.5 * eps
    if eta > 0:
        if noise is None:
            raise ValueError("eta > 0 needs noise")
        out = out + std * noise
    return out


def _alt_respaced_betas(alphas_cumprod, timesteps):
    """As improved-diffusion writes it: a loop over the kept steps, Python floats from a float64 copy."""
    return _improved_diffusion_respacing(alphas_cumprod.double(), set(timesteps.tolist())).to(alphas_cumprod.device)


def _alt_guidance(eps_uncond, eps_cond, scale):
    weight = scale.to(eps_uncond.dtype) if isinstance(scale, torch.Tensor) else torch.tensor(scale, dtype=eps_uncond.dtype)
    return torch.lerp(eps_uncond, eps_cond, weight)


ALTERNATIVES = {
    "diffusion.linear_beta_schedule": _alt_linear,
    "diffusion.cosine_beta_schedule": _alt_cosine,
    "diffusion.q_sample": _alt_q_sample,
    "diffusion.ddpm_step": _alt_ddpm_step,
    "diffusion.ddim_timesteps": _alt_ddim_timesteps,
    "diffusion.ddim_step": _alt_ddim_step,
    "diffusion.classifier_free_guidance": _alt_guidance,
    "diffusion.respaced_betas": _alt_respaced_betas,
}


@pytest.mark.parametrize("exercise_id", sorted(ALTERNATIVES))
def test_other_correct_implementations_pass_every_property(exercise_id: str) -> None:
    from tests.harness import grade_impl

    result = grade_impl(exercise_id, ALTERNATIVES[exercise_id])
    assert result.status == "passed", [(p.name, p.message, p.counterexample) for p in result.properties if not p.passed]


@pytest.mark.parametrize("exercise_id", ["diffusion.q_sample", "diffusion.ddpm_step", "diffusion.ddim_step", "diffusion.classifier_free_guidance"])
def test_other_correct_implementations_agree_with_the_reference_in_float64(exercise_id: str) -> None:
    alphas_cumprod = torch.cumprod(1 - ref.cosine_beta_schedule(25), 0)
    x, eps, noise = _randn((3, 3, 2), 0), _randn((3, 3, 2), 1), _randn((3, 3, 2), 2)
    cases = {
        "diffusion.q_sample": [(x, torch.tensor([0, 12, 24]), noise, alphas_cumprod)],
        "diffusion.ddpm_step": [(eps, t, x, ref.cosine_beta_schedule(25), noise, v) for t in (0, 1, 12, 24) for v in ("fixed_small", "fixed_large")],
        "diffusion.ddim_step": [(eps, t, t_prev, x, alphas_cumprod, eta, noise) for t, t_prev in ((24, 19), (5, 4), (3, -1)) for eta in (0.0, 0.5, 1.0)],
        "diffusion.classifier_free_guidance": [(eps, x, s) for s in (0.0, 1.0, 7.5, torch.tensor([1.0, 2.0, 3.0], dtype=F64).reshape(3, 1, 1))],
    }
    for args in cases[exercise_id]:
        _assert_close(ALTERNATIVES[exercise_id](*args), getattr(ref, exercise_id.split(".")[1])(*args), rtol=1e-9, atol=1e-11)
