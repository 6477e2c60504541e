"""diffusion.linear_beta_schedule: num_steps float64 betas evenly spaced from beta_start to
beta_end; its properties and known mistakes.
"""

from __future__ import annotations

from typing import Any

import torch
from hypothesis import example, given
from hypothesis import strategies as st

from grader.properties.api import Context, Exercise, Mistake
from grader.properties.diffusion._shared import F64, _call_on_cpu, _check_tensor


def _linear_float32(num_steps, beta_start=1e-4, beta_end=0.02):
    return torch.linspace(beta_start, beta_end, num_steps)  # torch's default dtype, as diffusers builds it


def _linear_rescaled(num_steps, beta_start=1e-4, beta_end=0.02):
    scale = 1000 / num_steps  # improved-diffusion: the same β range per unit of time for any T
    return torch.linspace(scale * beta_start, scale * beta_end, num_steps, dtype=F64)


def _linear_end_excluded(num_steps, beta_start=1e-4, beta_end=0.02):
    return beta_start + (beta_end - beta_start) * torch.arange(num_steps, dtype=F64) / num_steps


linear = Exercise(
    "diffusion.linear_beta_schedule",
    mistakes=[
        Mistake("float32", "your schedule equals one computed in float32 (torch.linspace's default dtype, which diffusers uses); create it with dtype=torch.float64: ᾱ_t multiplies hundreds of factors (1 − β)", _linear_float32),
        Mistake("rescaled_by_1000_over_T", "your betas are rescaled by 1000/T (improved-diffusion's convention); this course follows diffusers: linspace(beta_start, beta_end, T) with the endpoints as given", _linear_rescaled),
        Mistake("end_excluded", "your betas stop one step short of beta_end (spacing (end − start)/T); both endpoints are included, the spacing is (end − start)/(T − 1), as in torch.linspace", _linear_end_excluded),
    ],
)


def linear_ends() -> st.SearchStrategy[tuple[float, float] | None]:
    """(beta_start, beta_end), or None for the defaults."""
    return st.none() | st.tuples(st.floats(1e-5, 0.05), st.floats(0.05, 0.5))


def _linear_args(num_steps: int, ends: tuple[float, float] | None) -> tuple[tuple[Any, ...], dict[str, Any], float, float]:
    start, end = ends or (1e-4, 0.02)
    args = (num_steps,) if ends is None else (num_steps, start, end)
    return args, {"num_steps": num_steps, "beta_start": start, "beta_end": end}, start, end


@linear.property("shape_dtype_endpoints", "returns num_steps float64 betas from beta_start to beta_end (defaults 1e-4 and 0.02)", tier="public")
@given(num_steps=st.integers(1, 60), ends=linear_ends())
@example(num_steps=1000, ends=None)
def _linear_shape(ctx: Context, num_steps: int, ends: tuple[float, float] | None) -> None:
    args, inputs, start, end = _linear_args(num_steps, ends)
    got = _call_on_cpu(ctx, *args)
    _check_tensor(ctx, got, (num_steps,), F64, inputs, "the schedule")
    ctx.assert_close(float(got[0]), start, inputs=inputs, what="betas[0]")
    if num_steps > 1:
        ctx.assert_close(float(got[-1]), end, inputs=inputs, what="betas[-1]")


@linear.property("evenly_spaced", "betas[i] = beta_start + i·(beta_end − beta_start)/(num_steps − 1)", tier="public")
@given(num_steps=st.integers(2, 60), ends=linear_ends())
@example(num_steps=10, ends=None)
def _linear_evenly_spaced(ctx: Context, num_steps: int, ends: tuple[float, float] | None) -> None:
    args, inputs, start, end = _linear_args(num_steps, ends)
    got = _call_on_cpu(ctx, *args)
    expected = torch.tensor([start + i * (end - start) / (num_steps - 1) for i in range(num_steps)], dtype=F64)
    ctx.assert_close(got, expected, inputs=inputs, what="the schedule")


@linear.property("matches_reference", "equals the reference schedule for random lengths and endpoints", tier="hidden")
@given(num_steps=st.integers(1, 60), ends=linear_ends())
def _linear_matches_reference(ctx: Context, num_steps: int, ends: tuple[float, float] | None) -> None:
    args, inputs, _, _ = _linear_args(num_steps, ends)
    ctx.assert_close(_call_on_cpu(ctx, *args), ctx.ref(*args), inputs=inputs, what="the schedule")

