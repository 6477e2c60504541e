"""Properties and known mistakes of ``transformer.feed_forward``."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from hypothesis import example, given

from grader.properties.api import Context, Exercise, Mistake
from grader.properties.transformer import strategies as gs


def _ff_weights_not_transposed(x, w1, b1, w2, b2):
    return torch.relu(x @ w1 + b1) @ w2 + b2


def _ff_gelu(x, w1, b1, w2, b2):
    return F.gelu(x @ w1.T + b1) @ w2.T + b2


def _ff_relu_on_output(x, w1, b1, w2, b2):
    return torch.relu(torch.relu(x @ w1.T + b1) @ w2.T + b2)


def _ff_relu_before_bias(x, w1, b1, w2, b2):
    return (torch.relu(x @ w1.T) + b1) @ w2.T + b2


feed_forward = Exercise(
    "transformer.feed_forward",
    mistakes=[
        Mistake("weights_not_transposed", "your output equals x @ w1 … @ w2 without transposes; the weights are in nn.Linear layout (out_features, in_features): x @ w1.T", _ff_weights_not_transposed),
        Mistake("gelu", "your output uses GELU; this block (Vaswani, nn.TransformerEncoderLayer's default) uses ReLU", _ff_gelu),
        Mistake("relu_on_output", "your output applies ReLU after the second layer too; the activation sits only between the two layers, the output may be negative", _ff_relu_on_output),
        Mistake("relu_before_bias", "your output adds b1 after the ReLU; the bias goes inside: relu(x·w1ᵀ + b1)", _ff_relu_before_bias),
    ],
)

FF_ARGS = ("x", "w1", "b1", "w2", "b2")


def _ff_args(a: dict, **changes) -> tuple:
    return tuple(changes.get(name, a[name]) for name in FF_ARGS)


@feed_forward.property("known_answer", "with w1 = [[1], [−1]], b1 = [−½, −½], w2 = [[1, 1]], b2 = [½] the network computes relu(x − ½) + relu(−x − ½) + ½", tier="public")
@given(dtype=gs.float_dtypes())
def _ff_known_answer(ctx: Context, dtype: torch.dtype) -> None:
    x = torch.tensor([[[-2.0], [-0.25], [0.3], [1.5]]], dtype=dtype)  # (1, 4, 1)
    w1, b1 = torch.tensor([[1.0], [-1.0]], dtype=dtype), torch.tensor([-0.5, -0.5], dtype=dtype)
    w2, b2 = torch.tensor([[1.0, 1.0]], dtype=dtype), torch.tensor([0.5], dtype=dtype)
    expected = torch.tensor([[[2.0], [0.5], [0.5], [1.5]]], dtype=dtype)
    got = ctx.call(x, w1, b1, w2, b2)
    ctx.assert_close(got, expected, inputs={"x": x, "w1": w1, "b1": b1, "w2": w2, "b2": b2})


@feed_forward.property("acts_per_position", "each position is transformed on its own: permuting positions permutes the outputs, and a position computed alone gives the same output", tier="public")
@given(a=gs.feed_forward_inputs(), seed=gs.seeds())
def _ff_acts_per_position(ctx: Context, a: dict, seed: int) -> None:
    out = ctx.call(*_ff_args(a))
    perm = torch.randperm(a["x"].shape[1], generator=gs.generator(seed))
    shown = {name: a[name] for name in FF_ARGS}
    ctx.assert_close(ctx.call(*_ff_args(a, x=a["x"][:, perm])), out[:, perm], inputs=shown, what="the output for permuted positions")
    i = int(perm[0])
    ctx.assert_close(ctx.call(*_ff_args(a, x=a["x"][:, i : i + 1])), out[:, i : i + 1], inputs=shown, what=f"the output of position {i} computed alone")


@feed_forward.property("dtype_contract", "the result has x's shape and dtype, float32 or float64", tier="public")
@given(a=gs.feed_forward_inputs())
def _ff_dtype_contract(ctx: Context, a: dict) -> None:
    got = ctx.call(*_ff_args(a))
    shown = {name: a[name] for name in FF_ARGS}
    ctx.check(isinstance(got, torch.Tensor) and got.shape == a["x"].shape, f"expected shape {tuple(a['x'].shape)}, got {getattr(got, 'shape', type(got).__name__)}", inputs=shown)
    ctx.check(got.dtype == a["x"].dtype, f"x was {a['x'].dtype}, the result is {got.dtype}", inputs=shown)


@feed_forward.property("matches_reference", "the output equals the reference for random widths d and d_ff (square and not)", tier="hidden")
@given(a=gs.feed_forward_inputs())
@example(a={"x": torch.tensor([[[1.0, -2.0], [0.5, 0.25]]]), "w1": torch.tensor([[1.0, 2.0], [-3.0, 0.5]]), "b1": torch.tensor([0.1, 0.2]), "w2": torch.tensor([[0.5, -1.0], [2.0, 1.0]]), "b2": torch.tensor([-0.3, 0.3])})
def _ff_matches_reference(ctx: Context, a: dict) -> None:
    ctx.assert_close(ctx.call(*_ff_args(a)), ctx.ref(*_ff_args(a)), inputs={name: a[name] for name in FF_ARGS})


@feed_forward.property("gradients_match", "gradients with respect to x, w1, b1, w2 and b2 equal the reference's", tier="hidden")
@given(a=gs.feed_forward_inputs(), seed=gs.seeds())
def _ff_gradients_match(ctx: Context, a: dict, seed: int) -> None:
    g_out = gs.make_tensor(tuple(a["x"].shape), a["x"].dtype, seed)
    _, grads = ctx.student.vjp(ctx.exercise.name, _ff_args(a), g_out, [0, 1, 2, 3, 4])
    leaves = [a[name].clone().requires_grad_(True) for name in FF_ARGS]
    expected = torch.autograd.grad(ctx.ref(*leaves), leaves, g_out)
    ctx.assert_close(tuple(grads["inputs"]), expected, inputs={name: a[name] for name in FF_ARGS}, what="the gradients (dx, dw1, db1, dw2, db2)")
