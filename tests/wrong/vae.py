"""Wrong implementations of the VAE exercises."""

from __future__ import annotations

import torch

from grader.properties import vae as props


def reparameterize_std_detached(mu, logvar, eps):
    """Right values, but the standard deviation is cut from the graph: no gradient to logvar."""
    return mu + torch.exp(0.5 * logvar).detach() * eps


def reparameterize_float32_internally(mu, logvar, eps):
    """Rounds through float32: loses float64 precision and dtype."""
    return mu.float() + torch.exp(0.5 * logvar.float()) * eps.float()


def kl_exp_detached(mu, logvar):
    """Right values, but exp(logvar) is a constant for autograd: wrong d logvar."""
    return -0.5 * (1 + logvar - mu.square() - logvar.detach().exp()).sum(dim=-1)


def kl_float32_internally(mu, logvar):
    return -0.5 * (1 + logvar.float() - mu.float().square() - logvar.float().exp()).sum(dim=-1)


def elbo_binarized_targets(x, x_hat, mu, logvar, beta=1.0, likelihood="bernoulli"):
    """Rounds fractional targets to 0/1 before the Bernoulli term."""
    target = x.round() if likelihood == "bernoulli" else x
    return _elbo(target, x_hat, mu, logvar, beta, likelihood)


def _elbo(x, x_hat, mu, logvar, beta=1.0, likelihood="bernoulli", *, kl_detached=False, dtype=None):
    if dtype is not None:
        x, x_hat, mu, logvar = (t.to(dtype) for t in (x, x_hat, mu, logvar))
    recon = props._recon(x, x_hat, likelihood).flatten(1).sum(dim=1)
    terms = props._kl_terms(mu, logvar)
    kl = -0.5 * (terms.detach() if kl_detached else terms).sum(dim=-1)
    return recon + beta * kl


def elbo_kl_detached(x, x_hat, mu, logvar, beta=1.0, likelihood="bernoulli"):
    """Right values, but the KL term is cut from the graph: no gradient to mu, logvar or beta."""
    return _elbo(x, x_hat, mu, logvar, beta, likelihood, kl_detached=True)


def elbo_float32_internally(x, x_hat, mu, logvar, beta=1.0, likelihood="bernoulli"):
    return _elbo(x, x_hat, mu, logvar, beta, likelihood, dtype=torch.float32)


def slerp_rescaled_to_z0(z0, z1, t):
    """Interpolates the directions on the unit sphere, then restores z0's norm (not z1's)."""
    u0 = z0 / z0.norm(dim=-1, keepdim=True)
    u1 = z1 / z1.norm(dim=-1, keepdim=True)
    return props._slerp_with(u0, u1, t, props._row_cos(z0, z1)) * z0.norm(dim=-1, keepdim=True)


def slerp_unsafe_where(z0, z1, t):
    """Right values, but the discarded spherical branch is 0/0 for parallel rows: nan gradients."""
    tc = props._t_column(t, z0)
    omega = torch.acos(props._row_cos(z0, z1).clamp(-1.0, 1.0))
    so = torch.sin(omega)
    spherical = torch.sin((1 - tc) * omega) / so * z0 + torch.sin(tc * omega) / so * z1
    return torch.where(so.abs() < 1e-6, (1 - tc) * z0 + tc * z1, spherical)


def slerp_angle_detached(z0, z1, t):
    """Right values, but the angle is treated as a constant: wrong gradients."""
    return props._slerp_with(z0, z1, t, props._row_cos(z0, z1).detach())


def slerp_float32_internally(z0, z1, t):
    t = t.float() if isinstance(t, torch.Tensor) else t
    return props._slerp_with(z0.float(), z1.float(), t, props._row_cos(z0.float(), z1.float()))


R, K, E, S = "vae.reparameterize", "vae.kl_standard_normal", "vae.negative_elbo", "vae.slerp"
CAUGHT_BY = {
    (R, "known_std"): props._std_is_exp_logvar,
    (R, "finite_for_extreme_logvar"): props._sqrt_of_variance,
    (R, "gradients_reach_mu_and_logvar"): reparameterize_std_detached,
    (R, "matches_reference"): props._logvar_as_std,
    (R, "dtype_contract"): reparameterize_float32_internally,
    (K, "nonnegative_zero_only_at_prior"): props._kl_sign_flipped,
    (K, "known_values"): props._kl_no_half,
    (K, "additive_over_latent_dims"): props._kl_mean_over_latent,
    (K, "matches_reference"): props._kl_logvar_as_log_std,
    (K, "gradients_match"): kl_exp_detached,
    (K, "dtype_contract"): kl_float32_internally,
    (E, "known_answer"): props._elbo_gaussian_without_half,
    (E, "fractional_targets"): elbo_binarized_targets,
    (E, "finite_for_extreme_logits"): props._elbo_log_of_sigmoid,
    (E, "per_sample_shape"): props._elbo_summed_over_batch,
    (E, "unknown_likelihood_raises"): props._elbo_unknown_is_gaussian,
    (E, "matches_reference"): props._elbo_recon_mean_over_pixels,
    (E, "gradients_match"): elbo_kl_detached,
    (E, "dtype_contract"): elbo_float32_internally,
    (S, "endpoints"): props._slerp_swapped_weights,
    (S, "known_answer"): props._slerp_one_angle_for_batch,
    (S, "symmetric"): slerp_rescaled_to_z0,
    (S, "preserves_equal_norms"): props._slerp_linear,
    (S, "parallel_rows_fall_back_to_lerp"): props._slerp_no_fallback,
    (S, "fallback_has_finite_gradients"): slerp_unsafe_where,
    (S, "matches_reference"): props._slerp_angle_without_norms,
    (S, "gradients_match"): slerp_angle_detached,
    (S, "dtype_contract"): slerp_float32_internally,
}


# ==================================================================================================
# Device contracts (issue 17, item 2): wrong only on a GPU. Each runs right on the CPU; the
# follows_the_device property (grader/properties/device.py) catches it on a simulated CUDA device.
# DEVICE_VARIANTS lists further variants it must catch (tests/test_device_check.py).
# ==================================================================================================
from grader.reference import load_reference as _load_reference  # noqa: E402
from tests.harness import SOLUTIONS as _SOLUTIONS  # noqa: E402

_dref = _load_reference(_SOLUTIONS, "vae")


def reparameterize_half_as_vector(mu, logvar, eps):
    """0.5 as torch.tensor([0.5]): a CPU vector in the exponent."""
    return mu + torch.exp(torch.tensor([0.5], dtype=logvar.dtype) * logvar) * eps


def kl_one_as_default_device_tensor(mu, logvar):
    """The 1 in 1 + logvar as torch.ones(shape) on the default device."""
    return -0.5 * (torch.ones(mu.shape, dtype=mu.dtype) + logvar - mu.square() - logvar.exp()).sum(dim=-1)


def elbo_beta_as_vector(x, x_hat, mu, logvar, beta=1.0, likelihood="bernoulli"):
    """beta made a 1-element tensor on the default device."""
    return _dref.negative_elbo(x, x_hat, mu, logvar, torch.tensor([float(beta)], dtype=x_hat.dtype), likelihood)


def slerp_t_on_default_device(z0, z1, t):
    """t converted with torch.as_tensor(t.tolist()) and reshaped: on the default device."""
    t = torch.as_tensor(t.tolist() if isinstance(t, torch.Tensor) else t, dtype=z0.dtype).reshape(-1, 1)
    return _dref.slerp(z0, z1, t.squeeze(1) if t.shape[0] == z0.shape[0] and t.shape[0] > 1 else t)


CAUGHT_BY[("vae.reparameterize", "follows_the_device")] = reparameterize_half_as_vector
CAUGHT_BY[("vae.kl_standard_normal", "follows_the_device")] = kl_one_as_default_device_tensor
CAUGHT_BY[("vae.negative_elbo", "follows_the_device")] = elbo_beta_as_vector
CAUGHT_BY[("vae.slerp", "follows_the_device")] = slerp_t_on_default_device
DEVICE_VARIANTS = []
