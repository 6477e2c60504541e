"""Wrong implementations of the metrics exercises."""

from __future__ import annotations

import torch

from grader.properties import metrics as props
from grader.properties.metrics.feature_statistics import _fs_one_pass
from grader.properties.metrics.mean_pairwise_distance import _mpd_expanded
from grader.properties.metrics.precision_recall import _pr_expanded
from grader.reference import load_reference
from tests.harness import SOLUTIONS

ref = load_reference(SOLUTIONS, "metrics")


# ----------------------------------------------------------------------------- inception_score


def is_exp_marginal_entropy(probs, splits=10):
    """exp(H(p(y))) per split: forgets the conditional entropy term."""
    scores = []
    for part in props._contiguous_splits(probs, splits):
        m = part.mean(dim=0)
        scores.append((-torch.special.xlogy(m, m).sum()).exp())
    return props._mean_std(scores)


def is_default_one_split(probs, splits=1):
    """Right score, wrong default number of splits."""
    return ref.inception_score(probs, splits)


def is_float32_internally(probs, splits=10):
    """Rounds through float32: loses float64 precision."""
    return ref.inception_score(probs.float(), splits)


# ----------------------------------------------------------------------------- feature_statistics


def fs_diagonal_only(features):
    """Variances only: drops the covariances between features."""
    return features.mean(dim=0), torch.diag(features.var(dim=0))


def fs_detached(features):
    """Right values, but the covariance is detached and re-attached with a zero gradient."""
    mu, sigma = ref.feature_statistics(features)
    return mu, sigma.detach() + 0 * features.sum()


def fs_float32_internally(features):
    """Rounds through float32 and casts back: float64 inputs lose range and precision."""
    mu, sigma = ref.feature_statistics(features.float())
    return mu.to(features.dtype), sigma.to(features.dtype)


# ----------------------------------------------------------------------------- frechet_distance


def fd_sigma1_twice(mu1, sigma1, mu2, sigma2):
    """Adds tr Σ1 twice instead of tr Σ1 + tr Σ2."""
    return ref.frechet_distance(mu1, sigma1, mu2, sigma2) + (sigma1.trace() - sigma2.trace()).item()


def fd_float32_internally(mu1, sigma1, mu2, sigma2):
    """Rounds through float32."""
    return ref.frechet_distance(mu1.float(), sigma1.float(), mu2.float(), sigma2.float())


# ----------------------------------------------------------------------------- precision_recall


def pr_cross_radii_for_recall(real_features, fake_features, k=3):
    """Recall measures each fake point's radius to the real set instead of within the fake set."""
    precision = props._share(fake_features, real_features, props._distances(real_features, real_features).kthvalue(k + 1, dim=1).values)
    cross = props._distances(fake_features, real_features).kthvalue(min(k, real_features.shape[0]), dim=1).values
    return precision, props._share(real_features, fake_features, cross)


def pr_all_instead_of_any(real_features, fake_features, k=3):
    """A sample must be inside every ball of the manifold, not just one."""

    def share(samples, manifold):
        radii = props._distances(manifold, manifold).kthvalue(k + 1, dim=1).values
        return (props._distances(samples, manifold) <= radii[None, :]).all(dim=1).double().mean().item()

    return share(fake_features, real_features), share(real_features, fake_features)


def pr_radius_of_sample(real_features, fake_features, k=3):
    """Compares a sample's distances with the sample's own radius instead of the manifold point's."""

    def share(samples, manifold):
        radii = props._distances(samples, samples).kthvalue(k + 1, dim=1).values
        return (props._distances(samples, manifold) <= radii[:, None]).any(dim=1).double().mean().item()

    return share(fake_features, real_features), share(real_features, fake_features)


def pr_default_k1(real_features, fake_features, k=1):
    """Right shares, wrong default k."""
    return ref.precision_recall(real_features, fake_features, k)


def pr_tensors(real_features, fake_features, k=3):
    """Returns 0-d tensors instead of Python floats."""
    p, r = ref.precision_recall(real_features, fake_features, k)
    return torch.tensor(p), torch.tensor(r)


# ----------------------------------------------------------------------------- mean_pairwise_distance


def mpd_consecutive_rows(features):
    """Mean distance between consecutive rows only: depends on the order of the rows."""
    return (features[1:] - features[:-1]).norm(dim=1).mean().item()


def mpd_float32_internally(features):
    """Rounds through float32: 1e39 overflows."""
    return ref.mean_pairwise_distance(features.float())


IS, FS, FD = "metrics.inception_score", "metrics.feature_statistics", "metrics.frechet_distance"
PR, MPD = "metrics.precision_recall", "metrics.mean_pairwise_distance"
CAUGHT_BY = {
    (IS, "between_one_and_k"): props._is_reversed_kl,
    (IS, "one_hot_even_gives_k"): props._is_no_exp,
    (IS, "identical_rows_give_one"): is_exp_marginal_entropy,
    (IS, "known_answer_two_splits"): props._is_global_marginal,
    (IS, "matches_reference"): props._is_mean_of_exp,
    (IS, "default_splits"): is_default_one_split,
    (IS, "dtype_contract"): is_float32_internally,
    (FS, "two_samples_known_answer"): props._fs_biased,
    (FS, "translation_and_scaling"): props._fs_not_centered,
    (FS, "matches_reference"): fs_diagonal_only,
    (FS, "gradients_match"): fs_detached,
    (FS, "dtype_contract"): fs_float32_internally,
    (FD, "zero_for_identical"): props._fd_no_factor_two,
    (FD, "symmetric"): fd_sigma1_twice,
    (FD, "nonnegative"): props._fd_no_sqrt,
    (FD, "mean_shift"): props._fd_norm_not_squared,
    (FD, "commuting_covariances"): props._fd_elementwise_sqrt,
    (FD, "matches_reference"): props._fd_product_of_roots,
    (FD, "singular_covariances"): props._fd_real_before_sqrt,
    (FD, "dtype_contract"): fd_float32_internally,
    (PR, "swap_symmetry"): pr_cross_radii_for_recall,
    (PR, "identical_sets"): pr_all_instead_of_any,
    (PR, "bounded_and_monotone_in_k"): props._pr_topk_largest,
    (PR, "duplicates_are_neighbours"): props._pr_zeros_masked,
    (PR, "known_answer_1d"): props._pr_swapped,
    (PR, "matches_reference"): pr_radius_of_sample,
    (PR, "default_k"): pr_default_k1,
    (PR, "dtype_contract"): pr_tensors,
    (MPD, "known_answer"): props._mpd_with_self_pairs,
    (MPD, "translation_and_permutation_invariant"): mpd_consecutive_rows,
    (MPD, "scales_linearly"): props._mpd_squared,
    (MPD, "matches_reference"): props._mpd_to_centroid,
    (MPD, "dtype_contract"): mpd_float32_internally,
}


def mpd_cdist_mm(features):
    """torch.cdist forced to the matrix-product expansion (its default above 25 rows)."""
    d = torch.cdist(features, features, compute_mode="use_mm_for_euclid_dist")
    i, j = torch.triu_indices(len(features), len(features), 1)
    return d[i, j].mean().item()


CAUGHT_BY[(MPD, "far_from_origin")] = _mpd_expanded


def pr_cdist_mm(real_features, fake_features, k=3):
    """torch.cdist forced to the matrix-product expansion for the radii and memberships."""

    def dist(a, b):
        return torch.cdist(a, b, compute_mode="use_mm_for_euclid_dist")

    def share(samples, manifold):
        radii = dist(manifold, manifold).kthvalue(k + 1, dim=1).values
        return (dist(samples, manifold) <= radii[None, :]).any(dim=1).double().mean().item()

    return share(fake_features, real_features), share(real_features, fake_features)


def fs_sum_of_squares(features):
    """Welford's opposite: running sums Σx and Σxxᵀ, combined at the end (cancels far from the origin)."""
    n = features.shape[0]
    s1, s2 = features.sum(dim=0), features.T @ features
    return s1 / n, (s2 - s1[:, None] * s1[None, :] / n) / (n - 1)


CAUGHT_BY[(PR, "far_from_origin")] = _pr_expanded
CAUGHT_BY[(FS, "far_from_origin")] = fs_sum_of_squares
STABILITY_WRONG = [
    (MPD, "far_from_origin", _mpd_expanded),
    (MPD, "far_from_origin", mpd_cdist_mm),
    (PR, "far_from_origin", _pr_expanded),
    (PR, "far_from_origin", pr_cdist_mm),
    (FS, "far_from_origin", fs_sum_of_squares),
    (FS, "far_from_origin", _fs_one_pass),
]


# ==================================================================================================
# Device contracts (issue 17, item 2): wrong only on a GPU. Each runs right on the CPU; the
# follows_the_device property (grader/properties/device.py) catches it on a simulated CUDA device.
# DEVICE_VARIANTS lists further variants it must catch (tests/test_device_check.py).
# ==================================================================================================
from grader.reference import load_reference as _load_reference  # noqa: E402
from tests.harness import SOLUTIONS as _SOLUTIONS  # noqa: E402

_dref = _load_reference(_SOLUTIONS, "metrics")


def is_sums_classes_with_ones_vector(probs, splits=10):
    """Sums the KL terms over classes by a product with torch.ones(K) on the default device."""
    scores = []
    for part in probs.chunk(splits):
        py = part.mean(dim=0, keepdim=True)
        kl = (part * (part.clamp_min(1e-12).log() - py.clamp_min(1e-12).log())) @ torch.ones(probs.shape[1], dtype=probs.dtype)
        scores.append(kl.mean().exp())
    s = torch.stack(scores)
    return float(s.mean()), float(s.std(unbiased=False))


def stats_mean_by_ones_vector(features):
    """The mean as features.T @ torch.ones(n) / n, the ones on the default device."""
    n = features.shape[0]
    mu = features.T @ torch.ones(n, dtype=features.dtype) / n
    centered = features - mu
    return mu, centered.T @ centered / (n - 1)


def frechet_eye_on_default_device(mu1, sigma1, mu2, sigma2):
    """Adds eps·torch.eye(d) (pytorch-fid's offset) on the default device."""
    offset = 1e-12 * torch.eye(sigma1.shape[0], dtype=sigma1.dtype)
    return _dref.frechet_distance(mu1, sigma1 + offset, mu2, sigma2 + offset)


def pr_self_distance_eye_on_default_device(real_features, fake_features, k=3):
    """Excludes each point from its own neighbours with torch.eye(n) on the default device."""

    def radii(points):
        d = torch.cdist(points, points) + torch.eye(points.shape[0], dtype=points.dtype) * float("inf")
        return d.kthvalue(min(k, points.shape[0] - 1), dim=1).values

    def share(samples, manifold, r):
        return float((torch.cdist(samples, manifold) <= r[None, :]).any(dim=1).to(samples.dtype).mean())

    return share(fake_features, real_features, radii(real_features)), share(real_features, fake_features, radii(fake_features))


def mpd_upper_triangle_on_default_device(features):
    """Weights the distance matrix by torch.triu(torch.ones(n, n), 1) on the default device."""
    n = features.shape[0]
    d = torch.cdist(features, features)
    return float((d * torch.triu(torch.ones(n, n, dtype=d.dtype), 1)).sum() / (n * (n - 1) / 2))


CAUGHT_BY[("metrics.inception_score", "follows_the_device")] = is_sums_classes_with_ones_vector
CAUGHT_BY[("metrics.feature_statistics", "follows_the_device")] = stats_mean_by_ones_vector
CAUGHT_BY[("metrics.frechet_distance", "follows_the_device")] = frechet_eye_on_default_device
CAUGHT_BY[("metrics.precision_recall", "follows_the_device")] = pr_self_distance_eye_on_default_device
CAUGHT_BY[("metrics.mean_pairwise_distance", "follows_the_device")] = mpd_upper_triangle_on_default_device
DEVICE_VARIANTS = []
