"""Properties of the lm exercises: causal LM loss, sampling, decoding, BERT masking and
prompt tuning (q73–q76, q81)."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import torch
import torch.nn.functional as F
from hypothesis import assume, example, given
from hypothesis import strategies as st

from grader import fixtures
from grader import strategies as gs
from grader.failures import PropertyFailure
from grader.properties.api import Context, Exercise, Mistake, replay
from grader.stats import implausible
from grader.tensors import allclose

NEG_INF = float("-inf")

# ----------------------------------------------------------------------------- statistics

# Seeded statistical tests check each category of the draws (a token, "became [MASK]", …) with
# the Chernoff bound of grader/stats.py: a correct implementation fails one example with
# probability at most 1e-9, a grading run with probability below 1e-7.

# ----------------------------------------------------------------------------- causal_lm_loss


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


loss_ex = Exercise(
    "lm.causal_lm_loss",
    mistakes=[
        Mistake("no_shift", "your output equals the cross-entropy of logits[:, t] against labels[:, t] (no shift); position t predicts the NEXT token: compare logits[:, :-1] with labels[:, 1:]", _loss_no_shift),
        Mistake("shift_reversed", "your output compares logits[:, 1:] with labels[:, :-1] (shifted the wrong way); position t predicts token t + 1: logits[:, :-1] against labels[:, 1:]", _loss_shift_reversed),
        Mistake("mean_over_sequences", "your output averages each sequence's loss and then the sequences; the loss is one mean over all non-ignored target tokens of the batch", _loss_mean_over_sequences),
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


# ----------------------------------------------------------------------------- filter_logits


def _kept_by_statement(logits: torch.Tensor, temperature: Any, top_k: int | None, top_p: float | None) -> torch.Tensor:
    """(B, V) bool: which tokens the statement keeps, one row at a time in float64 (a naive loop)."""
    scaled = logits.double() / float(temperature)
    kept = torch.ones_like(scaled, dtype=torch.bool)
    for b in range(scaled.shape[0]):
        row = scaled[b].tolist()
        order = sorted(range(len(row)), key=lambda i: -row[i])
        if top_k:
            kth = row[order[min(top_k, len(row)) - 1]]
            kept[b] = torch.tensor([x >= kth for x in row])
        if top_p is not None and top_p < 1.0:
            survivors = [i for i in order if kept[b, i]]
            norm = sum(math.exp(row[i] - row[survivors[0]]) for i in survivors)
            mass = 0.0
            for rank, i in enumerate(survivors):
                if rank > 0 and mass >= top_p:  # the mass above already reaches top_p
                    kept[b, i] = False
                mass += math.exp(row[i] - row[survivors[0]]) / norm
    return kept


def _expected_filtered(logits: torch.Tensor, temperature: Any, kept: torch.Tensor) -> torch.Tensor:
    return (logits / temperature).masked_fill(~kept, NEG_INF)


def _assert_filtered(ctx: Context, got: Any, expected: torch.Tensor, inputs: dict) -> None:
    """Compare filtered logits: first exactly which entries are -inf, then the kept values.

    The engine's comparison alone would accept any value where -inf is expected (its
    relative tolerance times |-inf| is infinite), so the removed set is checked separately.
    """
    if isinstance(got, torch.Tensor) and got.shape == expected.shape:
        removed, should = got == NEG_INF, expected == NEG_INF
        if not torch.equal(removed, should):
            idx = tuple((removed != should).nonzero()[0].tolist())
            kept = [row.nonzero().flatten().tolist() for row in ~should]
            ctx.fail(f"wrong set of removed tokens: at index {idx} expected {float(expected[idx]):.6g}, got {float(got[idx]):.6g}; the tokens kept in each row should be {kept}", inputs=inputs)
    ctx.assert_close(got, expected, inputs=inputs)


def _filter_variant(logits, temperature=1.0, top_k=None, top_p=None, *, ties=True, crossing=True, scale_first=True, k_first=True, multiply=False):
    """Filtering with one known mistake switched on (the defaults give the correct result)."""
    out = logits * temperature if multiply else logits / temperature if scale_first else logits
    steps = [("k", top_k), ("p", top_p)] if k_first else [("p", top_p), ("k", top_k)]
    for kind, value in steps:
        if kind == "k" and value:
            k = min(value, out.shape[-1])
            values, idx = torch.topk(out, k, dim=-1)
            if ties:
                out = out.masked_fill(out < values[..., -1:], NEG_INF)
            else:
                out = torch.full_like(out, NEG_INF).scatter(-1, idx, values)
        if kind == "p" and value is not None and value < 1.0:
            sorted_logits, order = torch.sort(out, dim=-1, descending=True)
            cum = sorted_logits.softmax(dim=-1).cumsum(dim=-1)
            remove = cum > value if not crossing else (cum - sorted_logits.softmax(dim=-1)) >= value
            if crossing:
                remove[..., 0] = False
            out = out.masked_fill(remove.scatter(-1, order, remove), NEG_INF)
    return out if scale_first or multiply else out / temperature


def _filter_crossing_dropped(logits, temperature=1.0, top_k=None, top_p=None):
    return _filter_variant(logits, temperature, top_k, top_p, crossing=False)


def _filter_topk_indices(logits, temperature=1.0, top_k=None, top_p=None):
    return _filter_variant(logits, temperature, top_k, top_p, ties=False)


def _filter_temperature_multiplied(logits, temperature=1.0, top_k=None, top_p=None):
    return _filter_variant(logits, temperature, top_k, top_p, multiply=True)


def _filter_temperature_last(logits, temperature=1.0, top_k=None, top_p=None):
    return _filter_variant(logits, temperature, top_k, top_p, scale_first=False)


def _filter_top_p_first(logits, temperature=1.0, top_k=None, top_p=None):
    return _filter_variant(logits, temperature, top_k, top_p, k_first=False)


filter_ex = Exercise(
    "lm.filter_logits",
    mistakes=[
        Mistake("temperature_multiplied", "your output multiplies the logits by the temperature; divide by it (a low temperature sharpens the distribution)", _filter_temperature_multiplied),
        Mistake("temperature_after_filtering", "your output applies top-k/top-p to the raw logits and divides by the temperature afterwards; the temperature comes first, so top-p sees the tempered probabilities", _filter_temperature_last),
        Mistake("top_p_before_top_k", "your output applies top-p before top-k; Hugging Face applies top-k first and top-p to the renormalised probabilities of the tokens top-k kept", _filter_top_p_first),
        Mistake("top_k_drops_ties", "your output keeps exactly the k indices torch.topk returned; every logit equal to the k-th largest is kept too (compare with the k-th value)", _filter_topk_indices),
        Mistake("crossing_token_dropped", "your output removes the token whose cumulative probability crosses top_p (it keeps only cumsum ≤ top_p); that token is kept — a token is removed only when the mass ranked above it already reaches top_p", _filter_crossing_dropped),
    ],
)


def _filter_inputs(a: dict) -> dict:
    return {k: a[k] for k in ("logits", "temperature", "top_k", "top_p")}


def _filter_call(ctx: Context, a: dict) -> torch.Tensor:
    return ctx.call(a["logits"], a["temperature"], a["top_k"], a["top_p"])


@filter_ex.property("no_filtering_when_off", "with top_k None, 0 or ≥ V and top_p None or 1.0 the result is logits / temperature: nothing is removed", tier="public")
@given(a=gs.filter_logits_inputs(top_k=False, top_p=False), k=st.sampled_from(("None", "0", "V", "V+3")), p=st.sampled_from((None, 1.0)))
def _no_filtering(ctx: Context, a: dict, k: str, p: float | None) -> None:
    vocab = a["logits"].shape[-1]
    a = {**a, "top_k": {"None": None, "0": 0, "V": vocab, "V+3": vocab + 3}[k], "top_p": p}
    _assert_filtered(ctx, _filter_call(ctx, a), a["logits"] / a["temperature"], _filter_inputs(a))


# probabilities .4 .3 .2 .1, and the same in another order: cases (temperature, top_k, top_p,
# number of kept tokens), each top_p at least 0.03 away from a cumulative probability.
_KNOWN_PROBS = ((0.4, 0.3, 0.2, 0.1), (0.1, 0.2, 0.4, 0.3))
_KNOWN_CASES = (
    (1.0, None, 0.65, 2),  # 0.4 < 0.65 keeps the 0.3 that crosses it; the 0.2 has 0.7 above it
    (1.0, None, 0.75, 3),
    (1.0, None, 0.35, 1),
    (0.5, None, 0.8, 2),  # tempered: .533 .3 .133 .033, so 0.833 is above the third token
    (1.0, 2, 0.5, 1),  # after top-k: .571 .429, and 0.571 ≥ 0.5 removes the second
    (2.0, 3, None, 3),
)


@filter_ex.property("known_answer", "for probabilities (.4, .3, .2, .1), top_p = 0.65 keeps two tokens, 0.35 one; the temperature is applied first and top-p renormalises after top-k", tier="public")
@given(dtype=gs.float_dtypes(), case=st.sampled_from(_KNOWN_CASES))
def _filter_known_answer(ctx: Context, dtype: torch.dtype, case: tuple) -> None:
    temperature, top_k, top_p, n_kept = case
    logits = torch.tensor(_KNOWN_PROBS, dtype=torch.float64).log().to(dtype)  # (2, 4)
    ranks = torch.argsort(torch.argsort(logits, dim=-1, descending=True), dim=-1)  # rank of each token in its row
    expected = _expected_filtered(logits, temperature, ranks < n_kept)
    got = ctx.call(logits, temperature, top_k, top_p)
    _assert_filtered(ctx, got, expected, {"probabilities": torch.tensor(_KNOWN_PROBS), "temperature": temperature, "top_k": top_k, "top_p": top_p})


@filter_ex.property("top_k_keeps_the_k_largest", "top-k keeps exactly the k largest logits of each row (divided by the temperature) and sets the rest to -inf", tier="public")
@given(a=gs.filter_logits_inputs(top_k=False, top_p=False), data=st.data())
def _top_k_largest(ctx: Context, a: dict, data: st.DataObject) -> None:
    a = {**a, "top_k": data.draw(st.integers(1, a["logits"].shape[-1]), label="top_k")}
    ranks = torch.argsort(torch.argsort(a["logits"], dim=-1, descending=True), dim=-1)
    _assert_filtered(ctx, _filter_call(ctx, a), _expected_filtered(a["logits"], a["temperature"], ranks < a["top_k"]), _filter_inputs(a))


@filter_ex.property("top_k_keeps_ties", "every logit equal to the k-th largest survives top-k, so a tie at the boundary keeps more than k tokens", tier="public")
@given(b=gs.dims(1, 3), vocab=gs.dims(3, 8), dtype=gs.float_dtypes(), seed=gs.seeds(), data=st.data())
def _top_k_ties(ctx: Context, b: int, vocab: int, dtype: torch.dtype, seed: int, data: st.DataObject) -> None:
    k = data.draw(st.integers(1, vocab - 1), label="top_k")
    logits = gs.make_tensor((b, vocab), dtype, seed, scale=2.0)
    order = torch.argsort(logits, dim=-1, descending=True)  # (B, V)
    kth = logits.gather(-1, order[:, k - 1 : k])  # (B, 1)
    n_tied = data.draw(st.integers(1, vocab - k), label="tokens tied with the k-th")
    logits = logits.scatter(-1, order[:, k : k + n_tied], kth.expand(b, n_tied))  # below-k tokens copy the k-th value
    a = {"logits": logits, "temperature": 1.0, "top_k": k, "top_p": None}
    _assert_filtered(ctx, _filter_call(ctx, a), _expected_filtered(logits, 1.0, logits >= kth), _filter_inputs(a))


@filter_ex.property("top_p_keeps_the_nucleus", "top-p keeps the most likely tokens until their probability reaches top_p, the crossing token included, and removes the rest", tier="public")
@given(a=gs.filter_logits_inputs(top_p=False), top_p=st.floats(0.05, 0.95))
def _top_p_nucleus(ctx: Context, a: dict, top_p: float) -> None:
    assume(gs.top_p_margin(a["logits"], a["temperature"], a["top_k"], top_p) > 1e-3)
    a = {**a, "top_p": top_p}
    kept = _kept_by_statement(a["logits"], a["temperature"], a["top_k"], top_p)
    _assert_filtered(ctx, _filter_call(ctx, a), _expected_filtered(a["logits"], a["temperature"], kept), _filter_inputs(a))


@filter_ex.property("at_least_one_token_survives", "a top_p of 0 or smaller than the largest probability keeps exactly the most likely token", tier="public")
@given(a=gs.filter_logits_inputs(top_p=False), top_p=st.sampled_from((0.0, 1e-4)))
def _one_survives(ctx: Context, a: dict, top_p: float) -> None:
    a = {**a, "top_p": top_p}
    argmax = a["logits"].argmax(dim=-1, keepdim=True)
    kept = torch.zeros_like(a["logits"], dtype=torch.bool).scatter(-1, argmax, True)
    _assert_filtered(ctx, _filter_call(ctx, a), _expected_filtered(a["logits"], a["temperature"], kept), _filter_inputs(a))


@filter_ex.property("dtype_contract", "the result has the logits' shape (B, V) and dtype (float32 or float64)", tier="public")
@given(a=gs.filter_logits_inputs())
def _filter_dtype(ctx: Context, a: dict) -> None:
    out = _filter_call(ctx, a)
    ok = isinstance(out, torch.Tensor) and out.shape == a["logits"].shape and out.dtype == a["logits"].dtype
    ctx.check(ok, f"logits were {a['logits'].dtype} {tuple(a['logits'].shape)}, result is {getattr(out, 'dtype', type(out).__name__)} {tuple(getattr(out, 'shape', ()))}", inputs=_filter_inputs(a))


@filter_ex.property("matches_reference", "the filtered logits equal the reference for random temperatures, top_k and top_p", tier="hidden")
@given(a=gs.filter_logits_inputs())
@example(a={"logits": torch.tensor([[2.0, 1.0, 1.0, 0.5]]), "temperature": 0.5, "top_k": 2, "top_p": None})
@example(a={"logits": torch.tensor([[0.3, -1.0, 2.0]], dtype=torch.float64), "temperature": torch.tensor(2.0, dtype=torch.float64), "top_k": 2, "top_p": 0.4})
def _filter_matches_reference(ctx: Context, a: dict) -> None:
    _assert_filtered(ctx, _filter_call(ctx, a), ctx.ref(a["logits"], a["temperature"], a["top_k"], a["top_p"]), _filter_inputs(a))


# ----------------------------------------------------------------------------- sample_next_token


def _sample_greedy(logits, generator, temperature=1.0, top_k=None, top_p=None):
    return logits.argmax(dim=-1)


def _sample_unfiltered(logits, generator, temperature=1.0, top_k=None, top_p=None):
    return torch.multinomial(torch.softmax(logits / temperature, dim=-1), 1, generator=generator).squeeze(-1)


def _sample_global_rng(logits, generator, temperature=1.0, top_k=None, top_p=None):
    # The worker seeds torch's global generator with 0 before every call: a submission that
    # ignores `generator` draws this stream, whatever generator it is given.
    probs = torch.softmax(_filter_variant(logits, temperature, top_k, top_p), dim=-1)
    return torch.multinomial(probs, 1, generator=torch.Generator(device=logits.device).manual_seed(0)).squeeze(-1)


def _sample_keeps_sample_dim(logits, generator, temperature=1.0, top_k=None, top_p=None):
    return torch.multinomial(torch.softmax(_filter_variant(logits, temperature, top_k, top_p), dim=-1), 1, generator=generator)


sample_ex = Exercise(
    "lm.sample_next_token",
    mistakes=[
        Mistake("argmax_instead_of_sampling", "your output is the argmax of every row (greedy decoding); draw from the softmax of the filtered logits with torch.multinomial(probs, 1, generator=generator)", _sample_greedy),
        Mistake("filters_ignored", "your output draws from softmax(logits / temperature) without top-k/top-p filtering; sample from softmax(filter_logits(...))", _sample_unfiltered),
        Mistake("generator_ignored", "your draws do not depend on the generator you were given (they come from torch's global random state); pass generator=generator to the sampling call", _sample_global_rng),
        Mistake("keeps_sample_dim", "your output has shape (B, 1), as torch.multinomial(probs, 1) returns it; squeeze the last dimension to get (B,)", _sample_keeps_sample_dim),
    ],
)

DRAWS = 8192  # identical rows per statistical example: one call, many independent draws


def _sample_inputs(logits: torch.Tensor, settings: dict, seed: int) -> dict:
    return {"logits": logits, **settings, "generator seed": seed}


def _draws(ctx: Context, logits: torch.Tensor, settings: dict, seed: int) -> torch.Tensor:
    """Call the student's sampler; check that it returned (B,) int64 ids in [0, V)."""
    out = ctx.call(logits, gs.generator(seed), settings["temperature"], settings["top_k"], settings["top_p"])
    b, vocab = logits.shape
    shape_ok = isinstance(out, torch.Tensor) and out.shape == (b,) and out.dtype == torch.int64
    ctx.check(shape_ok, f"expected a (B,) = ({b},) int64 tensor of token ids, got {getattr(out, 'dtype', type(out).__name__)} of shape {tuple(getattr(out, 'shape', ()))}", inputs=_sample_inputs(logits[:4], settings, seed))
    ctx.check(bool(((out >= 0) & (out < vocab)).all()), f"token ids must lie in [0, {vocab}); got values from {int(out.min())} to {int(out.max())}", inputs=_sample_inputs(logits[:4], settings, seed))
    return out


def _check_frequencies(ctx: Context, draws: torch.Tensor, probs: torch.Tensor, inputs: dict) -> None:
    counts = torch.bincount(draws, minlength=probs.numel()).tolist()
    table = [(f"token {i}", counts[i], draws.numel(), float(probs[i])) for i in range(probs.numel())]
    problem = implausible(table)
    ctx.check(problem is None, f"{draws.numel()} draws from identical rows do not follow the expected distribution — {problem}", inputs=inputs)


@sample_ex.property("draws_are_token_ids", "the result is a (B,) int64 tensor of ids in [0, V)", tier="public")
@given(a=gs.filter_logits_inputs(), seed=gs.seeds())
def _sample_shape(ctx: Context, a: dict, seed: int) -> None:
    _draws(ctx, a["logits"], a, seed)


@sample_ex.property("never_draws_a_filtered_token", "a token removed by top-k or top-p is never drawn", tier="public")
@given(a=gs.filter_logits_inputs(min_temperature=1.0), seed=gs.seeds())
@example(a={"logits": torch.tensor([[1.0, 0.9, 0.8, 0.7]]), "temperature": 1.0, "top_k": 2, "top_p": None}, seed=0)
def _never_filtered(ctx: Context, a: dict, seed: int) -> None:
    kept = _kept_by_statement(a["logits"], a["temperature"], a["top_k"], a["top_p"])
    assume(not bool(kept.all()))
    repeats = 512  # filtered tokens here carry a visible share of the unfiltered probability
    logits = a["logits"].repeat_interleave(repeats, dim=0)  # (B·512, V)
    draws = _draws(ctx, logits, a, seed)
    allowed = kept.repeat_interleave(repeats, dim=0).gather(-1, draws[:, None]).squeeze(-1)  # (B·512,)
    if not bool(allowed.all()):
        i = int((~allowed).nonzero()[0])
        survivors = kept[i // repeats].nonzero().flatten().tolist()
        ctx.fail(f"drew a filtered token: a copy of row {i // repeats} drew token {int(draws[i])}, but only tokens {survivors} survive the filter", inputs=_sample_inputs(a["logits"], a, seed))


@sample_ex.property("frequencies_follow_softmax", "without top-k/top-p, token i is drawn with probability softmax(logits / temperature)_i (seeded test on 8192 draws)", tier="public")
@given(vocab=gs.dims(2, 8), dtype=gs.float_dtypes(), seed=gs.seeds(), temperature=st.floats(0.5, 2.0))
def _follows_softmax(ctx: Context, vocab: int, dtype: torch.dtype, seed: int, temperature: float) -> None:
    row = gs.make_tensor((1, vocab), dtype, seed)
    settings = {"temperature": temperature, "top_k": None, "top_p": None}
    draws = _draws(ctx, row.repeat(DRAWS, 1), settings, seed + 1)
    probs = torch.softmax(row[0].double() / temperature, dim=-1)
    _check_frequencies(ctx, draws, probs, _sample_inputs(row, settings, seed + 1))


@sample_ex.property("uses_the_generator", "the same generator seed gives the same draws and another seed other draws", tier="public")
@given(vocab=gs.dims(2, 8), seed=gs.seeds())
def _uses_generator(ctx: Context, vocab: int, seed: int) -> None:
    logits = torch.zeros(2048, vocab)  # uniform rows: two seeds agree everywhere with probability ≤ 2^-2048
    settings = {"temperature": 1.0, "top_k": None, "top_p": None}
    first = _draws(ctx, logits, settings, seed)
    again = _draws(ctx, logits, settings, seed)
    ctx.check(torch.equal(first, again), "two calls with generators seeded alike gave different draws: draw only with the generator", inputs=_sample_inputs(logits[:2], settings, seed))
    other = _draws(ctx, logits, settings, seed + 1)
    ctx.check(not torch.equal(first, other), "generators with different seeds gave exactly the same 2048 draws: the draws must come from the generator argument", inputs=_sample_inputs(logits[:2], settings, seed + 1))


@sample_ex.property("follows_the_filtered_distribution", "draws follow softmax of the reference's filtered logits for random temperature, top_k and top_p (seeded test on 8192 draws)", tier="hidden")
@given(a=gs.filter_logits_inputs(), seed=gs.seeds())
def _follows_filtered(ctx: Context, a: dict, seed: int) -> None:
    row = a["logits"][:1]
    draws = _draws(ctx, row.repeat(DRAWS, 1), a, seed)
    probs = torch.softmax(ctx.ref_impl("filter_logits")(row, a["temperature"], a["top_k"], a["top_p"])[0].double(), dim=-1)
    _check_frequencies(ctx, draws, probs, _sample_inputs(row, a, seed))


# ----------------------------------------------------------------------------- greedy_decode


def _decode_variant(model, input_ids, max_new_tokens, eos_token_id=None, *, prompt_counts=False, pad=True, stop=True, last_only=False, total_length=False):
    """Greedy decoding with one known mistake switched on (the defaults are correct)."""
    ids = input_ids
    finished = torch.zeros(ids.shape[0], dtype=torch.bool, device=ids.device)
    if prompt_counts and eos_token_id is not None:
        finished = (ids == eos_token_id).any(dim=1)
    steps = max(max_new_tokens - ids.shape[1], 0) if total_length else max_new_tokens
    with torch.no_grad():
        for _ in range(steps):
            nxt = model(ids[:, -1:] if last_only else ids)[:, -1].argmax(dim=-1)
            if eos_token_id is not None:
                if pad:
                    nxt = nxt.masked_fill(finished, eos_token_id)
                finished = finished | (nxt == eos_token_id) if pad else nxt == eos_token_id
            ids = torch.cat([ids, nxt[:, None]], dim=1)
            if stop and eos_token_id is not None and bool(finished.all()):
                break
    return ids


def _decode_eos_in_prompt_counts(model, input_ids, max_new_tokens, eos_token_id=None):
    return _decode_variant(model, input_ids, max_new_tokens, eos_token_id, prompt_counts=True)


def _decode_no_padding(model, input_ids, max_new_tokens, eos_token_id=None):
    return _decode_variant(model, input_ids, max_new_tokens, eos_token_id, pad=False)


def _decode_no_early_stop(model, input_ids, max_new_tokens, eos_token_id=None):
    return _decode_variant(model, input_ids, max_new_tokens, eos_token_id, stop=False)


def _decode_last_token_only(model, input_ids, max_new_tokens, eos_token_id=None):
    return _decode_variant(model, input_ids, max_new_tokens, eos_token_id, last_only=True)


def _decode_total_length(model, input_ids, max_new_tokens, eos_token_id=None):
    return _decode_variant(model, input_ids, max_new_tokens, eos_token_id, total_length=True)


decode_ex = Exercise(
    "lm.greedy_decode",
    mistakes=[
        Mistake("eos_in_prompt_counts", "your output treats a row whose prompt contains EOS as finished; only an EOS the loop generated finishes a row", _decode_eos_in_prompt_counts),
        Mistake("finished_rows_not_padded", "your output lets a row keep generating after it produced EOS (it stops only when every row emits EOS at the same step); remember which rows finished and append EOS to them", _decode_no_padding),
        Mistake("no_early_stop", "your output keeps appending EOS until max_new_tokens even after every row has finished; stop as soon as all rows are finished", _decode_no_early_stop),
        Mistake("last_token_only", "your output feeds only the last token to the model at each step; a model without a cache needs the whole sequence model(ids), then the logits of its last position", _decode_last_token_only),
        Mistake("max_new_tokens_as_total_length", "your output stops when the whole sequence (prompt included) is max_new_tokens long; max_new_tokens counts only the generated tokens (Hugging Face's max_length is the total)", _decode_total_length),
    ],
)


def _decode_inputs(model: torch.nn.Module, ids: torch.Tensor, max_new: int, eos: int | None) -> dict:
    return {"model": f"PrefixLM(vocab_size={model.vocab_size})", "input_ids": ids, "max_new_tokens": max_new, "eos_token_id": eos}


def _greedy_chain(model: torch.nn.Module, ids: torch.Tensor, steps: int) -> torch.Tensor:
    """(B, steps): the greedy continuation of every row, ignoring EOS (to choose an EOS id)."""
    with torch.no_grad():
        for _ in range(steps):
            ids = torch.cat([ids, model(ids)[:, -1].argmax(dim=-1, keepdim=True)], dim=1)
    return ids[:, ids.shape[1] - steps :]


def _decode_and_check(ctx: Context, model: torch.nn.Module, ids: torch.Tensor, max_new: int, eos: int | None) -> None:
    """Call the student's greedy_decode and check every step against the model itself."""
    inputs = _decode_inputs(model, ids, max_new, eos)
    out = ctx.call(model, ids, max_new, eos) if eos is not None else ctx.call(model, ids, max_new)
    b, length = ids.shape
    ok = isinstance(out, torch.Tensor) and out.dtype == torch.int64 and out.dim() == 2 and out.shape[0] == b
    ctx.check(ok, f"expected a (B, L + n) int64 tensor with B = {b}, got {getattr(out, 'dtype', type(out).__name__)} of shape {tuple(getattr(out, 'shape', ()))}", inputs=inputs)
    n = out.shape[1] - length
    ctx.check(0 <= n <= max_new, f"expected between L = {length} and L + max_new_tokens = {length + max_new} columns, got {out.shape[1]}", inputs=inputs)
    ctx.check(torch.equal(out[:, :length], ids), f"the output must start with the prompt; its first {length} columns are {out[:, :length].tolist()}", inputs=inputs)
    finished = torch.zeros(b, dtype=torch.bool)
    for t in range(n):
        if eos is not None and bool(finished.all()):
            ctx.fail(f"every row had generated EOS after {t} new tokens, so decoding should stop there; it went on to {n}", inputs=inputs)
        with torch.no_grad():
            expected = model(out[:, : length + t])[:, -1].argmax(dim=-1)  # (B,)
        if eos is not None:
            expected = expected.masked_fill(finished, eos)
        got = out[:, length + t]
        ctx.check(torch.equal(got, expected), f"new token {t} (column {length + t}) should be {expected.tolist()}, got {got.tolist()}" + (f"; rows finished before it: {finished.tolist()}" if eos is not None else ""), inputs=inputs)
        if eos is not None:
            finished |= expected == eos
    all_done = eos is not None and bool(finished.all())
    ctx.check(n == max_new or all_done, f"stopped after {n} new tokens although max_new_tokens = {max_new} and not every row has generated EOS (finished: {finished.tolist()})", inputs=inputs)


@decode_ex.property("greedy_follows_the_model", "without EOS, max_new_tokens tokens are appended, each the argmax of model(sequence so far)[:, -1]", tier="public")
@given(a=gs.decode_inputs())
def _greedy_follows(ctx: Context, a: dict) -> None:
    _decode_and_check(ctx, a["model"], a["input_ids"], a["max_new_tokens"], None)


@decode_ex.property("finished_rows_repeat_eos", "after a row generates EOS it only appends EOS, while the other rows go on", tier="public")
@given(a=gs.decode_inputs(min_new=2), data=st.data())
def _finished_rows(ctx: Context, a: dict, data: st.DataObject) -> None:
    model, ids, max_new = a["model"], a["input_ids"], a["max_new_tokens"]
    chain = _greedy_chain(model, ids, max_new)  # (B, max_new)
    row = data.draw(st.integers(0, ids.shape[0] - 1), label="row that will finish")
    step = data.draw(st.integers(0, max_new - 2), label="step at which it finishes")
    _decode_and_check(ctx, model, ids, max_new, int(chain[row, step]))


@decode_ex.property("stops_when_every_row_has_finished", "once every row has generated EOS the loop stops: fewer than max_new_tokens columns are added", tier="public")
@given(a=gs.decode_inputs(min_new=5, max_new=8, max_vocab=3))
def _stops_early(ctx: Context, a: dict) -> None:
    model, ids, max_new = a["model"], a["input_ids"], a["max_new_tokens"]
    chain = _greedy_chain(model, ids, max_new - 2)  # an EOS id every row generates by then
    common = [v for v in range(model.vocab_size) if bool((chain == v).any(dim=1).all())]
    assume(common)
    _decode_and_check(ctx, model, ids, max_new, common[0])


@decode_ex.property("eos_in_the_prompt_does_not_count", "an EOS inside the prompt does not finish a row: only generated EOS tokens do", tier="public")
@given(a=gs.decode_inputs(min_new=1), data=st.data())
def _eos_in_prompt(ctx: Context, a: dict, data: st.DataObject) -> None:
    model, ids, max_new = a["model"], a["input_ids"], a["max_new_tokens"]
    position = data.draw(st.integers(0, ids.shape[1] - 1), label="EOS position in the prompt")
    for eos in range(model.vocab_size):  # an EOS id that some row does not generate first
        prompt = ids.clone()
        prompt[:, position] = eos
        with torch.no_grad():
            first = model(prompt)[:, -1].argmax(dim=-1)
        if bool((first != eos).any()):
            _decode_and_check(ctx, model, prompt, max_new, eos)
            return
    assume(False)


@decode_ex.property("zero_new_tokens_returns_the_input", "max_new_tokens = 0 returns the prompt unchanged", tier="public")
@given(a=gs.decode_inputs(max_new=0), eos=st.sampled_from((None, 0, 1)))
def _zero_new(ctx: Context, a: dict, eos: int | None) -> None:
    model, ids = a["model"], a["input_ids"]
    out = ctx.call(model, ids, 0, eos)
    ctx.assert_close(out, ids.clone(), inputs=_decode_inputs(model, ids, 0, eos))


@decode_ex.property("matches_reference", "the decoded ids equal the reference's for random models, prompts, lengths and EOS ids", tier="hidden")
@given(a=gs.decode_inputs(), data=st.data())
@example(a={"model": fixtures.PrefixLM(3, 1), "input_ids": torch.tensor([[0, 2], [1, 1]]), "max_new_tokens": 6}, data=None)
def _decode_matches_reference(ctx: Context, a: dict, data: st.DataObject | None) -> None:
    model, ids, max_new = a["model"], a["input_ids"], a["max_new_tokens"]
    eos = data.draw(st.one_of(st.none(), st.integers(0, model.vocab_size - 1)), label="eos_token_id") if data is not None else 1
    ctx.assert_close(ctx.call(model, ids, max_new, eos), ctx.ref(model, ids, max_new, eos), inputs=_decode_inputs(model, ids, max_new, eos))


# ----------------------------------------------------------------------------- mask_tokens


def _mlm_variant(input_ids, mask_token_id, vocab_size, special_tokens_mask, generator, mlm_probability=0.15, *, labels_all=False, specials=True, random_p=0.5, labels_late=False, mask_p=0.8, use_generator=True):
    """BERT masking with one known mistake switched on (the defaults are correct)."""
    g = generator if use_generator else torch.Generator(device=input_ids.device).manual_seed(0)
    shape, device = input_ids.shape, input_ids.device
    prob = torch.full(shape, mlm_probability, device=device)
    if specials:
        prob = prob.masked_fill(special_tokens_mask.bool(), 0.0)
    selected = torch.bernoulli(prob, generator=g).bool()
    to_mask = torch.bernoulli(torch.full(shape, mask_p, device=device), generator=g).bool() & selected
    to_random = torch.bernoulli(torch.full(shape, random_p, device=device), generator=g).bool() & selected & ~to_mask
    random_ids = torch.randint(vocab_size, shape, generator=g, device=device, dtype=input_ids.dtype)
    inputs = torch.where(to_random, random_ids, input_ids.masked_fill(to_mask, mask_token_id))
    source = inputs if labels_late else input_ids
    labels = source.clone() if labels_all else source.masked_fill(~selected, -100)
    return inputs, labels


def _mlm_labels_all(input_ids, mask_token_id, vocab_size, special_tokens_mask, generator, mlm_probability=0.15):
    return _mlm_variant(input_ids, mask_token_id, vocab_size, special_tokens_mask, generator, mlm_probability, labels_all=True)


def _mlm_specials_selectable(input_ids, mask_token_id, vocab_size, special_tokens_mask, generator, mlm_probability=0.15):
    return _mlm_variant(input_ids, mask_token_id, vocab_size, special_tokens_mask, generator, mlm_probability, specials=False)


def _mlm_random_too_rare(input_ids, mask_token_id, vocab_size, special_tokens_mask, generator, mlm_probability=0.15):
    return _mlm_variant(input_ids, mask_token_id, vocab_size, special_tokens_mask, generator, mlm_probability, random_p=0.1)


def _mlm_labels_after_masking(input_ids, mask_token_id, vocab_size, special_tokens_mask, generator, mlm_probability=0.15):
    return _mlm_variant(input_ids, mask_token_id, vocab_size, special_tokens_mask, generator, mlm_probability, labels_late=True)


def _mlm_no_unchanged_share(input_ids, mask_token_id, vocab_size, special_tokens_mask, generator, mlm_probability=0.15):
    return _mlm_variant(input_ids, mask_token_id, vocab_size, special_tokens_mask, generator, mlm_probability, random_p=1.0)


def _mlm_global_rng(input_ids, mask_token_id, vocab_size, special_tokens_mask, generator, mlm_probability=0.15):
    return _mlm_variant(input_ids, mask_token_id, vocab_size, special_tokens_mask, generator, mlm_probability, use_generator=False)


mlm_ex = Exercise(
    "lm.mask_tokens",
    mistakes=[
        Mistake("labels_not_ignored", "your labels hold the original id at every position; set them to -100 wherever the token was not selected, so the loss only covers selected tokens", _mlm_labels_all),
        Mistake("special_tokens_selected", "your output also selects special tokens ([CLS], [SEP], padding); give them selection probability 0 with special_tokens_mask (True = special)", _mlm_specials_selectable),
        Mistake("random_share_too_small", "your output gives a random id to 10 % of the tokens left after [MASK] (2 % of the selected); it should be half of them — 10 % of the selected — and the other half stays unchanged", _mlm_random_too_rare),
        Mistake("labels_after_masking", "your labels were taken after the replacement, so they hold [MASK] or the random id; the labels are the original ids", _mlm_labels_after_masking),
        Mistake("no_unchanged_share", "your output replaces every selected token ([MASK] 80 %, random 20 %); 10 % of the selected tokens must stay unchanged", _mlm_no_unchanged_share),
        Mistake("generator_ignored", "your draws do not depend on the generator you were given (they come from torch's global random state); pass generator=generator to every torch.bernoulli / torch.randint", _mlm_global_rng),
    ],
)

MLM_SHAPE = (64, 128)  # 8192 positions per statistical example


def _mlm_inputs(a: dict, p: float) -> dict:
    return {**{k: a[k] for k in ("input_ids", "mask_token_id", "vocab_size", "special_tokens_mask")}, "mlm_probability": p, "generator seed": a["seed"]}


def _mlm_call(ctx: Context, a: dict, p: float, seed: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Call the student's mask_tokens; check that it returned two (B, L) int64 tensors."""
    g = gs.generator(a["seed"] if seed is None else seed)
    out = ctx.call(a["input_ids"], a["mask_token_id"], a["vocab_size"], a["special_tokens_mask"], g, p)
    shape = tuple(a["input_ids"].shape)
    ok = isinstance(out, (tuple, list)) and len(out) == 2 and all(isinstance(t, torch.Tensor) and tuple(t.shape) == shape and t.dtype == torch.int64 for t in out)
    described = [f"{t.dtype} {tuple(t.shape)}" if isinstance(t, torch.Tensor) else type(t).__name__ for t in out] if isinstance(out, (tuple, list)) else type(out).__name__
    ctx.check(ok, f"expected (inputs, labels), two int64 tensors of shape {shape}; got {described}", inputs=_mlm_inputs(a, p))
    return out[0], out[1]


def _big_mlm_inputs(vocab: int, mask_id: int, seed: int) -> dict:
    ids, special = gs.mlm_batch(MLM_SHAPE, vocab, mask_id, seed)
    return {"input_ids": ids, "mask_token_id": mask_id, "vocab_size": vocab, "special_tokens_mask": special, "seed": seed + 2}


@mlm_ex.property("returns_ids_and_labels", "the result is (inputs, labels), both (B, L) int64", tier="public")
@given(a=gs.mlm_inputs(), p=st.sampled_from((0.15, 0.5, 1.0)))
def _mlm_shapes(ctx: Context, a: dict, p: float) -> None:
    _mlm_call(ctx, a, p)


@mlm_ex.property("labels_mark_the_selected_tokens", "labels hold the original id where a token was selected and -100 elsewhere; only selected, non-special tokens change", tier="public")
@given(a=gs.mlm_inputs(), p=st.sampled_from((0.15, 0.5, 1.0)))
def _mlm_labels(ctx: Context, a: dict, p: float) -> None:
    ids, special = a["input_ids"], a["special_tokens_mask"]
    inputs, labels = _mlm_call(ctx, a, p)
    selected = labels != -100
    where = _mlm_inputs(a, p)
    ctx.check(not bool((selected & special).any()), f"special tokens were selected (labels ≠ -100 at special positions {(selected & special).nonzero().tolist()[:4]})", inputs=where)
    ctx.check(torch.equal(labels[selected], ids[selected]), f"at selected positions the labels must be the original ids {ids[selected].tolist()[:8]}, got {labels[selected].tolist()[:8]}", inputs=where)
    changed = inputs != ids
    ctx.check(not bool((changed & ~selected).any()), f"tokens changed at positions whose label is -100 (not selected): {(changed & ~selected).nonzero().tolist()[:4]}", inputs=where)
    in_range = (inputs >= 0) & (inputs < a["vocab_size"])
    ctx.check(bool(in_range.all()), f"inputs must be ids in [0, {a['vocab_size']}); got {inputs[~in_range].tolist()[:4]}", inputs=where)


@mlm_ex.property("probability_zero_and_one", "mlm_probability = 1 selects every non-special token, and 0 selects none and changes nothing", tier="public")
@given(a=gs.mlm_inputs(), p=st.sampled_from((0.0, 1.0)))
def _mlm_extremes(ctx: Context, a: dict, p: float) -> None:
    ids, special = a["input_ids"], a["special_tokens_mask"]
    inputs, labels = _mlm_call(ctx, a, p)
    expected = ids.masked_fill(special, -100) if p == 1.0 else torch.full_like(ids, -100)
    ctx.assert_close(labels, expected, inputs=_mlm_inputs(a, p), what=f"the labels for mlm_probability = {p}")
    if p == 0.0:
        ctx.assert_close(inputs, ids.clone(), inputs=_mlm_inputs(a, p), what="the inputs when nothing is selected")


@mlm_ex.property("selection_rate", "each non-special token is selected with probability mlm_probability (seeded test on 8192 positions)", tier="public")
@given(vocab=st.integers(5, 20), seed=gs.seeds(), p=st.sampled_from((0.15, 0.3, 0.6)), data=st.data())
def _mlm_rate(ctx: Context, vocab: int, seed: int, p: float, data: st.DataObject) -> None:
    a = _big_mlm_inputs(vocab, data.draw(st.integers(0, vocab - 1), label="mask_token_id"), seed)
    _, labels = _mlm_call(ctx, a, p)
    selected, regular = labels != -100, ~a["special_tokens_mask"]
    ctx.check(not bool((selected & ~regular).any()), "special tokens were selected (labels ≠ -100 at special positions)", inputs=_mlm_inputs(a, p))
    problem = implausible([("selected non-special tokens", int(selected.sum()), int(regular.sum()), p)])
    ctx.check(problem is None, f"the share of selected tokens does not match mlm_probability — {problem}", inputs=_mlm_inputs(a, p))


@mlm_ex.property("replacement_80_10_10", "of the selected tokens 80 % become [MASK], 10 % a uniform random id and 10 % stay (seeded test, mlm_probability = 1)", tier="public")
@given(vocab=st.integers(5, 20), seed=gs.seeds(), data=st.data())
def _mlm_split(ctx: Context, vocab: int, seed: int, data: st.DataObject) -> None:
    mask_id = data.draw(st.integers(0, vocab - 1), label="mask_token_id")
    a = _big_mlm_inputs(vocab, mask_id, seed)
    ids = a["input_ids"]
    inputs, labels = _mlm_call(ctx, a, 1.0)
    selected = labels != -100
    ctx.check(torch.equal(selected, ~a["special_tokens_mask"]), "with mlm_probability = 1 every non-special token (and no special one) must be selected", inputs=_mlm_inputs(a, 1.0))
    n, orig, out = int(selected.sum()), ids[selected], inputs[selected]
    # A random id is uniform over [0, V), so it can also hit [MASK] or the original id.
    table = [
        ("became [MASK]", int((out == mask_id).sum()), n, 0.8 + 0.1 / vocab),
        ("stayed unchanged", int((out == orig).sum()), n, 0.1 + 0.1 / vocab),
    ]
    for v in range(vocab):
        if v != mask_id:  # other ids appear only through the random replacement
            table.append((f"became random id {v}", int(((out == v) & (orig != v)).sum()), int((orig != v).sum()), 0.1 / vocab))
    problem = implausible(table)
    ctx.check(problem is None, f"the replacement of selected tokens does not follow 80 % [MASK] / 10 % random / 10 % unchanged — {problem}", inputs=_mlm_inputs(a, 1.0))


@mlm_ex.property("uses_the_generator", "the same generator seed gives the same result and another seed another one", tier="public")
@given(vocab=st.integers(5, 20), seed=gs.seeds())
def _mlm_generator(ctx: Context, vocab: int, seed: int) -> None:
    a = _big_mlm_inputs(vocab, 0, seed)
    first, again = _mlm_call(ctx, a, 0.15), _mlm_call(ctx, a, 0.15)
    ctx.check(all(torch.equal(x, y) for x, y in zip(first, again)), "two calls with generators seeded alike gave different results: draw only with the generator", inputs=_mlm_inputs(a, 0.15))
    other = _mlm_call(ctx, a, 0.15, seed=a["seed"] + 1)  # over 8192 positions two seeds cannot agree by chance
    ctx.check(not torch.equal(first[1], other[1]), "generators with different seeds selected exactly the same tokens: the draws must come from the generator argument", inputs=_mlm_inputs(a, 0.15))


@mlm_ex.property("deterministic_cases_match_reference", "with mlm_probability 0 or 1 the labels (and at 0 the inputs) equal the reference's", tier="hidden")
@given(a=gs.mlm_inputs(), p=st.sampled_from((0.0, 1.0)))
def _mlm_matches_reference(ctx: Context, a: dict, p: float) -> None:
    inputs, labels = _mlm_call(ctx, a, p)
    ref_inputs, ref_labels = ctx.ref(a["input_ids"], a["mask_token_id"], a["vocab_size"], a["special_tokens_mask"], gs.generator(a["seed"]), p)
    ctx.assert_close(labels, ref_labels, inputs=_mlm_inputs(a, p), what="the labels")
    if p == 0.0:
        ctx.assert_close(inputs, ref_inputs, inputs=_mlm_inputs(a, p), what="the inputs")


# ----------------------------------------------------------------------------- prepend_soft_prompt


def _soft_prompt_appended(input_embeds, attention_mask, soft_prompt, labels=None):
    b, n = input_embeds.shape[0], soft_prompt.shape[0]
    embeds = torch.cat([input_embeds, soft_prompt.to(input_embeds.dtype).expand(b, -1, -1)], dim=1)
    mask = torch.cat([attention_mask, torch.ones(b, n, dtype=attention_mask.dtype, device=attention_mask.device)], dim=1)
    labels = None if labels is None else torch.cat([labels, torch.full((b, n), -100, dtype=labels.dtype, device=labels.device)], dim=1)
    return embeds, mask, labels


def _soft_prompt_variant(input_embeds, attention_mask, soft_prompt, labels=None, *, mask_fill=1, extend_mask=True, extend_labels=True):
    b, n = input_embeds.shape[0], soft_prompt.shape[0]
    embeds = torch.cat([soft_prompt.to(input_embeds.dtype).expand(b, -1, -1), input_embeds], dim=1)
    mask = torch.cat([torch.full((b, n), mask_fill, dtype=attention_mask.dtype, device=attention_mask.device), attention_mask], dim=1) if extend_mask else attention_mask
    if labels is not None and extend_labels:
        labels = torch.cat([torch.full((b, n), -100, dtype=labels.dtype, device=labels.device), labels], dim=1)
    return embeds, mask, labels


def _soft_prompt_mask_not_extended(input_embeds, attention_mask, soft_prompt, labels=None):
    return _soft_prompt_variant(input_embeds, attention_mask, soft_prompt, labels, extend_mask=False)


def _soft_prompt_mask_zeros(input_embeds, attention_mask, soft_prompt, labels=None):
    return _soft_prompt_variant(input_embeds, attention_mask, soft_prompt, labels, mask_fill=0)


def _soft_prompt_labels_not_extended(input_embeds, attention_mask, soft_prompt, labels=None):
    return _soft_prompt_variant(input_embeds, attention_mask, soft_prompt, labels, extend_labels=False)


soft_ex = Exercise(
    "lm.prepend_soft_prompt",
    mistakes=[
        Mistake("prompt_appended", "your output puts the soft prompt after the input embeddings; prompt tuning prepends it, so the virtual tokens come first", _soft_prompt_appended),
        Mistake("mask_not_extended", "your attention mask was not extended: it still has L columns while the embeddings have n + L; prepend n ones", _soft_prompt_mask_not_extended),
        Mistake("prompt_masked_out", "your attention mask has zeros on the soft prompt, so the model would ignore the virtual tokens; prepend ones", _soft_prompt_mask_zeros),
        Mistake("labels_not_extended", "your labels were not extended: prepend n values of -100, so the labels line up with the n + L embeddings and the prompt gets no loss", _soft_prompt_labels_not_extended),
    ],
)


def _soft_inputs(a: dict) -> dict:
    return {k: a[k] for k in ("input_embeds", "attention_mask", "soft_prompt", "labels")}


def _soft_call(ctx: Context, a: dict) -> tuple[Any, Any, Any]:
    out = ctx.call(a["input_embeds"], a["attention_mask"], a["soft_prompt"], a["labels"])
    ok = isinstance(out, (tuple, list)) and len(out) == 3
    ctx.check(ok, f"expected a tuple (embeds, mask, labels), got {type(out).__name__}", inputs=_soft_inputs(a))
    return out[0], out[1], out[2]


@soft_ex.property("prompt_comes_first", "embeds has shape (B, n + L, E): the soft prompt in every row, then the input embeddings", tier="public")
@given(a=gs.soft_prompt_inputs())
def _prompt_first(ctx: Context, a: dict) -> None:
    x, prompt = a["input_embeds"], a["soft_prompt"]
    embeds, _, _ = _soft_call(ctx, a)
    expected = torch.cat([prompt.expand(x.shape[0], -1, -1), x], dim=1)
    ctx.assert_close(embeds, expected, inputs=_soft_inputs(a), what="embeds (rows: soft prompt, then input_embeds)")


@soft_ex.property("mask_has_ones_on_the_prompt", "the mask gets n leading ones in the attention mask's own dtype (int64, bool or float)", tier="public")
@given(a=gs.soft_prompt_inputs())
def _mask_ones(ctx: Context, a: dict) -> None:
    mask, n = a["attention_mask"], a["soft_prompt"].shape[0]
    _, got, _ = _soft_call(ctx, a)
    expected = torch.cat([torch.ones(mask.shape[0], n, dtype=mask.dtype), mask], dim=1)
    ctx.assert_close(got, expected, inputs=_soft_inputs(a), what="the attention mask")


@soft_ex.property("labels_ignored_on_the_prompt", "labels get n leading -100 (no loss on virtual tokens); None stays None", tier="public")
@given(a=gs.soft_prompt_inputs())
def _labels_prompt(ctx: Context, a: dict) -> None:
    labels, n = a["labels"], a["soft_prompt"].shape[0]
    _, _, got = _soft_call(ctx, a)
    expected = None if labels is None else torch.cat([torch.full((labels.shape[0], n), -100), labels], dim=1)
    ctx.assert_close(got, expected, inputs=_soft_inputs(a), what="the labels")


@soft_ex.property("gradients_reach_the_soft_prompt", "the soft prompt's gradient is the sum over the batch of the output gradient on the prompt positions; input_embeds gets the rest", tier="public")
@given(a=gs.soft_prompt_inputs(), seed=gs.seeds())
def _soft_gradients(ctx: Context, a: dict, seed: int) -> None:
    x, prompt = a["input_embeds"], a["soft_prompt"]
    b, n = x.shape[0], prompt.shape[0]
    g = gs.make_tensor((b, n + x.shape[1], x.shape[2]), x.dtype, seed)
    _, grads = ctx.student.vjp(ctx.exercise.name, (x, a["attention_mask"], prompt, a["labels"]), (g, None, None), [0, 2])
    d_x, d_prompt = grads["inputs"]
    ctx.check(d_prompt is not None, "no gradient reached soft_prompt: is it detached, or copied with .data / torch.tensor(...)?", inputs=_soft_inputs(a))
    ctx.assert_close((d_x, d_prompt), (g[:, n:], g[:, :n].sum(dim=0)), inputs=_soft_inputs(a), what="the gradients (d input_embeds, d soft_prompt)")


@soft_ex.property("dtype_contract", "embeds keeps input_embeds' dtype, also when the soft prompt has another float dtype", tier="public")
@given(a=gs.soft_prompt_inputs())
def _soft_dtype(ctx: Context, a: dict) -> None:
    x = a["input_embeds"]
    other = torch.float64 if x.dtype == torch.float32 else torch.float32
    a = {**a, "soft_prompt": a["soft_prompt"].to(other)}
    embeds, _, _ = _soft_call(ctx, a)
    ok = isinstance(embeds, torch.Tensor) and embeds.dtype == x.dtype
    ctx.check(ok, f"input_embeds were {x.dtype} and soft_prompt {other}: embeds should be {x.dtype}, got {getattr(embeds, 'dtype', type(embeds).__name__)}", inputs=_soft_inputs(a))


@soft_ex.property("matches_reference", "embeds, mask and labels equal the reference's on random inputs", tier="hidden")
@given(a=gs.soft_prompt_inputs())
def _soft_matches_reference(ctx: Context, a: dict) -> None:
    got = _soft_call(ctx, a)
    ctx.assert_close(got, ctx.ref(*_soft_inputs(a).values()), inputs=_soft_inputs(a))


# ----------------------------------------------------------------------------- diagnoses


def _identical(got: Any, wrong: Any) -> bool:
    """Like the engine's match of an output with a mistake's, but dtypes must agree and ±inf
    must sit at the same places (the engine accepts any value where the mistake has -inf)."""
    if isinstance(wrong, (tuple, list)):
        return isinstance(got, (tuple, list)) and len(got) == len(wrong) and all(_identical(g, w) for g, w in zip(got, wrong))
    if not isinstance(wrong, torch.Tensor):
        return allclose(got, wrong)
    if not isinstance(got, torch.Tensor) or got.shape != wrong.shape or got.dtype != wrong.dtype:
        return False
    if wrong.is_floating_point():
        infinite = wrong.isinf()
        if not torch.equal(got.isinf(), infinite) or not torch.equal(got[infinite], wrong[infinite]):
            return False
        return allclose(got.masked_fill(infinite, 0.0), wrong.masked_fill(infinite, 0.0))
    return torch.equal(got, wrong)


def _diagnose(ctx: Context) -> str | None:
    """The message of the first mistake that reproduces the latest call exactly (see _identical)."""
    if not ctx.student.calls:
        return None
    call = ctx.student.calls[-1]
    for mistake in ctx.exercise.mistakes:
        try:
            wrong = replay(call, mistake.impl, ctx.device)
        except Exception:  # a variant may not apply to every input
            continue
        if _identical(call.result, wrong):
            return mistake.message
    return None


def _strict_diagnosis(test: Any) -> Any:
    """Re-diagnose a failed property with ``_diagnose``: a float64 result for float32 inputs, or
    logits kept where a mistake removes them, must not be named after that mistake."""

    def run(ctx: Context, *args: Any, **kwargs: Any) -> None:
        try:
            test(ctx, *args, **kwargs)
        except PropertyFailure as failure:
            if type(failure) is PropertyFailure:  # a student's exception or a contract violation has no diagnosis
                failure.diagnosis = _diagnose(ctx)
            raise

    return run


for _exercise in (loss_ex, filter_ex, sample_ex, decode_ex, mlm_ex, soft_ex):
    _exercise.properties[:] = [dataclasses.replace(p, test=_strict_diagnosis(p.test)) for p in _exercise.properties]
