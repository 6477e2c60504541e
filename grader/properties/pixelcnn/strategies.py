"""Hypothesis strategies of the pixelcnn exercises.

The pixelcnn properties import this module as ``gs``: it also re-exports the shared strategies they
use, so the properties' source (which Hypothesis hashes to derandomize the examples) stays the
same whichever module a strategy lives in.
"""

from __future__ import annotations

from typing import Any

import torch
from hypothesis import strategies as st

from grader.strategies import dims, float_dtypes, generator, make_tensor, seeds

__all__ = ["MASK_KERNEL_SIZES", "dense_conv_weights", "dims", "float_dtypes", "generator", "make_tensor", "mask_args", "mask_configs", "masked_conv_init", "masked_conv_inputs", "pixel_image_shapes", "pixel_large_logits_model", "pixel_logits_model", "seeds"]

MASK_KERNEL_SIZES = (1, 3, 5)


@st.composite
def mask_configs(draw: st.DrawFn, *, min_groups: int = 1) -> dict[str, Any]:
    """causal_mask / MaskedConv2d settings: odd kernel_size ≤ 5, mask_type, color_groups ≤ 3, and
    in/out channel counts drawn apart as multiples of color_groups (1–2 channels per group)."""
    groups = draw(st.integers(min_groups, 3))
    return {
        "kernel_size": draw(st.sampled_from(MASK_KERNEL_SIZES)),
        "mask_type": draw(st.sampled_from(("A", "B"))),
        "in_channels": groups * draw(dims(1, 2)),
        "out_channels": groups * draw(dims(1, 2)),
        "color_groups": groups,
    }


def mask_args(cfg: dict[str, Any]) -> tuple[int, str, int, int, int]:
    """The positional arguments of causal_mask for a mask_configs() dict."""
    return cfg["kernel_size"], cfg["mask_type"], cfg["in_channels"], cfg["out_channels"], cfg["color_groups"]


def masked_conv_init(cfg: dict[str, Any]) -> tuple[int, int, int, str, int]:
    """The constructor arguments of MaskedConv2d for a mask_configs() dict."""
    return cfg["in_channels"], cfg["out_channels"], cfg["kernel_size"], cfg["mask_type"], cfg["color_groups"]


def dense_conv_weights(cfg: dict[str, Any], dtype: torch.dtype, seed: int) -> dict[str, torch.Tensor]:
    """weight (out, in, k, k) without a zero entry (|w| in [0.5, 1.5), random signs) and bias (out,):
    what an optimizer may leave in a masked layer's stored weight, masked positions included."""
    k, c_out = cfg["kernel_size"], cfg["out_channels"]
    shape = (c_out, cfg["in_channels"], k, k)
    g = generator(seed)
    magnitude = torch.rand(shape, generator=g, dtype=torch.float64) + 0.5
    sign = torch.randint(0, 2, shape, generator=g).double() * 2 - 1
    return {"weight": (magnitude * sign).to(dtype), "bias": make_tensor((c_out,), dtype, seed + 1, scale=0.5)}


@st.composite
def masked_conv_inputs(draw: st.DrawFn, *, dtype: torch.dtype | None = None, min_groups: int = 1) -> dict[str, Any]:
    """A mask_configs() layer, dense_conv_weights() to load into it, and x (B, in, H, W) with
    B ≤ 2 and H, W ≤ 5 (sometimes smaller than the kernel); the seed is kept for more tensors."""
    cfg = draw(mask_configs(min_groups=min_groups))
    dtype = dtype or draw(float_dtypes())
    seed = draw(seeds())
    b, h, w = draw(dims(1, 2)), draw(dims(1, 5)), draw(dims(1, 5))
    x = make_tensor((b, cfg["in_channels"], h, w), dtype, seed + 2)
    return {**cfg, **dense_conv_weights(cfg, dtype, seed), "x": x, "seed": seed}


@st.composite
def pixel_image_shapes(draw: st.DrawFn, *, min_batch: int = 1, max_batch: int = 3, min_side: int = 1, max_channels: int = 3, max_side: int = 3, max_pixels: int | None = None) -> tuple[int, int, int, int]:
    """(B, C, H, W) of a small image batch, C, H, W ≥ min_side; with ``max_pixels``, C·H·W ≤ max_pixels."""
    limit = max_pixels or max_channels * max_side * max_side
    c = draw(dims(min_side, min(max_channels, limit // min_side**2)))
    h = draw(dims(min_side, min(max_side, limit // (c * min_side))))
    w = draw(dims(min_side, min(max_side, limit // (c * h))))
    return draw(dims(min_batch, max_batch)), c, h, w


def pixel_logits_model(chw: tuple[int, int, int], num_values: int, dtype: torch.dtype, seed: int, *, coupling_scale: float = 0.0) -> torch.nn.Module:
    """A fixtures.PixelLogitsModel: base logits N(0, 1.5²) per (c, value, i, j); with coupling_scale > 0,
    couplings N(0, coupling_scale²) to s = Σ weight·x, weights scaled so that s stays of order 1."""
    from grader import fixtures

    c, h, w = chw
    base = make_tensor((c, num_values, h, w), dtype, seed, scale=1.5)
    if coupling_scale == 0:
        return fixtures.PixelLogitsModel(base)
    coupling = make_tensor((c, num_values, h, w), dtype, seed + 1, scale=coupling_scale)
    weight = make_tensor((c, h, w), dtype, seed + 2, scale=1.0 / ((c * h * w) ** 0.5 * max(num_values - 1, 1)))
    return fixtures.PixelLogitsModel(base, coupling, weight)


def pixel_large_logits_model(chw: tuple[int, int, int], num_values: int, dtype: torch.dtype, seed: int, offset: float) -> torch.nn.Module:
    """A fixtures.PixelLogitsModel, independent pixels, base logits offset − (distinct integers in
    0..6) per (c, i, j): magnitudes 1e2–1e4 for an offset of ±2^7–2^13, probabilities of order 1,
    exact in float32 and float64; ``model.centred`` holds the same logits without the offset."""
    from grader import fixtures

    c, h, w = chw
    g = generator(seed)
    centred = -torch.stack([torch.randperm(7, generator=g)[:num_values] for _ in range(c * h * w)]).to(dtype)  # (C·H·W, V)
    centred = centred.view(c, h, w, num_values).permute(0, 3, 1, 2).contiguous()  # (C, V, H, W)
    model = fixtures.PixelLogitsModel(offset + centred)
    model.centred = centred
    return model
