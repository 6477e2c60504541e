"""Reference solutions: attention (q56–q63, q70, q71, q77)."""

from __future__ import annotations

import math

import torch
from torch import Tensor


def scaled_dot_product_attention(q: Tensor, k: Tensor, v: Tensor, mask: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """softmax(q·kᵀ/√d)·v over the key axis (q59, q60).

    q: (..., Lq, d), k: (..., Lk, d), v: (..., Lk, dv); mask: bool, True = may attend.
    Returns (output (..., Lq, dv), weights (..., Lq, Lk)).
    """
    d = q.shape[-1]
    scores = q @ k.transpose(-2, -1) / math.sqrt(d)  # (..., Lq, Lk)
    if mask is not None:
        # -inf, not a large negative number: masked keys get exactly zero weight.
        scores = scores.masked_fill(~mask, float("-inf"))
    weights = torch.softmax(scores, dim=-1)  # normalise over keys: each query's row sums to 1
    return weights @ v, weights  # (..., Lq, dv), (..., Lq, Lk)
