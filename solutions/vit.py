"""Reference solutions: vit — patches and vision transformers (q40–q42)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def patchify(images: Tensor, patch_size: int) -> Tensor:
    """(B, C, H, W) -> (B, N, P·P·C) non-overlapping patches (q40, q41), as MAE's patchify.

    N = (H/P)·(W/P) patches in row-major order over the grid (patch i is at grid row
    i // (W/P), column i % (W/P)); each patch flattened in (row, column, channel) order.
    """
    b, c, height, width = images.shape
    p = patch_size
    h, w = height // p, width // p  # grid size; H and W may differ
    x = images.reshape(b, c, h, p, w, p)  # split each spatial axis into (grid index, offset in patch)
    x = x.permute(0, 2, 4, 3, 5, 1)  # (B, h, w, P, P, C): grid row, grid column, then row, column, channel
    return x.reshape(b, h * w, p * p * c)  # (B, N, P·P·C)


def unpatchify(patches: Tensor, patch_size: int, channels: int, height: int, width: int) -> Tensor:
    """(B, N, P·P·C) -> (B, C, H, W): the exact inverse of patchify (q40)."""
    b = patches.shape[0]
    p = patch_size
    h, w = height // p, width // p
    x = patches.reshape(b, h, w, p, p, channels)  # (B, h, w, P, P, C), as patchify laid it out
    x = x.permute(0, 5, 1, 3, 2, 4)  # (B, C, h, P, w, P): each grid index next to its offset
    return x.reshape(b, channels, height, width)


def embed_patches(images: Tensor, patch_size: int, weight: Tensor, bias: Tensor, cls_token: Tensor, pos_embed: Tensor) -> Tensor:
    """ViT input tokens (q41): (B, C, H, W) -> (B, N+1, E).

    tokens = patchify(images) @ weight + bias (weight: (P·P·C, E)); cls_token (E,) is
    prepended as token 0; pos_embed (N+1, E) is added to every token, CLS included (timm default).
    """
    tokens = patchify(images, patch_size) @ weight + bias  # (B, N, E): a linear map of each patch
    cls = cls_token.expand(images.shape[0], 1, -1)  # (B, 1, E): the same learned token for every image
    tokens = torch.cat([cls, tokens], dim=1)  # (B, N+1, E), CLS at position 0
    return tokens + pos_embed  # (N+1, E) broadcasts over the batch: patches are otherwise an unordered set


def interpolate_pos_embed(pos_embed: Tensor, old_grid: tuple[int, int], new_grid: tuple[int, int], num_prefix_tokens: int = 1) -> Tensor:
    """Position embeddings for another grid size (q42): timm's resample_abs_pos_embed, antialias=False.

    pos_embed: (num_prefix_tokens + H·W, E), grid rows in row-major order; the prefix (CLS)
    rows are kept, the grid is resized bicubically (align_corners=False) to new_grid in
    pos_embed's dtype → (num_prefix_tokens + H'·W', E).
    """
    (h, w), (new_h, new_w) = old_grid, new_grid
    e = pos_embed.shape[1]
    prefix, grid = pos_embed[:num_prefix_tokens], pos_embed[num_prefix_tokens:]  # the CLS token has no place on the grid
    grid = grid.reshape(1, h, w, e).permute(0, 3, 1, 2)  # (1, E, H, W): row i // W, column i % W; channels = embedding dims
    grid = F.interpolate(grid, size=(new_h, new_w), mode="bicubic", align_corners=False, antialias=False)  # (1, E, H', W')
    grid = grid.permute(0, 2, 3, 1).reshape(new_h * new_w, e)  # (H'·W', E), row-major again
    return torch.cat([prefix, grid], dim=0)
