"""Properties and known mistakes of ``transformer.decoder_block``."""

from __future__ import annotations

import torch
from hypothesis import example, given
from hypothesis import strategies as st
from torch import nn

from grader.properties.api import Context, Exercise, Mistake
from grader.properties.common import unless_right
from grader.properties.judge_only import judge_only
from grader.properties.stability import FINITE_MASK_FILL, UNSTABLE_SOFTMAX, assert_stable
from grader.properties.transformer import strategies as gs
from grader.properties.transformer._blocks import (
    _as_float64,
    _attend,
    _block_shown,
    _causal,
    _extreme_formula,
    _extreme_shown,
    _ffn,
    _ln,
    _residual,
    _zero_sublayer_outputs,
)


@judge_only
def decoder_formula(x, memory, params, num_heads, norm_first=False, *, self_mask="causal", norm_memory=False):
    """The decoder layer from its definition; the keyword switches produce the known mistakes."""
    length = x.shape[1]
    mask = {"causal": _causal(length), "none": None, "strict": _causal(length).tril(-1)}[self_mask]
    x = _residual(x, lambda h: _attend(h, h, params, "self_attn", num_heads, mask), params, "norm1", norm_first)
    mem = _ln(memory, params, "norm2") if norm_memory and norm_first else memory
    x = _residual(x, lambda h: _attend(h, mem, params, "multihead_attn", num_heads), params, "norm2", norm_first)
    return _residual(x, lambda h: _ffn(h, params), params, "norm3", norm_first)


def _dec_no_causal_mask(x, memory, params, num_heads, norm_first=False):
    return decoder_formula(x, memory, params, num_heads, norm_first, self_mask="none")


def _dec_mask_hides_diagonal(x, memory, params, num_heads, norm_first=False):
    return decoder_formula(x, memory, params, num_heads, norm_first, self_mask="strict")


def _dec_memory_normalized(x, memory, params, num_heads, norm_first=False):
    return decoder_formula(x, memory, params, num_heads, norm_first, norm_memory=True)


def _dec_norm_placement_swapped(x, memory, params, num_heads, norm_first=False):
    return decoder_formula(x, memory, params, num_heads, not norm_first)


def _dec_attention_variant(x, memory, params, num_heads, norm_first=False, **switches):
    """The decoder layer with both attentions' switches of attention.mha_formula (fill, naive_softmax)."""
    causal = _causal(x.shape[1]).to(x.device)
    x = _residual(x, lambda h: _attend(h, h, params, "self_attn", num_heads, causal, **switches), params, "norm1", norm_first)
    x = _residual(x, lambda h: _attend(h, memory, params, "multihead_attn", num_heads, **switches), params, "norm2", norm_first)
    return _residual(x, lambda h: _ffn(h, params), params, "norm3", norm_first)


def _dec_unstable_softmax(x, memory, params, num_heads, norm_first=False):
    return _dec_attention_variant(x, memory, params, num_heads, norm_first, naive_softmax=True)


def _dec_causal_fill_1e9(x, memory, params, num_heads, norm_first=False):
    return _dec_attention_variant(x, memory, params, num_heads, norm_first, fill=-1e9)


def _dec_causal_fill_1e4(x, memory, params, num_heads, norm_first=False):
    return _dec_attention_variant(x, memory, params, num_heads, norm_first, fill=-1e4)


decoder_block = Exercise(
    "transformer.decoder_block",
    mistakes=[
        Mistake("no_causal_mask", "your output equals self-attention without the causal mask: position i must not see positions after i", _dec_no_causal_mask),
        Mistake("mask_hides_diagonal", "your causal mask hides the diagonal (j < i), so position 0 attends to nothing (NaN); position i sees j ≤ i, itself included", _dec_mask_hides_diagonal),
        Mistake("memory_normalized", "your pre-norm output normalizes memory with norm2 too; only the target's stream is normalized, memory enters the cross-attention as given", _dec_memory_normalized),
        Mistake("unstable_softmax", f"your output equals the attention's softmax computed as {UNSTABLE_SOFTMAX}", unless_right(_dec_unstable_softmax, decoder_formula)),
        Mistake("causal_fill_1e9", f"your output equals filling the causal mask's hidden scores with a large finite number: {FINITE_MASK_FILL}", unless_right(_dec_causal_fill_1e9, decoder_formula)),
        Mistake("causal_fill_1e4", f"your output equals filling the causal mask's hidden scores with a large finite number: {FINITE_MASK_FILL}", unless_right(_dec_causal_fill_1e4, decoder_formula)),
        Mistake("norm_placement_swapped", "your output equals the other norm placement: norm_first=False is post-norm, x = norm(x + sublayer(x)); norm_first=True is pre-norm, x = x + sublayer(norm(x))", _dec_norm_placement_swapped),
    ],
)

DEC_ARGS = ("x", "memory", "params", "num_heads", "norm_first")


def _dec_args(a: dict, **changes) -> tuple:
    return tuple(changes.get(name, a[name]) for name in DEC_ARGS)


@decoder_block.property("ignores_future_tokens", "the output at position t does not depend on the target tokens after t", tier="public")
@given(a=gs.block_inputs(decoder=True, min_len=2), data=st.data())
def _dec_ignores_future(ctx: Context, a: dict, data: st.DataObject) -> None:
    length = a["x"].shape[1]
    t = data.draw(st.integers(0, length - 2), label="t")
    out = ctx.call(*_dec_args(a))
    x2 = a["x"].clone()
    x2[:, t + 1 :] = gs.make_tensor(x2[:, t + 1 :].shape, x2.dtype, data.draw(gs.seeds(), label="seed"))
    got = ctx.call(*_dec_args(a, x=x2))
    ctx.assert_close(got[:, : t + 1], out[:, : t + 1], inputs={**_block_shown(a, DEC_ARGS), "t": t}, what=f"the outputs at positions 0..{t} after changing later tokens")


@decoder_block.property("memory_permutation_invariant", "permuting the positions of memory changes nothing: cross-attention sees memory as a set", tier="public")
@given(a=gs.block_inputs(decoder=True), seed=gs.seeds())
def _dec_memory_permutation(ctx: Context, a: dict, seed: int) -> None:
    out = ctx.call(*_dec_args(a))
    perm = torch.randperm(a["memory"].shape[1], generator=gs.generator(seed))
    got = ctx.call(*_dec_args(a, memory=a["memory"][:, perm]))
    ctx.assert_close(got, out, inputs=_block_shown(a, DEC_ARGS), what="the output for permuted memory")


@decoder_block.property("zero_sublayers_leave_residual", "with both attentions' out_proj and linear2 set to zero, pre-norm returns x unchanged and post-norm returns norm3(norm2(norm1(x)))", tier="public")
@given(a=gs.block_inputs(decoder=True))
def _dec_zero_sublayers(ctx: Context, a: dict) -> None:
    a = {**a, "params": _zero_sublayer_outputs(a["params"], ("self_attn.out_proj", "multihead_attn.out_proj", "linear2"))}
    got = ctx.call(*_dec_args(a))
    x, p = a["x"], a["params"]
    expected = x.clone() if a["norm_first"] else _ln(_ln(_ln(x, p, "norm1"), p, "norm2"), p, "norm3")
    ctx.assert_close(got, expected, inputs=_block_shown(a, DEC_ARGS))


@decoder_block.property("dtype_contract", "the result has x's shape (B, L, d) and dtype, float32 or float64, for any memory length", tier="public")
@given(a=gs.block_inputs(decoder=True))
def _dec_dtype_contract(ctx: Context, a: dict) -> None:
    got = ctx.call(*_dec_args(a))
    shown = _block_shown(a, DEC_ARGS)
    ctx.check(isinstance(got, torch.Tensor) and got.shape == a["x"].shape, f"expected shape {tuple(a['x'].shape)}, got {getattr(got, 'shape', type(got).__name__)}", inputs=shown)
    ctx.check(got.dtype == a["x"].dtype, f"x was {a['x'].dtype}, the result is {got.dtype}", inputs=shown)


def torch_decoder_layer(a: dict) -> torch.Tensor:
    """The oracle: nn.TransformerDecoderLayer(dropout=0, batch_first=True) with a bool causal tgt_mask."""
    p, length = a["params"], a["x"].shape[1]
    d_ff, d = p["linear1.weight"].shape
    layer = nn.TransformerDecoderLayer(d, a["num_heads"], d_ff, dropout=0.0, activation="relu", batch_first=True, norm_first=a["norm_first"], dtype=a["x"].dtype)
    layer.load_state_dict(p)
    blocked = ~_causal(length)  # nn.Transformer's polarity: True = may NOT attend
    with torch.no_grad():
        return layer(a["x"], a["memory"], tgt_mask=blocked)


@decoder_block.property("matches_torch_layer", "the output equals nn.TransformerDecoderLayer(dropout=0, batch_first=True) loaded with params and given a causal tgt_mask, in both norm_first settings", tier="hidden")
@given(a=gs.block_inputs(decoder=True))
def _dec_matches_torch(ctx: Context, a: dict) -> None:
    ctx.assert_close(ctx.call(*_dec_args(a)), torch_decoder_layer(a), inputs=_block_shown(a, DEC_ARGS))


@decoder_block.property("matches_reference", "the output equals the reference on random inputs, with target and memory of different lengths", tier="hidden")
@given(a=gs.block_inputs(decoder=True))
def _dec_matches_reference(ctx: Context, a: dict) -> None:
    ctx.assert_close(ctx.call(*_dec_args(a)), ctx.ref(*_dec_args(a)), inputs=_block_shown(a, DEC_ARGS))


@decoder_block.property("gradients_match", "gradients with respect to x and memory equal the reference's", tier="hidden")
@given(a=gs.block_inputs(decoder=True), seed=gs.seeds())
def _dec_gradients_match(ctx: Context, a: dict, seed: int) -> None:
    g_out = gs.make_tensor(tuple(a["x"].shape), a["x"].dtype, seed)
    _, grads = ctx.student.vjp(ctx.exercise.name, _dec_args(a), g_out, [0, 1])
    x, memory = a["x"].clone().requires_grad_(True), a["memory"].clone().requires_grad_(True)
    expected = torch.autograd.grad(ctx.ref(*_dec_args(a, x=x, memory=memory)), (x, memory), g_out)
    ctx.assert_close(tuple(grads["inputs"]), expected, inputs=_block_shown(a, DEC_ARGS), what="the gradients (dx, dmemory)")


@decoder_block.property("stable_for_extreme_scores", "post-norm, with self- and cross-attention scores of ±1e2–1e4, or −1e5/−1e10 at the visible keys next to future ones, the output is finite and equals the exact block: future tokens stay hidden", tier="public")
@given(a=gs.block_extreme_inputs(decoder=True))
@example(a=gs.extreme_block(b=1, length=2, d_ff=2, heads=(1, 4), dtype=torch.float32, seed=0, c=-(2.0**34), memory_len=1))  # beats a −1e9 fill
def _dec_stable_for_extreme_scores(ctx: Context, a: dict) -> None:
    got = ctx.call(*_dec_args(a))
    expected = decoder_formula(*_dec_args(_as_float64(a))).to(a["x"].dtype)
    assert_stable(ctx, got, expected, inputs=_extreme_shown(a, DEC_ARGS), what="the output", formula=_extreme_formula(a, got))
