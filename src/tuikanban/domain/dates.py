"""Date shortcuts for due dates and snoozes: what a rep types in a hurry (`+3d`, `mon`, `eom`) or an ISO date.

One parser for every command and form, so `tomorrow` means the same everywhere. Pure: "today" is passed in.
"""

from __future__ import annotations

import calendar
import re
from datetime import date, timedelta

from tuikanban.domain.errors import ValidationError

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_FULL_WEEKDAYS = tuple(calendar.day_name[i].lower() for i in range(7))
_OFFSET = re.compile(r"^\+(\d{1,4})([dw])$")
# The working week ends on Friday: "by end of week" in sales means before the weekend.
END_OF_WEEK = 4

HELP = "+3d, +2w, today, tomorrow, mon..sun (the next one), eow (Friday), eom (month end) or YYYY-MM-DD"


def parse_due(text: str, today: date, *, what: str = "date") -> date:
    """The date `text` names, counted from `today`.

    `+Nd` / `+Nw`: N days or weeks ahead; `today`, `tomorrow`; `mon`..`sun` (or the full name): the next such day,
    never today itself; `eow`: this week's Friday (today on a Friday, next Friday on a weekend); `eom`: the last
    day of this month; or an ISO date (YYYY-MM-DD).
    """
    raw = text.strip().lower()
    if not raw:
        raise ValidationError(f"The {what} is empty; use {HELP}.")
    offset = _OFFSET.match(raw)
    if offset:
        n = int(offset.group(1))
        return today + timedelta(days=n * (7 if offset.group(2) == "w" else 1))
    if raw == "today":
        return today
    if raw == "tomorrow":
        return today + timedelta(days=1)
    weekday = _weekday(raw)
    if weekday is not None:
        return today + timedelta(days=(weekday - today.weekday() - 1) % 7 + 1)
    if raw == "eow":
        return today + timedelta(days=(END_OF_WEEK - today.weekday()) % 7)
    if raw == "eom":
        return today.replace(day=calendar.monthrange(today.year, today.month)[1])
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ValidationError(f"'{text.strip()}' is not a {what} I know; use {HELP}.") from None


def _weekday(raw: str) -> int | None:
    if raw in WEEKDAYS:
        return WEEKDAYS.index(raw)
    if raw in _FULL_WEEKDAYS:
        return _FULL_WEEKDAYS.index(raw)
    return None
