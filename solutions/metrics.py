"""Reference solutions: metrics — evaluating generators (q27–q29, q36)."""

from __future__ import annotations

import torch
from torch import Tensor


def inception_score(probs: Tensor, splits: int = 10) -> tuple[float, float]:
    """IS = exp(E_x KL(p(y|x) ‖ p(y))), averaged over splits (q28).

    probs: (N, K) class probabilities p(y|x), rows sum to 1, exact zeros allowed
    (0·log 0 = 0). Improved-GAN convention (Salimans et al. 2016): contiguous splits
    probs[i·N//S:(i+1)·N//S], each with its own marginal p(y). Returns Python floats
    (mean, std) over the splits, std with ddof = 0.
    """
    n = probs.shape[0]
    scores = []
    for i in range(splits):
        part = probs[i * n // splits : (i + 1) * n // splits]  # (n_i, K)
        marginal = part.mean(dim=0, keepdim=True)  # p(y) of this split, (1, K)
        # xlogy(p, q) = p·log q, and 0 where p = 0: the 0·log 0 = 0 convention without NaNs.
        # Where p > 0 the marginal is > 0 too, so no log 0 is ever multiplied by p > 0.
        kl = (torch.special.xlogy(part, part) - torch.special.xlogy(part, marginal)).sum(dim=1)  # (n_i,)
        scores.append(kl.mean().exp())  # exp of the mean KL, not the mean of exp(KL)
    scores_t = torch.stack(scores)  # (S,)
    return scores_t.mean().item(), scores_t.std(correction=0).item()


def feature_statistics(features: Tensor) -> tuple[Tensor, Tensor]:
    """Mean and unbiased covariance of features (q29).

    features: (N, D), rows are samples, N ≥ 2. Returns (mu (D,), sigma (D, D)), sigma with
    the 1/(N − 1) normalisation (as numpy.cov), a (1, 1) matrix when D = 1.
    """
    n = features.shape[0]
    mu = features.mean(dim=0)  # (D,)
    centered = features - mu  # (N, D)
    # Σ_ij = Σ_n x_ni·x_nj / (N − 1); torch.cov(features.T) gives the same values but a
    # 0-d tensor when D = 1, and torch.cov(features) would treat the columns as samples.
    sigma = centered.T @ centered / (n - 1)  # (D, D)
    return mu, sigma


def _sqrtm_psd(a: Tensor) -> Tensor:
    """The symmetric square root of a symmetric PSD matrix, via its eigendecomposition."""
    evals, evecs = torch.linalg.eigh(a)
    # Rounding makes the zero eigenvalues of a singular matrix slightly negative: clamp them.
    return (evecs * evals.clamp(min=0).sqrt()) @ evecs.T  # V·diag(√λ)·Vᵀ, (D, D)


def frechet_distance(mu1: Tensor, sigma1: Tensor, mu2: Tensor, sigma2: Tensor) -> float:
    """‖mu1 − mu2‖² + tr(Σ1 + Σ2 − 2(Σ1Σ2)^{1/2}) as a Python float (q29).

    mu: (D,), sigma: (D, D) symmetric PSD, possibly singular.
    """
    diff = mu1 - mu2  # (D,)
    # tr (Σ1Σ2)^{1/2} = Σ √λ_i over the eigenvalues of Σ1Σ2. Σ1Σ2 = √Σ1·(√Σ1Σ2) has the
    # eigenvalues of (√Σ1Σ2)·√Σ1 = √Σ1Σ2√Σ1 (AB and BA share them), which is symmetric
    # PSD: eigvalsh gives real eigenvalues, and clamping the rounding noise below 0 keeps
    # the square root real and finite even when Σ1 or Σ2 is singular.
    root1 = _sqrtm_psd(sigma1)
    middle = root1 @ sigma2 @ root1  # (D, D)
    middle = (middle + middle.T) / 2  # exactly symmetric despite rounding
    tr_covmean = torch.linalg.eigvalsh(middle).clamp(min=0).sqrt().sum()
    fd = diff @ diff + sigma1.trace() + sigma2.trace() - 2 * tr_covmean
    return fd.item()


def _pairwise_distances(a: Tensor, b: Tensor) -> Tensor:
    """Euclidean distances (Na, Nb) from differences: exactly 0 between equal rows."""
    # torch.cdist may use ‖a‖² + ‖b‖² − 2a·b, which leaves rounding noise instead of 0.
    return (a[:, None, :] - b[None, :, :]).norm(dim=-1)  # (Na, Nb)


def _knn_radii(points: Tensor, k: int) -> Tensor:
    """Distance from each point to its k-th nearest neighbour in its own set, itself excluded."""
    d = _pairwise_distances(points, points)  # (N, N), zero diagonal
    # Sorted, each row starts with the point's own distance 0: the k-th neighbour is the
    # (k+1)-th smallest. A duplicate is another 0 in the row, so it counts as a neighbour.
    return d.kthvalue(k + 1, dim=1).values  # (N,)


def _share_inside(samples: Tensor, manifold: Tensor, radii: Tensor) -> float:
    """Share of samples within the radius (≤) of at least one point of the manifold."""
    d = _pairwise_distances(samples, manifold)  # (Ns, Nm)
    inside = (d <= radii[None, :]).any(dim=1)  # (Ns,)
    return inside.double().mean().item()


def precision_recall(real_features: Tensor, fake_features: Tensor, k: int = 3) -> tuple[float, float]:
    """Improved precision and recall, Kynkäänniemi et al. 2019 (q27, q36).

    real_features: (Nr, D), fake_features: (Nf, D), k < Nr and k < Nf. A set's manifold is
    the union of balls around its points, radius = distance to the point's k-th nearest
    neighbour in the same set. precision = share of fakes inside the real manifold,
    recall = share of reals inside the fake manifold. Returns Python floats.
    """
    real_radii = _knn_radii(real_features, k)  # (Nr,)
    fake_radii = _knn_radii(fake_features, k)  # (Nf,)
    precision = _share_inside(fake_features, real_features, real_radii)
    recall = _share_inside(real_features, fake_features, fake_radii)
    return precision, recall


def mean_pairwise_distance(features: Tensor) -> float:
    """Mean Euclidean distance over all unordered pairs of distinct rows (q36).

    features: (N, D), N ≥ 2. Returns a Python float.
    """
    # torch.pdist returns the N(N−1)/2 distances of the upper triangle: each pair once, no
    # zero self-distances. A naive version: mean of (x_i − x_j).norm() over i < j.
    return torch.pdist(features).mean().item()
