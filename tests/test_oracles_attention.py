"""The attention references agree with independent implementations, in float64:
torch's fused attention, torch's lower-right causal bias, nn.MultiheadAttention, the
transformers library's attention-mask conventions and naive loops."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from torch import nn
from torch.nn.attention.bias import causal_lower_right

from grader import strategies as gs
from grader.properties.attention.strategies import causal_mask_sizes, mha_inputs, online_attention_inputs, padding_lengths, prefix_sizes
from grader.reference import load_reference
from tests.harness import SOLUTIONS

ref = load_reference(SOLUTIONS, "attention")


def _double(a: dict) -> dict:
    return {k: v.double() if isinstance(v, torch.Tensor) and v.is_floating_point() else v for k, v in a.items()}


def _softmax_row(scores: list[float]) -> list[float]:
    """Softmax of one row with math.exp; -inf entries get weight 0."""
    top = max(scores)
    exps = [math.exp(s - top) if s != -math.inf else 0.0 for s in scores]
    total = sum(exps)
    return [e / total for e in exps]


# ----------------------------------------------------------------------------- scaled_dot_product_attention


@given(a=gs.attention_inputs())
def test_sdpa_matches_torch_fused_attention(a: dict) -> None:
    a = _double(a)
    out, _ = ref.scaled_dot_product_attention(a["q"], a["k"], a["v"], a["mask"])
    expected = F.scaled_dot_product_attention(a["q"], a["k"], a["v"], attn_mask=a["mask"])  # bool mask: True = attend
    torch.testing.assert_close(out, expected, rtol=1e-10, atol=1e-12)


@given(a=gs.attention_inputs())
def test_sdpa_weights_match_a_naive_loop(a: dict) -> None:
    a = _double(a)
    q, k = a["q"].reshape(-1, *a["q"].shape[-2:]), a["k"].reshape(-1, *a["k"].shape[-2:])
    mask = None if a["mask"] is None else a["mask"].reshape(-1, *a["mask"].shape[-2:])
    _, w = ref.scaled_dot_product_attention(a["q"], a["k"], a["v"], a["mask"])
    d = q.shape[-1]
    expected = [
        _softmax_row([sum(q[b, i, c].item() * k[b, j, c].item() for c in range(d)) / math.sqrt(d) if mask is None or mask[b, i, j] else -math.inf for j in range(k.shape[1])])
        for b in range(q.shape[0])
        for i in range(q.shape[1])
    ]
    torch.testing.assert_close(w.reshape(-1, k.shape[1]), torch.tensor(expected, dtype=torch.float64), rtol=1e-10, atol=1e-12)


# ----------------------------------------------------------------------------- causal_mask


@given(sizes=causal_mask_sizes())
def test_causal_mask_matches_torch_lower_right_bias(sizes: tuple[int, int]) -> None:
    q_len, k_len = sizes
    expected = causal_lower_right(q_len, k_len)._materialize()  # torch's bottom-right aligned causal mask (bool)
    assert torch.equal(ref.causal_mask(q_len, k_len), expected)


@given(sizes=causal_mask_sizes())
def test_causal_mask_matches_a_naive_loop(sizes: tuple[int, int]) -> None:
    q_len, k_len = sizes
    offset = k_len - q_len
    expected = torch.tensor([[j <= i + offset for j in range(k_len)] for i in range(q_len)])
    assert torch.equal(ref.causal_mask(q_len, k_len), expected)
    assert torch.equal(ref.causal_mask(k_len), torch.tensor([[j <= i for j in range(k_len)] for i in range(k_len)]))


# ----------------------------------------------------------------------------- multi_head_attention

ARGS = ("query", "key", "value", "in_proj_weight", "in_proj_bias", "out_proj_weight", "out_proj_bias", "num_heads", "mask")


def _torch_mha(a: dict) -> nn.MultiheadAttention:
    e = a["query"].shape[-1]
    layer = nn.MultiheadAttention(e, a["num_heads"], batch_first=True, dtype=torch.float64)
    with torch.no_grad():
        layer.in_proj_weight.copy_(a["in_proj_weight"])
        layer.in_proj_bias.copy_(a["in_proj_bias"])
        layer.out_proj.weight.copy_(a["out_proj_weight"])
        layer.out_proj.bias.copy_(a["out_proj_bias"])
    return layer


def _blocked_per_head(mask: torch.Tensor | None, num_heads: int) -> torch.Tensor | None:
    """Our True = attend mask as nn.MultiheadAttention's attn_mask: True = blocked; (B, Lq, Lk) → (B·H, Lq, Lk)."""
    if mask is None:
        return None
    if mask.dim() == 2:
        return ~mask
    b, lq, lk = mask.shape
    return (~mask)[:, None].expand(b, num_heads, lq, lk).reshape(b * num_heads, lq, lk)  # index b·H + h


@given(a=mha_inputs())
def test_mha_matches_torch_multihead_attention(a: dict) -> None:
    a = _double(a)
    got = ref.multi_head_attention(*(a[n] for n in ARGS))
    with torch.no_grad():
        expected, _ = _torch_mha(a)(a["query"], a["key"], a["value"], attn_mask=_blocked_per_head(a["mask"], a["num_heads"]), need_weights=False)
    torch.testing.assert_close(got, expected, rtol=1e-10, atol=1e-12)


@given(a=mha_inputs(), seed=gs.seeds())
def test_mha_gradients_match_torch_multihead_attention(a: dict, seed: int) -> None:
    a = _double(a)
    g = gs.make_tensor(tuple(a["query"].shape), torch.float64, seed)
    q, k, v = (a[n].clone().requires_grad_(True) for n in ("query", "key", "value"))
    got = torch.autograd.grad(ref.multi_head_attention(q, k, v, *(a[n] for n in ARGS[3:])), (q, k, v), g)
    q2, k2, v2 = (a[n].clone().requires_grad_(True) for n in ("query", "key", "value"))
    out, _ = _torch_mha(a)(q2, k2, v2, attn_mask=_blocked_per_head(a["mask"], a["num_heads"]), need_weights=False)
    expected = torch.autograd.grad(out, (q2, k2, v2), g)
    torch.testing.assert_close(got, expected, rtol=1e-9, atol=1e-11)


@given(a=mha_inputs())
def test_mha_matches_a_per_head_loop(a: dict) -> None:
    """Each head written out with its own slices of the packed weights."""
    a = _double(a)
    e, h = a["query"].shape[-1], a["num_heads"]
    d = e // h
    w_q, w_k, w_v = a["in_proj_weight"].split(e)
    b_q, b_k, b_v = a["in_proj_bias"].split(e)
    heads = []
    for i in range(h):
        rows = slice(i * d, (i + 1) * d)
        q = a["query"] @ w_q[rows].T + b_q[rows]  # (B, Lq, d)
        k = a["key"] @ w_k[rows].T + b_k[rows]
        v = a["value"] @ w_v[rows].T + b_v[rows]
        scores = q @ k.transpose(1, 2) / math.sqrt(d)  # (B, Lq, Lk)
        if a["mask"] is not None:
            scores = torch.where(a["mask"], scores, torch.tensor(-math.inf, dtype=torch.float64))
        heads.append(torch.softmax(scores, dim=-1) @ v)
    expected = torch.cat(heads, dim=-1) @ a["out_proj_weight"].T + a["out_proj_bias"]
    got = ref.multi_head_attention(*(a[n] for n in ARGS))
    torch.testing.assert_close(got, expected, rtol=1e-10, atol=1e-12)



# ----------------------------------------------------------------------------- online_softmax_attention


@given(a=online_attention_inputs(max_lk=20))
def test_online_softmax_matches_torch_fused_attention(a: dict) -> None:
    a = _double(a)
    expected = F.scaled_dot_product_attention(a["q"], a["k"], a["v"], attn_mask=a["mask"])
    for block_size in (1, a["block_size"], 64):  # one key per block, the drawn size, a single block
        got = ref.online_softmax_attention(a["q"], a["k"], a["v"], a["mask"], block_size)
        torch.testing.assert_close(got, expected, rtol=1e-10, atol=1e-12)


@given(a=online_attention_inputs(max_lk=20), seed=gs.seeds())
def test_online_softmax_gradients_match_torch_fused_attention(a: dict, seed: int) -> None:
    a = _double(a)
    g = gs.make_tensor((*a["q"].shape[:-1], a["v"].shape[-1]), torch.float64, seed)
    grads = []
    for fn in (lambda q, k, v: ref.online_softmax_attention(q, k, v, a["mask"], a["block_size"]), lambda q, k, v: F.scaled_dot_product_attention(q, k, v, attn_mask=a["mask"])):
        inputs = [a[n].clone().requires_grad_(True) for n in ("q", "k", "v")]
        grads.append(torch.autograd.grad(fn(*inputs), inputs, g))
    torch.testing.assert_close(grads[0], grads[1], rtol=1e-9, atol=1e-11)


def test_online_softmax_with_a_large_sequence_stays_within_its_memory_bound() -> None:
    from grader.memory_probe import probe

    q = gs.make_tensor((2, 32, 8), torch.float64, 0)
    k, v = (gs.make_tensor((2, 512, 8), torch.float64, s) for s in (1, 2))
    with probe() as measured:
        got = ref.online_softmax_attention(q, k, v, None, 16)
    torch.testing.assert_close(got, F.scaled_dot_product_attention(q, k, v), rtol=1e-10, atol=1e-12)
    assert measured.largest.numel <= 2 * 32 * 16 < 2 * 32 * 512


# ----------------------------------------------------------------------------- padding_mask


@given(sizes=padding_lengths())
def test_padding_mask_matches_a_naive_loop(sizes: tuple[torch.Tensor, int]) -> None:
    lengths, max_len = sizes
    expected = torch.tensor([[j < n for j in range(max_len)] for n in lengths.tolist()])
    assert torch.equal(ref.padding_mask(lengths, max_len), expected)


def _transformers_expand_mask(attention_mask: torch.Tensor, dtype: torch.dtype, tgt_len: int) -> torch.Tensor:
    """transformers' `_prepare_4d_attention_mask` (4.x) written out: a (B, L) 1/0 attention mask,
    1 at real tokens, becomes an additive (B, 1, tgt_len, L) bias, 0 where attended, min where not."""
    bsz, src_len = attention_mask.shape
    expanded = attention_mask[:, None, None, :].expand(bsz, 1, tgt_len, src_len).to(dtype)
    inverted = 1.0 - expanded
    return inverted.masked_fill(inverted.to(torch.bool), torch.finfo(dtype).min)


@given(sizes=padding_lengths(), tgt_len=gs.dims(1, 4), seed=gs.seeds())
def test_padding_mask_is_the_transformers_attention_mask(sizes: tuple[torch.Tensor, int], tgt_len: int, seed: int) -> None:
    lengths, max_len = sizes
    mask = ref.padding_mask(lengths, max_len)
    hf_attention_mask = (torch.arange(max_len)[None, :] < lengths[:, None]).long()  # a tokenizer's right-padded attention_mask
    assert torch.equal(mask.long(), hf_attention_mask)
    bias = _transformers_expand_mask(hf_attention_mask, torch.float64, tgt_len)
    assert torch.equal(bias == 0, mask[:, None, None, :].expand(-1, 1, tgt_len, -1))
    q = gs.make_tensor((lengths.shape[0], 1, tgt_len, 3), torch.float64, seed)
    k, v = (gs.make_tensor((lengths.shape[0], 1, max_len, 3), torch.float64, seed + i) for i in (1, 2))
    torch.testing.assert_close(
        F.scaled_dot_product_attention(q, k, v, attn_mask=mask[:, None, None, :]), F.scaled_dot_product_attention(q, k, v, attn_mask=bias), rtol=1e-10, atol=1e-12
    )


@given(sizes=padding_lengths())
def test_padding_mask_matches_transformers_padding_mask_function(sizes: tuple[torch.Tensor, int]) -> None:
    masking_utils = pytest.importorskip("transformers.masking_utils")
    lengths, max_len = sizes
    mask = ref.padding_mask(lengths, max_len)
    b, q, kv = torch.arange(lengths.shape[0])[:, None, None], torch.arange(3)[None, :, None], torch.arange(max_len)[None, None, :]
    expected = masking_utils.padding_mask_function(mask.clone())(b, 0, q, kv)  # (B, 3, L): the key mask for every query
    assert torch.equal(mask[:, None, :].expand(-1, 3, -1), torch.as_tensor(expected).expand(-1, 3, -1))


# ----------------------------------------------------------------------------- prefix_lm_mask


@given(sizes=prefix_sizes())
def test_prefix_lm_mask_matches_a_naive_loop(sizes: tuple[int, int]) -> None:
    p, n = sizes
    expected = torch.tensor([[j < p or j <= i for j in range(n)] for i in range(n)])
    assert torch.equal(ref.prefix_lm_mask(p, n), expected)


@given(n=gs.dims(1, 10))
def test_prefix_lm_mask_ends_are_causal_and_full(n: int) -> None:
    assert torch.equal(ref.prefix_lm_mask(0, n), ref.causal_mask(n))
    assert torch.equal(ref.prefix_lm_mask(0, n), causal_lower_right(n, n)._materialize())
    assert torch.equal(ref.prefix_lm_mask(n, n), torch.ones(n, n, dtype=torch.bool))


@given(sizes=prefix_sizes())
def test_prefix_lm_mask_matches_transformers_mask_functions(sizes: tuple[int, int]) -> None:
    masking_utils = pytest.importorskip("transformers.masking_utils")
    p, n = sizes
    prefix = masking_utils.padding_mask_function((torch.arange(n) < p)[None, :])  # keys of the prefix, for every query
    mask_fn = masking_utils.or_masks(masking_utils.causal_mask_function, prefix)
    i, j = torch.arange(n)[:, None], torch.arange(n)[None, :]
    assert torch.equal(ref.prefix_lm_mask(p, n), mask_fn(0, 0, i, j))
