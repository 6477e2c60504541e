"""Properties and known mistakes of ``clip.clip_loss``."""

from __future__ import annotations

import math

import torch
from hypothesis import example, given
from hypothesis import strategies as st

from grader.properties.api import Context, Exercise, Mistake
from grader.properties.clip import strategies as gs
from grader.properties.clip._shared import _logits, _rotation, _scale_value, _symmetric_ce, _tol
from grader.properties.common import unless_right as _unless_right
from grader.properties.judge_only import judge_only
from grader.properties.stability import NAIVE_LOG_SOFTMAX, assert_stable

# ----------------------------------------------------------------------------- known mistakes


@judge_only
def _loss_right(image_emb, text_emb, logit_scale):
    return _symmetric_ce(_logits(image_emb, text_emb, logit_scale))


def _loss_no_normalization(image_emb, text_emb, logit_scale):
    return _symmetric_ce(_logits(image_emb, text_emb, logit_scale, normalize=False))


def _loss_image_to_text_only(image_emb, text_emb, logit_scale):
    return _symmetric_ce(_logits(image_emb, text_emb, logit_scale), directions=1)


def _loss_no_half(image_emb, text_emb, logit_scale):
    return _symmetric_ce(_logits(image_emb, text_emb, logit_scale), half=False)


def _loss_no_exp(image_emb, text_emb, logit_scale):
    return _symmetric_ce(_logits(image_emb, text_emb, logit_scale, use_exp=False))


def _loss_divided_by_scale(image_emb, text_emb, logit_scale):
    return _symmetric_ce(_logits(image_emb, text_emb, logit_scale, divide=True))


def _loss_summed_over_batch(image_emb, text_emb, logit_scale):
    return _symmetric_ce(_logits(image_emb, text_emb, logit_scale), reduction="sum")


def _loss_log_of_softmax(image_emb, text_emb, logit_scale):
    logits = _logits(image_emb, text_emb, logit_scale)
    diag = torch.arange(logits.shape[0], device=logits.device)
    return -(logits.softmax(dim=1)[diag, diag].log().mean() + logits.softmax(dim=0)[diag, diag].log().mean()) / 2


clip_loss = Exercise(
    "clip.clip_loss",
    mistakes=[
        Mistake("no_normalization", "your output equals the loss of raw dot products: L2-normalise both embeddings first, so the logits are scaled cosines", _unless_right(_loss_no_normalization, _loss_right)),
        Mistake("image_to_text_only", "your output is the image→text cross-entropy alone; CLIP averages it with the text→image one, CE(logitsᵀ, arange N)", _unless_right(_loss_image_to_text_only, _loss_right)),
        Mistake("no_half", "your output is the sum of the two cross-entropies; CLIP takes their mean, ½[CE(logits) + CE(logitsᵀ)]", _unless_right(_loss_no_half, _loss_right)),
        Mistake("no_exp", "your output multiplies the logits by logit_scale itself; logit_scale is the log of the inverse temperature: multiply by exp(logit_scale)", _unless_right(_loss_no_exp, _loss_right)),
        Mistake("divided_by_scale", "your output divides the logits by exp(logit_scale); exp(logit_scale) is the inverse temperature: multiply by it", _unless_right(_loss_divided_by_scale, _loss_right)),
        Mistake("log_of_softmax", f"your output equals the cross-entropies from log(softmax(logits)): {NAIVE_LOG_SOFTMAX}", _unless_right(_loss_log_of_softmax, _loss_right)),
        Mistake("summed_over_batch", "your output sums the cross-entropy over the batch; F.cross_entropy averages over the N rows (reduction='mean')", _unless_right(_loss_summed_over_batch, _loss_right)),
    ],
)


def _loss_inputs(image: torch.Tensor, text: torch.Tensor, logit_scale: float | torch.Tensor) -> dict:
    return {"image_emb": image, "text_emb": text, "logit_scale": logit_scale}


@clip_loss.property("invariant_to_rescaling", "multiplying any image or text embedding by a positive number does not change the loss", tier="public")
@given(a=gs.clip_inputs(), seed=gs.seeds())
def _loss_rescaling(ctx: Context, a: dict, seed: int) -> None:
    image, text, ls = a["image_emb"], a["text_emb"], a["logit_scale"]
    got = ctx.call(image, text, ls)
    n = image.shape[0]
    image2 = (image.double() * gs.positive_row_scales(n, seed)).to(image.dtype)
    text2 = (text.double() * gs.positive_row_scales(n, seed + 1)).to(text.dtype)
    ctx.assert_close(ctx.call(image2, text2, ls), got, inputs=_loss_inputs(image2, text2, ls), what="the loss of rescaled embeddings", **_tol(ctx, image.dtype, ls))


@clip_loss.property("invariant_to_joint_permutation", "reordering the batch (the same way for images and texts, so pairs stay pairs) does not change the loss", tier="public")
@given(a=gs.clip_inputs(), seed=gs.seeds())
def _loss_permutation(ctx: Context, a: dict, seed: int) -> None:
    image, text, ls = a["image_emb"], a["text_emb"], a["logit_scale"]
    got = ctx.call(image, text, ls)
    perm = torch.randperm(image.shape[0], generator=gs.generator(seed))
    ctx.assert_close(ctx.call(image[perm], text[perm], ls), got, inputs=_loss_inputs(image[perm], text[perm], ls), what="the loss of the reordered batch", **_tol(ctx, image.dtype, ls))


@clip_loss.property("orthogonal_pairs_known_answer", "N pairs along N orthogonal directions have logits s·I (s = exp(logit_scale)), so the loss is log(e^s + N − 1) − s", tier="public")
@given(d=gs.dims(3, 8), dtype=gs.float_dtypes(), seed=gs.seeds(), logit_scale=st.floats(0.25, 3.0), data=st.data())
def _loss_orthogonal(ctx: Context, d: int, dtype: torch.dtype, seed: int, logit_scale: float, data: st.DataObject) -> None:
    # N ≥ 3 pairs: summing over the batch (N·loss) and summing the two directions (2·loss) differ.
    n = data.draw(st.integers(3, d), label="n")
    directions = _rotation(d, seed)[:n]  # (N, D) orthonormal rows
    image = (directions * gs.positive_row_scales(n, seed + 1)).to(dtype)
    text = (directions * gs.positive_row_scales(n, seed + 2)).to(dtype)
    s = math.exp(logit_scale)
    expected = torch.tensor(math.log(math.exp(s) + n - 1) - s, dtype=dtype)
    ctx.assert_close(ctx.call(image, text, logit_scale), expected, inputs=_loss_inputs(image, text, logit_scale), **_tol(ctx, dtype, logit_scale))


@clip_loss.property("asymmetric_known_answer", "images e1, e2 and texts e1, (e1 + e2)/√2: the two directions differ and the loss is the mean of their cross-entropies", tier="public")
@given(d=gs.dims(2, 8), dtype=gs.float_dtypes(), seed=gs.seeds(), logit_scale=st.floats(0.25, 3.0))
@example(d=2, dtype=torch.float64, seed=0, logit_scale=1.0)
def _loss_asymmetric(ctx: Context, d: int, dtype: torch.dtype, seed: int, logit_scale: float) -> None:
    q = _rotation(d, seed)  # rotating both sets keeps every cosine
    image = torch.stack([q[0], q[1]]).to(dtype)
    text = torch.stack([q[0], q[0] + q[1]]).to(dtype)  # cosines [[1, c], [0, c]], c = 1/√2
    s, c = math.exp(logit_scale), 1 / math.sqrt(2)
    image_to_text = (math.log1p(math.exp(s * (c - 1))) + math.log1p(math.exp(-s * c))) / 2  # rows, targets 0 and 1
    text_to_image = (math.log1p(math.exp(-s)) + math.log(2)) / 2  # columns: [s, 0] and [sc, sc]
    expected = torch.tensor((image_to_text + text_to_image) / 2, dtype=dtype)
    ctx.assert_close(ctx.call(image, text, logit_scale), expected, inputs=_loss_inputs(image, text, logit_scale), **_tol(ctx, dtype, logit_scale))


def _loss_at(ctx: Context, image: torch.Tensor, text: torch.Tensor, logit_scale: float) -> float:
    value = ctx.call(image, text, logit_scale)
    return float(value)


@clip_loss.property("gradients_reach_everything", "gradients reach both embeddings and a 0-d tensor logit_scale; each embedding's gradient is orthogonal to it (the loss ignores its length), and d loss/d logit_scale matches a finite difference", tier="public")
@given(a=gs.clip_inputs())
def _loss_gradients_public(ctx: Context, a: dict) -> None:
    image, text, ls = a["image_emb"], a["text_emb"], a["logit_scale"]
    dtype = image.dtype
    ls_t = torch.as_tensor(float(ls), dtype=dtype)
    inputs = _loss_inputs(image, text, ls_t)
    _, grads = ctx.student.vjp(ctx.exercise.name, (image, text, ls_t), torch.tensor(1.0, dtype=dtype), [0, 1, 2])
    g_image, g_text, g_scale = grads["inputs"]
    for name, g in (("image_emb", g_image), ("text_emb", g_text), ("logit_scale", g_scale)):
        ctx.check(g is not None, f"no gradient reached {name}: was it detached, or turned into a number (.item(), float())?", inputs=inputs)
        ctx.check(bool(torch.isfinite(g).all()), f"the gradient with respect to {name} is not finite", inputs=inputs)
    _, atol = ctx.tolerance(dtype)
    for name, x, g in (("image_emb", image, g_image), ("text_emb", text, g_text)):
        radial = (g * x).sum(dim=1) / x.norm(dim=1)  # the gradient's component along each row
        bound = 10 * atol * max(1.0, _scale_value(ls)) * (1 + g.norm(dim=1))
        ctx.check(bool((radial.abs() <= bound).all()), f"the gradient with respect to {name} has components along the embeddings ({radial.tolist()}): the loss must not depend on their lengths", inputs=inputs)
    # Central difference in float64 on float64 copies: independent of the student's autograd.
    h = 1e-5
    x64, t64 = image.double(), text.double()
    fd = (_loss_at(ctx, x64, t64, float(ls) + h) - _loss_at(ctx, x64, t64, float(ls) - h)) / (2 * h)
    slack = 1e-5 if dtype == torch.float64 else 1e-3
    ctx.check(abs(float(g_scale) - fd) <= slack * (1 + abs(fd)) * max(1.0, _scale_value(ls)), f"d loss/d logit_scale is {float(g_scale):.6g}, a finite difference gives {fd:.6g}", inputs=inputs)


@clip_loss.property("matches_reference", "the loss equals the reference's on random pairs, with logit_scale a number or a 0-d tensor", tier="hidden")
@given(a=gs.clip_inputs())
def _loss_matches_reference(ctx: Context, a: dict) -> None:
    image, text, ls = a["image_emb"], a["text_emb"], a["logit_scale"]
    ctx.assert_close(ctx.call(image, text, ls), ctx.ref(image, text, ls), inputs=a, **_tol(ctx, image.dtype, ls))


@clip_loss.property("gradients_match", "gradients with respect to both embeddings and logit_scale equal the reference's", tier="hidden")
@given(a=gs.clip_inputs())
def _loss_gradients_match(ctx: Context, a: dict) -> None:
    image, text, dtype = a["image_emb"], a["text_emb"], a["image_emb"].dtype
    ls_t = torch.as_tensor(float(a["logit_scale"]), dtype=dtype)
    _, grads = ctx.student.vjp(ctx.exercise.name, (image, text, ls_t), torch.tensor(1.0, dtype=dtype), [0, 1, 2])
    leaves = tuple(t.clone().requires_grad_(True) for t in (image, text, ls_t))
    expected = torch.autograd.grad(ctx.ref(*leaves), leaves)
    ctx.assert_close(tuple(grads["inputs"]), expected, inputs=_loss_inputs(image, text, ls_t), what="the gradients (d image_emb, d text_emb, d logit_scale)", **_tol(ctx, dtype, ls_t))


@clip_loss.property("dtype_contract", "the loss is a 0-d tensor in the embeddings' dtype, whatever the dtype of a tensor logit_scale", tier="public")
@given(dtype=gs.float_dtypes(), scale_kind=st.sampled_from(["number", "float32", "float64"]), n=gs.dims(), d=gs.dims())
def _loss_dtype_contract(ctx: Context, dtype: torch.dtype, scale_kind: str, n: int, d: int) -> None:
    image, text = gs.make_tensor((n, d), dtype, 0), gs.make_tensor((n, d), dtype, 1)
    ls = 2.0 if scale_kind == "number" else torch.tensor(2.0, dtype=getattr(torch, scale_kind))
    got = ctx.call(image, text, ls)
    ok = isinstance(got, torch.Tensor) and got.dim() == 0 and got.dtype == dtype
    ctx.check(ok, f"expected a 0-d {dtype} tensor, got {got.dtype if isinstance(got, torch.Tensor) else type(got).__name__} of shape {tuple(getattr(got, 'shape', ()))}", inputs=_loss_inputs(image, text, ls))


@clip_loss.property("stable_for_large_logit_scale", "with logit_scale up to 9 (logits exp(logit_scale)·cos of 1e2–1e4) the loss is finite and exact", tier="public")
@given(a=gs.large_scale_clip_inputs())
def _loss_stable_for_large_scale(ctx: Context, a: dict) -> None:
    image, text, ls = a["image_emb"], a["other"], a["logit_scale"]
    expected = _loss_right(image.double(), text.double(), float(ls)).to(image.dtype)
    got = ctx.call(image, text, ls)
    assert_stable(ctx, got, expected, inputs=_loss_inputs(image, text, ls), what="the loss", formula=NAIVE_LOG_SOFTMAX, **_tol(ctx, image.dtype, ls))
