"""Properties and known mistakes of ``transformer.encoder_block``."""

from __future__ import annotations

import torch
from hypothesis import example, given
from hypothesis import strategies as st
from torch import nn

from grader.properties.api import Context, Exercise, Mistake
from grader.properties.attention import torch_attn_mask
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
def encoder_formula(x, params, num_heads, norm_first=False, mask=None, *, from_normalized=False, invert_mask=False, norms=("norm1", "norm2")):
    """The encoder layer from its definition; the keyword switches produce the known mistakes."""
    x = _residual(x, lambda h: _attend(h, h, params, "self_attn", num_heads, mask, invert_mask=invert_mask), params, norms[0], norm_first, from_normalized=from_normalized)
    return _residual(x, lambda h: _ffn(h, params), params, norms[1], norm_first, from_normalized=from_normalized)


def _enc_norm_placement_swapped(x, params, num_heads, norm_first=False, mask=None):
    return encoder_formula(x, params, num_heads, not norm_first, mask)


def _enc_residual_from_normalized(x, params, num_heads, norm_first=False, mask=None):
    return encoder_formula(x, params, num_heads, norm_first, mask, from_normalized=True)


def _enc_mask_inverted(x, params, num_heads, norm_first=False, mask=None):
    return encoder_formula(x, params, num_heads, norm_first, mask, invert_mask=True)


def _enc_norm1_twice(x, params, num_heads, norm_first=False, mask=None):
    return encoder_formula(x, params, num_heads, norm_first, mask, norms=("norm1", "norm1"))


def _enc_attention_variant(x, params, num_heads, norm_first=False, mask=None, **switches):
    """The encoder layer with the self-attention's switches of attention.mha_formula (fill, naive_softmax)."""
    x = _residual(x, lambda h: _attend(h, h, params, "self_attn", num_heads, mask, **switches), params, "norm1", norm_first)
    return _residual(x, lambda h: _ffn(h, params), params, "norm2", norm_first)


def _enc_unstable_softmax(x, params, num_heads, norm_first=False, mask=None):
    return _enc_attention_variant(x, params, num_heads, norm_first, mask, naive_softmax=True)


def _enc_mask_fill_1e9(x, params, num_heads, norm_first=False, mask=None):
    return _enc_attention_variant(x, params, num_heads, norm_first, mask, fill=-1e9)


def _enc_mask_fill_1e4(x, params, num_heads, norm_first=False, mask=None):
    return _enc_attention_variant(x, params, num_heads, norm_first, mask, fill=-1e4)


encoder_block = Exercise(
    "transformer.encoder_block",
    mistakes=[
        # Before norm_placement_swapped: with zeroed sublayers both give norm2(norm1(x)) for pre-norm inputs.
        Mistake("residual_from_normalized", "your pre-norm output adds the sublayer to the NORMALIZED input; the residual carries x itself: x + sublayer(norm(x))", _enc_residual_from_normalized),
        Mistake("norm_placement_swapped", "your output equals the other norm placement: norm_first=False is post-norm, x = norm(x + sublayer(x)); norm_first=True is pre-norm, x = x + sublayer(norm(x))", _enc_norm_placement_swapped),
        Mistake("unstable_softmax", f"your output equals the attention's softmax computed as {UNSTABLE_SOFTMAX}", unless_right(_enc_unstable_softmax, encoder_formula)),
        Mistake("mask_fill_1e9", f"your output equals masking the attention scores with a large finite number: {FINITE_MASK_FILL}", unless_right(_enc_mask_fill_1e9, encoder_formula)),
        Mistake("mask_fill_1e4", f"your output equals masking the attention scores with a large finite number: {FINITE_MASK_FILL}", unless_right(_enc_mask_fill_1e4, encoder_formula)),
        Mistake("mask_inverted", "your output uses nn.Transformer's mask polarity (True = blocked); here True means 'may attend'", _enc_mask_inverted),
        Mistake("norm1_twice", "your output uses norm1 for both sublayers; the feed-forward sublayer has its own norm2", _enc_norm1_twice),
    ],
)

ENC_ARGS = ("x", "params", "num_heads", "norm_first", "mask")


def _enc_args(a: dict, **changes) -> tuple:
    return tuple(changes.get(name, a[name]) for name in ENC_ARGS)


@encoder_block.property("zero_sublayers_leave_residual", "with the attention's out_proj and linear2 set to zero, pre-norm returns x unchanged and post-norm returns norm2(norm1(x))", tier="public")
@given(a=gs.block_inputs())
def _enc_zero_sublayers(ctx: Context, a: dict) -> None:
    a = {**a, "params": _zero_sublayer_outputs(a["params"], ("self_attn.out_proj", "linear2"))}
    got = ctx.call(*_enc_args(a))
    x, p = a["x"], a["params"]
    expected = x.clone() if a["norm_first"] else _ln(_ln(x, p, "norm1"), p, "norm2")
    ctx.assert_close(got, expected, inputs=_block_shown(a, ENC_ARGS))


@encoder_block.property("permutation_equivariant", "without a mask, permuting the positions of x permutes the outputs (the block has no notion of order)", tier="public")
@given(a=gs.block_inputs(mask_kind="none"), seed=gs.seeds())
def _enc_permutation_equivariant(ctx: Context, a: dict, seed: int) -> None:
    out = ctx.call(*_enc_args(a))
    perm = torch.randperm(a["x"].shape[1], generator=gs.generator(seed))
    got = ctx.call(*_enc_args(a, x=a["x"][:, perm]))
    ctx.assert_close(got, out[:, perm], inputs=_block_shown(a, ENC_ARGS), what="the output for permuted positions")


@encoder_block.property("mask_blocks_attention", "with a causal (L, L) or (B, L, L) mask, changing the tokens after position t leaves the outputs up to t unchanged", tier="public")
@given(a=gs.block_inputs(min_len=2), data=st.data())
def _enc_mask_blocks_attention(ctx: Context, a: dict, data: st.DataObject) -> None:
    length = a["x"].shape[1]
    # A random mask (or none) restricted to the past; the diagonal keeps every row non-empty.
    mask = _causal(length) if a["mask"] is None else (a["mask"] & _causal(length)) | torch.eye(length, dtype=torch.bool)
    a = {**a, "mask": mask}
    t = data.draw(st.integers(0, length - 2), label="t")
    out = ctx.call(*_enc_args(a))
    x2 = a["x"].clone()
    x2[:, t + 1 :] = gs.make_tensor(x2[:, t + 1 :].shape, x2.dtype, data.draw(gs.seeds(), label="seed"))
    got = ctx.call(*_enc_args(a, x=x2))
    ctx.assert_close(got[:, : t + 1], out[:, : t + 1], inputs={**_block_shown(a, ENC_ARGS), "t": t}, what=f"the outputs at positions 0..{t} after changing later tokens")


@encoder_block.property("dtype_contract", "the result has x's shape (B, L, d) and dtype, float32 or float64", tier="public")
@given(a=gs.block_inputs())
def _enc_dtype_contract(ctx: Context, a: dict) -> None:
    got = ctx.call(*_enc_args(a))
    shown = _block_shown(a, ENC_ARGS)
    ctx.check(isinstance(got, torch.Tensor) and got.shape == a["x"].shape, f"expected shape {tuple(a['x'].shape)}, got {getattr(got, 'shape', type(got).__name__)}", inputs=shown)
    ctx.check(got.dtype == a["x"].dtype, f"x was {a['x'].dtype}, the result is {got.dtype}", inputs=shown)


def torch_encoder_layer(a: dict) -> torch.Tensor:
    """The oracle: nn.TransformerEncoderLayer(dropout=0, batch_first=True) loaded with the params."""
    p, h = a["params"], a["num_heads"]
    d_ff, d = p["linear1.weight"].shape
    layer = nn.TransformerEncoderLayer(d, h, d_ff, dropout=0.0, activation="relu", batch_first=True, norm_first=a["norm_first"], dtype=a["x"].dtype)
    layer.load_state_dict(p)  # train mode (dropout 0) keeps torch off its fused inference path
    with torch.no_grad():
        return layer(a["x"], src_mask=torch_attn_mask(a["mask"], h))


@encoder_block.property("matches_torch_layer", "the output equals nn.TransformerEncoderLayer(dropout=0, batch_first=True) loaded with params, in both norm_first settings, with and without masks", tier="hidden")
@given(a=gs.block_inputs())
def _enc_matches_torch(ctx: Context, a: dict) -> None:
    ctx.assert_close(ctx.call(*_enc_args(a)), torch_encoder_layer(a), inputs=_block_shown(a, ENC_ARGS))


@encoder_block.property("matches_reference", "the output equals the reference on random inputs, in both norm_first settings, with and without masks", tier="hidden")
@given(a=gs.block_inputs())
def _enc_matches_reference(ctx: Context, a: dict) -> None:
    ctx.assert_close(ctx.call(*_enc_args(a)), ctx.ref(*_enc_args(a)), inputs=_block_shown(a, ENC_ARGS))


@encoder_block.property("gradients_match", "gradients with respect to x equal the reference's", tier="hidden")
@given(a=gs.block_inputs(), seed=gs.seeds())
def _enc_gradients_match(ctx: Context, a: dict, seed: int) -> None:
    g_out = gs.make_tensor(tuple(a["x"].shape), a["x"].dtype, seed)
    _, grads = ctx.student.vjp(ctx.exercise.name, _enc_args(a), g_out, [0])
    x = a["x"].clone().requires_grad_(True)
    expected = torch.autograd.grad(ctx.ref(*_enc_args(a, x=x)), (x,), g_out)
    ctx.assert_close(tuple(grads["inputs"]), expected, inputs=_block_shown(a, ENC_ARGS), what="the gradient dx")


@encoder_block.property("stable_for_extreme_scores", "post-norm, with attention scores of ±1e2–1e4, or −1e5/−1e10 at the visible keys next to masked ones, the output is finite and equals the exact block: masked keys stay ignored", tier="public")
@given(a=gs.block_extreme_inputs())
@example(a=gs.extreme_block(b=1, length=2, d_ff=2, heads=(1, 4), dtype=torch.float32, seed=0, c=-(2.0**34)))  # beats a −1e9 fill
def _enc_stable_for_extreme_scores(ctx: Context, a: dict) -> None:
    got = ctx.call(*_enc_args(a))
    expected = encoder_formula(*_enc_args(_as_float64(a))).to(a["x"].dtype)
    assert_stable(ctx, got, expected, inputs=_extreme_shown(a, ENC_ARGS), what="the output", formula=_extreme_formula(a, got))
