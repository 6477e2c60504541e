"""Hypothesis strategies of the attention exercises: causal mask sizes and the inputs and packed
parameters of multi-head attention (attend_masks, shared with the transformer topic, stays in
grader/strategies.py).
"""

from __future__ import annotations

from typing import Any

import torch
from hypothesis import strategies as st

from grader.properties.stability import int_tensor
from grader.strategies import attend_masks, batch_shapes, dims, float_dtypes, generator, make_tensor, seeds


@st.composite
def causal_mask_sizes(draw: st.DrawFn, *, max_len: int = 8) -> tuple[int, int]:
    """(q_len, k_len) with 1 ≤ q_len ≤ k_len: the queries are the last q_len of k_len positions."""
    k_len = draw(dims(1, max_len))
    return draw(dims(1, k_len)), k_len


def mha_parameters(embed_dim: int, dtype: torch.dtype, seed: int) -> dict[str, torch.Tensor]:
    """Packed nn.MultiheadAttention parameters; weights scaled by 1/√E so that scores are O(1), not saturated."""
    w = embed_dim**-0.5
    return {
        "in_proj_weight": make_tensor((3 * embed_dim, embed_dim), dtype, seed, scale=w),
        "in_proj_bias": make_tensor((3 * embed_dim,), dtype, seed + 1, scale=0.3),
        "out_proj_weight": make_tensor((embed_dim, embed_dim), dtype, seed + 2, scale=w),
        "out_proj_bias": make_tensor((embed_dim,), dtype, seed + 3, scale=0.3),
    }


@st.composite
def mha_inputs(draw: st.DrawFn, *, mask_kind: str | None = None, min_batch: int = 1) -> dict[str, Any]:
    """query (B, Lq, E), key and value (B, Lk, E), packed parameters, num_heads and a mask.

    E = num_heads · head_dim ≤ 8; Lq and Lk are drawn independently (cross-attention).
    ``mask_kind``: "none", "2d" (Lq, Lk) or "3d" (B, Lq, Lk); drawn when None.
    """
    num_heads = draw(st.sampled_from((1, 2, 4)))
    embed_dim = num_heads * draw(dims(1, 8 // num_heads))
    b, lq, lk = draw(dims(min_batch, 3)), draw(dims(1, 5)), draw(dims(1, 5))
    dtype = draw(float_dtypes())
    seed = draw(seeds())
    kind = mask_kind or draw(st.sampled_from(("none", "2d", "3d")))
    mask = None if kind == "none" else attend_masks((lq, lk) if kind == "2d" else (b, lq, lk), seed + 10)
    return {
        "query": make_tensor((b, lq, embed_dim), dtype, seed),
        "key": make_tensor((b, lk, embed_dim), dtype, seed + 1),
        "value": make_tensor((b, lk, embed_dim), dtype, seed + 2),
        **mha_parameters(embed_dim, dtype, seed + 3),
        "num_heads": num_heads,
        "mask": mask,
    }



@st.composite
def large_score_inputs(draw: st.DrawFn) -> dict[str, Any]:
    """q (Lq, d), k (Lk, d), v (Lk, 2) whose scores q·kᵀ/√d have magnitude 1e2–1e4 with O(1)
    differences between keys (k = ±2^e + small integers, q small integers), computed exactly by
    any order of summation (d ∈ {1, 4}: √d is exact); an optional mask keeps key 0 masked and
    key 1 visible in every row."""
    lq, lk, d = draw(dims(1, 3)), draw(dims(2, 4)), draw(st.sampled_from((1, 4)))
    dtype = draw(float_dtypes())
    seed = draw(seeds())
    offset = draw(st.sampled_from((1.0, -1.0))) * 2.0 ** draw(st.sampled_from((7, 10, 13)))
    q = int_tensor((lq, d), dtype, seed, -2, 2)
    k = offset + int_tensor((lk, d), dtype, seed + 1, -3, 3)
    mask = None
    if draw(st.booleans()):
        mask = torch.rand((lq, lk), generator=generator(seed + 3)) < 0.7
        mask[:, 0], mask[:, 1] = False, True
    return {"q": q, "k": k, "v": make_tensor((lk, 2), dtype, seed + 2), "mask": mask}


@st.composite
def very_negative_score_inputs(draw: st.DrawFn) -> dict[str, Any]:
    """Scores of −1e5 or −1e10 at the keys a query may attend to (q positive integers, k = −2^e
    plus small integers) and masked keys with small scores: key 0 is masked and key 1 visible in
    every row. Only −inf keeps the masked keys out."""
    lq, lk, d = draw(dims(1, 3)), draw(dims(2, 4)), draw(st.sampled_from((1, 4)))
    dtype = draw(float_dtypes())
    seed = draw(seeds())
    offset = -(2.0 ** draw(st.sampled_from((17, 34))))
    q = int_tensor((lq, d), dtype, seed, 1, 2)
    k = offset + int_tensor((lk, d), dtype, seed + 1, -3, 3)
    k[0] = int_tensor((d,), dtype, seed + 4, -1, 1)  # a masked key with an ordinary score
    mask = torch.rand((lq, lk), generator=generator(seed + 3)) < 0.5
    mask[:, 0], mask[:, 1] = False, True
    return {"q": q, "k": k, "v": make_tensor((lk, 2), dtype, seed + 2), "mask": mask}


@st.composite
def mha_extreme_inputs(draw: st.DrawFn) -> dict[str, Any]:
    """Multi-head attention inputs with identity projections whose per-head scores are ±1e2–1e4,
    or −1e5/−1e10 at the visible keys next to masked ones (key 0 masked, key 1 visible in every
    row); integer features, so every correct order of summation gives the same scores."""
    num_heads, d = draw(st.sampled_from((1, 2))), draw(st.sampled_from((1, 4)))
    e = num_heads * d
    b, lq, lk = draw(dims(1, 2)), draw(dims(1, 2)), draw(dims(2, 3))
    dtype = draw(float_dtypes())
    seed = draw(seeds())
    offset = draw(st.sampled_from((2.0**7, -(2.0**10), 2.0**13, -(2.0**17), -(2.0**34))))
    key = offset + int_tensor((b, lk, e), dtype, seed + 1, -3, 3)
    key[:, 0] = int_tensor((b, e), dtype, seed + 4, -1, 1)  # masked: an ordinary score
    mask = torch.rand((lq, lk), generator=generator(seed + 3)) < 0.5
    mask[:, 0], mask[:, 1] = False, True
    eye = torch.eye(e, dtype=dtype)
    return {
        "query": int_tensor((b, lq, e), dtype, seed, 1, 2),
        "key": key,
        "value": make_tensor((b, lk, e), dtype, seed + 2),
        "in_proj_weight": torch.cat([eye, eye, eye]),
        "in_proj_bias": torch.zeros(3 * e, dtype=dtype),
        "out_proj_weight": eye.clone(),
        "out_proj_bias": torch.zeros(e, dtype=dtype),
        "num_heads": num_heads,
        "mask": mask,
    }


@st.composite
def online_attention_inputs(draw: st.DrawFn, *, min_lk: int = 1, max_lk: int = 12, mask_kind: str | None = None, mask_kinds: tuple[str, ...] = ("none", "full", "2d", "keys"), dtype: torch.dtype | None = None) -> dict[str, Any]:
    """q (..., Lq, d), k (..., Lk, d), v (..., Lk, dv) with the same batch dims, a block_size that
    usually splits the keys into several blocks (the last one often partial) and a bool mask.

    ``mask_kind``: "none", "full" (..., Lq, Lk), "2d" (Lq, Lk) shared by the batch, or "keys"
    (..., 1, Lk), a key-padding mask broadcast over the queries; drawn from ``mask_kinds`` when None. Every query
    row keeps at least one key (fully masked rows are outside the contract).
    """
    batch = draw(batch_shapes())
    lq, lk, d, dv = draw(dims(1, 6)), draw(dims(min_lk, max_lk)), draw(dims(1, 6)), draw(dims(1, 6))
    dtype = dtype or draw(float_dtypes())
    seed = draw(seeds())
    kind = mask_kind or draw(st.sampled_from(mask_kinds))
    mask_shape = {"full": (*batch, lq, lk), "2d": (lq, lk), "keys": (*batch, 1, lk)}.get(kind)
    return {
        "q": make_tensor((*batch, lq, d), dtype, seed),
        "k": make_tensor((*batch, lk, d), dtype, seed + 1),
        "v": make_tensor((*batch, lk, dv), dtype, seed + 2),
        "mask": None if mask_shape is None else attend_masks(mask_shape, seed + 3),
        "block_size": draw(dims(1, lk + 1)),
    }


@st.composite
def padding_lengths(draw: st.DrawFn, *, max_batch: int = 5, max_len: int = 8) -> tuple[torch.Tensor, int]:
    """(lengths int64 (B,), max_len) with 1 ≤ lengths[b] ≤ max_len."""
    size = draw(dims(1, max_len))
    lengths = draw(st.lists(dims(1, size), min_size=1, max_size=max_batch))
    return torch.tensor(lengths, dtype=torch.int64), size


@st.composite
def prefix_sizes(draw: st.DrawFn, *, max_len: int = 8) -> tuple[int, int]:
    """(prefix_len, total_len) with 0 ≤ prefix_len ≤ total_len and total_len ≥ 1."""
    total = draw(dims(1, max_len))
    return draw(st.integers(0, total)), total
