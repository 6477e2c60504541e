"""Properties of the diffusion exercises (q16–q19, q24, q25, q38, q55).

Schedules are float64 while the data is float32 or float64: every result must take the
data's dtype. ddpm_step and ddim_step are also compared with diffusers' schedulers (with
float64 buffers) when diffusers is installed (a test extra); without it, those properties
compare with the reference, which tests/test_oracles_diffusion.py checks against diffusers.

One module per exercise (its properties and known mistakes), registered in this order;
strategies.py draws the topic's inputs. The names below are re-exported for tests/wrong/diffusion.py
and the topics that reuse them.
"""

# Importing the modules registers the exercises: this order is the catalog's.
# isort: off
from grader.properties.diffusion import linear_beta_schedule, cosine_beta_schedule, q_sample, ddpm_step, ddim_timesteps, ddim_step, classifier_free_guidance, respaced_betas  # noqa: F401
from grader.properties.diffusion.linear_beta_schedule import _linear_end_excluded, _linear_float32, _linear_rescaled
from grader.properties.diffusion.cosine_beta_schedule import _cosine, _cosine_no_cap, _cosine_not_squared, _cosine_without_one_plus_s
from grader.properties.diffusion.q_sample import _per_sample, _q_broadcast_last_axis, _q_coefficients, _q_mix, _q_one_indexed, _q_swapped
from grader.properties.diffusion.ddpm_step import _ddpm, _ddpm_alpha_bar_in_mean, _ddpm_noise_at_last_step, _ddpm_variance_as_std, _ddpm_variances_swapped
from grader.properties.diffusion.ddim_timesteps import _timesteps_ascending, _timesteps_linspace
from grader.properties.diffusion.ddim_step import _ddim, _ddim_direction_ignores_sigma, _ddim_prev_wraps_around, _ddim_sigma_without_sqrt, _ddim_x0_hat_no_sqrt
from grader.properties.diffusion.classifier_free_guidance import _cfg_ho_salimans, _cfg_reversed, _cfg_scale
from grader.properties.diffusion.respaced_betas import _respaced_betas_at_timesteps, _respaced_difference, _respaced_one_minus_alpha_bar, _respaced_prev_wraps_around
# isort: on

__all__ = ["_cfg_ho_salimans", "_cfg_reversed", "_cfg_scale", "_cosine", "_cosine_no_cap", "_cosine_not_squared", "_cosine_without_one_plus_s", "_ddim", "_ddim_direction_ignores_sigma", "_ddim_prev_wraps_around", "_ddim_sigma_without_sqrt", "_ddim_x0_hat_no_sqrt", "_ddpm", "_ddpm_alpha_bar_in_mean", "_ddpm_noise_at_last_step", "_ddpm_variance_as_std", "_ddpm_variances_swapped", "_linear_end_excluded", "_linear_float32", "_linear_rescaled", "_per_sample", "_q_broadcast_last_axis", "_q_coefficients", "_q_mix", "_q_one_indexed", "_q_swapped", "_respaced_betas_at_timesteps", "_respaced_difference", "_respaced_one_minus_alpha_bar", "_respaced_prev_wraps_around", "_timesteps_ascending", "_timesteps_linspace"]
