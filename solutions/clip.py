"""Reference solutions: clip — contrastive image–text models (q22, q23, q34)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def _inverse_temperature(logit_scale: float | Tensor, like: Tensor) -> Tensor:
    """exp(logit_scale) in the data's dtype and device, keeping the graph when it is a tensor."""
    # CLIP learns the log of the inverse temperature so that it stays positive. torch.as_tensor
    # returns a tensor argument itself (converted when needed), so its gradient is kept.
    return torch.as_tensor(logit_scale, dtype=like.dtype, device=like.device).exp()


def _cosine_logits(a: Tensor, b: Tensor, logit_scale: float | Tensor) -> Tensor:
    """exp(logit_scale)·cos(a_i, b_j) for all pairs: (Na, D), (Nb, D) → (Na, Nb)."""
    a = F.normalize(a, dim=-1)  # unit rows: the dot product becomes the cosine
    b = F.normalize(b, dim=-1)
    return _inverse_temperature(logit_scale, a) * (a @ b.T)  # (Na, Nb)


def clip_loss(image_emb: Tensor, text_emb: Tensor, logit_scale: float | Tensor) -> Tensor:
    """Symmetric InfoNCE loss of CLIP (openai/CLIP), a scalar tensor (q23).

    image_emb, text_emb: (N, D), row i of each is a matching pair; logit_scale: a number or
    a 0-d tensor, the log of the inverse temperature. Both embeddings are L2-normalised;
    logits = exp(logit_scale)·I·Tᵀ (N, N); loss = ½[CE(logits, arange N) + CE(logitsᵀ, arange N)].
    """
    logits = _cosine_logits(image_emb, text_emb, logit_scale)  # (N, N): row i = image i vs every text
    labels = torch.arange(logits.shape[0], device=logits.device)  # the i-th text matches the i-th image
    image_to_text = F.cross_entropy(logits, labels)  # each image picks its text among the N
    text_to_image = F.cross_entropy(logits.T, labels)  # each text picks its image
    return (image_to_text + text_to_image) / 2


def zero_shot_probs(image_emb: Tensor, class_emb: Tensor, logit_scale: float | Tensor) -> Tensor:
    """Zero-shot class probabilities: softmax over classes of exp(logit_scale)·cos(image, class) (q23, q34).

    image_emb: (N, D), class_emb: (K, D) (e.g. text embeddings of "a photo of a {class}");
    logit_scale: a number or a 0-d tensor. Returns (N, K), each row sums to 1.
    """
    logits = _cosine_logits(image_emb, class_emb, logit_scale)  # (N, K)
    return logits.softmax(dim=-1)  # over the classes: each image gets a distribution
