"""A correct solution left with a breakpoint() and debugging prints."""
import math

import torch


def scaled_dot_product_attention(q, k, v, mask=None):
    print("debug: shapes", tuple(q.shape), tuple(k.shape))
    breakpoint()
    try:
        input()  # stdin is closed: EOFError, not a hang
    except EOFError:
        pass
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    w = torch.softmax(scores, dim=-1)
    return w @ v, w
