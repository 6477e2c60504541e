"""Properties and known mistakes of ``transformer.layer_norm``."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from hypothesis import example, given
from hypothesis import strategies as st

from grader.properties.api import Context, Exercise, Mistake
from grader.properties.transformer import strategies as gs


def _ln_unbiased_variance(x, weight, bias, eps=1e-5):
    mean = x.mean(dim=-1, keepdim=True)
    return (x - mean) / torch.sqrt(x.var(dim=-1, keepdim=True) + eps) * weight + bias  # torch.var divides by D − 1


def _ln_eps_outside_sqrt(x, weight, bias, eps=1e-5):
    mean = x.mean(dim=-1, keepdim=True)
    return (x - mean) / (x.std(dim=-1, unbiased=False, keepdim=True) + eps) * weight + bias


def _ln_over_first_dim(x, weight, bias, eps=1e-5):
    mean = x.mean(dim=0, keepdim=True)
    var = x.var(dim=0, unbiased=False, keepdim=True)
    return (x - mean) / torch.sqrt(var + eps) * weight + bias


def _ln_one_pass_variance(x, weight, bias, eps=1e-5):
    mean = x.mean(dim=-1, keepdim=True)
    var = (x * x).mean(dim=-1, keepdim=True) - mean * mean  # E[x²] − E[x]²
    return (x - mean) / torch.sqrt(var + eps) * weight + bias


layer_norm = Exercise(
    "transformer.layer_norm",
    mistakes=[
        Mistake("unbiased_variance", "your output equals normalizing with the unbiased variance (torch.var's default, divided by D − 1); layer norm uses the biased one, var(unbiased=False)", _ln_unbiased_variance),
        Mistake("eps_outside_sqrt", "your output equals dividing by std + eps; eps goes inside the root: (x − mean) / sqrt(var + eps)", _ln_eps_outside_sqrt),
        Mistake("over_first_dim", "your output equals statistics over the first (batch) dimension, as batch norm does; layer norm takes them over the last dimension of each row", _ln_over_first_dim),
        Mistake("one_pass_variance", "your output equals var = E[x²] − E[x]², which cancels catastrophically in float32 when a row's mean is large next to its spread; center first: var = mean((x − mean)²)", _ln_one_pass_variance),
    ],
)


def _ln_shown(a: dict) -> dict:
    return {name: a[name] for name in ("x", "weight", "bias", "eps")}


def _ln_formula64(x, weight, bias, eps):
    """The definition in float64, rounded to x's dtype once."""
    x64 = x.double()
    mean = x64.mean(dim=-1, keepdim=True)
    var = ((x64 - mean) ** 2).mean(dim=-1, keepdim=True)
    return ((x64 - mean) / torch.sqrt(var + eps) * weight.double() + bias.double()).to(x.dtype)


@layer_norm.property("known_answer", "[0, 2] normalizes to ±1/√(1 + eps), [0, 2⁻⁹] (variance below eps) to ±2⁻¹⁰/√(2⁻²⁰ + eps), and a constant row or a width of 1 to the bias", tier="public")
@given(dtype=gs.float_dtypes())
def _ln_known_answer(ctx: Context, dtype: torch.dtype) -> None:
    eps = 1e-5
    two = {"x": torch.tensor([[0.0, 2.0], [0.0, 2.0**-9]], dtype=dtype), "weight": torch.ones(2, dtype=dtype), "bias": torch.zeros(2, dtype=dtype)}
    r0, r1 = 1 / math.sqrt(1 + eps), 2.0**-10 / math.sqrt(2.0**-20 + eps)
    constant = {"x": torch.full((1, 3), 3.0, dtype=dtype), "weight": torch.tensor([2.0, -1.0, 0.5], dtype=dtype), "bias": torch.tensor([0.1, 0.2, 0.3], dtype=dtype)}
    width_one = {"x": torch.tensor([[5.0], [-2.0]], dtype=dtype), "weight": torch.tensor([1.5], dtype=dtype), "bias": torch.tensor([0.7], dtype=dtype)}
    cases = [
        (two, torch.tensor([[-r0, r0], [-r1, r1]], dtype=dtype)),
        (constant, constant["bias"].clone().unsqueeze(0)),
        (width_one, torch.full((2, 1), 0.7, dtype=dtype)),
    ]
    for inputs, expected in cases:
        got = ctx.call(inputs["x"], inputs["weight"], inputs["bias"], eps)
        ctx.assert_close(got, expected, inputs={**inputs, "eps": eps})


@layer_norm.property("shift_and_scale_invariant", "adding a constant to each row changes nothing, and scaling x by c > 0 together with eps by c² changes nothing", tier="public")
@given(rows=gs.dims(1, 6), d=gs.dims(1, 8), dtype=gs.float_dtypes(), seed=gs.seeds(), c=st.sampled_from((0.25, 0.5, 2.0, 4.0)), eps=st.sampled_from((1e-5, 1e-3)))
def _ln_shift_and_scale_invariant(ctx: Context, rows: int, d: int, dtype: torch.dtype, seed: int, c: float, eps: float) -> None:
    # Values on a grid of 1/32, shifts on a grid of 1/2 and scales powers of 2: every
    # transformed input is exact in float32, so only the student's arithmetic is tested.
    x = (gs.make_tensor((rows, d), torch.float64, seed) * 32).round().div(32).to(dtype)
    shift = (gs.make_tensor((rows, 1), torch.float64, seed + 1, scale=4.0) * 2).round().div(2).to(dtype)
    weight = gs.make_tensor((d,), dtype, seed + 2, scale=0.5) + 1
    bias = gs.make_tensor((d,), dtype, seed + 3, scale=0.5)
    base = ctx.call(x, weight, bias, eps)
    shown = {"x": x, "weight": weight, "bias": bias, "eps": eps, "shift per row": shift, "c": c}
    ctx.assert_close(ctx.call(x + shift, weight, bias, eps), base, inputs=shown, what="the output for x + shift")
    ctx.assert_close(ctx.call(c * x, weight, bias, eps * c * c), base, inputs=shown, what="the output for c·x with eps·c²")


@layer_norm.property("dtype_contract", "the result has x's shape and dtype, float32 or float64", tier="public")
@given(a=gs.layer_norm_inputs())
def _ln_dtype_contract(ctx: Context, a: dict) -> None:
    got = ctx.call(a["x"], a["weight"], a["bias"], a["eps"])
    ctx.check(isinstance(got, torch.Tensor) and got.shape == a["x"].shape, f"expected shape {tuple(a['x'].shape)}, got {getattr(got, 'shape', type(got).__name__)}", inputs=_ln_shown(a))
    ctx.check(got.dtype == a["x"].dtype, f"x was {a['x'].dtype}, the result is {got.dtype}", inputs=_ln_shown(a))


@layer_norm.property("matches_torch_layer_norm", "the output equals F.layer_norm over the last dim, also for rows whose variance is far below eps", tier="hidden")
@given(a=gs.layer_norm_inputs())
@example(a={"x": torch.tensor([[1.0, 1.001, 0.999], [-3.0, 5.0, 0.0]]), "weight": torch.ones(3), "bias": torch.zeros(3), "eps": 1e-5})
def _ln_matches_torch(ctx: Context, a: dict) -> None:
    got = ctx.call(a["x"], a["weight"], a["bias"], a["eps"])
    expected = F.layer_norm(a["x"], a["x"].shape[-1:], a["weight"], a["bias"], a["eps"])
    ctx.assert_close(got, expected, inputs=_ln_shown(a))


@layer_norm.property("matches_reference", "the output equals the reference on random inputs of widths 1 to 8, eps given or left at its default", tier="hidden")
@given(a=gs.layer_norm_inputs(), pass_eps=st.booleans())
@example(a={"x": torch.tensor([[1.0, 1.001, 0.999]]), "weight": torch.ones(3), "bias": torch.zeros(3), "eps": 1e-5}, pass_eps=False)
@example(a={"x": torch.tensor([[0.0, 0.05, -0.02]], dtype=torch.float64), "weight": torch.ones(3, dtype=torch.float64), "bias": torch.zeros(3, dtype=torch.float64), "eps": 1e-3}, pass_eps=True)
def _ln_matches_reference(ctx: Context, a: dict, pass_eps: bool) -> None:
    args = (a["x"], a["weight"], a["bias"], a["eps"]) if pass_eps else (a["x"], a["weight"], a["bias"])
    ctx.assert_close(ctx.call(*args), ctx.ref(*args), inputs={**_ln_shown(a), "eps": a["eps"] if pass_eps else "default"})


@layer_norm.property("gradients_match", "gradients with respect to x, weight and bias equal the reference's: the mean and variance are part of the graph", tier="hidden")
# D ≥ 2: in a row of width 1 (variance exactly 0) the normalized value is 0 only up to rounding
# of |x|/√eps, so in float32 any implementation but the reference's own has noisy dweight there.
@given(a=gs.layer_norm_inputs(min_width=2), seed=gs.seeds())
def _ln_gradients_match(ctx: Context, a: dict, seed: int) -> None:
    x, weight, bias, eps = a["x"], a["weight"], a["bias"], a["eps"]
    g_out = gs.make_tensor(tuple(x.shape), x.dtype, seed)
    _, grads = ctx.student.vjp(ctx.exercise.name, (x, weight, bias, eps), g_out, [0, 1, 2])
    leaves = [t.clone().requires_grad_(True) for t in (x, weight, bias)]
    expected = torch.autograd.grad(ctx.ref(*leaves, eps), leaves, g_out)
    # dx carries the factor 1/√(var + eps) (up to ~300 for rows far below eps), and so does its
    # rounding noise: the absolute tolerance scales with the largest such factor.
    _, atol = ctx.tolerance(x.dtype)
    amplification = float((x.double().var(dim=-1, unbiased=False) + eps).rsqrt().max())
    ctx.assert_close(tuple(grads["inputs"]), expected, inputs=_ln_shown(a), what="the gradients (dx, dweight, dbias)", atol=atol * max(1.0, amplification))
