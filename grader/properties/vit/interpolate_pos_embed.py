"""vit.interpolate_pos_embed: position embeddings resized to another patch grid (timm's
resample_abs_pos_embed, antialias=False); its properties and known mistakes.

The public properties need no reference: prefix rows are kept, equal grids change nothing,
embedding dims are resized independently, a grid that varies along rows only (columns only)
still does after resizing when the order is row-major, and float64 stays float64 all the way
(checked against F.interpolate written directly). The hidden ones compare values and
gradients with the reference.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from hypothesis import example, given

from grader import strategies as gs
from grader.properties.api import Context, Exercise, Mistake
from grader.properties.judge_only import judge_only
from grader.properties.vit._shared import _forget_calls
from grader.properties.vit.strategies import pos_embed_inputs


@judge_only
def _resize(pos_embed, old_grid, new_grid, num_prefix_tokens=1, *, grid_start=None, order="row", mode="bicubic", align_corners=False, antialias=False, size=None):
    """The resize with one known mistake switched on (the defaults give the right result)."""
    (h, w), (nh, nw) = old_grid, new_grid
    e = pos_embed.shape[1]
    start = num_prefix_tokens if grid_start is None else grid_start
    prefix, rows = pos_embed[:num_prefix_tokens], pos_embed[start : start + h * w]
    if order == "row":
        grid = rows.reshape(1, h, w, e).permute(0, 3, 1, 2)
    elif order == "column":
        grid = rows.reshape(1, w, h, e).permute(0, 3, 2, 1)  # cell (r, c) read from row c·H + r
    else:  # "no_permute": the (H·W, E) rows reinterpreted as (E, H, W) without moving the axes
        grid = rows.reshape(1, e, h, w)
    out = F.interpolate(grid, size=size or (nh, nw), mode=mode, align_corners=align_corners, antialias=antialias)
    oh, ow = out.shape[-2:]
    if order == "row":
        out = out.permute(0, 2, 3, 1).reshape(oh * ow, e)
    elif order == "column":
        out = out.permute(0, 3, 2, 1).reshape(oh * ow, e)
    else:
        out = out.reshape(oh * ow, e)
    return torch.cat([prefix, out], dim=0)


def _pos_cls_in_grid(pos_embed, old_grid, new_grid, num_prefix_tokens=1):
    return _resize(pos_embed, old_grid, new_grid, num_prefix_tokens, grid_start=0)


def _pos_column_major(pos_embed, old_grid, new_grid, num_prefix_tokens=1):
    return _resize(pos_embed, old_grid, new_grid, num_prefix_tokens, order="column")


def _pos_no_permute(pos_embed, old_grid, new_grid, num_prefix_tokens=1):
    return _resize(pos_embed, old_grid, new_grid, num_prefix_tokens, order="no_permute")


def _pos_align_corners(pos_embed, old_grid, new_grid, num_prefix_tokens=1):
    return _resize(pos_embed, old_grid, new_grid, num_prefix_tokens, align_corners=True)


def _pos_bilinear(pos_embed, old_grid, new_grid, num_prefix_tokens=1):
    return _resize(pos_embed, old_grid, new_grid, num_prefix_tokens, mode="bilinear")


def _pos_antialiased(pos_embed, old_grid, new_grid, num_prefix_tokens=1):
    return _resize(pos_embed, old_grid, new_grid, num_prefix_tokens, antialias=True)


def _pos_size_swapped(pos_embed, old_grid, new_grid, num_prefix_tokens=1):
    return _resize(pos_embed, old_grid, new_grid, num_prefix_tokens, size=(new_grid[1], new_grid[0]))


interpolate_pos_embed = Exercise(
    "vit.interpolate_pos_embed",
    mistakes=[
        Mistake("cls_in_grid", "your grid starts at row 0, so the CLS token was interpolated with the patches (and the last patch left out); split off the first num_prefix_tokens rows and keep them as they are", _pos_cls_in_grid),
        Mistake("column_major_grid", "your grid reads row num_prefix_tokens + i as cell (i % H, i // H), column-major; patch tokens are row-major: cell (i // W, i % W), so reshape to (H, W, E) and permute to (E, H, W)", _pos_column_major),
        Mistake("reshape_without_permute", "your grid is pos_embed's rows reshaped straight to (1, E, H, W), which mixes embedding dims and positions; reshape to (1, H, W, E), then permute to (1, E, H, W) (and back)", _pos_no_permute),
        Mistake("align_corners", "your resize uses align_corners=True; timm (and the course) use align_corners=False", _pos_align_corners),
        Mistake("bilinear", "your resize is bilinear; timm's resample_abs_pos_embed (and the course) use mode='bicubic'", _pos_bilinear),
        Mistake("antialiased", "your resize is antialiased (timm's default antialias=True); the course resizes with antialias=False", _pos_antialiased),
        Mistake("size_swapped", "your resize target is (W', H'); new_grid is (height, width), F.interpolate's size order", _pos_size_swapped),
    ],
)


_ARGS = ("pos_embed", "old_grid", "new_grid", "num_prefix_tokens")


def _args(a: dict[str, Any], **override: Any) -> tuple[Any, ...]:
    return tuple(override.get(k, a[k]) for k in _ARGS)


def _expected_shape(a: dict[str, Any]) -> tuple[int, int]:
    nh, nw = a["new_grid"]
    return (a["num_prefix_tokens"] + nh * nw, a["pos_embed"].shape[1])


def _resized(ctx: Context, a: dict[str, Any]) -> torch.Tensor:
    got = ctx.call(*_args(a))
    shape = _expected_shape(a)
    ctx.check(isinstance(got, torch.Tensor) and tuple(got.shape) == shape, f"expected (num_prefix_tokens + H'·W', E) = {shape}, got {getattr(got, 'shape', type(got).__name__)}", inputs=a)
    return got


def _example(old_grid: tuple[int, int], new_grid: tuple[int, int]) -> dict[str, Any]:
    return {"pos_embed": gs.make_tensor((1 + old_grid[0] * old_grid[1], 3), torch.float64, 7), "old_grid": old_grid, "new_grid": new_grid, "num_prefix_tokens": 1}


def _direct(a: dict[str, Any]) -> torch.Tensor:
    """F.interpolate written directly, in the input's dtype (the judge's own oracle)."""
    pos, p = a["pos_embed"], a["num_prefix_tokens"]
    (h, w), (nh, nw) = a["old_grid"], a["new_grid"]
    grid = pos[p:].reshape(1, h, w, -1).permute(0, 3, 1, 2)
    grid = F.interpolate(grid, size=(nh, nw), mode="bicubic", align_corners=False, antialias=False)
    return torch.cat([pos[:p], grid.permute(0, 2, 3, 1).reshape(nh * nw, -1)])


@interpolate_pos_embed.property("prefix_rows_kept", "the result has num_prefix_tokens + H'·W' rows, the first num_prefix_tokens (CLS) exactly as they were", tier="public")
@given(a=pos_embed_inputs())
def _pos_prefix(ctx: Context, a: dict[str, Any]) -> None:
    got = _resized(ctx, a)
    p = a["num_prefix_tokens"]
    ctx.assert_close(got[:p], a["pos_embed"][:p], inputs=a, what=f"the first {p} rows (the prefix tokens)")


@interpolate_pos_embed.property("equal_grids_change_nothing", "resizing to the same grid returns pos_embed's values", tier="public")
@given(a=pos_embed_inputs(same_grid=True))
def _pos_same_grid(ctx: Context, a: dict[str, Any]) -> None:
    ctx.assert_close(_resized(ctx, a), a["pos_embed"], inputs=a, what="the result for new_grid == old_grid")


@interpolate_pos_embed.property("embedding_dims_resized_independently", "each embedding dim is its own image channel: permuting pos_embed's columns permutes the result's columns the same way", tier="public")
@given(a=pos_embed_inputs(min_embed=2), seed=gs.seeds())
def _pos_channels(ctx: Context, a: dict[str, Any], seed: int) -> None:
    perm = torch.randperm(a["pos_embed"].shape[1], generator=gs.generator(seed))
    permuted = _resized(ctx, {**a, "pos_embed": a["pos_embed"][:, perm]})
    got = _resized(ctx, a)  # the last call: a failure is diagnosed on it
    ctx.assert_close(got[:, perm], permuted, inputs={**a, "column permutation": perm}, what="result[:, perm] against the result for pos_embed[:, perm]")


@interpolate_pos_embed.property("row_major_grid", "row p + i is grid cell (i // W, i % W): a grid that varies along rows only (columns only) still does after resizing", tier="public")
@given(a=pos_embed_inputs(min_side=2), seed=gs.seeds())
def _pos_row_major(ctx: Context, a: dict[str, Any], seed: int) -> None:
    pos, p = a["pos_embed"], a["num_prefix_tokens"]
    (h, w), (nh, nw) = a["old_grid"], a["new_grid"]
    e = pos.shape[1]
    for axis, count in (("row", h), ("column", w)):
        values = gs.make_tensor((count, e), pos.dtype, seed + (axis == "column"))  # one vector per grid row (column)
        index = torch.arange(h * w) // w if axis == "row" else torch.arange(h * w) % w
        case = {**a, "pos_embed": torch.cat([pos[:p], values[index]])}
        grid = _resized(ctx, case)[p:].reshape(nh, nw, e)
        flat = grid[:, :1].expand_as(grid) if axis == "row" else grid[:1].expand_as(grid)
        what = f"the resized grid of an embedding that varies along grid {axis}s only (it should still be constant along each {axis})"
        ctx.assert_close(grid, flat, inputs=case, what=what)


@interpolate_pos_embed.property("dtype_contract", "the result keeps pos_embed's dtype, float32 or float64", tier="public")
@given(drawn=pos_embed_inputs())
def _pos_dtype(ctx: Context, drawn: dict[str, Any]) -> None:
    for dtype in gs.FLOAT_DTYPES:
        a = {**drawn, "pos_embed": drawn["pos_embed"].to(dtype)}
        got = ctx.call(*_args(a))
        _forget_calls(ctx)
        ctx.check(getattr(got, "dtype", None) == dtype, f"pos_embed was {dtype}, the result is {getattr(got, 'dtype', type(got).__name__)}", inputs=a)


@interpolate_pos_embed.property("float64_interpolated_in_float64", "a float64 pos_embed is resized in float64 (not in float32, as timm does): differences of 1e-6 between positions survive", tier="public")
@given(drawn=pos_embed_inputs(), seed=gs.seeds())
def _pos_float64(ctx: Context, drawn: dict[str, Any], seed: int) -> None:
    pos = 1 + 1e-6 * gs.make_tensor(tuple(drawn["pos_embed"].shape), torch.float64, seed)  # float32 keeps ~1e-7 of it
    a = {**drawn, "pos_embed": pos}
    got = _resized(ctx, a)
    ctx.check(got.dtype == torch.float64, f"pos_embed was float64, the result is {got.dtype}", inputs=a)
    ctx.assert_close(got - 1, _direct(a) - 1, inputs=a, what="result − 1 (the small differences between positions)", rtol=1e-6, atol=1e-13)


@interpolate_pos_embed.property("matches_reference", "the result equals the reference for random grids, larger and smaller, square or not, with 0, 1 or 2 prefix tokens", tier="hidden")
@given(a=pos_embed_inputs())
@example(a=_example((2, 3), (4, 5)))  # generic grids first: each value mistake is told apart there
@example(a=_example((5, 4), (3, 2)))  # a smaller grid: antialiasing shows only when downsampling
def _pos_matches_reference(ctx: Context, a: dict[str, Any]) -> None:
    ctx.assert_close(_resized(ctx, a), ctx.ref(*_args(a)), inputs=a)


@interpolate_pos_embed.property("gradients_match", "the gradient with respect to pos_embed equals the reference's (prefix rows pass theirs through unchanged)", tier="hidden")
@given(a=pos_embed_inputs(), seed=gs.seeds())
def _pos_gradients(ctx: Context, a: dict[str, Any], seed: int) -> None:
    g = gs.make_tensor(_expected_shape(a), a["pos_embed"].dtype, seed)
    value, grads = ctx.student.vjp(ctx.exercise.name, _args(a), g, [0])
    leaf = a["pos_embed"].clone().requires_grad_(True)
    out = ctx.ref(*_args(a, pos_embed=leaf))
    ctx.assert_close(value, out.detach(), inputs=a)
    _forget_calls(ctx)
    (expected,) = torch.autograd.grad(out, leaf, g)
    (got,) = grads["inputs"]
    ctx.check(got is not None, "no gradient reached pos_embed: is it detached, or copied with .data / torch.tensor(...)?", inputs=a)
    ctx.assert_close(got, expected, inputs=a, what="the gradient with respect to pos_embed")
