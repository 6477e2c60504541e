"""Properties of the pixelcnn exercises: causal masks, masked convolutions, raster-order
sampling (q30–q33).

MaskedConv2d is a class exercise: the judge builds the student's layer (``ctx.new``), moves it
with ``.to``, reads and loads its weights with ``state_dict`` / ``load_state_dict`` calls and
probes its Jacobian with vector-Jacobian products. ``sample`` is stochastic: it is graded on the
mock models of ``grader.fixtures``, whose logits make the order of its calls and draws show in
the image, and by seeded statistical tests on large batches.
"""

from __future__ import annotations

import itertools
import math
from functools import partial
from typing import Any

import torch
import torch.nn.functional as F
from hypothesis import example, given, settings
from hypothesis import strategies as st
from torch import nn

from grader import fixtures
from grader import strategies as gs
from grader.properties import MAX_EXAMPLES
from grader.properties.api import Context, Exercise, Mistake
from grader.stats import FALSE_FAILURE_PER_EXAMPLE, implausible

# ============================================================================ the rule, written out


def visible(out_group: int, in_group: int, di: int, dj: int, mask_type: str) -> bool:
    """May an output of group ``out_group`` see an input of group ``in_group`` at offset (di, dj)
    from its own pixel? Raster order: earlier rows, or the same row further left; at the pixel
    itself only earlier colour groups (type A), or earlier and its own (type B)."""
    if (di, dj) != (0, 0):
        return di < 0 or (di == 0 and dj < 0)
    return in_group < out_group if mask_type == "A" else in_group <= out_group


def mask_by_loop(kernel_size: int, mask_type: str, in_channels: int = 1, out_channels: int = 1, color_groups: int = 1) -> torch.Tensor:
    """The causal mask (out, in, k, k) entry by entry from ``visible`` (an independent statement)."""
    centre = kernel_size // 2
    per_out, per_in = out_channels // color_groups, in_channels // color_groups
    rows = [
        [[[float(visible(o // per_out, c // per_in, di - centre, dj - centre, mask_type)) for dj in range(kernel_size)] for di in range(kernel_size)] for c in range(in_channels)]
        for o in range(out_channels)
    ]
    return torch.tensor(rows, dtype=torch.float32)


def _cfg_shown(a: dict[str, Any]) -> dict[str, Any]:
    return {name: a[name] for name in ("kernel_size", "mask_type", "in_channels", "out_channels", "color_groups")}


# ============================================================================ causal_mask
# ----------------------------------------------------------------------------- known mistakes


def mask_formula(kernel_size, mask_type, in_channels=1, out_channels=1, color_groups=1, *, swap_types=False, rows_below=False, centre_channels=True, interleaved=False, reversed_groups=False):
    """The causal mask from slices, as students write it; the keyword switches produce the known mistakes."""
    centre = kernel_size // 2
    mask = torch.zeros(out_channels, in_channels, kernel_size, kernel_size)
    mask[:, :, :centre, :] = 1
    mask[:, :, centre, :centre] = 1
    if rows_below:  # started from ones and only cleared the right half of the centre row
        mask[:, :, centre + 1 :, :] = 1
    type_a = (mask_type == "A") != swap_types
    if interleaved:  # channel c in group c mod G (R, G, B, R, G, B, …)
        out_group, in_group = torch.arange(out_channels) % color_groups, torch.arange(in_channels) % color_groups
    else:
        out_group, in_group = torch.arange(out_channels) // (out_channels // color_groups), torch.arange(in_channels) // (in_channels // color_groups)
    first, second = (out_group.unsqueeze(0), in_group.unsqueeze(1)) if reversed_groups else (in_group.unsqueeze(0), out_group.unsqueeze(1))
    seen = first < second if type_a else first <= second  # (out, in), or (in, out) when reversed
    if reversed_groups:
        seen = seen.T
    if not centre_channels:  # the single-channel mask: the centre all 0 (A) or all 1 (B)
        seen = torch.full((out_channels, in_channels), not type_a)
    mask[:, :, centre, centre] = seen.float()
    return mask


_mask_types_swapped = partial(mask_formula, swap_types=True)
_mask_rows_below_kept = partial(mask_formula, rows_below=True)
_mask_centre_ignores_channels = partial(mask_formula, centre_channels=False)
_mask_groups_interleaved = partial(mask_formula, interleaved=True)
_mask_groups_reversed = partial(mask_formula, reversed_groups=True)

TYPES_SWAPPED = "your mask has type A and B the other way round: type A (first layer) hides the centre pixel's own colour group, type B (later layers) lets each group see itself"
ROWS_BELOW_KEPT = "your mask keeps the rows below the centre: only the right half of the centre row was cleared; every row below the centre is in the raster future and must be 0"
CENTRE_IGNORES_CHANNELS = "your centre ignores colour groups (all 0 for type A, all 1 for type B, the one-channel mask); at the centre output group g sees input groups < g (A) or ≤ g (B)"
GROUPS_INTERLEAVED = "your colour groups are interleaved (channel c in group c mod G); here groups are contiguous blocks: channel c of n is in group c // (n / G), as R, G, B feature blocks"

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

RGB_6 = {"kernel_size": 3, "mask_type": "A", "in_channels": 6, "out_channels": 6, "color_groups": 3}


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


# ============================================================================ MaskedConv2d
# ----------------------------------------------------------------------------- known mistakes


class _Layer(nn.Conv2d):
    """MaskedConv2d step by step; each known mistake overrides one step.

    The worker seeds torch's global generator with 0 before it builds the student's layer, and
    nn.Conv2d draws its initial weight from it. A diagnosis replays the student's latest call on
    a fresh mistake layer in the judge: built here from the same seed, it starts from the same
    weights (under a forked RNG, so the judge's own random state is left alone).
    """

    padding_of = staticmethod(lambda k: k // 2)
    mask_of = staticmethod(mask_formula)

    def __init__(self, in_channels, out_channels, kernel_size, mask_type, color_groups=1):
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            super().__init__(in_channels, out_channels, kernel_size, padding=self.padding_of(kernel_size))
        self.register_buffer("mask", self.mask_of(kernel_size, mask_type, in_channels, out_channels, color_groups), persistent=False)

    def forward(self, x):
        return self._conv_forward(x, self.weight * self.mask, self.bias)


class _LayerTypesSwapped(_Layer):
    mask_of = staticmethod(_mask_types_swapped)


class _LayerRowsBelowKept(_Layer):
    mask_of = staticmethod(_mask_rows_below_kept)


class _LayerCentreIgnoresChannels(_Layer):
    mask_of = staticmethod(_mask_centre_ignores_channels)


class _LayerGroupsInterleaved(_Layer):
    mask_of = staticmethod(_mask_groups_interleaved)


class _LayerNoPadding(_Layer):
    padding_of = staticmethod(lambda k: 0)


class _LayerMaskOnlyAtInit(_Layer):
    """Masks the stored weight once in __init__ and convolves with it as it is."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        with torch.no_grad():
            self.weight.mul_(self.mask)

    def forward(self, x):
        return nn.Conv2d.forward(self, x)


MASK_ONLY_AT_INIT = (
    "your layer convolves with the stored weight itself (masked once in __init__, or through weight.data), so masked weights get a gradient "
    "and an optimizer step brings them back; compute self.weight * self.mask inside forward, every call"
)

conv = Exercise(
    "pixelcnn.MaskedConv2d",
    mistakes=[
        # First: its forward on a fresh layer is right, so it matches exactly when the outputs are
        # right and the gradients are not; every other mistake changes the fresh layer's output.
        Mistake("mask_only_at_init", MASK_ONLY_AT_INIT, _LayerMaskOnlyAtInit),
        Mistake("types_swapped", TYPES_SWAPPED, _LayerTypesSwapped),
        Mistake("no_padding", "your output is smaller than the input: pass padding=kernel_size // 2 to nn.Conv2d, so that the output keeps H × W and output pixel (i, j) sits over input pixel (i, j)", _LayerNoPadding),
        Mistake("rows_below_kept", ROWS_BELOW_KEPT, _LayerRowsBelowKept),
        Mistake("centre_ignores_channels", CENTRE_IGNORES_CHANNELS, _LayerCentreIgnoresChannels),
        Mistake("groups_interleaved", GROUPS_INTERLEAVED, _LayerGroupsInterleaved),
    ],
)

# ----------------------------------------------------------------------------- helpers


def _conv_shown(a: dict[str, Any], **more: Any) -> dict[str, Any]:
    return {**_cfg_shown(a), "x": a["x"], **more}


def _new_layer(ctx: Context, a: dict[str, Any], dtype: torch.dtype = torch.float32) -> Any:
    """The student's layer, built as MaskedConv2d(in, out, k, type, groups) and moved to ``dtype``."""
    layer = ctx.new(*gs.masked_conv_init(a))
    if dtype != torch.float32:
        layer.call("to", dtype)
    return layer


def _load(ctx: Context, layer: Any, weight: torch.Tensor, bias: torch.Tensor, shown: dict[str, Any]) -> None:
    """Load weight and bias into the student's layer, as an optimizer step would change them.

    strict=False: a persistent mask buffer is the state_dict property's business, not this one's.
    """
    result = layer.call("load_state_dict", {"weight": weight, "bias": bias}, strict=False)
    unexpected = result[1] if isinstance(result, tuple) and len(result) == 2 else ["weight", "bias"]
    ctx.check(not unexpected, f"load_state_dict found no parameter(s) {unexpected} in your layer: a MaskedConv2d is an nn.Conv2d (with bias), whose parameters are named weight and bias", inputs=shown)


def _forward(ctx: Context, layer: Any, x: torch.Tensor, out_channels: int, shown: dict[str, Any]) -> torch.Tensor:
    """The student's forward, checked to return (B, out, H, W) ("same" padding)."""
    out = layer(x)
    expected = (x.shape[0], out_channels, *x.shape[2:])
    ctx.check(isinstance(out, torch.Tensor) and tuple(out.shape) == expected, f"expected an output of shape (B, out, H, W) = {expected}, got {getattr(out, 'shape', type(out).__name__)}", inputs=shown)
    return out


def masked_conv(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, a: dict[str, Any]) -> torch.Tensor:
    """What the layer must compute: a 'same' convolution with weight · mask (the mask from the loop)."""
    mask = mask_by_loop(*gs.mask_args(a)).to(weight.dtype)
    return F.conv2d(x, weight * mask, bias, padding=a["kernel_size"] // 2)


def _jacobian(ctx: Context, layer: Any, a: dict[str, Any], dtype: torch.dtype) -> torch.Tensor:
    """∂out[o, i, j] / ∂x[c, i', j'] of the student's layer as (out, H, W, in, H, W), from one vjp.

    The layer is affine in x, and samples of a batch do not interact: sample n of a batch of
    out·H·W random images carries a one-hot output gradient at the n-th output entry.
    """
    _, c_in, h, w = a["x"].shape
    n = a["out_channels"] * h * w
    x = gs.make_tensor((n, c_in, h, w), dtype, a["seed"] + 3)
    probes = torch.eye(n, dtype=dtype).reshape(n, a["out_channels"], h, w)
    _, grads = layer.vjp("forward", (x,), probes, [0])
    g = grads["inputs"][0]
    ctx.check(g is not None, "no gradient reached the input: is forward computed under torch.no_grad() or detached?", inputs=_conv_shown(a))
    return g.reshape(a["out_channels"], h, w, c_in, h, w)


def _relation(a: dict[str, Any], h: int, w: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Bool (out, H, W, in, H, W): which inputs each output may depend on (``allowed``, within the
    kernel window) and which it must not (``future``: later in raster order, wherever they are)."""
    per_out, per_in = a["out_channels"] // a["color_groups"], a["in_channels"] // a["color_groups"]
    out_group = torch.arange(a["out_channels"]) // per_out
    in_group = torch.arange(a["in_channels"]) // per_in
    hidden_at_centre = in_group.unsqueeze(0) >= out_group.unsqueeze(1) if a["mask_type"] == "A" else in_group.unsqueeze(0) > out_group.unsqueeze(1)  # (out, in)
    mask = mask_by_loop(*gs.mask_args(a)) > 0  # (out, in, k, k)
    shape = (a["out_channels"], h, w, a["in_channels"], h, w)
    allowed, future = torch.zeros(shape, dtype=torch.bool), torch.zeros(shape, dtype=torch.bool)
    p, k = a["kernel_size"] // 2, a["kernel_size"]
    for i, j, i2, j2 in itertools.product(range(h), range(w), range(h), range(w)):
        if (i2, j2) > (i, j):
            future[:, i, j, :, i2, j2] = True
        elif (i2, j2) == (i, j):
            future[:, i, j, :, i2, j2] = hidden_at_centre
        if 0 <= i2 - i + p < k and 0 <= j2 - j + p < k:
            allowed[:, i, j, :, i2, j2] = mask[:, :, i2 - i + p, j2 - j + p]
    return allowed, future


def _describe(index: torch.Tensor, a: dict[str, Any]) -> str:
    o, i, j, c, i2, j2 = (int(v) for v in index)
    g, h = o // (a["out_channels"] // a["color_groups"]), c // (a["in_channels"] // a["color_groups"])
    text = f"output channel {o} (group {g}) at pixel ({i}, {j}) and input channel {c} (group {h}) at pixel ({i2}, {j2})"
    if (i, j) == (i2, j2):
        rule = "groups < g" if a["mask_type"] == "A" else "groups ≤ g"
        text += f" (the same pixel, where a type-{a['mask_type']} output of group g sees input {rule})"
    return text


# ----------------------------------------------------------------------------- properties


@conv.property("same_padding_shape", "a new layer maps float32 (B, in, H, W) to float32 (B, out, H, W): 'same' padding keeps H × W", tier="public")
@given(a=gs.masked_conv_inputs(dtype=torch.float32))
@example(a={**RGB_6, "kernel_size": 5, **gs.dense_conv_weights({**RGB_6, "kernel_size": 5}, torch.float32, 0), "x": torch.ones(1, 6, 4, 3), "seed": 0})
def _same_padding_shape(ctx: Context, a: dict[str, Any]) -> None:
    layer = _new_layer(ctx, a)
    out = _forward(ctx, layer, a["x"], a["out_channels"], _conv_shown(a))
    ctx.check(out.dtype == torch.float32, f"a float32 layer and input gave a {out.dtype} output", inputs=_conv_shown(a))


@conv.property("ignores_future_pixels", "a new layer's output at a pixel has zero derivative with respect to every later pixel in raster order and, at its own pixel, to the colour groups its type hides", tier="public")
@given(a=gs.masked_conv_inputs())
@example(a={**RGB_6, **gs.dense_conv_weights(RGB_6, torch.float32, 0), "x": torch.ones(1, 6, 3, 3), "seed": 0})
def _ignores_future_pixels(ctx: Context, a: dict[str, Any]) -> None:
    dtype = a["x"].dtype
    layer = _new_layer(ctx, a, dtype)  # its own initial weights: any causal layer passes with any weights
    _forward(ctx, layer, a["x"], a["out_channels"], _conv_shown(a))
    jac = _jacobian(ctx, layer, a, dtype)
    _, future = _relation(a, *a["x"].shape[2:])
    # Exactly 0 on the CPU; GPU kernels (Winograd, FFT) may leave rounding noise where the weight is 0.
    leaks = (future & (jac.abs() > ctx.tolerance(dtype)[1])).nonzero()
    if len(leaks):
        ctx.fail(f"{len(leaks)} derivatives that must be 0 are not, e.g. between {_describe(leaks[0], a)}: the output may not depend on that input in raster order", inputs=_conv_shown(a))


@conv.property("sees_every_earlier_pixel", "with no zero weight, each output depends on every input channel at every earlier pixel in its kernel window, and at its own pixel on the colour groups its type allows", tier="public")
@given(a=gs.masked_conv_inputs())
@example(a={**RGB_6, **gs.dense_conv_weights(RGB_6, torch.float32, 0), "x": torch.ones(1, 6, 3, 3), "seed": 0})
def _sees_every_earlier_pixel(ctx: Context, a: dict[str, Any]) -> None:
    dtype = a["x"].dtype
    layer = _new_layer(ctx, a, dtype)
    _load(ctx, layer, a["weight"], a["bias"], _conv_shown(a))
    _forward(ctx, layer, a["x"], a["out_channels"], _conv_shown(a))
    jac = _jacobian(ctx, layer, a, dtype)
    allowed, _ = _relation(a, *a["x"].shape[2:])
    blind = (allowed & (jac.abs() <= ctx.tolerance(dtype)[1])).nonzero()  # every loaded |weight| is ≥ 0.5
    if len(blind):
        ctx.fail(f"{len(blind)} derivatives are 0 that the mask allows, e.g. between {_describe(blind[0], a)}: that input is earlier in raster order (or an allowed group at the centre), so the output must see it", inputs=_conv_shown(a))


@conv.property("known_answer", "with all weights 1, bias 0 and an all-ones image, each output counts the inputs its mask lets it see inside the image: 4 in the middle of a 3×3 type-A layer with one channel, 5 for type B", tier="public")
@given(a=gs.masked_conv_inputs())
@example(a={"kernel_size": 3, "mask_type": "A", "in_channels": 1, "out_channels": 1, "color_groups": 1, **gs.dense_conv_weights({"kernel_size": 3, "out_channels": 1, "in_channels": 1}, torch.float32, 0), "x": torch.ones(1, 1, 3, 3), "seed": 0})
@example(a={"kernel_size": 3, "mask_type": "B", "in_channels": 1, "out_channels": 1, "color_groups": 1, **gs.dense_conv_weights({"kernel_size": 3, "out_channels": 1, "in_channels": 1}, torch.float32, 0), "x": torch.ones(1, 1, 3, 3), "seed": 0})
def _conv_known_answer(ctx: Context, a: dict[str, Any]) -> None:
    dtype = a["x"].dtype
    ones = torch.ones_like(a["x"])
    layer = _new_layer(ctx, a, dtype)
    _load(ctx, layer, torch.ones_like(a["weight"]), torch.zeros_like(a["bias"]), _conv_shown(a))
    got = _forward(ctx, layer, ones, a["out_channels"], _conv_shown(a, x=ones))
    allowed, _ = _relation(a, *ones.shape[2:])
    counts = allowed.sum(dim=(3, 4, 5)).to(dtype)  # (out, H, W): inputs each output sees
    ctx.assert_close(got, counts.expand_as(got), inputs=_conv_shown(a, x=ones), what="the count of visible inputs")


@conv.property("state_dict_has_conv_keys", "state_dict() has exactly nn.Conv2d's keys, weight (out, in, k, k) and bias (out,): the mask is not saved", tier="public")
@given(cfg=gs.mask_configs())
def _state_dict_keys(ctx: Context, cfg: dict[str, Any]) -> None:
    layer = ctx.new(*gs.masked_conv_init(cfg))
    state = layer.call("state_dict")
    ctx.check(isinstance(state, dict), f"state_dict() returned {type(state).__name__}, not a dict", inputs=cfg)
    ctx.check(set(state) == {"weight", "bias"}, f"state_dict() has keys {sorted(state)}; expected exactly ['bias', 'weight'] (register the mask with persistent=False, and subclass nn.Conv2d instead of wrapping one)", inputs=cfg)
    k = cfg["kernel_size"]
    shapes = {name: tuple(getattr(t, "shape", ())) for name, t in state.items()}
    expected = {"weight": (cfg["out_channels"], cfg["in_channels"], k, k), "bias": (cfg["out_channels"],)}
    ctx.check(shapes == expected, f"state_dict() shapes are {shapes}; expected {expected}", inputs=cfg)


@conv.property("mask_holds_after_weight_update", "after new unmasked weights are loaded (as an optimizer step changes them), the output is the 'same' convolution with weight · mask, again and again", tier="public")
@given(a=gs.masked_conv_inputs())
def _mask_holds_after_update(ctx: Context, a: dict[str, Any]) -> None:
    dtype = a["x"].dtype
    layer = _new_layer(ctx, a, dtype)
    for step, seed in enumerate((a["seed"], a["seed"] + 10)):
        params = gs.dense_conv_weights(a, dtype, seed)
        _load(ctx, layer, params["weight"], params["bias"], _conv_shown(a))
        got = _forward(ctx, layer, a["x"], a["out_channels"], _conv_shown(a))
        expected = masked_conv(a["x"], params["weight"], params["bias"], a)
        ctx.assert_close(got, expected, inputs=_conv_shown(a, weight=params["weight"]), what=f"the output after weight update {step + 1} (expected conv2d with weight · mask)")


@conv.property("forward_keeps_stored_weight", "forward never changes the stored weight and bias: state_dict() after a forward holds what was loaded", tier="public")
@given(a=gs.masked_conv_inputs())
def _forward_keeps_weight(ctx: Context, a: dict[str, Any]) -> None:
    layer = _new_layer(ctx, a, a["x"].dtype)
    _load(ctx, layer, a["weight"], a["bias"], _conv_shown(a))
    _forward(ctx, layer, a["x"], a["out_channels"], _conv_shown(a))
    state = layer.call("state_dict")
    ok = isinstance(state, dict) and isinstance(state.get("weight"), torch.Tensor)
    ctx.check(ok, "state_dict() has no weight tensor", inputs=_conv_shown(a))
    changed = int((state["weight"] != a["weight"]).sum())
    ctx.check(changed == 0, f"after one forward, {changed} entries of the stored weight differ from the loaded ones: multiply by the mask into a new tensor (weight * mask), never into weight.data", inputs=_conv_shown(a, weight=a["weight"]))
    ctx.assert_close(state.get("bias"), a["bias"], inputs=_conv_shown(a), what="the stored bias after a forward")


@conv.property("masked_weights_get_no_gradient", "a new layer's weight gradient is exactly 0 wherever the mask is 0 (so no optimizer step revives a masked weight) and the convolution's gradient elsewhere", tier="public")
@given(a=gs.masked_conv_inputs())
def _masked_weights_no_gradient(ctx: Context, a: dict[str, Any]) -> None:
    x = a["x"]
    layer = _new_layer(ctx, a, x.dtype)
    _forward(ctx, layer, x, a["out_channels"], _conv_shown(a))
    g_out = gs.make_tensor((x.shape[0], a["out_channels"], *x.shape[2:]), x.dtype, a["seed"] + 4)
    _, grads = layer.vjp("forward", (x,), g_out, ["params"])
    g_w = grads["params"].get("params.weight")
    ctx.check(isinstance(g_w, torch.Tensor), f"no gradient reached the parameter weight (gradients came for {sorted(grads['params'])})", inputs=_conv_shown(a))
    mask = mask_by_loop(*gs.mask_args(a)).to(x.dtype)
    revived = int(((mask == 0) & (g_w != 0)).sum())
    ctx.check(revived == 0, f"{revived} masked weights (mask 0) got a non-zero gradient: an optimizer step would change them", inputs=_conv_shown(a))
    expected = torch.nn.grad.conv2d_weight(x, tuple(g_w.shape), g_out, padding=a["kernel_size"] // 2) * mask
    ctx.assert_close(g_w, expected, inputs=_conv_shown(a), what="the weight gradient (expected: the convolution's weight gradient times the mask)")


@conv.property("dtype_contract", "a layer moved with .to(torch.float64) computes in float64: its output is float64 and equals the float64 masked convolution", tier="public")
@given(a=gs.masked_conv_inputs(dtype=torch.float64))
def _conv_dtype_contract(ctx: Context, a: dict[str, Any]) -> None:
    layer = _new_layer(ctx, a, torch.float64)
    _load(ctx, layer, a["weight"], a["bias"], _conv_shown(a))
    got = _forward(ctx, layer, a["x"], a["out_channels"], _conv_shown(a))
    ctx.check(got.dtype == torch.float64, f"the layer was moved to float64 and given float64 input, but returned {got.dtype}", inputs=_conv_shown(a))
    ctx.assert_close(got, masked_conv(a["x"], a["weight"], a["bias"], a), inputs=_conv_shown(a), what="the float64 output")


def _ref_layer(ctx: Context, a: dict[str, Any], dtype: torch.dtype) -> nn.Module:
    """The reference layer in the judge, with the same loaded weights."""
    layer = ctx.ref_impl()(*gs.masked_conv_init(a)).to(dtype)
    layer.load_state_dict({"weight": a["weight"], "bias": a["bias"]})
    return layer


@conv.property("matches_reference", "with the same weights loaded, the output equals the reference layer's on random inputs, in float32 and float64", tier="hidden")
@given(a=gs.masked_conv_inputs())
def _conv_matches_reference(ctx: Context, a: dict[str, Any]) -> None:
    dtype = a["x"].dtype
    layer = _new_layer(ctx, a, dtype)
    _load(ctx, layer, a["weight"], a["bias"], _conv_shown(a))
    got = _forward(ctx, layer, a["x"], a["out_channels"], _conv_shown(a))
    with torch.no_grad():
        expected = _ref_layer(ctx, a, dtype)(a["x"])
    ctx.assert_close(got, expected, inputs=_conv_shown(a))


@conv.property("gradients_match", "gradients with respect to the input, the weight and the bias equal the reference layer's", tier="hidden")
@given(a=gs.masked_conv_inputs())
def _conv_gradients_match(ctx: Context, a: dict[str, Any]) -> None:
    x = a["x"]
    layer = _new_layer(ctx, a, x.dtype)
    _load(ctx, layer, a["weight"], a["bias"], _conv_shown(a))
    _forward(ctx, layer, x, a["out_channels"], _conv_shown(a))
    g_out = gs.make_tensor((x.shape[0], a["out_channels"], *x.shape[2:]), x.dtype, a["seed"] + 5)
    _, grads = layer.vjp("forward", (x,), g_out, [0, "params"])
    ref = _ref_layer(ctx, a, x.dtype)
    xr = x.clone().requires_grad_(True)
    expected = torch.autograd.grad(ref(xr), (xr, ref.weight, ref.bias), g_out)
    got = (grads["inputs"][0], grads["params"].get("params.weight"), grads["params"].get("params.bias"))
    got = tuple(torch.zeros_like(e) if g is None else g for g, e in zip(got, expected))
    ctx.assert_close(got, expected, inputs=_conv_shown(a), what="the tuple of gradients (x, weight, bias)")


# ============================================================================ sample
# ----------------------------------------------------------------------------- statistics

# Seeded statistical tests (grader/stats.py) check each category (a value at a pixel, a whole image) with a
# Chernoff bound on its count: for a Binomial(n, p) count, P(n·KL(p̂ ‖ p) > t) ≤ 2·e^(−t) (one
# e^(−t) per tail). With t = ln(2K/δ) and a union bound over the K categories, a correct sampler
# fails one example with probability at most δ = 1e-9, so a grading run (at most 100 examples per
# property) fails a correct submission with probability below 1e-7.
DRAWS = 8192  # images per statistical example: one call, many independent draws


# ----------------------------------------------------------------------------- known mistakes


def raster_positions(channels: int, height: int, width: int) -> list[tuple[int, int, int]]:
    """(c, i, j) in raster order: rows, then columns, then channels."""
    return [(c, i, j) for i in range(height) for j in range(width) for c in range(channels)]


def _draw(logits: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    return torch.multinomial(torch.softmax(logits, dim=-1), 1, generator=generator).squeeze(1)


def _sample_in_order(model, shape, generator, positions):
    x = torch.zeros(shape, device=generator.device)
    with torch.no_grad():
        for c, i, j in positions:
            x[:, c, i, j] = _draw(model(x)[:, c, :, i, j], generator).to(x.dtype)
    return x


def _sample_column_major(model, shape, num_values, generator):
    _, channels, height, width = shape
    return _sample_in_order(model, shape, generator, [(c, i, j) for j in range(width) for i in range(height) for c in range(channels)])


def _sample_channel_outermost(model, shape, num_values, generator):
    _, channels, height, width = shape
    return _sample_in_order(model, shape, generator, [(c, i, j) for c in range(channels) for i in range(height) for j in range(width)])


def _sample_one_call_per_pixel(model, shape, num_values, generator):
    x = torch.zeros(shape, device=generator.device)
    with torch.no_grad():
        for i in range(shape[2]):
            for j in range(shape[3]):
                logits = model(x)  # reused for every channel of the pixel
                for c in range(shape[1]):
                    x[:, c, i, j] = _draw(logits[:, c, :, i, j], generator).to(x.dtype)
    return x


def _sample_greedy(model, shape, num_values, generator):
    x = torch.zeros(shape, device=generator.device)
    with torch.no_grad():
        for c, i, j in raster_positions(*shape[1:]):
            x[:, c, i, j] = model(x)[:, c, :, i, j].argmax(dim=-1).to(x.dtype)
    return x


def _sample_softmax_over_channels(model, shape, num_values, generator):
    x = torch.zeros(shape, device=generator.device)
    with torch.no_grad():
        for c, i, j in raster_positions(*shape[1:]):
            probs = torch.softmax(model(x), dim=1)  # dim 1 of (B, C, V, H, W) is the channel axis
            x[:, c, i, j] = torch.multinomial(probs[:, c, :, i, j], 1, generator=generator).squeeze(1).to(x.dtype)
    return x


def _sample_values_scaled(model, shape, num_values, generator):
    x = torch.zeros(shape, device=generator.device)
    with torch.no_grad():
        for c, i, j in raster_positions(*shape[1:]):
            x[:, c, i, j] = _draw(model(x)[:, c, :, i, j], generator).to(x.dtype) / (num_values - 1)
    return x


ORDER = "pixels row by row, left to right, and within a pixel the channels in order, with a fresh model call before each value"

sample_ex = Exercise(
    "pixelcnn.sample",
    mistakes=[
        Mistake("one_call_per_pixel", "your sampler calls the model once per pixel and draws all its channels from those logits; channel c depends on the channels < c just drawn at that pixel, so call the model again before each channel", _sample_one_call_per_pixel),
        Mistake("column_major", f"your sampler goes column by column (j outer, i inner); raster order is {ORDER}", _sample_column_major),
        Mistake("channel_outermost", f"your sampler draws a whole channel plane before the next channel (c outermost); raster order is {ORDER}", _sample_channel_outermost),
        Mistake("greedy_argmax", "your sampler takes the argmax of the logits (greedy decoding); draw from softmax(logits[:, c, :, i, j]), e.g. with torch.multinomial(probs, 1, generator=generator)", _sample_greedy),
        Mistake("softmax_over_channels", "your sampler takes the softmax over dim 1, the channel axis of (B, C, V, H, W) logits; the values are on dim 2: softmax(logits[:, c, :, i, j], dim=-1)", _sample_softmax_over_channels),
        Mistake("values_scaled", "your image holds value / (num_values − 1) (scaled to [0, 1]); x holds the drawn integers themselves, 0 … num_values − 1, stored as floats", _sample_values_scaled),
    ],
)

# ----------------------------------------------------------------------------- helpers


def _sample_shown(model: nn.Module, shape: tuple[int, ...], num_values: int, seed: int | None = None, **more: Any) -> dict[str, Any]:
    shown: dict[str, Any] = {"model": f"{type(model).__name__}({model.extra_repr()})", "shape": shape, "num_values": num_values}
    if seed is not None:
        shown["generator seed"] = seed
    return {**shown, **more}


def _image(ctx: Context, model: nn.Module, shape: tuple[int, int, int, int], num_values: int, seed: int, shown: dict[str, Any]) -> torch.Tensor:
    """The student's draw, checked to be a tensor of ``shape`` holding integers in [0, num_values)."""
    x = ctx.call(model, shape, num_values, gs.generator(seed))
    ctx.check(isinstance(x, torch.Tensor) and tuple(x.shape) == tuple(shape), f"expected a tensor of shape (B, C, H, W) = {tuple(shape)}, got {getattr(x, 'shape', type(x).__name__)}", inputs=shown)
    values = x.double()
    bad = ((values != values.round()) | (values < 0) | (values >= num_values)).nonzero()
    if len(bad):
        where = tuple(int(i) for i in bad[0])
        ctx.fail(f"x{list(where)} = {values[where].item():g}: every value must be an integer in [0, {num_values}), the index of the drawn value", inputs=shown)
    return x


def raster_argmax(model: nn.Module, shape: tuple[int, int, int, int]) -> torch.Tensor:
    """The image a deterministic (one-hot logits) model gives in raster order, with a naive loop."""
    x = torch.zeros(shape)
    for c, i, j in raster_positions(*shape[1:]):
        x[:, c, i, j] = model(x)[:, c, :, i, j].argmax(dim=-1).to(x.dtype)
    return x


def _first_mismatch(got: torch.Tensor, expected: torch.Tensor) -> tuple[int, int, int, int] | None:
    """The first (b, c, i, j) in raster order where the images differ."""
    _, channels, height, width = expected.shape
    for c, i, j in raster_positions(channels, height, width):
        rows = (got[:, c, i, j] != expected[:, c, i, j]).nonzero()
        if len(rows):
            return int(rows[0]), c, i, j
    return None


def joint_probabilities(model: nn.Module, chw: tuple[int, int, int], num_values: int) -> torch.Tensor:
    """Exact probabilities (V^n,) of every image (C, H, W) under raster-order sampling, by the chain rule:
    p(y) = Π_t softmax(model(y with the values from t on set to 0))[value y_t at pixel t].
    Image k is the k-th tuple of itertools.product(range(V), repeat=n) in raster order."""
    c, h, w = chw
    positions = raster_positions(c, h, w)
    images = torch.tensor(list(itertools.product(range(num_values), repeat=len(positions))), dtype=torch.long)  # (K, n)
    log_p = torch.zeros(len(images), dtype=torch.float64)
    x = torch.zeros(len(images), c, h, w)
    for t, (cc, i, j) in enumerate(positions):  # x holds the values before t
        logits = model(x)[:, cc, :, i, j].double()  # (K, V)
        log_p += logits.log_softmax(dim=-1).gather(1, images[:, t : t + 1]).squeeze(1)
        x[:, cc, i, j] = images[:, t].float()
    return log_p.exp()


def image_codes(x: torch.Tensor, num_values: int) -> torch.Tensor:
    """(B,) index of each image (C, H, W) among itertools.product(range(V), repeat=n), raster order."""
    _, c, h, w = x.shape
    code = torch.zeros(x.shape[0], dtype=torch.long)
    for cc, i, j in raster_positions(c, h, w):
        code = code * num_values + x[:, cc, i, j].long()
    return code


# ----------------------------------------------------------------------------- properties


# Images on which every known mistake draws differently from a correct sampler (C, H, W ≥ 2 and
# 64 rows; the models below are strongly order-dependent and, where random, never one-hot): a
# diagnosis then never names a mistake by coincidence when the values are right and only their
# dtype or grad mode is not.
DISCRIMINATING_SHAPES = gs.pixel_image_shapes(min_batch=64, max_batch=64, min_side=2)


@sample_ex.property("integer_values_as_floats", "the result has the requested shape (B, C, H, W), the default float dtype, and integer values in [0, num_values)", tier="public")
@given(shape=DISCRIMINATING_SHAPES, num_values=gs.dims(3, 6), dtype=gs.float_dtypes(), seed=gs.seeds())
def _integer_values(ctx: Context, shape: tuple[int, int, int, int], num_values: int, dtype: torch.dtype, seed: int) -> None:
    model = fixtures.PrefixHashModel(*shape[1:], num_values, seed, dtype, ties=2)  # each value: one of two, ½ each
    shown = _sample_shown(model, shape, num_values, seed + 1, logits_dtype=dtype)
    x = _image(ctx, model, shape, num_values, seed + 1, shown)
    default = torch.get_default_dtype()
    ctx.check(x.dtype == default, f"x should have the default float dtype {default} (whatever the logits' dtype), got {x.dtype}", inputs=shown)


@sample_ex.property("one_call_before_each_draw", f"the model is called H·W·C times, once before each value is drawn, in raster order: {ORDER} (a model whose n-th call puts all mass on value n shows the order in the image)", tier="public")
@given(shape=gs.pixel_image_shapes(max_batch=2), dtype=gs.float_dtypes())
@example(shape=(1, 3, 2, 2), dtype=torch.float32)
def _one_call_before_each_draw(ctx: Context, shape: tuple[int, int, int, int], dtype: torch.dtype) -> None:
    _, c, h, w = shape
    num_values = c * h * w + 1  # more values than draws: the image records each draw's call number
    model = fixtures.CallCounterModel(num_values, dtype)
    shown = _sample_shown(model, shape, num_values, 0, logits_dtype=dtype)
    x = _image(ctx, model, shape, num_values, 0, shown)
    expected = torch.zeros(shape)
    for t, (cc, i, j) in enumerate(raster_positions(c, h, w)):
        expected[:, cc, i, j] = t + 1  # the (t+1)-th call comes just before the t-th draw
    where = _first_mismatch(x, expected)
    if where is not None:
        b, cc, i, j = where
        ctx.fail(f"x[{b}, {cc}, {i}, {j}] was drawn right after model call {int(x[where])}; in raster order with one call per value it comes right after call {int(expected[where])} (this mock model's n-th call puts all mass on value n)", inputs=shown)


@sample_ex.property("each_value_from_its_own_logits", "each value x[:, c, i, j] is drawn from the logits at (c, i, j) of a call made after every earlier value was written, on an image that starts at zeros (checked with deterministic models)", tier="public")
@given(shape=gs.pixel_image_shapes(), num_values=gs.dims(2, 6), dtype=gs.float_dtypes(), seed=gs.seeds())
@example(shape=(2, 3, 2, 3), num_values=5, dtype=torch.float32, seed=0)
def _each_value_from_its_own_logits(ctx: Context, shape: tuple[int, int, int, int], num_values: int, dtype: torch.dtype, seed: int) -> None:
    model = fixtures.PrefixHashModel(*shape[1:], num_values, seed, dtype)
    shown = _sample_shown(model, shape, num_values, seed, logits_dtype=dtype)
    x = _image(ctx, model, shape, num_values, seed, shown)
    expected = raster_argmax(model, shape)
    where = _first_mismatch(x, expected)
    if where is not None:
        b, c, i, j = where
        ctx.fail(f"x[{b}, {c}, {i}, {j}] = {int(x[where])}, but this model puts all the mass there on {int(expected[where])} once the earlier values are drawn (the values before it in raster order agree)", inputs=shown)


@sample_ex.property("pixel_frequencies_follow_softmax", f"over {DRAWS} images, each value at each pixel is drawn with probability softmax(logits[:, c, :, i, j]) (pixels independent here; seeded test)", tier="public")
@settings(max_examples=min(MAX_EXAMPLES, 10))  # each example is itself a test of 8192 draws
@given(shape=gs.pixel_image_shapes(max_batch=1, max_pixels=8), num_values=gs.dims(2, 5), dtype=gs.float_dtypes(), seed=gs.seeds())
def _pixel_frequencies(ctx: Context, shape: tuple[int, int, int, int], num_values: int, dtype: torch.dtype, seed: int) -> None:
    shape = (DRAWS, *shape[1:])
    model = gs.pixel_logits_model(shape[1:], num_values, dtype, seed)
    shown = _sample_shown(model, shape, num_values, seed + 1, logits_dtype=dtype, base_logits=model.base)
    x = _image(ctx, model, shape, num_values, seed + 1, shown)
    probs = model.base.double().softmax(dim=1)  # (C, V, H, W)
    counts = F.one_hot(x.long(), num_values).sum(dim=0)  # (C, H, W, V)
    table = [(f"value {v} at (c, i, j) = {(c, i, j)}", int(counts[c, i, j, v]), DRAWS, float(probs[c, v, i, j])) for c, i, j in raster_positions(*shape[1:]) for v in range(num_values)]
    problem = implausible(table)
    ctx.check(problem is None, f"the draws do not follow softmax of the logits — {problem}", inputs=shown)


@st.composite
def _joint_settings(draw: st.DrawFn) -> tuple[tuple[int, int, int, int], int]:
    """A tiny image (C·H·W ≤ 4) and V ∈ {2, 3} with at most 81 possible images."""
    shape = draw(gs.pixel_image_shapes(max_batch=1, max_pixels=4))
    n = shape[1] * shape[2] * shape[3]
    return shape, draw(st.sampled_from([v for v in (2, 3) if v**n <= 81]))


@sample_ex.property("images_follow_the_chain_rule", f"over {DRAWS} tiny images, each whole image y is drawn with probability Π_t p(y_t | earlier values), the model's conditionals in raster order (seeded test)", tier="public")
@settings(max_examples=min(MAX_EXAMPLES, 10))  # each example is itself a test of 8192 draws
@given(setup=_joint_settings(), dtype=gs.float_dtypes(), seed=gs.seeds())
@example(setup=((1, 2, 1, 2), 3), dtype=torch.float32, seed=1)
def _images_follow_chain_rule(ctx: Context, setup: tuple[tuple[int, int, int, int], int], dtype: torch.dtype, seed: int) -> None:
    (_, c, h, w), num_values = setup
    shape = (DRAWS, c, h, w)
    model = gs.pixel_logits_model((c, h, w), num_values, dtype, seed, coupling_scale=3.0)
    shown = _sample_shown(model, shape, num_values, seed + 1, logits_dtype=dtype)
    x = _image(ctx, model, shape, num_values, seed + 1, shown)
    probs = joint_probabilities(model, (c, h, w), num_values)
    counts = torch.bincount(image_codes(x, num_values), minlength=len(probs))
    names = list(itertools.product(range(num_values), repeat=c * h * w))
    table = [(f"the image with values {list(names[k])} in raster order", int(counts[k]), DRAWS, float(probs[k])) for k in range(len(probs))]
    problem = implausible(table)
    ctx.check(problem is None, f"whole images are not drawn with the chain-rule probabilities of raster order — {problem}", inputs=shown)


@sample_ex.property("uses_the_generator", "the same generator seed gives the same images, another seed other images: all randomness comes from the generator argument", tier="public")
@given(shape=gs.pixel_image_shapes(max_batch=1, max_pixels=4), num_values=gs.dims(2, 4), seed=gs.seeds())
def _uses_the_generator(ctx: Context, shape: tuple[int, int, int, int], num_values: int, seed: int) -> None:
    shape = (256, *shape[1:])  # uniform values: two seeds agree everywhere with probability ≤ 2^-256
    model = fixtures.PixelLogitsModel(torch.zeros(shape[1], num_values, shape[2], shape[3]))
    first = _image(ctx, model, shape, num_values, seed, _sample_shown(model, shape, num_values, seed))
    again = _image(ctx, model, shape, num_values, seed, _sample_shown(model, shape, num_values, seed))
    ctx.check(torch.equal(first, again), "two calls with generators seeded alike gave different images: draw only with the generator", inputs=_sample_shown(model, shape, num_values, seed))
    other = _image(ctx, model, shape, num_values, seed + 1, _sample_shown(model, shape, num_values, seed + 1))
    ctx.check(not torch.equal(first, other), "generators with different seeds gave exactly the same 256 images: pass generator=generator to every draw (torch's global random state is not yours to use)", inputs=_sample_shown(model, shape, num_values, seed + 1))


@sample_ex.property("samples_without_autograd", "called with autograd enabled, the sampler still calls the model under torch.no_grad() (no graph over H·W·C calls; x comes back without grad)", tier="public")
@given(shape=DISCRIMINATING_SHAPES, num_values=gs.dims(2, 4))
def _samples_without_autograd(ctx: Context, shape: tuple[int, int, int, int], num_values: int) -> None:
    model = fixtures.GradModeProbe(num_values)
    shown = _sample_shown(model, shape, num_values, 0)
    # A vjp request runs the call with autograd on, as in a user's script; no gradient is asked for.
    x, _ = ctx.student.vjp(ctx.exercise.name, (model, shape, num_values, gs.generator(0)), None, [["params", 0]])
    ok = isinstance(x, torch.Tensor) and tuple(x.shape) == tuple(shape)
    ctx.check(ok, f"expected a tensor of shape {tuple(shape)}, got {getattr(x, 'shape', type(x).__name__)}", inputs=shown)
    with_grad = int((x != 0).sum())
    ctx.check(with_grad == 0, f"{with_grad} of {x.numel()} values were drawn from a model call made with autograd enabled (this mock model then puts all mass on 1): wrap the sampling loop in torch.no_grad()", inputs=shown)


@sample_ex.property("matches_reference", "with deterministic models (one-hot logits depending on the values drawn so far), the image equals the reference's, for float32 and float64 logits", tier="hidden")
@given(shape=gs.pixel_image_shapes(), num_values=gs.dims(2, 6), dtype=gs.float_dtypes(), seed=gs.seeds())
def _sample_matches_reference(ctx: Context, shape: tuple[int, int, int, int], num_values: int, dtype: torch.dtype, seed: int) -> None:
    model = fixtures.PrefixHashModel(*shape[1:], num_values, seed + 7, dtype)
    shown = _sample_shown(model, shape, num_values, seed, logits_dtype=dtype)
    x = _image(ctx, model, shape, num_values, seed, shown)
    ctx.assert_close(x, ctx.ref(model, shape, num_values, gs.generator(seed)), inputs=shown, check_dtype=False)


REFERENCE_DRAWS = 4 * DRAWS


@sample_ex.property("pixel_frequencies_match_reference", f"with a model whose logits depend on the values drawn so far, each value's frequency at each pixel over {DRAWS} images agrees with the reference's over {REFERENCE_DRAWS} (seeded two-sample test)", tier="hidden")
@settings(max_examples=min(MAX_EXAMPLES, 5))  # each example draws 40960 images
@given(shape=gs.pixel_image_shapes(max_batch=1, max_pixels=6), num_values=gs.dims(2, 4), dtype=gs.float_dtypes(), seed=gs.seeds())
def _frequencies_match_reference(ctx: Context, shape: tuple[int, int, int, int], num_values: int, dtype: torch.dtype, seed: int) -> None:
    chw = shape[1:]
    model = gs.pixel_logits_model(chw, num_values, dtype, seed, coupling_scale=3.0)
    shown = _sample_shown(model, (DRAWS, *chw), num_values, seed + 1, logits_dtype=dtype)
    x = _image(ctx, model, (DRAWS, *chw), num_values, seed + 1, shown)
    ref = ctx.ref(model, (REFERENCE_DRAWS, *chw), num_values, gs.generator(seed + 2))
    got_freq = F.one_hot(x.long(), num_values).double().mean(dim=0)  # (C, H, W, V)
    ref_freq = F.one_hot(ref.long(), num_values).double().mean(dim=0)
    # Hoeffding for a difference of two independent means of 0/1 draws: P(|d| ≥ t) ≤ 2·exp(−2t² / (1/n + 1/m));
    # t below makes the union over all K cells fail a correct sampler with probability ≤ 1e-9.
    cells = got_freq.numel()
    t = math.sqrt(math.log(2 * cells / FALSE_FAILURE_PER_EXAMPLE) * (1 / DRAWS + 1 / REFERENCE_DRAWS) / 2)
    gap = (got_freq - ref_freq).abs()
    if bool((gap > t).any()):
        c, i, j, v = (int(k) for k in (gap > t).nonzero()[0])
        ctx.fail(f"value {v} at (c, i, j) = {(c, i, j)} has frequency {got_freq[c, i, j, v]:.4f} in your images and {ref_freq[c, i, j, v]:.4f} in the reference's (allowed gap {t:.4f})", inputs=shown)
