"""vit.unpatchify: patches back to images, the inverse of patchify; its properties and
known mistakes.
"""

from __future__ import annotations

from typing import Any

import torch
from hypothesis import example, given

from grader import strategies as gs
from grader.properties.api import Context, Exercise, Mistake
from grader.properties.vit._shared import _block_patches, _forget_calls
from grader.properties.vit.strategies import vit_images


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


unpatchify = Exercise(
    "vit.unpatchify",
    mistakes=[
        Mistake("channel_first", "your output reads each patch as (channel, row, column); patchify flattened it in (row, column, channel) order", _unpatchify_channel_first),
        Mistake("no_permute", "your output is a plain reshape of the patches; undo patchify's permutation: (B, h, w, P, P, C) -> (B, C, h, P, w, P)", _unpatchify_no_permute),
        Mistake("column_major", "your output places patches down the columns of the grid first; patch i goes to grid row i // (W/P) and column i % (W/P)", _unpatchify_column_major),
    ],
)


def _unpatchify_args(a: dict[str, Any]) -> tuple[torch.Tensor, int, int, int, int]:
    images, p = a["images"], a["patch_size"]
    _, c, height, width = images.shape
    return _block_patches(images, p), p, c, height, width


def _unpatchify_shown(args: tuple[Any, ...]) -> dict[str, Any]:
    return dict(zip(("patches", "patch_size", "channels", "height", "width"), args))


@unpatchify.property("inverts_patchify", "unpatchify of the patches of an image gives back the image (also non-square)", tier="public")
@given(a=vit_images())
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
@given(a=vit_images(), seed=gs.seeds())
def _unpatchify_gradient(ctx: Context, a: dict[str, Any], seed: int) -> None:
    args = _unpatchify_args(a)
    g = gs.make_tensor(tuple(a["images"].shape), a["images"].dtype, seed)
    value, grads = ctx.student.vjp(ctx.exercise.name, args, g, [0])
    ctx.assert_close(value, a["images"], inputs=_unpatchify_shown(args), what="the image")
    _forget_calls(ctx)
    ctx.assert_close(grads["inputs"][0], _block_patches(g, a["patch_size"]), inputs=_unpatchify_shown(args), what="the gradient with respect to the patches")


@unpatchify.property("dtype_contract", "the image keeps the patches' dtype, float32 or float64", tier="public")
@given(a=vit_images())
def _unpatchify_dtype(ctx: Context, a: dict[str, Any]) -> None:
    args = _unpatchify_args(a)
    got = ctx.call(*args)
    _forget_calls(ctx)
    ctx.check(getattr(got, "dtype", None) == args[0].dtype, f"the patches were {args[0].dtype}, the image is {getattr(got, 'dtype', type(got).__name__)}", inputs=_unpatchify_shown(args))


@unpatchify.property("matches_reference", "unpatchify equals the reference on random patches (also non-square grids)", tier="hidden")
@given(a=vit_images(), seed=gs.seeds())
def _unpatchify_matches_reference(ctx: Context, a: dict[str, Any], seed: int) -> None:
    _, p, c, height, width = _unpatchify_args(a)
    patches = gs.make_tensor((a["images"].shape[0], (height // p) * (width // p), p * p * c), a["images"].dtype, seed)
    args = (patches, p, c, height, width)
    ctx.assert_close(ctx.call(*args), ctx.ref(*args), inputs=_unpatchify_shown(args))

