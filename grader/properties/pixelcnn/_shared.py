"""Helpers shared by several pixelcnn exercises."""

from __future__ import annotations

from functools import partial

import torch

from grader.properties.judge_only import judge_only

# ----------------------------------------------------------------------------- the rule, written out

def visible(out_group: int, in_group: int, di: int, dj: int, mask_type: str) -> bool:
    """May an output of group ``out_group`` see an input of group ``in_group`` at offset (di, dj)
    from its own pixel? Raster order: earlier rows, or the same row further left; at the pixel
    itself only earlier colour groups (type A), or earlier and its own (type B)."""
    if (di, dj) != (0, 0):
        return di < 0 or (di == 0 and dj < 0)
    return in_group < out_group if mask_type == "A" else in_group <= out_group


def mask_by_loop(kernel_size: int, mask_type: str, in_channels: int = 1, out_channels: int = 1, color_groups: int = 1) -> torch.Tensor:
    """The causal mask (out, in, k, k) entry by entry from ``visible`` (an independent statement)."""
    centre = kernel_size // 2
    per_out, per_in = out_channels // color_groups, in_channels // color_groups
    rows = [
        [[[float(visible(o // per_out, c // per_in, di - centre, dj - centre, mask_type)) for dj in range(kernel_size)] for di in range(kernel_size)] for c in range(in_channels)]
        for o in range(out_channels)
    ]
    return torch.tensor(rows, dtype=torch.float32)


# ----------------------------------------------------------------------------- known mistakes

@judge_only
def mask_formula(kernel_size, mask_type, in_channels=1, out_channels=1, color_groups=1, *, swap_types=False, rows_below=False, centre_channels=True, interleaved=False, reversed_groups=False):
    """The causal mask from slices, as students write it; the keyword switches produce the known mistakes."""
    centre = kernel_size // 2
    mask = torch.zeros(out_channels, in_channels, kernel_size, kernel_size)
    mask[:, :, :centre, :] = 1
    mask[:, :, centre, :centre] = 1
    if rows_below:  # started from ones and only cleared the right half of the centre row
        mask[:, :, centre + 1 :, :] = 1
    type_a = (mask_type == "A") != swap_types
    if interleaved:  # channel c in group c mod G (R, G, B, R, G, B, …)
        out_group, in_group = torch.arange(out_channels) % color_groups, torch.arange(in_channels) % color_groups
    else:
        out_group, in_group = torch.arange(out_channels) // (out_channels // color_groups), torch.arange(in_channels) // (in_channels // color_groups)
    first, second = (out_group.unsqueeze(0), in_group.unsqueeze(1)) if reversed_groups else (in_group.unsqueeze(0), out_group.unsqueeze(1))
    seen = first < second if type_a else first <= second  # (out, in), or (in, out) when reversed
    if reversed_groups:
        seen = seen.T
    if not centre_channels:  # the single-channel mask: the centre all 0 (A) or all 1 (B)
        seen = torch.full((out_channels, in_channels), not type_a)
    mask[:, :, centre, centre] = seen.float()
    return mask


_mask_types_swapped = partial(mask_formula, swap_types=True)


_mask_rows_below_kept = partial(mask_formula, rows_below=True)


_mask_centre_ignores_channels = partial(mask_formula, centre_channels=False)


_mask_groups_interleaved = partial(mask_formula, interleaved=True)


TYPES_SWAPPED = "your mask has type A and B the other way round: type A (first layer) hides the centre pixel's own colour group, type B (later layers) lets each group see itself"


ROWS_BELOW_KEPT = "your mask keeps the rows below the centre: only the right half of the centre row was cleared; every row below the centre is in the raster future and must be 0"


CENTRE_IGNORES_CHANNELS = "your centre ignores colour groups (all 0 for type A, all 1 for type B, the one-channel mask); at the centre output group g sees input groups < g (A) or ≤ g (B)"


GROUPS_INTERLEAVED = "your colour groups are interleaved (channel c in group c mod G); here groups are contiguous blocks: channel c of n is in group c // (n / G), as R, G, B feature blocks"


RGB_6 = {"kernel_size": 3, "mask_type": "A", "in_channels": 6, "out_channels": 6, "color_groups": 3}
