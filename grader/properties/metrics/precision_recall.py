"""metrics.precision_recall: k-NN precision and recall of generated against real features; its
properties and known mistakes.
"""

from __future__ import annotations

import math

import torch
from hypothesis import assume, given
from hypothesis import strategies as st

from grader import strategies as gs
from grader.properties.api import Context, Exercise, Mistake
from grader.properties.common import unless_right as _unless_right
from grader.properties.judge_only import judge_only
from grader.properties.metrics._shared import _is_float, _type_name
from grader.properties.metrics.strategies import far_from_origin_real_fake, real_fake_sets
from grader.properties.stability import EXPANDED_DISTANCE, assert_stable


def _distances(a, b):
    # torch.cdist from the differences (not from ‖a‖² + ‖b‖² − 2a·b): exactly 0 between equal
    # rows, as the ties and duplicates checks need; an oracle independent of the reference's code.
    return torch.cdist(a, b, compute_mode="donot_use_mm_for_euclid_dist")


@judge_only
def _share(samples, manifold, radii):
    return (_distances(samples, manifold) <= radii[None, :]).any(dim=1).double().mean().item()


@judge_only
def _pr_with_radii(real, fake, radius_fn):
    return _share(fake, real, radius_fn(real)), _share(real, fake, radius_fn(fake))


@judge_only
def _pr_right(real_features, fake_features, k=3):
    return _pr_with_radii(real_features, fake_features, lambda x: _distances(x, x).kthvalue(k + 1, dim=1).values)


def _pr_self_not_excluded(real_features, fake_features, k=3):
    # The k-th smallest distance counts the point itself (distance 0) as its first neighbour.
    return _pr_with_radii(real_features, fake_features, lambda x: _distances(x, x).kthvalue(k, dim=1).values)


def _pr_topk_largest(real_features, fake_features, k=3):
    # torch.topk returns the largest values unless largest=False.
    return _pr_with_radii(real_features, fake_features, lambda x: _distances(x, x).topk(k + 1, dim=1).values[:, -1])


def _pr_swapped(real_features, fake_features, k=3):
    p, r = _pr_right(real_features, fake_features, k)
    return r, p


def _pr_zeros_masked(real_features, fake_features, k=3):
    def radii(x):
        d = _distances(x, x)
        return d.masked_fill(d == 0, math.inf).kthvalue(k, dim=1).values  # drops duplicates too

    return _pr_with_radii(real_features, fake_features, radii)


def _expanded_distances(a, b):
    d2 = a.pow(2).sum(1)[:, None] + b.pow(2).sum(1)[None, :] - 2 * a @ b.T  # ‖a‖² + ‖b‖² − 2a·b
    return d2.clamp(min=0).sqrt()


def _pr_expanded(real_features, fake_features, k=3):
    def share(samples, manifold, radii):
        return (_expanded_distances(samples, manifold) <= radii[None, :]).any(dim=1).double().mean().item()

    def radii(x):
        return _expanded_distances(x, x).kthvalue(k + 1, dim=1).values

    return share(fake_features, real_features, radii(real_features)), share(real_features, fake_features, radii(fake_features))


precision_recall = Exercise(
    "metrics.precision_recall",
    mistakes=[
        Mistake("self_not_excluded", "your output counts each point as its own nearest neighbour (distance 0): the radius must be the k-th neighbour excluding the point itself, the (k+1)-th smallest distance", _pr_self_not_excluded),
        Mistake("topk_largest", "your radii are the k-th largest distances (torch.topk returns the largest unless largest=False); the radius is the distance to the k-th nearest neighbour", _pr_topk_largest),
        Mistake("swapped", "your (precision, recall) are swapped: precision is the share of fakes inside the real manifold (realism), recall the share of reals inside the fake manifold (coverage)", _unless_right(_pr_swapped, _pr_right)),
        Mistake("zeros_masked", "your radii skip every distance 0, so a duplicate of a point is not counted as its neighbour; exclude only the point itself (e.g. take the (k+1)-th smallest distance)", _unless_right(_pr_zeros_masked, _pr_right)),
        Mistake("expanded_distance", f"your precision and recall equal those from distances through ‖a‖² + ‖b‖² − 2a·b, whose rounding moves radii and memberships: {EXPANDED_DISTANCE}", _unless_right(_pr_expanded, _pr_right)),
    ],
)


def _pr_inputs(real: torch.Tensor, fake: torch.Tensor, k: int) -> dict:
    return {"real_features": real, "fake_features": fake, "k": k}


def _ties_at_radius(real: torch.Tensor, fake: torch.Tensor, k: int, rel: float = 1e-5) -> bool:
    """Whether some distance is (nearly) equal to a radius it is compared with: not graded."""
    r, f = real.double(), fake.double()
    for samples, manifold in ((f, r), (r, f)):
        radii = _distances(manifold, manifold).kthvalue(k + 1, dim=1).values  # (Nm,)
        gap = (_distances(samples, manifold) - radii[None, :]).abs()
        if bool((gap <= rel * (1 + radii[None, :])).any()):
            return True
    return False


def _check_shares(ctx: Context, got: object, inputs: dict) -> None:
    ok = isinstance(got, tuple) and len(got) == 2 and all(_is_float(v) for v in got)
    ctx.check(ok, f"expected a tuple of two Python floats (precision, recall), got {_type_name(got)}", inputs=inputs)
    ctx.check(all(0.0 <= v <= 1.0 for v in got), f"precision and recall are shares, in [0, 1]; got {got}", inputs=inputs)


@precision_recall.property("swap_symmetry", "swapping the real and fake sets swaps precision and recall", tier="public")
@given(a=real_fake_sets())
def _pr_swap_symmetry(ctx: Context, a: dict) -> None:
    real, fake, k = a["real"], a["fake"], a["k"]
    assume(not _ties_at_radius(real, fake, k))
    p, r = ctx.call(real, fake, k=k)
    got = ctx.call(fake, real, k=k)
    ctx.assert_close(got, (r, p), inputs=_pr_inputs(fake, real, k), what="(precision, recall) with the sets swapped")


@precision_recall.property("identical_sets", "a set compared with (a shuffled copy of) itself has precision 1 and recall 1", tier="public")
@given(a=real_fake_sets(), seed=gs.seeds())
def _pr_identical(ctx: Context, a: dict, seed: int) -> None:
    x, k = a["real"], a["k"]
    shuffled = x[torch.randperm(x.shape[0], generator=gs.generator(seed))]
    got = ctx.call(x, shuffled, k=k)
    ctx.assert_close(got, (1.0, 1.0), inputs=_pr_inputs(x, shuffled, k))


@precision_recall.property("bounded_and_monotone_in_k", "precision and recall are shares in [0, 1], and a larger k (larger radii) never lowers them", tier="public")
@given(a=real_fake_sets(max_k=2))
def _pr_monotone(ctx: Context, a: dict) -> None:
    real, fake, k = a["real"], a["fake"], a["k"]
    assume(not _ties_at_radius(real, fake, k))
    got = ctx.call(real, fake, k=k)
    _check_shares(ctx, got, _pr_inputs(real, fake, k))
    if k + 1 < min(real.shape[0], fake.shape[0]):
        assume(not _ties_at_radius(real, fake, k + 1))
        wider = ctx.call(real, fake, k=k + 1)
        _check_shares(ctx, wider, _pr_inputs(real, fake, k + 1))
        ctx.check(wider[0] >= got[0] and wider[1] >= got[1], f"with k = {k} (precision, recall) = {got}, with k = {k + 1} they fell to {wider}", inputs=_pr_inputs(real, fake, k + 1))


@precision_recall.property("duplicates_are_neighbours", "when every real point appears twice, k = 1 radii are 0, so fakes near (not on) the reals have precision 0", tier="public")
@given(n=gs.dims(2, 5), d=gs.dims(1, 4), dtype=gs.float_dtypes(), seed=gs.seeds())
def _pr_duplicates(ctx: Context, n: int, d: int, dtype: torch.dtype, seed: int) -> None:
    x = gs.make_tensor((n, d), dtype, seed)
    real = torch.cat([x, x])[torch.randperm(2 * n, generator=gs.generator(seed + 1))]  # each point twice
    fake = (x.double() + gs.make_tensor((n, d), torch.float64, seed + 2, scale=0.05)).to(dtype)
    got = ctx.call(real, fake, k=1)
    _check_shares(ctx, got, _pr_inputs(real, fake, 1))
    ctx.check(got[0] == 0.0, f"every real point has a duplicate at distance 0, so its k = 1 radius is 0 and no fake is inside; got precision {got[0]}", inputs=_pr_inputs(real, fake, 1))


@precision_recall.property("known_answer_1d", "reals 0, 1, 3, 7 and fakes 0.5, 2.5, 12, −1.5 (moved and scaled together) with k = 1 give precision 0.5 and recall 1", tier="public")
@given(dtype=gs.float_dtypes(), d=gs.dims(1, 4), seed=gs.seeds(), scale=st.sampled_from([0.5, 1.0, 3.0]))
def _pr_known_answer(ctx: Context, dtype: torch.dtype, d: int, seed: int, scale: float) -> None:
    g = gs.generator(seed)
    direction = torch.randn(d, generator=g, dtype=torch.float64)
    direction = direction / direction.norm()  # the 1-D points on a random line: same distances
    shift = torch.randn(d, generator=g, dtype=torch.float64)

    def place(ts: list[float]) -> torch.Tensor:
        t = torch.tensor(ts, dtype=torch.float64)[torch.randperm(len(ts), generator=g)]
        return (t[:, None] * scale * direction + shift).to(dtype)  # (4, D)

    real, fake = place([0.0, 1.0, 3.0, 7.0]), place([0.5, 2.5, 12.0, -1.5])
    ctx.assert_close(ctx.call(real, fake, k=1), (0.5, 1.0), inputs=_pr_inputs(real, fake, 1))


@precision_recall.property("matches_reference", "precision and recall equal the reference's on random point sets", tier="hidden")
@given(a=real_fake_sets())
def _pr_matches_reference(ctx: Context, a: dict) -> None:
    real, fake, k = a["real"], a["fake"], a["k"]
    assume(not _ties_at_radius(real, fake, k))
    ctx.assert_close(ctx.call(real, fake, k=k), ctx.ref(real, fake, k=k), inputs=_pr_inputs(real, fake, k))


@precision_recall.property("default_k", "without a k argument, k = 3", tier="hidden")
@given(a=real_fake_sets(max_k=3).filter(lambda a: min(a["real"].shape[0], a["fake"].shape[0]) > 3))
def _pr_default_k(ctx: Context, a: dict) -> None:
    real, fake = a["real"], a["fake"]
    assume(not _ties_at_radius(real, fake, 3))
    ctx.assert_close(ctx.call(real, fake), ctx.ref(real, fake, k=3), inputs=_pr_inputs(real, fake, 3))


@precision_recall.property("dtype_contract", "returns two Python floats for float32 and float64 inputs", tier="public")
@given(a=real_fake_sets())
def _pr_dtype_contract(ctx: Context, a: dict) -> None:
    _check_shares(ctx, ctx.call(a["real"], a["fake"], k=a["k"]), _pr_inputs(a["real"], a["fake"], a["k"]))



@precision_recall.property("far_from_origin", "sets far from the origin (|coordinates| ≈ 4e3 in float32, 3e8 in float64) give the same precision and recall as the sets moved to the origin", tier="public")
@given(a=far_from_origin_real_fake())
def _pr_far_from_origin(ctx: Context, a: dict) -> None:
    real, fake, k = a["real"], a["fake"], a["k"]
    assume(not _ties_at_radius(a["real_centred"], a["fake_centred"], k))
    expected = _pr_right(a["real_centred"].double(), a["fake_centred"].double(), k)
    got = ctx.call(real, fake, k=k)
    assert_stable(ctx, got, expected, inputs=_pr_inputs(real, fake, k), what="(precision, recall)", formula=EXPANDED_DISTANCE)
