"""Hostile: fills memory as fast as it can, 256 MiB at a time up to 16 GiB (each block alone is
small enough for the kernel to grant): faster than any polling of the worker's memory."""
import torch


def scaled_dot_product_attention(q, k, v, mask=None):
    hoard = [torch.ones(32 * 2**20, dtype=torch.float64) for _ in range(64)]
    return hoard[0][: q.numel()].reshape(q.shape), torch.zeros(*q.shape[:-1], k.shape[-2])
