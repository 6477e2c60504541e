"""The attention references agree with independent implementations, in float64:
torch's fused attention, torch's lower-right causal bias, nn.MultiheadAttention and naive loops."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from hypothesis import given
from torch import nn
from torch.nn.attention.bias import causal_lower_right

from grader import strategies as gs
from grader.properties.attention.strategies import causal_mask_sizes, mha_inputs
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
