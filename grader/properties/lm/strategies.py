"""Hypothesis strategies of the lm exercises.

The lm properties import this module as ``gs``: it also re-exports the shared strategies they
use, so the properties' source (which Hypothesis hashes to derandomize the examples) stays the
same whichever module a strategy lives in.
"""

from __future__ import annotations

from typing import Any

import torch
from hypothesis import strategies as st

from grader.strategies import dims, float_dtypes, generator, make_tensor, seeds

__all__ = ["MASK_DTYPES", "causal_lm_inputs", "completion_inputs", "decode_inputs", "dims", "filter_logits_inputs", "float_dtypes", "generator", "make_tensor", "mlm_batch", "mlm_inputs", "sampling_settings", "seeds", "soft_prompt_inputs", "token_ids", "top_p_margin"]


def token_ids(shape: tuple[int, ...], vocab_size: int, seed: int, *, exclude: int | None = None) -> torch.Tensor:
    """Reproducible int64 ids in [0, vocab_size), never equal to ``exclude`` (e.g. [MASK])."""
    g = generator(seed)
    if exclude is None:
        return torch.randint(vocab_size, shape, generator=g)
    ids = torch.randint(vocab_size - 1, shape, generator=g)
    return ids + (ids >= exclude).long()  # shift past the excluded id: still uniform over the rest


@st.composite
def causal_lm_inputs(draw: st.DrawFn, *, ignore_index: int = -100) -> dict[str, Any]:
    """logits (B, L, V) and labels (B, L) int64 for a causal LM loss.

    Every row ignores its own number of labels (set to ``ignore_index``, as prompts and
    padding are), so a mean over tokens and a mean over sequences differ; at least one
    target (labels[:, 1:]) is kept, since an all-ignored batch is outside the contract.
    """
    b, length, vocab = draw(dims(1, 4)), draw(dims(2, 8)), draw(dims(2, 8))
    dtype, seed = draw(float_dtypes()), draw(seeds())
    logits = make_tensor((b, length, vocab), dtype, seed, scale=2.0)
    labels = token_ids((b, length), vocab, seed + 1)
    g = generator(seed + 2)
    for row in range(b):
        n_ignored = draw(st.integers(0, length - 1))
        labels[row, torch.randperm(length, generator=g)[:n_ignored]] = ignore_index
    if bool((labels[:, 1:] == ignore_index).all()):
        labels[0, 1] = 0
    return {"logits": logits, "labels": labels}


def top_p_margin(logits: torch.Tensor, temperature: float, top_k: int | None, top_p: float | None) -> float:
    """How far ``top_p`` is from every cumulative probability a top-p filter compares it with.

    Computed in float64 after temperature and top-k (the Hugging Face order); inf when top-p
    is off. A small margin means float rounding decides which token crosses the threshold.
    """
    if top_p is None or top_p >= 1.0 or logits.shape[-1] < 2:
        return float("inf")
    scaled = logits.double() / float(temperature)
    if top_k:
        kth = scaled.topk(min(top_k, scaled.shape[-1]), dim=-1).values[..., -1:]
        scaled = scaled.masked_fill(scaled < kth, float("-inf"))
    probs = scaled.softmax(dim=-1).sort(dim=-1, descending=True).values
    mass_before = probs.cumsum(dim=-1) - probs  # (B, V); rank 0 (mass 0) is always kept
    return float((mass_before[..., 1:] - top_p).abs().min())


@st.composite
def sampling_settings(draw: st.DrawFn, logits: torch.Tensor, *, min_temperature: float = 0.25, max_temperature: float = 4.0, top_k: bool = True, top_p: bool = True) -> dict[str, Any]:
    """temperature, top_k and top_p for ``logits`` (B, V), including the "off" values.

    top_p stays 1e-3 away from the cumulative probabilities it is compared with: exact
    boundaries, where rounding picks the crossing token, are not graded.
    """
    from hypothesis import assume

    vocab = logits.shape[-1]
    temperature = draw(st.floats(min_temperature, max_temperature))
    k = draw(st.one_of(st.none(), st.just(0), st.integers(1, vocab + 2))) if top_k else None
    p = draw(st.one_of(st.none(), st.just(1.0), st.just(0.0), st.floats(0.05, 0.95))) if top_p else None
    assume(top_p_margin(logits, temperature, k, p) > 1e-3)
    return {"temperature": temperature, "top_k": k, "top_p": p}


@st.composite
def filter_logits_inputs(draw: st.DrawFn, *, min_temperature: float = 0.25, max_temperature: float = 4.0, top_k: bool = True, top_p: bool = True) -> dict[str, Any]:
    """logits (B, V) with distinct entries, and sampling settings (see ``sampling_settings``)."""
    b, vocab, dtype, seed = draw(dims(1, 4)), draw(dims(2, 8)), draw(float_dtypes()), draw(seeds())
    logits = make_tensor((b, vocab), dtype, seed, scale=2.0)
    settings = draw(sampling_settings(logits, min_temperature=min_temperature, max_temperature=max_temperature, top_k=top_k, top_p=top_p))
    return {"logits": logits, **settings}


@st.composite
def decode_inputs(draw: st.DrawFn, *, min_new: int = 0, max_new: int = 6, max_vocab: int = 6) -> dict[str, Any]:
    """A ``fixtures.PrefixLM`` (float32 or float64 logits), prompts (B, L) int64, max_new_tokens."""
    from grader import fixtures

    vocab, b, length = draw(dims(2, max_vocab)), draw(dims(1, 4)), draw(dims(1, 5))
    dtype, seed = draw(float_dtypes()), draw(seeds())
    return {
        "model": fixtures.PrefixLM(vocab, seed, dtype),
        "input_ids": token_ids((b, length), vocab, seed + 1),
        "max_new_tokens": draw(st.integers(min_new, max_new)),
    }


def mlm_batch(shape: tuple[int, int], vocab_size: int, mask_token_id: int, seed: int, *, special_rate: float = 0.2) -> tuple[torch.Tensor, torch.Tensor]:
    """Token ids other than [MASK] (as in real text) and a bool special-tokens mask (True =
    special): column 0 is special ([CLS]), other positions with probability ``special_rate``."""
    ids = token_ids(shape, vocab_size, seed, exclude=mask_token_id)
    special = torch.rand(shape, generator=generator(seed + 1)) < special_rate
    special[:, 0] = True
    return ids, special


@st.composite
def mlm_inputs(draw: st.DrawFn, *, max_length: int = 8) -> dict[str, Any]:
    """input_ids and special_tokens_mask (B, L), vocab_size, mask_token_id < vocab_size (as in
    BERT), and a seed for the generator."""
    b, length = draw(dims(1, 4)), draw(dims(1, max_length))
    vocab = draw(st.integers(3, 30))
    mask_id, seed = draw(st.integers(0, vocab - 1)), draw(seeds())
    ids, special = mlm_batch((b, length), vocab, mask_id, seed)
    return {"input_ids": ids, "mask_token_id": mask_id, "vocab_size": vocab, "special_tokens_mask": special, "seed": seed + 2}


MASK_DTYPES = (torch.int64, torch.bool, torch.float32)


@st.composite
def soft_prompt_inputs(draw: st.DrawFn, *, with_labels: bool | None = None) -> dict[str, Any]:
    """input_embeds (B, L, E), a right-padded attention_mask (B, L) of a drawn dtype,
    soft_prompt (n, E) and labels (B, L) int64 with -100 on padding, or None."""
    b, length, emb, n = draw(dims(1, 4)), draw(dims(1, 6)), draw(dims(1, 6)), draw(dims(1, 4))
    dtype, mask_dtype, seed = draw(float_dtypes()), draw(st.sampled_from(MASK_DTYPES)), draw(seeds())
    lengths = torch.randint(1, length + 1, (b,), generator=generator(seed + 2))
    mask = torch.arange(length) < lengths[:, None]  # (B, L): True on real tokens
    use_labels = draw(st.booleans()) if with_labels is None else with_labels
    return {
        "input_embeds": make_tensor((b, length, emb), dtype, seed),
        "attention_mask": mask.to(mask_dtype),
        "soft_prompt": make_tensor((n, emb), dtype, seed + 1),
        "labels": token_ids((b, length), 50, seed + 3).masked_fill(~mask, -100) if use_labels else None,
    }


@st.composite
def large_logit_lm_inputs(draw: st.DrawFn) -> dict[str, Any]:
    """logits (B, L, V) = 2^e·{−2..2} + {0..3} (e ∈ {7, 10, 13}: magnitudes 1e2–1e4, gaps so large
    that some targets have probability ~e^−1000) and labels (B, L) without ignored targets;
    integers, so the logits are exact in float32 and float64."""
    from grader.properties.stability import int_tensor

    b, length, vocab = draw(dims(1, 2)), draw(dims(2, 3)), draw(dims(2, 4))
    dtype, seed = draw(float_dtypes()), draw(seeds())
    scale = 2.0 ** draw(st.sampled_from((7, 10, 13)))
    logits = scale * int_tensor((b, length, vocab), dtype, seed, -2, 2) + int_tensor((b, length, vocab), dtype, seed + 1, 0, 3)
    return {"logits": logits, "labels": token_ids((b, length), vocab, seed + 2)}


@st.composite
def large_logit_top_p_inputs(draw: st.DrawFn) -> dict[str, Any]:
    """logits (B, V) = ±2^e − (distinct integers in 0..6) (magnitudes 1e2–1e4, probabilities of
    order 1, no ties: which of two equal logits top-p keeps is a choice of order) and a top_p
    away from every cumulative probability (rounding does not pick the crossing token)."""
    from hypothesis import assume

    b, vocab = draw(dims(1, 2)), draw(dims(2, 6))
    dtype, seed = draw(float_dtypes()), draw(seeds())
    offset = draw(st.sampled_from((1.0, -1.0))) * 2.0 ** draw(st.sampled_from((7, 10, 13)))
    g = generator(seed)
    logits = offset - torch.stack([torch.randperm(7, generator=g)[:vocab] for _ in range(b)]).to(dtype)
    top_p = draw(st.sampled_from((0.3, 0.6, 0.9)))
    assume(top_p_margin(logits, 1.0, None, top_p) > 1e-3)
    return {"logits": logits, "temperature": 1.0, "top_k": None, "top_p": top_p}


@st.composite
def completion_inputs(draw: st.DrawFn, *, ignore_index: bool = False) -> dict[str, Any]:
    """input_ids (B, L) int64 with pad id 0 on padding, a right-padded attention_mask (B, L), int64
    or bool, prompt_lengths (B,) int64 from 0 to each row's number of real tokens; ignore_index
    -100 or (ignore_index=True) one of -1, 0 and 7 (an id that also occurs as a token)."""
    b, length, seed = draw(dims(1, 4)), draw(dims(1, 8)), draw(seeds())
    g = generator(seed + 1)
    real = torch.randint(1, length + 1, (b,), generator=g)  # at least one real token per row
    mask = torch.arange(length) < real[:, None]  # (B, L): True on real tokens, padding on the right
    prompt_lengths = (torch.rand(b, generator=g, dtype=torch.float64) * (real + 1)).long().clamp(max=real)
    return {
        "input_ids": token_ids((b, length), 50, seed).masked_fill(~mask, 0),
        "attention_mask": mask.to(draw(st.sampled_from((torch.int64, torch.bool)))),
        "prompt_lengths": prompt_lengths,
        "ignore_index": draw(st.sampled_from((-1, 0, 7))) if ignore_index else -100,
    }


@st.composite
def large_logit_sample_inputs(draw: st.DrawFn) -> dict[str, Any]:
    """One row of logits (1, V) = ±2^e − (distinct integers in 0..6) (magnitudes 1e2–1e4,
    probabilities of order 1), a temperature of 0.5, 1 or 2 (exact), and top_p off or away
    from every cumulative probability."""
    from hypothesis import assume

    vocab, dtype, seed = draw(dims(2, 6)), draw(float_dtypes()), draw(seeds())
    offset = draw(st.sampled_from((1.0, -1.0))) * 2.0 ** draw(st.sampled_from((7, 10, 13)))
    logits = offset - torch.randperm(7, generator=generator(seed))[:vocab].to(dtype)[None, :]
    temperature = draw(st.sampled_from((1.0, 0.5, 2.0)))
    top_p = draw(st.sampled_from((None, 0.3, 0.6, 0.9)))
    assume(top_p_margin(logits, temperature, None, top_p) > 1e-3)
    return {"logits": logits, "temperature": temperature, "top_k": None, "top_p": top_p}
