"""Exercises: clip — contrastive image–text models (q22, q23, q34).

Implement each function below, then run `grade clip` (or `grade q23`).
Convention (openai/CLIP): logit_scale is the log of the inverse temperature, so logits are
multiplied by exp(logit_scale). It may be a Python number or a 0-d tensor; when it is a
tensor that requires grad, the gradient must reach it (do not call .item() or float() on it).
"""

from __future__ import annotations

import math  # you may need it

import torch  # you will need it
import torch.nn.functional as F  # you may need it
from torch import Tensor


def clip_loss(image_emb: Tensor, text_emb: Tensor, logit_scale: float | Tensor) -> Tensor:
    """Symmetric contrastive (InfoNCE) loss of CLIP (q23).

    image_emb, text_emb: (N, D), row i of each is a matching image–text pair.
    L2-normalise both; logits = exp(logit_scale)·I·Tᵀ, (N, N);
    loss = ½[CE(logits, arange N) + CE(logitsᵀ, arange N)] (cross-entropy averaged over rows).
    Returns a scalar tensor in the embeddings' dtype, differentiable in both embeddings and
    in logit_scale.
    """
    # TODO(q23): normalise, scaled cosine logits, cross-entropy in both directions, average.
    raise NotImplementedError("clip.clip_loss")


def zero_shot_probs(image_emb: Tensor, class_emb: Tensor, logit_scale: float | Tensor) -> Tensor:
    """Zero-shot classification probabilities (q23, q34).

    image_emb: (N, D); class_emb: (K, D), e.g. text embeddings of "a photo of a {class}".
    probs = softmax over the K classes of exp(logit_scale)·cos(image, class): (N, K), each
    row sums to 1. Keeps the embeddings' dtype; differentiable.
    """
    # TODO(q34): cosine similarity of every image with every class, scale, softmax over classes.
    raise NotImplementedError("clip.zero_shot_probs")
