"""Wrong implementations of the vision-transformer exercises."""

from __future__ import annotations

import torch

from grader.properties import vit as props


def patchify_float32(images, patch_size):
    """Rounds through float32."""
    return props._block_patches(images.float(), patch_size)


def patchify_through_numpy(images, patch_size):
    """Right values through numpy: no autograd graph."""
    b, c, height, width = images.shape
    p, h, w = patch_size, height // patch_size, width // patch_size
    x = images.detach().numpy().reshape(b, c, h, p, w, p).transpose(0, 2, 4, 3, 5, 1).reshape(b, h * w, p * p * c)
    return torch.from_numpy(x.copy())


def unpatchify_square_grid(patches, patch_size, channels, height, width):
    """MAE's unpatchify, which assumes a square image: h = w = √N (fails on non-square grids)."""
    b, p = patches.shape[0], patch_size
    h = w = int(patches.shape[1] ** 0.5)
    x = patches.reshape(b, h, w, p, p, channels)
    return torch.einsum("nhwpqc->nchpwq", x).reshape(b, channels, h * p, h * p)


def unpatchify_float32(patches, patch_size, channels, height, width):
    """Rounds through float32."""
    return props._block_image(patches.float(), patch_size, channels, height, width)


def unpatchify_detached_copy(patches, patch_size, channels, height, width):
    """Fills a fresh zeros tensor with detached copies: right values, no gradient to the patches."""
    return props._block_image(patches.detach(), patch_size, channels, height, width)


def embed_float32(images, patch_size, weight, bias, cls_token, pos_embed):
    """Projects in float32."""
    tokens = props._block_patches(images, patch_size).float() @ weight.float() + bias.float()
    cls = cls_token.float().expand(images.shape[0], 1, -1)
    return torch.cat([cls, tokens], dim=1) + pos_embed.float()


def embed_cls_detached(images, patch_size, weight, bias, cls_token, pos_embed):
    """Uses cls_token.detach(): right values, but the CLS token would never be trained."""
    tokens = props._block_patches(images, patch_size) @ weight + bias
    return torch.cat([cls_token.detach().expand(images.shape[0], 1, -1), tokens], dim=1) + pos_embed


def embed_no_bias(images, patch_size, weight, bias, cls_token, pos_embed):
    """Forgets the projection's bias."""
    tokens = props._block_patches(images, patch_size) @ weight
    return torch.cat([cls_token.expand(images.shape[0], 1, -1), tokens], dim=1) + pos_embed


def pos_cls_dropped(pos_embed, old_grid, new_grid, num_prefix_tokens=1):
    """Returns only the resized grid: the CLS row is lost."""
    return props._resize(pos_embed, old_grid, new_grid, num_prefix_tokens)[num_prefix_tokens:]


def pos_float32_result(pos_embed, old_grid, new_grid, num_prefix_tokens=1):
    """Resizes in float32 (as timm does) and never casts back."""
    return props._resize(pos_embed.float(), old_grid, new_grid, num_prefix_tokens)


def pos_float32_inside(pos_embed, old_grid, new_grid, num_prefix_tokens=1):
    """timm's way: resize in float32, cast back to the input's dtype (float64 loses its digits)."""
    return props._resize(pos_embed.float(), old_grid, new_grid, num_prefix_tokens).to(pos_embed.dtype)


def pos_prefix_detached(pos_embed, old_grid, new_grid, num_prefix_tokens=1):
    """Right values, but the prefix rows are cut from the graph (no gradient reaches the CLS token)."""
    out = props._resize(pos_embed, old_grid, new_grid, num_prefix_tokens)
    return torch.cat([out[:num_prefix_tokens].detach(), out[num_prefix_tokens:]])


P, U, M = "vit.patchify", "vit.unpatchify", "vit.embed_patches"
PE = "vit.interpolate_pos_embed"
CAUGHT_BY = {
    (P, "patch_is_image_block"): props._patchify_channel_first,
    (P, "known_answer"): props._patchify_no_permute,
    (P, "gradient_returns_to_pixels"): patchify_through_numpy,
    (P, "dtype_contract"): patchify_float32,
    (P, "matches_reference"): props._patchify_column_major,
    (U, "inverts_patchify"): unpatchify_square_grid,
    (U, "known_answer"): props._unpatchify_channel_first,
    (U, "gradient_returns_to_patches"): unpatchify_detached_copy,
    (U, "dtype_contract"): unpatchify_float32,
    (U, "matches_reference"): props._unpatchify_column_major,
    (M, "cls_token_first"): props._embed_cls_last,
    (M, "position_embedding_on_every_token"): props._embed_no_pos_on_cls,
    (M, "tokens_project_patches"): props._embed_channel_first,
    (M, "dtype_contract"): embed_float32,
    (M, "matches_reference"): embed_no_bias,
    (M, "gradients_match"): embed_cls_detached,
    (PE, "prefix_rows_kept"): pos_cls_dropped,
    (PE, "equal_grids_change_nothing"): props._pos_cls_in_grid,
    (PE, "embedding_dims_resized_independently"): props._pos_no_permute,
    (PE, "row_major_grid"): props._pos_column_major,
    (PE, "dtype_contract"): pos_float32_result,
    (PE, "float64_interpolated_in_float64"): pos_float32_inside,
    (PE, "matches_reference"): props._pos_align_corners,
    (PE, "gradients_match"): pos_prefix_detached,
}

# More wrong variants, each caught by the named property (checked in tests/test_oracles_vit.py).
EXTRA = {
    (U, "inverts_patchify"): props._unpatchify_no_permute,
    (M, "cls_token_first"): props._embed_pos_before_cls,
}
