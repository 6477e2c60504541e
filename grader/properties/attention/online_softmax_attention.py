"""attention.online_softmax_attention: the attention output computed over key blocks with a
running maximum and running sum (FlashAttention's online softmax); its properties, including
a bound on the memory it allocates, and known mistakes.
"""

from __future__ import annotations

import math

import torch
from hypothesis import example, given
from hypothesis import strategies as st

from grader import strategies as gs
from grader.properties.api import Context, Exercise, Mistake
from grader.properties.attention.strategies import online_attention_inputs, very_negative_score_inputs
from grader.properties.common import assert_gradients, check_plain, unless_right
from grader.properties.judge_only import judge_only
from grader.properties.stability import FINITE_MASK_FILL, assert_stable

_NEG_INF = float("-inf")


def _blocks(q, k, v, mask, block_size, fill=_NEG_INF):
    """(scores of the block with the mask applied, the block's values) for each key block."""
    for start in range(0, k.shape[-2], block_size):
        s = q @ k[..., start : start + block_size, :].transpose(-2, -1) / math.sqrt(q.shape[-1])
        if mask is not None:
            s = s.masked_fill(~(mask if mask.shape[-1] == 1 else mask[..., start : start + block_size]), fill)
        yield s, v[..., start : start + block_size, :]


@judge_only
def _online(q, k, v, mask, block_size, *, m0=_NEG_INF, rescale_sum=True, guard_empty=True, fill=_NEG_INF):
    """The online softmax with switches for the mistakes below."""
    m = torch.full((*q.shape[:-1], 1), m0, dtype=q.dtype, device=q.device)
    total = torch.zeros_like(m)
    acc = torch.zeros((*q.shape[:-1], v.shape[-1]), dtype=q.dtype, device=q.device)
    for s, vb in _blocks(q, k, v, mask, block_size, fill):
        m_new = torch.maximum(m, s.amax(-1, keepdim=True))
        shift = m_new.masked_fill(m_new == _NEG_INF, 0.0) if guard_empty else m_new
        rescale = torch.exp(m - shift)
        p = torch.exp(s - shift)
        total = (total * rescale if rescale_sum else total) + p.sum(-1, keepdim=True)
        acc = acc * rescale + p @ vb
        m = m_new
    return acc / total


def _sum_not_rescaled(q, k, v, mask=None, block_size=64):
    return _online(q, k, v, mask, block_size, rescale_sum=False)


def _max_initialised_with_zero(q, k, v, mask=None, block_size=64):
    return _online(q, k, v, mask, block_size, m0=0.0)


def _no_max_subtraction(q, k, v, mask=None, block_size=64):
    total, acc = 0, 0
    for s, vb in _blocks(q, k, v, mask, block_size):
        total = total + torch.exp(s).sum(-1, keepdim=True)
        acc = acc + torch.exp(s) @ vb
    return acc / total


def _nan_on_masked_block(q, k, v, mask=None, block_size=64):
    return _online(q, k, v, mask, block_size, guard_empty=False)


def _blocks_normalised_separately(q, k, v, mask=None, block_size=64):
    outs = [torch.softmax(s, -1).nan_to_num(0.0) @ vb for s, vb in _blocks(q, k, v, mask, block_size)]
    return sum(outs) / len(outs)


def _mask_fill_1e9(q, k, v, mask=None, block_size=64):
    return _online(q, k, v, mask, block_size, fill=-1e9)


def _mask_fill_1e4(q, k, v, mask=None, block_size=64):
    return _online(q, k, v, mask, block_size, fill=-1e4)


@judge_only
def _online_right(q, k, v, mask=None, block_size=64):
    return _online(q, k, v, mask, block_size)


online = Exercise(
    "attention.online_softmax_attention",
    mistakes=[
        Mistake("sum_not_rescaled", "your output equals the online softmax whose running sum l is not multiplied by exp(m_old − m_new) when the maximum grows: what was summed under the old maximum must be moved to the new one, like acc", _sum_not_rescaled),
        Mistake("max_initialised_with_zero", "your output equals the online softmax with the running maximum started at 0 instead of −∞: when every score of a row is far below 0, exp(score − 0) underflows to 0 and the output is 0/0", _max_initialised_with_zero),
        Mistake("no_max_subtraction", "your output equals sums of exp(score) without subtracting the running maximum: large scores overflow exp to inf and the output is inf/inf", _no_max_subtraction),
        Mistake("nan_on_masked_block", "your output is NaN where a row's first key block is fully masked: its running maximum is still −∞ and exp(−∞ − (−∞)) is NaN; shift by 0 while the maximum is −∞", _nan_on_masked_block),
        Mistake("mask_fill_1e9", f"your output equals the online softmax with masked scores filled with −1e9: {FINITE_MASK_FILL}", unless_right(_mask_fill_1e9, _online_right)),
        Mistake("mask_fill_1e4", f"your output equals the online softmax with masked scores filled with −1e4: {FINITE_MASK_FILL}", unless_right(_mask_fill_1e4, _online_right)),
        Mistake("blocks_normalised_separately", "your output equals the average of a separate softmax per key block; the blocks share one softmax, so each block's sum must be rescaled to the running maximum and divided by the total sum once", _blocks_normalised_separately),
    ],
)


def _softmax_attention(q, k, v, mask=None):
    """The attention output written directly, in float64, back in q's dtype."""
    scores = q.double() @ k.double().transpose(-2, -1) / math.sqrt(q.shape[-1])
    if mask is not None:
        scores = scores.masked_fill(~mask, _NEG_INF)
    return (torch.softmax(scores, dim=-1) @ v.double()).to(q.dtype)


def _inputs(a: dict) -> dict:
    return {name: a[name] for name in ("q", "k", "v", "mask", "block_size") if name in a}


def _example(batch: tuple[int, ...], lq: int, lk: int, d: int, dv: int, block_size: int, *, dtype=torch.float64, seed: int = 0, mask: torch.Tensor | None = None, scale: float = 1.0) -> dict:
    return {
        "q": gs.make_tensor((*batch, lq, d), dtype, seed, scale=scale),
        "k": gs.make_tensor((*batch, lk, d), dtype, seed + 1, scale=scale),
        "v": gs.make_tensor((*batch, lk, dv), dtype, seed + 2),
        "mask": mask,
        "block_size": block_size,
    }


@online.property("matches_softmax_attention", "the output equals softmax(q·kᵀ/√d + masking)·v for any block_size, with several blocks and a partial last one", tier="public")
@given(a=online_attention_inputs())
@example(a=_example((), 3, 7, 2, 2, 2, scale=2.0))  # the maximum grows from block to block
def _matches_softmax_attention(ctx: Context, a: dict) -> None:
    got = ctx.call(a["q"], a["k"], a["v"], a["mask"], a["block_size"])
    ctx.assert_close(got, _softmax_attention(a["q"], a["k"], a["v"], a["mask"]), inputs=_inputs(a))


@online.property("leading_masked_keys", "masking the first keys of every row (left padding, whole blocks of it) changes the output as the mask says, without NaN", tier="public")
@given(a=online_attention_inputs(min_lk=2, mask_kind="none"), data=gs.seeds())
@example(a=_example((2,), 2, 5, 3, 2, 2), data=3)
def _leading_masked_keys(ctx: Context, a: dict, data: int) -> None:
    lk, block = a["k"].shape[-2], a["block_size"]
    padding = max(1, min(lk - 1, block * (1 + data % 2)))  # at least one whole block when the keys allow
    mask = (torch.arange(lk) >= padding).expand(a["q"].shape[-2], lk)  # (Lq, Lk): keys before `padding` hidden
    a = {**a, "mask": mask}
    got = ctx.call(a["q"], a["k"], a["v"], mask, block)
    ctx.assert_close(got, _softmax_attention(a["q"], a["k"], a["v"], mask), inputs=_inputs(a))


def _shifted(q: torch.Tensor, k: torch.Tensor, c: float) -> tuple[torch.Tensor, torch.Tensor]:
    """q', k' with one more feature such that q'·k'ᵀ/√(d+1) = q·kᵀ/√d + c for every pair."""
    d = q.shape[-1]
    q2 = torch.cat([q * math.sqrt((d + 1) / d), torch.full((*q.shape[:-1], 1), c * math.sqrt(d + 1), dtype=q.dtype)], dim=-1)
    k2 = torch.cat([k, torch.ones((*k.shape[:-1], 1), dtype=k.dtype)], dim=-1)
    return q2, k2


@online.property("shift_invariant", "adding the same constant (+1000 or −1000) to every score changes nothing: the running maximum keeps exp finite (float64)", tier="public")
@given(a=online_attention_inputs(mask_kind="none", dtype=torch.float64))
@example(a=_example((), 2, 4, 2, 2, 2))
def _shift_invariant(ctx: Context, a: dict) -> None:
    expected = _softmax_attention(a["q"], a["k"], a["v"])
    for c in (1000.0, -1000.0):  # +1000 first: exp without a maximum overflows there, a maximum started at 0 underflows only at −1000
        q2, k2 = _shifted(a["q"], a["k"], c)
        got = ctx.call(q2, k2, a["v"], None, a["block_size"])
        ctx.assert_close(got, expected, inputs={"q": q2, "k": k2, "v": a["v"], "block_size": a["block_size"]}, what=f"the output with every score shifted by {c:+g}")


def _bound(a: dict) -> tuple[int, str]:
    """The catalog's bound, (..., Lq, max(block_size, d, dv)) elements, and how it was reached."""
    q, k, v, mask = a["q"], a["k"], a["v"], a["mask"]
    batch = torch.broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2], *(() if mask is None else (mask.shape[:-2],)))
    width = max(a["block_size"], q.shape[-1], v.shape[-1])
    shape = (*batch, q.shape[-2], width)
    text = f"(..., Lq, max(block_size, d, dv)) = {shape} for block_size={a['block_size']}, d={q.shape[-1]}, dv={v.shape[-1]}; the full score matrix (..., Lq, Lk) would be {(*batch, q.shape[-2], k.shape[-2])}"
    return math.prod(shape), text


@online.property("memory_bounded", "no operation allocates a tensor larger than (..., Lq, max(block_size, d, dv)) elements: the full (Lq, Lk) score matrix is never built", tier="public")
@given(a=online_attention_inputs(min_lk=24, max_lk=40, mask_kinds=("none", "full", "2d")))
@example(a=_example((2,), 4, 32, 3, 3, 8, mask=gs.attend_masks((4, 32), 0)))
def _memory_bounded(ctx: Context, a: dict) -> None:
    # Graded where the bound is about the scores alone: d, dv ≤ Lq, so that copies of a key or value
    # block (block_size, d) fit under it as well, and no key-padding mask (..., 1, Lk), whose
    # full-length copies are O(Lk), not O(Lq·Lk). Several blocks, so the full matrix is always over it.
    lq = a["q"].shape[-2]
    d, dv = min(a["q"].shape[-1], lq), min(a["v"].shape[-1], lq)
    a = {**a, "q": a["q"][..., :d].clone(), "k": a["k"][..., :d].clone(), "v": a["v"][..., :dv].clone(), "block_size": min(a["block_size"], 8)}
    _, largest = ctx.call_measuring_memory(a["q"], a["k"], a["v"], a["mask"], a["block_size"])
    bound, text = _bound(a)
    ctx.assert_allocation_at_most(largest, bound, bound_text=text, inputs=_inputs(a))


@online.property("dtype_contract", "the output keeps the input's dtype for float32 and float64", tier="public")
@given(dtype=gs.float_dtypes(), lq=gs.dims(1, 4), lk=gs.dims(1, 6))
def _dtype_contract(ctx: Context, dtype: torch.dtype, lq: int, lk: int) -> None:
    a = _example((), lq, lk, 3, 2, 2, dtype=dtype)
    got = ctx.call(a["q"], a["k"], a["v"], None, 2)
    check_plain(isinstance(got, torch.Tensor) and got.dtype == dtype, f"inputs were {dtype}, the output is {getattr(got, 'dtype', type(got).__name__)}", _inputs(a))


@online.property("matches_reference", "the output equals the reference on random inputs, with masks broadcast over the batch or the queries and the default block_size", tier="hidden")
@given(a=online_attention_inputs(), default_block=st.booleans())
@example(a=_example((2,), 3, 5, 2, 3, 2, mask=gs.attend_masks((3, 5), 1)), default_block=False)
def _matches_reference(ctx: Context, a: dict, default_block: bool) -> None:
    if default_block:
        got, expected = ctx.call(a["q"], a["k"], a["v"], a["mask"]), ctx.ref(a["q"], a["k"], a["v"], a["mask"])
        a = {**a, "block_size": "left out (64)"}
    else:
        got, expected = ctx.call(a["q"], a["k"], a["v"], a["mask"], a["block_size"]), ctx.ref(a["q"], a["k"], a["v"], a["mask"], a["block_size"])
    ctx.assert_close(got, expected, inputs=_inputs(a))


@online.property("gradients_match", "gradients with respect to q, k and v equal the reference's (those of softmax attention)", tier="hidden")
@given(a=online_attention_inputs(), seed=gs.seeds())
def _gradients_match(ctx: Context, a: dict, seed: int) -> None:
    q, k, v, mask, block = a["q"], a["k"], a["v"], a["mask"], a["block_size"]
    g_out = gs.make_tensor((*q.shape[:-1], v.shape[-1]), q.dtype, seed)
    value, grads = ctx.student.vjp(ctx.exercise.name, (q, k, v, mask, block), g_out, [0, 1, 2])
    qr, kr, vr = (t.clone().requires_grad_(True) for t in (q, k, v))
    out = ctx.ref(qr, kr, vr, mask, block)
    expected = torch.autograd.grad(out, (qr, kr, vr), g_out)
    assert_gradients(ctx, value, out.detach(), tuple(grads["inputs"]), expected, inputs=_inputs(a), what="the gradients (dq, dk, dv)")


@online.property("mask_beats_very_negative_scores", "masked keys get zero weight even when every visible key has a score of −1e5 or −1e10, for any block_size", tier="public")
@given(a=very_negative_score_inputs(), block_size=st.sampled_from((1, 2, 64)))
def _mask_beats_very_negative_scores(ctx: Context, a: dict, block_size: int) -> None:
    a = {**a, "block_size": block_size}
    got = ctx.call(a["q"], a["k"], a["v"], a["mask"], block_size)
    expected = _softmax_attention(a["q"], a["k"], a["v"], a["mask"])
    assert_stable(ctx, got, expected, inputs=_inputs(a), what="the output", formula=FINITE_MASK_FILL)
