"""Shared Hypothesis strategies for the property tests.

Dimensions are drawn first and kept small (1–8) so that a failure shrinks to something a
student can read. Tensor values come from a drawn seed: Hypothesis shrinks the shape and
the seed, and the tensor stays reproducible from them.
"""

from __future__ import annotations

from typing import Any

import torch
from hypothesis import strategies as st

FLOAT_DTYPES = (torch.float32, torch.float64)


def dims(min_value: int = 1, max_value: int = 8) -> st.SearchStrategy[int]:
    """A small dimension."""
    return st.integers(min_value, max_value)


def float_dtypes() -> st.SearchStrategy[torch.dtype]:
    """float32 or float64 (float32 first, so failures shrink to it)."""
    return st.sampled_from(FLOAT_DTYPES)


def seeds() -> st.SearchStrategy[int]:
    return st.integers(0, 2**31 - 1)


def generator(seed: int) -> torch.Generator:
    """A CPU generator seeded for one example."""
    return torch.Generator().manual_seed(seed)


def make_tensor(shape: tuple[int, ...], dtype: torch.dtype, seed: int, *, scale: float = 1.0, low: float | None = None, high: float | None = None) -> torch.Tensor:
    """A reproducible tensor: standard normal times ``scale``, or uniform in [low, high)."""
    g = generator(seed)
    if low is not None and high is not None:
        t = torch.rand(shape, generator=g, dtype=torch.float64) * (high - low) + low
    else:
        t = torch.randn(shape, generator=g, dtype=torch.float64) * scale
    return t.to(dtype)


@st.composite
def tensors(draw: st.DrawFn, shape: tuple[int, ...], *, dtype: torch.dtype | None = None, scale: float = 1.0, low: float | None = None, high: float | None = None) -> torch.Tensor:
    """A tensor of a given shape; dtype drawn unless given."""
    dtype = dtype or draw(float_dtypes())
    return make_tensor(shape, dtype, draw(seeds()), scale=scale, low=low, high=high)


@st.composite
def shapes(draw: st.DrawFn, *, min_dims: int = 1, max_dims: int = 3, min_side: int = 1, max_side: int = 6) -> tuple[int, ...]:
    """A small tensor shape."""
    n = draw(st.integers(min_dims, max_dims))
    return tuple(draw(dims(min_side, max_side)) for _ in range(n))


@st.composite
def batch_shapes(draw: st.DrawFn, *, max_dims: int = 2) -> tuple[int, ...]:
    """Leading batch dimensions (possibly none), e.g. () or (B,) or (B, H)."""
    n = draw(st.integers(0, max_dims))
    return tuple(draw(dims(1, 4)) for _ in range(n))


@st.composite
def attention_inputs(draw: st.DrawFn, *, with_mask: bool | None = None) -> dict[str, Any]:
    """q (..., Lq, d), k (..., Lk, d), v (..., Lk, dv) and an optional bool mask (True = attend).

    Every query row keeps at least one key: fully masked rows are outside the contract.
    """
    batch = draw(batch_shapes())
    lq, lk, d, dv = draw(dims()), draw(dims()), draw(dims()), draw(dims())
    dtype = draw(float_dtypes())
    seed = draw(seeds())
    q = make_tensor((*batch, lq, d), dtype, seed)
    k = make_tensor((*batch, lk, d), dtype, seed + 1)
    v = make_tensor((*batch, lk, dv), dtype, seed + 2)
    use_mask = draw(st.booleans()) if with_mask is None else with_mask
    mask = None
    if use_mask:
        mask = torch.rand((*batch, lq, lk), generator=generator(seed + 3)) < 0.7
        mask[..., 0] = True  # every query may attend to at least one key
    return {"q": q, "k": k, "v": v, "mask": mask}


@st.composite
def gaussian_params(draw: st.DrawFn, *, max_abs_logvar: float = 4.0) -> dict[str, Any]:
    """mu and logvar of a diagonal Gaussian posterior, (B, D)."""
    b, d = draw(dims()), draw(dims())
    dtype = draw(float_dtypes())
    seed = draw(seeds())
    mu = make_tensor((b, d), dtype, seed, scale=2.0)
    logvar = make_tensor((b, d), dtype, seed + 1, low=-max_abs_logvar, high=max_abs_logvar)
    return {"mu": mu, "logvar": logvar}


# ---- attention and transformer (shared) ----


def attend_masks(shape: tuple[int, ...], seed: int, *, p: float = 0.7) -> torch.Tensor:
    """A bool mask (..., Lq, Lk), True = may attend, in which every query row keeps at least one key.

    The kept key is drawn per row, so a correct result never relies on key 0 being visible.
    """
    mask = torch.rand(shape, generator=generator(seed)) < p
    keep = torch.randint(shape[-1], (*shape[:-1], 1), generator=generator(seed + 1))  # one key per row
    return mask.scatter(-1, keep, True)


# ---- vae and gan (shared) ----


@st.composite
def vector_or_image_shapes(draw: st.DrawFn, *, images: bool | None = None) -> tuple[int, ...]:
    """The shape of one sample without the batch dim: a vector (D,) or an image (C, H, W)."""
    use_images = draw(st.booleans()) if images is None else images
    if use_images:
        return (draw(dims(1, 3)), draw(dims(1, 4)), draw(dims(1, 4)))
    return (draw(dims()),)


