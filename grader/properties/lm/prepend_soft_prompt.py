"""Properties and known mistakes of ``lm.prepend_soft_prompt``."""

from __future__ import annotations

from typing import Any

import torch
from hypothesis import given

from grader.properties.api import Context, Exercise, Mistake
from grader.properties.judge_only import judge_only
from grader.properties.lm import strategies as gs
from grader.properties.lm._shared import strict_diagnoses


def _soft_prompt_appended(input_embeds, attention_mask, soft_prompt, labels=None):
    b, n = input_embeds.shape[0], soft_prompt.shape[0]
    embeds = torch.cat([input_embeds, soft_prompt.to(input_embeds.dtype).expand(b, -1, -1)], dim=1)
    mask = torch.cat([attention_mask, torch.ones(b, n, dtype=attention_mask.dtype, device=attention_mask.device)], dim=1)
    labels = None if labels is None else torch.cat([labels, torch.full((b, n), -100, dtype=labels.dtype, device=labels.device)], dim=1)
    return embeds, mask, labels


@judge_only
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


# Last, once every property is registered: failures are re-diagnosed strictly (see _shared).
strict_diagnoses(soft_ex)
