"""Exercises: vit — patches and vision transformers (q40–q42).

Implement each function below, then run `grade vit` (or `grade q41`).
Convention (MAE's patchify): patches in row-major order over the grid, each flattened in
(row, column, channel) order. H and W are multiples of the patch size P and may differ.
"""

from __future__ import annotations

import torch  # you will need it
import torch.nn.functional as F  # you will need it
from torch import Tensor


def patchify(images: Tensor, patch_size: int) -> Tensor:
    """(B, C, H, W) -> (B, N, P·P·C) non-overlapping patches (q40, q41).

    N = (H/P)·(W/P). Patch i is the image block at grid row i // (W/P) and grid column
    i % (W/P) (row-major order), flattened in (row, column, channel) order:
    patches[b, i, (r·P + s)·C + c] = images[b, c, row·P + r, col·P + s].
    Question: how does the patch size trade sequence length against detail (q40)?
    """
    # TODO(q40): split H and W into (grid, offset), reorder the axes, flatten.
    raise NotImplementedError("vit.patchify")


def unpatchify(patches: Tensor, patch_size: int, channels: int, height: int, width: int) -> Tensor:
    """(B, N, P·P·C) -> (B, C, H, W): the exact inverse of patchify (q40)."""
    # TODO(q40): undo patchify's reshapes and permutation.
    raise NotImplementedError("vit.unpatchify")


def embed_patches(images: Tensor, patch_size: int, weight: Tensor, bias: Tensor, cls_token: Tensor, pos_embed: Tensor) -> Tensor:
    """ViT input tokens (q41): (B, C, H, W) -> (B, N+1, E).

    tokens = patchify(images, P) @ weight + bias     weight: (P·P·C, E), bias: (E,)
    prepend cls_token (E,) as token 0 of every image, then add pos_embed (N+1, E) to all
    N+1 tokens, the CLS token included (timm's default).
    Question: why does a transformer over patches need position embeddings at all (q41)?
    """
    # TODO(q41): patchify, project, prepend CLS, add positions.
    raise NotImplementedError("vit.embed_patches")


def interpolate_pos_embed(pos_embed: Tensor, old_grid: tuple[int, int], new_grid: tuple[int, int], num_prefix_tokens: int = 1) -> Tensor:
    """Position embeddings for another grid size (q42): timm's resample_abs_pos_embed, antialias=False.

    pos_embed: (N, E) with N = num_prefix_tokens + H·W, (H, W) = old_grid; new_grid = (H', W').
    Keep the first num_prefix_tokens rows (the CLS token) unchanged. Row num_prefix_tokens + i
    is grid cell (i // W, i % W) (row-major): lay those rows out as an image (1, E, H, W),
    resize it to new_grid with F.interpolate(mode="bicubic", align_corners=False,
    antialias=False) in pos_embed's dtype, flatten back row-major and put the prefix rows in
    front → (num_prefix_tokens + H'·W', E), pos_embed's dtype. Equal grids give the input's values.
    Question (q42): how does a ViT trained at 224×224 run at 384×384?
    """
    # TODO(q42): split off the prefix, grid rows → (1, E, H, W), bicubic resize, back to rows.
    raise NotImplementedError("vit.interpolate_pos_embed")
