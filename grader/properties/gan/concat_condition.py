"""Properties and known mistakes of ``gan.concat_condition``."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from hypothesis import example, given

from grader.properties.api import Context, Exercise, Mistake
from grader.properties.common import assert_gradients as _assert_gradients
from grader.properties.common import check_plain as _check_plain
from grader.properties.common import in_dtype as _in_dtype
from grader.properties.gan import strategies as gs
from grader.properties.gan._shared import _none_as_zeros


def _cond_onehot_first(x, labels, num_classes):
    onehot = F.one_hot(labels, num_classes).to(x.dtype)
    if x.dim() == 4:
        onehot = onehot[:, :, None, None].expand(-1, -1, *x.shape[2:])
    return torch.cat([onehot, x], dim=1)


def _cond_num_classes_inferred(x, labels, num_classes):
    onehot = F.one_hot(labels).to(x.dtype)  # K = max(labels) + 1
    if x.dim() == 4:
        onehot = onehot[:, :, None, None].expand(-1, -1, *x.shape[2:])
    return torch.cat([x, onehot], dim=1)


def _cond_last_axis(x, labels, num_classes):
    onehot = F.one_hot(labels, num_classes).to(x.dtype)
    if x.dim() == 4:
        onehot = onehot[:, None, None, :].expand(-1, x.shape[1], x.shape[2], -1)  # (B, C, H, K)
    return torch.cat([x, onehot], dim=-1)


concat_condition = Exercise(
    "gan.concat_condition",
    mistakes=[
        Mistake("onehot_first", "your output puts the one-hot before x; the condition is concatenated after x along dim 1", _cond_onehot_first),
        Mistake("num_classes_inferred", "your output has max(labels) + 1 one-hot columns: F.one_hot infers the number of classes unless you pass num_classes", _cond_num_classes_inferred),
        Mistake("last_axis_for_images", "for images your output concatenates along the last axis (width); the one-hot becomes K extra channels (dim 1), each constant over H×W", _cond_last_axis),
    ],
)


def _cond_inputs(a: dict) -> dict:
    return {"x": a["x"], "labels": a["labels"], "num_classes": a["num_classes"]}


def _expected_condition(x: torch.Tensor, labels: torch.Tensor, k: int) -> torch.Tensor:
    """The layout, built without one_hot: channel D + k is 1 exactly where label == k."""
    onehot = (labels[:, None] == torch.arange(k)[None, :]).to(x.dtype)  # (B, K)
    onehot = onehot.reshape(*onehot.shape, *([1] * (x.dim() - 2))).expand(-1, -1, *x.shape[2:])
    return torch.cat([x, onehot], dim=1)


@concat_condition.property("vector_layout", "for x (B, D) the result is (B, D+K): x, then the one-hot row of the label (K columns even if some class is absent)", tier="public")
@given(a=gs.condition_inputs(images=False))
@example(a={"x": torch.ones(2, 3), "labels": torch.tensor([0, 0]), "num_classes": 3})
def _cond_vector(ctx: Context, a: dict) -> None:
    ctx.assert_close(ctx.call(a["x"], a["labels"], a["num_classes"]), _expected_condition(a["x"], a["labels"], a["num_classes"]), inputs=_cond_inputs(a))


@concat_condition.property("image_layout", "for x (B, C, H, W) the result is (B, C+K, H, W): channel C + k is 1 everywhere for samples of class k", tier="public")
@given(a=gs.condition_inputs(images=True))
def _cond_image(ctx: Context, a: dict) -> None:
    ctx.assert_close(ctx.call(a["x"], a["labels"], a["num_classes"]), _expected_condition(a["x"], a["labels"], a["num_classes"]), inputs=_cond_inputs(a))


@concat_condition.property("gradient_reaches_x", "the gradient with respect to x is the upstream gradient of x's channels", tier="public")
@given(a=gs.condition_inputs(), seed=gs.seeds())
def _cond_gradient(ctx: Context, a: dict, seed: int) -> None:
    x, k = a["x"], a["num_classes"]
    g = gs.make_tensor((x.shape[0], x.shape[1] + k, *x.shape[2:]), x.dtype, seed)
    value, grads = ctx.student.vjp(ctx.exercise.name, (x, a["labels"], k), g, [0])
    (got,) = _none_as_zeros(grads["inputs"], [x])
    expected_value = _expected_condition(x, a["labels"], k)
    _assert_gradients(ctx, value, expected_value, got, g[:, : x.shape[1]], inputs=_cond_inputs(a), what="the gradient with respect to x")


@concat_condition.property("matches_reference", "the result equals the reference for vectors and images", tier="hidden")
@given(drawn=gs.condition_inputs())
def _cond_matches_reference(ctx: Context, drawn: dict) -> None:
    for dtype in gs.FLOAT_DTYPES:
        a = _in_dtype(drawn, dtype)
        ctx.assert_close(ctx.call(a["x"], a["labels"], a["num_classes"]), ctx.ref(a["x"], a["labels"], a["num_classes"]), inputs=_cond_inputs(a))


@concat_condition.property("dtype_contract", "the result has x's dtype (float32 or float64), the one-hot included", tier="public")
@given(drawn=gs.condition_inputs())
def _cond_dtype(ctx: Context, drawn: dict) -> None:
    for dtype in gs.FLOAT_DTYPES:
        a = _in_dtype(drawn, dtype)
        got = ctx.call(a["x"], a["labels"], a["num_classes"])
        _check_plain(isinstance(got, torch.Tensor) and got.dtype == dtype, f"x was {dtype}, the result is {getattr(got, 'dtype', type(got).__name__)}", _cond_inputs(a))
