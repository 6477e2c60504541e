"""Reference solutions: pixelcnn — autoregressive image models (q30–q33).

Raster order: pixels row by row, left to right; within a pixel, colour channels in
order (R, then G, then B). Channels are split into ``color_groups`` contiguous blocks.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


def causal_mask(kernel_size: int, mask_type: str, in_channels: int = 1, out_channels: int = 1, color_groups: int = 1) -> Tensor:
    """Float32 mask (out_channels, in_channels, k, k) of a masked convolution in raster order (q33).

    1 on every row above the centre row and left of the centre in its row; 0 right of the
    centre and below. At the centre, output group g sees input groups h < g (type "A")
    or h ≤ g (type "B"); channel c of n channels is in group c // (n / color_groups).
    """
    if mask_type not in ("A", "B"):
        raise ValueError(f"mask_type must be 'A' or 'B', not {mask_type!r}")
    centre = kernel_size // 2
    mask = torch.zeros(out_channels, in_channels, kernel_size, kernel_size)  # float32
    mask[:, :, :centre, :] = 1  # rows above the centre row: all already generated
    mask[:, :, centre, :centre] = 1  # the centre row, left of the centre: generated too
    # The centre pixel itself is half-known: its earlier colour groups are drawn, the rest are not.
    out_group = torch.arange(out_channels) // (out_channels // color_groups)  # (out,), contiguous blocks
    in_group = torch.arange(in_channels) // (in_channels // color_groups)  # (in,)
    if mask_type == "A":
        # First layer: its input is the image, and group g's own value is what it predicts.
        visible = in_group.unsqueeze(0) < out_group.unsqueeze(1)  # (out, in)
    else:
        # Later layers: feature group g depends only on image groups ≤ g, so it may see itself.
        visible = in_group.unsqueeze(0) <= out_group.unsqueeze(1)  # (out, in)
    mask[:, :, centre, centre] = visible.float()
    return mask


class MaskedConv2d(nn.Conv2d):
    """A 'same'-padded convolution whose kernel only sees the raster past (q31, q33).

    MaskedConv2d(in_channels, out_channels, kernel_size, mask_type, color_groups=1):
    forward(x: (B, in, H, W)) -> (B, out, H, W) computed with weight · causal_mask.
    state_dict() holds exactly nn.Conv2d's keys (weight, bias); the stored weight is never changed.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, mask_type: str, color_groups: int = 1) -> None:
        super().__init__(in_channels, out_channels, kernel_size, padding=kernel_size // 2)  # odd k: output keeps H × W
        mask = causal_mask(kernel_size, mask_type, in_channels, out_channels, color_groups)
        # A buffer follows .to(device / dtype); non-persistent keeps it out of state_dict().
        self.register_buffer("mask", mask, persistent=False)

    def forward(self, x: Tensor) -> Tensor:
        # Masking in every forward (not once in __init__) is what keeps the layer causal after
        # optimizer steps: the masked entries get zero gradient and never reach the output,
        # whatever values the optimizer leaves in the stored weight.
        return self._conv_forward(x, self.weight * self.mask, self.bias)


def sample(model: nn.Module, shape: tuple[int, int, int, int], num_values: int, generator: torch.Generator) -> Tensor:
    """Draw images pixel by pixel in raster order (q30, q32).

    shape = (B, C, H, W); model(x) maps x (B, C, H, W) to logits (B, C, num_values, H, W).
    For i in rows, j in columns, c in channels: call the model on the current x and draw
    x[:, c, i, j] from softmax(logits[:, c, :, i, j]) with the generator. Returns x (default
    float dtype, on the generator's device) holding integers in [0, num_values), without grad.
    """
    _, channels, height, width = shape
    x = torch.zeros(shape, device=generator.device)  # default float dtype; undrawn pixels stay 0
    with torch.no_grad():  # H·W·C forward passes: no autograd graph is needed for any of them
        for i in range(height):
            for j in range(width):
                for c in range(channels):
                    # A fresh call for every channel: the logits of channel c at (i, j) depend on
                    # the channels < c just drawn there (the centre of a type-A/B mask).
                    logits = model(x)[:, c, :, i, j]  # (B, num_values)
                    probs = torch.softmax(logits, dim=-1)  # over the values, per image
                    drawn = torch.multinomial(probs, 1, generator=generator)  # (B, 1) int64
                    x[:, c, i, j] = drawn.squeeze(1).to(x.dtype)
    return x
