"""The transformer references agree with independent implementations, in float64:
F.layer_norm, naive loops, transformers' DistilBERT encodings and torch.nn's layers."""

from __future__ import annotations

import math
import statistics

import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st
from torch import nn
from transformers.models.distilbert.modeling_distilbert import create_sinusoidal_embeddings

from grader import strategies as gs
from grader.properties.transformer import strategies as transformer_st
from grader.reference import load_reference
from tests.harness import SOLUTIONS

ref = load_reference(SOLUTIONS, "transformer")


def _double(a: dict) -> dict:
    out = {}
    for k, v in a.items():
        if isinstance(v, torch.Tensor) and v.is_floating_point():
            v = v.double()
        elif isinstance(v, dict):
            v = _double(v)
        out[k] = v
    return out


# ----------------------------------------------------------------------------- layer_norm


@given(a=transformer_st.layer_norm_inputs())
def test_layer_norm_matches_torch(a: dict) -> None:
    a = _double(a)
    got = ref.layer_norm(a["x"], a["weight"], a["bias"], a["eps"])
    expected = F.layer_norm(a["x"], a["x"].shape[-1:], a["weight"], a["bias"], a["eps"])
    torch.testing.assert_close(got, expected, rtol=1e-9, atol=1e-11)


@given(a=transformer_st.layer_norm_inputs())
def test_layer_norm_matches_python_statistics(a: dict) -> None:
    a = _double(a)
    x = a["x"].reshape(-1, a["x"].shape[-1])
    rows = []
    for row in x.tolist():
        mean, var = statistics.fmean(row), statistics.pvariance(row)  # pvariance: the biased variance
        rows.append([(v - mean) / math.sqrt(var + a["eps"]) * w + b for v, w, b in zip(row, a["weight"].tolist(), a["bias"].tolist())])
    got = ref.layer_norm(a["x"], a["weight"], a["bias"], a["eps"]).reshape(x.shape)
    torch.testing.assert_close(got, torch.tensor(rows, dtype=torch.float64), rtol=1e-9, atol=1e-11)


# ----------------------------------------------------------------------------- sinusoidal_position_encoding


def _pe_loop(num_positions: int, d_model: int) -> torch.Tensor:
    return torch.tensor(
        [[math.sin(p / 10000 ** (j / d_model)) if j % 2 == 0 else math.cos(p / 10000 ** ((j - 1) / d_model)) for j in range(d_model)] for p in range(num_positions)],
        dtype=torch.float64,
    )


@given(sizes=transformer_st.position_encoding_sizes())
def test_position_encoding_matches_a_naive_loop_in_the_default_dtype(sizes: tuple[int, int]) -> None:
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        got = ref.sinusoidal_position_encoding(*sizes)
    finally:
        torch.set_default_dtype(previous)
    assert got.dtype == torch.float64
    torch.testing.assert_close(got, _pe_loop(*sizes), rtol=1e-12, atol=1e-12)
    assert ref.sinusoidal_position_encoding(*sizes).dtype == previous


@given(sizes=transformer_st.position_encoding_sizes())
def test_position_encoding_matches_distilbert(sizes: tuple[int, int]) -> None:
    out = torch.empty(*sizes)
    create_sinusoidal_embeddings(*sizes, out)  # float32, built in numpy float64
    torch.testing.assert_close(ref.sinusoidal_position_encoding(*sizes), out, rtol=0, atol=1e-7)


# ----------------------------------------------------------------------------- feed_forward


@given(a=transformer_st.feed_forward_inputs())
def test_feed_forward_matches_nn_sequential(a: dict) -> None:
    a = _double(a)
    d_ff, d = a["w1"].shape
    net = nn.Sequential(nn.Linear(d, d_ff), nn.ReLU(), nn.Linear(d_ff, d)).double()
    net.load_state_dict({"0.weight": a["w1"], "0.bias": a["b1"], "2.weight": a["w2"], "2.bias": a["b2"]})
    with torch.no_grad():
        expected = net(a["x"])
    torch.testing.assert_close(ref.feed_forward(a["x"], a["w1"], a["b1"], a["w2"], a["b2"]), expected, rtol=1e-10, atol=1e-12)


# ----------------------------------------------------------------------------- blocks


def _blocked_per_head(mask: torch.Tensor | None, num_heads: int) -> torch.Tensor | None:
    """Our True = attend mask in torch's form: True = blocked, a (B, L, L) mask as (B·H, L, L)."""
    if mask is None:
        return None
    if mask.dim() == 2:
        return ~mask
    b, lq, lk = mask.shape
    return (~mask)[:, None].expand(b, num_heads, lq, lk).reshape(b * num_heads, lq, lk)


def _encoder_layer(a: dict) -> nn.TransformerEncoderLayer:
    d_ff, d = a["params"]["linear1.weight"].shape
    layer = nn.TransformerEncoderLayer(d, a["num_heads"], d_ff, dropout=0.0, batch_first=True, norm_first=a["norm_first"], dtype=torch.float64)
    layer.load_state_dict(a["params"])
    return layer


def _decoder_layer(a: dict) -> nn.TransformerDecoderLayer:
    d_ff, d = a["params"]["linear1.weight"].shape
    layer = nn.TransformerDecoderLayer(d, a["num_heads"], d_ff, dropout=0.0, batch_first=True, norm_first=a["norm_first"], dtype=torch.float64)
    layer.load_state_dict(a["params"])
    return layer


@given(a=transformer_st.block_inputs())
def test_encoder_block_matches_torch_layer(a: dict) -> None:
    a = _double(a)
    got = ref.encoder_block(a["x"], a["params"], a["num_heads"], a["norm_first"], a["mask"])
    with torch.no_grad():
        expected = _encoder_layer(a)(a["x"], src_mask=_blocked_per_head(a["mask"], a["num_heads"]))
    torch.testing.assert_close(got, expected, rtol=1e-9, atol=1e-11)


@given(a=transformer_st.block_inputs(), seed=gs.seeds())
def test_encoder_block_gradients_match_torch_layer(a: dict, seed: int) -> None:
    a = _double(a)
    g = gs.make_tensor(tuple(a["x"].shape), torch.float64, seed)
    layer = _encoder_layer(a)
    x = a["x"].clone().requires_grad_(True)
    params = {k: v.clone().requires_grad_(True) for k, v in a["params"].items()}
    got = torch.autograd.grad(ref.encoder_block(x, params, a["num_heads"], a["norm_first"], a["mask"]), [x, *params.values()], g)
    x2 = a["x"].clone().requires_grad_(True)
    out = layer(x2, src_mask=_blocked_per_head(a["mask"], a["num_heads"]))
    named = dict(layer.named_parameters())
    expected = torch.autograd.grad(out, [x2, *(named[k] for k in params)], g)
    torch.testing.assert_close(got, expected, rtol=1e-8, atol=1e-10)


@given(a=transformer_st.block_inputs(decoder=True), tgt_is_causal=st.booleans())
def test_decoder_block_matches_torch_layer(a: dict, tgt_is_causal: bool) -> None:
    a = _double(a)
    got = ref.decoder_block(a["x"], a["memory"], a["params"], a["num_heads"], a["norm_first"])
    length = a["x"].shape[1]
    future = nn.Transformer.generate_square_subsequent_mask(length, dtype=torch.float64)  # additive: -inf above the diagonal
    with torch.no_grad():
        expected = _decoder_layer(a)(a["x"], a["memory"], tgt_mask=future, tgt_is_causal=tgt_is_causal)
    torch.testing.assert_close(got, expected, rtol=1e-9, atol=1e-11)


@given(a=transformer_st.block_inputs(decoder=True), seed=gs.seeds())
def test_decoder_block_gradients_match_torch_layer(a: dict, seed: int) -> None:
    a = _double(a)
    g = gs.make_tensor(tuple(a["x"].shape), torch.float64, seed)
    layer = _decoder_layer(a)
    x, memory = a["x"].clone().requires_grad_(True), a["memory"].clone().requires_grad_(True)
    params = {k: v.clone().requires_grad_(True) for k, v in a["params"].items()}
    got = torch.autograd.grad(ref.decoder_block(x, memory, params, a["num_heads"], a["norm_first"]), [x, memory, *params.values()], g)
    x2, memory2 = a["x"].clone().requires_grad_(True), a["memory"].clone().requires_grad_(True)
    out = layer(x2, memory2, tgt_mask=nn.Transformer.generate_square_subsequent_mask(x.shape[1], dtype=torch.float64))
    named = dict(layer.named_parameters())
    expected = torch.autograd.grad(out, [x2, memory2, *(named[k] for k in params)], g)
    torch.testing.assert_close(got, expected, rtol=1e-8, atol=1e-10)
