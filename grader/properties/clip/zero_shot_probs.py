"""Properties and known mistakes of ``clip.zero_shot_probs``."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st

from grader.properties.api import Context, Exercise, Mistake
from grader.properties.clip import strategies as gs
from grader.properties.clip._shared import _logits, _rotation, _tol
from grader.properties.common import unless_right as _unless_right
from grader.properties.judge_only import judge_only
from grader.properties.stability import UNSTABLE_SOFTMAX, assert_stable

# ----------------------------------------------------------------------------- known mistakes


@judge_only
def _probs_right(image_emb, class_emb, logit_scale):
    return _logits(image_emb, class_emb, logit_scale).softmax(dim=-1)


def _probs_over_images(image_emb, class_emb, logit_scale):
    return _logits(image_emb, class_emb, logit_scale).softmax(dim=0)


def _probs_no_normalization(image_emb, class_emb, logit_scale):
    return _logits(image_emb, class_emb, logit_scale, normalize=False).softmax(dim=-1)


def _probs_no_exp(image_emb, class_emb, logit_scale):
    return _logits(image_emb, class_emb, logit_scale, use_exp=False).softmax(dim=-1)


def _probs_global_norm(image_emb, class_emb, logit_scale):
    return _logits(image_emb, class_emb, logit_scale, norm_dim=None).softmax(dim=-1)


def _probs_divided_by_scale(image_emb, class_emb, logit_scale):
    return _logits(image_emb, class_emb, logit_scale, divide=True).softmax(dim=-1)


def _probs_exp_over_sum(image_emb, class_emb, logit_scale):
    e = _logits(image_emb, class_emb, logit_scale).exp()
    return e / e.sum(dim=-1, keepdim=True)


zero_shot = Exercise(
    "clip.zero_shot_probs",
    mistakes=[
        Mistake("softmax_over_images", "your output takes the softmax over the images (dim=0); each image's probabilities are over the K classes (dim=-1)", _unless_right(_probs_over_images, _probs_right)),
        Mistake("no_normalization", "your output uses raw dot products: L2-normalise image and class embeddings, so the logits are scaled cosines", _unless_right(_probs_no_normalization, _probs_right)),
        Mistake("global_norm", "your output divides each embedding matrix by its overall norm (x / x.norm()); normalise each row: F.normalize(x, dim=-1)", _unless_right(_probs_global_norm, _probs_right)),
        Mistake("exp_over_sum", f"your output equals the probabilities as {UNSTABLE_SOFTMAX}", _unless_right(_probs_exp_over_sum, _probs_right)),
        Mistake("no_exp", "your output multiplies the cosines by logit_scale itself; multiply by exp(logit_scale), the inverse temperature", _unless_right(_probs_no_exp, _probs_right)),
        Mistake("divided_by_scale", "your output divides the cosines by exp(logit_scale); exp(logit_scale) is the inverse temperature: multiply by it", _unless_right(_probs_divided_by_scale, _probs_right)),
    ],
)


def _zs_inputs(image: torch.Tensor, classes: torch.Tensor, logit_scale: float | torch.Tensor) -> dict:
    return {"image_emb": image, "class_emb": classes, "logit_scale": logit_scale}


@zero_shot.property("rows_are_distributions", "the result has shape (N, K), and each image's probabilities are non-negative and sum to 1 over the classes", tier="public")
@given(a=gs.zero_shot_inputs())
def _zs_rows(ctx: Context, a: dict) -> None:
    image, classes = a["image_emb"], a["class_emb"]
    got = ctx.call(image, classes, a["logit_scale"])
    shape = (image.shape[0], classes.shape[0])
    ctx.check(isinstance(got, torch.Tensor) and tuple(got.shape) == shape, f"expected a tensor of shape (N, K) = {shape}, got {tuple(getattr(got, 'shape', ()))}", inputs=a)
    rtol, atol = ctx.tolerance(image.dtype)
    sums = got.sum(dim=-1)
    ok = bool((got >= 0).all()) and torch.allclose(sums, torch.ones_like(sums), rtol=rtol, atol=max(atol, 1e-6))
    ctx.check(ok, f"each row should be a distribution over the classes; row sums are {sums[:6].tolist()}", inputs=a)


@zero_shot.property("invariant_to_embedding_scale", "multiplying any image or class embedding by a positive number does not change the probabilities", tier="public")
@given(a=gs.zero_shot_inputs(), seed=gs.seeds())
def _zs_scale(ctx: Context, a: dict, seed: int) -> None:
    image, classes, ls = a["image_emb"], a["class_emb"], a["logit_scale"]
    got = ctx.call(image, classes, ls)
    image2 = (image.double() * gs.positive_row_scales(image.shape[0], seed)).to(image.dtype)
    classes2 = (classes.double() * gs.positive_row_scales(classes.shape[0], seed + 1)).to(classes.dtype)
    ctx.assert_close(ctx.call(image2, classes2, ls), got, inputs=_zs_inputs(image2, classes2, ls), what="the probabilities for rescaled embeddings", **_tol(ctx, image.dtype, ls))


@zero_shot.property("known_answer", "an image along one of K orthogonal class directions gets e^s/(e^s + K − 1) for that class and 1/(e^s + K − 1) for the others (s = exp(logit_scale))", tier="public")
@given(d=gs.dims(2, 8), dtype=gs.float_dtypes(), seed=gs.seeds(), logit_scale=st.floats(0.25, 3.0), data=st.data())
def _zs_known_answer(ctx: Context, d: int, dtype: torch.dtype, seed: int, logit_scale: float, data: st.DataObject) -> None:
    # K ≥ 2 classes, K + 1 images, logit_scale ≠ 0: no known mistake coincides with the answer.
    k = data.draw(st.integers(2, d), label="k")
    n = k + 1
    directions = _rotation(d, seed)[:k]  # (K, D) orthonormal class directions
    labels = torch.randint(k, (n,), generator=gs.generator(seed + 1))
    classes = (directions * gs.positive_row_scales(k, seed + 2)).to(dtype)
    image = (directions[labels] * gs.positive_row_scales(n, seed + 3)).to(dtype)
    s = math.exp(logit_scale)
    denominator = math.exp(s) + k - 1
    expected = torch.full((n, k), 1 / denominator, dtype=torch.float64)
    expected[torch.arange(n), labels] = math.exp(s) / denominator
    ctx.assert_close(ctx.call(image, classes, logit_scale), expected.to(dtype), inputs=_zs_inputs(image, classes, logit_scale), **_tol(ctx, dtype, logit_scale))


@zero_shot.property("sharper_with_larger_scale", "raising logit_scale (a lower temperature) never lowers the probability of an image's most similar class", tier="public")
@given(a=gs.zero_shot_inputs())
def _zs_sharper(ctx: Context, a: dict) -> None:
    image, classes, ls = a["image_emb"], a["class_emb"], float(a["logit_scale"])
    low = ctx.call(image, classes, ls)
    high = ctx.call(image, classes, ls + 0.5)
    top = F.normalize(image.double(), dim=-1) @ F.normalize(classes.double(), dim=-1).T  # cosines
    best = top.argmax(dim=-1, keepdim=True)  # (N, 1)
    p_low, p_high = low.double().gather(1, best), high.double().gather(1, best)
    _, atol = ctx.tolerance(image.dtype)
    ctx.check(bool((p_high >= p_low - 10 * atol).all()), f"the top class's probability fell from {p_low.flatten().tolist()} to {p_high.flatten().tolist()} when logit_scale rose from {ls} to {ls + 0.5}", inputs=a)


@zero_shot.property("matches_reference", "the probabilities equal the reference's on random embeddings, with logit_scale a number or a 0-d tensor", tier="hidden")
@given(a=gs.zero_shot_inputs())
def _zs_matches_reference(ctx: Context, a: dict) -> None:
    image, classes, ls = a["image_emb"], a["class_emb"], a["logit_scale"]
    ctx.assert_close(ctx.call(image, classes, ls), ctx.ref(image, classes, ls), inputs=a, **_tol(ctx, image.dtype, ls))


@zero_shot.property("gradients_match", "gradients with respect to both embeddings and logit_scale equal the reference's", tier="hidden")
@given(a=gs.zero_shot_inputs(), seed=gs.seeds())
def _zs_gradients_match(ctx: Context, a: dict, seed: int) -> None:
    image, classes, dtype = a["image_emb"], a["class_emb"], a["image_emb"].dtype
    ls_t = torch.as_tensor(float(a["logit_scale"]), dtype=dtype)
    g_out = gs.make_tensor((image.shape[0], classes.shape[0]), dtype, seed)
    _, grads = ctx.student.vjp(ctx.exercise.name, (image, classes, ls_t), g_out, [0, 1, 2])
    leaves = tuple(t.clone().requires_grad_(True) for t in (image, classes, ls_t))
    expected = torch.autograd.grad(ctx.ref(*leaves), leaves, g_out)
    ctx.assert_close(tuple(grads["inputs"]), expected, inputs=_zs_inputs(image, classes, ls_t), what="the gradients (d image_emb, d class_emb, d logit_scale)", **_tol(ctx, dtype, ls_t))


@zero_shot.property("dtype_contract", "the probabilities keep the embeddings' dtype, whatever the dtype of a tensor logit_scale", tier="public")
@given(dtype=gs.float_dtypes(), scale_kind=st.sampled_from(["number", "float32", "float64"]), n=gs.dims(), k=gs.dims(), d=gs.dims())
def _zs_dtype_contract(ctx: Context, dtype: torch.dtype, scale_kind: str, n: int, k: int, d: int) -> None:
    image, classes = gs.make_tensor((n, d), dtype, 0), gs.make_tensor((k, d), dtype, 1)
    ls = 2.0 if scale_kind == "number" else torch.tensor(2.0, dtype=getattr(torch, scale_kind))
    got = ctx.call(image, classes, ls)
    ctx.check(isinstance(got, torch.Tensor) and got.dtype == dtype, f"embeddings were {dtype}, the probabilities are {getattr(got, 'dtype', type(got).__name__)}", inputs=_zs_inputs(image, classes, ls))


@zero_shot.property("stable_for_large_logit_scale", "with logit_scale up to 9 (logits exp(logit_scale)·cos of 1e2–1e4) the probabilities are finite and exact", tier="public")
@given(a=gs.large_scale_clip_inputs(rows="K"))
def _probs_stable_for_large_scale(ctx: Context, a: dict) -> None:
    image, classes, ls = a["image_emb"], a["other"], a["logit_scale"]
    expected = _probs_right(image.double(), classes.double(), float(ls)).to(image.dtype)
    got = ctx.call(image, classes, ls)
    assert_stable(ctx, got, expected, inputs=_zs_inputs(image, classes, ls), what="the probabilities", formula=UNSTABLE_SOFTMAX, **_tol(ctx, image.dtype, ls))
