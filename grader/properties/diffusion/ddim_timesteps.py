"""diffusion.ddim_timesteps: the descending time steps of a DDIM sampler (diffusers' "leading"
spacing); its properties and known mistakes.
"""

from __future__ import annotations

import torch
from hypothesis import example, given
from hypothesis import strategies as st

from grader.properties.api import Context, Exercise, Mistake
from grader.properties.diffusion._shared import F64, _call_on_cpu, _check_tensor, _diffusers_schedulers, _shape_of


def _timesteps_ascending(num_train_steps, num_inference_steps):
    return torch.arange(num_inference_steps, dtype=torch.int64) * (num_train_steps // num_inference_steps)


def _timesteps_trailing(num_train_steps, num_inference_steps):
    ratio = num_train_steps / num_inference_steps  # diffusers' "trailing": end at T − 1
    return (num_train_steps - torch.arange(num_inference_steps, dtype=F64) * ratio).round().long() - 1


def _timesteps_linspace(num_train_steps, num_inference_steps):
    return torch.linspace(0, num_train_steps - 1, num_inference_steps, dtype=F64).round().long().flip(0)


def _timesteps_offset_one(num_train_steps, num_inference_steps):
    return torch.arange(num_inference_steps - 1, -1, -1, dtype=torch.int64) * (num_train_steps // num_inference_steps) + 1


timesteps = Exercise(
    "diffusion.ddim_timesteps",
    mistakes=[
        Mistake("ascending", "your time steps are ascending; sampling goes from noise to data, so they run from the largest down to 0", _timesteps_ascending),
        Mistake("trailing_spacing", "your time steps use 'trailing' spacing (starting at T − 1); 'leading' spacing is k·(T // n), starting from 0", _timesteps_trailing),
        Mistake("linspace_spacing", "your time steps use 'linspace' spacing (round(linspace(0, T − 1, n))); 'leading' spacing uses the integer stride T // n", _timesteps_linspace),
        Mistake("steps_offset_one", "your time steps are shifted by 1 (steps_offset=1, as in Stable Diffusion's config); here steps_offset is 0 and the last step is 0", _timesteps_offset_one),
    ],
)


@st.composite
def timestep_counts(draw: st.DrawFn, *, min_inference: int = 1, max_train: int = 100) -> tuple[int, int]:
    """(num_train_steps T, num_inference_steps n) with min_inference ≤ n ≤ T."""
    num_train = draw(st.integers(min_inference, max_train))
    return num_train, draw(st.integers(min_inference, num_train))


@timesteps.property("descending_from_zero", "returns n int64 time steps below T, strictly descending, the last one 0", tier="public")
@given(counts=timestep_counts())
@example(counts=(1000, 50))
@example(counts=(10, 3))
@example(counts=(1, 1))
def _timesteps_descending(ctx: Context, counts: tuple[int, int]) -> None:
    num_train, n = counts
    inputs = {"num_train_steps": num_train, "num_inference_steps": n}
    got = _call_on_cpu(ctx, num_train, n)
    _check_tensor(ctx, got, (n,), torch.int64, inputs, "the time steps")
    ctx.check(bool((got[1:] < got[:-1]).all()), f"the time steps should be strictly descending, got {got.tolist()[:12]}", inputs=inputs)
    ctx.check(int(got[-1]) == 0 and int(got[0]) < num_train, f"the time steps should end at 0 and start below T = {num_train}; got first {int(got[0])}, last {int(got[-1])}", inputs=inputs)


@timesteps.property("integer_stride", "consecutive time steps differ by exactly T // n", tier="public")
@given(counts=timestep_counts(min_inference=2))
@example(counts=(1000, 7))
def _timesteps_stride(ctx: Context, counts: tuple[int, int]) -> None:
    num_train, n = counts
    inputs = {"num_train_steps": num_train, "num_inference_steps": n}
    got = _call_on_cpu(ctx, num_train, n)
    ctx.check(isinstance(got, torch.Tensor) and tuple(got.shape) == (n,), f"expected {n} time steps, got {_shape_of(got)}", inputs=inputs)
    gaps = (got[:-1] - got[1:]).tolist()
    ctx.check(all(gap == num_train // n for gap in gaps), f"every gap should be T // n = {num_train // n}; got gaps {gaps[:12]}", inputs=inputs)


def _diffusers_timesteps(num_train: int, n: int) -> torch.Tensor | None:
    schedulers = _diffusers_schedulers()
    if schedulers is None:
        return None
    sched = schedulers[1](num_train_timesteps=num_train, timestep_spacing="leading", steps_offset=0)
    sched.set_timesteps(n)
    return sched.timesteps


@timesteps.property("matches_diffusers", "equals diffusers' DDIMScheduler.set_timesteps (timestep_spacing='leading', steps_offset=0)", tier="hidden")
@given(counts=timestep_counts(max_train=1000))
@example(counts=(1000, 50))
def _timesteps_matches_diffusers(ctx: Context, counts: tuple[int, int]) -> None:
    num_train, n = counts
    expected = _diffusers_timesteps(num_train, n)
    if expected is None:
        expected = ctx.ref(num_train, n)
    ctx.assert_close(_call_on_cpu(ctx, num_train, n), expected, inputs={"num_train_steps": num_train, "num_inference_steps": n}, what="the time steps")

