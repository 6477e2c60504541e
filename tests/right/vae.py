"""Correct VAE and GAN losses that must get full marks: pytorch/examples' VAE,
torch.distributions, and the BCE-with-logits forms of the GAN losses."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch.distributions import Normal, kl_divergence


def reparameterize_examples(mu, logvar, eps):
    """pytorch/examples vae/main.py, with eps passed in."""
    std = torch.exp(0.5 * logvar)
    return mu + eps * std


def kl_distributions(mu, logvar):
    """torch.distributions: KL(N(mu, σ) ‖ N(0, 1)) summed over the latent dims."""
    q = Normal(mu, torch.exp(0.5 * logvar))
    p = Normal(torch.zeros_like(mu), torch.ones_like(mu))
    return kl_divergence(q, p).sum(dim=-1)


def kl_examples(mu, logvar):
    """pytorch/examples, per sample: −½ Σ (1 + logvar − mu² − exp(logvar))."""
    return -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp(), dim=1)


def discriminator_loss_bce(real_logits, fake_logits):
    """BCE-with-logits against ones and zeros (the DCGAN tutorial's criterion on logits)."""
    return F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits)) + F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))


def generator_loss_logsigmoid(fake_logits, non_saturating=True):
    """−log σ(l) and log(1 − σ(l)) = log σ(−l) through F.logsigmoid."""
    if non_saturating:
        return -F.logsigmoid(fake_logits).mean()
    return F.logsigmoid(-fake_logits).mean()


MUST_PASS = [
    ("vae.reparameterize", reparameterize_examples),
    ("vae.kl_standard_normal", kl_distributions),
    ("vae.kl_standard_normal", kl_examples),
    ("gan.discriminator_loss", discriminator_loss_bce),
    ("gan.generator_loss", generator_loss_logsigmoid),
]
