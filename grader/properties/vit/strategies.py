"""Hypothesis strategies of the vit exercises: images whose sides are multiples of the patch
size, and the parameters of the patch embedding.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from grader.strategies import dims, float_dtypes, make_tensor, seeds


@st.composite
def vit_images(draw: st.DrawFn) -> dict[str, Any]:
    """images (B, C, H, W) with H = h·P and W = w·P (h and w drawn independently: non-square too)."""
    p, h, w, c, b = draw(dims(1, 3)), draw(dims(1, 4)), draw(dims(1, 4)), draw(dims(1, 3)), draw(dims(1, 2))
    dtype, seed = draw(float_dtypes()), draw(seeds())
    return {"images": make_tensor((b, c, h * p, w * p), dtype, seed), "patch_size": p}


@st.composite
def vit_embed_inputs(draw: st.DrawFn) -> dict[str, Any]:
    """images plus the patch projection weight (P·P·C, E), bias (E,), cls_token (E,), pos_embed (N+1, E)."""
    a = draw(vit_images())
    images, p = a["images"], a["patch_size"]
    _, c, hgt, wid = images.shape
    n, e, seed = (hgt // p) * (wid // p), draw(dims(1, 5)), draw(seeds())
    a["weight"] = make_tensor((p * p * c, e), images.dtype, seed, scale=0.5)
    a["bias"] = make_tensor((e,), images.dtype, seed + 1)
    a["cls_token"] = make_tensor((e,), images.dtype, seed + 2)
    a["pos_embed"] = make_tensor((n + 1, e), images.dtype, seed + 3)
    return a



@st.composite
def pos_embed_inputs(draw: st.DrawFn, *, same_grid: bool = False, min_embed: int = 1, min_side: int = 1) -> dict[str, Any]:
    """pos_embed (num_prefix_tokens + H·W, E), old_grid (H, W), new_grid (H', W') (square or not,
    larger or smaller), num_prefix_tokens 1 (CLS), 0 or 2 (CLS and a distillation token)."""
    old = (draw(dims(min_side, 5)), draw(dims(min_side, 5)))
    new = old if same_grid else (draw(dims(min_side, 6)), draw(dims(min_side, 6)))
    prefix = draw(st.sampled_from((1, 0, 2)))
    e, dtype, seed = draw(dims(min_embed, 5)), draw(float_dtypes()), draw(seeds())
    return {"pos_embed": make_tensor((prefix + old[0] * old[1], e), dtype, seed), "old_grid": old, "new_grid": new, "num_prefix_tokens": prefix}
