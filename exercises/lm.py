"""Exercises: lm — language-model training and generation (q73–q76, q81, q82).

Implement each function below, then run `grade lm` (or `grade q73`).
Conventions: batch first; ids and labels are int64; -100 is the "no loss here" label (as in
PyTorch's cross_entropy and Hugging Face). Randomness comes only from the `generator`
argument: never from torch's global random state.
"""

from __future__ import annotations

import torch  # you will need it
import torch.nn.functional as F  # you will need it
from torch import Tensor, nn


def causal_lm_loss(logits: Tensor, labels: Tensor, ignore_index: int = -100) -> Tensor:
    """Next-token cross-entropy of a causal LM (q73, q76).

    logits: (B, L, V), labels: (B, L) int64 (usually the input ids themselves). Position t
    predicts token t + 1, so the loss is CE(logits[:, :-1], labels[:, 1:]), averaged over
    every target token of the batch whose label is not ``ignore_index`` — a mean over
    tokens, not over sequences (Hugging Face ``ForCausalLMLoss``).
    Returns a 0-d tensor in the logits' dtype, differentiable in the logits.
    Question: why does the model's last position get no loss, and the first label none?
    """
    # TODO(q73): shift logits and labels by one, then a token-level mean cross-entropy.
    raise NotImplementedError("lm.causal_lm_loss")


def filter_logits(logits: Tensor, temperature: float = 1.0, top_k: int | None = None, top_p: float | None = None) -> Tensor:
    """Temperature, then top-k, then top-p (nucleus) filtering, as in Hugging Face (q73).

    logits: (B, V) -> (B, V) in the logits' dtype.
    1. Divide by ``temperature`` (> 0).
    2. top-k: keep every logit ≥ the k-th largest of its row (ties with it are kept);
       ``top_k`` None or 0 keeps all, ``top_k ≥ V`` keeps all.
    3. top-p on the softmax of what is left: keep the smallest set of most likely tokens
       whose probability reaches ``top_p`` — the token that crosses the threshold is kept —
       and always at least the most likely token (``top_p = 0`` keeps the argmax);
       ``top_p`` None or 1.0 keeps all.
    Removed logits become -inf; kept ones equal logits / temperature.
    Question: why does a low temperature make sampling closer to greedy decoding?
    """
    # TODO(q73): scale, then mask with -inf what top-k and top-p remove.
    raise NotImplementedError("lm.filter_logits")


def sample_next_token(logits: Tensor, generator: torch.Generator, temperature: float = 1.0, top_k: int | None = None, top_p: float | None = None) -> Tensor:
    """Draw one vocabulary id per row from softmax(filter_logits(logits, ...)) (q73).

    logits: (B, V); every random number comes from ``generator``. Returns (B,) int64.
    Graded by what it draws (never a filtered token, the right frequencies), not by the
    exact random stream.
    """
    # TODO(q73): filter, softmax, draw with the generator.
    raise NotImplementedError("lm.sample_next_token")


def greedy_decode(model: nn.Module, input_ids: Tensor, max_new_tokens: int, eos_token_id: int | None = None) -> Tensor:
    """Greedy decoding (q73, q76).

    model: maps ids (B, L) int64 to logits (B, L, V); input_ids: (B, L) int64.
    Repeat up to ``max_new_tokens`` times: append argmax of model(ids)[:, -1] to every row
    (feed the whole sequence each time). A row that has generated ``eos_token_id`` is
    finished and from then on appends ``eos_token_id``; an EOS already in the prompt does
    not count. Stop early as soon as every row has finished. ``max_new_tokens = 0``
    returns the input. Returns (B, L + n) int64 with n ≤ max_new_tokens.
    Question: why must a causal LM be run again after every new token?
    """
    # TODO(q73): loop: model, last position, argmax, EOS bookkeeping, concatenate.
    raise NotImplementedError("lm.greedy_decode")


def mask_tokens(input_ids: Tensor, mask_token_id: int, vocab_size: int, special_tokens_mask: Tensor, generator: torch.Generator, mlm_probability: float = 0.15) -> tuple[Tensor, Tensor]:
    """BERT's masked-language-modeling corruption, as Hugging Face's
    ``DataCollatorForLanguageModeling`` does it (q74, q75).

    input_ids: (B, L) int64; special_tokens_mask: (B, L) bool, True = special token
    ([CLS], [SEP], padding), which is never selected.
    Select each non-special token with probability ``mlm_probability``. Of the selected
    tokens, 80 % become ``mask_token_id``, 10 % a uniform random id in [0, vocab_size),
    10 % stay unchanged. Returns new tensors (inputs, labels), both (B, L) int64: labels
    hold the original id at selected positions and -100 everywhere else.
    ``input_ids`` itself must not change. Draw only with ``generator``.
    Question: why not replace every selected token by [MASK]?
    """
    # TODO(q74): select, build labels, then the 80/10/10 replacement on copies.
    raise NotImplementedError("lm.mask_tokens")


def prepend_soft_prompt(input_embeds: Tensor, attention_mask: Tensor, soft_prompt: Tensor, labels: Tensor | None = None) -> tuple[Tensor, Tensor, Tensor | None]:
    """Prompt tuning as in PEFT: n trainable vectors in front of every row (q81).

    input_embeds: (B, L, E); attention_mask: (B, L) of any dtype; soft_prompt: (n, E);
    labels: (B, L) int64 or None. Returns (embeds, mask, labels):
    embeds (B, n+L, E) in input_embeds' dtype, the prompt first; mask (B, n+L) in the mask's
    dtype, ones on the prompt; labels (B, n+L) with -100 on the prompt, or None when no
    labels were given. Gradients must reach ``soft_prompt`` (the only trained tensor).
    Question: what is trained in prompt tuning, and what stays frozen?
    """
    # TODO(q81): concatenate along the sequence axis: embeddings, mask and labels.
    raise NotImplementedError("lm.prepend_soft_prompt")


def completion_only_labels(input_ids: Tensor, attention_mask: Tensor, prompt_lengths: Tensor, ignore_index: int = -100) -> Tensor:
    """Labels for instruction tuning: the loss on the response only (q82), as TRL's completion-only loss.

    input_ids: (B, L) int64, right-padded rows; attention_mask: (B, L) int or bool, 0 on
    padding; prompt_lengths: (B,) int64, each no longer than its row's real tokens.
    Returns a new (B, L) int64 copy of input_ids with ignore_index at each row's first
    prompt_lengths[b] positions (the instruction) and wherever attention_mask is 0 (padding).
    Do not shift the labels (the loss shifts them) and do not modify the inputs.
    Question (q82): why is the loss taken on the response and not on the instruction?
    """
    # TODO(q82): a (B, L) mask of prompt positions, or-ed with padding, filled with ignore_index.
    raise NotImplementedError("lm.completion_only_labels")
