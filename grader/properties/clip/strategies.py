"""Hypothesis strategies of the CLIP exercises."""

from __future__ import annotations

import math
from typing import Any

import torch
from hypothesis import strategies as st

# The exercise modules read every strategy as ``gs.name``, the shared ones too: the properties'
# source stays as it was, and Hypothesis derives a derandomized test's seed from that source.
from grader.strategies import dims as dims
from grader.strategies import float_dtypes as float_dtypes
from grader.strategies import generator as generator
from grader.strategies import make_tensor as make_tensor
from grader.strategies import seeds as seeds


@st.composite
def clip_logit_scales(draw: st.DrawFn, dtype: torch.dtype) -> float | torch.Tensor:
    """log of the inverse temperature, up to ln 100 (CLIP's clamp): a Python float or a 0-d tensor."""
    value = draw(st.floats(-1.0, 4.6, allow_nan=False))
    return torch.tensor(value, dtype=dtype) if draw(st.booleans()) else value


def positive_row_scales(n: int, seed: int) -> torch.Tensor:
    """(n, 1) positive factors in [0.1, 10) for rescaling rows of embeddings (float64)."""
    return 10.0 ** make_tensor((n, 1), torch.float64, seed, low=-1.0, high=1.0)


@st.composite
def clip_inputs(draw: st.DrawFn) -> dict[str, Any]:
    """image_emb (N, D), text_emb (N, D) (row i of each is a matching pair) and logit_scale."""
    n, d, dtype, seed = draw(dims()), draw(dims()), draw(float_dtypes()), draw(seeds())
    image = make_tensor((n, d), dtype, seed)
    # Texts correlate with their images, so the loss is not just log N.
    text = (image.double() + make_tensor((n, d), torch.float64, seed + 1)).to(dtype)
    return {"image_emb": image, "text_emb": text, "logit_scale": draw(clip_logit_scales(dtype))}


@st.composite
def zero_shot_inputs(draw: st.DrawFn) -> dict[str, Any]:
    """image_emb (N, D), class_emb (K, D) and logit_scale."""
    n, k, d, dtype, seed = draw(dims()), draw(dims()), draw(dims()), draw(float_dtypes()), draw(seeds())
    image, classes = make_tensor((n, d), dtype, seed), make_tensor((k, d), dtype, seed + 1)
    return {"image_emb": image, "class_emb": classes, "logit_scale": draw(clip_logit_scales(dtype))}


@st.composite
def large_scale_clip_inputs(draw: st.DrawFn, *, rows: str = "N") -> dict[str, Any]:
    """Integer embeddings (no zero row) and a logit_scale of ln 100 (CLIP's clamp), 7 or 9, so
    that the logits exp(logit_scale)·cos reach 1e2–1e4. ``rows``: "N" gives image_emb and a
    correlated text_emb (N, D); "K" gives image_emb (N, D) and class_emb (K, D)."""
    from grader.properties.stability import int_tensor

    n, k, d, dtype, seed = draw(dims(1, 3)), draw(dims(2, 4)), draw(dims(2, 3)), draw(float_dtypes()), draw(seeds())
    image = int_tensor((n, d), dtype, seed, -2, 2)
    image[:, 0] = image[:, 0].abs() + 1  # no zero row: cosines are defined
    other = int_tensor((n if rows == "N" else k, d), dtype, seed + 1, -2, 2)
    other[:, -1] = other[:, -1].abs() + 1
    if rows == "N":
        other = other + image  # texts correlate with their images
    scale = draw(st.sampled_from((math.log(100.0), 7.0, 9.0)))
    logit_scale = torch.tensor(scale, dtype=dtype) if draw(st.booleans()) else scale
    return {"image_emb": image, "other": other, "logit_scale": logit_scale}
