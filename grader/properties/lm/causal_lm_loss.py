"""Properties and known mistakes of ``lm.causal_lm_loss``."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from hypothesis import example, given
from hypothesis import strategies as st

from grader.properties.api import Context, Exercise, Mistake
from grader.properties.common import unless_right
from grader.properties.judge_only import judge_only
from grader.properties.lm import strategies as gs
from grader.properties.lm._shared import strict_diagnoses
from grader.properties.stability import NAIVE_LOG_SOFTMAX, assert_stable


@judge_only
def _token_losses(logits, labels, ignore_index):
    """(B, L-1) per-target cross-entropy, 0 where the target is ignored."""
    return F.cross_entropy(logits[:, :-1].transpose(1, 2), labels[:, 1:], ignore_index=ignore_index, reduction="none")


def _loss_no_shift(logits, labels, ignore_index=-100):
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), labels.reshape(-1), ignore_index=ignore_index)


def _loss_shift_reversed(logits, labels, ignore_index=-100):
    return F.cross_entropy(logits[:, 1:].reshape(-1, logits.shape[-1]), labels[:, :-1].reshape(-1), ignore_index=ignore_index)


def _loss_mean_over_sequences(logits, labels, ignore_index=-100):
    counts = (labels[:, 1:] != ignore_index).sum(dim=1)  # a row without targets gives 0/0 = nan
    return (_token_losses(logits, labels, ignore_index).sum(dim=1) / counts).mean()


def _loss_ignored_in_denominator(logits, labels, ignore_index=-100):
    return _token_losses(logits, labels, ignore_index).mean()


def _loss_log_of_softmax(logits, labels, ignore_index=-100):
    """log(softmax(x)) then the negative log-likelihood: log 0 = −inf for very unlikely targets."""
    logp = logits[:, :-1].softmax(dim=-1).log()
    return F.nll_loss(logp.reshape(-1, logits.shape[-1]), labels[:, 1:].reshape(-1), ignore_index=ignore_index)


@judge_only
def _loss_right(logits, labels, ignore_index=-100):
    return F.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]), labels[:, 1:].reshape(-1), ignore_index=ignore_index)


loss_ex = Exercise(
    "lm.causal_lm_loss",
    mistakes=[
        Mistake("no_shift", "your output equals the cross-entropy of logits[:, t] against labels[:, t] (no shift); position t predicts the NEXT token: compare logits[:, :-1] with labels[:, 1:]", _loss_no_shift),
        Mistake("shift_reversed", "your output compares logits[:, 1:] with labels[:, :-1] (shifted the wrong way); position t predicts token t + 1: logits[:, :-1] against labels[:, 1:]", _loss_shift_reversed),
        Mistake("mean_over_sequences", "your output averages each sequence's loss and then the sequences; the loss is one mean over all non-ignored target tokens of the batch", _loss_mean_over_sequences),
        Mistake("log_of_softmax", f"your output equals the loss from log(softmax(logits)): {NAIVE_LOG_SOFTMAX}", unless_right(_loss_log_of_softmax, _loss_right)),
        Mistake("ignored_in_denominator", "your output divides by every target position, ignored ones included; divide by the number of targets that are not ignore_index", _loss_ignored_in_denominator),
    ],
)


def _loss_inputs(a: dict) -> dict:
    return {"logits": a["logits"], "labels": a["labels"]}


@loss_ex.property("last_position_and_first_label_unused", "the logits of the last position and the labels of the first position do not change the loss", tier="public")
@given(a=gs.causal_lm_inputs(), seed=gs.seeds())
def _last_position_unused(ctx: Context, a: dict, seed: int) -> None:
    logits, labels = a["logits"], a["labels"]
    before = ctx.call(logits, labels)
    logits2, labels2 = logits.clone(), labels.clone()
    logits2[:, -1] = gs.make_tensor(logits2[:, -1].shape, logits.dtype, seed, scale=5.0)
    labels2[:, 0] = gs.token_ids(labels2[:, 0].shape, logits.shape[-1], seed + 1)
    after = ctx.call(logits2, labels2)
    ctx.assert_close(after, before, inputs={**_loss_inputs(a), "new logits[:, -1]": logits2[:, -1], "new labels[:, 0]": labels2[:, 0]}, what="the loss after changing logits[:, -1] and labels[:, 0]")


@loss_ex.property("perfect_predictor_has_zero_loss", "logits that put a margin of 50 on every next token give a loss of (almost) 0", tier="public")
@given(a=gs.causal_lm_inputs())
@example(a={"logits": torch.zeros(1, 3, 2), "labels": torch.tensor([[0, 1, 1]])})
def _perfect_predictor(ctx: Context, a: dict) -> None:
    logits, labels = a["logits"].clone(), a["labels"]
    targets = labels[:, 1:]  # (B, L-1)
    rows, steps = (targets != -100).nonzero(as_tuple=True)
    logits[rows, steps, targets[rows, steps]] += 50.0  # position t is sure about token t + 1
    loss = ctx.call(logits, labels)
    ok = isinstance(loss, torch.Tensor) and loss.numel() == 1 and abs(float(loss)) <= 1e-6
    ctx.check(ok, f"position t puts a margin of 50 on labels[:, t + 1], so the loss should be ≈ 0; got {loss}", inputs={"logits": logits, "labels": labels})


@loss_ex.property("mean_over_tokens", "the batch loss weighs every row by its number of non-ignored targets: a mean over tokens, not over sequences", tier="public")
@given(a=gs.causal_lm_inputs())
@example(a={"logits": gs.make_tensor((2, 4, 3), torch.float32, 7), "labels": torch.tensor([[0, 1, 2, 0], [1, 2, -100, -100]])})
def _mean_over_tokens(ctx: Context, a: dict) -> None:
    logits, labels = a["logits"], a["labels"]
    counts = (labels[:, 1:] != -100).sum(dim=1)  # (B,) targets per row
    rows = [b for b in range(labels.shape[0]) if counts[b] > 0]  # an all-ignored row alone is not graded
    row_losses = [float(ctx.call(logits[b : b + 1], labels[b : b + 1])) for b in rows]
    weighted = sum(float(counts[b]) * loss for b, loss in zip(rows, row_losses)) / float(counts.sum())
    batch = ctx.call(logits, labels)  # last, so that a diagnosis replays the batch call
    ctx.assert_close(batch, torch.tensor(weighted, dtype=logits.dtype), inputs=_loss_inputs(a), what=f"the batch loss (your row losses {[round(x, 4) for x in row_losses]} weighted by their target counts {counts.tolist()})")


def _known_logits(dtype: torch.dtype) -> torch.Tensor:
    """(2, 4, 2) logits [0, ln 3] everywhere: token 1 has probability 3/4, token 0 has 1/4."""
    return torch.tensor([0.0, math.log(3.0)], dtype=torch.float64).expand(2, 4, 2).to(dtype)


@loss_ex.property("known_answer", "with p(token 1) = 3/4 everywhere, targets (1, 1, 1) and (0, ignored, ignored) give (3·ln(4/3) + ln 4)/4", tier="public")
@given(dtype=gs.float_dtypes(), ignore_index=st.sampled_from((-100, -1)))
def _loss_known_answer(ctx: Context, dtype: torch.dtype, ignore_index: int) -> None:
    logits = _known_logits(dtype)
    labels = torch.tensor([[0, 1, 1, 1], [1, 0, ignore_index, ignore_index]])
    got = ctx.call(logits, labels, ignore_index=ignore_index) if ignore_index != -100 else ctx.call(logits, labels)
    expected = torch.tensor((3 * math.log(4 / 3) + math.log(4.0)) / 4, dtype=dtype)
    ctx.assert_close(got, expected, inputs={"logits[b, t]": logits[0, 0], "labels": labels, "ignore_index": ignore_index}, what="the loss")


@loss_ex.property("custom_ignore_index", "labels equal to a custom ignore_index are ignored exactly as -100 is by default", tier="public")
@given(a=gs.causal_lm_inputs(), ignore_index=st.sampled_from((-1, -7, 1000)))
def _custom_ignore_index(ctx: Context, a: dict, ignore_index: int) -> None:
    logits, labels = a["logits"], a["labels"]
    default = ctx.call(logits, labels)
    relabelled = labels.masked_fill(labels == -100, ignore_index)
    got = ctx.call(logits, relabelled, ignore_index=ignore_index)
    ctx.assert_close(got, default, inputs={"logits": logits, "labels": relabelled, "ignore_index": ignore_index}, what=f"the loss with ignore_index={ignore_index}")


@loss_ex.property("dtype_contract", "the loss is a 0-d tensor in the logits' dtype (float32 or float64)", tier="public")
@given(a=gs.causal_lm_inputs())
def _loss_dtype(ctx: Context, a: dict) -> None:
    loss = ctx.call(a["logits"], a["labels"])
    ok = isinstance(loss, torch.Tensor) and loss.dim() == 0 and loss.dtype == a["logits"].dtype
    ctx.check(ok, f"logits were {a['logits'].dtype}: expected a 0-d tensor of that dtype, got {getattr(loss, 'dtype', type(loss).__name__)} of shape {tuple(getattr(loss, 'shape', ()))}", inputs=_loss_inputs(a))


@loss_ex.property("matches_reference", "the loss equals the reference on random logits and labels", tier="hidden")
@given(a=gs.causal_lm_inputs())
def _loss_matches_reference(ctx: Context, a: dict) -> None:
    ctx.assert_close(ctx.call(a["logits"], a["labels"]), ctx.ref(a["logits"], a["labels"]), inputs=_loss_inputs(a))


@loss_ex.property("gradients_match", "the gradient of the loss with respect to the logits equals the reference's (zero at the last position and at ignored targets)", tier="hidden")
@given(a=gs.causal_lm_inputs(), seed=gs.seeds())
def _loss_gradients(ctx: Context, a: dict, seed: int) -> None:
    logits, labels = a["logits"], a["labels"]
    g = gs.make_tensor((), logits.dtype, seed)
    _, grads = ctx.student.vjp(ctx.exercise.name, (logits, labels), g, [0])
    leaf = logits.clone().requires_grad_(True)
    (expected,) = torch.autograd.grad(ctx.ref(leaf, labels), leaf, g)
    ctx.assert_close(grads["inputs"][0], expected, inputs=_loss_inputs(a), what="d loss / d logits")


@loss_ex.property("stable_for_large_logits", "logits of magnitude 1e2–1e4, where some targets have probability e^−1000, give the exact finite loss", tier="public")
@given(a=gs.large_logit_lm_inputs())
def _loss_stable_for_large_logits(ctx: Context, a: dict) -> None:
    logits, labels = a["logits"], a["labels"]
    expected = _loss_right(logits.double(), labels).to(logits.dtype)
    # Any log-sum-exp rounds at the logits' magnitude: the tolerance grows with it.
    atol = 8 * torch.finfo(logits.dtype).eps * float(logits.abs().max())
    assert_stable(ctx, ctx.call(logits, labels), expected, inputs=_loss_inputs(a), what="the loss", formula=NAIVE_LOG_SOFTMAX, atol=atol)


# Last, once every property is registered: failures are re-diagnosed strictly (see _shared).
strict_diagnoses(loss_ex)
