"""Properties and known mistakes of ``lm.greedy_decode``."""

from __future__ import annotations

import torch
from hypothesis import assume, example, given
from hypothesis import strategies as st

from grader import fixtures
from grader.properties.api import Context, Exercise, Mistake
from grader.properties.judge_only import judge_only
from grader.properties.lm import strategies as gs
from grader.properties.lm._shared import strict_diagnoses


@judge_only
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


# Last, once every property is registered: failures are re-diagnosed strictly (see _shared).
strict_diagnoses(decode_ex)
