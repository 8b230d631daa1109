"""Moments and periods as people type them in a review: `7d`, `last-monday`, `last-review`, a date, an ISO time;
`this-quarter`, `2027-Q1`, `2027-03`. Pure functions of the text and "now", shared by the CLI and the board."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta

from tuikanban.domain import clock
from tuikanban.domain.errors import ValidationError

LAST_REVIEW = "last-review"
_AGO = re.compile(r"^(\d{1,4})([dw])$")
_QUARTER = re.compile(r"^(\d{4})-q([1-4])$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
WHEN_HELP = "a date, an ISO time, 7d, 2w, last-monday or last-review"


def midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def last_monday(now: datetime) -> datetime:
    """00:00 UTC of the Monday before today (a week ago when today is a Monday): the previous weekly review."""
    today = now.date()
    back = today.weekday() or 7
    return midnight(today - timedelta(days=back))


def parse_when(text: str, *, now: datetime, last_review: datetime | None = None, what: str = "--since") -> datetime:
    """A moment: `7d` (7 days before now), `2w`, `last-monday`, `last-review` (needs `last_review`), a date
    (00:00 UTC) or an ISO time."""
    raw = text.strip().lower()
    m = _AGO.match(raw)
    if m:
        days = int(m.group(1)) * (7 if m.group(2) == "w" else 1)
        return now - timedelta(days=days)
    if raw == "last-monday":
        return last_monday(now)
    if raw == LAST_REVIEW:
        if last_review is None:
            raise ValidationError("You have no review recorded for this pipeline yet; use --since 7d the first time.")
        return last_review
    if not raw or not raw[0].isdigit():
        raise ValidationError(f"'{text}' is not a valid {what}; use {WHEN_HELP}.")
    return clock.parse_instant(text, what=what)


def quarter_of(day: date) -> tuple[date, date]:
    first_month = 3 * ((day.month - 1) // 3) + 1
    start = date(day.year, first_month, 1)
    return start, _month_after(date(day.year, first_month + 2, 1)) - timedelta(days=1)


def _month_after(day: date) -> date:
    return date(day.year + (day.month == 12), day.month % 12 + 1, 1)


def parse_period(text: str, *, today: date) -> tuple[date, date]:
    """A closing period as (first day, last day), both included: `this-quarter`, `next-quarter`, `this-month`,
    `next-month`, `2027-Q1` or `2027-03`."""
    raw = text.strip().lower()
    if raw == "this-quarter":
        return quarter_of(today)
    if raw == "next-quarter":
        return quarter_of(quarter_of(today)[1] + timedelta(days=1))
    if raw in ("this-month", "next-month"):
        start = date(today.year, today.month, 1)
        if raw == "next-month":
            start = _month_after(start)
        return start, _month_after(start) - timedelta(days=1)
    m = _QUARTER.match(raw)
    if m:
        return quarter_of(date(int(m.group(1)), 3 * int(m.group(2)), 1))
    m = _MONTH.match(raw)
    if m and 1 <= int(m.group(2)) <= 12:
        start = date(int(m.group(1)), int(m.group(2)), 1)
        return start, _month_after(start) - timedelta(days=1)
    raise ValidationError(
        f"'{text}' is not a closing period; use this-quarter, next-quarter, this-month, next-month, 2027-Q1 or 2027-03."
    )


__all__ = ["LAST_REVIEW", "WHEN_HELP", "last_monday", "midnight", "parse_period", "parse_when", "quarter_of"]
