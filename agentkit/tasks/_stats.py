"""Statistics for comparing agents: intervals for a mean score and paired comparisons.

For 0/1 scores the interval is Wilson's score interval: the percentile bootstrap collapses to a point at
the extremes (20/20 correct gives [1.00, 1.00], and so does 2/2), which would let a lucky agent scored
on two questions outrank one scored on two hundred. Wilson's interval stays honest there (20/20 gives a
lower bound of 0.84, 2/2 of 0.34) and is close to exact coverage at the sizes agentkit uses.

Scores with partial credit (DROP's F1, Python scorers) get Wilson's interval at their mean too. The
bootstrap has the same flaw there and worse: F1 scores of [1.0, 0.99] give [0.99, 1.00], and twenty
scores of 0.5 give [0.5, 0.5], so an agent scored on a handful of questions would outrank every agent
measured properly. A score in [0, 1] with mean p has variance at most p(1 - p), the variance of a 0/1
score with the same mean, and Wilson's interval is built on exactly that variance, so it is a valid,
somewhat conservative interval for any scores in [0, 1]. Only scores outside [0, 1] use the seeded
bootstrap, as do differences of paired scores (`paired_compare`).

numpy is imported inside the functions (it is a dependency of ``datasets``, so always present).
Resampling uses ``numpy.random.default_rng(seed)`` (PCG64), which gives the same numbers on every
machine, so the same scores and seed always give the same interval.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction
from typing import Any, Literal

from pydantic import BaseModel

from agentkit.records import Interval

# Resampled means are computed in chunks of at most this many draws, to bound memory.
_CHUNK_DRAWS = 2_000_000


class PairedComparison(BaseModel):
    """Agent A against agent B on the same examples."""

    n: int
    """Number of paired examples."""
    mean_a: float
    """Mean score of A."""
    mean_b: float
    """Mean score of B."""
    difference: float
    """``mean_a - mean_b``."""
    interval: Interval
    """Paired-bootstrap percentile interval of the difference (its `mean` is `difference`)."""
    p_value: float
    """Two-sided p-value for "no difference", from `method`."""
    method: Literal["mcnemar_exact", "paired_bootstrap"]
    """How `p_value` was computed."""
    a_only: int | None = None
    """For 0/1 scores: examples A got right and B wrong (McNemar's b)."""
    b_only: int | None = None
    """For 0/1 scores: examples B got right and A wrong (McNemar's c)."""


def _as_floats(scores: Sequence[float], what: str) -> list[float]:
    values = [float(s) for s in scores]
    if not values:
        raise ValueError(f"{what} is empty")
    if not all(math.isfinite(v) for v in values):
        raise ValueError(f"{what} holds a non-finite value")
    return values


def _bootstrap_means(values: list[float], seed: int, n_resamples: int) -> Any:
    import numpy as np

    data = np.asarray(values, dtype=float)
    n = len(data)
    rng = np.random.default_rng(seed)
    rows = max(1, _CHUNK_DRAWS // n)
    parts = []
    done = 0
    while done < n_resamples:
        k = min(rows, n_resamples - done)
        parts.append(data[rng.integers(0, n, size=(k, n))].mean(axis=1))
        done += k
    return np.concatenate(parts)


def _percentile_interval(means: Any, center: float, confidence: float) -> Interval:
    import numpy as np

    alpha = 1.0 - confidence
    low, high = np.quantile(means, [alpha / 2, 1 - alpha / 2])
    return Interval(mean=center, low=float(low), high=float(high), confidence=confidence, method="bootstrap")


def bootstrap_ci(
    scores: Sequence[float], *, seed: int = 0, n_resamples: int = 2000, confidence: float = 0.95
) -> Interval:
    """The mean of `scores` with a percentile bootstrap interval.

    `n_resamples` samples of size n are drawn with replacement (seeded); the interval is the
    ``(1 - confidence) / 2`` and ``(1 + confidence) / 2`` quantiles of their means (numpy's linear
    interpolation). The same scores and seed always give the same interval.
    """
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence}")
    if n_resamples < 1:
        raise ValueError(f"n_resamples must be >= 1, got {n_resamples}")
    values = _as_floats(scores, "scores")
    return _percentile_interval(
        _bootstrap_means(values, seed, n_resamples), math.fsum(values) / len(values), confidence
    )


def _z(confidence: float) -> float:
    from statistics import NormalDist

    return NormalDist().inv_cdf(0.5 + confidence / 2)


def wilson_interval(successes: float, n: int, *, confidence: float = 0.95) -> Interval:
    """Wilson's score interval for `successes` out of `n` (its `mean` is the plain proportion).

    `successes` may be fractional: the sum of scores in [0, 1] (see the module docstring).

    >>> round(wilson_interval(20, 20).low, 3), round(wilson_interval(2, 2).low, 3)
    (0.839, 0.342)
    """
    if n <= 0 or not 0 <= successes <= n:
        raise ValueError(f"need 0 <= successes <= n and n > 0, got {successes} of {n}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence}")
    z = _z(confidence)
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    # At 0 and n the bounds are exactly 0 and 1; clamp the last ulp of float error.
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == n else min(1.0, centre + half)
    return Interval(mean=p, low=low, high=high, confidence=confidence, method="wilson")


def score_interval(
    scores: Sequence[float], *, seed: int = 0, n_resamples: int = 2000, confidence: float = 0.95
) -> Interval:
    """The mean of `scores` with the interval agentkit reports everywhere: Wilson's when every score
    is in [0, 1] (0/1 scores, and partial credit at its mean, see the module docstring), else the
    seeded percentile bootstrap (`bootstrap_ci`)."""
    values = _as_floats(scores, "scores")
    if all(v in (0.0, 1.0) for v in values):
        return wilson_interval(int(sum(values)), len(values), confidence=confidence)
    if all(0.0 <= v <= 1.0 for v in values):
        total = math.fsum(values)
        # min(): a float sum of n values below 1 can round to just above n.
        return wilson_interval(min(total, len(values)), len(values), confidence=confidence)
    return bootstrap_ci(values, seed=seed, n_resamples=n_resamples, confidence=confidence)


def mcnemar_exact(a_only: int, b_only: int) -> float:
    """Two-sided exact McNemar p-value for `a_only` vs `b_only` discordant pairs.

    Under "no difference" each discordant pair favours A with probability 1/2, so with
    ``m = a_only + b_only``: ``p = min(1, 2 * P(Binomial(m, 1/2) <= min(a_only, b_only)))``; 1.0 when m = 0.
    Computed with exact fractions.
    """
    if a_only < 0 or b_only < 0:
        raise ValueError("counts must be >= 0")
    m = a_only + b_only
    if m == 0:
        return 1.0
    tail = Fraction(sum(math.comb(m, k) for k in range(min(a_only, b_only) + 1)), 2**m)
    return float(min(Fraction(1), 2 * tail))


def paired_compare(
    a_scores: Sequence[float],
    b_scores: Sequence[float],
    *,
    seed: int = 0,
    n_resamples: int = 2000,
    confidence: float = 0.95,
    method: Literal["auto", "mcnemar_exact", "paired_bootstrap"] = "auto",
) -> PairedComparison:
    """Compare two agents scored on the same examples, in the same order.

    - difference: ``mean(a) - mean(b)``;
    - interval: percentile bootstrap of the mean per-example difference, resampling *pairs* (seeded);
    - p-value, by default (``method="auto"``) McNemar's exact test when every score is 0 or 1, else the
      paired bootstrap: resampled mean differences are centred on the observed one (the null), and
      ``p = (1 + #{|d* - d| >= |d|}) / (1 + n_resamples)`` (1.0 when d = 0).
    """
    a = _as_floats(a_scores, "a_scores")
    b = _as_floats(b_scores, "b_scores")
    if len(a) != len(b):
        raise ValueError(f"paired scores need equal lengths, got {len(a)} and {len(b)}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence}")
    n = len(a)
    diffs = [x - y for x, y in zip(a, b, strict=True)]
    difference = math.fsum(diffs) / n
    means = _bootstrap_means(diffs, seed, n_resamples)
    interval = _percentile_interval(means, difference, confidence)
    binary = all(v in (0.0, 1.0) for v in a + b)
    if method == "auto":
        method = "mcnemar_exact" if binary else "paired_bootstrap"
    a_only = b_only = None
    if binary:
        a_only = sum(1 for x, y in zip(a, b, strict=True) if x == 1.0 and y == 0.0)
        b_only = sum(1 for x, y in zip(a, b, strict=True) if x == 0.0 and y == 1.0)
    if method == "mcnemar_exact":
        if a_only is None or b_only is None:
            raise ValueError("McNemar's test needs scores that are all 0 or 1")
        p_value = mcnemar_exact(a_only, b_only)
    else:
        if difference == 0.0:
            p_value = 1.0
        else:
            import numpy as np

            extreme = int(np.sum(np.abs(means - difference) >= abs(difference) - 1e-12))
            p_value = (1 + extreme) / (1 + n_resamples)
    return PairedComparison(
        n=n,
        mean_a=math.fsum(a) / n,
        mean_b=math.fsum(b) / n,
        difference=difference,
        interval=interval,
        p_value=p_value,
        method=method,
        a_only=a_only,
        b_only=b_only,
    )


def holm_adjusted(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjustment of `p_values` (in their order): each adjusted p-value can be held
    against the usual threshold while the chance of any false "significant" among them stays at most
    that threshold.

    >>> holm_adjusted([0.01, 0.04, 0.03])
    [0.03, 0.06, 0.06]
    """
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted = [1.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[i]))
        adjusted[i] = running
    return adjusted
