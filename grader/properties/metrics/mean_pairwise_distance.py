"""metrics.mean_pairwise_distance: the mean Euclidean distance over distinct pairs of samples; its
properties and known mistakes.
"""

from __future__ import annotations

import torch
from hypothesis import given
from hypothesis import strategies as st

from grader import strategies as gs
from grader.properties.api import Context, Exercise, Mistake
from grader.properties.common import unless_right
from grader.properties.metrics._shared import _is_float, _tol, _type_name
from grader.properties.metrics.strategies import far_from_origin_features, feature_samples
from grader.properties.stability import EXPANDED_DISTANCE, assert_stable


def _mpd_with_self_pairs(features):
    return torch.cdist(features, features).mean().item()  # the N zero self-distances count


def _mpd_squared(features):
    return (torch.pdist(features) ** 2).mean().item()


def _mpd_double_counted(features):
    n = features.shape[0]
    return (torch.cdist(features, features).sum() / (n * (n - 1) / 2)).item()  # ordered pairs over unordered count


def _mpd_to_centroid(features):
    return (features - features.mean(dim=0)).norm(dim=1).mean().item()


def _mpd_expanded(features):
    sq = features.pow(2).sum(1)
    d2 = sq[:, None] + sq[None, :] - 2 * features @ features.T
    i, j = torch.triu_indices(len(features), len(features), 1)
    return d2[i, j].clamp(min=0).sqrt().mean().item()


def _mpd_right(features):
    # The upper triangle of the full distance matrix: an oracle written apart from the reference.
    n = features.shape[0]
    i, j = torch.triu_indices(n, n, 1)
    return torch.cdist(features, features, compute_mode="donot_use_mm_for_euclid_dist")[i, j].mean().item()


pairwise = Exercise(
    "metrics.mean_pairwise_distance",
    mistakes=[
        Mistake("self_pairs_included", "your output averages the full N×N distance matrix, zero diagonal included; average over the N(N − 1)/2 pairs i < j", _mpd_with_self_pairs),
        Mistake("squared_distances", "your output averages squared distances; the score is the mean Euclidean distance", _mpd_squared),
        Mistake("double_counted", "your output sums both (i, j) and (j, i) but divides by the N(N − 1)/2 unordered pairs: each distance is counted twice", _mpd_double_counted),
        Mistake("expanded_distance", f"your output equals distances from ‖a‖² + ‖b‖² − 2a·b: {EXPANDED_DISTANCE}", unless_right(_mpd_expanded, _mpd_right)),
        Mistake("distance_to_centroid", "your output is the mean distance to the centroid; the score averages distances between pairs of samples", _mpd_to_centroid),
    ],
)


@pairwise.property("known_answer", "points at 0, 1 and 3 on a line (times s, anywhere in space) have mean pairwise distance 2·s", tier="public")
@given(d=gs.dims(1, 4), dtype=gs.float_dtypes(), seed=gs.seeds(), s=st.sampled_from([0.5, 1.0, 4.0]))
def _mpd_known_answer(ctx: Context, d: int, dtype: torch.dtype, seed: int, s: float) -> None:
    g = gs.generator(seed)
    direction = torch.randn(d, generator=g, dtype=torch.float64)
    t = torch.tensor([0.0, 1.0, 3.0], dtype=torch.float64)[torch.randperm(3, generator=g)]
    x = (t[:, None] * s * direction / direction.norm() + torch.randn(d, generator=g, dtype=torch.float64)).to(dtype)  # (3, D)
    ctx.assert_close(ctx.call(x), 2.0 * s, inputs={"features": x}, **_tol(ctx, dtype, scale=s))


@pairwise.property("translation_and_permutation_invariant", "moving all points together or reordering the rows does not change the score", tier="public")
@given(x=feature_samples(), seed=gs.seeds())
def _mpd_invariant(ctx: Context, x: torch.Tensor, seed: int) -> None:
    got = ctx.call(x)
    moved = x + gs.make_tensor((x.shape[1],), x.dtype, seed, scale=3.0)
    shuffled = x[torch.randperm(x.shape[0], generator=gs.generator(seed))]
    tol = _tol(ctx, x.dtype, scale=abs(got) if isinstance(got, float) else 1.0)
    ctx.assert_close(ctx.call(moved), got, inputs={"features": moved}, what="the score of the translated points", **tol)
    ctx.assert_close(ctx.call(shuffled), got, inputs={"features": shuffled}, what="the score of the reordered rows", **tol)


@pairwise.property("scales_linearly", "scaling all features by c > 0 scales the score by c", tier="public")
@given(x=feature_samples(), c=st.sampled_from([0.1, 3.0, 10.0]))
def _mpd_scales(ctx: Context, x: torch.Tensor, c: float) -> None:
    got = ctx.call(x)
    scaled = x * c
    ctx.assert_close(ctx.call(scaled), got * c, inputs={"features": scaled}, what=f"the score of features·{c}", **_tol(ctx, x.dtype, scale=c))


@pairwise.property("matches_reference", "equals the reference on random features", tier="hidden")
@given(x=feature_samples())
def _mpd_matches_reference(ctx: Context, x: torch.Tensor) -> None:
    ctx.assert_close(ctx.call(x), ctx.ref(x), inputs={"features": x}, **_tol(ctx, x.dtype))


@pairwise.property("dtype_contract", "returns a Python float for float32 and float64 inputs; float64 inputs keep float64 range (features of size 1e39 overflow float32)", tier="public")
@given(x=feature_samples())
def _mpd_dtype_contract(ctx: Context, x: torch.Tensor) -> None:
    got = ctx.call(x)
    ctx.check(_is_float(got), f"expected a Python float, got {_type_name(got)}", inputs={"features": x})
    if x.dtype == torch.float64:
        huge = x * 1e39  # beyond float32's largest value, 3.4e38
        rtol, _ = ctx.tolerance(x.dtype)
        ctx.assert_close(ctx.call(huge), got * 1e39, inputs={"features": huge}, what="the score of features·1e39 (is there a float32 round trip?)", rtol=rtol * 10, atol=0.0)



@pairwise.property("far_from_origin", "features far from the origin (|coordinates| ≈ 4e3 in float32, 3e8 in float64) give the same score as the features moved to the origin", tier="public")
@given(a=far_from_origin_features())
def _mpd_far_from_origin(ctx: Context, a: dict) -> None:
    x = a["features"]
    expected = torch.pdist(a["centred"].double()).mean().item()
    assert_stable(ctx, ctx.call(x), expected, inputs={"features": x}, what="the score", formula=EXPANDED_DISTANCE, **_tol(ctx, x.dtype))
