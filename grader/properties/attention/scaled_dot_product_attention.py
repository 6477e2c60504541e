"""attention.scaled_dot_product_attention: softmax(q·kᵀ/√d)·v with an optional boolean mask,
returning the output and the weights; its properties and known mistakes.
"""

from __future__ import annotations

import math

import torch
from hypothesis import example, given

from grader import strategies as gs
from grader.properties.api import Context, Exercise, Mistake
from grader.properties.attention.strategies import large_score_inputs, very_negative_score_inputs
from grader.properties.common import unless_right
from grader.properties.judge_only import judge_only
from grader.properties.stability import FINITE_MASK_FILL, UNSTABLE_SOFTMAX, assert_stable


def _softmax_over_queries(q, k, v, mask=None):
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    w = torch.softmax(scores, dim=-2)
    return w @ v, w


def _no_scaling(q, k, v, mask=None):
    scores = q @ k.transpose(-2, -1)
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    w = torch.softmax(scores, dim=-1)
    return w @ v, w


def _scaled_by_d(q, k, v, mask=None):
    scores = q @ k.transpose(-2, -1) / q.shape[-1]
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    w = torch.softmax(scores, dim=-1)
    return w @ v, w


def _mask_inverted(q, k, v, mask=None):
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    if mask is not None:
        scores = scores.masked_fill(mask, float("-inf"))
    w = torch.softmax(scores, dim=-1)
    return w @ v, w


def _mask_after_softmax(q, k, v, mask=None):
    w = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1]), dim=-1)
    if mask is not None:
        w = w * mask
    return w @ v, w


def _unstable_softmax(q, k, v, mask=None):
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    e = scores.exp()
    if mask is not None:
        e = e.masked_fill(~mask, 0.0)
    w = e / e.sum(-1, keepdim=True)
    return w @ v, w


@judge_only
def _stable(q, k, v, mask=None):
    return _finite_fill(q, k, v, mask, float("-inf"))


def _fill_1e4(q, k, v, mask=None):
    return _finite_fill(q, k, v, mask, -1e4)


def _fill_1e9(q, k, v, mask=None):
    return _finite_fill(q, k, v, mask, -1e9)


def _finite_fill(q, k, v, mask, fill):
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    if mask is not None:
        scores = scores.masked_fill(~mask, fill)
    w = torch.softmax(scores, dim=-1)
    return w @ v, w


sdpa = Exercise(
    "attention.scaled_dot_product_attention",
    mistakes=[
        # First: they agree with the reference on ordinary inputs, so they only ever name
        # themselves on the large-scale inputs, where another variant may coincide with them.
        Mistake("unstable_softmax", f"your output equals the softmax computed as {UNSTABLE_SOFTMAX}", unless_right(_unstable_softmax, _stable)),
        Mistake("mask_fill_1e4", f"your output equals masking with a large finite number: {FINITE_MASK_FILL}", unless_right(_fill_1e4, _stable)),
        Mistake("mask_fill_1e9", f"your output equals masking with a large finite number: {FINITE_MASK_FILL}", unless_right(_fill_1e9, _stable)),
        Mistake("softmax_over_queries", "your output equals softmax taken over the query axis (dim=-2); attention normalises over the keys (dim=-1), so each query's weights sum to 1", _softmax_over_queries),
        Mistake("no_scaling", "your output equals the reference without the 1/√d scaling of the scores", _no_scaling),
        Mistake("scaled_by_d", "your output divides the scores by d instead of √d", _scaled_by_d),
        Mistake("mask_inverted", "your output uses the opposite mask polarity: in this course True means 'may attend' (as in F.scaled_dot_product_attention), the opposite of nn.MultiheadAttention", _mask_inverted),
        Mistake("mask_after_softmax", "your output zeroes masked weights after the softmax without renormalising; mask the scores with -inf before the softmax", _mask_after_softmax),
    ],
)


def _inputs(a: dict) -> dict:
    return {name: a[name] for name in ("q", "k", "v", "mask")}


@sdpa.property("weights_sum_to_one", "each query's attention weights are non-negative and sum to 1 over the keys", tier="public")
@given(a=gs.attention_inputs())
def _weights_sum_to_one(ctx: Context, a: dict) -> None:
    _, w = ctx.call(a["q"], a["k"], a["v"], a["mask"])
    rtol, atol = ctx.tolerance(a["q"].dtype)
    ctx.check(isinstance(w, torch.Tensor) and w.shape == (*a["q"].shape[:-1], a["k"].shape[-2]), f"the weights should have shape (..., Lq, Lk) = {(*a['q'].shape[:-1], a['k'].shape[-2])}, got {getattr(w, 'shape', type(w).__name__)}", inputs=_inputs(a))
    sums = w.sum(-1)
    ctx.check(bool((w >= -atol).all()) and torch.allclose(sums, torch.ones_like(sums), rtol=rtol, atol=max(atol, 1e-6)), f"weights over the keys should sum to 1; row sums are {sums.flatten()[:6].tolist()}", inputs=_inputs(a))


@sdpa.property("masked_keys_ignored", "masked keys get zero weight, and changing their values changes nothing", tier="public")
@given(a=gs.attention_inputs(with_mask=True), seed=gs.seeds())
def _masked_keys_ignored(ctx: Context, a: dict, seed: int) -> None:
    out, w = ctx.call(a["q"], a["k"], a["v"], a["mask"])
    mask = a["mask"]
    ctx.check(bool((w.masked_select(~mask) == 0).all()), "masked keys (mask False) must get exactly zero weight", inputs=_inputs(a))
    # Change the values and keys at masked positions only: where every query masks a key,
    # that key's value row cannot matter to anyone.
    v2 = a["v"].clone()
    unused = ~mask.any(dim=-2)  # (..., Lk): keys no query attends to
    v2[unused] = gs.make_tensor(v2[unused].shape, v2.dtype, seed, scale=100.0)
    out2, _ = ctx.call(a["q"], a["k"], v2, mask)
    ctx.assert_close(out2, out, inputs=_inputs(a), what="the output after changing values of keys nobody may attend to")


@sdpa.property("permutation_equivariant", "permuting keys and values together changes nothing; permuting queries permutes the outputs", tier="public")
@given(a=gs.attention_inputs(with_mask=False), seed=gs.seeds())
def _permutations(ctx: Context, a: dict, seed: int) -> None:
    q, k, v = a["q"], a["k"], a["v"]
    out, _ = ctx.call(q, k, v)
    pk = torch.randperm(k.shape[-2], generator=gs.generator(seed))
    pq = torch.randperm(q.shape[-2], generator=gs.generator(seed + 1))
    out_k, _ = ctx.call(q, k[..., pk, :], v[..., pk, :])
    ctx.assert_close(out_k, out, inputs=_inputs(a), what="the output after permuting keys and values together")
    out_q, _ = ctx.call(q[..., pq, :], k, v)
    ctx.assert_close(out_q, out[..., pq, :], inputs=_inputs(a), what="the output for permuted queries")


@sdpa.property("known_answer", "two keys with scores 0 and ln 3 · √d get weights 1/4 and 3/4", tier="public")
@given(dtype=gs.float_dtypes())
def _known_answer(ctx: Context, dtype: torch.dtype) -> None:
    d = 4
    q = torch.ones(1, d, dtype=dtype)
    k = torch.zeros(2, d, dtype=dtype)
    k[1] = math.log(3.0) * math.sqrt(d) / d  # q·k1 = ln3·√d, so the scaled score is ln 3
    v = torch.tensor([[1.0, 0.0], [0.0, 1.0]], dtype=dtype)
    out, w = ctx.call(q, k, v)
    expected_w = torch.tensor([[0.25, 0.75]], dtype=dtype)
    ctx.assert_close((out, w), (expected_w.clone(), expected_w), inputs={"q": q, "k": k, "v": v})


@sdpa.property("matches_reference", "output and weights equal the reference on random inputs, with and without masks", tier="hidden")
@given(a=gs.attention_inputs())
@example(a={"q": torch.ones(1, 3), "k": torch.ones(2, 3), "v": torch.arange(4.0).reshape(2, 2), "mask": None})
def _matches_reference(ctx: Context, a: dict) -> None:
    got = ctx.call(a["q"], a["k"], a["v"], a["mask"])
    ctx.assert_close(got, ctx.ref(a["q"], a["k"], a["v"], a["mask"]), inputs=_inputs(a))


@sdpa.property("gradients_match", "gradients with respect to q, k and v equal the reference's", tier="hidden")
@given(a=gs.attention_inputs(), seed=gs.seeds())
def _gradients_match(ctx: Context, a: dict, seed: int) -> None:
    q, k, v, mask = a["q"], a["k"], a["v"], a["mask"]
    g_out = gs.make_tensor((*q.shape[:-1], v.shape[-1]), q.dtype, seed)
    _, grads = ctx.student.vjp(ctx.exercise.name, (q, k, v, mask), (g_out, None), [0, 1, 2])
    qr, kr, vr = (t.clone().requires_grad_(True) for t in (q, k, v))
    out, _ = ctx.ref(qr, kr, vr, mask)
    expected = torch.autograd.grad(out, (qr, kr, vr), g_out)
    ctx.assert_close(tuple(grads["inputs"]), expected, inputs=_inputs(a), what="the gradients (dq, dk, dv)")


@sdpa.property("dtype_contract", "the result keeps the input's dtype for float32 and float64", tier="public")
@given(dtype=gs.float_dtypes(), lq=gs.dims(), lk=gs.dims())
def _dtype_contract(ctx: Context, dtype: torch.dtype, lq: int, lk: int) -> None:
    q = gs.make_tensor((lq, 3), dtype, 0)
    k = gs.make_tensor((lk, 3), dtype, 1)
    v = gs.make_tensor((lk, 2), dtype, 2)
    out, w = ctx.call(q, k, v)
    ctx.check(out.dtype == dtype and w.dtype == dtype, f"inputs were {dtype}, results are {out.dtype} and {w.dtype}", inputs={"q": q, "k": k, "v": v})



def _exact_attention(a: dict) -> tuple[torch.Tensor, torch.Tensor]:
    """Output and weights in float64 from the exactly representable scores, cast back."""
    q, k, v, mask = (x.double() if isinstance(x, torch.Tensor) and x.is_floating_point() else x for x in (a["q"], a["k"], a["v"], a["mask"]))
    scores = q @ k.T / math.sqrt(q.shape[-1])
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    w = torch.softmax(scores, dim=-1)
    dtype = a["q"].dtype
    return (w @ v).to(dtype), w.to(dtype)


@sdpa.property("stable_for_large_scores", "scores of magnitude 1e2–1e4 (positive or negative) give finite weights equal to the exact softmax", tier="public")
@given(a=large_score_inputs())
def _stable_for_large_scores(ctx: Context, a: dict) -> None:
    got = ctx.call(a["q"], a["k"], a["v"], a["mask"])
    assert_stable(ctx, got, _exact_attention(a), inputs=_inputs(a), what="the (output, weights)", formula=UNSTABLE_SOFTMAX)


@sdpa.property("mask_beats_very_negative_scores", "masked keys get zero weight even when every visible key has a score of −1e5 or −1e10", tier="public")
@given(a=very_negative_score_inputs())
def _mask_beats_very_negative_scores(ctx: Context, a: dict) -> None:
    out, w = ctx.call(a["q"], a["k"], a["v"], a["mask"])
    expected = _exact_attention(a)
    leaked = isinstance(w, torch.Tensor) and w.shape == a["mask"].shape and bool((w.masked_select(~a["mask"]) != 0).any())
    if leaked:
        ctx.fail(f"masked keys got weight {w.masked_select(~a['mask']).max().item():.4g} next to visible keys with very negative scores: {FINITE_MASK_FILL}", inputs=_inputs(a))
    assert_stable(ctx, (out, w), expected, inputs=_inputs(a), what="the (output, weights)", formula=UNSTABLE_SOFTMAX)
