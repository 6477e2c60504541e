"""Hostile: floods stdout with hundreds of MB (its output must be capped while it is written)."""
import sys

import torch

_done = False


def scaled_dot_product_attention(q, k, v, mask=None):
    global _done
    if not _done:
        _done = True
        line = "x" * 1023 + "\n"
        for _ in range(400 * 1024):  # 400 MB
            sys.stdout.write(line)
    return torch.zeros_like(q), torch.zeros(*q.shape[:-1], k.shape[-2])
