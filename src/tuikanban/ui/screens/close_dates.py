"""What people type for an expected close date (the deal form's field): dates and shortcuts."""

from __future__ import annotations

import calendar
import re
from datetime import date, timedelta

from tuikanban.domain import clock
from tuikanban.domain.dates import parse_due
from tuikanban.domain.errors import ValidationError

_RELATIVE = re.compile(r"^\+\s*(\d{1,4})\s*([dwmy]?)$", re.IGNORECASE)


def _add_months(start: date, months: int) -> date:
    month0 = start.month - 1 + months
    year, month = start.year + month0 // 12, month0 % 12 + 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def parse_close_date(text: str, today: date | None = None) -> date | None:
    """What people type for an expected close date: 2026-03-31, today, tomorrow, +30d, +2w, +3m, eom, eoq, eoy.

    Empty means no date.
    """
    raw = text.strip().lower()
    if not raw:
        return None
    base = today or clock.today()
    if raw == "today":
        return base
    if raw == "tomorrow":
        return base + timedelta(days=1)
    if raw == "eom":
        return date(base.year, base.month, calendar.monthrange(base.year, base.month)[1])
    if raw == "eoq":
        last = (base.month - 1) // 3 * 3 + 3
        return date(base.year, last, calendar.monthrange(base.year, last)[1])
    if raw == "eoy":
        return date(base.year, 12, 31)
    match = _RELATIVE.match(raw)
    if match:
        n, unit = int(match.group(1)), (match.group(2) or "d").lower()
        try:
            if unit == "d":
                return base + timedelta(days=n)
            if unit == "w":
                return base + timedelta(weeks=n)
            if unit == "m":
                return _add_months(base, n)
            return _add_months(base, 12 * n)
        except (OverflowError, ValueError):
            raise ValidationError(f"'{text.strip()}' is too far ahead for a close date.") from None
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw):
        return clock.parse_date(raw, what="close date")
    try:  # the shortcuts every date field takes (mon..sun, eow), one parser for all
        return parse_due(raw, base, what="close date")
    except ValidationError:
        raise ValidationError(f"'{text.strip()}' is not a date; use YYYY-MM-DD, or +30d, +2w, +3m, eom, eoq, fri, "
                              "eow.") from None


__all__ = ["parse_close_date"]
