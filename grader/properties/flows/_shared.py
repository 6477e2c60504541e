"""Helpers shared by several flows exercises."""

from __future__ import annotations

import copy
from typing import Any

import torch
from torch import nn

from grader.properties.api import Context


def _loose(ctx: Context, dtype: torch.dtype) -> tuple[float, float]:
    """Tolerance for a value computed through a round trip or a Jacobian (errors add up)."""
    rtol, atol = ctx.tolerance(dtype)
    return 10 * rtol, 10 * atol


def _forget_calls(ctx: Context) -> None:
    """The checks that follow are about gradients or dtypes, not values: forget the recorded
    calls, so that a failure names no value-level mistake (one may coincide with the right
    values on this input). Values are checked, with diagnoses, before this is called."""
    ctx.student.calls.clear()


def _grads_vs_reference(ctx: Context, fn_args: tuple[torch.Tensor, nn.ModuleList], g: torch.Tensor, inputs: dict[str, Any]) -> None:
    """vjp of the student's function w.r.t. its tensor input and the transforms' parameters, against the reference's autograd."""
    t, transforms = fn_args
    value, grads = ctx.student.vjp(ctx.exercise.name, (t, transforms), g, [0, ["params", 1]])
    ref_transforms = copy.deepcopy(transforms)
    tr = t.clone().requires_grad_(True)
    params = dict(ref_transforms.named_parameters())
    out = ctx.ref(tr, ref_transforms)
    ctx.assert_close(value, out, inputs=inputs)
    _forget_calls(ctx)
    expected = torch.autograd.grad(out, [tr, *params.values()], g, allow_unused=True)
    got_x = grads["inputs"][0]
    ctx.check(got_x is not None, "no gradient reached the input: is the computation detached?", inputs=inputs)
    ctx.assert_close(got_x, expected[0], inputs=inputs, what="the gradient with respect to the input")
    for (name, p), e in zip(params.items(), expected[1:]):
        got = grads["params"].get(f"args[1].{name}")
        e = torch.zeros_like(p) if e is None else e
        ctx.check(got is not None or not bool((e != 0).any()), f"no gradient reached the transforms' parameter {name}", inputs=inputs)
        ctx.assert_close(torch.zeros_like(p) if got is None else got, e, inputs=inputs, what=f"the gradient of the transforms' parameter {name}")
