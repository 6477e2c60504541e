"""Seeded statistical checks for stochastic exercises (sampling, masking).

Each category (a token, a pixel value, an image) is checked with a Chernoff bound on its
count: for a Binomial(n, p) count, P(n·KL(p̂ ‖ p) > t) ≤ 2·e^(−t) (one e^(−t) per tail).
With t = ln(2K/δ) and a union bound over K categories, a correct implementation fails one
example with probability at most δ = FALSE_FAILURE_PER_EXAMPLE, so a grading run (at most a
hundred examples per property) fails a correct submission with probability below 1e-7.
"""

from __future__ import annotations

import math

FALSE_FAILURE_PER_EXAMPLE = 1e-9


def bernoulli_kl(q: float, p: float) -> float:
    """KL(Bernoulli(q) ‖ Bernoulli(p)), with 0·log 0 = 0 (inf when q puts mass where p has none)."""
    total = 0.0
    for a, b in ((q, p), (1.0 - q, 1.0 - p)):
        if a > 0:
            if b <= 0:
                return math.inf
            total += a * math.log(a / b)
    return total


def implausible(counts: list[tuple[str, int, int, float]]) -> str | None:
    """The first (name, count, trials, probability) whose count is implausible, described; else None."""
    threshold = math.log(2 * len(counts) / FALSE_FAILURE_PER_EXAMPLE)
    for name, count, trials, p in counts:
        if trials and trials * bernoulli_kl(count / trials, p) > threshold:
            return f"{name}: {count} of {trials} draws ({100 * count / trials:.2f} %), expected probability {100 * p:.2f} %"
    return None
