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


def test_confidence_levels_never_cross() -> None:
    days = [(0, 0)] * 60 + [(1, 10_000)] * 20 + [(3, 45_000)] * 10
    p50, p85, p95 = simulate(days, seed=5)
    assert p50.deals >= p85.deals >= p95.deals
    assert p50.value_minor >= p85.value_minor >= p95.value_minor
    assert p95.deals >= 0 and p50.deals <= 90  # at most 30 days x 3 wins


def test_half_the_days_with_two_wins_follows_the_binomial() -> None:
    """Each trial wins 2 x B where B ~ Binomial(30, 1/2) counts the sampled winning days.

    P(B <= 14) = 0.428 and P(B <= 15) = 0.572, so the median trial has B = 15: 30 deals.
    P(B <= 11) = 0.100 and P(B <= 12) = 0.181, so the 15th percentile has B = 12: 24 deals ("85 % sure").
    Both margins are over 40 standard errors of a 10,000-trial estimate.
    """
    p50, p85, _p95 = simulate([(0, 0), (2, 100)], seed=11)
    assert (p50.deals, p50.value_minor) == (30, 1_500)
    assert (p85.deals, p85.value_minor) == (24, 1_200)


def test_at_least_is_the_lower_percentile() -> None:
    outcomes = list(range(10_000))  # 0..9999, sorted
    assert at_least(outcomes, 0.5) == 5_000  # 5,000 of 10,000 trials reach 5,000 or more
    assert at_least(outcomes, 0.85) == 1_500  # 8,500 trials reach 1,500 or more
    assert at_least(outcomes, 0.95) == 500
    assert at_least([7], 0.95) == 7
    with pytest.raises(ValueError):
        at_least(outcomes, 0)


def test_no_wins_or_no_history_is_not_a_forecast_of_zero() -> None:
    f = forecast_from_days([(0, 0)] * 90, seed=1)
    assert f.levels == () and not f.available
    assert f.reason == "No deal was won in the last 90 days, so there is nothing to sample."
    empty = forecast_from_days([], seed=1)
    assert empty.levels == () and empty.history_days == 0 and empty.reason


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
