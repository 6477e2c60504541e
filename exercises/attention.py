"""Exercises: attention (q56–q63, q70, q71, q77).

Implement each function below, then run `grade attention` (or `grade q59`).
Convention: boolean masks mean True = may attend (as in F.scaled_dot_product_attention).
"""

from __future__ import annotations

import math  # noqa: F401 - you will need it

import torch  # noqa: F401 - you will need it
from torch import Tensor


def scaled_dot_product_attention(q: Tensor, k: Tensor, v: Tensor, mask: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """softmax(q·kᵀ/√d)·v over the key axis (q59, q60).

    q: (..., Lq, d), k: (..., Lk, d), v: (..., Lk, dv); mask: bool, broadcastable to
    (..., Lq, Lk), True = may attend. Returns (output (..., Lq, dv), weights (..., Lq, Lk)).
    Must match torch.nn.functional.scaled_dot_product_attention.
    """
    # TODO(q59): scores, mask, softmax over keys, weighted sum of values.
    raise NotImplementedError("attention.scaled_dot_product_attention")
