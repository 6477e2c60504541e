"""Wrong implementations of the clip exercises."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from grader.properties import clip as props
from grader.properties.clip.clip_loss import _loss_log_of_softmax
from grader.properties.clip.zero_shot_probs import _probs_exp_over_sum


def loss_reversed_labels(image_emb, text_emb, logit_scale):
    """Matches image i with text N − 1 − i: the loss depends on the order of the batch."""
    logits = props._logits(image_emb, text_emb, logit_scale)
    labels = torch.arange(logits.shape[0]).flip(0)
    return (F.cross_entropy(logits, labels) + F.cross_entropy(logits.T, labels)) / 2


def loss_detached_scale(image_emb, text_emb, logit_scale):
    """Right values, but a detached logit_scale gets no gradient."""
    s = logit_scale.detach().exp() if isinstance(logit_scale, torch.Tensor) else math.exp(logit_scale)
    return props._symmetric_ce(props._logits(image_emb, text_emb, s, use_exp=False))


def _detached_norm_logits(a, b, logit_scale):
    a = a / a.norm(dim=-1, keepdim=True).detach()  # right values, wrong gradients
    b = b / b.norm(dim=-1, keepdim=True).detach()
    return torch.as_tensor(logit_scale, dtype=a.dtype).exp() * (a @ b.T)


def loss_detached_norm(image_emb, text_emb, logit_scale):
    return props._symmetric_ce(_detached_norm_logits(image_emb, text_emb, logit_scale))


def loss_float32(image_emb, text_emb, logit_scale):
    """Computes in float32 whatever the inputs."""
    return props._loss_right(image_emb.float(), text_emb.float(), float(logit_scale))


def probs_detached_norm(image_emb, class_emb, logit_scale):
    return _detached_norm_logits(image_emb, class_emb, logit_scale).softmax(dim=-1)


def probs_float32(image_emb, class_emb, logit_scale):
    return props._probs_right(image_emb.float(), class_emb.float(), float(logit_scale))


L, P = "clip.clip_loss", "clip.zero_shot_probs"
CAUGHT_BY = {
    (L, "invariant_to_rescaling"): props._loss_no_normalization,
    (L, "invariant_to_joint_permutation"): loss_reversed_labels,
    (L, "orthogonal_pairs_known_answer"): props._loss_no_exp,
    (L, "asymmetric_known_answer"): props._loss_image_to_text_only,
    (L, "gradients_reach_everything"): loss_detached_scale,
    (L, "matches_reference"): props._loss_divided_by_scale,
    (L, "gradients_match"): loss_detached_norm,
    (L, "dtype_contract"): loss_float32,
    (P, "rows_are_distributions"): props._probs_over_images,
    (P, "invariant_to_embedding_scale"): props._probs_global_norm,
    (P, "known_answer"): props._probs_no_exp,
    (P, "sharper_with_larger_scale"): props._probs_divided_by_scale,
    (P, "matches_reference"): props._probs_no_normalization,
    (P, "gradients_match"): probs_detached_norm,
    (P, "dtype_contract"): probs_float32,
}


def loss_exp_over_sum(image_emb, text_emb, logit_scale):
    """Cross-entropy from probabilities exp(x)/Σexp(x): nan once exp overflows."""
    e = props._logits(image_emb, text_emb, logit_scale).exp()
    diag = torch.arange(e.shape[0])
    p_i, p_t = e / e.sum(1, keepdim=True), e / e.sum(0, keepdim=True)
    return -(p_i[diag, diag].log().mean() + p_t[diag, diag].log().mean()) / 2


CAUGHT_BY |= {
    (L, "stable_for_large_logit_scale"): _loss_log_of_softmax,
    (P, "stable_for_large_logit_scale"): _probs_exp_over_sum,
}
STABILITY_WRONG = [
    (L, "stable_for_large_logit_scale", _loss_log_of_softmax),
    (L, "stable_for_large_logit_scale", loss_exp_over_sum),
    (P, "stable_for_large_logit_scale", _probs_exp_over_sum),
]
