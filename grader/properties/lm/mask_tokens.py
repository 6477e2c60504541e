"""Properties and known mistakes of ``lm.mask_tokens``."""

from __future__ import annotations

import torch
from hypothesis import given
from hypothesis import strategies as st

from grader.properties.api import Context, Exercise, Mistake
from grader.properties.judge_only import judge_only
from grader.properties.lm import strategies as gs
from grader.properties.lm._shared import strict_diagnoses
from grader.stats import implausible

# Seeded statistical tests check each category of the draws (a token, "became [MASK]", …) with
# the Chernoff bound of grader/stats.py: a correct implementation fails one example with
# probability at most 1e-9, a grading run with probability below 1e-7.


@judge_only
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


# Last, once every property is registered: failures are re-diagnosed strictly (see _shared).
strict_diagnoses(mlm_ex)
