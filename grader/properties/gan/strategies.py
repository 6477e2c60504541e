"""Hypothesis strategies of the GAN exercises."""

from __future__ import annotations

from typing import Any

import torch
from hypothesis import strategies as st

# The exercise modules read every strategy as ``gs.name``, the shared ones too: the properties'
# source stays as it was, and Hypothesis derives a derandomized test's seed from that source.
from grader.strategies import FLOAT_DTYPES as FLOAT_DTYPES
from grader.strategies import dims as dims
from grader.strategies import float_dtypes as float_dtypes
from grader.strategies import generator as generator
from grader.strategies import make_tensor as make_tensor
from grader.strategies import seeds as seeds
from grader.strategies import vector_or_image_shapes


@st.composite
def gan_logits(draw: st.DrawFn, *, dtype: torch.dtype | None = None, scale: float = 4.0, extreme: bool = False) -> torch.Tensor:
    """Discriminator logits, (B,) or (B, 1); extreme=True: about half the entries are ±100."""
    shape = (draw(dims()), 1) if draw(st.booleans()) else (draw(dims()),)
    dtype = dtype or draw(float_dtypes())
    seed = draw(seeds())
    logits = make_tensor(shape, dtype, seed, scale=scale)
    if extreme:
        g = generator(seed + 1)
        pick = torch.rand(shape, generator=g) < 0.5
        pick.view(-1)[0] = True  # at least one extreme entry
        sign = torch.randint(0, 2, shape, generator=g) * 2 - 1
        logits = torch.where(pick, (100.0 * sign).to(dtype), logits)
    return logits


@st.composite
def gradient_penalty_inputs(draw: st.DrawFn, *, images: bool | None = None, min_batch: int = 1) -> dict[str, Any]:
    """real, fake: (B, D) or (B, C, H, W); alpha: (B,) in [0, 1]; weight; a seed for the critic."""
    b = draw(dims(min_batch, 6))
    shape = (b, *draw(vector_or_image_shapes(images=images)))
    dtype, seed = draw(float_dtypes()), draw(seeds())
    return {
        "real": make_tensor(shape, dtype, seed),
        "fake": make_tensor(shape, dtype, seed + 1, scale=2.0),
        "alpha": make_tensor((b,), dtype, seed + 2, low=0.0, high=1.0),
        "weight": draw(st.sampled_from((10.0, 1.0, 0.5, 3.0))),
        "critic_seed": draw(seeds()),
    }


@st.composite
def minibatch_stddev_inputs(draw: st.DrawFn) -> dict[str, Any]:
    """x: (B, C, H, W) and group_size such that G = min(group_size, B) divides B; eps."""
    group_size = draw(st.integers(1, 6))
    if draw(st.booleans()):
        b = group_size * draw(dims(1, 3))  # G = group_size, B/G groups
    else:
        b = draw(st.integers(1, group_size))  # G = B: a single group
    shape = (b, draw(dims(1, 3)), draw(dims(1, 3)), draw(dims(1, 3)))
    return {
        "x": make_tensor(shape, draw(float_dtypes()), draw(seeds())),
        "group_size": group_size,
        "eps": draw(st.sampled_from((1e-8, 1e-4, 1e-2))),
    }


@st.composite
def condition_inputs(draw: st.DrawFn, *, images: bool | None = None) -> dict[str, Any]:
    """x: (B, D) or (B, C, H, W); labels: (B,) int64 in [0, num_classes); num_classes."""
    b, k = draw(dims()), draw(dims(1, 6))
    seed = draw(seeds())
    return {
        "x": make_tensor((b, *draw(vector_or_image_shapes(images=images))), draw(float_dtypes()), seed),
        "labels": torch.randint(0, k, (b,), generator=generator(seed + 1)),
        "num_classes": k,
    }


@st.composite
def r1_inputs(draw: st.DrawFn, *, images: bool | None = None, min_batch: int = 1) -> dict[str, Any]:
    """real: (B, D) or (B, C, H, W); gamma (a number); a seed for the discriminator."""
    b = draw(dims(min_batch, 6))
    shape = (b, *draw(vector_or_image_shapes(images=images)))
    return {
        "real": make_tensor(shape, draw(float_dtypes()), draw(seeds())),
        "gamma": draw(st.sampled_from((10.0, 1.0, 0.5, 3.0))),
        "critic_seed": draw(seeds()),
    }


@st.composite
def large_gan_logits(draw: st.DrawFn) -> torch.Tensor:
    """Logits (B,) or (B, 1) of magnitude 1e2–1e4 (±2^e·{1, 2, 3}, e ∈ {7, 10, 13}), exact in
    float32 and float64, mixed with ordinary ones: beyond the ±100 where a clamped log (the
    −100 floor of F.binary_cross_entropy) still happens to give the exact loss."""
    from grader.properties.stability import int_tensor

    shape = (draw(dims(1, 4)), 1) if draw(st.booleans()) else (draw(dims(1, 4)),)
    dtype, seed = draw(float_dtypes()), draw(seeds())
    big = (2.0 ** draw(st.sampled_from((7, 10, 13)))) * int_tensor(shape, dtype, seed, -3, 3)
    big.view(-1)[0] = big.view(-1)[0] if float(big.view(-1)[0]) != 0 else 2.0**7  # at least one large entry
    return big + make_tensor(shape, dtype, seed + 1)
