"""Wrong implementations of the GAN exercises."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from grader.properties import gan as props


def d_fake_term_detached(real_logits, fake_logits):
    """Right value, but no gradient reaches the fake logits."""
    return F.softplus(-real_logits).mean() + F.softplus(fake_logits.detach()).mean()


def d_float32_internally(real_logits, fake_logits):
    return F.softplus(-real_logits.float()).mean() + F.softplus(fake_logits.float()).mean()


def g_summed(fake_logits, non_saturating=True):
    """Sums over the batch instead of averaging."""
    return F.softplus(-fake_logits).sum() if non_saturating else -F.softplus(fake_logits).sum()


def g_float32_internally(fake_logits, non_saturating=True):
    f = fake_logits.float()
    return F.softplus(-f).mean() if non_saturating else -F.softplus(f).mean()


def _penalty_parts(critic, real, fake, alpha, *, create_graph=True):
    a = alpha.reshape(real.shape[0], *([1] * (real.dim() - 1)))
    x_hat = (real + a * (fake - real)).detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(x_hat).sum(), x_hat, create_graph=create_graph)
    return grad.flatten(1).norm(dim=1)


def gp_summed_over_batch(critic, real, fake, alpha, weight=10.0):
    """Sums the per-sample penalties instead of averaging them."""
    return weight * (_penalty_parts(critic, real, fake, alpha) - 1).square().sum()


def gp_no_create_graph(critic, real, fake, alpha, weight=10.0):
    """Right value, but the input-gradient has no graph: the critic cannot learn from the penalty."""
    return weight * (_penalty_parts(critic, real, fake, alpha, create_graph=False) - 1).square().mean()


def gp_half_detached(critic, real, fake, alpha, weight=10.0):
    """Right value, but one factor of the square is detached: half the parameter gradient."""
    norms = _penalty_parts(critic, real, fake, alpha)
    return weight * ((norms - 1) * (norms.detach() - 1)).mean()


def gp_float32_result(critic, real, fake, alpha, weight=10.0):
    return (weight * (_penalty_parts(critic, real, fake, alpha) - 1).square().mean()).float()


def mbstd_channel_detached(x, group_size=4, eps=1e-8):
    """Right values, but the statistic channel is a constant for autograd."""
    out = props._stddev_with(x, group_size, eps)
    c = x.shape[1]
    return torch.cat([out[:, :c], out[:, c:].detach()], dim=1)


def mbstd_float32_internally(x, group_size=4, eps=1e-8):
    return props._stddev_with(x.float(), group_size, eps)


def cond_x_detached(x, labels, num_classes):
    """Right values, but x is cut from the graph."""
    return props._expected_condition(x.detach(), labels, num_classes)


def cond_onehot_float64(x, labels, num_classes):
    """A float64 one-hot: concatenation promotes a float32 x to float64."""
    onehot = F.one_hot(labels, num_classes).double()
    if x.dim() == 4:
        onehot = onehot[:, :, None, None].expand(-1, -1, *x.shape[2:])
    return torch.cat([x, onehot], dim=1)


def _r1_grad(discriminator, real):
    x = real.detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(discriminator(x).sum(), x, create_graph=True)
    return grad.flatten(1)


def r1_summed_over_batch(discriminator, real, gamma=10.0):
    """Sums the per-sample squared norms instead of averaging them."""
    return gamma / 2 * _r1_grad(discriminator, real).square().sum()


def r1_no_create_graph(discriminator, real, gamma=10.0):
    """Right value, but the input-gradient has no graph: D cannot learn from the penalty."""
    x = real.detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(discriminator(x).sum(), x)
    return gamma / 2 * grad.flatten(1).square().sum(dim=1).mean()


def r1_gamma_as_float(discriminator, real, gamma=10.0):
    """Right value, but float(gamma) cuts a tensor gamma from the graph."""
    return float(gamma) / 2 * _r1_grad(discriminator, real).square().sum(dim=1).mean()


def r1_float32_result(discriminator, real, gamma=10.0):
    return (gamma / 2 * _r1_grad(discriminator, real).square().sum(dim=1).mean()).float()


def r1_of_sigmoid(discriminator, real, gamma=10.0):
    """Penalises the gradient of D's probability sigmoid(D(x)) instead of its logit."""
    x = real.detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(torch.sigmoid(discriminator(x)).sum(), x, create_graph=True)
    return gamma / 2 * grad.flatten(1).square().sum(dim=1).mean()


def r1_half_detached(discriminator, real, gamma=10.0):
    """Right value, but one factor of the square is detached: half the parameter gradient."""
    grad = _r1_grad(discriminator, real)
    return gamma / 2 * (grad * grad.detach()).sum(dim=1).mean()


D, G, P, M, C = "gan.discriminator_loss", "gan.generator_loss", "gan.gradient_penalty", "gan.minibatch_stddev", "gan.concat_condition"
R1 = "gan.r1_penalty"
CAUGHT_BY = {
    (D, "known_answer"): props._d_halved,
    (D, "finite_for_extreme_logits"): props._d_log_of_sigmoid,
    (D, "rewards_correct_confidence"): props._d_labels_swapped,
    (D, "matches_reference"): props._d_one_mean_over_both,
    (D, "gradients_match"): d_fake_term_detached,
    (D, "dtype_contract"): d_float32_internally,
    (G, "gradient_saturation"): props._g_saturating_sign_flipped,
    (G, "variants_sum_to_minus_mean_logit"): props._g_flag_ignored,
    (G, "known_answer"): props._g_flag_inverted,
    (G, "finite_for_extreme_logits"): props._g_log_of_sigmoid,
    (G, "matches_reference"): g_summed,
    (G, "dtype_contract"): g_float32_internally,
    (P, "zero_for_unit_gradient_critic"): props._gp_grad_of_mean,
    (P, "linear_critic_known_value"): props._gp_squared_norm,
    (P, "alpha_selects_the_endpoint"): props._gp_paper_interpolation,
    (P, "mean_of_per_sample_penalties"): gp_summed_over_batch,
    (P, "differentiable_in_critic_parameters"): gp_no_create_graph,
    (P, "matches_reference"): props._gp_norm_over_dim1,
    (P, "critic_gradients_match"): gp_half_detached,
    (P, "dtype_contract"): gp_float32_result,
    (M, "appends_constant_channel"): props._mbstd_prepended,
    (M, "group_membership"): props._mbstd_contiguous_groups,
    (M, "known_answer"): props._mbstd_unbiased,
    (M, "matches_reference"): props._mbstd_whole_batch,
    (M, "gradients_match"): mbstd_channel_detached,
    (M, "dtype_contract"): mbstd_float32_internally,
    (C, "vector_layout"): props._cond_num_classes_inferred,
    (C, "image_layout"): props._cond_last_axis,
    (C, "gradient_reaches_x"): cond_x_detached,
    (C, "matches_reference"): props._cond_onehot_first,
    (C, "dtype_contract"): cond_onehot_float64,
    (R1, "linear_discriminator_known_value"): props._r1_no_half,
    (R1, "taken_at_the_real_samples"): props._r1_grad_of_mean,
    (R1, "mean_of_per_sample_penalties"): r1_summed_over_batch,
    (R1, "differentiable_in_discriminator_parameters"): r1_no_create_graph,
    (R1, "gamma_may_be_a_tensor"): r1_gamma_as_float,
    (R1, "dtype_contract"): r1_float32_result,
    (R1, "matches_reference"): r1_of_sigmoid,
    (R1, "discriminator_gradients_match"): r1_half_detached,
}


# ----------------------------------------------------------------------------- numerical stability


def d_bce_of_sigmoid(real_logits, fake_logits):
    """F.binary_cross_entropy on sigmoid probabilities: its log is clamped at −100, so the loss is
    exact up to logits of ±100 and capped at 100 per sample beyond."""
    return F.binary_cross_entropy(torch.sigmoid(real_logits), torch.ones_like(real_logits)) + F.binary_cross_entropy(torch.sigmoid(fake_logits), torch.zeros_like(fake_logits))


def g_bce_of_sigmoid(fake_logits, non_saturating=True):
    """The same clamp for the generator: BCE(σ(fake), 1), and −BCE(σ(fake), 0) when saturating."""
    p = torch.sigmoid(fake_logits)
    if non_saturating:
        return F.binary_cross_entropy(p, torch.ones_like(p))
    return -F.binary_cross_entropy(p, torch.zeros_like(p))


CAUGHT_BY |= {
    (D, "exact_for_large_logits"): d_bce_of_sigmoid,
    (G, "exact_for_large_logits"): g_bce_of_sigmoid,
}
STABILITY_WRONG = [
    (D, "exact_for_large_logits", d_bce_of_sigmoid),
    (G, "exact_for_large_logits", g_bce_of_sigmoid),
]
