"""Properties of the transformer exercises (q64–q69, q72).

One module per exercise, holding its properties and its known mistakes; the modules are
imported in the order their exercises are listed.
"""

from __future__ import annotations

from grader.properties.device import register_device_contracts

# isort: off
# Importing an exercise module registers it: this order is the order of the topic's exercises.
from grader.properties.transformer import layer_norm as layer_norm
from grader.properties.transformer import sinusoidal_position_encoding as sinusoidal_position_encoding
from grader.properties.transformer import feed_forward as feed_forward
from grader.properties.transformer import encoder_block as encoder_block
from grader.properties.transformer import decoder_block as decoder_block
# isort: on

# Known mistakes and helpers that tests/wrong/ builds its wrong implementations from.
from grader.properties.transformer._blocks import _attend as _attend
from grader.properties.transformer._blocks import _ffn as _ffn
from grader.properties.transformer._blocks import _ln as _ln
from grader.properties.transformer._blocks import _residual as _residual
from grader.properties.transformer.decoder_block import _dec_mask_hides_diagonal as _dec_mask_hides_diagonal
from grader.properties.transformer.decoder_block import _dec_memory_normalized as _dec_memory_normalized
from grader.properties.transformer.decoder_block import _dec_no_causal_mask as _dec_no_causal_mask
from grader.properties.transformer.decoder_block import _dec_norm_placement_swapped as _dec_norm_placement_swapped
from grader.properties.transformer.decoder_block import decoder_formula as decoder_formula
from grader.properties.transformer.encoder_block import _enc_norm1_twice as _enc_norm1_twice
from grader.properties.transformer.encoder_block import _enc_norm_placement_swapped as _enc_norm_placement_swapped
from grader.properties.transformer.encoder_block import encoder_formula as encoder_formula
from grader.properties.transformer.feed_forward import _ff_relu_before_bias as _ff_relu_before_bias
from grader.properties.transformer.feed_forward import _ff_relu_on_output as _ff_relu_on_output
from grader.properties.transformer.layer_norm import _ln_eps_outside_sqrt as _ln_eps_outside_sqrt
from grader.properties.transformer.layer_norm import _ln_unbiased_variance as _ln_unbiased_variance
from grader.properties.transformer.sinusoidal_position_encoding import _pe_concatenated_halves as _pe_concatenated_halves
from grader.properties.transformer.sinusoidal_position_encoding import _pe_exponent_per_column as _pe_exponent_per_column
from grader.properties.transformer.sinusoidal_position_encoding import _pe_float64 as _pe_float64
from grader.properties.transformer.sinusoidal_position_encoding import _pe_formula as _pe_formula
from grader.properties.transformer.sinusoidal_position_encoding import _pe_sin_cos_swapped as _pe_sin_cos_swapped

# Last, after every exercise of the topic: the device contract of each (grader/properties/device.py).
register_device_contracts("transformer")
