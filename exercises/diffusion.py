"""Exercises: diffusion — DDPM, DDIM, guidance, respacing (q16–q19, q24, q25, q38, q55).

Implement each function below, then run `grade diffusion` (or `grade q38`).
Conventions: time steps are 0-indexed as in diffusers (index 0 is the paper's t = 1), and
alphas_cumprod[t] = ∏_{s≤t} (1 − betas[s]). Schedules are float64; when the data (x0, x_t,
eps) is float32, results are float32: the result always takes the data's dtype.
"""

from __future__ import annotations

import math  # you will need it

import torch  # you will need it
from torch import Tensor


def linear_beta_schedule(num_steps: int, beta_start: float = 1e-4, beta_end: float = 0.02) -> Tensor:
    """β evenly spaced from beta_start to beta_end, both included (Ho et al. 2020; q17, q19).

    Returns (num_steps,) float64. diffusers convention: the endpoints are used as given, with
    no 1000/T rescaling.
    """
    # TODO(q17): evenly spaced betas, both endpoints included, in float64.
    raise NotImplementedError("diffusion.linear_beta_schedule")


def cosine_beta_schedule(num_steps: int, s: float = 0.008, max_beta: float = 0.999) -> Tensor:
    """Nichol & Dhariwal's cosine schedule (q19).

    ᾱ(u) = cos²((u + s)/(1 + s)·π/2) for u in [0, 1], and with T = num_steps
    β_i = min(1 − ᾱ((i+1)/T)/ᾱ(i/T), max_beta) for i = 0, …, T−1.
    Returns (num_steps,) float64 (diffusers' "squaredcos_cap_v2").
    Why is the cap needed, and which steps does it touch?
    """
    # TODO(q19): ᾱ at the T + 1 points i/T, betas from ratios of neighbours, then the cap.
    raise NotImplementedError("diffusion.cosine_beta_schedule")


def q_sample(x0: Tensor, t: Tensor, noise: Tensor, alphas_cumprod: Tensor) -> Tensor:
    """Forward diffusion in one jump (q16, q17): x_t = √ᾱ_t·x0 + √(1 − ᾱ_t)·noise.

    x0, noise: (B, ...) of any rank; t: (B,) int64, one time step per sample, applied to
    every element of its sample; alphas_cumprod: (T,), usually float64.
    Returns (B, ...) in x0's dtype.
    """
    # TODO(q16): gather ᾱ per sample, shape it to broadcast over that sample only, mix.
    raise NotImplementedError("diffusion.q_sample")


def ddpm_step(eps: Tensor, t: int, x_t: Tensor, betas: Tensor, noise: Tensor | None, variance: str = "fixed_small") -> Tensor:
    """One ancestral sampling step x_t → x_{t−1} (Ho et al. Algorithm 2; q18).

    mean = (x_t − β_t/√(1 − ᾱ_t)·eps)/√(1 − β_t); x_{t−1} = mean + σ_t·noise with
    σ_t² = β̃_t = (1 − ᾱ_{t−1})/(1 − ᾱ_t)·β_t for "fixed_small", σ_t² = β_t for "fixed_large".
    At t = 0 no noise is added (noise may then be None).
    eps (the model's noise prediction), x_t, noise: same shape; t: int; betas: (T,) float64.
    Returns x_t's shape and dtype. Must match diffusers.DDPMScheduler(clip_sample=False).step.
    """
    # TODO(q18): ᾱ from betas, the posterior mean, then σ·noise unless t == 0.
    raise NotImplementedError("diffusion.ddpm_step")


def ddim_timesteps(num_train_steps: int, num_inference_steps: int) -> Tensor:
    """The DDIM sampling time steps with "leading" spacing, descending (q38).

    [k·(T // n) for k in reversed(range(n))] as an (n,) int64 tensor, 1 ≤ n ≤ T
    (diffusers' DDIMScheduler.set_timesteps with timestep_spacing="leading", steps_offset=0).
    """
    # TODO(q38): an integer stride, n multiples of it, from the largest down to 0.
    raise NotImplementedError("diffusion.ddim_timesteps")


def ddim_step(eps: Tensor, t: int, t_prev: int, x_t: Tensor, alphas_cumprod: Tensor, eta: float | Tensor = 0.0, noise: Tensor | None = None) -> Tensor:
    """One DDIM step x_t → x_{t_prev} (Song et al. eq. 12; q38).

    x̂0 = (x_t − √(1 − ᾱ_t)·eps)/√ᾱ_t
    σ = η·√((1 − ᾱ_prev)/(1 − ᾱ_t))·√(1 − ᾱ_t/ᾱ_prev)
    x_prev = √ᾱ_prev·x̂0 + √(1 − ᾱ_prev − σ²)·eps + σ·noise
    with ᾱ_prev = alphas_cumprod[t_prev], and ᾱ_prev = 1 when t_prev < 0 (the last step).
    noise is required iff η > 0 (raise an error if it is missing). eta: a number or a 0-d tensor.
    Returns x_t's shape and dtype. Must match diffusers.DDIMScheduler(clip_sample=False,
    set_alpha_to_one=True).step. What does η = 0 give, and what does η = 1 with t_prev = t − 1?
    """
    # TODO(q38): x̂0, σ, the direction pointing to x_t, then σ·noise when η > 0.
    raise NotImplementedError("diffusion.ddim_step")


def classifier_free_guidance(eps_uncond: Tensor, eps_cond: Tensor, scale: float | Tensor) -> Tensor:
    """Classifier-free guidance (q24, q25): eps_uncond + scale·(eps_cond − eps_uncond).

    diffusers / Stable Diffusion convention: scale 1 = conditional only, 0 = unconditional.
    eps_uncond, eps_cond: same shape; scale: a number or a tensor broadcastable to them, e.g.
    per-sample (B, 1, 1, 1). Returns the inputs' shape and dtype (also for a float64 scale).
    """
    # TODO(q25): move from the unconditional prediction along the conditional direction.
    raise NotImplementedError("diffusion.classifier_free_guidance")


def respaced_betas(alphas_cumprod: Tensor, timesteps: Tensor) -> Tensor:
    """The betas of a shorter process that visits only ``timesteps`` (q38, q55).

    As improved-diffusion's SpacedDiffusion: for the kept steps t₀ < t₁ < … (timesteps: (K,)
    int64, ascending, unique), beta_i = 1 − ᾱ[t_i] / ᾱ[t_{i−1}], with ᾱ[t_{−1}] = 1, so that
    cumprod(1 − beta) equals alphas_cumprod[timesteps]: the short process reaches exactly the
    noise levels of the steps it keeps. alphas_cumprod: (T,) float32 or float64; compute in
    float64 (cast a float32 schedule first) on alphas_cumprod's device. Returns float64 (K,).
    Question (q55): why can a model trained with 1000 steps sample with 50 without retraining?
    """
    # TODO(q55): the kept ᾱ values, the previous kept value (1 before the first), their ratio.
    raise NotImplementedError("diffusion.respaced_betas")
