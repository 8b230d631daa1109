"""What the import and export modules share: the columns and formats, results, and small helpers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select

from tuikanban.domain import clock
from tuikanban.domain.errors import ValidationError
from tuikanban.domain.money import to_decimal
from tuikanban.store.tables import (
    Activity,
    Deal,
    DealType,
    Event,
    Pipeline,
    ReviewMark,
    Stage,
    Stay,
)

CSV_COLUMNS = (
    "title", "company", "contact", "value", "currency", "owner", "type", "stage", "status", "created_at",
    "closed_at", "lost_reason", "expected_close", "notes",
)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
JSON_FORMAT = "tuikanban-pipeline"
JSON_VERSION = 1
MAX_LOST_REASON = 500
MAX_OWNER = 200
MAX_ACTIVITY = 2000
CHUNK = 1000

Progress = Callable[[str, int, int], None]
"""progress(phase, done, total): phase is "checking", "writing" or "importing" (checking and writing at once), in
rows; or "reading", in bytes of the file (the JSON import, which reads as it goes)."""

TABLES: dict[str, Any] = {
    "stage": Stage.__table__, "type": DealType.__table__, "deal": Deal.__table__,  # type: ignore[attr-defined]
    "event": Event.__table__, "stay": Stay.__table__, "activity": Activity.__table__,  # type: ignore[attr-defined]
    "review_mark": ReviewMark.__table__,  # type: ignore[attr-defined]
}
PIPELINE_COLUMNS = Pipeline.__table__.c  # type: ignore[attr-defined]
DEAL_COLUMNS = Deal.__table__.c  # type: ignore[attr-defined]
STAGE_COLUMNS = Stage.__table__.c  # type: ignore[attr-defined]
TYPE_COLUMNS = DealType.__table__.c  # type: ignore[attr-defined]
EVENT_COLUMNS = Event.__table__.c  # type: ignore[attr-defined]
STAY_COLUMNS = Stay.__table__.c  # type: ignore[attr-defined]
ACTIVITY_COLUMNS = Activity.__table__.c  # type: ignore[attr-defined]
REVIEW_MARK_COLUMNS = ReviewMark.__table__.c  # type: ignore[attr-defined]


# An import that added at least this many deals and events refreshes the statistics of the tables it filled (on
# PostgreSQL: Database.analyze), a few tenths of a second on a board of a million events; a smaller one leaves them
# to autovacuum, the planner's picture being about right.
ANALYZE_AFTER_ROWS = 1000
IMPORTED_TABLES = ("stage", "deal_type", "deal", "event", "stay", "activity", "review_mark")


def analyze_after_import(db: Any, result: ImportResult) -> ImportResult:
    """Refresh the planner's statistics after a big import (PostgreSQL only; see ANALYZE_AFTER_ROWS)."""
    if result.deals + result.events >= ANALYZE_AFTER_ROWS:
        db.analyze(IMPORTED_TABLES)
    return result


class ImportProblems(ValidationError):
    """An import refused as a whole: one line per bad row (or item), then a summary sentence."""

    def __init__(self, problems: list[str], summary: str) -> None:
        super().__init__("\n".join([*problems, summary]))
        self.problems = problems
        self.summary = summary


@dataclass(frozen=True, slots=True)
class ImportResult:
    pipeline: str
    deals: int
    open: int
    won: int
    lost: int
    overrides: int = 0
    events: int = 0
    renumbered: bool = False
    gate_overrides: int = 0


def neutralise(cell: str) -> str:
    """A CSV cell a spreadsheet will not run as a formula: a leading = + - @ tab or CR gets a `'` before it."""
    return "'" + cell if cell.startswith(FORMULA_STARTS) else cell


def unneutralise(cell: str) -> str:
    return cell[1:] if cell.startswith("'") and cell[1:].startswith(FORMULA_STARTS) else cell


def iso(value: datetime | None) -> str | None:
    return clock.as_utc(value).isoformat() if value is not None else None


def date_iso(value: date | str | None) -> str | None:
    if value is None:
        return None
    return value.isoformat() if isinstance(value, date) else str(value)


def major_text(minor: int | None, currency: str) -> str:
    return "" if minor is None else f"{to_decimal(minor, currency):f}"


def streamed(conn: Any, query: Any) -> Any:
    """The rows of a SELECT read a few thousand at a time, not all at once: on PostgreSQL a server-side cursor
    (psycopg otherwise fetches the whole result into memory before the first row, 385 MB for a million events,
    and the connection then sat idle in its transaction while Python converted them, long enough for the
    server's idle-in-transaction timeout to close it); SQLite reads row by row anyway."""
    return conn.execute(query.execution_options(stream_results=True, max_row_buffer=CHUNK * 5))


def report_progress(progress: Progress | None, phase: str, done: int, total: int) -> None:
    if progress is not None:
        progress(phase, done, total)


def next_id(conn: Any, column: Any) -> int:
    return int(conn.execute(select(func.coalesce(func.max(column), 0))).scalar_one()) + 1


def lower_first(sentence: str) -> str:
    if len(sentence) > 1 and sentence[0].isupper() and not sentence[1].isupper():
        return sentence[0].lower() + sentence[1:]
    return sentence
