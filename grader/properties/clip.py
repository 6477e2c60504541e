"""Properties of the clip exercises (q22, q23, q34).

logit_scale is drawn as a Python float or a 0-d tensor, up to ln 100: logits then reach
±100, so absolute tolerances grow with exp(logit_scale) (``_tol``).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from hypothesis import example, given
from hypothesis import strategies as st

from grader import strategies as gs
from grader.properties.api import Context, Exercise, Mistake
from grader.properties.common import unless_right as _unless_right


def _scale_value(logit_scale: float | torch.Tensor) -> float:
    return math.exp(float(logit_scale))


def _tol(ctx: Context, dtype: torch.dtype, logit_scale: float | torch.Tensor) -> dict[str, float]:
    """Tolerances for results whose logits are exp(logit_scale)·cosines."""
    rtol, atol = ctx.tolerance(dtype)
    return {"rtol": rtol, "atol": atol * max(1.0, _scale_value(logit_scale))}






# ----------------------------------------------------------------------------- shared pieces of the variants


def _logits(a, b, logit_scale, *, normalize=True, use_exp=True, divide=False, norm_dim=-1):
    """Scaled similarity logits (Na, Nb) with switches for the known mistakes."""
    if normalize:
        a = F.normalize(a, dim=norm_dim) if norm_dim is not None else a / a.norm()
        b = F.normalize(b, dim=norm_dim) if norm_dim is not None else b / b.norm()
    s = torch.as_tensor(logit_scale, dtype=a.dtype, device=a.device)
    s = s.exp() if use_exp else s
    return a @ b.T / s if divide else s * (a @ b.T)


def _symmetric_ce(logits, *, directions=2, half=True, reduction="mean"):
    labels = torch.arange(logits.shape[0], device=logits.device)
    total = F.cross_entropy(logits, labels, reduction=reduction)
    if directions == 2:
        total = total + F.cross_entropy(logits.T, labels, reduction=reduction)
    return total / 2 if half and directions == 2 else total


# ============================================================================= clip_loss
# ----------------------------------------------------------------------------- known mistakes


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


clip_loss = Exercise(
    "clip.clip_loss",
    mistakes=[
        Mistake("no_normalization", "your output equals the loss of raw dot products: L2-normalise both embeddings first, so the logits are scaled cosines", _unless_right(_loss_no_normalization, _loss_right)),
        Mistake("image_to_text_only", "your output is the image→text cross-entropy alone; CLIP averages it with the text→image one, CE(logitsᵀ, arange N)", _unless_right(_loss_image_to_text_only, _loss_right)),
        Mistake("no_half", "your output is the sum of the two cross-entropies; CLIP takes their mean, ½[CE(logits) + CE(logitsᵀ)]", _unless_right(_loss_no_half, _loss_right)),
        Mistake("no_exp", "your output multiplies the logits by logit_scale itself; logit_scale is the log of the inverse temperature: multiply by exp(logit_scale)", _unless_right(_loss_no_exp, _loss_right)),
        Mistake("divided_by_scale", "your output divides the logits by exp(logit_scale); exp(logit_scale) is the inverse temperature: multiply by it", _unless_right(_loss_divided_by_scale, _loss_right)),
        Mistake("summed_over_batch", "your output sums the cross-entropy over the batch; F.cross_entropy averages over the N rows (reduction='mean')", _unless_right(_loss_summed_over_batch, _loss_right)),
    ],
)


def _loss_inputs(image: torch.Tensor, text: torch.Tensor, logit_scale: float | torch.Tensor) -> dict:
    return {"image_emb": image, "text_emb": text, "logit_scale": logit_scale}


def _rotation(d: int, seed: int) -> torch.Tensor:
    """A random (d, d) orthogonal matrix, float64."""
    q, _ = torch.linalg.qr(torch.randn((d, d), generator=gs.generator(seed), dtype=torch.float64))
    return q


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


# ============================================================================= zero_shot_probs
# ----------------------------------------------------------------------------- known mistakes


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


zero_shot = Exercise(
    "clip.zero_shot_probs",
    mistakes=[
        Mistake("softmax_over_images", "your output takes the softmax over the images (dim=0); each image's probabilities are over the K classes (dim=-1)", _unless_right(_probs_over_images, _probs_right)),
        Mistake("no_normalization", "your output uses raw dot products: L2-normalise image and class embeddings, so the logits are scaled cosines", _unless_right(_probs_no_normalization, _probs_right)),
        Mistake("global_norm", "your output divides each embedding matrix by its overall norm (x / x.norm()); normalise each row: F.normalize(x, dim=-1)", _unless_right(_probs_global_norm, _probs_right)),
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
