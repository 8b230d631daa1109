"""Pure formulas of the metrics screen (see docs/RULES.md, Metrics): no database, no terminal.

Money is in integer minor units and stays exact: averages and products are computed with `Fraction` and
rounded half up to the minor unit only at the end. Rates are fractions (0.25), shown as percentages.
A figure that cannot be computed (no data, a zero divisor) is None, never 0.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

SECONDS_PER_DAY = 86_400
PERCENTILES = (50, 85, 95)  # the cycle-time percentiles the flow charts draw (services.flow computes them)

Number = int | float | Fraction


def _frac(value: Number) -> Fraction:
    return value if isinstance(value, Fraction) else Fraction(value)


def round_minor(value: Number) -> int:
    """Round an exact amount of minor units half up to a whole minor unit (money never goes through float)."""
    f = _frac(value)
    quotient = Decimal(f.numerator) / Decimal(f.denominator)
    return int(quotient.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def ratio(numerator: Number, denominator: Number) -> Fraction | None:
    """numerator / denominator, or None when the denominator is zero."""
    if not denominator:
        return None
    return _frac(numerator) / _frac(denominator)


def win_rate(won: int, lost: int) -> Fraction | None:
    """won / (won + lost) over deals closed in the window; None when nothing closed."""
    return ratio(won, won + lost)


def conversion_rate(advanced: int, dropped: int) -> Fraction | None:
    """advanced / (advanced + dropped) over stays that ended in the window; None without any."""
    return ratio(advanced, advanced + dropped)


def mean_minor(total_minor: int, count: int) -> Fraction | None:
    """The exact mean of `count` amounts summing to `total_minor` (None when count is 0)."""
    return ratio(total_minor, count)


def mean_days(total_seconds: int | float, count: int) -> Fraction | None:
    """The mean duration in days of `count` intervals summing to `total_seconds`."""
    if not count:
        return None
    return _frac(total_seconds) / (count * SECONDS_PER_DAY)


def weighted_minor(value_minor: int, probability_percent: int) -> Fraction:
    """An open value times its stage probability (0-100), exact."""
    return Fraction(value_minor * probability_percent, 100)


def velocity_per_day(
    open_deals: int, avg_deal_size: Number | None, win_rate_: Number | None, avg_cycle_days: Number | None
) -> Fraction | None:
    """Sales velocity = open deals x average deal size x win rate / average cycle length (money per day).

    The deal size is in minor units, so the result is too (exact; round with `round_minor`).
    None when any input is missing or the cycle is zero days.
    """
    if avg_deal_size is None or win_rate_ is None or avg_cycle_days is None:
        return None
    cycle = _frac(avg_cycle_days)
    if cycle <= 0:
        return None
    return open_deals * _frac(avg_deal_size) * _frac(win_rate_) / cycle


def coverage_ratio(open_value_minor: int, target_minor: int | None) -> Fraction | None:
    """Open pipeline value / revenue target; None without a (positive) target."""
    if target_minor is None or target_minor <= 0:
        return None
    return Fraction(open_value_minor, target_minor)


def median(values: Iterable[Number]) -> Fraction | None:
    """The median (mean of the two middle values for an even count); None for no values."""
    ordered = sorted(_frac(v) for v in values)
    if not ordered:
        return None
    mid = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[mid]
    return (ordered[mid - 1] + ordered[mid]) / 2


def pick_bottleneck(avg_days: dict[int, Number | None]) -> int | None:
    """The key with the highest average days (ties: the first in iteration order); None without data."""
    best: int | None = None
    best_days: Fraction | None = None
    for key, days in avg_days.items():
        if days is None:
            continue
        d = _frac(days)
        if best_days is None or d > best_days:
            best, best_days = key, d
    return best


# A ratio against a median this small says nothing (a stage of minutes is "40x" a stage of seconds).
RATIO_MIN_MEDIAN_DAYS = Fraction(1, 24)


def bottleneck_reason(stage: str, avg_days: Number, median_days: Number | None, stages_with_data: int) -> str:
    """One sentence: "Contract Review holds deals 12.4 days on average, 2.1x the pipeline median of 5.9 days.".

    Durations read like `format_duration`. With a median under an hour the sentence names the longest stay
    instead of a ratio.
    """
    days = _frac(avg_days)
    head = f"{stage} holds deals {format_duration(days)} on average"
    if stages_with_data <= 1 or median_days is None:
        return f"{head}; it is the only stage with finished stays in the window."
    med = _frac(median_days)
    if med < RATIO_MIN_MEDIAN_DAYS:
        return (f"{head}, the longest average stay of the {plural(stages_with_data, 'stage')} with finished "
                f"stays in the window.")
    times = days / med
    return f"{head}, {float(times):.1f}x the pipeline median of {format_duration(med)}."


# -- formatting -------------------------------------------------------------------------------------


def format_percent(rate: Number | None, *, decimals: int = 1) -> str:
    """0.25 -> "25%", 1/3 -> "33.3%", None -> "n/a"."""
    if rate is None:
        return "n/a"
    pct = Decimal(float(_frac(rate) * 100)).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
    text = f"{pct:f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return f"{text}%"


def format_days(days: Number | None) -> str:
    """12.36 -> "12.4"; None -> "n/a"."""
    if days is None:
        return "n/a"
    return f"{_half_up(_frac(days), '0.1'):f}"


def _half_up(value: Fraction, step: str) -> Decimal:
    exact = Decimal(value.numerator) / Decimal(value.denominator)
    return exact.quantize(Decimal(step), rounding=ROUND_HALF_UP)


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """1 -> "1 day", 2 -> "2 days", 1000 -> "1,000 days" (`plural_form` for irregular words)."""
    word = singular if count == 1 else (plural_form if plural_form is not None else singular + "s")
    return f"{count:,} {word}"


def format_duration(days: Number | None, *, short: bool = False) -> str:
    """A duration for people: "12.4 days" ("12.4 d" short; "1.0 day"), under a day "5.2 h", under an hour
    "42 min", under a minute "35 s"; None -> "n/a". Negative durations read as zero.

    Each unit is chosen after rounding, so 23.96 hours reads "1.0 day", not "24.0 h".
    """
    if days is None:
        return "n/a"
    d = max(_frac(days), Fraction(0))
    seconds = _half_up(d * SECONDS_PER_DAY, "1")
    if seconds < 60:
        return f"{seconds:f} s"
    minutes = _half_up(d * 1440, "1")
    if minutes < 60:
        return f"{minutes:f} min"
    hours = _half_up(d * 24, "0.1")
    if hours < 24:
        return f"{hours:f} h"
    text = f"{_half_up(d, '0.1'):f}"
    if short:
        return f"{text} d"
    return f"{text} {'day' if text == '1.0' else 'days'}"


def format_ratio(value: Number | None) -> str:
    """3 -> "3.0x"; None -> "n/a"."""
    if value is None:
        return "n/a"
    q = Decimal(float(_frac(value))).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    text = f"{q:f}".rstrip("0")
    if text.endswith("."):
        text += "0"
    return f"{text}x"


def json_rate(value: Number | None, places: int = 4) -> float | None:
    """A rate or ratio for JSON: a float rounded to `places` decimals, or None."""
    if value is None:
        return None
    return round(float(_frac(value)), places)


def json_days(value: Number | None) -> float | None:
    """Days for JSON, to 6 decimals (0.09 s): enough to check velocity against the cycle even for a cycle of
    minutes."""
    return json_rate(value, 6)


def sparkline(values: list[int], *, width: int | None = None) -> str:
    """Block characters for a trend: zero is the lowest block, anything above zero at least the second."""
    blocks = "▁▂▃▄▅▆▇█"
    if width is not None and len(values) > width:
        values = values[-width:]
    top = max(values, default=0)
    if top <= 0:
        return blocks[0] * len(values)
    return "".join(blocks[0] if v <= 0 else blocks[max(1, min(7, round(v / top * 7)))] for v in values)


def bar(value: Number, maximum: Number, width: int) -> str:
    """A horizontal bar of `width` cells at most, with eighth-cell precision."""
    if width <= 0 or not maximum or value <= 0:
        return ""
    eighths = round(float(_frac(value) / _frac(maximum)) * width * 8)
    eighths = max(1, min(width * 8, eighths))
    full, rest = divmod(eighths, 8)
    partial = " ▏▎▍▌▋▊▉"[rest] if rest else ""
    return "█" * full + partial


__all__ = [
    "RATIO_MIN_MEDIAN_DAYS", "SECONDS_PER_DAY", "bar", "bottleneck_reason", "conversion_rate", "coverage_ratio",
    "format_days", "format_duration", "format_percent", "format_ratio", "json_days", "json_rate", "mean_days",
    "mean_minor", "median", "pick_bottleneck", "plural", "ratio", "round_minor", "sparkline", "velocity_per_day",
    "weighted_minor", "win_rate",
]
