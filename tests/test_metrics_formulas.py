"""Pure metric formulas (tuikanban.domain.metrics) against worked examples computed by hand."""

from __future__ import annotations

from fractions import Fraction

import pytest

from tuikanban.domain import metrics as fm


def test_velocity_worked_example_50_deals() -> None:
    # 50 open deals x 10,000 average x 25 % win rate / 30 days = 4,166.666... per day.
    v = fm.velocity_per_day(50, 1_000_000, Fraction(1, 4), 30)  # deal size in cents
    assert v == Fraction(50 * 1_000_000, 4 * 30)
    assert fm.round_minor(v) == 416_667  # $4,166.67


def test_velocity_worked_example_40_deals() -> None:
    # 40 x 8,000 x 20 % / 25 days = 2,560 per day exactly.
    v = fm.velocity_per_day(40, 800_000, Fraction(1, 5), 25)
    assert v == 256_000
    assert fm.round_minor(v) == 256_000  # $2,560.00


def test_velocity_accepts_a_float_rate_without_losing_the_cent() -> None:
    assert fm.round_minor(fm.velocity_per_day(40, 800_000, 0.2, 25)) == 256_000  # type: ignore[arg-type]


def test_velocity_is_none_without_data_never_zero() -> None:
    assert fm.velocity_per_day(50, None, Fraction(1, 4), 30) is None
    assert fm.velocity_per_day(50, 1_000_000, None, 30) is None
    assert fm.velocity_per_day(50, 1_000_000, Fraction(1, 4), None) is None
    assert fm.velocity_per_day(50, 1_000_000, Fraction(1, 4), 0) is None  # a zero-day cycle cannot divide
    # no open deals is a real zero, not missing data
    assert fm.velocity_per_day(0, 1_000_000, Fraction(1, 4), 30) == 0


def test_coverage_worked_example() -> None:
    # 3,000,000 open against a 1,000,000 target = 3.0
    assert fm.coverage_ratio(300_000_000, 100_000_000) == 3
    assert fm.format_ratio(fm.coverage_ratio(300_000_000, 100_000_000)) == "3.0x"
    assert fm.coverage_ratio(300_000_000, None) is None
    assert fm.coverage_ratio(300_000_000, 0) is None


def test_win_rate_and_conversion() -> None:
    assert fm.win_rate(1, 3) == Fraction(1, 4)
    assert fm.win_rate(0, 0) is None
    assert fm.win_rate(0, 4) == 0
    assert fm.conversion_rate(5, 1) == Fraction(5, 6)
    assert fm.conversion_rate(0, 0) is None


def test_means_are_exact() -> None:
    assert fm.mean_minor(1_000_001, 2) == Fraction(1_000_001, 2)
    assert fm.round_minor(Fraction(1_000_001, 2)) == 500_001  # half up
    assert fm.round_minor(Fraction(999_999, 2)) == 500_000
    assert fm.mean_minor(5, 0) is None
    # 2 stays of 1 day and 2 days -> 1.5 days
    assert fm.mean_days(3 * 86_400, 2) == Fraction(3, 2)
    assert fm.mean_days(0, 0) is None


def test_weighted_value_is_exact_then_rounded() -> None:
    assert fm.weighted_minor(1_200_000, 10) == 120_000
    assert fm.weighted_minor(1, 25) == Fraction(1, 4)
    assert fm.round_minor(fm.weighted_minor(3, 50)) == 2  # 1.5 cents rounds half up


def test_median_and_bottleneck_pick() -> None:
    assert fm.median([2, Fraction(54, 5), Fraction(26, 3)]) == Fraction(26, 3)
    assert fm.median([1, 2, 3, 10]) == Fraction(5, 2)
    assert fm.median([]) is None
    assert fm.pick_bottleneck({1: 2, 2: Fraction(54, 5), 3: None, 4: Fraction(26, 3)}) == 2
    assert fm.pick_bottleneck({1: None}) is None


def test_bottleneck_sentence() -> None:
    # 12.4 days against a median of 5.9 days is 2.1x
    assert fm.bottleneck_reason("Contract Review", Fraction(124, 10), Fraction(59, 10), 4) == (
        "Contract Review holds deals 12.4 days on average, 2.1x the pipeline median of 5.9 days."
    )
    assert fm.bottleneck_reason("Lead", 3, 3, 1) == (
        "Lead holds deals 3.0 days on average; it is the only stage with finished stays in the window."
    )
    # 6 hours against a median of 2 hours is 3.0x, in hours
    assert fm.bottleneck_reason("Demo", Fraction(6, 24), Fraction(2, 24), 3) == (
        "Demo holds deals 6.0 h on average, 3.0x the pipeline median of 2.0 h."
    )


def test_bottleneck_sentence_claims_no_ratio_against_a_median_under_an_hour() -> None:
    # 41 x a median of 40 seconds would be true but meaningless: name the longest stay instead
    assert fm.bottleneck_reason("Proposal", Fraction(41 * 40, 86_400), Fraction(40, 86_400), 3) == (
        "Proposal holds deals 27 min on average, the longest average stay of the 3 stages with finished stays "
        "in the window."
    )
    assert fm.bottleneck_reason("Lead", Fraction(1, 1440), 0, 2) == (
        "Lead holds deals 1 min on average, the longest average stay of the 2 stages with finished stays in the "
        "window."
    )
    # exactly one hour is enough for a ratio: 3 h / 1 h
    assert fm.bottleneck_reason("Demo", Fraction(3, 24), Fraction(1, 24), 2) == (
        "Demo holds deals 3.0 h on average, 3.0x the pipeline median of 1.0 h."
    )


@pytest.mark.parametrize(
    ("rate", "text"),
    [(Fraction(1, 4), "25%"), (Fraction(1, 3), "33.3%"), (Fraction(5, 6), "83.3%"), (1, "100%"), (0, "0%"),
     (None, "n/a"), (Fraction(2, 3), "66.7%")],
)
def test_format_percent(rate: Fraction | int | None, text: str) -> None:
    assert fm.format_percent(rate) == text


def test_format_days_and_json_rounding() -> None:
    assert fm.format_days(Fraction(37, 2)) == "18.5"
    assert fm.format_days(None) == "n/a"
    assert fm.json_rate(Fraction(5, 6)) == 0.8333
    assert fm.json_days(Fraction(26, 3)) == 8.666667  # 6 decimals: 0.09 s
    assert fm.json_days(Fraction(1, 48)) == 0.020833  # 30 minutes
    assert fm.json_days(Fraction(37, 2)) == 18.5
    assert fm.json_rate(None) is None


def test_sparkline_and_bar() -> None:
    assert fm.sparkline([0, 1, 2, 4]) == "▁▃▅█"  # 1/4*7 = 1.75 -> 2 (▃), 2/4*7 = 3.5 -> 4 (▅)
    assert fm.sparkline([0, 0]) == "▁▁"
    assert fm.bar(10, 10, 5) == "█████"
    assert fm.bar(0, 10, 5) == ""
    assert fm.bar(5, 10, 5) == "██▌"


@pytest.mark.parametrize(
    ("days", "long", "short"),
    [
        (Fraction(37, 2), "18.5 days", "18.5 d"),
        (1, "1.0 day", "1.0 d"),
        (Fraction(124, 10), "12.4 days", "12.4 d"),
        (Fraction(1, 2), "12.0 h", "12.0 h"),
        (Fraction(13, 60), "5.2 h", "5.2 h"),  # 5.2 x 60 = 312 min = 13/60 day
        (Fraction(42, 1440), "42 min", "42 min"),
        (Fraction(35, 86_400), "35 s", "35 s"),
        (0, "0 s", "0 s"),
        (Fraction(2396, 2400), "1.0 day", "1.0 d"),  # 23.96 h rounds to 24.0 h: a day
        (Fraction(596, 14_400), "1.0 h", "1.0 h"),  # 59.6 min rounds to 60 min: an hour
        (Fraction(596, 864_000), "1 min", "1 min"),  # 59.6 s rounds to 60 s: a minute
        (None, "n/a", "n/a"),
    ],
)
def test_format_duration(days: Fraction | int | None, long: str, short: str) -> None:
    assert fm.format_duration(days) == long
    assert fm.format_duration(days, short=True) == short


def test_plural() -> None:
    assert fm.plural(1, "day") == "1 day"
    assert fm.plural(0, "day") == "0 days"
    assert fm.plural(90, "day") == "90 days"
    assert fm.plural(10_000, "trial") == "10,000 trials"
    assert fm.plural(2, "analysis", "analyses") == "2 analyses"
