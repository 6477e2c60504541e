"""metrics.inception_score: the mean and std over splits of exp(E KL(p(y|x) ‖ p(y))); its
properties and known mistakes.
"""

from __future__ import annotations

import math

import torch
from hypothesis import example, given
from hypothesis import strategies as st

from grader.properties.api import Context, Exercise, Mistake
from grader.properties.common import unless_right as _unless_right
from grader.properties.judge_only import judge_only
from grader.properties.metrics import strategies as gs  # its strategies, and the shared ones it imports
from grader.properties.metrics._shared import _is_float, _tol, _type_name


def _contiguous_splits(probs, splits):
    n = probs.shape[0]
    return [probs[i * n // splits : (i + 1) * n // splits] for i in range(splits)]


def _kl_rows(part, marginal):
    return (torch.special.xlogy(part, part) - torch.special.xlogy(part, marginal)).sum(dim=1)


def _mean_std(scores, ddof=0):
    s = torch.stack(scores)
    var = ((s - s.mean()) ** 2).sum() / (len(scores) - ddof)  # 0/0 = nan for one split, no warning
    return s.mean().item(), var.sqrt().item()


@judge_only
def _is_right(probs, splits=10):
    return _mean_std([_kl_rows(p, p.mean(dim=0, keepdim=True)).mean().exp() for p in _contiguous_splits(probs, splits)])


def _is_global_marginal(probs, splits=10):
    marginal = probs.mean(dim=0, keepdim=True)  # over all N samples, not the split's own
    return _mean_std([_kl_rows(p, marginal).mean().exp() for p in _contiguous_splits(probs, splits)])


def _is_reversed_kl(probs, splits=10):
    scores = []
    for p in _contiguous_splits(probs, splits):
        m = p.mean(dim=0, keepdim=True).expand_as(p)
        scores.append((torch.special.xlogy(m, m) - torch.special.xlogy(m, p)).sum(dim=1).mean().exp())
    return _mean_std(scores)


def _is_no_exp(probs, splits=10):
    return _mean_std([_kl_rows(p, p.mean(dim=0, keepdim=True)).mean() for p in _contiguous_splits(probs, splits)])


def _is_std_ddof1(probs, splits=10):
    return _mean_std([_kl_rows(p, p.mean(dim=0, keepdim=True)).mean().exp() for p in _contiguous_splits(probs, splits)], ddof=1)


def _is_chunked(probs, splits=10):
    parts = probs.chunk(splits, dim=0)  # ceil(N/S) rows per chunk, possibly fewer than S chunks
    return _mean_std([_kl_rows(p, p.mean(dim=0, keepdim=True)).mean().exp() for p in parts])


def _is_nan_for_zeros(probs, splits=10):
    scores = []
    for p in _contiguous_splits(probs, splits):
        m = p.mean(dim=0, keepdim=True)
        scores.append((p * (p.log() - m.log())).sum(dim=1).mean().exp())  # 0·(−inf) = nan
    return _mean_std(scores)


def _is_mean_of_exp(probs, splits=10):
    return _mean_std([_kl_rows(p, p.mean(dim=0, keepdim=True)).exp().mean() for p in _contiguous_splits(probs, splits)])


inception = Exercise(
    "metrics.inception_score",
    mistakes=[
        Mistake("nan_for_zeros", "your output equals p·(log p − log p(y)) computed literally: 0·log 0 gives NaN; use the convention 0·log 0 = 0 (torch.special.xlogy, or mask the zeros)", _unless_right(_is_nan_for_zeros, _is_right)),
        Mistake("reversed_kl", "your output equals exp of KL(p(y) ‖ p(y|x)), the reversed divergence; IS uses KL(p(y|x) ‖ p(y))", _unless_right(_is_reversed_kl, _is_right)),
        Mistake("no_exp", "your output equals the mean KL itself (the log of the score); IS is exp of the mean KL", _is_no_exp),
        Mistake("global_marginal", "your output uses the marginal p(y) of all N samples; in the improved-GAN convention each split uses its own marginal", _unless_right(_is_global_marginal, _is_right)),
        Mistake("chunked_splits", "your output equals splits made with torch.chunk (ceil(N/S) rows each); the convention is probs[i·N//S:(i+1)·N//S]", _unless_right(_is_chunked, _is_right)),
        Mistake("std_ddof1", "your std uses ddof = 1 (torch.std's default); the convention is ddof = 0 (numpy's np.std)", _unless_right(_is_std_ddof1, _is_right)),
        Mistake("mean_of_exp", "your output equals the mean of exp(KL) over samples; the score is exp of the mean KL", _unless_right(_is_mean_of_exp, _is_right)),
    ],
)


def _is_inputs(probs: torch.Tensor, splits: int) -> dict:
    return {"probs": probs, "splits": splits}


def _check_pair_of_floats(ctx: Context, got: object, inputs: dict) -> None:
    ctx.check(isinstance(got, tuple) and len(got) == 2 and all(_is_float(v) for v in got), f"expected a tuple of two Python floats (mean, std), got {_type_name(got)}", inputs=inputs)


@inception.property("between_one_and_k", "the score lies between 1 and the number of classes K, and its std is between 0 and (K − 1)/2", tier="public")
@given(a=gs.inception_inputs())
def _is_bounds(ctx: Context, a: dict) -> None:
    probs, splits = a["probs"], a["splits"]
    mean, std = ctx.call(probs, splits=splits)
    k = probs.shape[1]
    slack = 1e-4 if probs.dtype == torch.float32 else 1e-9
    ctx.check(1 - slack <= mean <= k + slack, f"the score should lie in [1, K = {k}], got {mean}", inputs=a)
    ctx.check(-slack <= std <= (k - 1) / 2 + slack, f"the std of scores in [1, K] should lie in [0, (K − 1)/2 = {(k - 1) / 2}], got {std}", inputs=a)


@inception.property("one_hot_even_gives_k", "confident samples spread evenly over K classes in every split score exactly K, with std 0", tier="public")
@given(k=gs.dims(1, 6), splits=st.integers(1, 3), repeats=st.integers(1, 2), dtype=gs.float_dtypes(), seed=gs.seeds())
def _is_one_hot_even(ctx: Context, k: int, splits: int, repeats: int, dtype: torch.dtype, seed: int) -> None:
    # Each split holds every class `repeats` times, in a shuffled order.
    labels = torch.cat([torch.arange(k).repeat(repeats)[torch.randperm(k * repeats, generator=gs.generator(seed + i))] for i in range(splits)])
    probs = torch.nn.functional.one_hot(labels, k).to(dtype)  # (splits·repeats·k, k)
    got = ctx.call(probs, splits=splits)
    ctx.assert_close(got, (float(k), 0.0), inputs=_is_inputs(probs, splits), **_tol(ctx, dtype))


@inception.property("identical_rows_give_one", "when every sample has the same class distribution p(y|x) = p(y), the score is 1 with std 0", tier="public")
@given(n=gs.dims(1, 8), k=gs.dims(1, 6), dtype=gs.float_dtypes(), seed=gs.seeds(), data=st.data())
def _is_identical_rows(ctx: Context, n: int, k: int, dtype: torch.dtype, seed: int, data: st.DataObject) -> None:
    probs = gs.make_class_probs(1, k, dtype, seed).expand(n, k).clone()  # (n, k), zeros included
    splits = data.draw(st.integers(1, n), label="splits")
    got = ctx.call(probs, splits=splits)
    ctx.assert_close(got, (1.0, 0.0), inputs=_is_inputs(probs, splits), **_tol(ctx, dtype))


@inception.property("known_answer_two_splits", "split 1 = K one-hot rows (score K), split 2 = K + 1 identical rows (score 1): (mean, std) = ((K + 1)/2, (K − 1)/2)", tier="public")
@given(k=gs.dims(2, 6), dtype=gs.float_dtypes(), seed=gs.seeds())
def _is_known_answer(ctx: Context, k: int, dtype: torch.dtype, seed: int) -> None:
    # N = 2K + 1 rows and S = 2: the first split is rows [0, K), the second [K, 2K + 1).
    one_hot = torch.eye(k, dtype=torch.float64)[torch.randperm(k, generator=gs.generator(seed))]
    same = gs.make_class_probs(1, k, torch.float64, seed + 1).expand(k + 1, k)
    probs = torch.cat([one_hot, same]).to(dtype)  # (2K + 1, K)
    got = ctx.call(probs, splits=2)
    ctx.assert_close(got, ((k + 1) / 2, (k - 1) / 2), inputs=_is_inputs(probs, 2), **_tol(ctx, dtype))


@inception.property("matches_reference", "mean and std equal the reference's on random class probabilities with exact zeros", tier="hidden")
@given(a=gs.inception_inputs())
@example(a={"probs": gs.make_class_probs(20, 5, torch.float64, 7), "splits": 10})
def _is_matches_reference(ctx: Context, a: dict) -> None:
    got = ctx.call(a["probs"], splits=a["splits"])
    ctx.assert_close(got, ctx.ref(a["probs"], splits=a["splits"]), inputs=a, **_tol(ctx, a["probs"].dtype))


@inception.property("default_splits", "without a splits argument the score uses 10 splits", tier="hidden")
@given(n=st.integers(10, 24), k=gs.dims(2, 6), dtype=gs.float_dtypes(), seed=gs.seeds())
def _is_default_splits(ctx: Context, n: int, k: int, dtype: torch.dtype, seed: int) -> None:
    probs = gs.make_class_probs(n, k, dtype, seed)
    got = ctx.call(probs)
    ctx.assert_close(got, ctx.ref(probs, splits=10), inputs={"probs": probs}, **_tol(ctx, dtype))


def _near_uniform_probs(deltas: tuple[float, ...]) -> torch.Tensor:
    """One split of rows (½ + δ, ½ − δ) and (½ − δ, ½ + δ) per δ; dyadic δ keep them exact."""
    rows = [r for d in deltas for r in ([0.5 + d, 0.5 - d], [0.5 - d, 0.5 + d])]
    return torch.tensor(rows, dtype=torch.float64)


def _near_uniform_scores(deltas: tuple[float, ...]) -> tuple[float, float]:
    """(mean, std) of exp(KL((½ ± δ, ½ ∓ δ) ‖ (½, ½))), computed in float64 with log1p."""
    scores = [math.exp((0.5 + d) * math.log1p(2 * d) + (0.5 - d) * math.log1p(-2 * d)) for d in deltas]
    mean = sum(scores) / len(scores)
    return mean, math.sqrt(sum((s - mean) ** 2 for s in scores) / len(scores))


@inception.property("dtype_contract", "returns two Python floats for float32 and float64 inputs; float64 inputs keep float64 precision", tier="public")
@given(a=gs.inception_inputs())
def _is_dtype_contract(ctx: Context, a: dict) -> None:
    _check_pair_of_floats(ctx, ctx.call(a["probs"], splits=a["splits"]), a)
    # Scores 1 + 2δ² differ by ~1e-6: their std is lost to rounding in float32 (eps 1.2e-7).
    deltas = (2.0**-10, 2.0**-9)
    probs = _near_uniform_probs(deltas)
    got = ctx.call(probs, splits=len(deltas))
    _check_pair_of_floats(ctx, got, _is_inputs(probs, len(deltas)))
    ctx.assert_close(got, _near_uniform_scores(deltas), inputs=_is_inputs(probs, len(deltas)), what="the float64 (mean, std) of scores 1 + 2δ² (is there a float32 round trip?)", atol=1e-12)

