"""Reference solutions: attention (q43, q56–q63, q70–q72, q77–q79)."""

from __future__ import annotations

import math

import torch
from torch import Tensor


def scaled_dot_product_attention(q: Tensor, k: Tensor, v: Tensor, mask: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """softmax(q·kᵀ/√d)·v over the key axis (q59, q60).

    q: (..., Lq, d), k: (..., Lk, d), v: (..., Lk, dv); mask: bool, True = may attend.
    Returns (output (..., Lq, dv), weights (..., Lq, Lk)).
    """
    d = q.shape[-1]
    scores = q @ k.transpose(-2, -1) / math.sqrt(d)  # (..., Lq, Lk)
    if mask is not None:
        # -inf, not a large negative number: masked keys get exactly zero weight.
        scores = scores.masked_fill(~mask, float("-inf"))
    weights = torch.softmax(scores, dim=-1)  # normalise over keys: each query's row sums to 1
    return weights @ v, weights  # (..., Lq, dv), (..., Lq, Lk)


def causal_mask(q_len: int, k_len: int | None = None) -> Tensor:
    """Bool mask (q_len, k_len), True where key j may be seen by query i (q70, q77).

    The queries are the last q_len of k_len positions (bottom-right aligned, a KV cache):
    query i sits at position i + (k_len − q_len). k_len defaults to q_len.
    """
    k_len = q_len if k_len is None else k_len
    query_pos = torch.arange(k_len - q_len, k_len).unsqueeze(1)  # (q_len, 1): absolute positions of the queries
    key_pos = torch.arange(k_len).unsqueeze(0)  # (1, k_len)
    return key_pos <= query_pos  # (q_len, k_len); broadcasting compares every pair


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

    query: (B, Lq, E); key, value: (B, Lk, E); packed parameters in nn.Linear layout
    (in_proj_weight rows [W_q; W_k; W_v]); mask: bool (Lq, Lk) or (B, Lq, Lk), True = may attend.
    Returns (B, Lq, E).
    """
    b, lq, e = query.shape
    lk = key.shape[1]
    d = e // num_heads  # the head width: scores are scaled by 1/√d inside the attention
    w_q, w_k, w_v = in_proj_weight.chunk(3)  # each (E, E)
    b_q, b_k, b_v = in_proj_bias.chunk(3)  # each (E,)

    def split_heads(x: Tensor, w: Tensor, bias: Tensor, length: int) -> Tensor:
        # Project, then give each head its own contiguous block of d features. The transpose
        # moves heads next to batch; reshaping straight to (B, H, L, d) would mix positions.
        return (x @ w.T + bias).reshape(b, length, num_heads, d).transpose(1, 2)  # (B, H, L, d)

    q, k, v = split_heads(query, w_q, b_q, lq), split_heads(key, w_k, b_k, lk), split_heads(value, w_v, b_v, lk)
    if mask is not None and mask.dim() == 3:
        mask = mask.unsqueeze(1)  # (B, 1, Lq, Lk): the same mask for every head; a 2-D mask broadcasts as is
    heads, _ = scaled_dot_product_attention(q, k, v, mask)  # (B, H, Lq, d)
    concat = heads.transpose(1, 2).reshape(b, lq, e)  # (B, Lq, E): head h in features [h·d, (h+1)·d)
    return concat @ out_proj_weight.T + out_proj_bias  # (B, Lq, E)


def online_softmax_attention(q: Tensor, k: Tensor, v: Tensor, mask: Tensor | None = None, block_size: int = 64) -> Tensor:
    """The output of scaled_dot_product_attention, computed block by block over the keys (q72).

    q: (..., Lq, d), k: (..., Lk, d), v: (..., Lk, dv); mask: bool, broadcastable to
    (..., Lq, Lk), True = may attend. Returns the output (..., Lq, dv) only. Online softmax
    (FlashAttention, Dao et al. 2022): running maximum m, running sum l, running weighted sum acc;
    no allocated tensor larger than (..., Lq, max(block_size, d, dv)) elements.
    """
    scale = 1.0 / math.sqrt(q.shape[-1])
    m = torch.full((*q.shape[:-1], 1), float("-inf"), dtype=q.dtype, device=q.device)  # (..., Lq, 1): no score seen yet
    l = torch.zeros_like(m)  # noqa: E741 - the paper's name for the running sum
    acc = torch.zeros((*q.shape[:-1], v.shape[-1]), dtype=q.dtype, device=q.device)  # (..., Lq, dv)
    for start in range(0, k.shape[-2], block_size):
        stop = start + block_size
        s = q @ k[..., start:stop, :].transpose(-2, -1) * scale  # (..., Lq, b): only this block's scores
        if mask is not None:
            block_mask = mask if mask.shape[-1] == 1 else mask[..., start:stop]  # a view; a key axis of 1 broadcasts
            s = s.masked_fill(~block_mask, float("-inf"))
        # The maximum only shifts the exponent (it cancels in acc / l), so it carries no gradient.
        m_new = torch.maximum(m, s.detach().amax(dim=-1, keepdim=True))
        # A row that has seen only masked keys keeps m = -inf; shifting by 0 there avoids -inf - (-inf) = NaN.
        shift = m_new.masked_fill(m_new == float("-inf"), 0.0)
        rescale = torch.exp(m - shift)  # what was summed under the old maximum, moved to the new one (0 at the start)
        p = torch.exp(s - shift)  # (..., Lq, b)
        l = l * rescale + p.sum(dim=-1, keepdim=True)  # noqa: E741
        acc = acc * rescale + p @ v[..., start:stop, :]
        m = m_new
    return acc / l  # (..., Lq, dv)


def padding_mask(lengths: Tensor, max_len: int) -> Tensor:
    """Bool key mask (B, max_len), True at the real tokens j < lengths[b] (right padding) (q78)."""
    positions = torch.arange(max_len, device=lengths.device)  # (max_len,), on the lengths' device
    return positions.unsqueeze(0) < lengths.unsqueeze(1)  # (B, max_len)


def prefix_lm_mask(prefix_len: int, total_len: int) -> Tensor:
    """Bool mask (total_len, total_len), True where query i may see key j: j < prefix_len or j ≤ i (q78, q79)."""
    query = torch.arange(total_len).unsqueeze(1)  # (L, 1)
    key = torch.arange(total_len).unsqueeze(0)  # (1, L)
    return (key <= query) | (key < prefix_len)  # causal, plus the prefix columns every query sees
