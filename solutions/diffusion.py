"""Reference solutions: diffusion — DDPM, DDIM, guidance, respacing (q16–q19, q24, q25, q38, q55).

Time steps are 0-indexed as in diffusers: index 0 is the paper's t = 1, and
alphas_cumprod[t] = ∏_{s≤t} (1 − betas[s]). Schedules are float64; results take the
data's dtype (x0, x_t, eps), so schedule coefficients are cast to it before they meet data.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor


def linear_beta_schedule(num_steps: int, beta_start: float = 1e-4, beta_end: float = 0.02) -> Tensor:
    """β evenly spaced from beta_start to beta_end, both included (Ho et al. 2020; q17, q19).

    Returns (num_steps,) float64. diffusers convention: the endpoints are used as given, with
    no 1000/T rescaling (improved-diffusion rescales them so that any T matches T = 1000).
    """
    # float64: ᾱ_t multiplies up to thousands of factors (1 − β), and float32 loses digits there.
    return torch.linspace(beta_start, beta_end, num_steps, dtype=torch.float64)


def cosine_beta_schedule(num_steps: int, s: float = 0.008, max_beta: float = 0.999) -> Tensor:
    """Nichol & Dhariwal's cosine schedule (q19): ᾱ(u) = cos²((u + s)/(1 + s)·π/2),
    β_i = min(1 − ᾱ((i+1)/T)/ᾱ(i/T), max_beta). Returns (num_steps,) float64 (diffusers'
    "squaredcos_cap_v2").
    """
    u = torch.arange(num_steps + 1, dtype=torch.float64) / num_steps  # (T+1,): u_i = i/T, from 0 to 1
    alpha_bar = torch.cos((u + s) / (1 + s) * math.pi / 2) ** 2  # ᾱ(u); not divided by ᾱ(0): only ratios are used
    betas = 1 - alpha_bar[1:] / alpha_bar[:-1]  # (T,): the step that takes ᾱ(i/T) to ᾱ((i+1)/T)
    # ᾱ(1) = cos²(π/2) ≈ 0 makes the last β equal 1: x_T would hold no signal at all and
    # x̂0 = x_t/√ᾱ_t would divide by zero. The cap keeps every step invertible.
    return betas.clamp(max=max_beta)


def q_sample(x0: Tensor, t: Tensor, noise: Tensor, alphas_cumprod: Tensor) -> Tensor:
    """Forward diffusion in one jump (q16, q17): x_t = √ᾱ_t·x0 + √(1 − ᾱ_t)·noise.

    x0, noise: (B, ...) of any rank; t: (B,) int64, one time step per sample;
    alphas_cumprod: (T,). Returns (B, ...) in x0's dtype.
    """
    alpha_bar = alphas_cumprod[t]  # (B,): one ᾱ per sample, still in the schedule's dtype
    # (B, 1, ..., 1): each sample's coefficient broadcasts over that sample only. Without the
    # reshape, a (B,) vector would broadcast along the *last* axis of x0.
    shape = (-1,) + (1,) * (x0.dim() - 1)
    signal = alpha_bar.sqrt().reshape(shape).to(x0.dtype)
    noise_scale = (1 - alpha_bar).sqrt().reshape(shape).to(x0.dtype)
    return signal * x0 + noise_scale * noise


def ddpm_step(eps: Tensor, t: int, x_t: Tensor, betas: Tensor, noise: Tensor | None, variance: str = "fixed_small") -> Tensor:
    """One ancestral sampling step x_t → x_{t−1} (Ho et al. Algorithm 2; q18).

    x_{t−1} = (x_t − β_t/√(1 − ᾱ_t)·eps)/√(1 − β_t) + σ_t·noise, with σ_t² = β̃_t =
    (1 − ᾱ_{t−1})/(1 − ᾱ_t)·β_t ("fixed_small") or β_t ("fixed_large"); no noise at t = 0.
    eps, x_t, noise: same shape; t: int; betas: (T,). Returns x_t's shape and dtype.
    """
    alphas_cumprod = torch.cumprod(1 - betas, dim=0)  # (T,)
    beta_t, alpha_bar_t = betas[t], alphas_cumprod[t]
    # Posterior mean from the ε-prediction: remove the predicted share of noise, undo the √(1 − β_t) shrink.
    eps_coef = (beta_t / (1 - alpha_bar_t).sqrt()).to(x_t.dtype)
    mean = (x_t - eps_coef * eps) / (1 - beta_t).sqrt().to(x_t.dtype)
    if t == 0:
        return mean  # the final step returns the mean: adding noise would only blur x_0
    # ᾱ_{t−1} for t ≥ 1; the empty product ᾱ = 1 before the first step never enters (t = 0 returned above).
    alpha_bar_prev = alphas_cumprod[t - 1]
    if variance == "fixed_small":
        var = (1 - alpha_bar_prev) / (1 - alpha_bar_t) * beta_t  # β̃_t: the true posterior q(x_{t−1} | x_t, x_0)'s variance
    elif variance == "fixed_large":
        var = beta_t  # β_t: the upper bound, the variance of the forward step itself
    else:
        raise ValueError(f"variance must be 'fixed_small' or 'fixed_large', not {variance!r}")
    return mean + var.sqrt().to(x_t.dtype) * noise  # σ is the standard deviation: √ of the variance


def ddim_timesteps(num_train_steps: int, num_inference_steps: int) -> Tensor:
    """The DDIM sampling time steps, "leading" spacing, descending (q38).

    [k·(T // n) for k in reversed(range(n))] as (n,) int64: 0 is always the last step.
    """
    step = num_train_steps // num_inference_steps  # integer stride: every step lands on a trained time step
    return torch.arange(num_inference_steps - 1, -1, -1, dtype=torch.int64) * step  # (n,): noisy → clean


def ddim_step(eps: Tensor, t: int, t_prev: int, x_t: Tensor, alphas_cumprod: Tensor, eta: float | Tensor = 0.0, noise: Tensor | None = None) -> Tensor:
    """One DDIM step x_t → x_{t_prev} (Song et al. eq. 12; q38).

    x̂0 = (x_t − √(1 − ᾱ_t)·eps)/√ᾱ_t; σ = η·√((1 − ᾱ_prev)/(1 − ᾱ_t))·√(1 − ᾱ_t/ᾱ_prev);
    x_prev = √ᾱ_prev·x̂0 + √(1 − ᾱ_prev − σ²)·eps + σ·noise, with ᾱ_prev = 1 when t_prev < 0.
    η = 0 is deterministic DDIM, η = 1 with t_prev = t − 1 is DDPM. Returns x_t's shape and dtype.
    """
    if eta > 0 and noise is None:
        raise ValueError("eta > 0 makes the step stochastic: pass noise")
    alpha_bar_t = alphas_cumprod[t]
    x0_hat = (x_t - (1 - alpha_bar_t).sqrt().to(x_t.dtype) * eps) / alpha_bar_t.sqrt().to(x_t.dtype)
    if t_prev < 0:
        # ᾱ_prev = 1 (diffusers' set_alpha_to_one; never alphas_cumprod[-1], the *last* entry):
        # σ = 0 and the direction term vanishes, so the last step returns x̂0. Returned here
        # because the general formula would take √0, whose gradient is not finite.
        return x0_hat
    alpha_bar_prev = alphas_cumprod[t_prev]
    sigma = eta * ((1 - alpha_bar_prev) / (1 - alpha_bar_t)).sqrt() * (1 - alpha_bar_t / alpha_bar_prev).sqrt()
    # The direction towards x_t gets what is left of the variance 1 − ᾱ_prev after the fresh noise σ².
    direction = (1 - alpha_bar_prev - sigma**2).sqrt().to(x_t.dtype) * eps
    x_prev = alpha_bar_prev.sqrt().to(x_t.dtype) * x0_hat + direction
    if eta > 0:
        x_prev = x_prev + sigma.to(x_t.dtype) * noise
    return x_prev


def classifier_free_guidance(eps_uncond: Tensor, eps_cond: Tensor, scale: float | Tensor) -> Tensor:
    """Classifier-free guidance (q24, q25): eps_uncond + scale·(eps_cond − eps_uncond).

    diffusers / Stable Diffusion convention: scale 1 = conditional only, 0 = unconditional,
    > 1 pushes further along the conditional direction. scale: a number or a tensor that
    broadcasts to the inputs, e.g. per-sample (B, 1, 1, 1). Returns the inputs' shape and dtype.
    """
    if isinstance(scale, Tensor):
        scale = scale.to(eps_uncond.dtype)  # an auxiliary tensor: the result keeps the data's dtype
    return eps_uncond + scale * (eps_cond - eps_uncond)


def respaced_betas(alphas_cumprod: Tensor, timesteps: Tensor) -> Tensor:
    """The betas of a shorter process that visits only ``timesteps`` (q38, q55).

    improved-diffusion's SpacedDiffusion: for the kept steps t₀ < t₁ < … (timesteps: (K,)
    int64, ascending), beta_i = 1 − ᾱ[t_i]/ᾱ[t_{i−1}] with ᾱ[t_{−1}] = 1, so that
    cumprod(1 − beta) = alphas_cumprod[timesteps]. float64 (K,) on alphas_cumprod's device.
    """
    # float64 first: near ᾱ ≈ 1 the ratio is 1 − 1e-4, and 1 − ratio in float32 keeps few digits.
    kept = alphas_cumprod.to(torch.float64)[timesteps]  # (K,): ᾱ at the kept steps
    one = torch.ones(1, dtype=torch.float64, device=kept.device)
    previous = torch.cat([one, kept[:-1]])  # (K,): ᾱ of the previous *kept* step, 1 before the first
    # Not betas[timesteps]: one step of the short process covers all the skipped steps in between.
    return 1 - kept / previous
