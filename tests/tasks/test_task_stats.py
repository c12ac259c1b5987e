"""Statistics against values computed by hand (and against scipy when it is installed)."""

from __future__ import annotations

import importlib.util
import math

import pytest

from agentkit.records import Interval
from agentkit.tasks import bootstrap_ci, mcnemar_exact, paired_compare

HAS_SCIPY = importlib.util.find_spec("scipy") is not None


def test_bootstrap_constant_scores() -> None:
    ci = bootstrap_ci([1.0] * 10, seed=0)
    assert isinstance(ci, Interval)
    assert (ci.mean, ci.low, ci.high, ci.confidence) == (1.0, 1.0, 1.0, 0.95)


def test_bootstrap_is_seeded() -> None:
    scores = [1, 0, 1, 1, 0, 1, 0, 0, 1, 1, 1, 0, 1]
    assert bootstrap_ci(scores, seed=4) == bootstrap_ci(scores, seed=4)
    assert bootstrap_ci(scores, seed=4) != bootstrap_ci(scores, seed=5)
    ci = bootstrap_ci(scores, seed=4)
    assert ci.mean == pytest.approx(8 / 13)
    assert ci.low < ci.mean < ci.high


def test_bootstrap_matches_exact_bootstrap_distribution() -> None:
    # Resampling [0, 0, 1]: the mean is k/3 with k ~ Binomial(3, 1/3), so P(0) = 8/27 = 0.296,
    # P(<= 1/3) = 20/27 = 0.741, P(<= 2/3) = 26/27 = 0.963. The 10% quantile is therefore 0 and the 90%
    # quantile 2/3, with wide margins against resampling noise.
    ci = bootstrap_ci([0, 0, 1], seed=1, n_resamples=20_000, confidence=0.8)
    assert ci.mean == pytest.approx(1 / 3)
    assert ci.low == 0.0
    assert ci.high == pytest.approx(2 / 3)
    # [0, 1]: the mean is 0, 1/2 or 1 with probabilities 1/4, 1/2, 1/4; 2.5% and 97.5% quantiles: 0 and 1.
    wide = bootstrap_ci([0, 1], seed=2, n_resamples=20_000)
    assert (wide.low, wide.high) == (0.0, 1.0)
    narrow = bootstrap_ci([0, 1], seed=2, n_resamples=20_000, confidence=0.4)
    assert (narrow.low, narrow.high) == (0.5, 0.5)  # 30% and 70% quantiles fall in the 1/2 mass


def test_bootstrap_normal_approximation() -> None:
    # 300 scores with mean 0.6: the bootstrap SE is sqrt(0.6 * 0.4 / 300) = 0.0283, half-width ~ 0.0554.
    scores = [1.0] * 180 + [0.0] * 120
    ci = bootstrap_ci(scores, seed=0, n_resamples=4000)
    assert ci.high - ci.low == pytest.approx(2 * 1.96 * math.sqrt(0.24 / 300), rel=0.1)


def test_bootstrap_rejects_bad_input() -> None:
    with pytest.raises(ValueError):
        bootstrap_ci([])
    with pytest.raises(ValueError):
        bootstrap_ci([1.0, float("nan")])
    with pytest.raises(ValueError):
        bootstrap_ci([1.0], confidence=1.5)


def test_mcnemar_hand_values() -> None:
    # 8 vs 2 discordant pairs: P(X <= 2 | Binomial(10, 1/2)) = (1 + 10 + 45) / 1024, doubled.
    assert mcnemar_exact(8, 2) == 112 / 1024
    assert mcnemar_exact(2, 8) == 112 / 1024
    assert mcnemar_exact(5, 0) == 2 / 32
    assert mcnemar_exact(3, 3) == 1.0
    assert mcnemar_exact(0, 0) == 1.0
    # 20 vs 5: 2 * sum_{k<=5} C(25, k) / 2^25
    assert mcnemar_exact(20, 5) == pytest.approx(2 * sum(math.comb(25, k) for k in range(6)) / 2**25)


def test_paired_compare_binary_uses_mcnemar() -> None:
    a = [1] * 8 + [0] * 2 + [1] * 5 + [0] * 5
    b = [0] * 8 + [1] * 2 + [1] * 5 + [0] * 5
    result = paired_compare(a, b, seed=0)
    assert result.method == "mcnemar_exact"
    assert (result.a_only, result.b_only, result.n) == (8, 2, 20)
    assert result.p_value == 112 / 1024
    assert result.difference == pytest.approx(0.3)
    assert (result.mean_a, result.mean_b) == (pytest.approx(0.65), pytest.approx(0.35))
    assert result.interval.mean == result.difference
    assert result.interval.low < 0.3 < result.interval.high
    assert paired_compare(a, b, seed=0) == result


def test_paired_compare_bootstrap() -> None:
    a = [0.2, 0.5, 0.9, 0.4]
    b = [x - 0.25 for x in a]  # every pair differs by exactly 0.25
    result = paired_compare(a, b, seed=0, n_resamples=999)
    assert result.method == "paired_bootstrap"
    assert result.difference == pytest.approx(0.25)
    assert result.interval.low == pytest.approx(0.25) and result.interval.high == pytest.approx(0.25)
    assert result.p_value == pytest.approx(1 / 1000)  # no resample is as far from 0.25 as 0 is
    same = paired_compare(a, a, seed=0)
    assert (same.difference, same.p_value) == (0.0, 1.0)
    forced = paired_compare([1, 0, 1], [0, 0, 1], method="paired_bootstrap")
    assert forced.method == "paired_bootstrap" and forced.a_only == 1


def test_paired_compare_bootstrap_p_value_small_case() -> None:
    # Diffs [1, 0]: observed d = 0.5; resampled means are 0, 0.5, 1 (1/4, 1/2, 1/4). Centred deviations
    # |d* - 0.5| are 0.5, 0, 0.5: as extreme as |d| = 0.5 with probability 1/2.
    result = paired_compare([1.0, 0.5], [0.0, 0.5], seed=3, n_resamples=20_000, method="paired_bootstrap")
    assert result.p_value == pytest.approx(0.5, abs=0.02)


def test_paired_compare_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="equal lengths"):
        paired_compare([1, 0], [1])
    with pytest.raises(ValueError, match="0 or 1"):
        paired_compare([0.5], [1.0], method="mcnemar_exact")


@pytest.mark.skipif(not HAS_SCIPY, reason="scipy is not installed; the hand-computed values above still run")
def test_against_scipy() -> None:
    import numpy as np
    from scipy import stats

    for a_only, b_only in [(8, 2), (20, 5), (13, 11), (0, 7), (30, 12)]:
        expected = stats.binomtest(min(a_only, b_only), a_only + b_only, 0.5).pvalue
        assert mcnemar_exact(a_only, b_only) == pytest.approx(expected)
    rng = np.random.default_rng(0)
    scores = rng.random(200).tolist()
    ours = bootstrap_ci(scores, seed=0, n_resamples=5000)
    ref = stats.bootstrap((np.array(scores),), np.mean, n_resamples=5000, method="percentile", random_state=1)
    assert ours.low == pytest.approx(ref.confidence_interval.low, abs=0.01)
    assert ours.high == pytest.approx(ref.confidence_interval.high, abs=0.01)


def test_wilson_interval_stays_honest_at_the_extremes() -> None:
    from agentkit.tasks import score_interval, wilson_interval

    perfect_20 = score_interval([1.0] * 20)
    perfect_2 = score_interval([1.0] * 2)
    assert perfect_20.method == "wilson" and perfect_20.mean == 1.0 and perfect_20.high == 1.0
    assert 0.83 < perfect_20.low < 0.90
    assert 0.30 < perfect_2.low < 0.40
    # A lucky 2/2 no longer outranks 194/200 by its lower bound.
    assert perfect_2.low < score_interval([1.0] * 194 + [0.0] * 6).low
    nothing = wilson_interval(0, 10)
    assert nothing.low == 0.0 and 0.25 < nothing.high < 0.35
    # Textbook value: 7 of 10 at 95% is [0.397, 0.892].
    seven = wilson_interval(7, 10)
    assert (round(seven.low, 3), round(seven.high, 3)) == (0.397, 0.892)


def test_partial_credit_gets_wilsons_interval_at_its_mean() -> None:
    from agentkit.tasks import score_interval, wilson_interval

    f1 = [0.5, 1.0, 0.25, 0.0, 0.75]
    a = score_interval(f1, seed=3)
    assert a.method == "wilson" and a == score_interval(f1, seed=7)  # no resampling: seed-free
    assert a.low < a.mean == 0.5 < a.high
    assert (a.low, a.high) == (wilson_interval(2.5, 5).low, wilson_interval(2.5, 5).high)
    # The bootstrap collapses here; Wilson's interval does not.
    lucky = score_interval([1.0, 0.99])
    assert lucky.low < 0.4 < score_interval([0.9] * 200).low
    flat = score_interval([0.5] * 20)
    assert flat.low < 0.35 and flat.high > 0.65
    # Bounded scores never get a narrower interval than 0/1 scores with the same mean and n.
    binary = score_interval([1.0] * 10 + [0.0] * 10)
    assert (flat.low, flat.high) == pytest.approx((binary.low, binary.high))


def test_scores_outside_zero_one_keep_the_seeded_bootstrap() -> None:
    from agentkit.tasks import score_interval

    gains = [0.5, 1.5, -0.25, 0.0, 0.75]
    a, b = score_interval(gains, seed=3), score_interval(gains, seed=3)
    assert a.method == "bootstrap" and a == b
    assert a.low < a.mean == 0.5 < a.high
