"""Exercises: metrics — evaluating generators (q27–q29, q36).

Implement each function below, then run `grade metrics` (or `grade q29`).
These metrics are reported as numbers: the ones documented as Python floats return
`float` (use `.item()`), not tensors. Work in the input's dtype: no float32 round trip
for float64 inputs.
"""

from __future__ import annotations

import math  # you may need it

import torch  # you will need it
from torch import Tensor


def inception_score(probs: Tensor, splits: int = 10) -> tuple[float, float]:
    """IS = exp(E_x KL(p(y|x) ‖ p(y))), averaged over splits (q28).

    probs: (N, K) class probabilities p(y|x) of N generated samples; rows sum to 1 and may
    hold exact zeros, with the convention 0·log 0 = 0.
    Improved-GAN convention (Salimans et al. 2016): contiguous splits
    probs[i·N//S:(i+1)·N//S] for i = 0..S−1; in each split p(y) is that split's own mean
    row, and the split's score is exp(mean over its rows of KL(p(y|x) ‖ p(y))).
    Returns Python floats (mean, std) of the S scores, std with ddof = 0.
    """
    # TODO(q28): per split: marginal, KL of each row to it (0·log 0 = 0), exp of the mean.
    raise NotImplementedError("metrics.inception_score")


def feature_statistics(features: Tensor) -> tuple[Tensor, Tensor]:
    """Mean and unbiased covariance of features, the Gaussian fitted by FID (q29).

    features: (N, D), rows are samples, N ≥ 2.
    Returns (mu (D,), sigma (D, D)) with sigma = Σ_n (x_n − mu)(x_n − mu)ᵀ / (N − 1),
    as numpy.cov(features, rowvar=False); sigma is a (1, 1) matrix when D = 1.
    Results keep the input's dtype and are differentiable.
    """
    # TODO(q29): mean over samples, centred features, covariance with 1/(N − 1).
    raise NotImplementedError("metrics.feature_statistics")


def frechet_distance(mu1: Tensor, sigma1: Tensor, mu2: Tensor, sigma2: Tensor) -> float:
    """Fréchet distance between N(mu1, Σ1) and N(mu2, Σ2), the core of FID (q29).

    FD = ‖mu1 − mu2‖² + tr(Σ1 + Σ2 − 2(Σ1Σ2)^{1/2}), real part, as a Python float.
    mu: (D,), sigma: (D, D) symmetric positive semi-definite. (Σ1Σ2)^{1/2} is a matrix
    square root, not an elementwise one. Covariances may be singular (fewer samples than
    features): the result must stay finite (pytorch-fid adds 1e-6·I to both covariances
    when the square root of the product is not finite).
    """
    # TODO(q29): squared mean difference, traces, trace of the matrix square root of Σ1Σ2.
    raise NotImplementedError("metrics.frechet_distance")


def precision_recall(real_features: Tensor, fake_features: Tensor, k: int = 3) -> tuple[float, float]:
    """Improved precision and recall (Kynkäänniemi et al. 2019) (q27, q36).

    real_features: (Nr, D), fake_features: (Nf, D), k < Nr and k < Nf.
    The radius of a point is the distance to its k-th nearest neighbour in its own set,
    excluding itself (a duplicate of the point is a neighbour at distance 0). A sample is
    inside a set's manifold if it is within the radius (distance ≤ radius) of at least one
    point of the set.
    precision = share of fakes inside the real manifold (are the samples realistic?),
    recall = share of reals inside the fake manifold (is the data covered?).
    Returns Python floats (precision, recall).
    """
    # TODO(q27): k-NN radii of each set, then the share of the other set inside its balls.
    raise NotImplementedError("metrics.precision_recall")


def mean_pairwise_distance(features: Tensor) -> float:
    """Mean Euclidean distance over all unordered pairs of distinct rows: a diversity score (q36).

    features: (N, D), N ≥ 2: the mean of ‖x_i − x_j‖ over the N(N − 1)/2 pairs i < j.
    Returns a Python float.
    """
    # TODO(q36): distances between every pair i < j (not i = j), then their mean.
    raise NotImplementedError("metrics.mean_pairwise_distance")
