"""Properties and known mistakes of ``lm.completion_only_labels`` (labels for the loss on the
response only, as TRL's completion-only collator). Rows are right-padded: the prompt is the
first prompt_lengths[b] positions of row b.

Expected labels come from a loop over positions, written in the judge (public properties need
no reference).
"""

from __future__ import annotations

from typing import Any

import torch
from hypothesis import example, given

from grader.properties.api import Context, Exercise, Mistake
from grader.properties.common import check_plain as _check_plain
from grader.properties.judge_only import judge_only
from grader.properties.lm import strategies as gs
from grader.properties.lm._shared import strict_diagnoses


@judge_only
def _labels_with(input_ids, attention_mask, prompt_lengths, ignore_index=-100, *, left=False, extra=0, padding=True, shift=False, invert=False):
    """The labels with one known mistake switched on (the defaults give the right labels)."""
    length = input_ids.shape[1]
    positions = torch.arange(length, device=input_ids.device)
    real = (attention_mask != 0).sum(dim=1, keepdim=True)  # (B, 1)
    start = (length - real) if left else torch.zeros_like(real)  # where a left-padded row's text would start
    in_prompt = (positions >= start) & (positions < start + prompt_lengths.unsqueeze(1) + extra)
    if invert:
        in_prompt = ~in_prompt
    ignored = in_prompt | (attention_mask == 0) if padding else in_prompt
    labels = input_ids.masked_fill(ignored, ignore_index)
    if shift:  # next-token targets built by hand: the loss shifts them a second time
        labels = torch.cat([labels[:, 1:], torch.full_like(labels[:, :1], ignore_index)], dim=1)
    return labels


def _labels_left_padding(input_ids, attention_mask, prompt_lengths, ignore_index=-100):
    return _labels_with(input_ids, attention_mask, prompt_lengths, ignore_index, left=True)


def _labels_padding_kept(input_ids, attention_mask, prompt_lengths, ignore_index=-100):
    return _labels_with(input_ids, attention_mask, prompt_lengths, ignore_index, padding=False)


def _labels_first_response_ignored(input_ids, attention_mask, prompt_lengths, ignore_index=-100):
    return _labels_with(input_ids, attention_mask, prompt_lengths, ignore_index, extra=1)


def _labels_pre_shifted(input_ids, attention_mask, prompt_lengths, ignore_index=-100):
    return _labels_with(input_ids, attention_mask, prompt_lengths, ignore_index, shift=True)


def _labels_inverted(input_ids, attention_mask, prompt_lengths, ignore_index=-100):
    return _labels_with(input_ids, attention_mask, prompt_lengths, ignore_index, invert=True)


completion_ex = Exercise(
    "lm.completion_only_labels",
    mistakes=[
        Mistake("left_padding_assumed", "your labels ignore prompt_lengths[b] positions starting where a left-padded row's text would start (L − number of real tokens); these rows are right-padded, so the prompt is the first prompt_lengths[b] positions", _labels_left_padding),
        Mistake("padding_kept", "your labels keep the padding tokens (attention_mask == 0) as targets; set them to ignore_index too", _labels_padding_kept),
        Mistake("first_response_token_ignored", "your labels also ignore the first response token (prompt_lengths[b] + 1 positions, <= instead of <); only the prompt's positions 0 … prompt_lengths[b] − 1 are ignored", _labels_first_response_ignored),
        Mistake("shifted_by_hand", "your labels are shifted left by one (labels[:, i] = input_ids[:, i + 1]); keep them aligned with input_ids: the causal LM loss shifts them itself", _labels_pre_shifted),
        Mistake("response_ignored", "your labels ignore the response and keep the prompt; the loss is taken on the response only, so the prompt gets ignore_index", _labels_inverted),
    ],
)

_ARGS = ("input_ids", "attention_mask", "prompt_lengths", "ignore_index")
# A batch where every mistake shows and no two coincide: full, padded and prompt-only rows.
_EXAMPLE = {
    "input_ids": torch.tensor([[11, 12, 13, 14, 15, 16], [21, 22, 23, 24, 0, 0], [31, 32, 0, 0, 0, 0]]),
    "attention_mask": torch.tensor([[1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 0, 0], [1, 1, 0, 0, 0, 0]]),
    "prompt_lengths": torch.tensor([2, 1, 2]),
    "ignore_index": -100,
}


def _args(a: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(a[k] for k in _ARGS)


def _loop(a: dict[str, Any]) -> torch.Tensor:
    """The labels by the statement, one position at a time."""
    ids, mask, prompts = a["input_ids"].tolist(), a["attention_mask"].tolist(), a["prompt_lengths"].tolist()
    return torch.tensor([[a["ignore_index"] if i < p or not m[i] else row[i] for i in range(len(row))] for row, m, p in zip(ids, mask, prompts)], dtype=torch.int64)


def _labels(ctx: Context, a: dict[str, Any]) -> torch.Tensor:
    got = ctx.call(*_args(a))
    shape = tuple(a["input_ids"].shape)
    ctx.check(isinstance(got, torch.Tensor) and tuple(got.shape) == shape, f"expected labels of shape (B, L) = {shape}, got {getattr(got, 'shape', type(got).__name__)}", inputs=a)
    return got


def _where(mask: torch.Tensor) -> str:
    return str([tuple(ix) for ix in mask.nonzero().tolist()][:8])


@completion_ex.property("prompt_positions_ignored", "the first prompt_lengths[b] positions of row b (the instruction) get ignore_index", tier="public")
@given(a=gs.completion_inputs())
@example(a=_EXAMPLE)
def _prompt_ignored(ctx: Context, a: dict[str, Any]) -> None:
    got = _labels(ctx, a)
    in_prompt = torch.arange(got.shape[1]) < a["prompt_lengths"].unsqueeze(1)
    wrong = in_prompt & (got != a["ignore_index"])
    ctx.check(not wrong.any(), f"prompt positions (row, position) {_where(wrong)} should be {a['ignore_index']}, got {got[wrong].tolist()[:8]}", inputs=a)


@completion_ex.property("padding_ignored", "positions where attention_mask is 0 (padding) get ignore_index, for int and bool masks", tier="public")
@given(a=gs.completion_inputs())
@example(a=_EXAMPLE)
def _padding_ignored(ctx: Context, a: dict[str, Any]) -> None:
    got = _labels(ctx, a)
    wrong = (a["attention_mask"] == 0) & (got != a["ignore_index"])
    ctx.check(not wrong.any(), f"padding positions (row, position) {_where(wrong)} should be {a['ignore_index']}, got {got[wrong].tolist()[:8]}", inputs=a)


@completion_ex.property("response_tokens_kept", "every response token (after the prompt, attention_mask 1) keeps its own id, unshifted", tier="public")
@given(a=gs.completion_inputs())
@example(a=_EXAMPLE)
def _response_kept(ctx: Context, a: dict[str, Any]) -> None:
    got = _labels(ctx, a)
    response = (torch.arange(got.shape[1]) >= a["prompt_lengths"].unsqueeze(1)) & (a["attention_mask"] != 0)
    wrong = response & (got != a["input_ids"])
    ctx.check(not wrong.any(), f"response positions (row, position) {_where(wrong)} should keep input_ids {a['input_ids'][wrong].tolist()[:8]}, got {got[wrong].tolist()[:8]}", inputs=a)


@completion_ex.property("known_labels_for_any_ignore_index", "the labels equal a loop over positions, also for ignore_index −1, 0 or 7 (an id that also occurs as a token)", tier="public")
@given(a=gs.completion_inputs(ignore_index=True))
def _known_labels(ctx: Context, a: dict[str, Any]) -> None:
    ctx.assert_close(_labels(ctx, a), _loop(a), inputs=a, what="the label tensor")


@completion_ex.property("dtype_contract", "the labels are a new int64 (B, L) tensor; input_ids, attention_mask and prompt_lengths are left unchanged", tier="public")
@given(a=gs.completion_inputs())
def _labels_dtype(ctx: Context, a: dict[str, Any]) -> None:
    got = _labels(ctx, a)  # the engine fails the call if an argument was modified in place
    _check_plain(got.dtype == torch.int64, f"the labels should be int64 (like input_ids), got {got.dtype}", a)


@completion_ex.property("matches_reference", "the labels equal the reference on random right-padded batches", tier="hidden")
@given(a=gs.completion_inputs(ignore_index=True))
def _labels_matches_reference(ctx: Context, a: dict[str, Any]) -> None:
    ctx.assert_close(_labels(ctx, a), ctx.ref(*_args(a)), inputs=a, what="the label tensor")


# Last, once every property is registered: failures are re-diagnosed strictly (see _shared).
strict_diagnoses(completion_ex)
