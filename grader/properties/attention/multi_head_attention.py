"""attention.multi_head_attention: nn.MultiheadAttention's computation from its packed
parameters; its properties and known mistakes. mha_formula and torch_attn_mask serve the
transformer topic too.
"""

from __future__ import annotations

import math

import torch
from hypothesis import example, given
from hypothesis import strategies as st
from torch import nn

from grader import strategies as gs
from grader.properties.api import Context, Exercise, Mistake
from grader.properties.attention.strategies import mha_extreme_inputs, mha_inputs, mha_parameters
from grader.properties.common import unless_right
from grader.properties.judge_only import judge_only
from grader.properties.stability import FINITE_MASK_FILL, UNSTABLE_SOFTMAX, assert_stable

MHA_ARGS = ("query", "key", "value", "in_proj_weight", "in_proj_bias", "out_proj_weight", "out_proj_bias", "num_heads", "mask")


def _mha_args(a: dict, **changes) -> tuple:
    """The positional arguments of multi_head_attention, from a dict of mha_inputs()."""
    return tuple(changes.get(name, a[name]) for name in MHA_ARGS)


def _mha_shown(a: dict) -> dict:
    return {name: a[name] for name in MHA_ARGS}


@judge_only
def mha_formula(query, key, value, in_proj_weight, in_proj_bias, out_proj_weight, out_proj_bias, num_heads, mask=None, *, head_scaling=True, split_heads=True, linear_layout=True, invert_mask=False, fill=float("-inf"), naive_softmax=False):
    """Multi-head attention from its formula; the keyword switches produce the known mistakes."""
    b, lq, e = query.shape
    lk = key.shape[1]
    d = e // num_heads
    ws = in_proj_weight.chunk(3) if linear_layout else in_proj_weight.T.chunk(3, dim=1)
    w_out = out_proj_weight.T if linear_layout else out_proj_weight
    projected = [x @ (w.T if linear_layout else w) + bias for x, w, bias in zip((query, key, value), ws, in_proj_bias.chunk(3))]
    if split_heads:
        q, k, v = (p.reshape(b, n, num_heads, d).transpose(1, 2) for p, n in zip(projected, (lq, lk, lk)))
    else:  # the reshape without the transpose: each "head" holds a mix of positions
        q, k, v = (p.reshape(b, num_heads, n, d) for p, n in zip(projected, (lq, lk, lk)))
    scores = q @ k.transpose(-2, -1) / math.sqrt(d if head_scaling else e)  # (B, H, Lq, Lk)
    if mask is not None:
        m = (mask.unsqueeze(1) if mask.dim() == 3 else mask).to(scores.device)
        scores = scores.masked_fill(m if invert_mask else ~m, fill)
    weights = scores.exp() / scores.exp().sum(-1, keepdim=True) if naive_softmax else torch.softmax(scores, dim=-1)
    out = weights @ v  # (B, H, Lq, d)
    return out.transpose(1, 2).reshape(b, lq, e) @ w_out + out_proj_bias


def _mha_scaled_by_model_dim(*args):
    return mha_formula(*args, head_scaling=False)


def _mha_heads_without_transpose(*args):
    return mha_formula(*args, split_heads=False)


def _mha_weights_not_transposed(*args):
    return mha_formula(*args, linear_layout=False)


def _mha_mask_inverted(*args):
    return mha_formula(*args, invert_mask=True)


def _mha_unstable_softmax(*args):
    return mha_formula(*args, naive_softmax=True)


def _mha_fill_1e9(*args):
    return mha_formula(*args, fill=-1e9)


def _mha_fill_1e4(*args):
    return mha_formula(*args, fill=-1e4)


def _mha_mask_tiled_across_batch(query, key, value, in_proj_weight, in_proj_bias, out_proj_weight, out_proj_bias, num_heads, mask=None):
    """Heads folded into the batch (index b·H + h), but a 3-D mask tiled with repeat (index h·B + b)."""
    b, lq, e = query.shape
    lk = key.shape[1]
    d = e // num_heads
    q, k, v = (
        (x @ w.T + bias).reshape(b, n, num_heads, d).transpose(1, 2).reshape(b * num_heads, n, d)
        for x, w, bias, n in zip((query, key, value), in_proj_weight.chunk(3), in_proj_bias.chunk(3), (lq, lk, lk))
    )
    scores = q @ k.transpose(-2, -1) / math.sqrt(d)  # (B·H, Lq, Lk)
    if mask is not None:
        m = mask.repeat(num_heads, 1, 1) if mask.dim() == 3 else mask
        scores = scores.masked_fill(~m, float("-inf"))
    out = (torch.softmax(scores, dim=-1) @ v).reshape(b, num_heads, lq, d).transpose(1, 2).reshape(b, lq, e)
    return out @ out_proj_weight.T + out_proj_bias


mha = Exercise(
    "attention.multi_head_attention",
    mistakes=[
        # First: right on ordinary inputs (unless_right), they name themselves only on extreme ones.
        Mistake("unstable_softmax", f"your output equals the softmax computed as {UNSTABLE_SOFTMAX}", unless_right(_mha_unstable_softmax, mha_formula)),
        Mistake("mask_fill_1e9", f"your output equals masking with a large finite number: {FINITE_MASK_FILL}", unless_right(_mha_fill_1e9, mha_formula)),
        Mistake("mask_fill_1e4", f"your output equals masking with a large finite number: {FINITE_MASK_FILL}", unless_right(_mha_fill_1e4, mha_formula)),
        Mistake("scaled_by_model_dim", "your output equals scores scaled by 1/√E (the model width); each head scales by 1/√d with its own width d = E / num_heads", _mha_scaled_by_model_dim),
        Mistake("heads_without_transpose", "your output equals splitting heads with a reshape to (B, H, L, d) without the transpose: heads then mix positions; reshape to (B, L, H, d) and transpose(1, 2)", _mha_heads_without_transpose),
        Mistake("weights_not_transposed", "your output equals x @ W instead of x @ W.T: the packed weights are in nn.Linear layout (out_features, in_features)", _mha_weights_not_transposed),
        Mistake("mask_inverted", "your output uses nn.MultiheadAttention's mask polarity (True = blocked); here True means 'may attend'", _mha_mask_inverted),
        Mistake("mask_tiled_across_batch", "your output equals a (B, Lq, Lk) mask tiled with repeat(H, 1, 1) over heads folded into the batch as b·H + h: the mask of one sample lands on another's heads; repeat_interleave, or broadcast over a head axis", _mha_mask_tiled_across_batch),
    ],
)


def _identity_projections(a: dict) -> dict:
    """The inputs with identity in/out projections and zero biases: attention on raw features."""
    e = a["query"].shape[-1]
    dtype = a["query"].dtype
    eye = torch.eye(e, dtype=dtype)
    return {**a, "in_proj_weight": torch.cat([eye, eye, eye]), "in_proj_bias": torch.zeros(3 * e, dtype=dtype), "out_proj_weight": eye.clone(), "out_proj_bias": torch.zeros(e, dtype=dtype)}


def _heads_by_loop(query, key, value, num_heads, mask):
    """Each head on its own feature block, one (sample, head) at a time: the definition, written naively."""
    b, e = query.shape[0], query.shape[-1]
    d = e // num_heads
    out = torch.zeros_like(query)
    for i in range(b):
        m = None if mask is None else (mask[i] if mask.dim() == 3 else mask)
        for h in range(num_heads):
            cols = slice(h * d, (h + 1) * d)
            scores = query[i, :, cols] @ key[i, :, cols].T / math.sqrt(d)  # (Lq, Lk)
            if m is not None:
                scores = scores.masked_fill(~m, float("-inf"))
            out[i, :, cols] = torch.softmax(scores, dim=-1) @ value[i, :, cols]
    return out


@mha.property("identity_projections_split_heads", "with identity projections and zero biases, head h attends with features [h·d, (h+1)·d) only, scaled by 1/√d, and the heads are concatenated", tier="public")
@given(a=mha_inputs())
def _identity_projections_split_heads(ctx: Context, a: dict) -> None:
    a = _identity_projections(a)
    got = ctx.call(*_mha_args(a))
    expected = _heads_by_loop(a["query"], a["key"], a["value"], a["num_heads"], a["mask"])
    ctx.assert_close(got, expected, inputs=_mha_shown(a))


@mha.property("permutation_equivariant", "permuting keys and values (and the mask's columns) changes nothing; permuting queries (and the mask's rows) permutes the outputs", tier="public")
@given(a=mha_inputs(), seed=gs.seeds())
def _mha_permutations(ctx: Context, a: dict, seed: int) -> None:
    out = ctx.call(*_mha_args(a))
    pk = torch.randperm(a["key"].shape[1], generator=gs.generator(seed))
    pq = torch.randperm(a["query"].shape[1], generator=gs.generator(seed + 1))
    mask = a["mask"]
    mask_k = None if mask is None else mask[..., pk]
    out_k = ctx.call(*_mha_args(a, key=a["key"][:, pk], value=a["value"][:, pk], mask=mask_k))
    ctx.assert_close(out_k, out, inputs=_mha_shown(a), what="the output after permuting keys and values together")
    mask_q = None if mask is None else mask[..., pq, :]
    out_q = ctx.call(*_mha_args(a, query=a["query"][:, pq], mask=mask_q))
    ctx.assert_close(out_q, out[:, pq], inputs=_mha_shown(a), what="the output for permuted queries")


@mha.property("batch_elements_independent", "each sample's output depends only on its own inputs and its own (B, Lq, Lk) mask", tier="public")
@given(a=mha_inputs(mask_kind="3d", min_batch=2))
def _batch_elements_independent(ctx: Context, a: dict) -> None:
    out = ctx.call(*_mha_args(a))
    for i in range(a["query"].shape[0]):
        one = {name: a[name][i : i + 1] for name in ("query", "key", "value", "mask")}
        got = ctx.call(*_mha_args(a, **one))
        ctx.assert_close(got, out[i : i + 1], inputs=_mha_shown(a), what=f"the output of sample {i} computed alone")


def _hide_keys(mask: torch.Tensor, seed: int) -> torch.Tensor:
    """The mask with about half of the keys hidden from every query (per sample for a 3-D mask);
    one key stays visible, and a query row left with nothing attends to it."""
    lk = mask.shape[-1]
    hide = torch.rand((*mask.shape[:-2], 1, lk), generator=gs.generator(seed)) < 0.5
    keep = int(torch.randint(lk, (1,), generator=gs.generator(seed + 1)))
    hide[..., keep] = False
    hidden = mask & ~hide
    hidden[..., keep] |= ~hidden.any(dim=-1)
    return hidden


@mha.property("masked_keys_ignored", "changing the keys and values that no query may attend to changes nothing", tier="public")
@given(a=mha_inputs(mask_kind="2d"), seed=gs.seeds(), per_sample=st.booleans())
@example(a={**mha_parameters(2, torch.float32, 0), "query": torch.ones(1, 1, 2), "key": torch.ones(1, 2, 2), "value": torch.arange(4.0).reshape(1, 2, 2), "num_heads": 1, "mask": torch.tensor([[True, False]])}, seed=0, per_sample=False)
def _mha_masked_keys_ignored(ctx: Context, a: dict, seed: int, per_sample: bool) -> None:
    b, lq, lk = a["query"].shape[0], a["query"].shape[1], a["key"].shape[1]
    mask = a["mask"].expand(b, lq, lk) if per_sample else a["mask"]  # (B, Lq, Lk) or (Lq, Lk)
    a = {**a, "mask": _hide_keys(mask, seed)}
    out = ctx.call(*_mha_args(a))
    unused = (~a["mask"].any(dim=-2)).expand(b, lk)  # (B, Lk): keys hidden from every query of a sample
    key, value = a["key"].clone(), a["value"].clone()
    key[unused] = gs.make_tensor(key[unused].shape, key.dtype, seed + 2, scale=10.0)
    value[unused] = gs.make_tensor(value[unused].shape, value.dtype, seed + 3, scale=10.0)
    got = ctx.call(*_mha_args(a, key=key, value=value))
    ctx.assert_close(got, out, inputs=_mha_shown(a), what="the output after changing keys and values nobody may attend to")


@mha.property("dtype_contract", "the result has shape (B, Lq, E) and the input's dtype, float32 or float64", tier="public")
@given(a=mha_inputs(mask_kind="none"))
def _mha_dtype_contract(ctx: Context, a: dict) -> None:
    got = ctx.call(*_mha_args(a))
    b, lq, e = a["query"].shape
    ctx.check(isinstance(got, torch.Tensor) and tuple(got.shape) == (b, lq, e), f"expected shape {(b, lq, e)}, got {getattr(got, 'shape', type(got).__name__)}", inputs=_mha_shown(a))
    ctx.check(got.dtype == a["query"].dtype, f"inputs were {a['query'].dtype}, the result is {got.dtype}", inputs=_mha_shown(a))


def torch_multihead_attention(a: dict) -> torch.Tensor:
    """The oracle: nn.MultiheadAttention(batch_first=True) with the same packed parameters."""
    e, h = a["query"].shape[-1], a["num_heads"]
    layer = nn.MultiheadAttention(e, h, dropout=0.0, batch_first=True, dtype=a["query"].dtype)
    layer.load_state_dict({"in_proj_weight": a["in_proj_weight"], "in_proj_bias": a["in_proj_bias"], "out_proj.weight": a["out_proj_weight"], "out_proj.bias": a["out_proj_bias"]})
    attn_mask = torch_attn_mask(a["mask"], h)
    with torch.no_grad():
        out, _ = layer(a["query"], a["key"], a["value"], attn_mask=attn_mask, need_weights=False)
    return out


def torch_attn_mask(mask: torch.Tensor | None, num_heads: int) -> torch.Tensor | None:
    """Our True = attend mask in nn.MultiheadAttention's form: True = blocked, 3-D masks per head."""
    if mask is None:
        return None
    blocked = ~mask
    # nn.MultiheadAttention wants a 3-D mask as (B·H, Lq, Lk) with index b·H + h: repeat_interleave, not repeat.
    return blocked.repeat_interleave(num_heads, dim=0) if blocked.dim() == 3 else blocked


@mha.property("matches_torch_multihead_attention", "the output equals nn.MultiheadAttention(batch_first=True) with the same parameters and the mask's polarity flipped", tier="hidden")
@given(a=mha_inputs())
def _matches_torch_mha(ctx: Context, a: dict) -> None:
    got = ctx.call(*_mha_args(a))
    ctx.assert_close(got, torch_multihead_attention(a), inputs=_mha_shown(a))


@mha.property("matches_reference", "the output equals the reference on random inputs, with no mask, a (Lq, Lk) and a (B, Lq, Lk) mask", tier="hidden")
@given(a=mha_inputs())
def _mha_matches_reference(ctx: Context, a: dict) -> None:
    got = ctx.call(*_mha_args(a))
    ctx.assert_close(got, ctx.ref(*_mha_args(a)), inputs=_mha_shown(a))


@mha.property("gradients_match", "gradients with respect to the inputs and all four parameters equal the reference's", tier="hidden")
@given(a=mha_inputs(), seed=gs.seeds())
def _mha_gradients_match(ctx: Context, a: dict, seed: int) -> None:
    g_out = gs.make_tensor(tuple(a["query"].shape), a["query"].dtype, seed)
    wrt = list(range(7))  # query, key, value, in_proj_weight, in_proj_bias, out_proj_weight, out_proj_bias
    _, grads = ctx.student.vjp(ctx.exercise.name, _mha_args(a), g_out, wrt)
    leaves = [a[name].clone().requires_grad_(True) for name in MHA_ARGS[:7]]
    out = ctx.ref(*leaves, a["num_heads"], a["mask"])
    expected = torch.autograd.grad(out, leaves, g_out)
    ctx.assert_close(tuple(grads["inputs"]), expected, inputs=_mha_shown(a), what="the gradients (query, key, value, in_proj_weight, in_proj_bias, out_proj_weight, out_proj_bias)")



@mha.property("stable_for_extreme_scores", "per-head scores of ±1e2–1e4, and visible keys at −1e5 or −1e10 next to masked ones, give the exact attention: finite, masked keys ignored", tier="public")
@given(a=mha_extreme_inputs())
def _mha_stable_for_extreme_scores(ctx: Context, a: dict) -> None:
    got = ctx.call(*_mha_args(a))
    as64 = {k: v.double() if isinstance(v, torch.Tensor) and v.is_floating_point() else v for k, v in a.items()}
    expected = _heads_by_loop(as64["query"], as64["key"], as64["value"], a["num_heads"], a["mask"]).to(a["query"].dtype)
    # nan comes from the softmax (assert_stable says so); finite wrong weights next to very negative scores from the fill.
    formula = UNSTABLE_SOFTMAX if a["key"][:, 1:].max() > 0 else FINITE_MASK_FILL
    assert_stable(ctx, got, expected, inputs=_mha_shown(a), what="the output", formula=formula)
