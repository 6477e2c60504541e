"""Properties of the lm exercises: causal LM loss, sampling, decoding, BERT masking and
prompt tuning, completion-only labels (q73–q76, q81, q82).

One module per exercise (registered in import order, the catalog's order); helpers used by
several exercises in ``_shared``, this topic's Hypothesis strategies in ``strategies``.
"""

from __future__ import annotations

# Importing an exercise's module registers it: the catalog's order, which isort must not change.
# isort: off
from grader.properties.lm import causal_lm_loss, filter_logits, sample_next_token, greedy_decode, mask_tokens, prepend_soft_prompt, completion_only_labels  # noqa: F401
# isort: on
from grader.properties.lm._shared import _filter_variant
from grader.properties.lm.causal_lm_loss import _loss_ignored_in_denominator, _loss_mean_over_sequences, _loss_no_shift, _loss_shift_reversed
from grader.properties.lm.completion_only_labels import (
    _labels_first_response_ignored,
    _labels_inverted,
    _labels_left_padding,
    _labels_padding_kept,
    _labels_pre_shifted,
    _labels_with,
)
from grader.properties.lm.filter_logits import _filter_crossing_dropped, _filter_temperature_last, _filter_temperature_multiplied, _filter_topk_indices
from grader.properties.lm.greedy_decode import (
    _decode_eos_in_prompt_counts,
    _decode_last_token_only,
    _decode_no_early_stop,
    _decode_no_padding,
    _decode_total_length,
    _decode_variant,
)
from grader.properties.lm.mask_tokens import _mlm_labels_after_masking, _mlm_labels_all, _mlm_random_too_rare, _mlm_specials_selectable, _mlm_variant
from grader.properties.lm.prepend_soft_prompt import _soft_prompt_appended, _soft_prompt_labels_not_extended, _soft_prompt_mask_zeros, _soft_prompt_variant
from grader.properties.lm.sample_next_token import _sample_greedy, _sample_keeps_sample_dim, _sample_unfiltered

__all__ = ["_decode_eos_in_prompt_counts", "_decode_last_token_only", "_decode_no_early_stop", "_decode_no_padding", "_decode_total_length", "_decode_variant", "_filter_crossing_dropped", "_filter_temperature_last", "_filter_temperature_multiplied", "_filter_topk_indices", "_filter_variant", "_labels_first_response_ignored", "_labels_inverted", "_labels_left_padding", "_labels_padding_kept", "_labels_pre_shifted", "_labels_with", "_loss_ignored_in_denominator", "_loss_mean_over_sequences", "_loss_no_shift", "_loss_shift_reversed", "_mlm_labels_after_masking", "_mlm_labels_all", "_mlm_random_too_rare", "_mlm_specials_selectable", "_mlm_variant", "_sample_greedy", "_sample_keeps_sample_dim", "_sample_unfiltered", "_soft_prompt_appended", "_soft_prompt_labels_not_extended", "_soft_prompt_mask_zeros", "_soft_prompt_variant"]
