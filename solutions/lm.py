"""Reference solutions: lm — language-model training and generation (q73–q76, q81, q82)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def causal_lm_loss(logits: Tensor, labels: Tensor, ignore_index: int = -100) -> Tensor:
    """Next-token cross-entropy of a causal LM (q73, q76).

    logits: (B, L, V), labels: (B, L) int64 (usually the input ids themselves). Position t
    predicts token t + 1: CE(logits[:, :-1], labels[:, 1:]), averaged over every target token
    of the batch whose label is not ``ignore_index`` (Hugging Face ``ForCausalLMLoss``).
    Returns a 0-d tensor in the logits' dtype.
    """
    vocab = logits.shape[-1]
    shift_logits = logits[:, :-1, :]  # (B, L-1, V): the last position has nothing to predict
    shift_labels = labels[:, 1:]  # (B, L-1): the first token is never a target
    # One flat list of tokens: reduction="mean" with ignore_index divides by the number of
    # non-ignored targets in the whole batch, so a long row weighs more than a short one.
    return F.cross_entropy(shift_logits.reshape(-1, vocab), shift_labels.reshape(-1), ignore_index=ignore_index)


def filter_logits(logits: Tensor, temperature: float = 1.0, top_k: int | None = None, top_p: float | None = None) -> Tensor:
    """Temperature, then top-k, then top-p (nucleus) filtering, as in Hugging Face (q73).

    logits: (B, V). Divide by ``temperature``; top-k keeps every logit ≥ the k-th largest
    (ties kept); top-p keeps the smallest set of most likely tokens whose probability reaches
    ``top_p`` (the token that crosses it is kept), and always the most likely one. Removed
    logits become -inf. ``top_k`` None/0 and ``top_p`` None/1.0 filter nothing.
    """
    logits = logits / temperature  # (B, V)
    if top_k:  # None and 0 both mean "no top-k"
        k = min(top_k, logits.shape[-1])  # top_k ≥ V keeps everything
        kth_largest = torch.topk(logits, k, dim=-1).values[..., -1:]  # (B, 1)
        # Compare with the k-th value, not the k indices topk returned: ties with it survive.
        logits = logits.masked_fill(logits < kth_largest, float("-inf"))
    if top_p is not None and top_p < 1.0:
        sorted_logits, order = torch.sort(logits, dim=-1, descending=True)  # (B, V) each
        probs = sorted_logits.softmax(dim=-1)  # after top-k: the survivors' renormalised probabilities
        mass_before = probs.cumsum(dim=-1) - probs  # (B, V): probability of the tokens ranked above
        # A token stays while the mass above it is still short of top_p: the token that
        # crosses the threshold is kept, and the most likely token (mass 0 above) always is.
        remove_sorted = mass_before >= top_p
        remove_sorted[..., 0] = False  # top_p = 0 keeps the argmax
        remove = remove_sorted.scatter(-1, order, remove_sorted)  # back to vocabulary order
        logits = logits.masked_fill(remove, float("-inf"))
    return logits


def sample_next_token(logits: Tensor, generator: torch.Generator, temperature: float = 1.0, top_k: int | None = None, top_p: float | None = None) -> Tensor:
    """One token id per row from softmax(filter_logits(logits, ...)) (q73).

    logits: (B, V); draws with ``generator`` only. Returns (B,) int64.
    """
    probs = torch.softmax(filter_logits(logits, temperature, top_k, top_p), dim=-1)  # (B, V), 0 where filtered
    return torch.multinomial(probs, num_samples=1, generator=generator).squeeze(-1)  # (B, 1) -> (B,)


@torch.no_grad()  # decoding needs no gradients: do not keep every step's graph alive
def greedy_decode(model: nn.Module, input_ids: Tensor, max_new_tokens: int, eos_token_id: int | None = None) -> Tensor:
    """Greedy decoding: append argmax of model(ids)[:, -1] up to ``max_new_tokens`` times (q73, q76).

    model: (B, L) int64 ids -> (B, L, V) logits. A row that has generated ``eos_token_id`` is
    finished and keeps appending it (an EOS in the prompt does not count); the loop stops
    early once every row has finished. Returns (B, L + n) int64, n ≤ max_new_tokens.
    """
    ids = input_ids
    finished = torch.zeros(ids.shape[0], dtype=torch.bool, device=ids.device)  # (B,): prompts never count
    for _ in range(max_new_tokens):
        next_token = model(ids)[:, -1].argmax(dim=-1)  # (B,): the whole prefix goes in, the last position decides
        if eos_token_id is not None:
            next_token = next_token.masked_fill(finished, eos_token_id)  # finished rows are padded with EOS
            finished = finished | (next_token == eos_token_id)
        ids = torch.cat([ids, next_token[:, None]], dim=1)  # (B, L + t + 1)
        if eos_token_id is not None and bool(finished.all()):
            break
    return ids


def mask_tokens(input_ids: Tensor, mask_token_id: int, vocab_size: int, special_tokens_mask: Tensor, generator: torch.Generator, mlm_probability: float = 0.15) -> tuple[Tensor, Tensor]:
    """BERT masking as in Hugging Face ``DataCollatorForLanguageModeling`` (q74, q75).

    input_ids, special_tokens_mask: (B, L), the mask True = special token (never selected).
    Each non-special token is selected with probability ``mlm_probability``; a selected token
    becomes ``mask_token_id`` with probability 0.8, else a uniform random id in
    [0, vocab_size) with probability 0.5, else stays. Returns new (inputs, labels): labels
    hold the original id at selected positions and -100 elsewhere.
    """
    shape, device = input_ids.shape, input_ids.device
    # Same order of draws as Hugging Face: selection, [MASK], random, random ids.
    select_prob = torch.full(shape, mlm_probability, device=device).masked_fill(special_tokens_mask.bool(), 0.0)
    selected = torch.bernoulli(select_prob, generator=generator).bool()  # (B, L)
    labels = input_ids.masked_fill(~selected, -100)  # the loss only looks at selected positions

    to_mask = torch.bernoulli(torch.full(shape, 0.8, device=device), generator=generator).bool() & selected
    # Half of the remaining 20 % (so 10 % of the selected) get a random id; the rest stay.
    to_random = torch.bernoulli(torch.full(shape, 0.5, device=device), generator=generator).bool() & selected & ~to_mask
    random_ids = torch.randint(vocab_size, shape, generator=generator, device=device, dtype=input_ids.dtype)

    inputs = input_ids.masked_fill(to_mask, mask_token_id)  # masked_fill returns a new tensor
    inputs = torch.where(to_random, random_ids, inputs)
    return inputs, labels


def prepend_soft_prompt(input_embeds: Tensor, attention_mask: Tensor, soft_prompt: Tensor, labels: Tensor | None = None) -> tuple[Tensor, Tensor, Tensor | None]:
    """Prompt tuning as in PEFT: n trainable vectors go in front of every row (q81).

    input_embeds: (B, L, E), attention_mask: (B, L), soft_prompt: (n, E), labels: (B, L) or
    None. Returns (embeds (B, n+L, E) in input_embeds' dtype, mask (B, n+L) in the mask's
    dtype with ones on the prompt, labels (B, n+L) with -100 on the prompt, or None).
    """
    batch, n = input_embeds.shape[0], soft_prompt.shape[0]
    # expand, not repeat: one shared prompt, so every row's gradient adds up in soft_prompt.
    prompt = soft_prompt.to(input_embeds.dtype).unsqueeze(0).expand(batch, -1, -1)  # (B, n, E)
    embeds = torch.cat([prompt, input_embeds], dim=1)  # (B, n+L, E)
    ones = torch.ones(batch, n, dtype=attention_mask.dtype, device=attention_mask.device)  # the prompt is always attended to
    mask = torch.cat([ones, attention_mask], dim=1)  # (B, n+L)
    if labels is not None:
        ignored = torch.full((batch, n), -100, dtype=labels.dtype, device=labels.device)  # no target for virtual tokens
        labels = torch.cat([ignored, labels], dim=1)  # (B, n+L)
    return embeds, mask, labels


def completion_only_labels(input_ids: Tensor, attention_mask: Tensor, prompt_lengths: Tensor, ignore_index: int = -100) -> Tensor:
    """Labels for instruction tuning: the loss on the response only (q82), as TRL's completion-only loss.

    input_ids: (B, L) int64, right-padded; attention_mask: (B, L) int or bool; prompt_lengths:
    (B,) int64. A new (B, L) int64 copy of input_ids with ignore_index on each row's first
    prompt_lengths[b] positions and on padding (attention_mask == 0). Not shifted.
    """
    positions = torch.arange(input_ids.shape[1], device=input_ids.device)  # (L,)
    in_prompt = positions < prompt_lengths.unsqueeze(1)  # (B, L): rows are right-padded, so the prompt starts at 0
    padding = attention_mask == 0  # (B, L): works for int and bool masks alike
    # masked_fill returns a new tensor: input_ids is untouched. No shift here: the causal LM
    # loss compares logits[:, :-1] with labels[:, 1:] itself.
    return input_ids.masked_fill(in_prompt | padding, ignore_index)
