"""Hypothesis strategies of the normalizing-flow exercises: chains of fixture transforms and coupling layers."""

from __future__ import annotations

from typing import Any

import torch
from hypothesis import strategies as st

# The exercise modules read every strategy as ``gs.name``, the shared ones too: the properties'
# source stays as it was, and Hypothesis derives a derandomized test's seed from that source.
from grader.strategies import dims as dims
from grader.strategies import float_dtypes as float_dtypes
from grader.strategies import generator
from grader.strategies import make_tensor as make_tensor
from grader.strategies import seeds as seeds

# Transforms come from grader.fixtures (picklable, importable by the worker); a chain is a
# list in data -> noise order, as `flows.log_prob` applies it.

FLOW_KINDS = ("affine", "permutation", "leaky", "asinh", "triangular")
SMOOTH_FLOW_KINDS = ("affine", "asinh", "triangular")  # densities without kinks (quadrature)


def flow_transform(kind: str, dim: int, dtype: torch.dtype, seed: int) -> torch.nn.Module:
    """One invertible fixture transform with seeded parameters.

    Scales stay within exp(±0.7) so that chains of up to three transforms remain well
    conditioned in float32.
    """
    from grader import fixtures

    if kind == "affine":
        return fixtures.ElementwiseAffine(make_tensor((dim,), dtype, seed, low=-0.7, high=0.7), make_tensor((dim,), dtype, seed + 1, scale=0.5))
    if kind == "permutation":
        return fixtures.Permutation(torch.randperm(dim, generator=generator(seed)))
    if kind == "leaky":
        return fixtures.LeakyMap(float(make_tensor((), torch.float64, seed, low=0.3, high=2.0)))
    if kind == "asinh":
        return fixtures.Asinh()
    if kind == "triangular":
        lower = make_tensor((dim, dim), dtype, seed, scale=0.4)
        return fixtures.TriangularLinear(lower, make_tensor((dim,), dtype, seed + 1, low=-0.5, high=0.5), make_tensor((dim,), dtype, seed + 2, scale=0.5))
    raise ValueError(f"unknown transform kind {kind!r}")


@st.composite
def flow_chains(draw: st.DrawFn, dim: int, dtype: torch.dtype, *, min_size: int = 0, max_size: int = 3, kinds: tuple[str, ...] = FLOW_KINDS) -> list[torch.nn.Module]:
    """A list of fixture transforms, data -> noise order.

    At most one Asinh: its inverse (sinh) grows exponentially, and two of them in a chain
    would make float32 round trips lose all precision.
    """
    names = draw(st.lists(st.sampled_from(kinds), min_size=min_size, max_size=max_size))
    names = [n if n != "asinh" or "asinh" not in names[:i] else "affine" for i, n in enumerate(names)]
    seed = draw(seeds())
    return [flow_transform(kind, dim, dtype, seed + 10 * i) for i, kind in enumerate(names)]


def apply_chain(x: torch.Tensor, transforms: list[torch.nn.Module]) -> tuple[torch.Tensor, torch.Tensor]:
    """Run fixture transforms forward in the judge: (z, summed log-det (B,))."""
    z, total = x, torch.zeros(x.shape[0], dtype=x.dtype)
    for t in transforms:
        z, log_det = t(z)
        total = total + log_det
    return z.detach(), total.detach()


@st.composite
def flow_inputs(draw: st.DrawFn, *, min_transforms: int = 0, max_transforms: int = 3, kinds: tuple[str, ...] = FLOW_KINDS, max_dim: int = 5) -> dict[str, Any]:
    """x (B, D) and a chain of transforms for it."""
    b, d, dtype, seed = draw(dims(1, 6)), draw(dims(1, max_dim)), draw(float_dtypes()), draw(seeds())
    transforms = draw(flow_chains(d, dtype, min_size=min_transforms, max_size=max_transforms, kinds=kinds))
    return {"x": make_tensor((b, d), dtype, seed), "transforms": transforms}


def coupling_nets(dim: int, hidden: int, dtype: torch.dtype, seed: int) -> tuple[torch.nn.Sequential, torch.nn.Sequential]:
    """Scale and shift networks D -> hidden -> D for an affine coupling layer.

    Layers are named (``scale_in`` ... ``shift_out``) so that a property can tell each net's
    parameters apart among the coupling module's, whatever attribute the student keeps the
    nets under. The scale net ends in tanh, as in RealNVP, so exp(s) stays moderate.
    """
    from collections import OrderedDict

    nn = torch.nn
    scale = nn.Sequential(OrderedDict(scale_in=nn.Linear(dim, hidden), scale_act=nn.Tanh(), scale_out=nn.Linear(hidden, dim), scale_squash=nn.Tanh()))
    shift = nn.Sequential(OrderedDict(shift_in=nn.Linear(dim, hidden), shift_act=nn.Tanh(), shift_out=nn.Linear(hidden, dim)))
    nets = (scale.to(dtype), shift.to(dtype))
    with torch.no_grad():
        for i, p in enumerate(q for net in nets for q in net.parameters()):
            p.copy_(make_tensor(tuple(p.shape), dtype, seed + i, scale=1.0))
    return nets


def coupling_masks(dim: int, dtype: torch.dtype, seed: int) -> torch.Tensor:
    """A random binary mask (D,) in the data's dtype (1 = passed through)."""
    return (torch.rand(dim, generator=generator(seed)) < 0.5).to(dtype)


@st.composite
def coupling_inputs(draw: st.DrawFn, *, dtype: torch.dtype | None = None) -> dict[str, Any]:
    """mask (D,), scale_net, shift_net and x (B, D) for `flows.AffineCoupling`."""
    b, d, hidden = draw(dims(1, 5)), draw(dims(1, 6)), draw(dims(1, 6))
    dtype = dtype or draw(float_dtypes())
    seed = draw(seeds())
    scale_net, shift_net = coupling_nets(d, hidden, dtype, seed)
    mask = coupling_masks(d, dtype, seed + 100)
    return {"mask": mask, "scale_net": scale_net, "shift_net": shift_net, "x": make_tensor((b, d), dtype, seed + 101)}
