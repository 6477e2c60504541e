"""What several diffusion exercises share: calls of functions that take no tensor (kept on the
CPU), shape and dtype checks, gradient comparisons with the schedule's looser tolerance, the
tolerance of a sampling step, and diffusers' schedulers with float64 buffers (when installed).
"""

from __future__ import annotations

import dataclasses
import functools
import math
from typing import Any

import torch

from grader.properties.api import Context

F64 = torch.float64


def _call_on_cpu(ctx: Context, *args: Any) -> Any:
    """Call a function that takes no tensor (a schedule, the time steps).

    With no input to take a device from, such a function creates its result on the default
    device, the CPU, whatever device is graded; the engine's device check would call that a
    violation on CUDA, so these calls always run on the CPU.
    """
    return dataclasses.replace(ctx.student, device="cpu").call(ctx.exercise.name, *args)


def _shape_of(x: Any) -> str:
    return str(tuple(x.shape)) if isinstance(x, torch.Tensor) else type(x).__name__


def _check_tensor(ctx: Context, got: Any, shape: tuple[int, ...], dtype: torch.dtype, inputs: dict[str, Any], what: str = "the result") -> None:
    ctx.check(isinstance(got, torch.Tensor) and tuple(got.shape) == tuple(shape), f"{what} should be a tensor of shape {tuple(shape)}, got {_shape_of(got)}", inputs=inputs)
    ctx.check(got.dtype == dtype, f"{what} should be {str(dtype).removeprefix('torch.')}, got {str(got.dtype).removeprefix('torch.')}", inputs=inputs)


def _reference_grads(ctx: Context, args: tuple[Any, ...], wrt: list[int], g: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """Gradients of the reference at ``args`` with respect to the arguments at ``wrt``; an
    argument the result does not use (noise at the last DDIM step) gets zeros."""
    leaves = [v.clone().requires_grad_(True) if i in wrt else v for i, v in enumerate(args)]
    inputs = [leaves[i] for i in wrt]
    grads = torch.autograd.grad(ctx.ref(*leaves), inputs, g, allow_unused=True)
    return tuple(torch.zeros_like(x) if d is None else d for x, d in zip(inputs, grads))


def _assert_grads(ctx: Context, grads: dict[str, Any], expected: tuple[torch.Tensor, ...], *, data: int, tol: tuple[float, float], inputs: dict[str, Any], what: str) -> None:
    """Compare the first ``data`` gradients (of data tensors) at ``tol``; the rest (of a float64
    η) at ``tol`` for float64 data, and to 10% for float32 data. Code that casts the schedule to
    the data's dtype (as diffusers' float32 buffers are) computes 1 − ᾱ in float32, which near
    ᾱ = 1 keeps only a few digits: its values pass, and its η gradient is ~1% off. 10% still
    tells a gradient that reaches η from one that does not (zeros) or from a wrong formula.
    Gradients with respect to the schedule itself are not graded (catalog)."""
    got = tuple(grads["inputs"])
    if len(got) != len(expected):
        ctx.fail(f"{what}: expected {len(expected)} gradients, got {len(got)}", inputs=inputs)
    # A missing gradient (None) means the result does not depend on that input: zeros.
    got = tuple(torch.zeros_like(e) if d is None else d for d, e in zip(got, expected))
    ctx.assert_close(got[:data], expected[:data], inputs=inputs, what=what, rtol=tol[0], atol=tol[1])
    if len(expected) > data:
        loose = (0.1, tol[1]) if expected[0].dtype == torch.float32 else tol
        ctx.assert_close(got[data:], expected[data:], inputs=inputs, what=what, rtol=loose[0], atol=loose[1])


def _alpha_bar_prev(alphas_cumprod: torch.Tensor, t_prev: int) -> torch.Tensor:
    """ᾱ_prev as a float64 0-d tensor: 1 before the first step."""
    return alphas_cumprod[t_prev].to(F64) if t_prev >= 0 else torch.tensor(1.0, dtype=F64)


def _step_tolerance(ctx: Context, dtype: torch.dtype, alphas_cumprod: torch.Tensor, t: int, t_prev: int) -> tuple[float, float]:
    """(rtol, atol) for a sampling step: x̂0 divides by √ᾱ_t and the step multiplies it by
    √ᾱ_prev, so rounding errors of the inputs grow by √(ᾱ_prev/ᾱ_t) (up to ~600 at the last
    step of a capped cosine schedule); the absolute tolerance grows with them."""
    rtol, atol = ctx.tolerance(dtype)
    gain = math.sqrt(float(_alpha_bar_prev(alphas_cumprod, t_prev) / alphas_cumprod[t]))
    return rtol, atol * max(1.0, gain)


@functools.cache
def _diffusers_schedulers() -> tuple[Any, Any] | None:
    """(DDPMScheduler, DDIMScheduler), or None where diffusers (a test extra) is not installed."""
    try:
        from diffusers.schedulers.scheduling_ddim import DDIMScheduler
        from diffusers.schedulers.scheduling_ddpm import DDPMScheduler
    except ImportError:
        return None
    return DDPMScheduler, DDIMScheduler


def _float64_buffers(sched: Any, betas: torch.Tensor) -> None:
    """diffusers builds its schedule in float32: replace it by the float64 one."""
    sched.betas = betas.clone()
    sched.alphas = 1 - betas
    sched.alphas_cumprod = torch.cumprod(sched.alphas, dim=0)

