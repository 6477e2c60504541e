"""Properties of the clip exercises (q22, q23, q34).

logit_scale is drawn as a Python float or a 0-d tensor, up to ln 100: logits then reach
±100, so absolute tolerances grow with exp(logit_scale) (``_tol``).

One module per exercise, holding its properties and its known mistakes; the modules are
imported in the order their exercises are listed.
"""

from __future__ import annotations

from grader.properties.device import register_device_contracts

# isort: off
# Importing an exercise module registers it: this order is the order of the topic's exercises.
from grader.properties.clip import clip_loss as clip_loss
from grader.properties.clip import zero_shot_probs as zero_shot_probs
# isort: on

# Known mistakes and helpers that tests/wrong/ builds its wrong implementations from.
from grader.properties.clip._shared import _logits as _logits
from grader.properties.clip._shared import _symmetric_ce as _symmetric_ce
from grader.properties.clip.clip_loss import _loss_divided_by_scale as _loss_divided_by_scale
from grader.properties.clip.clip_loss import _loss_image_to_text_only as _loss_image_to_text_only
from grader.properties.clip.clip_loss import _loss_no_exp as _loss_no_exp
from grader.properties.clip.clip_loss import _loss_no_normalization as _loss_no_normalization
from grader.properties.clip.clip_loss import _loss_right as _loss_right
from grader.properties.clip.zero_shot_probs import _probs_divided_by_scale as _probs_divided_by_scale
from grader.properties.clip.zero_shot_probs import _probs_global_norm as _probs_global_norm
from grader.properties.clip.zero_shot_probs import _probs_no_exp as _probs_no_exp
from grader.properties.clip.zero_shot_probs import _probs_no_normalization as _probs_no_normalization
from grader.properties.clip.zero_shot_probs import _probs_over_images as _probs_over_images
from grader.properties.clip.zero_shot_probs import _probs_right as _probs_right

# Last, after every exercise of the topic: the device contract of each (grader/properties/device.py).
register_device_contracts("clip")
