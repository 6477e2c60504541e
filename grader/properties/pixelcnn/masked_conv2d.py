"""Properties and known mistakes of ``pixelcnn.MaskedConv2d``.

Over 300 lines on purpose: one exercise, one module (issue 12). A class exercise needs its
mistakes as whole layers and its properties drive several methods and both gradients; moving
the mistakes elsewhere would split the exercise again.
"""

from __future__ import annotations

import itertools
from typing import Any

import torch
import torch.nn.functional as F
from hypothesis import example, given
from torch import nn

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
)


def _cfg_shown(a: dict[str, Any]) -> dict[str, Any]:
    return {name: a[name] for name in ("kernel_size", "mask_type", "in_channels", "out_channels", "color_groups")}


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
        return F.conv2d(x, self.weight * self.mask, self.bias, self.stride, self.padding, self.dilation, self.groups)


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
    """The reference's layer in the judge, with the same loaded weights: nn.Conv2d's 'same'
    convolution with weight · the reference's causal_mask, which is how the reference class
    computes. Built from the reference's *function* rather than its class, so that a student
    copy, which has recorded answers for function calls only, runs these checks too."""
    layer = _Layer(*gs.masked_conv_init(a))
    layer.mask = ctx.ref_impl("causal_mask")(*gs.mask_args(a)).clone()
    layer = layer.to(dtype)
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
