"""Wrong implementations of the transformer exercises."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from grader.properties import transformer as props
from grader.properties.transformer.decoder_block import _dec_causal_fill_1e4 as dec_causal_fill_1e4
from grader.properties.transformer.decoder_block import _dec_causal_fill_1e9 as dec_causal_fill_1e9
from grader.properties.transformer.decoder_block import _dec_unstable_softmax as dec_unstable_softmax
from grader.properties.transformer.encoder_block import _enc_mask_fill_1e4 as enc_mask_fill_1e4
from grader.properties.transformer.encoder_block import _enc_mask_fill_1e9 as enc_mask_fill_1e9
from grader.properties.transformer.encoder_block import _enc_unstable_softmax as enc_unstable_softmax

# ----------------------------------------------------------------------------- layer_norm


def ln_float32_internally(x, weight, bias, eps=1e-5):
    """Right formula, computed and returned in float32."""
    return F.layer_norm(x.float(), x.shape[-1:], weight.float(), bias.float(), eps)


def ln_annotated_transformer(x, weight, bias, eps=1e-6):
    """The Annotated Transformer's LayerNorm: unbiased std, eps outside the root."""
    mean = x.mean(-1, keepdim=True)
    return weight * (x - mean) / (x.std(-1, keepdim=True) + eps) + bias


def ln_eps_ignored(x, weight, bias, eps=1e-5):
    """Uses the default eps whatever is passed."""
    return F.layer_norm(x, x.shape[-1:], weight, bias, 1e-5)


def ln_statistics_detached(x, weight, bias, eps=1e-5):
    """Right values, but the mean and variance are constants for autograd."""
    mean = x.mean(-1, keepdim=True).detach()
    var = x.var(-1, unbiased=False, keepdim=True).detach()
    return (x - mean) / torch.sqrt(var + eps) * weight + bias


# ----------------------------------------------------------------------------- sinusoidal_position_encoding


def pe_positions_from_one(num_positions, d_model):
    """Counts positions from 1."""
    return props._pe_formula(num_positions + 1, d_model)[1:].float()


# ----------------------------------------------------------------------------- feed_forward


def ff_cumulative(x, w1, b1, w2, b2):
    """Lets each position see the running sum of the previous ones."""
    return torch.relu(x.cumsum(dim=-2) @ w1.T + b1) @ w2.T + b2


def ff_float32_internally(x, w1, b1, w2, b2):
    return torch.relu(x.float() @ w1.float().T + b1.float()) @ w2.float().T + b2.float()


def ff_hidden_detached(x, w1, b1, w2, b2):
    """Right values, but no gradient reaches x, w1 or b1."""
    return torch.relu(x @ w1.T + b1).detach() @ w2.T + b2


# ----------------------------------------------------------------------------- encoder_block


def enc_always_causal(x, params, num_heads, norm_first=False, mask=None):
    """Applies a causal mask even when no mask is given."""
    causal = torch.ones(x.shape[1], x.shape[1], dtype=torch.bool).tril()
    return props.encoder_formula(x, params, num_heads, norm_first, causal if mask is None else mask & causal)


def enc_ignores_mask(x, params, num_heads, norm_first=False, mask=None):
    return props.encoder_formula(x, params, num_heads, norm_first, None)


def enc_float32_internally(x, params, num_heads, norm_first=False, mask=None):
    return props.encoder_formula(x.float(), {k: v.float() for k, v in params.items()}, num_heads, norm_first, mask)


def enc_gelu(x, params, num_heads, norm_first=False, mask=None):
    """GELU in the feed-forward sublayer."""

    def ff(t):
        return F.gelu(t @ params["linear1.weight"].T + params["linear1.bias"]) @ params["linear2.weight"].T + params["linear2.bias"]

    h = props._residual(x, lambda t: props._attend(t, t, params, "self_attn", num_heads, mask), params, "norm1", norm_first)
    return props._residual(h, ff, params, "norm2", norm_first)


def enc_residual_detached(x, params, num_heads, norm_first=False, mask=None):
    """Right values, but the first residual connection carries x.detach(): gradients reach x only through attention."""

    def sa(t):
        return props._attend(t, t, params, "self_attn", num_heads, mask)

    h = x.detach() + sa(props._ln(x, params, "norm1")) if norm_first else props._ln(x.detach() + sa(x), params, "norm1")
    return props._residual(h, lambda t: props._ffn(t, params), params, "norm2", norm_first)


# ----------------------------------------------------------------------------- decoder_block


def dec_causal_cross_attention(x, memory, params, num_heads, norm_first=False):
    """Applies the target's causal (top-left) mask to the cross-attention as well."""
    length, mem_len = x.shape[1], memory.shape[1]
    causal = torch.ones(length, length, dtype=torch.bool).tril()
    cross = torch.ones(length, mem_len, dtype=torch.bool).tril()
    h = props._residual(x, lambda t: props._attend(t, t, params, "self_attn", num_heads, causal), params, "norm1", norm_first)
    h = props._residual(h, lambda t: props._attend(t, memory, params, "multihead_attn", num_heads, cross), params, "norm2", norm_first)
    return props._residual(h, lambda t: props._ffn(t, params), params, "norm3", norm_first)


def dec_float32_internally(x, memory, params, num_heads, norm_first=False):
    return props.decoder_formula(x.float(), memory.float(), {k: v.float() for k, v in params.items()}, num_heads, norm_first)


def dec_memory_detached(x, memory, params, num_heads, norm_first=False):
    """Right values, but no gradient reaches memory."""
    return props.decoder_formula(x, memory.detach(), params, num_heads, norm_first)


L = "transformer.layer_norm"
P = "transformer.sinusoidal_position_encoding"
FF = "transformer.feed_forward"
E = "transformer.encoder_block"
D = "transformer.decoder_block"
CAUGHT_BY = {
    (L, "known_answer"): props._ln_unbiased_variance,
    (L, "shift_and_scale_invariant"): props._ln_eps_outside_sqrt,
    (L, "dtype_contract"): ln_float32_internally,
    (L, "matches_torch_layer_norm"): ln_annotated_transformer,
    (L, "matches_reference"): ln_eps_ignored,
    (L, "gradients_match"): ln_statistics_detached,
    (P, "known_answer"): props._pe_exponent_per_column,
    (P, "pairs_on_unit_circle"): props._pe_sin_cos_swapped,
    (P, "shift_is_rotation"): props._pe_concatenated_halves,
    (P, "default_dtype"): props._pe_float64,
    (P, "matches_reference"): pe_positions_from_one,
    (FF, "known_answer"): props._ff_relu_before_bias,
    (FF, "acts_per_position"): ff_cumulative,
    (FF, "dtype_contract"): ff_float32_internally,
    (FF, "matches_reference"): props._ff_relu_on_output,
    (FF, "gradients_match"): ff_hidden_detached,
    (E, "zero_sublayers_leave_residual"): props._enc_norm_placement_swapped,
    (E, "permutation_equivariant"): enc_always_causal,
    (E, "mask_blocks_attention"): enc_ignores_mask,
    (E, "dtype_contract"): enc_float32_internally,
    (E, "matches_torch_layer"): props._enc_norm1_twice,
    (E, "matches_reference"): enc_gelu,
    (E, "gradients_match"): enc_residual_detached,
    (D, "ignores_future_tokens"): props._dec_no_causal_mask,
    (D, "memory_permutation_invariant"): dec_causal_cross_attention,
    (D, "zero_sublayers_leave_residual"): props._dec_norm_placement_swapped,
    (D, "dtype_contract"): dec_float32_internally,
    (D, "matches_torch_layer"): props._dec_memory_normalized,
    (D, "matches_reference"): props._dec_mask_hides_diagonal,
    (D, "gradients_match"): dec_memory_detached,
}


# ----------------------------------------------------------------------------- numerical stability


CAUGHT_BY |= {
    (E, "stable_for_extreme_scores"): enc_unstable_softmax,
    (D, "stable_for_extreme_scores"): dec_causal_fill_1e9,
}
STABILITY_WRONG = [
    (E, "stable_for_extreme_scores", enc_unstable_softmax),
    (E, "stable_for_extreme_scores", enc_mask_fill_1e9),
    (E, "stable_for_extreme_scores", enc_mask_fill_1e4),
    (D, "stable_for_extreme_scores", dec_unstable_softmax),
    (D, "stable_for_extreme_scores", dec_causal_fill_1e9),
    (D, "stable_for_extreme_scores", dec_causal_fill_1e4),
]


# ==================================================================================================
# Device contracts (issue 17, item 2): wrong only on a GPU. Each runs right on the CPU; the
# follows_the_device property (grader/properties/device.py) catches it on a simulated CUDA device.
# DEVICE_VARIANTS lists further variants it must catch (tests/test_device_check.py).
# ==================================================================================================
from grader.reference import load_reference as _load_reference  # noqa: E402
from tests.harness import SOLUTIONS as _SOLUTIONS  # noqa: E402

_dref = _load_reference(_SOLUTIONS, "transformer")


def layer_norm_eps_as_vector(x, weight, bias, eps=1e-5):
    """eps as torch.tensor([eps]): a CPU vector added to the variance."""
    mean = x.mean(dim=-1, keepdim=True)
    var = (x - mean).square().mean(dim=-1, keepdim=True)
    return (x - mean) / (var + torch.tensor([eps], dtype=x.dtype)).sqrt() * weight + bias


def position_encoding_from_numpy(num_positions, d_model):
    """Built in numpy and converted with torch.from_numpy: always on the CPU."""
    pe = _dref.sinusoidal_position_encoding(num_positions, d_model)
    return torch.from_numpy(pe.numpy().copy())


def ffn_relu_against_default_device_zeros(x, w1, b1, w2, b2):
    """ReLU as torch.maximum(h, torch.zeros(width)) on the default device."""
    h = x @ w1.T + b1
    return torch.maximum(h, torch.zeros(h.shape[-1], dtype=h.dtype)) @ w2.T + b2


def encoder_mask_on_default_device(x, params, num_heads, norm_first=False, mask=None):
    """mask=None replaced by an all-True mask on the default device."""
    if mask is None:
        mask = torch.ones(x.shape[1], x.shape[1], dtype=torch.bool)
    return _dref.encoder_block(x, params, num_heads, norm_first, mask)


def decoder_causal_mask_on_default_device(x, memory, params, num_heads, norm_first=False):
    """The causal mask as torch.ones(L, L, dtype=torch.bool).tril() without device=."""
    causal = torch.ones(x.shape[1], x.shape[1], dtype=torch.bool).tril()
    x = _dref._sublayer(x, lambda h: _dref._multi_head_attention(h, h, params, "self_attn", num_heads, causal), params, "norm1", norm_first)
    x = _dref._sublayer(x, lambda h: _dref._multi_head_attention(h, memory, params, "multihead_attn", num_heads, None), params, "norm2", norm_first)
    return _dref._sublayer(x, lambda h: _dref._feed_forward(h, params), params, "norm3", norm_first)


CAUGHT_BY[("transformer.layer_norm", "follows_the_device")] = layer_norm_eps_as_vector
CAUGHT_BY[("transformer.sinusoidal_position_encoding", "follows_the_device")] = position_encoding_from_numpy
CAUGHT_BY[("transformer.feed_forward", "follows_the_device")] = ffn_relu_against_default_device_zeros
CAUGHT_BY[("transformer.encoder_block", "follows_the_device")] = encoder_mask_on_default_device
CAUGHT_BY[("transformer.decoder_block", "follows_the_device")] = decoder_causal_mask_on_default_device
DEVICE_VARIANTS = []
