"""Wrong implementations of the attention exercises."""

from __future__ import annotations

import math

import torch

from grader.properties import attention as props


def sdpa_float32_internally(q, k, v, mask=None):
    """Rounds through float32: loses float64 precision (and dtype)."""
    out, w = props._no_scaling(q.float(), k.float() / math.sqrt(q.shape[-1]), v.float(), mask)
    return out, w


def sdpa_mask_by_zero(q, k, v, mask=None):
    """Masks scores with 0 instead of -inf: masked keys keep weight."""
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    if mask is not None:
        scores = scores.masked_fill(~mask, 0.0)
    w = torch.softmax(scores, dim=-1)
    return w @ v, w


def sdpa_keys_sorted(q, k, v, mask=None):
    """Uses only the first key's position information wrongly: weights depend on key order."""
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    n = scores.shape[-1]
    scores = scores + torch.arange(n, dtype=scores.dtype) * 0.5
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    w = torch.softmax(scores, dim=-1)
    return w @ v, w


def sdpa_detached(q, k, v, mask=None):
    """Correct values, but computed without autograd."""
    with torch.no_grad():
        out, w = props._no_scaling(q, k / math.sqrt(q.shape[-1]), v, mask)
    return out.detach() + 0 * v.sum().detach(), w


E = "attention.scaled_dot_product_attention"
CAUGHT_BY = {
    (E, "weights_sum_to_one"): props._softmax_over_queries,
    (E, "masked_keys_ignored"): sdpa_mask_by_zero,
    (E, "permutation_equivariant"): sdpa_keys_sorted,
    (E, "known_answer"): props._no_scaling,
    (E, "matches_reference"): props._scaled_by_d,
    (E, "gradients_match"): sdpa_detached,
    (E, "dtype_contract"): sdpa_float32_internally,
}
