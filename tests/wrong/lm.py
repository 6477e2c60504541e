"""Wrong implementations of the lm exercises: one per property (CAUGHT_BY)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from grader.properties import lm as props
from grader.properties.lm.causal_lm_loss import _loss_log_of_softmax
from grader.properties.lm.filter_logits import _filter_unstable_softmax
from grader.properties.lm.sample_next_token import _sample_top_p_naive

# ----------------------------------------------------------------------------- causal_lm_loss


def loss_hardcoded_ignore_index(logits, labels, ignore_index=-100):
    """Ignores the ignore_index argument: -100 is hard-coded."""
    return F.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]), labels[:, 1:].reshape(-1), ignore_index=-100)


def loss_float32_internally(logits, labels, ignore_index=-100):
    """Upcasts to float like Hugging Face's ForCausalLMLoss, which downcasts float64."""
    return F.cross_entropy(logits[:, :-1].float().reshape(-1, logits.shape[-1]), labels[:, 1:].reshape(-1), ignore_index=ignore_index)


def loss_sum(logits, labels, ignore_index=-100):
    """Sums the token losses instead of averaging them."""
    return F.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]), labels[:, 1:].reshape(-1), ignore_index=ignore_index, reduction="sum")


def loss_no_gradient(logits, labels, ignore_index=-100):
    """Right value, but computed without autograd: the gradient is zero."""
    with torch.no_grad():
        value = F.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]), labels[:, 1:].reshape(-1), ignore_index=ignore_index)
    return value + 0 * logits.sum()


# ----------------------------------------------------------------------------- filter_logits


def filter_zero_k_is_literal(logits, temperature=1.0, top_k=None, top_p=None):
    """Treats top_k = 0 as 'keep 0 tokens' (`if top_k is not None`): topk(…, 0) fails."""
    logits = logits / temperature
    if top_k is not None:
        kth = torch.topk(logits, min(top_k, logits.shape[-1]), dim=-1).values[..., -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    return props._filter_variant(logits, 1.0, None, top_p)


def filter_top_k_off_by_one(logits, temperature=1.0, top_k=None, top_p=None):
    """Keeps the k + 1 largest logits."""
    if top_k:
        top_k = top_k + 1
    return props._filter_variant(logits, temperature, top_k, top_p)


def filter_no_minimum_token(logits, temperature=1.0, top_k=None, top_p=None):
    """Right top-p rule, but forgets to always keep the most likely token."""
    logits = props._filter_variant(logits, temperature, top_k, None)
    if top_p is not None and top_p < 1.0:
        sorted_logits, order = torch.sort(logits, dim=-1, descending=True)
        probs = sorted_logits.softmax(dim=-1)
        remove = (probs.cumsum(dim=-1) - probs) >= top_p
        logits = logits.masked_fill(remove.scatter(-1, order, remove), float("-inf"))
    return logits


def filter_in_float64(logits, temperature=1.0, top_k=None, top_p=None):
    """Computes in float64 and returns float64 for float32 logits."""
    return props._filter_variant(logits.double(), temperature, top_k, top_p)


# ----------------------------------------------------------------------------- sample_next_token


def sample_global_rng(logits, generator, temperature=1.0, top_k=None, top_p=None):
    """Draws from torch's global random state instead of the generator."""
    return torch.multinomial(torch.softmax(props._filter_variant(logits, temperature, top_k, top_p), dim=-1), 1).squeeze(-1)


def sample_temperature_multiplied(logits, generator, temperature=1.0, top_k=None, top_p=None):
    """Samples from logits multiplied by the temperature."""
    probs = torch.softmax(props._filter_temperature_multiplied(logits, temperature, top_k, top_p), dim=-1)
    return torch.multinomial(probs, 1, generator=generator).squeeze(-1)


# ----------------------------------------------------------------------------- greedy_decode


def decode_always_one_step(model, input_ids, max_new_tokens, eos_token_id=None):
    """A do-while loop: appends one token even when max_new_tokens = 0."""
    return props._decode_variant(model, input_ids, max(max_new_tokens, 1), eos_token_id)


# ----------------------------------------------------------------------------- mask_tokens


def mlm_in_place(input_ids, mask_token_id, vocab_size, special_tokens_mask, generator, mlm_probability=0.15):
    """Copies Hugging Face's torch_mask_tokens, which writes into the tensor it is given."""
    inputs, labels = props._mlm_variant(input_ids, mask_token_id, vocab_size, special_tokens_mask, generator, mlm_probability)
    input_ids.copy_(inputs)
    return input_ids, labels


def mlm_rate_times_0_8(input_ids, mask_token_id, vocab_size, special_tokens_mask, generator, mlm_probability=0.15):
    """Confuses the 15 % with the 80 %: selects with probability 0.8·p."""
    return props._mlm_variant(input_ids, mask_token_id, vocab_size, special_tokens_mask, generator, 0.8 * mlm_probability)


def mlm_global_rng(input_ids, mask_token_id, vocab_size, special_tokens_mask, generator, mlm_probability=0.15):
    """Draws from torch's global random state (Hugging Face's default generator=None)."""
    prob = torch.full(input_ids.shape, mlm_probability).masked_fill(special_tokens_mask, 0.0)
    selected = torch.bernoulli(prob).bool()
    to_mask = torch.bernoulli(torch.full(input_ids.shape, 0.8)).bool() & selected
    to_random = torch.bernoulli(torch.full(input_ids.shape, 0.5)).bool() & selected & ~to_mask
    inputs = torch.where(to_random, torch.randint(vocab_size, input_ids.shape), input_ids.masked_fill(to_mask, mask_token_id))
    return inputs, input_ids.masked_fill(~selected, -100)


# ----------------------------------------------------------------------------- prepend_soft_prompt


def soft_prompt_float_mask(input_embeds, attention_mask, soft_prompt, labels=None):
    """PEFT's own code: torch.ones(...) without a dtype makes the mask float32."""
    embeds, _, labels = props._soft_prompt_variant(input_embeds, attention_mask, soft_prompt, labels)
    ones = torch.ones(input_embeds.shape[0], soft_prompt.shape[0])
    return embeds, torch.cat([ones, attention_mask.to(ones.dtype)], dim=1), labels


def soft_prompt_detached(input_embeds, attention_mask, soft_prompt, labels=None):
    """Builds the prompt from soft_prompt.detach(): no gradient reaches it."""
    return props._soft_prompt_variant(input_embeds, attention_mask, soft_prompt.detach(), labels)


def soft_prompt_no_cast(input_embeds, attention_mask, soft_prompt, labels=None):
    """Concatenates without casting: torch.cat promotes float32 embeddings to float64."""
    embeds = torch.cat([soft_prompt.expand(input_embeds.shape[0], -1, -1), input_embeds], dim=1)
    _, mask, labels = props._soft_prompt_variant(input_embeds, attention_mask, soft_prompt, labels)
    return embeds, mask, labels


def labels_hardcoded_minus_100(input_ids, attention_mask, prompt_lengths, ignore_index=-100):
    """Ignores the ignore_index argument: always -100."""
    return props._labels_with(input_ids, attention_mask, prompt_lengths, -100)


def labels_in_place(input_ids, attention_mask, prompt_lengths, ignore_index=-100):
    """Right labels, written into input_ids itself (the caller's ids are destroyed)."""
    positions = torch.arange(input_ids.shape[1], device=input_ids.device)
    input_ids.masked_fill_((positions < prompt_lengths.unsqueeze(1)) | (attention_mask == 0), ignore_index)
    return input_ids


LOSS, FILTER, SAMPLE = "lm.causal_lm_loss", "lm.filter_logits", "lm.sample_next_token"
DECODE, MLM, SOFT = "lm.greedy_decode", "lm.mask_tokens", "lm.prepend_soft_prompt"
COMPLETION = "lm.completion_only_labels"
CAUGHT_BY = {
    (LOSS, "last_position_and_first_label_unused"): props._loss_no_shift,
    (LOSS, "perfect_predictor_has_zero_loss"): props._loss_shift_reversed,
    (LOSS, "mean_over_tokens"): props._loss_mean_over_sequences,
    (LOSS, "known_answer"): props._loss_ignored_in_denominator,
    (LOSS, "custom_ignore_index"): loss_hardcoded_ignore_index,
    (LOSS, "dtype_contract"): loss_float32_internally,
    (LOSS, "matches_reference"): loss_sum,
    (LOSS, "gradients_match"): loss_no_gradient,
    (FILTER, "no_filtering_when_off"): filter_zero_k_is_literal,
    (FILTER, "known_answer"): props._filter_temperature_last,
    (FILTER, "top_k_keeps_the_k_largest"): filter_top_k_off_by_one,
    (FILTER, "top_k_keeps_ties"): props._filter_topk_indices,
    (FILTER, "top_p_keeps_the_nucleus"): props._filter_crossing_dropped,
    (FILTER, "at_least_one_token_survives"): filter_no_minimum_token,
    (FILTER, "dtype_contract"): filter_in_float64,
    (FILTER, "matches_reference"): props._filter_temperature_multiplied,
    (SAMPLE, "draws_are_token_ids"): props._sample_keeps_sample_dim,
    (SAMPLE, "never_draws_a_filtered_token"): props._sample_unfiltered,
    (SAMPLE, "frequencies_follow_softmax"): props._sample_greedy,
    (SAMPLE, "uses_the_generator"): sample_global_rng,
    (SAMPLE, "follows_the_filtered_distribution"): sample_temperature_multiplied,
    (DECODE, "greedy_follows_the_model"): props._decode_last_token_only,
    (DECODE, "finished_rows_repeat_eos"): props._decode_no_padding,
    (DECODE, "stops_when_every_row_has_finished"): props._decode_no_early_stop,
    (DECODE, "eos_in_the_prompt_does_not_count"): props._decode_eos_in_prompt_counts,
    (DECODE, "zero_new_tokens_returns_the_input"): decode_always_one_step,
    (DECODE, "matches_reference"): props._decode_total_length,
    (MLM, "returns_ids_and_labels"): mlm_in_place,
    (MLM, "labels_mark_the_selected_tokens"): props._mlm_labels_after_masking,
    (MLM, "probability_zero_and_one"): props._mlm_specials_selectable,
    (MLM, "selection_rate"): mlm_rate_times_0_8,
    (MLM, "replacement_80_10_10"): props._mlm_random_too_rare,
    (MLM, "uses_the_generator"): mlm_global_rng,
    (MLM, "deterministic_cases_match_reference"): props._mlm_labels_all,
    (SOFT, "prompt_comes_first"): props._soft_prompt_appended,
    (SOFT, "mask_has_ones_on_the_prompt"): soft_prompt_float_mask,
    (SOFT, "labels_ignored_on_the_prompt"): props._soft_prompt_labels_not_extended,
    (SOFT, "gradients_reach_the_soft_prompt"): soft_prompt_detached,
    (SOFT, "dtype_contract"): soft_prompt_no_cast,
    (SOFT, "matches_reference"): props._soft_prompt_mask_zeros,
    (COMPLETION, "prompt_positions_ignored"): props._labels_left_padding,
    (COMPLETION, "padding_ignored"): props._labels_padding_kept,
    (COMPLETION, "response_tokens_kept"): props._labels_pre_shifted,
    (COMPLETION, "known_labels_for_any_ignore_index"): labels_hardcoded_minus_100,
    (COMPLETION, "dtype_contract"): labels_in_place,
    (COMPLETION, "matches_reference"): props._labels_first_response_ignored,
}


# ----------------------------------------------------------------------------- numerical stability


def loss_exp_over_sum(logits, labels, ignore_index=-100):
    """Cross-entropy with probabilities exp(x)/Σexp(x): overflows (nan) for logits of 1e3."""
    shifted = logits[:, :-1]
    e = shifted.exp()
    logp = (e / e.sum(dim=-1, keepdim=True)).log()
    return F.nll_loss(logp.reshape(-1, logits.shape[-1]), labels[:, 1:].reshape(-1), ignore_index=ignore_index)


def filter_top_p_naive_softmax(logits, temperature=1.0, top_k=None, top_p=None):
    """A student's top-p: sort, probabilities as exp/Σexp, remove after the crossing token."""
    logits = logits / temperature
    if top_k:
        kth = torch.topk(logits, min(top_k, logits.shape[-1])).values[..., -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if top_p is not None and top_p < 1.0:
        sorted_logits, idx = logits.sort(dim=-1, descending=True)
        probs = torch.exp(sorted_logits) / torch.exp(sorted_logits).sum(-1, keepdim=True)
        remove = probs.cumsum(-1) > top_p
        remove[..., 1:] = remove[..., :-1].clone()
        remove[..., 0] = False
        logits = logits.masked_fill(remove.scatter(-1, idx, remove), float("-inf"))
    return logits


def sample_exp_over_sum(logits, generator, temperature=1.0, top_k=None, top_p=None):
    """Probabilities exp(x)/Σexp(x) of the filtered logits: nan once exp overflows or underflows."""
    e = props._filter_variant(logits, temperature, top_k, top_p).exp()
    return torch.multinomial(e / e.sum(dim=-1, keepdim=True), 1, generator=generator).squeeze(-1)


def sample_multinomial_of_exp(logits, generator, temperature=1.0, top_k=None, top_p=None):
    """torch.multinomial on the unnormalised weights exp(x): inf, or all 0, for large logits."""
    return torch.multinomial(props._filter_variant(logits, temperature, top_k, top_p).exp(), 1, generator=generator).squeeze(-1)


CAUGHT_BY |= {
    (SAMPLE, "stable_for_large_logits"): sample_exp_over_sum,
    (LOSS, "stable_for_large_logits"): _loss_log_of_softmax,
    (FILTER, "top_p_stable_for_large_logits"): filter_top_p_naive_softmax,
}
STABILITY_WRONG = [
    (LOSS, "stable_for_large_logits", _loss_log_of_softmax),
    (LOSS, "stable_for_large_logits", loss_exp_over_sum),
    (FILTER, "top_p_stable_for_large_logits", filter_top_p_naive_softmax),
    (FILTER, "top_p_stable_for_large_logits", _filter_unstable_softmax),
    (SAMPLE, "stable_for_large_logits", sample_exp_over_sum),
    (SAMPLE, "stable_for_large_logits", sample_multinomial_of_exp),
    (SAMPLE, "stable_for_large_logits", _sample_top_p_naive),
]


# ==================================================================================================
# Device contracts (issue 17, item 2): wrong only on a GPU. Each runs right on the CPU; the
# follows_the_device property (grader/properties/device.py) catches it on a simulated CUDA device.
# DEVICE_VARIANTS lists further variants it must catch (tests/test_device_check.py).
# ==================================================================================================
from grader.reference import load_reference as _load_reference  # noqa: E402
from tests.harness import SOLUTIONS as _SOLUTIONS  # noqa: E402

_dref = _load_reference(_SOLUTIONS, "lm")


def lm_loss_labels_padded_on_default_device(logits, labels, ignore_index=-100):
    """Shifts the labels by padding with torch.full((B, 1), ignore_index) without device=."""
    pad = torch.full((labels.shape[0], 1), ignore_index, dtype=labels.dtype)
    shifted = torch.cat([labels[:, 1:], pad], dim=1)
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), shifted.reshape(-1), ignore_index=ignore_index)


def filter_fill_on_default_device(logits, temperature=1.0, top_k=None, top_p=None):
    """torch.where(keep, logits, torch.full(shape, -inf)) with the fill on the default device."""
    kept = _dref.filter_logits(logits, temperature, top_k, top_p)
    return torch.where(kept > float("-inf"), kept, torch.full(kept.shape, float("-inf"), dtype=kept.dtype))


def sample_uniforms_on_default_device(logits, generator, temperature=1.0, top_k=None, top_p=None):
    """Inverse-CDF sampling with torch.rand(..., generator=generator) on the default device."""
    probs = torch.softmax(_dref.filter_logits(logits, temperature, top_k, top_p), dim=-1)
    u = torch.rand(probs.shape[0], 1, generator=generator, dtype=probs.dtype)
    return (probs.cumsum(dim=-1) < u).sum(dim=-1).clamp_max(probs.shape[-1] - 1)


def greedy_finished_on_default_device(model, input_ids, max_new_tokens, eos_token_id=None):
    """finished = torch.zeros(B, dtype=torch.bool) without device=."""
    ids, finished = input_ids, torch.zeros(input_ids.shape[0], dtype=torch.bool)
    for _ in range(max_new_tokens):
        nxt = model(ids)[:, -1].argmax(dim=-1)
        if eos_token_id is not None:
            nxt = nxt.masked_fill(finished, eos_token_id)
            finished = finished | (nxt == eos_token_id)
        ids = torch.cat([ids, nxt[:, None]], dim=1)
        if eos_token_id is not None and bool(finished.all()):
            break
    return ids


def mask_tokens_probabilities_on_default_device(input_ids, mask_token_id, vocab_size, special_tokens_mask, generator, mlm_probability=0.15):
    """torch.bernoulli(torch.full(shape, p), generator=generator): the probabilities on the default device."""
    shape = input_ids.shape
    selected = torch.bernoulli(torch.full(shape, mlm_probability), generator=generator).bool() & ~special_tokens_mask.bool()
    labels = input_ids.masked_fill(~selected, -100)
    to_mask = torch.bernoulli(torch.full(shape, 0.8), generator=generator).bool() & selected
    return input_ids.masked_fill(to_mask, mask_token_id), labels


def soft_prompt_mask_on_default_device(input_embeds, attention_mask, soft_prompt, labels=None):
    """The prompt's attention-mask ones built with torch.ones(B, n) without device=."""
    batch, n = input_embeds.shape[0], soft_prompt.shape[0]
    embeds = torch.cat([soft_prompt.to(input_embeds.dtype).unsqueeze(0).expand(batch, -1, -1), input_embeds], dim=1)
    mask = torch.cat([torch.ones(batch, n, dtype=attention_mask.dtype), attention_mask], dim=1)
    if labels is not None:
        labels = torch.cat([torch.full((batch, n), -100, dtype=labels.dtype), labels], dim=1)
    return embeds, mask, labels


CAUGHT_BY[("lm.causal_lm_loss", "follows_the_device")] = lm_loss_labels_padded_on_default_device
CAUGHT_BY[("lm.filter_logits", "follows_the_device")] = filter_fill_on_default_device
CAUGHT_BY[("lm.sample_next_token", "follows_the_device")] = sample_uniforms_on_default_device
CAUGHT_BY[("lm.greedy_decode", "follows_the_device")] = greedy_finished_on_default_device
CAUGHT_BY[("lm.mask_tokens", "follows_the_device")] = mask_tokens_probabilities_on_default_device
CAUGHT_BY[("lm.prepend_soft_prompt", "follows_the_device")] = soft_prompt_mask_on_default_device
DEVICE_VARIANTS = []


def completion_positions_on_default_device(input_ids, attention_mask, prompt_lengths, ignore_index=-100):
    """positions = torch.arange(L) without device=."""
    in_prompt = torch.arange(input_ids.shape[1]) < prompt_lengths.unsqueeze(1)
    return input_ids.masked_fill(in_prompt | (attention_mask == 0), ignore_index)


CAUGHT_BY[("lm.completion_only_labels", "follows_the_device")] = completion_positions_on_default_device
