"""Correct metric and vq implementations that must get full marks: loops, torch.cov, and
diffusers' VectorQuantizer(legacy=False) ported into the exercise signature."""

from __future__ import annotations

import itertools

import torch


def mean_pairwise_distance_loop(features):
    """The definition, one pair at a time."""
    pairs = list(itertools.combinations(range(features.shape[0]), 2))
    return float(sum((features[i] - features[j]).norm() for i, j in pairs) / len(pairs))


def feature_statistics_cov(features):
    """torch.cov on the transposed features (rows are variables there), kept (D, D) for D = 1."""
    d = features.shape[1]
    return features.mean(dim=0), torch.cov(features.T).reshape(d, d)


def vector_quantize_diffusers(z_e, codebook, beta=0.25):
    """diffusers.models.autoencoders.vae.VectorQuantizer.forward with legacy=False."""
    z = z_e.permute(0, 2, 3, 1).contiguous()
    z_flattened = z.view(-1, codebook.shape[1])
    min_encoding_indices = torch.argmin(torch.cdist(z_flattened, codebook), dim=1)
    z_q = codebook[min_encoding_indices].view(z.shape)
    loss = beta * torch.mean((z_q.detach() - z) ** 2) + torch.mean((z_q - z.detach()) ** 2)
    z_q = z + (z_q - z).detach()
    z_q = z_q.permute(0, 3, 1, 2).contiguous()
    return z_q, min_encoding_indices.view(z_e.shape[0], z_e.shape[2], z_e.shape[3]), loss


MUST_PASS = [
    ("metrics.mean_pairwise_distance", mean_pairwise_distance_loop),
    ("metrics.feature_statistics", feature_statistics_cov),
    ("vq.vector_quantize", vector_quantize_diffusers),
]
