"""Exercises: attention (q43, q56–q63, q70–q72, q77–q79).

Implement each function below, then run `grade attention` (or `grade q59`).
Convention: boolean masks mean True = may attend (as in F.scaled_dot_product_attention).
"""

from __future__ import annotations

import math  # you will need it

import torch  # you will need it
from torch import Tensor


def scaled_dot_product_attention(q: Tensor, k: Tensor, v: Tensor, mask: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """softmax(q·kᵀ/√d)·v over the key axis (q59, q60).

    q: (..., Lq, d), k: (..., Lk, d), v: (..., Lk, dv); mask: bool, broadcastable to
    (..., Lq, Lk), True = may attend. Returns (output (..., Lq, dv), weights (..., Lq, Lk)).
    Must match torch.nn.functional.scaled_dot_product_attention.
    """
    # TODO(q59): scores, mask, softmax over keys, weighted sum of values.
    raise NotImplementedError("attention.scaled_dot_product_attention")


def causal_mask(q_len: int, k_len: int | None = None) -> Tensor:
    """Bool mask (q_len, k_len), True where key j may be seen by query i (q70, q77).

    The queries are the LAST q_len of k_len positions (bottom-right aligned, as when new
    tokens attend to a KV cache): query i sits at position i + (k_len − q_len) and sees keys
    j ≤ i + (k_len − q_len). k_len defaults to q_len (the square lower-triangular mask).
    Example: causal_mask(2, 4) = [[T, T, T, F], [T, T, T, T]].
    Returns torch.bool, True = may attend (not the float -inf mask of nn.Transformer).
    """
    # TODO(q77): compare key positions with the queries' absolute positions.
    raise NotImplementedError("attention.causal_mask")


def multi_head_attention(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    in_proj_weight: Tensor,
    in_proj_bias: Tensor,
    out_proj_weight: Tensor,
    out_proj_bias: Tensor,
    num_heads: int,
    mask: Tensor | None = None,
) -> Tensor:
    """Multi-head attention with nn.MultiheadAttention(E, num_heads, batch_first=True) semantics (q43, q61–q63, q71).

    query: (B, Lq, E); key, value: (B, Lk, E). in_proj_weight: (3E, E), rows [W_q; W_k; W_v];
    in_proj_bias: (3E,); out_proj_weight: (E, E); out_proj_bias: (E,) — nn.Linear layout, y = x·Wᵀ + b.
    Each head h uses features [h·d, (h+1)·d) of the projections, d = E / num_heads:
        head_h = softmax(q_h·k_hᵀ/√d + masking)·v_h,  output = concat_h(head_h)·W_oᵀ + b_o.
    mask: bool (Lq, Lk) or (B, Lq, Lk), True = may attend (the OPPOSITE of nn.MultiheadAttention's
    attn_mask), the same for every head. Returns (B, Lq, E) in the input's dtype.
    Questions (q62, q63): what do H heads of width E/H give that one head of width E does not?
    Why is the scaling 1/√d with the head width d, not 1/√E?
    """
    # TODO(q61): project, split into heads, attend per head, concatenate, project back.
    raise NotImplementedError("attention.multi_head_attention")


def online_softmax_attention(q: Tensor, k: Tensor, v: Tensor, mask: Tensor | None = None, block_size: int = 64) -> Tensor:
    """The output of scaled_dot_product_attention, computed block by block over the keys (q72).

    q: (..., Lq, d), k: (..., Lk, d), v: (..., Lk, dv); mask: bool, broadcastable to
    (..., Lq, Lk), True = may attend. Returns the output (..., Lq, dv) only (not the weights).
    Visit the keys in blocks of block_size and keep, per query, a running maximum m of the
    scores seen so far, a running sum l of exp(score − m) and a running weighted sum acc of
    exp(score − m)·v (the online softmax of FlashAttention, Dao et al. 2022). For each block
    with scores s = q·k_blockᵀ/√d (masked scores −∞):
        m_new = max(m, max_j s_j),   l = l·exp(m − m_new) + Σ_j exp(s_j − m_new),
        acc = acc·exp(m − m_new) + Σ_j exp(s_j − m_new)·v_j,   m = m_new;
    at the end, output = acc / l. Start from m = −∞, l = 0, acc = 0 (a row whose keys so far
    are all masked has m = −∞: do not compute −∞ − (−∞)).
    Memory is graded: no tensor that an operation allocates (views do not count) may be larger
    than (..., Lq, max(block_size, d, dv)) elements — never build the full (..., Lq, Lk) scores
    (take the mask block by block too: ~mask of the whole mask is a full-size tensor).
    Rows whose keys are all masked are not graded.
    Question (q72): why does attention cost O(L²) memory when done naively, and how does this
    loop make it O(L)?
    """
    # TODO(q72): loop over key blocks, update m, l and acc, divide at the end.
    raise NotImplementedError("attention.online_softmax_attention")


def padding_mask(lengths: Tensor, max_len: int) -> Tensor:
    """Bool key mask (B, max_len) of right-padded sequences, True at the real tokens (q78).

    lengths: int64 (B,), 1 ≤ lengths[b] ≤ max_len. mask[b, j] = j < lengths[b], on lengths' device.
    Example: padding_mask(tensor([2, 3]), 4) = [[T, T, F, F], [T, T, T, F]].
    Broadcast as mask[:, None, None, :] against scores (B, H, Lq, Lk) it keeps every query
    from attending to padding (encoder-only models such as BERT use it alone).
    True = may attend (the opposite of nn.MultiheadAttention's key_padding_mask).
    """
    # TODO(q78): compare key positions with each row's length.
    raise NotImplementedError("attention.padding_mask")


def prefix_lm_mask(prefix_len: int, total_len: int) -> Tensor:
    """Bool mask (total_len, total_len) of a prefix LM (T5, UniLM), True where query i may see key j (q78, q79).

    0 ≤ prefix_len ≤ total_len. Every query sees the whole prefix (j < prefix_len); otherwise
    query i sees keys j ≤ i (causal). prefix_len = 0 gives the causal mask, prefix_len =
    total_len the full (bidirectional) one. On the default device; True = may attend.
    Example: prefix_lm_mask(2, 4) = [[T, T, F, F], [T, T, F, F], [T, T, T, F], [T, T, T, T]].
    """
    # TODO(q79): the causal mask, plus the prefix columns.
    raise NotImplementedError("attention.prefix_lm_mask")
