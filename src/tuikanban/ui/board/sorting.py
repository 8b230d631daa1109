"""The order of the cards within a column (`o` cycles it): rank (the manual order that K / J change), value
(largest first), close date (soonest first, deals without one last) or days in stage (longest first). Ties keep
the rank order."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime

from tuikanban.store.fastread import BoardCard

RANK = "rank"
SORTS: tuple[str, ...] = ("rank", "value", "close", "days")
LABELS = {"rank": "rank", "value": "value", "close": "close date", "days": "days in stage"}

SortKey = Callable[[BoardCard], tuple[object, ...]]


def _rank(c: BoardCard) -> tuple[object, ...]:
    return (c.rank, c.id)


def _value(c: BoardCard) -> tuple[object, ...]:
    return (-(c.value_minor or 0), c.rank, c.id)


def _close(c: BoardCard) -> tuple[object, ...]:
    return (c.expected_close is None, c.expected_close or date.max, c.rank, c.id)


def _days(c: BoardCard) -> tuple[object, ...]:
    entered: datetime = c.stage_entered_at
    return (entered, c.rank, c.id)  # entered earliest = longest in the stage


KEYS: dict[str, SortKey] = {"rank": _rank, "value": _value, "close": _close, "days": _days}


def next_sort(current: str) -> str:
    return SORTS[(SORTS.index(current) + 1) % len(SORTS)] if current in SORTS else RANK
