"""Properties of the GAN exercises (q10–q15, q37).

One module per exercise, holding its properties and its known mistakes; the modules are
imported in the order their exercises are listed.
"""

from __future__ import annotations

# isort: off
# Importing an exercise module registers it: this order is the order of the topic's exercises.
from grader.properties.gan import discriminator_loss as discriminator_loss
from grader.properties.gan import generator_loss as generator_loss
from grader.properties.gan import gradient_penalty as gradient_penalty
from grader.properties.gan import minibatch_stddev as minibatch_stddev
from grader.properties.gan import concat_condition as concat_condition
from grader.properties.gan import r1_penalty as r1_penalty
# isort: on

# Known mistakes and helpers that tests/wrong/ builds its wrong implementations from.
from grader.properties.gan.concat_condition import _cond_last_axis as _cond_last_axis
from grader.properties.gan.concat_condition import _cond_num_classes_inferred as _cond_num_classes_inferred
from grader.properties.gan.concat_condition import _cond_onehot_first as _cond_onehot_first
from grader.properties.gan.concat_condition import _expected_condition as _expected_condition
from grader.properties.gan.discriminator_loss import _d_halved as _d_halved
from grader.properties.gan.discriminator_loss import _d_labels_swapped as _d_labels_swapped
from grader.properties.gan.discriminator_loss import _d_log_of_sigmoid as _d_log_of_sigmoid
from grader.properties.gan.discriminator_loss import _d_one_mean_over_both as _d_one_mean_over_both
from grader.properties.gan.generator_loss import _g_flag_ignored as _g_flag_ignored
from grader.properties.gan.generator_loss import _g_flag_inverted as _g_flag_inverted
from grader.properties.gan.generator_loss import _g_log_of_sigmoid as _g_log_of_sigmoid
from grader.properties.gan.generator_loss import _g_saturating_sign_flipped as _g_saturating_sign_flipped
from grader.properties.gan.gradient_penalty import _gp_grad_of_mean as _gp_grad_of_mean
from grader.properties.gan.gradient_penalty import _gp_norm_over_dim1 as _gp_norm_over_dim1
from grader.properties.gan.gradient_penalty import _gp_paper_interpolation as _gp_paper_interpolation
from grader.properties.gan.gradient_penalty import _gp_squared_norm as _gp_squared_norm
from grader.properties.gan.minibatch_stddev import _mbstd_contiguous_groups as _mbstd_contiguous_groups
from grader.properties.gan.minibatch_stddev import _mbstd_prepended as _mbstd_prepended
from grader.properties.gan.minibatch_stddev import _mbstd_unbiased as _mbstd_unbiased
from grader.properties.gan.minibatch_stddev import _mbstd_whole_batch as _mbstd_whole_batch
from grader.properties.gan.minibatch_stddev import _stddev_with as _stddev_with
from grader.properties.gan.r1_penalty import _r1_gp_form as _r1_gp_form
from grader.properties.gan.r1_penalty import _r1_grad_of_mean as _r1_grad_of_mean
from grader.properties.gan.r1_penalty import _r1_mean_over_features as _r1_mean_over_features
from grader.properties.gan.r1_penalty import _r1_no_half as _r1_no_half
from grader.properties.gan.r1_penalty import _r1_norm_not_squared as _r1_norm_not_squared
from grader.properties.gan.r1_penalty import _r1_with as _r1_with
