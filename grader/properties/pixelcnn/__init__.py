"""Properties of the pixelcnn exercises: causal masks, masked convolutions, raster-order
sampling (q30–q33).

MaskedConv2d is a class exercise: the judge builds the student's layer (``ctx.new``), moves it
with ``.to``, reads and loads its weights with ``state_dict`` / ``load_state_dict`` calls and
probes its Jacobian with vector-Jacobian products. ``sample`` is stochastic: it is graded on the
mock models of ``grader.fixtures``, whose logits make the order of its calls and draws show in
the image, and by seeded statistical tests on large batches.

One module per exercise (registered in import order, the catalog's order); helpers used by
several exercises in ``_shared``, this topic's Hypothesis strategies in ``strategies``.
"""

from __future__ import annotations

from grader.properties.device import register_device_contracts

# Importing an exercise's module registers it: the catalog's order, which isort must not change.
# isort: off
from grader.properties.pixelcnn import causal_mask, masked_conv2d, sample  # noqa: F401
# isort: on
from grader.properties.pixelcnn._shared import (
    _mask_centre_ignores_channels,
    _mask_groups_interleaved,
    _mask_rows_below_kept,
    _mask_types_swapped,
    mask_by_loop,
    mask_formula,
)
from grader.properties.pixelcnn.causal_mask import _mask_groups_reversed
from grader.properties.pixelcnn.masked_conv2d import (
    _Layer,
    _LayerCentreIgnoresChannels,
    _LayerMaskOnlyAtInit,
    _LayerNoPadding,
    _LayerRowsBelowKept,
    _LayerTypesSwapped,
)
from grader.properties.pixelcnn.sample import (
    DRAWS,
    _draw,
    _sample_channel_outermost,
    _sample_column_major,
    _sample_greedy,
    _sample_in_order,
    _sample_inverse_cdf_of_exp,
    _sample_one_call_per_pixel,
    _sample_softmax_over_channels,
    _sample_values_scaled,
    image_codes,
    joint_probabilities,
    raster_positions,
)

__all__ = ["DRAWS", "_Layer", "_LayerCentreIgnoresChannels", "_LayerMaskOnlyAtInit", "_LayerNoPadding", "_LayerRowsBelowKept", "_LayerTypesSwapped", "_draw", "_mask_centre_ignores_channels", "_mask_groups_interleaved", "_mask_groups_reversed", "_mask_rows_below_kept", "_mask_types_swapped", "_sample_channel_outermost", "_sample_column_major", "_sample_greedy", "_sample_in_order", "_sample_inverse_cdf_of_exp", "_sample_one_call_per_pixel", "_sample_softmax_over_channels", "_sample_values_scaled", "image_codes", "joint_probabilities", "mask_by_loop", "mask_formula", "raster_positions"]

# Last, after every exercise of the topic: the device contract of each (grader/properties/device.py).
register_device_contracts("pixelcnn")
