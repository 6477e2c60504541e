"""Exercises: transformer blocks (q64–q69, q72).

Implement each function below, then run `grade transformer` (or `grade q65`).
Block parameters are the state_dict() of the matching torch.nn layer, passed as a dict of
tensors (keys like "self_attn.in_proj_weight", "linear1.weight", "norm1.bias").
Convention: boolean masks mean True = may attend (the opposite of nn.Transformer's masks).
You may reuse your attention exercises inside a function: `from attention import multi_head_attention`.
"""

from __future__ import annotations

import math  # you will need it

import torch  # you will need it
from torch import Tensor


def layer_norm(x: Tensor, weight: Tensor, bias: Tensor, eps: float = 1e-5) -> Tensor:
    """Layer normalization over the last dimension (q65).

    y = (x − mean) / sqrt(var + eps) · weight + bias, with mean and var over the last dim;
    var is the BIASED variance (divide by D, not D − 1) and eps sits INSIDE the square root.
    x: (..., D); weight, bias: (D,). Returns (..., D) in x's dtype; matches F.layer_norm.
    Question (q65): why does a transformer normalize over features rather than over the batch?
    """
    # TODO(q65): statistics over the last dim, normalize, then scale and shift.
    raise NotImplementedError("transformer.layer_norm")


def sinusoidal_position_encoding(num_positions: int, d_model: int) -> Tensor:
    """Sinusoidal position encodings of Vaswani et al. (q66).

    PE[p, 2i] = sin(p / 10000^(2i/d_model)),  PE[p, 2i+1] = cos(p / 10000^(2i/d_model)):
    sin and cos columns interleave, and each (sin, cos) pair shares one frequency.
    Returns (num_positions, d_model) in the default float dtype (torch.get_default_dtype());
    d_model is even. Question (q66): why can PE[p + k] be written as a linear function of PE[p]?
    """
    # TODO(q66): one frequency per column pair, angles p·frequency, sin on even and cos on odd columns.
    raise NotImplementedError("transformer.sinusoidal_position_encoding")


def feed_forward(x: Tensor, w1: Tensor, b1: Tensor, w2: Tensor, b2: Tensor) -> Tensor:
    """The position-wise feed-forward network (q67).

    relu(x·w1ᵀ + b1)·w2ᵀ + b2 with weights in nn.Linear layout:
    x: (..., d), w1: (d_ff, d), b1: (d_ff,), w2: (d, d_ff), b2: (d,). Returns (..., d).
    Question (q67): what does "position-wise" mean, and where do positions interact instead?
    """
    # TODO(q67): two linear layers with a ReLU between them.
    raise NotImplementedError("transformer.feed_forward")


def encoder_block(x: Tensor, params: dict[str, Tensor], num_heads: int, norm_first: bool = False, mask: Tensor | None = None) -> Tensor:
    """One encoder layer with nn.TransformerEncoderLayer(d, num_heads, dim_feedforward, dropout=0,
    activation="relu", batch_first=True, norm_first=norm_first) semantics (q64, q68).

    x: (B, L, d); params: that layer's state_dict() (self_attn.*, linear1.*, linear2.*, norm1.*, norm2.*);
    mask: bool (L, L) or (B, L, L), True = may attend. With SA = self-attention, FF = feed-forward:
        post-norm (norm_first=False): x = norm1(x + SA(x));  x = norm2(x + FF(x))
        pre-norm  (norm_first=True):  x = x + SA(norm1(x));  x = x + FF(norm2(x))
    Layer norms use eps = 1e-5. Returns (B, L, d).
    Question (q64): what does each residual connection let through when its sublayer outputs zero?
    """
    # TODO(q64): self-attention sublayer, then feed-forward sublayer, each with a residual and a norm.
    raise NotImplementedError("transformer.encoder_block")


def decoder_block(x: Tensor, memory: Tensor, params: dict[str, Tensor], num_heads: int, norm_first: bool = False) -> Tensor:
    """One decoder layer with nn.TransformerDecoderLayer(..., dropout=0, batch_first=True,
    norm_first=norm_first) semantics and a causal self-attention mask (q69).

    x: (B, L, d) the target tokens; memory: (B, Lm, d) the encoder's output (any length Lm);
    params: the layer's state_dict() (self_attn.*, multihead_attn.*, linear1/2.*, norm1/2/3.*).
    Three sublayers: causal self-attention (position i sees positions ≤ i), cross-attention
    (queries from x, keys and values from memory, no mask), feed-forward; residuals and norms
    as in encoder_block (post-norm: x = norm_k(x + sublayer_k(x)); pre-norm: x = x + sublayer_k(norm_k(x))).
    Returns (B, L, d).
    Question (q69): why must the decoder's self-attention be causal while its cross-attention is not?
    """
    # TODO(q69): causal self-attention, cross-attention to memory, feed-forward.
    raise NotImplementedError("transformer.decoder_block")
