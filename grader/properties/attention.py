"""Properties of the attention exercises (q43, q56–q63, q70, q71, q77)."""

from __future__ import annotations

import math

import torch
from hypothesis import example, given
from hypothesis import strategies as st
from torch import nn

from grader import strategies as gs
from grader.properties.api import Context, Exercise, Mistake

# ----------------------------------------------------------------------------- known mistakes


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


sdpa = Exercise(
    "attention.scaled_dot_product_attention",
    mistakes=[
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




# ============================================================================ causal_mask


def _top_left_aligned(q_len, k_len=None):
    k_len = q_len if k_len is None else k_len
    return torch.ones(q_len, k_len, dtype=torch.bool).tril()


def _strictly_lower(q_len, k_len=None):
    k_len = q_len if k_len is None else k_len
    return torch.ones(q_len, k_len, dtype=torch.bool).tril(k_len - q_len - 1)


def _future_mask(q_len, k_len=None):
    k_len = q_len if k_len is None else k_len
    return torch.ones(q_len, k_len, dtype=torch.bool).triu(k_len - q_len + 1)


causal = Exercise(
    "attention.causal_mask",
    mistakes=[
        Mistake("top_left_aligned", "your mask is aligned top-left (query i sees keys j ≤ i, like is_causal=True of F.scaled_dot_product_attention); the queries are the LAST q_len positions, so query i sees keys j ≤ i + k_len − q_len", _top_left_aligned),
        Mistake("strictly_lower", "your mask hides the diagonal (j < i): every token may attend to itself, so keys j ≤ i are visible", _strictly_lower),
        Mistake("future_mask", "your mask is True on the future keys (the nn.Transformer convention, True = blocked); in this course True means 'may attend'", _future_mask),
    ],
)


def _lower_triangular(n: int) -> torch.Tensor:
    """The square causal mask written out with loops: an independent statement of j ≤ i."""
    return torch.tensor([[j <= i for j in range(n)] for i in range(n)], dtype=torch.bool)


@causal.property("returns_bool_mask", "the result is a torch.bool tensor of shape (q_len, k_len)", tier="public")
@given(sizes=gs.causal_mask_sizes())
def _returns_bool_mask(ctx: Context, sizes: tuple[int, int]) -> None:
    q_len, k_len = sizes
    got = ctx.call(q_len, k_len)
    ctx.check(isinstance(got, torch.Tensor), f"expected a tensor, got {type(got).__name__}", inputs={"q_len": q_len, "k_len": k_len})
    ctx.check(got.dtype == torch.bool and tuple(got.shape) == (q_len, k_len), f"expected torch.bool of shape {(q_len, k_len)}, got {got.dtype} of shape {tuple(got.shape)}", inputs={"q_len": q_len, "k_len": k_len})


@causal.property("square_lower_triangular", "with k_len left out, query i may attend to exactly the keys j ≤ i", tier="public")
@given(n=gs.dims(2, 8))  # 1×1 is checked by the other properties; here it would make mistakes indistinguishable
def _square_lower_triangular(ctx: Context, n: int) -> None:
    got = ctx.call(n)
    ctx.assert_close(got, _lower_triangular(n), inputs={"q_len": n}, check_dtype=False)


@causal.property("kv_cache_alignment", "with q_len < k_len the queries are the last q_len positions: the mask is the last q_len rows of the square k_len mask", tier="public")
@given(sizes=gs.causal_mask_sizes())
@example(sizes=(2, 4))
@example(sizes=(1, 5))
def _kv_cache_alignment(ctx: Context, sizes: tuple[int, int]) -> None:
    q_len, k_len = sizes
    got = ctx.call(q_len, k_len)
    expected = _lower_triangular(k_len)[k_len - q_len :]  # (q_len, k_len)
    ctx.assert_close(got, expected, inputs={"q_len": q_len, "k_len": k_len}, check_dtype=False)


@causal.property("matches_reference", "the mask equals the reference for every q_len ≤ k_len, with k_len given or left out", tier="hidden")
@given(sizes=gs.causal_mask_sizes(), pass_k_len=st.booleans())
@example(sizes=(3, 5), pass_k_len=True)
@example(sizes=(4, 4), pass_k_len=False)
def _causal_matches_reference(ctx: Context, sizes: tuple[int, int], pass_k_len: bool) -> None:
    q_len, k_len = sizes
    args = (q_len, k_len) if pass_k_len else (q_len,)
    ctx.assert_close(ctx.call(*args), ctx.ref(*args), inputs={"q_len": q_len, "k_len": k_len if pass_k_len else "left out"})


# ============================================================================ multi_head_attention

MHA_ARGS = ("query", "key", "value", "in_proj_weight", "in_proj_bias", "out_proj_weight", "out_proj_bias", "num_heads", "mask")


def _mha_args(a: dict, **changes) -> tuple:
    """The positional arguments of multi_head_attention, from a dict of mha_inputs()."""
    return tuple(changes.get(name, a[name]) for name in MHA_ARGS)


def _mha_shown(a: dict) -> dict:
    return {name: a[name] for name in MHA_ARGS}


def mha_formula(query, key, value, in_proj_weight, in_proj_bias, out_proj_weight, out_proj_bias, num_heads, mask=None, *, head_scaling=True, split_heads=True, linear_layout=True, invert_mask=False):
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
        scores = scores.masked_fill(m if invert_mask else ~m, float("-inf"))
    out = torch.softmax(scores, dim=-1) @ v  # (B, H, Lq, d)
    return out.transpose(1, 2).reshape(b, lq, e) @ w_out + out_proj_bias


def _mha_scaled_by_model_dim(*args):
    return mha_formula(*args, head_scaling=False)


def _mha_heads_without_transpose(*args):
    return mha_formula(*args, split_heads=False)


def _mha_weights_not_transposed(*args):
    return mha_formula(*args, linear_layout=False)


def _mha_mask_inverted(*args):
    return mha_formula(*args, invert_mask=True)


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
@given(a=gs.mha_inputs())
def _identity_projections_split_heads(ctx: Context, a: dict) -> None:
    a = _identity_projections(a)
    got = ctx.call(*_mha_args(a))
    expected = _heads_by_loop(a["query"], a["key"], a["value"], a["num_heads"], a["mask"])
    ctx.assert_close(got, expected, inputs=_mha_shown(a))


@mha.property("permutation_equivariant", "permuting keys and values (and the mask's columns) changes nothing; permuting queries (and the mask's rows) permutes the outputs", tier="public")
@given(a=gs.mha_inputs(), seed=gs.seeds())
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
@given(a=gs.mha_inputs(mask_kind="3d", min_batch=2))
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
@given(a=gs.mha_inputs(mask_kind="2d"), seed=gs.seeds(), per_sample=st.booleans())
@example(a={**gs.mha_parameters(2, torch.float32, 0), "query": torch.ones(1, 1, 2), "key": torch.ones(1, 2, 2), "value": torch.arange(4.0).reshape(1, 2, 2), "num_heads": 1, "mask": torch.tensor([[True, False]])}, seed=0, per_sample=False)
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
@given(a=gs.mha_inputs(mask_kind="none"))
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
@given(a=gs.mha_inputs())
def _matches_torch_mha(ctx: Context, a: dict) -> None:
    got = ctx.call(*_mha_args(a))
    ctx.assert_close(got, torch_multihead_attention(a), inputs=_mha_shown(a))


@mha.property("matches_reference", "the output equals the reference on random inputs, with no mask, a (Lq, Lk) and a (B, Lq, Lk) mask", tier="hidden")
@given(a=gs.mha_inputs())
def _mha_matches_reference(ctx: Context, a: dict) -> None:
    got = ctx.call(*_mha_args(a))
    ctx.assert_close(got, ctx.ref(*_mha_args(a)), inputs=_mha_shown(a))


@mha.property("gradients_match", "gradients with respect to the inputs and all four parameters equal the reference's", tier="hidden")
@given(a=gs.mha_inputs(), seed=gs.seeds())
def _mha_gradients_match(ctx: Context, a: dict, seed: int) -> None:
    g_out = gs.make_tensor(tuple(a["query"].shape), a["query"].dtype, seed)
    wrt = list(range(7))  # query, key, value, in_proj_weight, in_proj_bias, out_proj_weight, out_proj_bias
    _, grads = ctx.student.vjp(ctx.exercise.name, _mha_args(a), g_out, wrt)
    leaves = [a[name].clone().requires_grad_(True) for name in MHA_ARGS[:7]]
    out = ctx.ref(*leaves, a["num_heads"], a["mask"])
    expected = torch.autograd.grad(out, leaves, g_out)
    ctx.assert_close(tuple(grads["inputs"]), expected, inputs=_mha_shown(a), what="the gradients (query, key, value, in_proj_weight, in_proj_bias, out_proj_weight, out_proj_bias)")
