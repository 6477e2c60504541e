"""Correct diffusion implementations that must get full marks: diffusers' scheduler steps and
the Stable Diffusion guidance line ported into the exercise signatures, and closed forms."""

from __future__ import annotations

import torch


def ddpm_step_diffusers(eps, t, x_t, betas, noise, variance="fixed_small"):
    """diffusers DDPMScheduler.__init__ + step (clip_sample=False, epsilon prediction), ported:
    the coefficients of eq. (7) from ᾱ only, variance clamped at 1e-20 as _get_variance does."""
    alphas = 1.0 - betas
    alphas_cumprod = torch.cumprod(alphas, dim=0)
    one = torch.tensor(1.0)
    prev_t = t - 1
    alpha_prod_t = alphas_cumprod[t]
    alpha_prod_t_prev = alphas_cumprod[prev_t] if prev_t >= 0 else one
    beta_prod_t = 1 - alpha_prod_t
    beta_prod_t_prev = 1 - alpha_prod_t_prev
    current_alpha_t = alpha_prod_t / alpha_prod_t_prev
    current_beta_t = 1 - current_alpha_t
    pred_original_sample = (x_t - beta_prod_t ** (0.5) * eps) / alpha_prod_t ** (0.5)
    pred_original_sample_coeff = (alpha_prod_t_prev ** (0.5) * current_beta_t) / beta_prod_t
    current_sample_coeff = current_alpha_t ** (0.5) * beta_prod_t_prev / beta_prod_t
    pred_prev_sample = pred_original_sample_coeff * pred_original_sample + current_sample_coeff * x_t
    noise_term = 0
    if t > 0:
        var = (1 - alpha_prod_t_prev) / (1 - alpha_prod_t) * current_beta_t
        var = torch.clamp(var, min=1e-20)
        if variance == "fixed_large":
            var = current_beta_t
        noise_term = (var ** 0.5) * noise
    return pred_prev_sample + noise_term


def ddim_step_diffusers(eps, t, t_prev, x_t, alphas_cumprod, eta=0.0, noise=None):
    """diffusers DDIMScheduler.step (clip_sample=False, set_alpha_to_one=True), ported: σ from
    _get_variance even at the last step, where its square root is taken at 0."""
    final_alpha_cumprod = torch.tensor(1.0)
    alpha_prod_t = alphas_cumprod[t]
    alpha_prod_t_prev = alphas_cumprod[t_prev] if t_prev >= 0 else final_alpha_cumprod
    beta_prod_t = 1 - alpha_prod_t
    beta_prod_t_prev = 1 - alpha_prod_t_prev
    pred_original_sample = (x_t - beta_prod_t ** (0.5) * eps) / alpha_prod_t ** (0.5)
    variance = (beta_prod_t_prev / beta_prod_t) * (1 - alpha_prod_t / alpha_prod_t_prev)
    std_dev_t = eta * variance ** (0.5)
    pred_sample_direction = (1 - alpha_prod_t_prev - std_dev_t**2) ** (0.5) * eps
    prev_sample = alpha_prod_t_prev ** (0.5) * pred_original_sample + pred_sample_direction
    if eta > 0:
        prev_sample = prev_sample + std_dev_t * noise
    return prev_sample


def guidance_stable_diffusion(eps_uncond, eps_cond, scale):
    """The guidance line of diffusers' StableDiffusionPipeline, verbatim."""
    noise_pred_uncond, noise_pred_text = eps_uncond, eps_cond
    return noise_pred_uncond + scale * (noise_pred_text - noise_pred_uncond)


def guidance_lerp(eps_uncond, eps_cond, scale):
    """torch.lerp: the same affine combination in one op."""
    w = scale if isinstance(scale, torch.Tensor) else torch.tensor(scale, dtype=eps_cond.dtype)
    return torch.lerp(eps_uncond, eps_cond, w.to(eps_cond.dtype))


def q_sample_gather(x0, t, noise, alphas_cumprod):
    """improved-diffusion's _extract_into_tensor: gather, cast, then broadcast by unsqueezing."""
    res = alphas_cumprod.to(x0.device)[t].to(x0.dtype)
    while res.dim() < x0.dim():
        res = res[..., None]
    return res.sqrt() * x0 + (1 - res).sqrt() * noise


def q_sample_diffusers(x0, t, noise, alphas_cumprod):
    """diffusers DDPMScheduler.add_noise, ported (the schedule cast to the data's dtype first)."""
    alphas_cumprod = alphas_cumprod.to(device=x0.device, dtype=x0.dtype)
    sqrt_alpha_prod = alphas_cumprod[t] ** 0.5
    sqrt_alpha_prod = sqrt_alpha_prod.flatten()
    while len(sqrt_alpha_prod.shape) < len(x0.shape):
        sqrt_alpha_prod = sqrt_alpha_prod.unsqueeze(-1)
    sqrt_one_minus_alpha_prod = (1 - alphas_cumprod[t]) ** 0.5
    sqrt_one_minus_alpha_prod = sqrt_one_minus_alpha_prod.flatten()
    while len(sqrt_one_minus_alpha_prod.shape) < len(x0.shape):
        sqrt_one_minus_alpha_prod = sqrt_one_minus_alpha_prod.unsqueeze(-1)
    return sqrt_alpha_prod * x0 + sqrt_one_minus_alpha_prod * noise


MUST_PASS = [
    ("diffusion.ddpm_step", ddpm_step_diffusers),
    ("diffusion.ddim_step", ddim_step_diffusers),
    ("diffusion.classifier_free_guidance", guidance_stable_diffusion),
    ("diffusion.classifier_free_guidance", guidance_lerp),
    ("diffusion.q_sample", q_sample_gather),
    ("diffusion.q_sample", q_sample_diffusers),
]


def ddpm_step_diffusers_data_dtype(eps, t, x_t, betas, noise, variance="fixed_small"):
    """diffusers keeps its schedule buffers in float32: the port with the schedule in the data's dtype."""
    return ddpm_step_diffusers(eps, t, x_t, betas.to(x_t.dtype), noise, variance)


def ddim_step_diffusers_data_dtype(eps, t, t_prev, x_t, alphas_cumprod, eta=0.0, noise=None):
    """The DDIM port with alphas_cumprod in the data's dtype, as diffusers' float32 buffers."""
    return ddim_step_diffusers(eps, t, t_prev, x_t, alphas_cumprod.to(x_t.dtype), eta, noise)


MUST_PASS += [
    ("diffusion.ddpm_step", ddpm_step_diffusers_data_dtype),
    ("diffusion.ddim_step", ddim_step_diffusers_data_dtype),
]


def ddpm_step_python_floats(eps, t, x_t, betas, noise, variance="fixed_small"):
    """The schedule read as Python floats (.item()), as many DDPM repositories do: the catalog
    does not grade gradients with respect to the schedule."""
    ac = torch.cumprod(1 - betas, dim=0)
    a_t, beta_t = ac[t].item(), betas[t].item()
    mean = (x_t - beta_t / (1 - a_t) ** 0.5 * eps) / (1 - beta_t) ** 0.5
    if t == 0:
        return mean
    a_prev = ac[t - 1].item()
    var = beta_t if variance == "fixed_large" else (1 - a_prev) / (1 - a_t) * beta_t
    return mean + var**0.5 * noise


def ddim_step_python_floats(eps, t, t_prev, x_t, alphas_cumprod, eta=0.0, noise=None):
    """Song et al. eq. 12 with ᾱ as Python floats (the official DDIM code indexes a numpy array)."""
    if eta > 0 and noise is None:
        raise ValueError("eta > 0 needs noise")
    a_t = alphas_cumprod[t].item()
    a_prev = alphas_cumprod[t_prev].item() if t_prev >= 0 else 1.0
    x0 = (x_t - (1 - a_t) ** 0.5 * eps) / a_t**0.5
    sigma = eta * ((1 - a_prev) / (1 - a_t) * (1 - a_t / a_prev)) ** 0.5
    out = a_prev**0.5 * x0 + (1 - a_prev - sigma**2) ** 0.5 * eps
    return out + sigma * noise if eta > 0 else out


def q_sample_improved_diffusion(x0, t, noise, alphas_cumprod):
    """improved-diffusion's q_sample: the schedule as numpy arrays, _extract_into_tensor."""
    ac = alphas_cumprod.detach().cpu().double().numpy()
    sqrt_ac, sqrt_1m = ac**0.5, (1.0 - ac) ** 0.5

    def extract(arr, timesteps, shape):
        res = torch.from_numpy(arr).to(device=timesteps.device)[timesteps].to(x0.dtype)
        while len(res.shape) < len(shape):
            res = res[..., None]
        return res.expand(shape)

    return extract(sqrt_ac, t, x0.shape) * x0 + extract(sqrt_1m, t, x0.shape) * noise


def q_schedule_detached(x0, t, noise, alphas_cumprod):
    """The schedule detached (a buffer, as in diffusers): until issue 17 tests/wrong/ held it."""
    a = alphas_cumprod.detach()[t].to(x0.dtype).reshape(-1, *([1] * (x0.dim() - 1)))
    return a.sqrt() * x0 + (1 - a).sqrt() * noise


def guidance_float64_scale_cast(eps_uncond, eps_cond, scale):
    """Casts the scale to the data's dtype first (harmless when it already is)."""
    s = scale.to(eps_cond.dtype) if isinstance(scale, torch.Tensor) else scale
    return eps_uncond + s * (eps_cond - eps_uncond)


MUST_PASS += [
    ("diffusion.q_sample", q_schedule_detached),
    ("diffusion.classifier_free_guidance", guidance_float64_scale_cast),
    ("diffusion.ddpm_step", ddpm_step_python_floats),
    ("diffusion.ddim_step", ddim_step_python_floats),
    ("diffusion.q_sample", q_sample_improved_diffusion),
]
