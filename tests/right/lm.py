"""Correct lm implementations that must get full marks: Hugging Face's ForCausalLMLoss and its
temperature / top-k / top-p logits warpers, ported into the exercise signatures."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def causal_lm_loss_hf(logits, labels, ignore_index=-100):
    """transformers.loss.loss_utils.ForCausalLMLoss (num_items_in_batch=None), without its float32
    upcast (the catalog keeps the logits' dtype): pad the labels, shift them, keep all logits."""
    vocab_size = logits.shape[-1]
    labels = F.pad(labels, (0, 1), value=ignore_index)
    shift_labels = labels[..., 1:].contiguous()
    return F.cross_entropy(logits.reshape(-1, vocab_size), shift_labels.view(-1), ignore_index=ignore_index, reduction="mean")


def causal_lm_loss_logsumexp(logits, labels, ignore_index=-100):
    """A closed form: logsumexp minus the target logit, averaged over the kept targets."""
    lg, lb = logits[:, :-1], labels[:, 1:]
    keep = lb != ignore_index
    target = lg.gather(-1, lb.masked_fill(~keep, 0).unsqueeze(-1)).squeeze(-1)
    nll = torch.logsumexp(lg, dim=-1) - target
    return (nll * keep).sum() / keep.sum()


def filter_logits_hf(logits, temperature=1.0, top_k=None, top_p=None):
    """TemperatureLogitsWarper, TopKLogitsWarper and TopPLogitsWarper (min_tokens_to_keep=1)."""
    scores = logits / temperature
    if top_k:
        top_k = min(max(top_k, 1), scores.size(-1))
        indices_to_remove = scores < torch.topk(scores, top_k)[0][..., -1, None]
        scores = scores.masked_fill(indices_to_remove, -float("Inf"))
    if top_p is not None and top_p < 1.0:
        sorted_logits, sorted_indices = torch.sort(scores, descending=False)
        cumulative_probs = sorted_logits.softmax(dim=-1).cumsum(dim=-1)
        sorted_indices_to_remove = cumulative_probs <= (1 - top_p)
        sorted_indices_to_remove[..., -1:] = 0
        indices_to_remove = sorted_indices_to_remove.scatter(1, sorted_indices, sorted_indices_to_remove)
        scores = scores.masked_fill(indices_to_remove, -float("Inf"))
    return scores


MUST_PASS = [
    ("lm.causal_lm_loss", causal_lm_loss_hf),
    ("lm.causal_lm_loss", causal_lm_loss_logsumexp),
    ("lm.filter_logits", filter_logits_hf),
]
