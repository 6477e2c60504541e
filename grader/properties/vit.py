"""Properties of the vision-transformer exercises (q40–q42).

The convention (MAE's patchify) is stated block by block: patch i is the image block at grid
row i // (W/P) and grid column i % (W/P), flattened in (row, column, channel) order. The
judge builds expected values with that loop, independent of any reshape trick.
"""

from __future__ import annotations

from typing import Any

import torch
from hypothesis import example, given

from grader import strategies as gs
from grader.properties.api import Context, Exercise, Mistake

# ----------------------------------------------------------------------------- the convention, block by block


def _block_patches(images: torch.Tensor, p: int) -> torch.Tensor:
    """(B, C, H, W) -> (B, N, P·P·C) by a loop over patches."""
    b, _, height, width = images.shape
    cols = width // p
    patches = []
    for i in range((height // p) * cols):
        row, col = i // cols, i % cols
        block = images[:, :, row * p : (row + 1) * p, col * p : (col + 1) * p]  # (B, C, P, P)
        patches.append(block.permute(0, 2, 3, 1).reshape(b, -1))  # (row, column, channel) order
    return torch.stack(patches, dim=1)


def _block_image(patches: torch.Tensor, p: int, channels: int, height: int, width: int) -> torch.Tensor:
    """(B, N, P·P·C) -> (B, C, H, W) by a loop over patches: the inverse of _block_patches."""
    b = patches.shape[0]
    cols = width // p
    images = torch.zeros(b, channels, height, width, dtype=patches.dtype)
    for i in range(patches.shape[1]):
        row, col = i // cols, i % cols
        images[:, :, row * p : (row + 1) * p, col * p : (col + 1) * p] = patches[:, i].reshape(b, p, p, channels).permute(0, 3, 1, 2)
    return images


def _forget_calls(ctx: Context) -> None:
    """The checks that follow are about gradients or dtypes, not values: forget the recorded
    calls, so that a failure names no value-level mistake (one may coincide with the right
    values on this input). Values are checked, with diagnoses, before this is called."""
    ctx.student.calls.clear()


# ----------------------------------------------------------------------------- known mistakes


def _grid(images, p):
    b, c, height, width = images.shape
    return b, c, height // p, width // p


def _patchify_channel_first(images, patch_size):
    b, c, h, w = _grid(images, patch_size)
    p = patch_size
    return images.reshape(b, c, h, p, w, p).permute(0, 2, 4, 1, 3, 5).reshape(b, h * w, c * p * p)


def _patchify_no_permute(images, patch_size):
    b, c, h, w = _grid(images, patch_size)
    return images.reshape(b, h * w, patch_size * patch_size * c)


def _patchify_column_major(images, patch_size):
    b, c, h, w = _grid(images, patch_size)
    p = patch_size
    return images.reshape(b, c, h, p, w, p).permute(0, 4, 2, 3, 5, 1).reshape(b, h * w, p * p * c)


def _unpatchify_channel_first(patches, patch_size, channels, height, width):
    b, p = patches.shape[0], patch_size
    h, w = height // p, width // p
    return patches.reshape(b, h, w, channels, p, p).permute(0, 3, 1, 4, 2, 5).reshape(b, channels, height, width)


def _unpatchify_no_permute(patches, patch_size, channels, height, width):
    return patches.reshape(patches.shape[0], channels, height, width)


def _unpatchify_column_major(patches, patch_size, channels, height, width):
    b, p = patches.shape[0], patch_size
    h, w = height // p, width // p
    return patches.reshape(b, w, h, p, p, channels).permute(0, 5, 2, 3, 1, 4).reshape(b, channels, height, width)


patchify = Exercise(
    "vit.patchify",
    mistakes=[
        Mistake("channel_first", "your patches are flattened in (channel, row, column) order (the layout of a Conv2d weight); MAE's patchify flattens each patch in (row, column, channel) order", _patchify_channel_first),
        Mistake("no_permute", "your output is a plain reshape of the image, so a 'patch' is a run of consecutive pixels of one channel; split H and W into (grid, offset) and permute before flattening", _patchify_no_permute),
        Mistake("column_major", "your patches run down the columns of the grid first; patch i is at grid row i // (W/P) and column i % (W/P) (row-major)", _patchify_column_major),
    ],
)

unpatchify = Exercise(
    "vit.unpatchify",
    mistakes=[
        Mistake("channel_first", "your output reads each patch as (channel, row, column); patchify flattened it in (row, column, channel) order", _unpatchify_channel_first),
        Mistake("no_permute", "your output is a plain reshape of the patches; undo patchify's permutation: (B, h, w, P, P, C) -> (B, C, h, P, w, P)", _unpatchify_no_permute),
        Mistake("column_major", "your output places patches down the columns of the grid first; patch i goes to grid row i // (W/P) and column i % (W/P)", _unpatchify_column_major),
    ],
)


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

# ----------------------------------------------------------------------------- patchify


@patchify.property("patch_is_image_block", "patch i is the image block at grid row i // (W/P), column i % (W/P), flattened in (row, column, channel) order", tier="public")
@given(a=gs.vit_images())
@example(a={"images": torch.arange(2 * 2 * 4, dtype=torch.float64).reshape(1, 2, 2, 4), "patch_size": 2})
def _patch_is_image_block(ctx: Context, a: dict[str, Any]) -> None:
    got = ctx.call(a["images"], a["patch_size"])
    ctx.assert_close(got, _block_patches(a["images"], a["patch_size"]), inputs=a, what="the patch tensor")


@patchify.property("known_answer", "for a 1×2×4 image of 0…15 and P = 2, patch 0 is (0, 8, 1, 9, 4, 12, 5, 13) and patch 1 is (2, 10, 3, 11, 6, 14, 7, 15)", tier="public")
@given(dtype=gs.float_dtypes())
def _patchify_known_answer(ctx: Context, dtype: torch.dtype) -> None:
    images = torch.arange(16, dtype=dtype).reshape(1, 2, 2, 4)  # channel 0 holds 0…7, channel 1 holds 8…15
    expected = torch.tensor([[[0, 8, 1, 9, 4, 12, 5, 13], [2, 10, 3, 11, 6, 14, 7, 15]]], dtype=dtype)
    ctx.assert_close(ctx.call(images, 2), expected, inputs={"images": images, "patch_size": 2})


@patchify.property("gradient_returns_to_pixels", "patchify only moves values, so the gradient of each patch entry lands on the pixel it came from", tier="public")
@given(a=gs.vit_images(), seed=gs.seeds())
def _patchify_gradient(ctx: Context, a: dict[str, Any], seed: int) -> None:
    images, p = a["images"], a["patch_size"]
    expected = _block_patches(images, p)
    g = gs.make_tensor(tuple(expected.shape), images.dtype, seed)
    value, grads = ctx.student.vjp(ctx.exercise.name, (images, p), g, [0])
    ctx.assert_close(value, expected, inputs=a, what="the patch tensor")
    _forget_calls(ctx)
    _, c, height, width = images.shape
    ctx.assert_close(grads["inputs"][0], _block_image(g, p, c, height, width), inputs=a, what="the gradient with respect to the images")


@patchify.property("dtype_contract", "the patches keep the images' dtype, float32 or float64", tier="public")
@given(a=gs.vit_images())
def _patchify_dtype(ctx: Context, a: dict[str, Any]) -> None:
    got = ctx.call(a["images"], a["patch_size"])
    _forget_calls(ctx)
    ctx.check(getattr(got, "dtype", None) == a["images"].dtype, f"the images were {a['images'].dtype}, the patches are {getattr(got, 'dtype', type(got).__name__)}", inputs=a)


@patchify.property("matches_reference", "patchify equals the reference on random (also non-square) images", tier="hidden")
@given(a=gs.vit_images())
def _patchify_matches_reference(ctx: Context, a: dict[str, Any]) -> None:
    ctx.assert_close(ctx.call(a["images"], a["patch_size"]), ctx.ref(a["images"], a["patch_size"]), inputs=a)


# ----------------------------------------------------------------------------- unpatchify


def _unpatchify_args(a: dict[str, Any]) -> tuple[torch.Tensor, int, int, int, int]:
    images, p = a["images"], a["patch_size"]
    _, c, height, width = images.shape
    return _block_patches(images, p), p, c, height, width


def _unpatchify_shown(args: tuple[Any, ...]) -> dict[str, Any]:
    return dict(zip(("patches", "patch_size", "channels", "height", "width"), args))


@unpatchify.property("inverts_patchify", "unpatchify of the patches of an image gives back the image (also non-square)", tier="public")
@given(a=gs.vit_images())
@example(a={"images": torch.arange(2 * 2 * 4, dtype=torch.float64).reshape(1, 2, 2, 4), "patch_size": 2})
@example(a={"images": torch.arange(2 * 4 * 2, dtype=torch.float64).reshape(1, 2, 4, 2), "patch_size": 1})
def _inverts_patchify(ctx: Context, a: dict[str, Any]) -> None:
    args = _unpatchify_args(a)
    ctx.assert_close(ctx.call(*args), a["images"], inputs=_unpatchify_shown(args), what="the image")


@unpatchify.property("known_answer", "patches (0, 8, 1, 9, 4, 12, 5, 13) and (2, 10, 3, 11, 6, 14, 7, 15) with P = 2 make the 1×2×4 image of 0…15", tier="public")
@given(dtype=gs.float_dtypes())
def _unpatchify_known_answer(ctx: Context, dtype: torch.dtype) -> None:
    patches = torch.tensor([[[0, 8, 1, 9, 4, 12, 5, 13], [2, 10, 3, 11, 6, 14, 7, 15]]], dtype=dtype)
    args = (patches, 2, 2, 2, 4)
    ctx.assert_close(ctx.call(*args), torch.arange(16, dtype=dtype).reshape(1, 2, 2, 4), inputs=_unpatchify_shown(args), what="the image")


@unpatchify.property("gradient_returns_to_patches", "unpatchify only moves values, so the gradient of each pixel lands on the patch entry it came from", tier="public")
@given(a=gs.vit_images(), seed=gs.seeds())
def _unpatchify_gradient(ctx: Context, a: dict[str, Any], seed: int) -> None:
    args = _unpatchify_args(a)
    g = gs.make_tensor(tuple(a["images"].shape), a["images"].dtype, seed)
    value, grads = ctx.student.vjp(ctx.exercise.name, args, g, [0])
    ctx.assert_close(value, a["images"], inputs=_unpatchify_shown(args), what="the image")
    _forget_calls(ctx)
    ctx.assert_close(grads["inputs"][0], _block_patches(g, a["patch_size"]), inputs=_unpatchify_shown(args), what="the gradient with respect to the patches")


@unpatchify.property("dtype_contract", "the image keeps the patches' dtype, float32 or float64", tier="public")
@given(a=gs.vit_images())
def _unpatchify_dtype(ctx: Context, a: dict[str, Any]) -> None:
    args = _unpatchify_args(a)
    got = ctx.call(*args)
    _forget_calls(ctx)
    ctx.check(getattr(got, "dtype", None) == args[0].dtype, f"the patches were {args[0].dtype}, the image is {getattr(got, 'dtype', type(got).__name__)}", inputs=_unpatchify_shown(args))


@unpatchify.property("matches_reference", "unpatchify equals the reference on random patches (also non-square grids)", tier="hidden")
@given(a=gs.vit_images(), seed=gs.seeds())
def _unpatchify_matches_reference(ctx: Context, a: dict[str, Any], seed: int) -> None:
    _, p, c, height, width = _unpatchify_args(a)
    patches = gs.make_tensor((a["images"].shape[0], (height // p) * (width // p), p * p * c), a["images"].dtype, seed)
    args = (patches, p, c, height, width)
    ctx.assert_close(ctx.call(*args), ctx.ref(*args), inputs=_unpatchify_shown(args))


# ----------------------------------------------------------------------------- embed_patches

_EMBED_ARGS = ("images", "patch_size", "weight", "bias", "cls_token", "pos_embed")


def _embed_args(a: dict[str, Any], **override: Any) -> tuple[Any, ...]:
    return tuple(override.get(k, a[k]) for k in _EMBED_ARGS)


def _tokens_shape(ctx: Context, got: Any, a: dict[str, Any]) -> torch.Tensor:
    n, e = a["pos_embed"].shape
    shape = (a["images"].shape[0], n, e)
    ctx.check(isinstance(got, torch.Tensor) and tuple(got.shape) == shape, f"expected tokens of shape (B, N+1, E) = {shape}, got {getattr(got, 'shape', type(got).__name__)}", inputs=a)
    return got


@embed_patches.property("cls_token_first", "token 0 of every image is cls_token + pos_embed[0], whatever the image", tier="public")
@given(a=gs.vit_embed_inputs())
def _cls_token_first(ctx: Context, a: dict[str, Any]) -> None:
    got = _tokens_shape(ctx, ctx.call(*_embed_args(a)), a)
    expected = (a["cls_token"] + a["pos_embed"][0]).expand(got.shape[0], -1)
    ctx.assert_close(got[:, 0], expected, inputs=a, what="token 0 (expected cls_token + pos_embed[0])")


@embed_patches.property("position_embedding_on_every_token", "changing pos_embed by Δ changes every token, the CLS token included, by exactly Δ", tier="public")
@given(a=gs.vit_embed_inputs())
def _position_on_every_token(ctx: Context, a: dict[str, Any]) -> None:
    zero = torch.zeros_like(a["pos_embed"])
    without = _tokens_shape(ctx, ctx.call(*_embed_args(a, pos_embed=zero)), a)
    with_pos = _tokens_shape(ctx, ctx.call(*_embed_args(a)), a)  # the last call: a failure is diagnosed on it
    rtol, atol = ctx.tolerance(a["images"].dtype)
    ctx.assert_close(with_pos - without, a["pos_embed"].expand_as(with_pos), inputs=a, what="tokens(pos_embed) − tokens(0) (expected pos_embed on every token)", rtol=rtol, atol=10 * atol)


@embed_patches.property("tokens_project_patches", "token 1 + i is patch i times weight plus bias plus pos_embed[1 + i]", tier="public")
@given(a=gs.vit_embed_inputs())
def _tokens_project_patches(ctx: Context, a: dict[str, Any]) -> None:
    got = _tokens_shape(ctx, ctx.call(*_embed_args(a)), a)
    expected = _block_patches(a["images"], a["patch_size"]) @ a["weight"] + a["bias"] + a["pos_embed"][1:]
    ctx.assert_close(got[:, 1:], expected, inputs=a, what="the block of patch tokens 1…N")


@embed_patches.property("dtype_contract", "the tokens keep the inputs' dtype, float32 or float64", tier="public")
@given(a=gs.vit_embed_inputs())
def _embed_dtype(ctx: Context, a: dict[str, Any]) -> None:
    got = ctx.call(*_embed_args(a))
    _forget_calls(ctx)
    ctx.check(getattr(got, "dtype", None) == a["images"].dtype, f"the inputs were {a['images'].dtype}, the tokens are {getattr(got, 'dtype', type(got).__name__)}", inputs=a)


@embed_patches.property("matches_reference", "the tokens equal the reference on random images and parameters (also non-square)", tier="hidden")
@given(a=gs.vit_embed_inputs())
def _embed_matches_reference(ctx: Context, a: dict[str, Any]) -> None:
    ctx.assert_close(ctx.call(*_embed_args(a)), ctx.ref(*_embed_args(a)), inputs=a)


@embed_patches.property("gradients_match", "gradients with respect to the images, weight, bias, cls_token and pos_embed equal the reference's", tier="hidden")
@given(a=gs.vit_embed_inputs(), seed=gs.seeds())
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
