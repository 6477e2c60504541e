"""Reference solutions: transformer blocks (q64–q69, q72)."""

from __future__ import annotations

import math

import torch
from torch import Tensor


def layer_norm(x: Tensor, weight: Tensor, bias: Tensor, eps: float = 1e-5) -> Tensor:
    """Layer normalization over the last dimension (q65): (x − mean)/sqrt(var + eps)·weight + bias.

    x: (..., D); weight, bias: (D,). Biased variance, eps inside the root; matches F.layer_norm.
    """
    mean = x.mean(dim=-1, keepdim=True)  # (..., 1)
    centered = x - mean
    var = (centered**2).mean(dim=-1, keepdim=True)  # biased: divide by D, not D − 1
    # eps inside the root: a constant row (var = 0) maps to 0·weight + bias instead of 0/0.
    return centered / torch.sqrt(var + eps) * weight + bias


def sinusoidal_position_encoding(num_positions: int, d_model: int) -> Tensor:
    """PE[p, 2i] = sin(p / 10000^(2i/d)), PE[p, 2i+1] = cos(p / 10000^(2i/d)) (q66).

    Returns (num_positions, d_model) in the default float dtype; d_model is even.
    """
    # Built in float64 and rounded once at the end: the angles p·frequency reach num_positions.
    position = torch.arange(num_positions, dtype=torch.float64).unsqueeze(1)  # (P, 1)
    two_i = torch.arange(0, d_model, 2, dtype=torch.float64)  # (d/2,): the even columns 2i
    angle = position / 10000.0 ** (two_i / d_model)  # (P, d/2): one frequency per (sin, cos) pair
    # Stacking on a new last axis and flattening interleaves the columns: sin, cos, sin, cos, ...
    pe = torch.stack((torch.sin(angle), torch.cos(angle)), dim=-1).reshape(num_positions, d_model)  # (P, d)
    return pe.to(torch.get_default_dtype())


def feed_forward(x: Tensor, w1: Tensor, b1: Tensor, w2: Tensor, b2: Tensor) -> Tensor:
    """relu(x·w1ᵀ + b1)·w2ᵀ + b2, weights in nn.Linear layout (q67).

    x: (..., d), w1: (d_ff, d), b1: (d_ff,), w2: (d, d_ff), b2: (d,). Each position on its own.
    """
    hidden = torch.relu(x @ w1.T + b1)  # (..., d_ff)
    return hidden @ w2.T + b2  # (..., d)


def _multi_head_attention(query: Tensor, kv: Tensor, params: dict[str, Tensor], prefix: str, num_heads: int, mask: Tensor | None) -> Tensor:
    """attention.multi_head_attention on the parameters under ``prefix`` (True = may attend).

    The same computation as the attention topic's reference, repeated here so that this
    module stands alone; in your own code, `from attention import multi_head_attention`.
    """
    b, lq, e = query.shape
    d = e // num_heads
    w_q, w_k, w_v = params[f"{prefix}.in_proj_weight"].chunk(3)  # each (E, E), nn.Linear layout
    b_q, b_k, b_v = params[f"{prefix}.in_proj_bias"].chunk(3)

    def heads(x: Tensor, w: Tensor, bias: Tensor) -> Tensor:
        return (x @ w.T + bias).reshape(b, x.shape[1], num_heads, d).transpose(1, 2)  # (B, H, L, d)

    q, k, v = heads(query, w_q, b_q), heads(kv, w_k, b_k), heads(kv, w_v, b_v)
    scores = q @ k.transpose(-2, -1) / math.sqrt(d)  # (B, H, Lq, Lk)
    if mask is not None:
        m = mask.unsqueeze(1) if mask.dim() == 3 else mask  # (B, 1, Lq, Lk): the same for every head
        scores = scores.masked_fill(~m, float("-inf"))
    out = torch.softmax(scores, dim=-1) @ v  # (B, H, Lq, d)
    out = out.transpose(1, 2).reshape(b, lq, e)  # (B, Lq, E): heads concatenated
    return out @ params[f"{prefix}.out_proj.weight"].T + params[f"{prefix}.out_proj.bias"]


def _norm(x: Tensor, params: dict[str, Tensor], name: str) -> Tensor:
    return layer_norm(x, params[f"{name}.weight"], params[f"{name}.bias"])  # eps = 1e-5, as in torch


def _feed_forward(x: Tensor, params: dict[str, Tensor]) -> Tensor:
    return feed_forward(x, params["linear1.weight"], params["linear1.bias"], params["linear2.weight"], params["linear2.bias"])


def _sublayer(x: Tensor, fn, params: dict[str, Tensor], norm: str, norm_first: bool) -> Tensor:
    """One residual sublayer. Post-norm normalizes the sum; pre-norm normalizes only the
    sublayer's input, so the residual path x → output carries x unchanged."""
    if norm_first:
        return x + fn(_norm(x, params, norm))
    return _norm(x + fn(x), params, norm)


def encoder_block(x: Tensor, params: dict[str, Tensor], num_heads: int, norm_first: bool = False, mask: Tensor | None = None) -> Tensor:
    """nn.TransformerEncoderLayer(dropout=0, activation="relu", batch_first=True) semantics (q64, q68).

    x: (B, L, d); params: the layer's state_dict(); mask: bool (L, L) or (B, L, L), True = may attend.
    """
    x = _sublayer(x, lambda h: _multi_head_attention(h, h, params, "self_attn", num_heads, mask), params, "norm1", norm_first)
    return _sublayer(x, lambda h: _feed_forward(h, params), params, "norm2", norm_first)  # (B, L, d)


def decoder_block(x: Tensor, memory: Tensor, params: dict[str, Tensor], num_heads: int, norm_first: bool = False) -> Tensor:
    """nn.TransformerDecoderLayer(dropout=0, batch_first=True) with a causal self-attention mask (q69).

    x: (B, L, d); memory: (B, Lm, d); params: the layer's state_dict(). Returns (B, L, d).
    """
    length = x.shape[1]
    causal = torch.ones(length, length, dtype=torch.bool, device=x.device).tril()  # (L, L): i sees j ≤ i
    x = _sublayer(x, lambda h: _multi_head_attention(h, h, params, "self_attn", num_heads, causal), params, "norm1", norm_first)
    # Cross-attention: queries from the target, keys and values from memory (not normalized
    # here even in pre-norm: the encoder already normalized it), and no mask.
    x = _sublayer(x, lambda h: _multi_head_attention(h, memory, params, "multihead_attn", num_heads, None), params, "norm2", norm_first)
    return _sublayer(x, lambda h: _feed_forward(h, params), params, "norm3", norm_first)  # (B, L, d)
