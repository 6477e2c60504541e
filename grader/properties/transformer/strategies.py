"""Hypothesis strategies of the transformer exercises."""

from __future__ import annotations

from typing import Any

import torch
from hypothesis import strategies as st

from grader.strategies import attend_masks, batch_shapes

# The exercise modules read every strategy as ``gs.name``, the shared ones too: the properties'
# source stays as it was, and Hypothesis derives a derandomized test's seed from that source.
from grader.strategies import dims as dims
from grader.strategies import float_dtypes as float_dtypes
from grader.strategies import generator as generator
from grader.strategies import make_tensor as make_tensor
from grader.strategies import seeds as seeds


@st.composite
def layer_norm_inputs(draw: st.DrawFn, *, min_width: int = 1) -> dict[str, Any]:
    """x (..., D) whose rows have spreads from ~3e-4 to ~10 (variances far below and above eps),
    row means of the order of the spread, weight and bias (D,) and eps; min_width ≤ D ≤ 8."""
    batch = draw(batch_shapes())
    d = draw(dims(min_width, 8))
    dtype = draw(float_dtypes())
    seed = draw(seeds())
    eps = draw(st.sampled_from((1e-5, 1e-3)))
    spread = 10.0 ** make_tensor((*batch, 1), torch.float64, seed + 1, low=-3.5, high=1.0)  # per row
    offset = make_tensor((*batch, 1), torch.float64, seed + 2)
    x = (make_tensor((*batch, d), torch.float64, seed) + offset) * spread  # built in float64, then cast once
    return {
        "x": x.to(dtype),
        "weight": (1.0 + make_tensor((d,), torch.float64, seed + 3, scale=0.5)).to(dtype),
        "bias": make_tensor((d,), dtype, seed + 4, scale=0.5),
        "eps": eps,
    }


@st.composite
def position_encoding_sizes(draw: st.DrawFn, *, max_positions: int = 32, max_half_width: int = 8) -> tuple[int, int]:
    """(num_positions, d_model) with d_model even."""
    return draw(dims(1, max_positions)), 2 * draw(dims(1, max_half_width))


@st.composite
def feed_forward_inputs(draw: st.DrawFn) -> dict[str, Any]:
    """x (B, L, d) and nn.Linear-layout weights w1 (d_ff, d), b1 (d_ff,), w2 (d, d_ff), b2 (d,)."""
    b, length, d, d_ff = draw(dims(1, 3)), draw(dims(1, 5)), draw(dims(1, 8)), draw(dims(1, 8))
    dtype = draw(float_dtypes())
    seed = draw(seeds())
    return {
        "x": make_tensor((b, length, d), dtype, seed),
        "w1": make_tensor((d_ff, d), dtype, seed + 1, scale=d**-0.5),
        "b1": make_tensor((d_ff,), dtype, seed + 2, scale=0.5),
        "w2": make_tensor((d, d_ff), dtype, seed + 3, scale=d_ff**-0.5),
        "b2": make_tensor((d,), dtype, seed + 4, scale=0.5),
    }


def transformer_block_params(d_model: int, d_ff: int, dtype: torch.dtype, seed: int, *, decoder: bool = False) -> dict[str, torch.Tensor]:
    """Parameters under the state_dict() names of nn.TransformerEncoderLayer (or DecoderLayer), as a fixtures.StateDict."""
    shapes: dict[str, tuple[int, ...]] = {}
    for attn in ("self_attn", "multihead_attn") if decoder else ("self_attn",):
        shapes |= {f"{attn}.in_proj_weight": (3 * d_model, d_model), f"{attn}.in_proj_bias": (3 * d_model,), f"{attn}.out_proj.weight": (d_model, d_model), f"{attn}.out_proj.bias": (d_model,)}
    shapes |= {"linear1.weight": (d_ff, d_model), "linear1.bias": (d_ff,), "linear2.weight": (d_model, d_ff), "linear2.bias": (d_model,)}
    for i in range(1, 4 if decoder else 3):
        shapes |= {f"norm{i}.weight": (d_model,), f"norm{i}.bias": (d_model,)}
    from grader.fixtures import StateDict  # here, not at the top: this section is appended to a shared file

    params = StateDict()  # a dict with a short repr, so that failure records stay small
    for offset, (name, shape) in enumerate(shapes.items()):
        if name.endswith("bias"):
            t = make_tensor(shape, torch.float64, seed + offset, scale=0.3)
        elif name.startswith("norm"):
            t = 1.0 + make_tensor(shape, torch.float64, seed + offset, scale=0.3)
        else:  # weights in nn.Linear layout (out, in): scaled by 1/√fan_in so activations stay O(1)
            t = make_tensor(shape, torch.float64, seed + offset, scale=shape[1] ** -0.5)
        params[name] = t.to(dtype)
    return params


@st.composite
def block_inputs(draw: st.DrawFn, *, decoder: bool = False, mask_kind: str | None = None, min_len: int = 1) -> dict[str, Any]:
    """x (B, L, d), [memory (B, Lm, d)], params (a state_dict), num_heads, norm_first, [mask].

    d ∈ {4, 6, 8} (at least 4 features keep the layer norms well conditioned in float32),
    num_heads divides d, min_len ≤ L ≤ 5 and Lm ≤ 5 drawn independently. Encoder masks: ``mask_kind``
    "none", "2d" (L, L) or "3d" (B, L, L), drawn when None.
    """
    d = draw(st.sampled_from((4, 6, 8)))
    num_heads = draw(st.sampled_from([h for h in (1, 2, 3, 4) if d % h == 0]))
    b, length, d_ff = draw(dims(1, 3)), draw(dims(min_len, 5)), draw(dims(2, 8))
    dtype = draw(float_dtypes())
    seed = draw(seeds())
    inputs: dict[str, Any] = {
        "x": make_tensor((b, length, d), dtype, seed),
        "params": transformer_block_params(d, d_ff, dtype, seed + 1, decoder=decoder),
        "num_heads": num_heads,
        "norm_first": draw(st.booleans()),
    }
    if decoder:
        inputs["memory"] = make_tensor((b, draw(dims(1, 5)), d), dtype, seed + 100)
    else:
        kind = mask_kind or draw(st.sampled_from(("none", "2d", "3d")))
        inputs["mask"] = None if kind == "none" else attend_masks((length, length) if kind == "2d" else (b, length, length), seed + 101)
    return inputs


EXTREME_OFFSETS = (2.0**7, -(2.0**10), 2.0**13, -(2.0**17), -(2.0**34))


def extreme_block(*, b: int, length: int, d_ff: int, heads: tuple[int, int], dtype: torch.dtype, seed: int, c: float, mask_dims: int = 2, memory_len: int | None = None) -> dict[str, Any]:
    """Post-norm block inputs (as ``block_inputs``) whose attention scores are ±1e2–1e4, or
    −1e5/−1e10 at the visible keys next to masked ones, computed exactly in any order.

    x holds integers 1..2; the self-attention projects q = x and k = x + c (identity weights, key
    bias c; k = c alone for c = −2^34, where x + c would round in float32), so a score is
    c·Σq/√d plus a small integer (head width d ∈ {1, 4}). With ``memory_len`` (a decoder) the
    cross-attention projects q = 1 and k = memory + c (memory: integers −3..3; k = c for −2^34).
    Value, output and feed-forward parameters stay random. "offset" holds c. Encoder masks,
    (L, L) or (B, L, L) by ``mask_dims``, mask key 0 and show key 1 in every row.
    """
    from grader.fixtures import StateDict
    from grader.properties.stability import int_tensor

    num_heads, d = heads
    e = num_heads * d
    params = StateDict(transformer_block_params(e, d_ff, dtype, seed + 1, decoder=memory_len is not None))
    eye, zeros = torch.eye(e, dtype=dtype), torch.zeros(e, dtype=dtype)
    w_k = eye if abs(c) <= 2.0**17 else 0 * eye

    def project(prefix: str, w_q: torch.Tensor, b_q: torch.Tensor) -> None:
        w_v, b_v = params[f"{prefix}.in_proj_weight"][2 * e :], params[f"{prefix}.in_proj_bias"][2 * e :]
        params[f"{prefix}.in_proj_weight"] = torch.cat([w_q, w_k, w_v])
        params[f"{prefix}.in_proj_bias"] = torch.cat([b_q, zeros + c, b_v])

    project("self_attn", eye, zeros)
    inputs: dict[str, Any] = {"x": int_tensor((b, length, e), dtype, seed, 1, 2), "params": params, "num_heads": num_heads, "norm_first": False, "offset": c}
    if memory_len is not None:
        project("multihead_attn", 0 * eye, zeros + 1)
        inputs["memory"] = int_tensor((b, memory_len, e), dtype, seed + 100, -3, 3)
    else:
        mask = torch.rand((length, length) if mask_dims == 2 else (b, length, length), generator=generator(seed + 101)) < 0.5
        mask[..., 0], mask[..., 1] = False, True
        inputs["mask"] = mask
    return inputs


@st.composite
def block_extreme_inputs(draw: st.DrawFn, *, decoder: bool = False) -> dict[str, Any]:
    """``extreme_block`` inputs: B ≤ 2, 2 ≤ L ≤ 3, (heads, head width) ∈ {(2, 1), (1, 4), (2, 4)}."""
    return extreme_block(
        b=draw(dims(1, 2)), length=draw(dims(2, 3)), d_ff=draw(dims(2, 4)), heads=draw(st.sampled_from(((2, 1), (1, 4), (2, 4)))),
        dtype=draw(float_dtypes()), seed=draw(seeds()), c=draw(st.sampled_from(EXTREME_OFFSETS)),
        mask_dims=draw(st.sampled_from((2, 3))), memory_len=draw(dims(1, 3)) if decoder else None,
    )  # fmt: skip
