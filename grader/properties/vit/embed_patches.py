"""vit.embed_patches: patches projected to tokens, a class token first, position
embeddings on every token; its properties and known mistakes.
"""

from __future__ import annotations

from typing import Any

import torch
from hypothesis import given

from grader import strategies as gs
from grader.properties.api import Context, Exercise, Mistake
from grader.properties.vit._shared import _block_patches, _forget_calls, _patchify_channel_first
from grader.properties.vit.strategies import vit_embed_inputs


def _embed_no_pos_on_cls(images, patch_size, weight, bias, cls_token, pos_embed):
    tokens = _block_patches(images, patch_size) @ weight + bias + pos_embed[1:]
    return torch.cat([cls_token.expand(images.shape[0], 1, -1), tokens], dim=1)


def _embed_cls_last(images, patch_size, weight, bias, cls_token, pos_embed):
    tokens = _block_patches(images, patch_size) @ weight + bias
    return torch.cat([tokens, cls_token.expand(images.shape[0], 1, -1)], dim=1) + pos_embed


def _embed_channel_first(images, patch_size, weight, bias, cls_token, pos_embed):
    tokens = _patchify_channel_first(images, patch_size) @ weight + bias
    return torch.cat([cls_token.expand(images.shape[0], 1, -1), tokens], dim=1) + pos_embed


def _embed_pos_before_cls(images, patch_size, weight, bias, cls_token, pos_embed):
    tokens = _block_patches(images, patch_size) @ weight + bias + pos_embed[:-1]
    return torch.cat([cls_token.expand(images.shape[0], 1, -1), tokens], dim=1)


embed_patches = Exercise(
    "vit.embed_patches",
    mistakes=[
        Mistake("no_position_on_cls", "your CLS token gets no position embedding (pos_embed[1:] on the patches only, timm's no_embed_class); the course adds pos_embed (N+1, E) to all tokens, CLS included", _embed_no_pos_on_cls),
        Mistake("cls_last", "your CLS token is the last token; prepend it, so that it is token 0", _embed_cls_last),
        Mistake("channel_first_patches", "your tokens project patches flattened in (channel, row, column) order; use patchify's (row, column, channel) order, which the weight's rows follow", _embed_channel_first),
        Mistake("pos_before_cls", "your patches get pos_embed[:N] and the CLS token none; pos_embed[0] belongs to the CLS token and pos_embed[1 + i] to patch i", _embed_pos_before_cls),
    ],
)


_EMBED_ARGS = ("images", "patch_size", "weight", "bias", "cls_token", "pos_embed")


def _embed_args(a: dict[str, Any], **override: Any) -> tuple[Any, ...]:
    return tuple(override.get(k, a[k]) for k in _EMBED_ARGS)


def _tokens_shape(ctx: Context, got: Any, a: dict[str, Any]) -> torch.Tensor:
    n, e = a["pos_embed"].shape
    shape = (a["images"].shape[0], n, e)
    ctx.check(isinstance(got, torch.Tensor) and tuple(got.shape) == shape, f"expected tokens of shape (B, N+1, E) = {shape}, got {getattr(got, 'shape', type(got).__name__)}", inputs=a)
    return got


@embed_patches.property("cls_token_first", "token 0 of every image is cls_token + pos_embed[0], whatever the image", tier="public")
@given(a=vit_embed_inputs())
def _cls_token_first(ctx: Context, a: dict[str, Any]) -> None:
    got = _tokens_shape(ctx, ctx.call(*_embed_args(a)), a)
    expected = (a["cls_token"] + a["pos_embed"][0]).expand(got.shape[0], -1)
    ctx.assert_close(got[:, 0], expected, inputs=a, what="token 0 (expected cls_token + pos_embed[0])")


@embed_patches.property("position_embedding_on_every_token", "changing pos_embed by Δ changes every token, the CLS token included, by exactly Δ", tier="public")
@given(a=vit_embed_inputs())
def _position_on_every_token(ctx: Context, a: dict[str, Any]) -> None:
    zero = torch.zeros_like(a["pos_embed"])
    without = _tokens_shape(ctx, ctx.call(*_embed_args(a, pos_embed=zero)), a)
    with_pos = _tokens_shape(ctx, ctx.call(*_embed_args(a)), a)  # the last call: a failure is diagnosed on it
    rtol, atol = ctx.tolerance(a["images"].dtype)
    ctx.assert_close(with_pos - without, a["pos_embed"].expand_as(with_pos), inputs=a, what="tokens(pos_embed) − tokens(0) (expected pos_embed on every token)", rtol=rtol, atol=10 * atol)


@embed_patches.property("tokens_project_patches", "token 1 + i is patch i times weight plus bias plus pos_embed[1 + i]", tier="public")
@given(a=vit_embed_inputs())
def _tokens_project_patches(ctx: Context, a: dict[str, Any]) -> None:
    got = _tokens_shape(ctx, ctx.call(*_embed_args(a)), a)
    expected = _block_patches(a["images"], a["patch_size"]) @ a["weight"] + a["bias"] + a["pos_embed"][1:]
    ctx.assert_close(got[:, 1:], expected, inputs=a, what="the block of patch tokens 1…N")


@embed_patches.property("dtype_contract", "the tokens keep the inputs' dtype, float32 or float64", tier="public")
@given(a=vit_embed_inputs())
def _embed_dtype(ctx: Context, a: dict[str, Any]) -> None:
    got = ctx.call(*_embed_args(a))
    _forget_calls(ctx)
    ctx.check(getattr(got, "dtype", None) == a["images"].dtype, f"the inputs were {a['images'].dtype}, the tokens are {getattr(got, 'dtype', type(got).__name__)}", inputs=a)


@embed_patches.property("matches_reference", "the tokens equal the reference on random images and parameters (also non-square)", tier="hidden")
@given(a=vit_embed_inputs())
def _embed_matches_reference(ctx: Context, a: dict[str, Any]) -> None:
    ctx.assert_close(ctx.call(*_embed_args(a)), ctx.ref(*_embed_args(a)), inputs=a)


@embed_patches.property("gradients_match", "gradients with respect to the images, weight, bias, cls_token and pos_embed equal the reference's", tier="hidden")
@given(a=vit_embed_inputs(), seed=gs.seeds())
def _embed_gradients(ctx: Context, a: dict[str, Any], seed: int) -> None:
    g = gs.make_tensor((a["images"].shape[0], *a["pos_embed"].shape), a["images"].dtype, seed)
    value, grads = ctx.student.vjp(ctx.exercise.name, _embed_args(a), g, [0, 2, 3, 4, 5])
    leaves = {k: a[k].clone().requires_grad_(True) for k in ("images", "weight", "bias", "cls_token", "pos_embed")}
    out = ctx.ref(*_embed_args(a, **leaves))
    ctx.assert_close(value, out, inputs=a)
    _forget_calls(ctx)
    expected = torch.autograd.grad(out, list(leaves.values()), g)
    for name, got, e in zip(leaves, grads["inputs"], expected):
        ctx.check(got is not None, f"no gradient reached {name}: is it detached, or used through .data / .item()?", inputs=a)
        ctx.assert_close(got, e, inputs=a, what=f"the gradient with respect to {name}")

