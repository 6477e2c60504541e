"""Properties and known mistakes of ``pixelcnn.causal_mask``."""

from __future__ import annotations

from functools import partial
from typing import Any

import torch
from hypothesis import example, given
from hypothesis import strategies as st

from grader.properties.api import Context, Exercise, Mistake
from grader.properties.pixelcnn import strategies as gs
from grader.properties.pixelcnn._shared import (
    CENTRE_IGNORES_CHANNELS,
    GROUPS_INTERLEAVED,
    RGB_6,
    ROWS_BELOW_KEPT,
    TYPES_SWAPPED,
    _mask_centre_ignores_channels,
    _mask_groups_interleaved,
    _mask_rows_below_kept,
    _mask_types_swapped,
    mask_by_loop,
    mask_formula,
    visible,
)

_mask_groups_reversed = partial(mask_formula, reversed_groups=True)


causal = Exercise(
    "pixelcnn.causal_mask",
    mistakes=[
        Mistake("types_swapped", TYPES_SWAPPED, _mask_types_swapped),
        Mistake("rows_below_kept", ROWS_BELOW_KEPT, _mask_rows_below_kept),
        Mistake("centre_ignores_channels", CENTRE_IGNORES_CHANNELS, _mask_centre_ignores_channels),
        Mistake("groups_interleaved", GROUPS_INTERLEAVED, _mask_groups_interleaved),
        Mistake("groups_reversed", "your centre block is transposed: output group g sees the LATER groups; the mask is (out, in, k, k), and output group g may only see input groups before it (and itself for type B)", _mask_groups_reversed),
    ],
)


def _first_difference(got: torch.Tensor, expected: torch.Tensor) -> tuple[int, ...] | None:
    diff = (got != expected).nonzero()
    return tuple(int(i) for i in diff[0]) if len(diff) else None


def _call_mask(ctx: Context, cfg: dict[str, Any]) -> torch.Tensor:
    """The student's mask for a config, checked to be a tensor of the right shape."""
    got = ctx.call(*gs.mask_args(cfg))
    k = cfg["kernel_size"]
    shape = (cfg["out_channels"], cfg["in_channels"], k, k)
    ctx.check(isinstance(got, torch.Tensor) and tuple(got.shape) == shape, f"expected a tensor of shape (out, in, k, k) = {shape}, got {getattr(got, 'shape', type(got).__name__)}", inputs=cfg)
    return got.float()


@causal.property("float32_of_weight_shape", "the mask is a float32 tensor of 0s and 1s of shape (out_channels, in_channels, k, k), nn.Conv2d's weight layout", tier="public")
@given(cfg=gs.mask_configs())
def _float32_of_weight_shape(ctx: Context, cfg: dict[str, Any]) -> None:
    got = ctx.call(*gs.mask_args(cfg))
    k = cfg["kernel_size"]
    shape = (cfg["out_channels"], cfg["in_channels"], k, k)
    ctx.check(isinstance(got, torch.Tensor), f"expected a tensor, got {type(got).__name__}", inputs=cfg)
    ctx.check(tuple(got.shape) == shape and got.dtype == torch.float32, f"expected float32 of shape {shape}, got {got.dtype} of shape {tuple(got.shape)}", inputs=cfg)
    ctx.check(bool(((got == 0) | (got == 1)).all()), f"mask entries must be 0 or 1, got values {sorted(set(got.flatten().tolist()))[:6]}", inputs=cfg)


@causal.property("raster_order_off_centre", "away from the centre, the mask is 1 on every row above the centre row and left of the centre in its row, 0 right of it and on every row below, for every pair of channels", tier="public")
@given(cfg=gs.mask_configs())
@example(cfg={"kernel_size": 3, "mask_type": "A", "in_channels": 1, "out_channels": 1, "color_groups": 1})
def _raster_order_off_centre(ctx: Context, cfg: dict[str, Any]) -> None:
    got = _call_mask(ctx, cfg)
    expected = mask_by_loop(*gs.mask_args(cfg))
    centre = cfg["kernel_size"] // 2
    got[:, :, centre, centre] = expected[:, :, centre, centre]  # the centre has its own property
    where = _first_difference(got, expected)
    if where is not None:
        o, c, di, dj = where
        side = "before" if visible(0, 0, di - centre, dj - centre, "A") else "after"
        ctx.fail(f"mask[{o}, {c}, {di}, {dj}] is {got[where]:g}: kernel position ({di}, {dj}) is {side} the centre ({centre}, {centre}) in raster order, so it should be {expected[where]:g}", inputs=cfg)


@causal.property("centre_colour_groups", "at the centre, output group g sees input group h exactly when h < g (type A) or h ≤ g (type B), with channels in contiguous groups", tier="public")
@given(cfg=gs.mask_configs())
@example(cfg=RGB_6)
@example(cfg={**RGB_6, "mask_type": "B", "in_channels": 3})
def _centre_colour_groups(ctx: Context, cfg: dict[str, Any]) -> None:
    got = _call_mask(ctx, cfg)
    centre = cfg["kernel_size"] // 2
    got_centre, expected = got[:, :, centre, centre], mask_by_loop(*gs.mask_args(cfg))[:, :, centre, centre]  # (out, in)
    where = _first_difference(got_centre, expected)
    if where is not None:
        o, c = where
        g, h = o // (cfg["out_channels"] // cfg["color_groups"]), c // (cfg["in_channels"] // cfg["color_groups"])
        ctx.fail(f"centre entry mask[{o}, {c}] is {got_centre[where]:g}: output channel {o} is in group {g}, input channel {c} in group {h}, so type {cfg['mask_type']} needs {expected[where]:g}", inputs=cfg)


@causal.property("known_answer", "a k×k one-channel mask keeps (k² − 1)/2 weights for type A and (k² + 1)/2 for type B; the 3×3 type-A mask is [[1, 1, 1], [1, 0, 0], [0, 0, 0]]; for RGB the 1×1 centre is strictly lower triangular (A) or lower triangular (B)", tier="public")
@given(kernel_size=st.sampled_from((1, 3, 5, 7)), mask_type=st.sampled_from(("A", "B")))
def _mask_known_answer(ctx: Context, kernel_size: int, mask_type: str) -> None:
    b = float(mask_type == "B")
    one = {"kernel_size": 3, "mask_type": mask_type, "in_channels": 1, "out_channels": 1, "color_groups": 1}
    expected3 = torch.tensor([[[[1.0, 1.0, 1.0], [1.0, b, 0.0], [0.0, 0.0, 0.0]]]])
    ctx.assert_close(_call_mask(ctx, one), expected3, inputs=one, what="the 3×3 mask")
    rgb = {"kernel_size": 1, "mask_type": mask_type, "in_channels": 3, "out_channels": 3, "color_groups": 3}
    expected_rgb = torch.ones(3, 3).tril(diagonal=0 if b else -1).reshape(3, 3, 1, 1)
    ctx.assert_close(_call_mask(ctx, rgb), expected_rgb, inputs=rgb, what="the 1×1 RGB mask (rows: output R, G, B; columns: input R, G, B)")
    cfg = {**one, "kernel_size": kernel_size}
    kept = _call_mask(ctx, cfg).sum().item()
    expected = (kernel_size**2 + (1 if b else -1)) / 2
    ctx.check(kept == expected, f"a {kernel_size}×{kernel_size} type-{mask_type} mask should keep {expected:g} weights, yours keeps {kept:g}", inputs=cfg)


@causal.property("type_b_adds_only_same_group_centre", "the type-B mask equals the type-A mask plus 1 at the centre wherever the output and input channels are in the same colour group", tier="public")
@given(cfg=gs.mask_configs())
@example(cfg=RGB_6)
def _type_b_adds_same_group(ctx: Context, cfg: dict[str, Any]) -> None:
    mask_a = _call_mask(ctx, {**cfg, "mask_type": "A"})
    mask_b = _call_mask(ctx, {**cfg, "mask_type": "B"})
    per_out, per_in = cfg["out_channels"] // cfg["color_groups"], cfg["in_channels"] // cfg["color_groups"]
    same = (torch.arange(cfg["out_channels"]) // per_out).unsqueeze(1) == (torch.arange(cfg["in_channels"]) // per_in).unsqueeze(0)  # (out, in)
    expected = torch.zeros_like(mask_a)
    centre = cfg["kernel_size"] // 2
    expected[:, :, centre, centre] = same.float()
    ctx.assert_close(mask_b - mask_a, expected, inputs=cfg, what="type B − type A (expected: 1 at the centre for same-group channel pairs, 0 elsewhere)")


@causal.property("matches_reference", "the mask equals the reference for random kernel sizes, types, channel counts and colour groups", tier="hidden")
@given(cfg=gs.mask_configs())
def _mask_matches_reference(ctx: Context, cfg: dict[str, Any]) -> None:
    ctx.assert_close(ctx.call(*gs.mask_args(cfg)), ctx.ref(*gs.mask_args(cfg)), inputs=cfg)
