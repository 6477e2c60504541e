"""Exercises: pixelcnn — autoregressive image models (q30–q33).

Implement each function and class below, then run `grade pixelcnn` (or `grade q33`).
Convention: raster order — pixels row by row, left to right, and within a pixel the colour
channels in order (R, then G, then B). With ``color_groups`` groups, n channels are split
into contiguous blocks: channel c belongs to group c // (n / color_groups) (R = 0, G = 1, B = 2).
"""

from __future__ import annotations

import torch  # you will need it
from torch import Tensor, nn


def causal_mask(kernel_size: int, mask_type: str, in_channels: int = 1, out_channels: int = 1, color_groups: int = 1) -> Tensor:
    """The mask of a masked convolution in raster order (q33).

    Returns a float32 tensor (out_channels, in_channels, kernel_size, kernel_size), in the
    layout of nn.Conv2d's weight, with centre = kernel_size // 2:
        1 on every row above the centre row, and left of the centre in the centre row;
        0 right of the centre in its row, and on every row below;
        at the centre (centre, centre): output channel o (group g) sees input channel c
        (group h) iff h < g for mask_type "A", h ≤ g for mask_type "B".
    Channel counts are multiples of color_groups; with color_groups = 1 the centre is 0 for
    "A" and 1 for "B". Example: causal_mask(3, "A")[0, 0] = [[1, 1, 1], [1, 0, 0], [0, 0, 0]].
    Question (q33): why does only the first layer use type A, and how many weights of a 3×3
    kernel does each type keep?
    """
    # TODO(q33): ones above and left of the centre, then the colour-group rule at the centre.
    raise NotImplementedError("pixelcnn.causal_mask")


class MaskedConv2d(nn.Conv2d):
    """A convolution that only sees pixels earlier in raster order (q31, q33).

    MaskedConv2d(in_channels, out_channels, kernel_size, mask_type, color_groups=1) is an
    nn.Conv2d (with bias) with "same" padding (kernel_size is odd, padding = kernel_size // 2):
        forward(x: (B, in_channels, H, W)) -> (B, out_channels, H, W)
        = conv2d(x, weight · causal_mask(...), bias)
    Apply the mask inside forward, every call, so that it still holds after any optimizer
    step (masked weights then get zero gradient). state_dict() must have exactly nn.Conv2d's
    keys, weight and bias (keep the mask in a non-persistent buffer), and forward must never
    modify the stored weight. The layer keeps working after .to(dtype) / .to(device).
    Question (q31): why is training parallel over all pixels although generation is not?
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, mask_type: str, color_groups: int = 1) -> None:
        # TODO(q33): build the nn.Conv2d with "same" padding, register the mask as a buffer.
        raise NotImplementedError("pixelcnn.MaskedConv2d")

    def forward(self, x: Tensor) -> Tensor:
        # TODO(q31): convolve with the masked weight.
        raise NotImplementedError("pixelcnn.MaskedConv2d")


def sample(model: nn.Module, shape: tuple[int, int, int, int], num_values: int, generator: torch.Generator) -> Tensor:
    """Generate images pixel by pixel in raster order (q30, q32).

    shape = (B, C, H, W); model(x) maps x: (B, C, H, W) to logits (B, C, num_values, H, W).
    x starts as zeros (default float dtype, on generator.device). Then
        for i in range(H): for j in range(W): for c in range(C):
            logits = model(x)                               # a fresh call for every value
            x[:, c, i, j] ~ softmax(logits[:, c, :, i, j])  # over the num_values axis, per image
    drawing with the given generator (e.g. torch.multinomial(probs, 1, generator=generator)).
    That is H·W·C model calls. Run under torch.no_grad(): no autograd graph is built, and x is
    returned without grad, holding integer values in [0, num_values) as floats.
    Questions (q30, q32): why is generation sequential, and why must channel c at a pixel be
    drawn after channels < c there, with its own model call?
    """
    # TODO(q30): the triple loop in raster order, one model call and one draw per value.
    raise NotImplementedError("pixelcnn.sample")
