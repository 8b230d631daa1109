"""The one clock. Every "now" in tuikanban comes from here; TUIKANBAN_NOW fixes it (docs/RULES.md, Clock)."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime, timedelta

from tuikanban.domain.errors import ValidationError

ENV_NOW = "TUIKANBAN_NOW"


def parse_instant(text: str, *, what: str = "time") -> datetime:
    """Parse an ISO 8601 date or date-time into an aware UTC datetime (naive means UTC)."""
    raw = text.strip()
    if not raw:
        raise ValidationError(f"The {what} is empty; use ISO 8601 such as 2026-03-01 or 2026-03-01T14:30.")
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00") if raw.endswith("Z") else raw)
    except ValueError:
        raise ValidationError(
            f"'{text}' is not a valid {what}; use ISO 8601 such as 2026-03-01 or 2026-03-01T14:30."
        ) from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def parse_date(text: str, *, what: str = "date") -> date:
    """Parse YYYY-MM-DD."""
    raw = text.strip()
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ValidationError(f"'{text}' is not a valid {what}; use YYYY-MM-DD such as 2026-03-31.") from None


def now() -> datetime:
    """The current instant as an aware UTC datetime, or TUIKANBAN_NOW when it is set."""
    fixed = os.environ.get(ENV_NOW)
    if fixed:
        return parse_instant(fixed, what=f"{ENV_NOW} value")
    return datetime.now(UTC)


def today() -> date:
    return now().date()


def as_utc(value: datetime) -> datetime:
    """Make a datetime aware UTC (naive values are taken as UTC)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def days_between(start: datetime, end: datetime) -> float:
    return (as_utc(end) - as_utc(start)).total_seconds() / 86400.0


# --at back-fills history; a time a little ahead of the clock is allowed for machines whose clocks differ slightly.
FUTURE_TOLERANCE = timedelta(minutes=5)


def when(at: datetime | str | None) -> datetime:
    """The time of a change: `--at` when given (back-filling history), else the clock."""
    current = now()
    if at is None:
        return current
    value = parse_instant(at, what="--at time") if isinstance(at, str) else as_utc(at)
    if value > current + FUTURE_TOLERANCE:
        raise ValidationError(
            f"The --at time {value:%Y-%m-%d %H:%M} is in the future; --at records changes that already happened."
        )
    return value
