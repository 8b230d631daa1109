"""The JSON import's checks of each item's values: every problem collected, each named by its place in the file."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from tuikanban.domain import clock, gates
from tuikanban.domain.errors import ValidationError
from tuikanban.domain.money import parse_money
from tuikanban.domain.text import clean_text
from tuikanban.services.io.common import lower_first

MAX_INT = 2**31 - 1  # the portable SQL INTEGER: ids, positions, limits, versions
MAX_BIG = 2**63 - 1  # BIGINT columns (rank)
MAX_DAYS = 36_500  # stale days and expected days: a century
MAX_MONEY_DIGITS = 30  # far beyond the money limits (domain.money refuses what is larger than its 15 digits)


_from_iso = datetime.fromisoformat
_day_from_iso = date.fromisoformat


class Checker:
    """Collects problems with the items of a JSON export, each named by its place in the file.

    Each check looks first for the usual value (text that is printable ASCII, a whole number in range, a time in
    UTC as the export writes it) and returns it at once; anything else goes the full way, which gives the same
    value for it and names every problem (the import checks a million values a pipeline; the quick way is about
    a third of the checks' time)."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def bad(self, where: str, message: str) -> None:
        self.problems.append(f"{where}: {message}")

    def text(self, where: str, item: dict[str, Any], key: str, limit: int, *, multiline: bool = False,
             required: bool = False) -> str:
        raw = item.get(key)
        if raw.__class__ is str and raw.isascii() and raw.isprintable():  # what clean_text returns as it is
            value = raw.strip()
            if len(value) <= limit and (value or not required):
                return value
        if raw is None:
            raw = ""
        if not isinstance(raw, str):
            self.bad(where, f"'{key}' must be text.")
            return ""
        value = clean_text(raw, multiline=multiline).strip()
        if len(value) > limit:
            self.bad(where, f"'{key}' is longer than {limit} characters ({len(value)}).")
        if required and not value:
            self.bad(where, f"'{key}' is empty.")
        return value

    def opt_text(self, where: str, item: dict[str, Any], key: str) -> str | None:
        raw = item.get(key)
        if raw is None:
            return None
        if raw.__class__ is str and raw.isascii() and raw.isprintable():
            return raw
        if not isinstance(raw, str):
            self.bad(where, f"'{key}' must be text or null.")
            return None
        return clean_text(raw, multiline=True)

    def integer(self, where: str, item: dict[str, Any], key: str, *, optional: bool = True,
                minimum: int | None = None, maximum: int = MAX_INT) -> int | None:
        value = item.get(key)
        if value.__class__ is int and (minimum is None or value >= minimum) and -maximum - 1 <= value <= maximum:
            return value  # (a bool's class is bool, not int)
        if value is None:
            if not optional:
                self.bad(where, f"'{key}' is missing.")
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            self.bad(where, f"'{key}' must be a whole number.")
            return None
        if minimum is not None and value < minimum:
            self.bad(where, f"'{key}' must be at least {minimum}.")
            return None
        if not -maximum - 1 <= value <= maximum:
            self.bad(where, f"'{key}' is out of range (at most {maximum:,}).")
            return None
        return value

    def instant(self, where: str, item: dict[str, Any], key: str, *, optional: bool = False) -> datetime | None:
        value = item.get(key)
        if value.__class__ is str:
            try:
                got = _from_iso(value)  # what clock.parse_instant gives for a time in UTC (no space around it)
            except ValueError:
                pass
            else:
                if got.tzinfo is UTC:
                    return got
        if value is None:
            if not optional:
                self.bad(where, f"'{key}' is missing.")
            return None
        try:
            return clock.parse_instant(str(value), what=key)
        except ValidationError as exc:
            self.bad(where, lower_first(str(exc)))
            return None

    def day(self, where: str, item: dict[str, Any], key: str) -> date | None:
        value = item.get(key)
        if value is None or value == "":
            return None
        if value.__class__ is str and len(value) == 10:
            try:
                return _day_from_iso(value)  # what clock.parse_date gives for YYYY-MM-DD
            except ValueError:
                pass
        try:
            return clock.parse_date(str(value), what=key)
        except ValidationError as exc:
            self.bad(where, lower_first(str(exc)))
            return None

    def money(self, where: str, item: dict[str, Any], key: str, currency: str) -> int | None:
        value = item.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | Decimal):
            self.bad(where, f"'{key}' must be a number or null.")
            return None
        if isinstance(value, Decimal) and (not value.is_finite() or value.adjusted() > MAX_MONEY_DIGITS):
            self.bad(where, f"'{key}' is out of range.")  # 1e999999999 would be a billion digits written out
            return None
        try:
            return parse_money(f"{value:f}" if isinstance(value, Decimal) else str(value), currency)
        except ValidationError as exc:
            self.bad(where, lower_first(str(exc)))
            return None

    def ref(self, where: str, item: dict[str, Any], key: str, known: dict[int, int], *,
            optional: bool = True) -> int | None:
        value = item.get(key)
        if value.__class__ is int and value in known:  # (an id outside MAX_INT is never among the file's)
            return known[value]
        value = self.integer(where, item, key, optional=optional)
        if value is None:
            return None
        if value not in known:
            self.bad(where, f"'{key}' {value} refers to nothing in the file.")
            return None
        return known[value]


def gate(chk: Checker, where: str, stage: dict[str, Any]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """A stage's gate in the file: its required fields and its checklist (both optional: older exports have none)."""
    required, checklist = stage.get("required") or [], stage.get("checklist") or []
    if not isinstance(required, list) or not all(isinstance(r, str) for r in required):
        chk.bad(where, "'required' must be a list of field names.")
        return (), ()
    if not isinstance(checklist, list) or not all(isinstance(c, str) for c in checklist):
        chk.bad(where, "'checklist' must be a list of texts.")
        return (), ()
    try:
        return (gates.parse_requirements(",".join(required)) if required else (),
                gates.parse_checklist("\n".join(checklist)) if checklist else ())
    except ValidationError as exc:
        chk.bad(where, lower_first(str(exc)))
        return (), ()


def type_ref(chk: Checker, where: str, value: str | None, mapping: dict[int, int]) -> str | None:
    """A deal type id in an edit event's value, renumbered; one that is in no item of the file is a problem."""
    if value is None or value == "":
        return value
    if not value.strip().isdigit() or len(value) > 10 or int(value) not in mapping:
        chk.bad(where, f"the deal type {value[:20]} it names is not in the file.")
        return value
    return str(mapping[int(value)])
