"""Properties of the vector-quantization exercise (q39, q40).

One module per exercise (registered in import order, the catalog's order); helpers used by
several exercises in ``_shared``, this topic's Hypothesis strategies in ``strategies``.
"""

from __future__ import annotations

from grader.properties.device import register_device_contracts

# Importing an exercise's module registers it: the catalog's order, which isort must not change.
# isort: off
from grader.properties.vq import vector_quantize  # noqa: F401
# isort: on
from grader.properties.vq.vector_quantize import _by_distance, _dot_product_nearest, _flat_indices, _loss_sums_channels, _no_permute

__all__ = ["_by_distance", "_dot_product_nearest", "_flat_indices", "_loss_sums_channels", "_no_permute"]

# Last, after every exercise of the topic: the device contract of each (grader/properties/device.py).
register_device_contracts("vq")
