"""Helpers shared by several vae exercises."""

from __future__ import annotations

from typing import Any

import torch

# ----------------------------------------------------------------------------- helpers

def _grads_or_zeros(grads: list[Any], like: list[torch.Tensor]) -> tuple[torch.Tensor, ...]:
    """Gradients from a vjp, with None (the input was not used at all) read as zeros."""
    return tuple(torch.zeros_like(t) if g is None else g for g, t in zip(grads, like))


def _kl_terms(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    return 1 + logvar - mu.square() - logvar.exp()
