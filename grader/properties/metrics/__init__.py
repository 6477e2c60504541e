"""Properties of the metrics exercises (q27–q29, q36).

Most of these metrics return Python floats. ``ctx.assert_close`` compares a float with
float64 tolerances unless told otherwise, so every comparison passes the tolerance of the
inputs' dtype explicitly (``_tol``).

One module per exercise (its properties and known mistakes), registered in this order;
strategies.py draws the topic's inputs. The names below are re-exported for tests/wrong/metrics.py
and the topics that reuse them.
"""

# Importing the modules registers the exercises: this order is the catalog's.
# isort: off
from grader.properties.device import register_device_contracts
from grader.properties.metrics import inception_score, feature_statistics, frechet_distance, precision_recall, mean_pairwise_distance  # noqa: F401
from grader.properties.metrics.inception_score import _contiguous_splits, _is_global_marginal, _is_mean_of_exp, _is_no_exp, _is_reversed_kl, _mean_std
from grader.properties.metrics.feature_statistics import _fs_biased, _fs_not_centered
from grader.properties.metrics.frechet_distance import _fd_elementwise_sqrt, _fd_no_factor_two, _fd_no_sqrt, _fd_norm_not_squared, _fd_product_of_roots, _fd_real_before_sqrt
from grader.properties.metrics.precision_recall import _distances, _pr_swapped, _pr_topk_largest, _pr_zeros_masked, _share
from grader.properties.metrics.mean_pairwise_distance import _mpd_squared, _mpd_to_centroid, _mpd_with_self_pairs
# isort: on

__all__ = ["_contiguous_splits", "_distances", "_fd_elementwise_sqrt", "_fd_no_factor_two", "_fd_no_sqrt", "_fd_norm_not_squared", "_fd_product_of_roots", "_fd_real_before_sqrt", "_fs_biased", "_fs_not_centered", "_is_global_marginal", "_is_mean_of_exp", "_is_no_exp", "_is_reversed_kl", "_mean_std", "_mpd_squared", "_mpd_to_centroid", "_mpd_with_self_pairs", "_pr_swapped", "_pr_topk_largest", "_pr_zeros_masked", "_share"]

# Last, after every exercise of the topic: the device contract of each (grader/properties/device.py).
register_device_contracts("metrics")
