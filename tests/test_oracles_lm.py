"""The lm reference solutions agree with independent implementations, in float64.

Oracles: a naive per-token loop and Hugging Face's ``ForCausalLMLoss`` (loss); Hugging Face's
logits warpers (filtering, and through them sampling); Hugging Face's greedy ``generate`` on a
tiny randomly initialised GPT-2 and a naive loop on the course's mock model (decoding);
Hugging Face's ``DataCollatorForLanguageModeling`` with a stand-in tokenizer (masking); a
naive per-row construction (prompt tuning: PEFT is not a dependency of the course); TRL's two
completion-only collators written out (completion-only labels: TRL is not a dependency either).
"""

from __future__ import annotations

import math

import pytest
import torch
from scipy import stats
from torch import nn
from transformers import DataCollatorForLanguageModeling, GPT2Config, GPT2LMHeadModel
from transformers.generation.logits_process import LogitsProcessorList, TemperatureLogitsWarper, TopKLogitsWarper, TopPLogitsWarper
from transformers.loss.loss_utils import ForCausalLMLoss

from grader import fixtures
from grader.properties.lm import strategies as gs
from grader.reference import load_reference
from tests.harness import SOLUTIONS

ref = load_reference(SOLUTIONS, "lm")
SEEDS = range(12)


# ----------------------------------------------------------------------------- causal_lm_loss


def _loss_inputs(seed: int, ignore_index: int = -100) -> tuple[torch.Tensor, torch.Tensor]:
    g = gs.generator(seed)
    b, length, vocab = (int(x) for x in torch.randint(2, 7, (3,), generator=g))
    logits = torch.randn(b, length, vocab, generator=g, dtype=torch.float64) * 2
    labels = torch.randint(vocab, (b, length), generator=g)
    labels[torch.rand(b, length, generator=g) < 0.3] = ignore_index
    labels[0, 1] = 0  # at least one target
    return logits, labels


def _naive_loss(logits: torch.Tensor, labels: torch.Tensor, ignore_index: int = -100) -> float:
    """Mean over targets of log Σ exp(logits) − logit of the next token, one token at a time."""
    total, count = 0.0, 0
    for b in range(labels.shape[0]):
        for t in range(labels.shape[1] - 1):
            target = int(labels[b, t + 1])
            if target == ignore_index:
                continue
            row = logits[b, t].tolist()
            top = max(row)
            total += top + math.log(sum(math.exp(x - top) for x in row)) - row[target]
            count += 1
    return total / count


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("ignore_index", [-100, -1])
def test_loss_matches_naive_loop(seed: int, ignore_index: int) -> None:
    logits, labels = _loss_inputs(seed, ignore_index)
    got = ref.causal_lm_loss(logits, labels, ignore_index=ignore_index)
    assert got.dtype == torch.float64 and got.dim() == 0
    assert float(got) == pytest.approx(_naive_loss(logits, labels, ignore_index), rel=1e-12)


@pytest.mark.parametrize("seed", SEEDS)
def test_loss_matches_hugging_face(seed: int) -> None:
    logits, labels = _loss_inputs(seed)
    # ForCausalLMLoss computes in float32 (it calls logits.float()), hence the tolerance.
    expected = ForCausalLMLoss(logits, labels, vocab_size=logits.shape[-1])
    assert float(ref.causal_lm_loss(logits, labels)) == pytest.approx(float(expected), rel=1e-5)
    got32 = ref.causal_lm_loss(logits.float(), labels)
    assert got32.dtype == torch.float32
    torch.testing.assert_close(got32, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("seed", SEEDS)
def test_loss_gradient_is_softmax_minus_one_hot(seed: int) -> None:
    logits, labels = _loss_inputs(seed)
    leaf = logits.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(ref.causal_lm_loss(leaf, labels), leaf)
    targets = labels[:, 1:]
    keep = targets != -100
    expected = torch.zeros_like(logits)  # last position and ignored targets get nothing
    one_hot = torch.nn.functional.one_hot(targets.clamp(min=0), logits.shape[-1]).double()
    expected[:, :-1] = (logits[:, :-1].softmax(-1) - one_hot) * keep[..., None] / keep.sum()
    torch.testing.assert_close(grad, expected, rtol=1e-10, atol=1e-12)


# ----------------------------------------------------------------------------- filter_logits


def _hf_filter(logits: torch.Tensor, temperature: float, top_k: int | None, top_p: float | None) -> torch.Tensor:
    """Hugging Face's warpers in the order `generate` builds them (temperature, top-k, top-p)."""
    warpers = LogitsProcessorList()
    if temperature != 1.0:
        warpers.append(TemperatureLogitsWarper(float(temperature)))
    if top_k is not None and top_k != 0:
        warpers.append(TopKLogitsWarper(top_k))
    if top_p is not None and top_p < 1.0:
        warpers.append(TopPLogitsWarper(top_p))
    dummy_ids = torch.zeros(logits.shape[0], 1, dtype=torch.long)
    return warpers(dummy_ids, logits.clone())


def _filter_cases(seed: int) -> list[tuple[torch.Tensor, float, int | None, float | None]]:
    g = gs.generator(seed)
    b, vocab = int(torch.randint(1, 5, (), generator=g)), int(torch.randint(2, 12, (), generator=g))
    logits = torch.randn(b, vocab, generator=g, dtype=torch.float64) * 2
    tied = logits.clone()
    tied[:, 1:3] = tied[:, :1]  # ties, also at a top-k boundary
    temperature = float(torch.empty(()).uniform_(0.3, 3.0, generator=g))
    top_p = float(torch.rand((), generator=g))
    cases = []
    for top_k in (None, 0, 1, 2, vocab - 1, vocab, vocab + 5):
        for p in (None, 1.0, 0.0, 1e-4, top_p, 0.9):
            cases.append((logits, temperature, top_k, p))
        cases.append((tied, 1.0, top_k, None))
    return cases


@pytest.mark.parametrize("seed", SEEDS)
def test_filter_matches_hugging_face_warpers(seed: int) -> None:
    for logits, temperature, top_k, top_p in _filter_cases(seed):
        got = ref.filter_logits(logits, temperature, top_k, top_p)
        expected = _hf_filter(logits, temperature, top_k, top_p)
        assert torch.equal(got.isinf(), expected.isinf()), (temperature, top_k, top_p, got, expected)
        torch.testing.assert_close(got, expected, rtol=1e-12, atol=0.0)


# ----------------------------------------------------------------------------- sample_next_token


@pytest.mark.parametrize("seed", SEEDS)
def test_sample_draws_from_hugging_face_filtered_softmax(seed: int) -> None:
    """Same generator, same draws as torch.multinomial on the HF-filtered distribution."""
    for logits, temperature, top_k, top_p in _filter_cases(seed)[::5]:
        probs = _hf_filter(logits, temperature, top_k, top_p).softmax(-1)
        expected = torch.multinomial(probs, 1, generator=gs.generator(seed)).squeeze(-1)
        got = ref.sample_next_token(logits, gs.generator(seed), temperature, top_k, top_p)
        assert got.dtype == torch.int64 and torch.equal(got, expected)


@pytest.mark.parametrize("seed", SEEDS[:4])
def test_sample_frequencies_pass_chi_square(seed: int) -> None:
    g = gs.generator(seed)
    row = torch.randn(1, 6, generator=g, dtype=torch.float64)
    n = 20000
    draws = ref.sample_next_token(row.repeat(n, 1), gs.generator(seed + 1), 0.8, 4, 0.9)
    probs = _hf_filter(row, 0.8, 4, 0.9).softmax(-1)[0]
    counts = torch.bincount(draws, minlength=6).double()
    kept = probs > 0
    assert counts[~kept].sum() == 0  # never a filtered token
    # Seeded, so deterministic; a correct sampler would fail this with probability 1e-6.
    assert stats.chisquare(counts[kept].numpy(), (probs[kept] * n).numpy()).pvalue > 1e-6


# ----------------------------------------------------------------------------- greedy_decode


class _LogitsOnly(nn.Module):
    """A Hugging Face causal LM seen as the course's model: ids (B, L) -> logits (B, L, V)."""

    def __init__(self, hf: nn.Module) -> None:
        super().__init__()
        self.hf = hf

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.hf(ids).logits


def _tiny_gpt2(seed: int, vocab: int) -> GPT2LMHeadModel:
    torch.manual_seed(seed)  # random weights only: nothing is downloaded
    config = GPT2Config(vocab_size=vocab, n_positions=32, n_embd=16, n_layer=1, n_head=2, bos_token_id=0, eos_token_id=0)
    return GPT2LMHeadModel(config).double().eval()


@pytest.mark.parametrize("seed", SEEDS[:6])
def test_greedy_decode_matches_hugging_face_generate(seed: int) -> None:
    vocab = 6
    hf = _tiny_gpt2(seed, vocab)
    ids = gs.token_ids((3, 4), vocab, seed)
    model = _LogitsOnly(hf)
    free = ref.greedy_decode(model, ids, 6)
    # EOS ids: none, one a row generates (that row finishes early), and one in the prompt.
    for eos in (None, int(free[0, 5]), int(ids[1, 2])):
        expected = hf.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=6, do_sample=False, eos_token_id=eos, pad_token_id=eos if eos is not None else 0)
        got = ref.greedy_decode(model, ids, 6, eos)
        assert torch.equal(got, expected), (eos, got, expected)
    assert torch.equal(ref.greedy_decode(model, ids, 0, 1), ids)


def _naive_greedy(model: nn.Module, ids: torch.Tensor, max_new: int, eos: int | None) -> torch.Tensor:
    """One row at a time, with Python lists."""
    rows = []
    for row in ids.tolist():
        seq, done = list(row), False
        for _ in range(max_new):
            nxt = eos if done else int(model(torch.tensor([seq]))[0, -1].argmax())
            seq.append(nxt)
            done = done or nxt == eos
        rows.append(seq)
    out = torch.tensor(rows)
    if eos is not None:  # cut the columns after the step at which every row had finished
        finished_at = [next((t for t in range(max_new) if out[b, ids.shape[1] + t] == eos), max_new) for b in range(len(rows))]
        out = out[:, : ids.shape[1] + min(max(finished_at) + 1, max_new)]
    return out


@pytest.mark.parametrize("seed", SEEDS)
def test_greedy_decode_matches_naive_loop_on_mock_model(seed: int) -> None:
    model = fixtures.PrefixLM(4, seed, torch.float64)
    ids = gs.token_ids((4, 3), 4, seed + 1)
    for eos in (None, 0, 1, 2, 3):
        for max_new in (0, 1, 5):
            assert torch.equal(ref.greedy_decode(model, ids, max_new, eos), _naive_greedy(model, ids, max_new, eos)), (eos, max_new)


# ----------------------------------------------------------------------------- mask_tokens


class _Tokenizer:
    """What DataCollatorForLanguageModeling.torch_mask_tokens needs from a tokenizer."""

    mask_token = "[MASK]"

    def __init__(self, vocab_size: int, mask_token_id: int) -> None:
        self.vocab_size, self.mask_token_id = vocab_size, mask_token_id

    def __len__(self) -> int:
        return self.vocab_size

    def convert_tokens_to_ids(self, token: str) -> int:
        assert token == self.mask_token
        return self.mask_token_id


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("p", [0.15, 0.5, 1.0])
def test_mask_tokens_matches_hugging_face_collator(seed: int, p: float) -> None:
    """Hugging Face draws in the same order, so the same generator gives the same result."""
    vocab, mask_id = 30, 4
    ids, special = gs.mlm_batch((8, 16), vocab, mask_id, seed)
    collator = DataCollatorForLanguageModeling(_Tokenizer(vocab, mask_id), mlm_probability=p)
    collator.generator = gs.generator(seed)
    expected = collator.torch_mask_tokens(ids.clone(), special_tokens_mask=special)  # it writes into its input
    before = ids.clone()
    got = ref.mask_tokens(ids, mask_id, vocab, special, gs.generator(seed), p)
    assert torch.equal(ids, before)
    assert torch.equal(got[0], expected[0]) and torch.equal(got[1], expected[1])


# ----------------------------------------------------------------------------- prepend_soft_prompt


def _naive_prepend(x: torch.Tensor, mask: torch.Tensor, prompt: torch.Tensor, labels: torch.Tensor | None):
    rows = [torch.stack([*prompt.to(x.dtype), *x[b]]) for b in range(x.shape[0])]
    masks = [[1] * prompt.shape[0] + mask[b].tolist() for b in range(x.shape[0])]
    out_labels = None if labels is None else torch.tensor([[-100] * prompt.shape[0] + labels[b].tolist() for b in range(x.shape[0])])
    return torch.stack(rows), torch.tensor(masks, dtype=mask.dtype), out_labels


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("mask_dtype", [torch.int64, torch.bool, torch.float64])
def test_prepend_soft_prompt_matches_naive_rows(seed: int, mask_dtype: torch.dtype) -> None:
    g = gs.generator(seed)
    b, length, emb, n = (int(v) for v in torch.randint(1, 6, (4,), generator=g))
    x = torch.randn(b, length, emb, generator=g, dtype=torch.float64)
    prompt = torch.randn(n, emb, generator=g, dtype=torch.float64, requires_grad=True)
    mask = (torch.rand(b, length, generator=g) < 0.8).to(mask_dtype)
    labels = torch.randint(50, (b, length), generator=g) if seed % 2 else None
    got = ref.prepend_soft_prompt(x, mask, prompt, labels)
    expected = _naive_prepend(x, mask, prompt, labels)
    torch.testing.assert_close(got[0], expected[0], rtol=0, atol=0)
    assert got[1].dtype == mask_dtype and torch.equal(got[1], expected[1])
    assert (got[2] is None and labels is None) or torch.equal(got[2], expected[2])
    # The gradient of Σ w·embeds reaches the prompt as the sum of w over rows.
    w = torch.randn(got[0].shape, generator=g, dtype=torch.float64)
    (grad,) = torch.autograd.grad((got[0] * w).sum(), prompt)
    torch.testing.assert_close(grad, w[:, :n].sum(dim=0), rtol=1e-12, atol=1e-12)


# ----------------------------------------------------------------------------- completion_only_labels
#
# TRL is not a dependency of the course: its completion-only collators are written out here.

PAD, TEMPLATE = 0, [3, 4]  # pad id and the response template ("### Response:") as token ids


def _examples(seed: int) -> list[tuple[list[int], list[int]]]:
    """(prompt ids ending with the response template, response ids); ids 5… never collide with PAD or TEMPLATE."""
    g = gs.generator(seed)
    rows = []
    for _ in range(int(torch.randint(1, 6, (1,), generator=g))):
        instruction = torch.randint(5, 50, (int(torch.randint(0, 5, (1,), generator=g)),), generator=g).tolist()
        response = torch.randint(5, 50, (int(torch.randint(0, 5, (1,), generator=g)),), generator=g).tolist()
        rows.append((instruction + TEMPLATE, response))
    return rows


def _right_padded(examples: list[tuple[list[int], list[int]]]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """What a tokenizer's pad(padding_side="right") gives: input_ids, attention_mask, and the prompt lengths."""
    length = max(len(p) + len(r) for p, r in examples)
    ids = torch.tensor([p + r + [PAD] * (length - len(p) - len(r)) for p, r in examples])
    mask = torch.tensor([[1] * (len(p) + len(r)) + [0] * (length - len(p) - len(r)) for p, r in examples])
    return ids, mask, torch.tensor([len(p) for p, _ in examples])


def _trl_template_collator(input_ids: torch.Tensor) -> torch.Tensor:
    """TRL's DataCollatorForCompletionOnlyLM.torch_call: the language-modelling labels (padding →
    -100, by pad id), then per row find the response template and ignore everything up to its end."""
    labels = input_ids.clone()
    labels[labels == PAD] = -100
    for i in range(len(labels)):
        start = next(j for j in range(labels.shape[1] - len(TEMPLATE) + 1) if input_ids[i, j : j + len(TEMPLATE)].tolist() == TEMPLATE)
        labels[i, : start + len(TEMPLATE)] = -100
    return labels


def _trl_completion_mask_collator(examples: list[tuple[list[int], list[int]]]) -> torch.Tensor:
    """Newer TRL (SFTTrainer's completion_only_loss): a completion_mask per example, padded with 0;
    labels are -100 wherever the completion mask or the attention mask is 0."""
    ids, mask, _ = _right_padded(examples)
    completion = torch.tensor([[0] * len(p) + [1] * len(r) + [0] * (ids.shape[1] - len(p) - len(r)) for p, r in examples])
    labels = ids.clone()
    labels[mask == 0] = -100
    labels[completion == 0] = -100
    return labels


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("mask_dtype", [torch.int64, torch.bool])
def test_completion_only_labels_match_both_trl_collators(seed: int, mask_dtype: torch.dtype) -> None:
    examples = _examples(seed)
    ids, mask, prompt_lengths = _right_padded(examples)
    before = (ids.clone(), mask.clone(), prompt_lengths.clone())
    got = ref.completion_only_labels(ids, mask.to(mask_dtype), prompt_lengths)
    assert got.dtype == torch.int64 and got.data_ptr() != ids.data_ptr()
    assert torch.equal(got, _trl_template_collator(ids))
    assert torch.equal(got, _trl_completion_mask_collator(examples))
    assert all(torch.equal(x, y) for x, y in zip((ids, mask, prompt_lengths), before))


@pytest.mark.parametrize("ignore_index", [-100, -1, 7])
def test_completion_only_labels_give_the_loss_on_the_response_only(ignore_index: int) -> None:
    """With these labels causal_lm_loss averages over response tokens only: changing the logits
    that predict prompt or padding tokens changes nothing."""
    ids, mask, prompt_lengths = _right_padded([*_examples(3), ([9, 9, 3, 4], [11, 12, 13])])
    labels = ref.completion_only_labels(ids, mask, prompt_lengths, ignore_index)
    logits = torch.randn(*ids.shape, 50, generator=gs.generator(0), dtype=torch.float64)
    targets = labels[:, 1:]
    ignored = targets == ignore_index
    assert (ignored | (targets == ids[:, 1:])).all()
    perturbed = logits.clone()
    perturbed[:, :-1][ignored] += 5.0  # the positions whose next token is prompt or padding
    loss = ref.causal_lm_loss(logits, labels, ignore_index)
    torch.testing.assert_close(ref.causal_lm_loss(perturbed, labels, ignore_index), loss, rtol=1e-12, atol=1e-12)
