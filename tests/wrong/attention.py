"""Wrong implementations of the attention exercises."""

from __future__ import annotations

import math

import torch

from grader.properties import attention as props
from grader.properties.attention import online_softmax_attention as online
from grader.properties.attention import padding_mask as padding
from grader.properties.attention import prefix_lm_mask as prefix
from grader.properties.attention.multi_head_attention import _mha_fill_1e4, _mha_fill_1e9, _mha_unstable_softmax
from grader.properties.attention.scaled_dot_product_attention import _fill_1e4 as sdpa_fill_1e4
from grader.properties.attention.scaled_dot_product_attention import _fill_1e9 as sdpa_fill_1e9
from grader.properties.attention.scaled_dot_product_attention import _unstable_softmax as sdpa_unstable_softmax


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


def causal_float_mask(q_len, k_len=None):
    """Right pattern, but a float 1/0 tensor instead of torch.bool."""
    k_len = q_len if k_len is None else k_len
    return torch.ones(q_len, k_len).tril(k_len - q_len)


def mha_position_bias(query, key, value, in_proj_weight, in_proj_bias, out_proj_weight, out_proj_bias, num_heads, mask=None):
    """Adds a bias growing with the key index to the scores: attention that depends on key order."""
    b, lq, e = query.shape
    lk = key.shape[1]
    d = e // num_heads
    q, k, v = (
        (x @ w.T + bias).reshape(b, n, num_heads, d).transpose(1, 2)
        for x, w, bias, n in zip((query, key, value), in_proj_weight.chunk(3), in_proj_bias.chunk(3), (lq, lk, lk))
    )
    scores = q @ k.transpose(-2, -1) / math.sqrt(d) + 0.5 * torch.arange(lk, dtype=query.dtype)
    if mask is not None:
        scores = scores.masked_fill(~(mask.unsqueeze(1) if mask.dim() == 3 else mask), float("-inf"))
    out = (torch.softmax(scores, dim=-1) @ v).transpose(1, 2).reshape(b, lq, e)
    return out @ out_proj_weight.T + out_proj_bias


def mha_mask_by_zero(query, key, value, in_proj_weight, in_proj_bias, out_proj_weight, out_proj_bias, num_heads, mask=None):
    """Masks scores with 0 instead of -inf: hidden keys keep some weight."""
    b, lq, e = query.shape
    lk = key.shape[1]
    d = e // num_heads
    q, k, v = (
        (x @ w.T + bias).reshape(b, n, num_heads, d).transpose(1, 2)
        for x, w, bias, n in zip((query, key, value), in_proj_weight.chunk(3), in_proj_bias.chunk(3), (lq, lk, lk))
    )
    scores = q @ k.transpose(-2, -1) / math.sqrt(d)
    if mask is not None:
        scores = scores.masked_fill(~(mask.unsqueeze(1) if mask.dim() == 3 else mask), 0.0)
    out = (torch.softmax(scores, dim=-1) @ v).transpose(1, 2).reshape(b, lq, e)
    return out @ out_proj_weight.T + out_proj_bias


def mha_float32_internally(*args):
    """Right values within float32 precision, computed and returned in float32."""
    return props.mha_formula(*(a.float() if isinstance(a, torch.Tensor) and a.is_floating_point() else a for a in args))


def mha_kv_detached(query, key, value, *rest):
    """Right values, but no gradient reaches key and value."""
    return props.mha_formula(query, key.detach(), value.detach(), *rest)


def sdpa_log_space_exp(q, k, v, mask=None):
    """Softmax as exp(s − log Σ exp(s)) with a naive log-sum-exp: overflows for large scores."""
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    w = torch.exp(scores - scores.exp().sum(-1, keepdim=True).log())
    return w @ v, w


E = "attention.scaled_dot_product_attention"
CAUGHT_BY = {
    (E, "weights_sum_to_one"): props._softmax_over_queries,
    (E, "masked_keys_ignored"): sdpa_mask_by_zero,
    (E, "permutation_equivariant"): sdpa_keys_sorted,
    (E, "known_answer"): props._no_scaling,
    (E, "matches_reference"): props._scaled_by_d,
    (E, "gradients_match"): sdpa_detached,
    (E, "dtype_contract"): sdpa_float32_internally,
    (E, "stable_for_large_scores"): sdpa_unstable_softmax,
    (E, "mask_beats_very_negative_scores"): sdpa_fill_1e9,
}
# More wrong variants the stability properties catch (tests/test_stability.py grades them).
STABILITY_WRONG = [
    (E, "stable_for_large_scores", sdpa_unstable_softmax),
    (E, "stable_for_large_scores", sdpa_log_space_exp),
    (E, "mask_beats_very_negative_scores", sdpa_fill_1e9),
    (E, "mask_beats_very_negative_scores", sdpa_fill_1e4),
]

C = "attention.causal_mask"
CAUGHT_BY |= {
    (C, "returns_bool_mask"): causal_float_mask,
    (C, "square_lower_triangular"): props._strictly_lower,
    (C, "kv_cache_alignment"): props._top_left_aligned,
    (C, "matches_reference"): props._future_mask,
}

M = "attention.multi_head_attention"
CAUGHT_BY |= {
    (M, "identity_projections_split_heads"): props._mha_heads_without_transpose,
    (M, "permutation_equivariant"): mha_position_bias,
    (M, "batch_elements_independent"): props._mha_mask_tiled_across_batch,
    (M, "masked_keys_ignored"): mha_mask_by_zero,
    (M, "dtype_contract"): mha_float32_internally,
    (M, "matches_torch_multihead_attention"): props._mha_weights_not_transposed,
    (M, "matches_reference"): props._mha_scaled_by_model_dim,
    (M, "gradients_match"): mha_kv_detached,
    (M, "stable_for_extreme_scores"): _mha_fill_1e9,
}
STABILITY_WRONG += [
    (M, "stable_for_extreme_scores", _mha_unstable_softmax),
    (M, "stable_for_extreme_scores", _mha_fill_1e9),
    (M, "stable_for_extreme_scores", _mha_fill_1e4),
]


def online_materialized(q, k, v, mask=None, block_size=64):
    """Right values, but builds the full (..., Lq, Lk) score matrix first and then loops over its blocks."""
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    m = scores.amax(-1, keepdim=True)
    total, acc = 0, 0
    for start in range(0, k.shape[-2], block_size):
        p = torch.exp(scores[..., start : start + block_size] - m)
        total = total + p.sum(-1, keepdim=True)
        acc = acc + p @ v[..., start : start + block_size, :]
    return acc / total


def online_float32_internally(q, k, v, mask=None, block_size=64):
    """Right values within float32 precision, computed and returned in float32."""
    return online._online(q.float(), k.float(), v.float(), mask, block_size)


def online_kv_detached(q, k, v, mask=None, block_size=64):
    """Right values, but no gradient reaches k and v."""
    return online._online(q, k.detach(), v.detach(), mask, block_size)


def padding_long_mask(lengths, max_len):
    """Right pattern, but an int64 0/1 tensor instead of torch.bool."""
    return (torch.arange(max_len).unsqueeze(0) < lengths.unsqueeze(1)).long()


def prefix_float_mask(prefix_len, total_len):
    """Right pattern, but a float 1/0 tensor instead of torch.bool."""
    return prefix._loop(prefix_len, total_len).float()


def prefix_strictly_causal(prefix_len, total_len):
    """Hides the diagonal after the prefix: a token cannot see itself."""
    i, j = torch.arange(total_len).unsqueeze(1), torch.arange(total_len).unsqueeze(0)
    return (j < i) | (j < prefix_len)


OS = "attention.online_softmax_attention"
CAUGHT_BY |= {
    (OS, "matches_softmax_attention"): online._sum_not_rescaled,
    (OS, "leading_masked_keys"): online._nan_on_masked_block,
    (OS, "shift_invariant"): online._max_initialised_with_zero,
    (OS, "memory_bounded"): online_materialized,
    (OS, "dtype_contract"): online_float32_internally,
    (OS, "matches_reference"): online._blocks_normalised_separately,
    (OS, "gradients_match"): online_kv_detached,
    (OS, "mask_beats_very_negative_scores"): online._mask_fill_1e9,
}


STABILITY_WRONG += [
    (OS, "mask_beats_very_negative_scores", online._mask_fill_1e9),
    (OS, "mask_beats_very_negative_scores", online._mask_fill_1e4),
]

P = "attention.padding_mask"
CAUGHT_BY |= {
    (P, "returns_bool_mask"): padding_long_mask,
    (P, "true_before_length"): padding._off_by_one,
    (P, "hides_padding_as_key_mask"): padding._opposite_polarity,
    (P, "matches_reference"): padding._left_padded,
}

X = "attention.prefix_lm_mask"
CAUGHT_BY |= {
    (X, "returns_bool_mask"): prefix_float_mask,
    (X, "every_query_sees_the_prefix"): prefix._prefix_off_by_one,
    (X, "causal_after_the_prefix"): prefix._prefix_queries_see_everything,
    (X, "ends_are_causal_and_full"): prefix_strictly_causal,
    (X, "matches_reference"): prefix._opposite_polarity,
}

# ==================================================================================================
# Device contracts (issue 17, item 2): wrong only on a GPU. Each runs right on the CPU; the
# follows_the_device property (grader/properties/device.py) catches it on a simulated CUDA device.
# DEVICE_VARIANTS lists further variants it must catch (tests/test_device_check.py).
# ==================================================================================================
from grader.reference import load_reference as _load_reference  # noqa: E402
from tests.harness import SOLUTIONS as _SOLUTIONS  # noqa: E402

_dref = _load_reference(_SOLUTIONS, "attention")


def sdpa_bias_on_default_device(q, k, v, mask=None):
    """An additive mask built with torch.zeros(...) on the default device."""
    bias = torch.zeros(q.shape[-2], k.shape[-2], dtype=q.dtype)
    if mask is not None:
        bias = bias.masked_fill(~mask, float("-inf"))
    w = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1]) + bias, dim=-1)
    return w @ v, w


def sdpa_all_true_mask_on_default_device(q, k, v, mask=None):
    """mask=None replaced by torch.ones(..., dtype=torch.bool) on the default device."""
    if mask is None:
        mask = torch.ones(q.shape[-2], k.shape[-2], dtype=torch.bool)
    return _dref.scaled_dot_product_attention(q, k, v, mask)


def causal_mask_from_numpy(q_len, k_len=None):
    """np.tril + torch.from_numpy: always on the CPU, whatever the default device."""
    import numpy as np

    k_len = q_len if k_len is None else k_len
    return torch.from_numpy(np.tril(np.ones((q_len, k_len), dtype=bool), k_len - q_len))


def causal_mask_hardcoded_cpu(q_len, k_len=None):
    """device="cpu" written out."""
    k_len = q_len if k_len is None else k_len
    return torch.ones(q_len, k_len, dtype=torch.bool, device="cpu").tril(k_len - q_len)


def mha_mask_on_default_device(query, key, value, in_proj_weight, in_proj_bias, out_proj_weight, out_proj_bias, num_heads, mask=None):
    """mask=None replaced by an all-True mask on the default device."""
    if mask is None:
        mask = torch.ones(query.shape[1], key.shape[1], dtype=torch.bool)
    return _dref.multi_head_attention(query, key, value, in_proj_weight, in_proj_bias, out_proj_weight, out_proj_bias, num_heads, mask)


CAUGHT_BY[("attention.scaled_dot_product_attention", "follows_the_device")] = sdpa_bias_on_default_device
CAUGHT_BY[("attention.causal_mask", "follows_the_device")] = causal_mask_from_numpy
CAUGHT_BY[("attention.multi_head_attention", "follows_the_device")] = mha_mask_on_default_device
DEVICE_VARIANTS = [
    ("attention.scaled_dot_product_attention", sdpa_all_true_mask_on_default_device),
    ("attention.causal_mask", causal_mask_hardcoded_cpu),
]


def online_state_on_default_device(q, k, v, mask=None, block_size=64):
    """The running maximum, sum and output start as torch.full/zeros without device=."""
    m = torch.full((*q.shape[:-1], 1), float("-inf"), dtype=q.dtype)
    l, acc = torch.zeros_like(m), torch.zeros((*q.shape[:-1], v.shape[-1]), dtype=q.dtype)  # noqa: E741
    for start in range(0, k.shape[-2], block_size):
        s = q @ k[..., start : start + block_size, :].transpose(-2, -1) / math.sqrt(q.shape[-1])
        if mask is not None:
            s = s.masked_fill(~(mask if mask.shape[-1] == 1 else mask[..., start : start + block_size]), float("-inf"))
        m_new = torch.maximum(m, s.detach().amax(dim=-1, keepdim=True))
        shift = m_new.masked_fill(m_new == float("-inf"), 0.0)
        p = torch.exp(s - shift)
        l = l * torch.exp(m - shift) + p.sum(dim=-1, keepdim=True)  # noqa: E741
        acc = acc * torch.exp(m - shift) + p @ v[..., start : start + block_size, :]
        m = m_new
    return acc / l


def padding_positions_on_default_device(lengths, max_len):
    """positions = torch.arange(max_len) without device=lengths.device."""
    return torch.arange(max_len).unsqueeze(0) < lengths.unsqueeze(1)


def prefix_lm_from_numpy(prefix_len, total_len):
    """Built in numpy and converted with torch.from_numpy: always on the CPU."""
    import numpy as np

    i = np.arange(total_len)
    return torch.from_numpy((i[None, :] <= i[:, None]) | (i[None, :] < prefix_len))


CAUGHT_BY[("attention.online_softmax_attention", "follows_the_device")] = online_state_on_default_device
CAUGHT_BY[("attention.padding_mask", "follows_the_device")] = padding_positions_on_default_device
CAUGHT_BY[("attention.prefix_lm_mask", "follows_the_device")] = prefix_lm_from_numpy
