"""Wrong implementations of the diffusion exercises: one for every property (CAUGHT_BY)."""

from __future__ import annotations

import torch

from grader.properties import diffusion as props

F64 = torch.float64


# ----------------------------------------------------------------------------- schedules


def cosine_cap_ignores_argument(num_steps, s=0.008, max_beta=0.999):
    """Caps at a hard-coded 0.999, whatever max_beta says."""
    return props._cosine(num_steps, s, 0.999)


# ----------------------------------------------------------------------------- q_sample


def q_promoting(x0, t, noise, alphas_cumprod):
    """Right values, but float64 (B, 1, ...) coefficients promote float32 data to float64."""
    a = props._per_sample(alphas_cumprod[t], x0)
    return a.sqrt() * x0 + (1 - a).sqrt() * noise


def q_detached(x0, t, noise, alphas_cumprod):
    """Right values, computed without autograd."""
    with torch.no_grad():
        return props._q_mix(x0, noise, *props._q_coefficients({"x0": x0, "t": t, "alphas_cumprod": alphas_cumprod}))


def q_noise_detached(x0, t, noise, alphas_cumprod):
    """Right values, but no gradient reaches the noise (.detach())."""
    a = props._per_sample(alphas_cumprod[t], x0)
    return props._q_mix(x0, noise.detach(), a.sqrt(), (1 - a).sqrt())


# ----------------------------------------------------------------------------- ddpm_step


def ddpm_ddim_eps_coefficient(eps, t, x_t, betas, noise, variance="fixed_small"):
    """Removes √(1 − ᾱ_t)·eps (DDIM's x̂0 numerator) instead of β_t/√(1 − ᾱ_t)·eps."""
    ac = torch.cumprod(1 - betas, dim=0)
    mean = (x_t - (1 - ac[t]).sqrt().to(x_t.dtype) * eps) / (1 - betas[t]).sqrt().to(x_t.dtype)
    reference = props._ddpm(eps, t, x_t, betas, noise, variance)
    clean = props._ddpm(eps, t, x_t, betas, None if t == 0 else torch.zeros_like(x_t), variance)
    return mean + (reference - clean)  # the right noise term on a wrong mean


def ddpm_eps_as_new_tensor(eps, t, x_t, betas, noise, variance="fixed_small"):
    """Copies eps with torch.tensor(...): right values, no gradient to eps."""
    return props._ddpm(torch.tensor(eps.tolist(), dtype=eps.dtype), t, x_t, betas, noise, variance)


def ddpm_promoting(eps, t, x_t, betas, noise, variance="fixed_small"):
    """Returns float64 whatever the data's dtype (a float64 schedule promoted the result)."""
    return props._ddpm(eps, t, x_t, betas, noise, variance).to(F64)


# ----------------------------------------------------------------------------- ddim_timesteps


def timesteps_float_stride(num_train_steps, num_inference_steps):
    """Stride T / n truncated per step instead of the integer stride T // n."""
    return (torch.arange(num_inference_steps - 1, -1, -1, dtype=F64) * (num_train_steps / num_inference_steps)).long()


# ----------------------------------------------------------------------------- ddim_step


def ddim_noise_optional(eps, t, t_prev, x_t, alphas_cumprod, eta=0.0, noise=None):
    """Silently skips the noise when it is missing, even with η > 0."""
    return props._ddim(eps, t, t_prev, x_t, alphas_cumprod, eta if noise is not None else 0.0, noise)


def ddim_prev_is_t_minus_one(eps, t, t_prev, x_t, alphas_cumprod, eta=0.0, noise=None):
    """Ignores t_prev and steps to t − 1, as in DDPM."""
    return props._ddim(eps, t, t - 1, x_t, alphas_cumprod, eta, noise)


def ddim_x_t_detached(eps, t, t_prev, x_t, alphas_cumprod, eta=0.0, noise=None):
    """Right values, but no gradient reaches x_t (.detach())."""
    return props._ddim(eps, t, t_prev, x_t.detach(), alphas_cumprod, eta, noise)


def ddim_promoting(eps, t, t_prev, x_t, alphas_cumprod, eta=0.0, noise=None):
    """Returns float64 whatever the data's dtype."""
    return props._ddim(eps, t, t_prev, x_t, alphas_cumprod, eta, noise).to(F64)


# ----------------------------------------------------------------------------- classifier_free_guidance


def cfg_normalised(eps_uncond, eps_cond, scale):
    """A weighted average (u + s·c)/(1 + s): right at scale 0, not affine in the scale."""
    s = props._cfg_scale(scale, eps_cond)
    return (eps_uncond + s * eps_cond) / (1 + s)


def cfg_scale_flattened(eps_uncond, eps_cond, scale):
    """Flattens a tensor scale to (B,): it then broadcasts along the last axis."""
    s = props._cfg_scale(scale, eps_cond)
    s = s.flatten() if isinstance(s, torch.Tensor) else s
    return eps_uncond + s * (eps_cond - eps_uncond)


def cfg_scale_detached(eps_uncond, eps_cond, scale):
    """Right values, but no gradient reaches a tensor scale."""
    s = props._cfg_scale(scale, eps_cond)
    s = s.detach() if isinstance(s, torch.Tensor) else s
    return eps_uncond + s * (eps_cond - eps_uncond)


def cfg_promoting(eps_uncond, eps_cond, scale):
    """Computes in float64 and returns float64, whatever the inputs' dtype."""
    return eps_uncond.double() + scale * (eps_cond.double() - eps_uncond.double())


def respaced_in_float32(alphas_cumprod, timesteps):
    """The ratio in the schedule's float32, cast to float64 only at the end: tiny betas lose their digits."""
    kept = alphas_cumprod[timesteps]
    previous = torch.cat([torch.ones(1, dtype=kept.dtype, device=kept.device), kept[:-1]])
    return (1 - kept / previous).double()


LINEAR = "diffusion.linear_beta_schedule"
COSINE = "diffusion.cosine_beta_schedule"
Q = "diffusion.q_sample"
DDPM = "diffusion.ddpm_step"
TIMESTEPS = "diffusion.ddim_timesteps"
DDIM = "diffusion.ddim_step"
CFG = "diffusion.classifier_free_guidance"
RESPACED = "diffusion.respaced_betas"

CAUGHT_BY = {
    (LINEAR, "shape_dtype_endpoints"): props._linear_float32,
    (LINEAR, "evenly_spaced"): props._linear_end_excluded,
    (LINEAR, "matches_reference"): props._linear_rescaled,
    (COSINE, "shape_dtype_range"): props._cosine_no_cap,
    (COSINE, "alphas_cumprod_telescopes"): props._cosine_not_squared,
    (COSINE, "cap_is_a_clamp"): cosine_cap_ignores_argument,
    (COSINE, "matches_reference"): props._cosine_without_one_plus_s,
    (Q, "shape_and_dtype"): q_promoting,
    (Q, "per_sample"): props._q_broadcast_last_axis,
    (Q, "signal_and_noise_parts"): props._q_swapped,
    (Q, "input_gradients"): q_detached,
    (Q, "matches_reference"): props._q_one_indexed,
    (Q, "gradients_match"): q_noise_detached,
    (DDPM, "last_step_returns_x0_hat"): props._ddpm_noise_at_last_step,
    (DDPM, "noise_scale"): props._ddpm_variance_as_std,
    (DDPM, "known_answer"): props._ddpm_alpha_bar_in_mean,
    (DDPM, "matches_reference"): props._ddpm_variances_swapped,
    (DDPM, "matches_diffusers"): ddpm_ddim_eps_coefficient,
    (DDPM, "gradients_match"): ddpm_eps_as_new_tensor,
    (DDPM, "dtype_contract"): ddpm_promoting,
    (TIMESTEPS, "descending_from_zero"): props._timesteps_ascending,
    (TIMESTEPS, "integer_stride"): props._timesteps_linspace,
    (TIMESTEPS, "matches_diffusers"): timesteps_float_stride,
    (DDIM, "deterministic_maps_marginals"): props._ddim_prev_wraps_around,
    (DDIM, "eta_one_is_ddpm"): props._ddim_direction_ignores_sigma,
    (DDIM, "noise_scale"): props._ddim_sigma_without_sqrt,
    (DDIM, "noise_required_iff_eta_positive"): ddim_noise_optional,
    (DDIM, "matches_reference"): props._ddim_x0_hat_no_sqrt,
    (DDIM, "matches_diffusers"): ddim_prev_is_t_minus_one,
    (DDIM, "gradients_match"): ddim_x_t_detached,
    (DDIM, "dtype_contract"): ddim_promoting,
    (CFG, "scale_endpoints"): props._cfg_reversed,
    (CFG, "affine_in_scale"): cfg_normalised,
    (CFG, "per_sample_scale"): cfg_scale_flattened,
    (CFG, "gradients"): cfg_scale_detached,
    (CFG, "matches_reference"): props._cfg_ho_salimans,
    (CFG, "dtype_contract"): cfg_promoting,
    (RESPACED, "cumprod_gives_the_kept_alphas"): props._respaced_betas_at_timesteps,
    (RESPACED, "every_step_kept_gives_the_original_betas"): props._respaced_difference,
    (RESPACED, "one_kept_step_jumps_from_clean_data"): props._respaced_betas_at_timesteps,
    (RESPACED, "float64_for_a_float32_schedule"): respaced_in_float32,
    (RESPACED, "matches_reference"): props._respaced_prev_wraps_around,
}
