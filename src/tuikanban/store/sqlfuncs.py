"""The only dialect-specific SQL outside the engine: the length of a time interval, and the larger of two values.

SQLite has no interval type, so `seconds_between` compiles to julianday() arithmetic there; every other dialect
(PostgreSQL) gets EXTRACT(EPOCH FROM end - start). Swap this module's compilers to move aging and metrics to another
database.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Float, Integer, String, literal
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ColumnElement, FunctionElement

from tuikanban.store.tables import UTCDateTime
from tuikanban.store.uow import days_between_sql

SECONDS_PER_DAY = 86400


class seconds_between(FunctionElement[int]):
    """Whole seconds from `start` to `end` (two timestamp columns or literals), as an SQL integer expression.

    SQLite has no interval type, so it is compiled with julianday(); every other dialect (PostgreSQL) uses
    EXTRACT(EPOCH FROM end - start). Swap this one helper to move the metrics to another database.
    """

    type = Integer()
    name = "seconds_between"
    inherit_cache = True


@compiles(seconds_between)
def _seconds_between_default(element: seconds_between, compiler: Any, **kw: Any) -> str:
    start, end = list(element.clauses)
    return (f"CAST(EXTRACT(EPOCH FROM ({compiler.process(end, **kw)} - {compiler.process(start, **kw)})) "
            "AS BIGINT)")


@compiles(seconds_between, "sqlite")
def _seconds_between_sqlite(element: seconds_between, compiler: Any, **kw: Any) -> str:
    start, end = list(element.clauses)
    return (f"CAST(ROUND((julianday({compiler.process(end, **kw)}) - julianday({compiler.process(start, **kw)}))"
            " * 86400) AS INTEGER)")


class days_between(FunctionElement[float]):
    """Fractional days from `start` to `end`, as an SQL float expression: both times cut to the millisecond, the
    same SQL as `store.uow.Unit.days_between` (the plain reads'), so both spellings give the same float on both
    engines (SQLite's bare julianday difference and PostgreSQL's numeric EXTRACT differed in the 6th decimal)."""

    type = Float()
    name = "days_between"
    inherit_cache = True


@compiles(days_between)
def _days_between_default(element: days_between, compiler: Any, **kw: Any) -> str:
    start, end = list(element.clauses)
    return days_between_sql(compiler.process(start, **kw), compiler.process(end, **kw), postgres=True)


@compiles(days_between, "sqlite")
def _days_between_sqlite(element: days_between, compiler: Any, **kw: Any) -> str:
    start, end = list(element.clauses)
    return days_between_sql(compiler.process(start, **kw), compiler.process(end, **kw), postgres=False)


class sortable_at(FunctionElement[str]):
    """A timestamp as fixed-width text (`YYYY-MM-DD HH:MM:SS.ffffff`, 26 characters) that sorts like the time, so
    that MIN(sortable_at(at) || payload) picks the payload of the earliest row in a plain GROUP BY."""

    type = String()
    name = "sortable_at"
    inherit_cache = True


SORTABLE_AT_WIDTH = 26


@compiles(sortable_at)
def _sortable_at_default(element: sortable_at, compiler: Any, **kw: Any) -> str:
    (value,) = list(element.clauses)
    return f"to_char({compiler.process(value, **kw)}, 'YYYY-MM-DD HH24:MI:SS.US')"


@compiles(sortable_at, "sqlite")
def _sortable_at_sqlite(element: sortable_at, compiler: Any, **kw: Any) -> str:
    (value,) = list(element.clauses)  # stored as exactly this text already
    return f"CAST({compiler.process(value, **kw)} AS TEXT)"


class greatest(FunctionElement[Any]):
    """The larger of two values of the same type (NULL if either is NULL): GREATEST on PostgreSQL, SQLite's
    two-argument max() there (the same NULL rule, unlike PostgreSQL's GREATEST, which skips NULLs: callers pass
    non-NULL values, for example through coalesce)."""

    name = "greatest"
    inherit_cache = True


@compiles(greatest)
def _greatest_default(element: greatest, compiler: Any, **kw: Any) -> str:
    return f"GREATEST({compiler.process(element.clauses, **kw)})"


@compiles(greatest, "sqlite")
def _greatest_sqlite(element: greatest, compiler: Any, **kw: Any) -> str:
    return f"max({compiler.process(element.clauses, **kw)})"


class unindexed(FunctionElement[Any]):
    """The value of a column, kept from choosing an index: SQLite's unary `+` (a no-op on any value) where a full
    scan is cheaper than an index whose every row costs a table lookup (the stays of a 90-day window, a quarter of
    the table), or where the planner would read a whole index in GROUP BY order instead of a covering range;
    the plain column elsewhere. Its type is the column's, so bound values compared with it are stored alike."""

    name = "unindexed"
    inherit_cache = True

    def __init__(self, column: Any) -> None:
        super().__init__(column)
        self.type = column.type


@compiles(unindexed)
def _unindexed_default(element: unindexed, compiler: Any, **kw: Any) -> str:
    return str(compiler.process(element.clauses, **kw))


@compiles(unindexed, "sqlite")
def _unindexed_sqlite(element: unindexed, compiler: Any, **kw: Any) -> str:
    return f"+{compiler.process(element.clauses, **kw)}"


def at_literal(value: datetime) -> ColumnElement[datetime]:
    """A timestamp literal stored the way the columns store timestamps."""
    return literal(value, UTCDateTime())


__all__ = ["SECONDS_PER_DAY", "SORTABLE_AT_WIDTH", "at_literal", "days_between", "greatest", "seconds_between",
           "sortable_at", "unindexed"]
