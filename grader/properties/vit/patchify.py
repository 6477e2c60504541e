"""vit.patchify: (B, C, H, W) images to (B, N, P·P·C) patches in MAE's order; its
properties and known mistakes.
"""

from __future__ import annotations

from typing import Any

import torch
from hypothesis import example, given

from grader import strategies as gs
from grader.properties.api import Context, Exercise, Mistake
from grader.properties.vit._shared import _block_patches, _forget_calls, _grid, _patchify_channel_first
from grader.properties.vit.strategies import vit_images


def _block_image(patches: torch.Tensor, p: int, channels: int, height: int, width: int) -> torch.Tensor:
    """(B, N, P·P·C) -> (B, C, H, W) by a loop over patches: the inverse of _block_patches."""
    b = patches.shape[0]
    cols = width // p
    images = torch.zeros(b, channels, height, width, dtype=patches.dtype)
    for i in range(patches.shape[1]):
        row, col = i // cols, i % cols
        images[:, :, row * p : (row + 1) * p, col * p : (col + 1) * p] = patches[:, i].reshape(b, p, p, channels).permute(0, 3, 1, 2)
    return images


def _patchify_no_permute(images, patch_size):
    b, c, h, w = _grid(images, patch_size)
    return images.reshape(b, h * w, patch_size * patch_size * c)


def _patchify_column_major(images, patch_size):
    b, c, h, w = _grid(images, patch_size)
    p = patch_size
    return images.reshape(b, c, h, p, w, p).permute(0, 4, 2, 3, 5, 1).reshape(b, h * w, p * p * c)


patchify = Exercise(
    "vit.patchify",
    mistakes=[
        Mistake("channel_first", "your patches are flattened in (channel, row, column) order (the layout of a Conv2d weight); MAE's patchify flattens each patch in (row, column, channel) order", _patchify_channel_first),
        Mistake("no_permute", "your output is a plain reshape of the image, so a 'patch' is a run of consecutive pixels of one channel; split H and W into (grid, offset) and permute before flattening", _patchify_no_permute),
        Mistake("column_major", "your patches run down the columns of the grid first; patch i is at grid row i // (W/P) and column i % (W/P) (row-major)", _patchify_column_major),
    ],
)


@patchify.property("patch_is_image_block", "patch i is the image block at grid row i // (W/P), column i % (W/P), flattened in (row, column, channel) order", tier="public")
@given(a=vit_images())
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
@given(a=vit_images(), seed=gs.seeds())
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
@given(a=vit_images())
def _patchify_dtype(ctx: Context, a: dict[str, Any]) -> None:
    got = ctx.call(a["images"], a["patch_size"])
    _forget_calls(ctx)
    ctx.check(getattr(got, "dtype", None) == a["images"].dtype, f"the images were {a['images'].dtype}, the patches are {getattr(got, 'dtype', type(got).__name__)}", inputs=a)


@patchify.property("matches_reference", "patchify equals the reference on random (also non-square) images", tier="hidden")
@given(a=vit_images())
def _patchify_matches_reference(ctx: Context, a: dict[str, Any]) -> None:
    ctx.assert_close(ctx.call(a["images"], a["patch_size"]), ctx.ref(a["images"], a["patch_size"]), inputs=a)

