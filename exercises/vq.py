"""Exercises: vq — vector quantization (q39, q40).

Implement the function below, then run `grade vq` (or `grade q39`).
"""

from __future__ import annotations

import torch  # you will need it
from torch import Tensor


def vector_quantize(z_e: Tensor, codebook: Tensor, beta: float | Tensor = 0.25) -> tuple[Tensor, Tensor, Tensor]:
    """Nearest-codeword quantization with the straight-through estimator (q39).

    z_e: (B, D, H, W) encoder output (channels first), codebook: (K, D).
    For every position (b, h, w), pick the codeword e nearest to z_e[b, :, h, w] in
    Euclidean distance. Returns (z_q, indices, loss):
        z_q     (B, D, H, W) = z_e + (e − z_e).detach()    straight-through estimator
        indices (B, H, W) int64
        loss    scalar = mean((sg[z_e] − e)²) + beta·mean((z_e − sg[e])²)
    where sg is the stop-gradient (.detach()) and the means run over all B·D·H·W entries:
    the first term trains only the codebook, the second (commitment) only the encoder.
    Matches diffusers VectorQuantizer(legacy=False). beta may be a number or a 0-d tensor.
    Question: how do gradients reach the encoder through a non-differentiable argmin (q39)?
    """
    # TODO(q39): flatten positions (channels last!), nearest codewords, the two loss terms, straight-through.
    raise NotImplementedError("vq.vector_quantize")
