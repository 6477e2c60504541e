"""Wrong implementations of the vector-quantization exercise."""

from __future__ import annotations

import torch

from grader.properties import vq as props
from grader.properties.vq.vector_quantize import _expanded_distance


def _codewords(z_e, codebook):
    b, d, h, w = z_e.shape
    flat = z_e.permute(0, 2, 3, 1).reshape(-1, d)
    idx = props._by_distance(flat, codebook)
    return idx.reshape(b, h, w), codebook[idx].reshape(b, h, w, d).permute(0, 3, 1, 2)


def vq_no_straight_through(z_e, codebook, beta=0.25):
    """Returns the codewords themselves: right values, but the decoder's gradient never reaches the encoder."""
    idx, e = _codewords(z_e, codebook)
    loss = torch.mean((z_e.detach() - e) ** 2) + beta * torch.mean((z_e - e.detach()) ** 2)
    return e, idx, loss


def vq_legacy_beta(z_e, codebook, beta=0.25):
    """diffusers VectorQuantizer(legacy=True): β weighs the codebook term instead of the commitment term."""
    idx, e = _codewords(z_e, codebook)
    loss = torch.mean((z_e - e.detach()) ** 2) + beta * torch.mean((z_e.detach() - e) ** 2)
    return z_e + (e - z_e).detach(), idx, loss


def vq_no_stop_gradient(z_e, codebook, beta=0.25):
    """(1 + β)·mse without any stop-gradient: the same value, but both sides get both terms' gradients."""
    idx, e = _codewords(z_e, codebook)
    return z_e + (e - z_e).detach(), idx, (1 + beta) * torch.mean((z_e - e) ** 2)


def _number(beta):
    return float(beta.detach()) if isinstance(beta, torch.Tensor) else beta


def vq_indices_int32(z_e, codebook, beta=0.25):
    """Right values and gradients, but int32 indices."""
    idx, e = _codewords(z_e, codebook)
    loss = torch.mean((z_e.detach() - e) ** 2) + beta * torch.mean((z_e - e.detach()) ** 2)
    return z_e + (e - z_e).detach(), idx.to(torch.int32), loss


def vq_beta_as_float(z_e, codebook, beta=0.25):
    """Turns β into a Python float: a tensor β gets no gradient."""
    idx, e = _codewords(z_e, codebook)
    loss = torch.mean((z_e.detach() - e) ** 2) + _number(beta) * torch.mean((z_e - e.detach()) ** 2)
    return z_e + (e - z_e).detach(), idx, loss


E = "vq.vector_quantize"
CAUGHT_BY = {
    (E, "nearest_codeword"): props._dot_product_nearest,
    (E, "loss_value"): props._loss_sums_channels,
    (E, "straight_through_gradient"): vq_no_straight_through,
    (E, "loss_trains_the_right_side"): vq_legacy_beta,
    (E, "dtype_contract"): vq_indices_int32,
    (E, "matches_reference"): props._no_permute,
    (E, "gradients_match"): vq_beta_as_float,
}

# More wrong variants, each caught by the named property (checked in tests/test_oracles_vq.py).
EXTRA = {
    (E, "loss_trains_the_right_side"): vq_no_stop_gradient,
    (E, "nearest_codeword"): props._flat_indices,
    (E, "gradients_match"): vq_legacy_beta,
}


def vq_expanded_distance_taming(z_e, codebook, beta=0.25):
    """taming-transformers' VectorQuantizer distance, z² + e² − 2·z·e, then the right rest."""
    b, d, h, w = z_e.shape
    z = z_e.permute(0, 2, 3, 1).reshape(-1, d)
    dist = torch.sum(z**2, dim=1, keepdim=True) + torch.sum(codebook**2, dim=1) - 2 * torch.einsum("bd,dn->bn", z, codebook.T)
    idx = torch.argmin(dist, dim=1)
    e = codebook[idx].reshape(b, h, w, d).permute(0, 3, 1, 2)
    loss = torch.mean((z_e.detach() - e) ** 2) + beta * torch.mean((z_e - e.detach()) ** 2)
    return z_e + (e - z_e).detach(), idx.reshape(b, h, w), loss


CAUGHT_BY[(E, "nearest_codeword_far_from_origin")] = _expanded_distance
STABILITY_WRONG = [
    (E, "nearest_codeword_far_from_origin", _expanded_distance),
    (E, "nearest_codeword_far_from_origin", vq_expanded_distance_taming),
]
