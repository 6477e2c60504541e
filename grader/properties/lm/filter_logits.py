"""Properties and known mistakes of ``lm.filter_logits``."""

from __future__ import annotations

from typing import Any

import torch
from hypothesis import assume, example, given
from hypothesis import strategies as st

from grader.failures import PropertyFailure
from grader.properties.api import Context, Exercise, Mistake
from grader.properties.common import unless_right
from grader.properties.lm import strategies as gs
from grader.properties.lm._shared import NEG_INF, _filter_variant, _kept_by_statement, strict_diagnoses
from grader.properties.stability import UNSTABLE_SOFTMAX


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


def _filter_unstable_softmax(logits, temperature=1.0, top_k=None, top_p=None):
    """The Hugging Face filter with top-p's probabilities computed as exp(x)/Σexp(x)."""
    logits = _filter_variant(logits, temperature, top_k, None)
    if top_p is not None and top_p < 1.0:
        sorted_logits, order = torch.sort(logits, dim=-1, descending=True)
        e = sorted_logits.exp()
        probs = e / e.sum(dim=-1, keepdim=True)  # nan once exp overflows or every exp underflows
        remove = (probs.cumsum(dim=-1) - probs) >= top_p
        remove[..., 0] = False
        logits = logits.masked_fill(remove.scatter(-1, order, remove), NEG_INF)
    return logits


filter_ex = Exercise(
    "lm.filter_logits",
    mistakes=[
        Mistake("unstable_softmax", f"your output equals top-p with probabilities from {UNSTABLE_SOFTMAX} (the nan probabilities then remove nothing)", unless_right(_filter_unstable_softmax, _filter_variant)),
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


@filter_ex.property("top_p_stable_for_large_logits", "top-p on logits of magnitude 1e2–1e4 (positive or negative) keeps the same nucleus as on the logits shifted to 0", tier="public")
@given(a=gs.large_logit_top_p_inputs())
def _top_p_stable_for_large_logits(ctx: Context, a: dict) -> None:
    logits = a["logits"]
    kept = _kept_by_statement(logits, 1.0, None, a["top_p"])
    got = _filter_call(ctx, a)
    try:
        _assert_filtered(ctx, got, _expected_filtered(logits, 1.0, kept), _filter_inputs(a))
    except PropertyFailure as failure:
        failure.message += f"\nat this scale the usual cause: {UNSTABLE_SOFTMAX}"
        raise


# Last, once every property is registered: failures are re-diagnosed strictly (see _shared).
strict_diagnoses(filter_ex)
