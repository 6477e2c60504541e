"""Reference solutions: vq — vector quantization (q39, q40)."""

from __future__ import annotations

import torch
from torch import Tensor


def vector_quantize(z_e: Tensor, codebook: Tensor, beta: float | Tensor = 0.25) -> tuple[Tensor, Tensor, Tensor]:
    """Nearest-codeword quantization with the straight-through estimator (q39).

    z_e: (B, D, H, W) encoder output, codebook: (K, D). Returns
    z_q (B, D, H, W) = z_e + (e − z_e).detach()   (the value of e, the gradient of z_e),
    indices (B, H, W) int64, and the scalar
    loss = mean((sg[z_e] − e)²) + beta·mean((z_e − sg[e])²)   (codebook term + commitment).
    Matches diffusers VectorQuantizer(legacy=False).
    """
    b, d, h, w = z_e.shape
    flat = z_e.permute(0, 2, 3, 1).reshape(-1, d)  # (B·H·W, D): one vector per position; D must be last
    # Squared distances by explicit differences: exact in the input's precision (the expanded
    # ‖z‖² − 2z·e + ‖e‖² saves memory on big codebooks but rounds worse).
    dist = ((flat[:, None, :] - codebook[None, :, :]) ** 2).sum(dim=-1)  # (B·H·W, K)
    indices = dist.argmin(dim=1)  # (B·H·W,)
    e = codebook[indices].reshape(b, h, w, d).permute(0, 3, 1, 2)  # (B, D, H, W), back to channels first
    # argmin has no gradient, so each term picks what it trains with a stop-gradient:
    codebook_loss = torch.mean((z_e.detach() - e) ** 2)  # moves the chosen codewords towards the encoder
    commitment_loss = torch.mean((z_e - e.detach()) ** 2)  # keeps the encoder close to its codewords
    loss = codebook_loss + beta * commitment_loss
    # Straight-through: forward value e, backward identity to z_e (the decoder's gradient
    # reaches the encoder as if quantization were not there).
    z_q = z_e + (e - z_e).detach()
    return z_q, indices.reshape(b, h, w), loss
