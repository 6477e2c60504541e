"""Wrong implementations of the pixelcnn exercises."""

from __future__ import annotations

import torch
from torch import nn

from grader.properties import pixelcnn as props

# ----------------------------------------------------------------------------- causal_mask


def mask_float64(kernel_size, mask_type, in_channels=1, out_channels=1, color_groups=1):
    """Right pattern, but float64 (e.g. built with torch.ones(..., dtype=torch.float64))."""
    return props.mask_formula(kernel_size, mask_type, in_channels, out_channels, color_groups).double()


def mask_bool(kernel_size, mask_type, in_channels=1, out_channels=1, color_groups=1):
    """Right pattern, but a bool tensor."""
    return props.mask_formula(kernel_size, mask_type, in_channels, out_channels, color_groups).bool()


def mask_spatially_transposed(kernel_size, mask_type, in_channels=1, out_channels=1, color_groups=1):
    """Column-major order: columns to the left, and above the centre in its column."""
    return props.mask_formula(kernel_size, mask_type, in_channels, out_channels, color_groups).transpose(-1, -2).contiguous()


# ----------------------------------------------------------------------------- MaskedConv2d


class LayerDataMaskedInForward(props._Layer):
    """The classic weight.data *= mask in forward: causal, but it overwrites the stored weight."""

    def forward(self, x):
        self.weight.data *= self.mask
        return nn.Conv2d.forward(self, x)


class LayerPersistentMask(props._Layer):
    """Registers the mask as a persistent buffer: state_dict() gains a 'mask' key."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        mask = self.mask
        del self.mask
        self.register_buffer("mask", mask)


class LayerFloat32Inside(props._Layer):
    """Computes in float32 whatever the layer's dtype: loses float64."""

    def forward(self, x):
        return self._conv_forward(x.float(), (self.weight * self.mask).float(), self.bias.float())


class LayerMaskedWeightCached(props._Layer):
    """Computes weight · mask once, at the first forward, and reuses it: stale after an update."""

    def forward(self, x):
        if not hasattr(self, "cached"):
            self.cached = (self.weight * self.mask).detach()
        return self._conv_forward(x, self.cached, self.bias)


class LayerBiasDetached(props._Layer):
    """Detaches the bias: right outputs, but the bias never trains."""

    def forward(self, x):
        return self._conv_forward(x, self.weight * self.mask, self.bias.detach())


class LayerKernelFlipped(props._Layer):
    """A true convolution (flipped kernel) instead of nn.Conv2d's cross-correlation."""

    def forward(self, x):
        return self._conv_forward(x, (self.weight * self.mask).flip(-1, -2), self.bias)


# ----------------------------------------------------------------------------- sample


def sample_int64(model, shape, num_values, generator):
    """Returns the drawn indices as int64 instead of the default float dtype."""
    return props._sample_in_order(model, shape, generator, props.raster_positions(*shape[1:])).long()


def sample_starts_from_ones(model, shape, num_values, generator):
    """Starts from an image of ones instead of zeros: the first calls see made-up values."""
    x = torch.ones(shape, device=generator.device)
    with torch.no_grad():
        for c, i, j in props.raster_positions(*shape[1:]):
            x[:, c, i, j] = props._draw(model(x)[:, c, :, i, j], generator).to(x.dtype)
    return x


def sample_global_rng(model, shape, num_values, generator):
    """Ignores the generator: draws from torch's global random state."""
    x = torch.zeros(shape)
    with torch.no_grad():
        for c, i, j in props.raster_positions(*shape[1:]):
            probs = torch.softmax(model(x)[:, c, :, i, j], dim=-1)
            x[:, c, i, j] = torch.multinomial(probs, 1).squeeze(1).to(x.dtype)
    return x


def sample_with_autograd(model, shape, num_values, generator):
    """Right draws, but the model runs with autograd on (a graph per call)."""
    x = torch.zeros(shape, device=generator.device)
    for c, i, j in props.raster_positions(*shape[1:]):
        x[:, c, i, j] = props._draw(model(x)[:, c, :, i, j].detach(), generator).to(x.dtype)
    return x


def sample_sharpened(model, shape, num_values, generator):
    """Draws from softmax(2·logits) (temperature ½): the right support, the wrong probabilities."""
    x = torch.zeros(shape, device=generator.device)
    with torch.no_grad():
        for c, i, j in props.raster_positions(*shape[1:]):
            x[:, c, i, j] = props._draw(2 * model(x)[:, c, :, i, j], generator).to(x.dtype)
    return x


M, C, S = "pixelcnn.causal_mask", "pixelcnn.MaskedConv2d", "pixelcnn.sample"
CAUGHT_BY = {
    (M, "float32_of_weight_shape"): mask_float64,
    (M, "raster_order_off_centre"): props._mask_rows_below_kept,
    (M, "centre_colour_groups"): props._mask_groups_interleaved,
    (M, "known_answer"): props._mask_types_swapped,
    (M, "type_b_adds_only_same_group_centre"): props._mask_centre_ignores_channels,
    (M, "matches_reference"): props._mask_groups_reversed,
    (C, "same_padding_shape"): props._LayerNoPadding,
    (C, "ignores_future_pixels"): props._LayerRowsBelowKept,
    (C, "sees_every_earlier_pixel"): props._LayerCentreIgnoresChannels,
    (C, "known_answer"): props._LayerTypesSwapped,
    (C, "state_dict_has_conv_keys"): LayerPersistentMask,
    (C, "mask_holds_after_weight_update"): props._LayerMaskOnlyAtInit,
    (C, "forward_keeps_stored_weight"): LayerDataMaskedInForward,
    (C, "masked_weights_get_no_gradient"): props._LayerMaskOnlyAtInit,
    (C, "dtype_contract"): LayerFloat32Inside,
    (C, "matches_reference"): LayerKernelFlipped,
    (C, "gradients_match"): LayerBiasDetached,
    (S, "integer_values_as_floats"): sample_int64,
    (S, "one_call_before_each_draw"): props._sample_one_call_per_pixel,
    (S, "each_value_from_its_own_logits"): sample_starts_from_ones,
    (S, "pixel_frequencies_follow_softmax"): props._sample_greedy,
    (S, "images_follow_the_chain_rule"): props._sample_channel_outermost,
    (S, "uses_the_generator"): sample_global_rng,
    (S, "samples_without_autograd"): sample_with_autograd,
    (S, "matches_reference"): props._sample_column_major,
    (S, "pixel_frequencies_match_reference"): sample_sharpened,
}

def sample_exp_over_sum(model, shape, num_values, generator):
    """Probabilities exp(l)/Σexp(l): nan once exp overflows or underflows."""
    x = torch.zeros(shape, device=generator.device)
    with torch.no_grad():
        for c, i, j in props.raster_positions(*shape[1:]):
            e = model(x)[:, c, :, i, j].exp()
            x[:, c, i, j] = torch.multinomial(e / e.sum(dim=-1, keepdim=True), 1, generator=generator).squeeze(1).to(x.dtype)
    return x


CAUGHT_BY[(S, "stable_for_large_logits")] = sample_exp_over_sum
STABILITY_WRONG = [
    (S, "stable_for_large_logits", sample_exp_over_sum),
    (S, "stable_for_large_logits", props._sample_inverse_cdf_of_exp),
]


# More wrong variants, each caught by the named property (checked in tests/test_oracles_pixelcnn.py).
EXTRA = {
    (M, "float32_of_weight_shape"): mask_bool,
    (M, "raster_order_off_centre"): mask_spatially_transposed,
    (M, "centre_colour_groups"): props._mask_groups_reversed,
    (C, "mask_holds_after_weight_update"): LayerMaskedWeightCached,
    (C, "masked_weights_get_no_gradient"): LayerDataMaskedInForward,
    (C, "ignores_future_pixels"): props._LayerTypesSwapped,
    (C, "known_answer"): props._LayerRowsBelowKept,
    (S, "one_call_before_each_draw"): props._sample_column_major,
    (S, "each_value_from_its_own_logits"): props._sample_values_scaled,
    (S, "pixel_frequencies_follow_softmax"): props._sample_softmax_over_channels,
    (S, "images_follow_the_chain_rule"): props._sample_one_call_per_pixel,
    (S, "pixel_frequencies_match_reference"): props._sample_greedy,
}


# ==================================================================================================
# Device contracts (issue 17, item 2): wrong only on a GPU. Each runs right on the CPU; the
# follows_the_device property (grader/properties/device.py) catches it on a simulated CUDA device.
# DEVICE_VARIANTS lists further variants it must catch (tests/test_device_check.py).
# ==================================================================================================
from grader.reference import load_reference as _load_reference  # noqa: E402
from tests.harness import SOLUTIONS as _SOLUTIONS  # noqa: E402

_dref = _load_reference(_SOLUTIONS, "pixelcnn")


def pixel_mask_from_numpy(kernel_size, mask_type, in_channels=1, out_channels=1, color_groups=1):
    """The reference's mask through numpy and torch.from_numpy: always on the CPU."""
    return torch.from_numpy(_dref.causal_mask(kernel_size, mask_type, in_channels, out_channels, color_groups).numpy())


class MaskedConvMaskPlainAttribute(nn.Conv2d):
    """self.mask = ...: a plain attribute, which .to(device) leaves on the CPU."""

    def __init__(self, in_channels, out_channels, kernel_size, mask_type, color_groups=1):
        super().__init__(in_channels, out_channels, kernel_size, padding=kernel_size // 2)
        self.mask = _dref.causal_mask(kernel_size, mask_type, in_channels, out_channels, color_groups)

    def forward(self, x):
        return self._conv_forward(x, self.weight * self.mask, self.bias)


class MaskedConvMaskBuiltInForward(nn.Conv2d):
    """Builds the mask in every forward, on the default device."""

    def __init__(self, in_channels, out_channels, kernel_size, mask_type, color_groups=1):
        super().__init__(in_channels, out_channels, kernel_size, padding=kernel_size // 2)
        self.mask_args = (kernel_size, mask_type, in_channels, out_channels, color_groups)

    def forward(self, x):
        return self._conv_forward(x, self.weight * _dref.causal_mask(*self.mask_args), self.bias)


def sample_canvas_on_default_device(model, shape, num_values, generator):
    """x = torch.zeros(shape) without device=generator.device."""
    _, channels, height, width = shape
    x = torch.zeros(shape)
    with torch.no_grad():
        for i in range(height):
            for j in range(width):
                for c in range(channels):
                    probs = torch.softmax(model(x)[:, c, :, i, j], dim=-1)
                    x[:, c, i, j] = torch.multinomial(probs, 1, generator=generator).squeeze(1).to(x.dtype)
    return x


CAUGHT_BY[("pixelcnn.causal_mask", "follows_the_device")] = pixel_mask_from_numpy
CAUGHT_BY[("pixelcnn.MaskedConv2d", "follows_the_device")] = MaskedConvMaskPlainAttribute
CAUGHT_BY[("pixelcnn.sample", "follows_the_device")] = sample_canvas_on_default_device
DEVICE_VARIANTS = [("pixelcnn.MaskedConv2d", MaskedConvMaskBuiltInForward)]
