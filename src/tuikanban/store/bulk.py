"""Bulk inserts for imports: each value converted once to the form SQLAlchemy stores on SQLite, then the
driver's own executemany.

Why: SQLAlchemy's executemany runs every value through its type processors and sets up the statement for every
chunk, about 13 µs a row: most of the time of an import of 100,000 deals (docs/PERFORMANCE.md, Big files). The
conversions below write what SQLAlchemy writes for these column types (times as naive UTC text with six decimals,
dates as ISO text, booleans as 0 and 1); a test reads rows inserted both ways and compares them. Any other
database, or a column default this module does not handle, goes through SQLAlchemy as before.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Boolean, Date, DateTime, insert

Convert = Callable[[Any], Any]


def _stamp(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.isoformat(" ", "microseconds")  # SQLAlchemy's "%04d-%02d-%02d %02d:%02d:%02d.%06d"


def _day(value: date | None) -> str | None:
    return None if value is None else f"{value.year:04d}-{value.month:02d}-{value.day:02d}"


def _flag(value: Any) -> int | None:
    return None if value is None else int(bool(value))


def _converter(column: Any) -> Convert | None:
    kind = getattr(column.type, "impl", column.type)  # UTCDateTime decorates DateTime
    if isinstance(kind, DateTime):
        return _stamp
    if isinstance(kind, Date):
        return _day
    if isinstance(kind, Boolean):
        return _flag
    return None


def insert_rows(conn: Any, table: Any, rows: Sequence[dict[str, Any]]) -> None:
    """INSERT every row (dicts with the same keys) in one executemany."""
    if not rows:
        return
    keys = list(rows[0])
    missing = [c for c in table.columns if c.name not in keys and c.default is not None]
    if conn.dialect.name != "sqlite" or missing or any(list(r) != keys for r in rows):
        conn.execute(insert(table), list(rows))
        return
    converters = [_converter(table.c[k]) for k in keys]
    names = ", ".join(f'"{k}"' for k in keys)
    marks = ", ".join("?" for _ in keys)
    pairs = list(zip(keys, converters, strict=True))
    values = [tuple(r[k] if f is None else f(r[k]) for k, f in pairs) for r in rows]
    conn.connection.driver_connection.executemany(f'INSERT INTO "{table.name}" ({names}) VALUES ({marks})', values)
