"""Properties of the VAE exercises (q2, q5–q7, q54).

One module per exercise (registered in import order, the catalog's order); helpers used by
several exercises in ``_shared``, this topic's Hypothesis strategies in ``strategies``.
"""

from __future__ import annotations

from grader.properties.device import register_device_contracts

# Importing an exercise's module registers it: the catalog's order, which isort must not change.
# isort: off
from grader.properties.vae import reparameterize, kl_standard_normal, negative_elbo, slerp  # noqa: F401
# isort: on
from grader.properties.vae._shared import _kl_terms
from grader.properties.vae.kl_standard_normal import _kl_logvar_as_log_std, _kl_mean_over_latent, _kl_no_half, _kl_sign_flipped
from grader.properties.vae.negative_elbo import (
    _elbo_gaussian_without_half,
    _elbo_log_of_sigmoid,
    _elbo_recon_mean_over_pixels,
    _elbo_summed_over_batch,
    _elbo_unknown_is_gaussian,
    _recon,
)
from grader.properties.vae.reparameterize import _logvar_as_std, _sqrt_of_variance, _std_is_exp_logvar
from grader.properties.vae.slerp import (
    _row_cos,
    _slerp_angle_without_norms,
    _slerp_linear,
    _slerp_no_fallback,
    _slerp_one_angle_for_batch,
    _slerp_swapped_weights,
    _slerp_with,
    _t_column,
)

__all__ = ["_elbo_gaussian_without_half", "_elbo_log_of_sigmoid", "_elbo_recon_mean_over_pixels", "_elbo_summed_over_batch", "_elbo_unknown_is_gaussian", "_kl_logvar_as_log_std", "_kl_mean_over_latent", "_kl_no_half", "_kl_sign_flipped", "_kl_terms", "_logvar_as_std", "_recon", "_row_cos", "_slerp_angle_without_norms", "_slerp_linear", "_slerp_no_fallback", "_slerp_one_angle_for_batch", "_slerp_swapped_weights", "_slerp_with", "_sqrt_of_variance", "_std_is_exp_logvar", "_t_column"]

# Last, after every exercise of the topic: the device contract of each (grader/properties/device.py).
register_device_contracts("vae")
