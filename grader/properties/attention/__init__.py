"""Properties of the attention exercises (q43, q56–q63, q70–q72, q77–q79).

One module per exercise (its properties and known mistakes), registered in this order;
strategies.py draws the topic's inputs. The names below are re-exported for tests/wrong/attention.py
and the topics that reuse them.
"""

# Importing the modules registers the exercises: this order is the catalog's.
# isort: off
from grader.properties.attention import scaled_dot_product_attention, causal_mask, multi_head_attention, online_softmax_attention, padding_mask, prefix_lm_mask  # noqa: F401
from grader.properties.attention.scaled_dot_product_attention import _no_scaling, _scaled_by_d, _softmax_over_queries
from grader.properties.attention.causal_mask import _future_mask, _strictly_lower, _top_left_aligned
from grader.properties.attention.multi_head_attention import _mha_heads_without_transpose, _mha_mask_tiled_across_batch, _mha_scaled_by_model_dim, _mha_weights_not_transposed, mha_formula, torch_attn_mask
# isort: on

__all__ = ["_future_mask", "_mha_heads_without_transpose", "_mha_mask_tiled_across_batch", "_mha_scaled_by_model_dim", "_mha_weights_not_transposed", "_no_scaling", "_scaled_by_d", "_softmax_over_queries", "_strictly_lower", "_top_left_aligned", "mha_formula", "torch_attn_mask"]
