"""The Monte Carlo forecast: determinism with a seed and cases that can be checked by hand."""

from __future__ import annotations

import pytest

from tuikanban.services.forecast import at_least, forecast_from_days, simulate


def test_every_day_one_win_gives_thirty_at_every_confidence() -> None:
    levels = simulate([(1, 50_000)] * 90, seed=1)
    assert [lv.confidence for lv in levels] == [0.5, 0.85, 0.95]
    assert [(lv.deals, lv.value_minor) for lv in levels] == [(30, 1_500_000)] * 3


def test_a_seed_repeats_the_forecast() -> None:
    days = [(0, 0)] * 60 + [(1, 10_000)] * 20 + [(3, 45_000)] * 10
    assert simulate(days, seed=42) == simulate(days, seed=42)
    assert forecast_from_days(days, seed=42) == forecast_from_days(days, seed=42)


def test_confidence_levels_never_cross_and_sit_where_the_arithmetic_puts_them() -> None:
    """A day wins 0 deals (60/90), 1 (20/90) or 3 (10/90): mean m = 50/90 = 0.556, E[X^2] = 110/90 = 1.222,
    variance 1.222 - 0.309 = 0.914, third central moment 1.528 (skew 1.75).

    A trial adds 30 days: mean 16.67, sd sqrt(30 x 0.914) = 5.24, skew 1.75 / sqrt(30) = 0.32. With the
    Cornish-Fisher correction q = z + (z^2 - 1) x 0.32 / 6 the quantiles are at 16.67 + 5.24 q:
      median  z = 0       q = -0.053  16.39
      85 %    z = -1.036  q = -1.032  11.27
      95 %    z = -1.645  q = -1.554   8.53
    The sums are whole numbers, so each level is the whole number next to it (continuity: the boundary is at
    n + 0.5); each quantile lies within 0.25 of such a boundary on one side, hence two candidates each.
    """
    days = [(0, 0)] * 60 + [(1, 10_000)] * 20 + [(3, 45_000)] * 10
    p50, p85, p95 = simulate(days, seed=5)
    assert p50.deals in (16, 17)
    assert p85.deals in (11, 12)
    assert p95.deals in (8, 9)
    assert p50.value_minor >= p85.value_minor >= p95.value_minor


def test_half_the_days_with_two_wins_follows_the_binomial() -> None:
    """Each trial wins 2 x B where B ~ Binomial(30, 1/2) counts the sampled winning days.

    P(B <= 14) = 0.428 and P(B <= 15) = 0.572, so the median trial has B = 15: 30 deals.
    P(B <= 11) = 0.100 and P(B <= 12) = 0.181, so the 15th percentile has B = 12: 24 deals ("85 % sure").
    Both margins are over 40 standard errors of a 10,000-trial estimate.
    """
    p50, p85, p95 = simulate([(0, 0), (2, 100)], seed=11)
    assert (p50.deals, p50.value_minor) == (30, 1_500)
    assert (p85.deals, p85.value_minor) == (24, 1_200)
    # "95 % sure" is index 500 of the 10,000 sorted trials: P(B <= 10) = 0.049 is within a third of a standard
    # error (0.0022) of 0.05, so it is B = 10 (20 deals) or B = 11 (22 deals, P(B <= 11) = 0.100); B = 9 has
    # P(B <= 9) = 0.021, far below. Every deal is worth 50.
    assert p95.deals in (20, 22)
    assert p95.value_minor == p95.deals * 50


def test_at_least_is_the_lower_percentile() -> None:
    outcomes = list(range(10_000))  # 0..9999, sorted
    assert at_least(outcomes, 0.5) == 5_000  # 5,000 of 10,000 trials reach 5,000 or more
    assert at_least(outcomes, 0.85) == 1_500  # 8,500 trials reach 1,500 or more
    assert at_least(outcomes, 0.95) == 500
    assert at_least([7], 0.95) == 7
    with pytest.raises(ValueError, match=r"confidence must be in \(0, 1\], not 0"):
        at_least(outcomes, 0)
    with pytest.raises(ValueError, match="no outcomes"):
        at_least([], 0.5)


def test_no_wins_or_no_history_is_not_a_forecast_of_zero() -> None:
    f = forecast_from_days([(0, 0)] * 90, seed=1)
    assert f.levels == () and not f.available
    assert f.reason == "No deal was won in the last 90 days, so there is nothing to sample."
    empty = forecast_from_days([], seed=1)
    assert empty.levels == () and empty.history_days == 0 and not empty.available
    assert empty.reason == "The pipeline has no history yet."


def test_forecast_totals_describe_the_history() -> None:
    f = forecast_from_days([(0, 0), (2, 300), (1, 100)], seed=1, trials=100)
    assert (f.history_days, f.won_deals_in_history, f.won_value_in_history_minor, f.days_with_wins) == (3, 3, 400, 2)
    assert f.trials == 100 and f.horizon_days == 30


def test_one_winning_day_in_ninety_is_mostly_nothing() -> None:
    """One win of 25,000 in 90 days: a trial wins nothing when none of its 30 draws is that day, with probability
    (89/90)^30 = 0.715, and one win with probability 30 x (1/90) x (89/90)^29 = 0.241 (0.956 together).

    So at least 0 at 50 % (0.715 > 0.5), 85 % and 95 %; the best 4 % of the trials win 2 or more.
    """
    f = forecast_from_days([(1, 2_500_000)] + [(0, 0)] * 89, seed=3, days_since_first_event=1)
    assert (f.history_days, f.won_deals_in_history, f.days_with_wins, f.days_since_first_event) == (90, 1, 1, 1)
    assert [(lv.deals, lv.value_minor) for lv in f.levels] == [(0, 0)] * 3
    # the same day as the whole history (what sampling only a young pipeline's days did) says 30 every time
    assert [(lv.deals, lv.value_minor) for lv in simulate([(1, 2_500_000)], seed=3)] == [(30, 75_000_000)] * 3


def test_the_reason_reads_in_the_singular_for_one_day() -> None:
    assert forecast_from_days([(0, 0)], seed=1).reason == (
        "No deal was won in the last day, so there is nothing to sample.")
