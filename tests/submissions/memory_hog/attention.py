"""Allocates without bound."""
import torch


def scaled_dot_product_attention(q, k, v, mask=None):
    hoard = []
    while True:
        hoard.append(torch.ones(16 * 1024 * 1024, dtype=torch.float64))  # 128 MiB each
