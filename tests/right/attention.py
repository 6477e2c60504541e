"""Correct attention implementations that must get full marks: einsum, a transformers-style
additive mask with finfo.min, nanoGPT's attention ported to packed parameters, and
torch.nn.functional.multi_head_attention_forward."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def sdpa_einsum(q, k, v, mask=None):
    """Scores and output with einsum; the mask applied with torch.where."""
    scores = torch.einsum("...qd,...kd->...qk", q, k) / math.sqrt(q.shape[-1])
    if mask is not None:
        scores = torch.where(mask, scores, torch.tensor(float("-inf"), dtype=scores.dtype, device=scores.device))
    w = scores.softmax(dim=-1)
    return torch.einsum("...qk,...kv->...qv", w, v), w


def sdpa_additive_finfo_min(q, k, v, mask=None):
    """transformers' eager attention: an additive mask of torch.finfo(dtype).min, not −inf."""
    scores = torch.matmul(q, k.transpose(-1, -2)) * (q.shape[-1] ** -0.5)
    if mask is not None:
        additive = torch.zeros_like(scores).masked_fill(~mask, torch.finfo(scores.dtype).min)
        scores = scores + additive
    w = F.softmax(scores, dim=-1, dtype=torch.float64).to(q.dtype)  # transformers upcasts the softmax
    return torch.matmul(w, v), w


def mha_nanogpt(query, key, value, in_proj_weight, in_proj_bias, out_proj_weight, out_proj_bias, num_heads, mask=None):
    """nanoGPT's CausalSelfAttention.forward with c_attn split into q, k, v and an arbitrary mask."""
    B, T, C = query.size()
    S = key.size(1)
    wq, wk, wv = in_proj_weight.split(C, dim=0)
    bq, bk, bv = in_proj_bias.split(C, dim=0)
    q = F.linear(query, wq, bq).view(B, T, num_heads, C // num_heads).transpose(1, 2)  # (B, nh, T, hs)
    k = F.linear(key, wk, bk).view(B, S, num_heads, C // num_heads).transpose(1, 2)
    v = F.linear(value, wv, bv).view(B, S, num_heads, C // num_heads).transpose(1, 2)
    att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
    if mask is not None:
        m = mask[:, None] if mask.dim() == 3 else mask
        att = att.masked_fill(m == 0, float("-inf"))
    att = F.softmax(att, dim=-1)
    y = att @ v
    y = y.transpose(1, 2).contiguous().view(B, T, C)
    return F.linear(y, out_proj_weight, out_proj_bias)


def mha_functional(query, key, value, in_proj_weight, in_proj_bias, out_proj_weight, out_proj_bias, num_heads, mask=None):
    """torch's own multi_head_attention_forward (sequence first), with the mask's polarity flipped."""
    e = query.shape[-1]
    attn_mask = None
    if mask is not None:
        attn_mask = ~mask if mask.dim() == 2 else (~mask).repeat_interleave(num_heads, dim=0)
    out, _ = F.multi_head_attention_forward(
        query.transpose(0, 1), key.transpose(0, 1), value.transpose(0, 1), e, num_heads,
        in_proj_weight, in_proj_bias, None, None, False, 0.0, out_proj_weight, out_proj_bias,
        training=False, need_weights=False, attn_mask=attn_mask,
    )
    return out.transpose(0, 1)


MUST_PASS = [
    ("attention.scaled_dot_product_attention", sdpa_einsum),
    ("attention.scaled_dot_product_attention", sdpa_additive_finfo_min),
    ("attention.multi_head_attention", mha_nanogpt),
    ("attention.multi_head_attention", mha_functional),
]
