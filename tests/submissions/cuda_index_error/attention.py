"""Indexes past the end of a tensor: IndexError on the CPU, a device-side assert on CUDA,
which leaves the worker's CUDA context unusable."""
import torch


def scaled_dot_product_attention(q, k, v, mask=None):
    scores = q @ k.transpose(-2, -1)
    too_far = torch.full(scores.shape, scores.shape[-1] + 7, device=scores.device)
    weights = torch.gather(scores, -1, too_far).softmax(-1)
    return weights @ v, weights


def causal_mask(q_len, k_len=None):
    k_len = q_len if k_len is None else k_len
    return torch.ones(q_len, k_len, dtype=torch.bool).tril(k_len - q_len)
