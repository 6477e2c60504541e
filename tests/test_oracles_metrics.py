"""The metrics reference solutions agree with independent implementations, in float64.

Oracles: the improved-GAN Inception Score loop with scipy.stats.entropy and torchmetrics'
InceptionScore (on given probabilities, no network weights); numpy.cov; pytorch-fid's
calculate_frechet_distance (scipy.linalg.sqrtm) and torchmetrics' _compute_fid; naive
O(N²) loops for precision/recall and the mean pairwise distance, and scipy's pdist.
"""

from __future__ import annotations

import itertools
import math
import warnings

import numpy as np
import pytest
import scipy.linalg
import scipy.spatial.distance
import scipy.stats
import torch

from grader import strategies as gs
from grader.properties.metrics.strategies import make_class_probs, make_psd_covariance
from grader.reference import load_reference
from tests.harness import SOLUTIONS

ref = load_reference(SOLUTIONS, "metrics")
F64 = torch.float64


# ----------------------------------------------------------------------------- inception_score


def improved_gan_inception_score(preds: np.ndarray, splits: int) -> tuple[float, float]:
    """openai/improved-gan's loop, with scipy.stats.entropy for the KL (0·log 0 = 0)."""
    scores = []
    for i in range(splits):
        part = preds[(i * preds.shape[0] // splits) : ((i + 1) * preds.shape[0] // splits), :]
        py = np.mean(part, axis=0)
        scores.append(np.exp(np.mean([scipy.stats.entropy(pyx, py) for pyx in part])))
    return float(np.mean(scores)), float(np.std(scores))


@pytest.mark.parametrize(("n", "k", "splits", "seed"), [(10, 4, 1, 0), (11, 5, 3, 1), (20, 3, 10, 2), (7, 6, 7, 3), (9, 1, 2, 4), (16, 8, 4, 5)])
def test_inception_score_matches_improved_gan(n: int, k: int, splits: int, seed: int) -> None:
    probs = make_class_probs(n, k, F64, seed)  # with exact zeros
    got = ref.inception_score(probs, splits=splits)
    assert got == pytest.approx(improved_gan_inception_score(probs.numpy(), splits), rel=1e-12, abs=1e-12)


def test_inception_score_default_is_ten_splits() -> None:
    probs = make_class_probs(23, 4, F64, 9)
    assert ref.inception_score(probs) == pytest.approx(improved_gan_inception_score(probs.numpy(), 10), rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_inception_score_matches_torchmetrics(seed: int) -> None:
    from torchmetrics.image.inception import InceptionScore

    # torchmetrics shuffles the rows and uses torch.chunk, so one split compares exactly; its
    # log-softmax of the "features" log p gives back p (no zeros: log 0 would make NaNs there).
    probs = torch.softmax(gs.make_tensor((13, 5), F64, seed, scale=2.0), dim=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # its memory warning, and the std of a single split
        metric = InceptionScore(feature=torch.nn.Identity(), splits=1)
        metric.update(probs.log())
        expected_mean, _ = metric.compute()
    mean, std = ref.inception_score(probs, splits=1)
    assert mean == pytest.approx(float(expected_mean), rel=1e-12)
    assert std == 0.0


# ----------------------------------------------------------------------------- feature_statistics


@pytest.mark.parametrize(("n", "d", "seed"), [(2, 1, 0), (5, 1, 1), (3, 4, 2), (8, 6, 3), (20, 3, 4)])
def test_feature_statistics_matches_numpy(n: int, d: int, seed: int) -> None:
    x = gs.make_tensor((n, d), F64, seed) * 3 + 1
    mu, sigma = ref.feature_statistics(x)
    assert mu.shape == (d,) and sigma.shape == (d, d)
    np.testing.assert_allclose(mu.numpy(), np.mean(x.numpy(), axis=0), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(sigma.numpy(), np.atleast_2d(np.cov(x.numpy(), rowvar=False)), rtol=1e-12, atol=1e-12)


def test_feature_statistics_gradients_match_finite_differences() -> None:
    x = gs.make_tensor((5, 3), F64, 7).requires_grad_(True)
    assert torch.autograd.gradcheck(ref.feature_statistics, (x,))


# ----------------------------------------------------------------------------- frechet_distance


def pytorch_fid_frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray, eps: float = 1e-6) -> float:
    """mseitzer/pytorch-fid's calculate_frechet_distance (numpy and scipy.linalg.sqrtm)."""
    diff = mu1 - mu2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sqrtm warns about singular products
        covmean = scipy.linalg.sqrtm(sigma1.dot(sigma2))
        if not np.isfinite(covmean).all():
            offset = np.eye(sigma1.shape[0]) * eps
            covmean = scipy.linalg.sqrtm((sigma1 + offset).dot(sigma2 + offset))
    if np.iscomplexobj(covmean):
        covmean = covmean.real
    return float(diff.dot(diff) + np.trace(sigma1) + np.trace(sigma2) - 2 * np.trace(covmean))


def _fid_stats(d: int, seed: int, *, singular: bool = False) -> tuple[torch.Tensor, ...]:
    ranks = (max(d - 2, 0), d - 1) if singular else (None, None)
    return (
        gs.make_tensor((d,), F64, seed),
        make_psd_covariance(d, F64, seed + 1, rank=ranks[0]),
        gs.make_tensor((d,), F64, seed + 2),
        make_psd_covariance(d, F64, seed + 3, rank=ranks[1]),
    )


@pytest.mark.parametrize(("d", "seed"), [(1, 0), (2, 1), (4, 2), (6, 3), (8, 4)])
def test_frechet_distance_matches_pytorch_fid(d: int, seed: int) -> None:
    stats = _fid_stats(d, seed)
    expected = pytorch_fid_frechet_distance(*(t.numpy() for t in stats))
    assert ref.frechet_distance(*stats) == pytest.approx(expected, rel=1e-9, abs=1e-9)


@pytest.mark.parametrize(("d", "seed"), [(2, 5), (3, 6), (5, 7), (8, 8)])
def test_frechet_distance_singular_matches_pytorch_fid(d: int, seed: int) -> None:
    stats = _fid_stats(d, seed, singular=True)
    expected = pytorch_fid_frechet_distance(*(t.numpy() for t in stats))
    got = ref.frechet_distance(*stats)
    assert math.isfinite(got)
    assert got == pytest.approx(expected, rel=1e-4)


def test_frechet_distance_of_few_samples_matches_pytorch_fid() -> None:
    """Covariances of 4 samples of 10 features have rank 3, as in FID on too few images."""
    real, fake = gs.make_tensor((4, 10), F64, 11), gs.make_tensor((4, 10), F64, 12) + 0.3
    stats = (*ref.feature_statistics(real), *ref.feature_statistics(fake))
    expected = pytorch_fid_frechet_distance(*(t.numpy() for t in stats))
    assert ref.frechet_distance(*stats) == pytest.approx(expected, rel=1e-4)


@pytest.mark.parametrize(("d", "seed"), [(3, 20), (6, 21)])
def test_frechet_distance_matches_torchmetrics(d: int, seed: int) -> None:
    from torchmetrics.image.fid import _compute_fid

    stats = _fid_stats(d, seed)
    assert ref.frechet_distance(*stats) == pytest.approx(float(_compute_fid(*stats)), rel=1e-9, abs=1e-9)


# ----------------------------------------------------------------------------- precision_recall


def naive_precision_recall(real: list[list[float]], fake: list[list[float]], k: int) -> tuple[float, float]:
    """Kynkäänniemi et al. 2019 with plain loops: radius = k-th smallest distance to the others."""

    def radii(points: list[list[float]]) -> list[float]:
        return [sorted(math.dist(p, q) for j, q in enumerate(points) if j != i)[k - 1] for i, p in enumerate(points)]

    def share(samples: list[list[float]], manifold: list[list[float]]) -> float:
        r = radii(manifold)
        inside = [any(math.dist(s, m) <= r[j] for j, m in enumerate(manifold)) for s in samples]
        return sum(inside) / len(samples)

    return share(fake, real), share(real, fake)


@pytest.mark.parametrize(("n_real", "n_fake", "d", "k", "shift", "seed"), [(6, 5, 2, 3, 0.5, 0), (8, 8, 3, 1, 1.5, 1), (4, 7, 1, 3, 0.0, 2), (10, 6, 4, 2, 1.0, 3), (5, 5, 2, 4, 0.3, 4)])
def test_precision_recall_matches_naive_loop(n_real: int, n_fake: int, d: int, k: int, shift: float, seed: int) -> None:
    real = gs.make_tensor((n_real, d), F64, seed)
    fake = gs.make_tensor((n_fake, d), F64, seed + 1) + shift
    expected = naive_precision_recall(real.tolist(), fake.tolist(), k)
    assert ref.precision_recall(real, fake, k=k) == pytest.approx(expected, abs=1e-12)


def test_precision_recall_with_duplicates_matches_naive_loop() -> None:
    x = gs.make_tensor((4, 2), F64, 5)
    real = torch.cat([x, x, x[:1]])  # every point twice, the first three times
    fake = torch.cat([x[:2] + 0.01, gs.make_tensor((3, 2), F64, 6)])
    for k in (1, 2, 3):
        expected = naive_precision_recall(real.tolist(), fake.tolist(), k)
        assert ref.precision_recall(real, fake, k=k) == pytest.approx(expected, abs=1e-12)


# ----------------------------------------------------------------------------- mean_pairwise_distance


@pytest.mark.parametrize(("n", "d", "seed"), [(2, 1, 0), (3, 2, 1), (8, 5, 2), (30, 3, 3)])
def test_mean_pairwise_distance_matches_naive_loop_and_scipy(n: int, d: int, seed: int) -> None:
    x = gs.make_tensor((n, d), F64, seed)
    rows = x.tolist()
    pairs = list(itertools.combinations(rows, 2))
    naive = sum(math.dist(a, b) for a, b in pairs) / len(pairs)
    got = ref.mean_pairwise_distance(x)
    assert got == pytest.approx(naive, rel=1e-12)
    assert got == pytest.approx(float(np.mean(scipy.spatial.distance.pdist(x.numpy()))), rel=1e-12)
