"""Forward migrations, one function per schema version. Written with SQLAlchemy constructs (portable).

Schema 1 was the first release; schema 2 added archived stages, pipeline lost reasons, the default flag
and undo references; schema 3 indexes; schema 4 stage gates, checklist ticks and review marks; schema 5 next-step
settings, snoozes, archived types and an open-task index; schema 6 presence; schema 7 an index of the board's
cells; schema 8 an index of the undo and redo of close-date edits; schema 9 an index of each deal's events but
the value changes (the forecast's backtest); schema 10 the review's three partial indexes of the event
log; schema 11 the PostgreSQL row triggers' WHEN clause that lets a bulk write notify once per pipeline; schema
12 drops schema 4's covering index of the whole log (ix_event_review), which the partial indexes of schema 10
made redundant.

Each step adds only what is missing, so it also runs on a database that already holds part of it. None asks
SQLAlchemy whether an object exists (`checkfirst`, `inspect`): its reflection of indexes on PostgreSQL calls
generate_subscripts(int2vector, bigint), which PostgreSQL 15 does not have. They use CREATE ... IF NOT EXISTS on
both engines, and for columns SQLite's table_info or PostgreSQL's ADD COLUMN IF NOT EXISTS.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Boolean, Column, Date, Integer, Table, Text, text
from sqlalchemy.schema import CreateColumn, CreateIndex, CreateTable

from tuikanban.domain.errors import DatabaseError


def _add_column(conn: Any, table: str, column: Column[Any]) -> None:
    ddl = CreateColumn(column).compile(dialect=conn.dialect)
    if conn.dialect.name == "postgresql":
        conn.execute(text(f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS {ddl}"))
        return
    existing = {row[1] for row in conn.exec_driver_sql(f'PRAGMA table_info("{table}")')}
    if column.name not in existing:
        conn.execute(text(f"ALTER TABLE {table} ADD COLUMN {ddl}"))  # standard SQL


def _create_indexes(conn: Any, table: Table, names: set[str]) -> None:
    """The table's indexes of those names that are missing (CREATE INDEX IF NOT EXISTS, on both engines)."""
    for index in table.indexes:
        if index.name in names:
            conn.execute(CreateIndex(index, if_not_exists=True))


def _create_table(conn: Any, table: Table) -> None:
    """The table and its indexes, where missing (CREATE TABLE / INDEX IF NOT EXISTS, on both engines)."""
    conn.execute(CreateTable(table, if_not_exists=True))
    _create_indexes(conn, table, {str(index.name) for index in table.indexes})


def _to_2(conn: Any) -> None:
    _add_column(conn, "stage", Column("archived", Boolean, nullable=False, server_default="0"))
    _add_column(conn, "pipeline", Column("lost_reasons", Text, nullable=False, server_default=""))
    _add_column(conn, "pipeline", Column("is_default", Boolean, nullable=False, server_default="0"))
    _add_column(conn, "event", Column("ref_id", Integer, nullable=True))


def _to_3(conn: Any) -> None:
    """Schema 3: indexes for aging and metrics (a covering stay index, the latest event per deal, close edits)."""
    from tuikanban.store.tables import Event, Stay

    conn.execute(text("DROP INDEX IF EXISTS ix_stay_stage_left"))  # superseded by ix_stay_stage_span
    wanted = {"ix_stay_stage_span", "ix_event_deal_at", "ix_event_close_edit"}
    for table in (Stay.__table__, Event.__table__):  # type: ignore[attr-defined]
        _create_indexes(conn, table, wanted)


def _to_4(conn: Any) -> None:
    """Schema 4: stage gates (required fields, exit checklist), ticked checklist items and each user's last review.
    (It also added a covering index for the review of changes, ix_event_review, which schema 12 drops: it is no
    longer created.)"""
    from tuikanban.store.tables import DealCheck, ReviewMark

    _add_column(conn, "stage", Column("required", Text, nullable=False, server_default=""))
    _add_column(conn, "stage", Column("checklist", Text, nullable=False, server_default=""))
    for table in (ReviewMark.__table__, DealCheck.__table__):  # type: ignore[attr-defined]
        _create_table(conn, table)


def _to_5(conn: Any) -> None:
    """Schema 5: the rep's day. The pipeline's no_next_step switch, snoozed deals, archived deal types and a
    partial index of open tasks."""
    from tuikanban.store.tables import Activity, Deal

    _add_column(conn, "pipeline", Column("next_step_signal", Boolean, nullable=False, server_default="1"))
    _add_column(conn, "deal", Column("snoozed_until", Date, nullable=True))
    _add_column(conn, "deal_type", Column("archived", Boolean, nullable=False, server_default="0"))
    for table in (Activity.__table__, Deal.__table__):  # type: ignore[attr-defined]
        _create_indexes(conn, table, {"ix_activity_open_task", "ix_deal_waiting"})


def _to_6(conn: Any) -> None:
    """Schema 6: the presence table (who has the board open now; never part of the history)."""
    from tuikanban.store.tables import Presence

    _create_table(conn, Presence.__table__)  # type: ignore[attr-defined]


def _to_7(conn: Any) -> None:
    """Schema 7: the board's cells index (a cell's first cards, and every cell's count and sum, from the index)."""
    from tuikanban.store.tables import Deal

    _create_indexes(conn, Deal.__table__, {"ix_deal_cells"})  # type: ignore[attr-defined]


def _to_8_close_undo_index(conn: Any) -> None:
    """Schema 8: a small partial index of the undo and redo of close-date edits, so that the aging's close_pushed
    counts the pushes that still stand (a push undone is taken back, a push redone counts again) without reading
    the log. CREATE INDEX IF NOT EXISTS on both engines: SQLAlchemy's check for an existing index reflects the
    catalog through a function some PostgreSQL versions lack."""
    from tuikanban.store.tables import Event

    for index in Event.__table__.indexes:  # type: ignore[attr-defined]
        if index.name == "ix_event_close_undo":
            conn.execute(CreateIndex(index, if_not_exists=True))


def _to_9_deal_state_index(conn: Any) -> None:
    """Schema 9: a partial covering index of each deal's events other than value changes, in time order, so that
    the forecast's backtest rewinds the few deals that can count at a past point without scanning the year's log
    (docs/PERFORMANCE.md, The backtest's speed). An index only: no writer changes."""
    from tuikanban.store.tables import Event

    for index in Event.__table__.indexes:  # type: ignore[attr-defined]
        if index.name == "ix_event_deal_state":
            conn.execute(CreateIndex(index, if_not_exists=True))


def _to_10_review_indexes(conn: Any) -> None:
    """Schema 10: the review's reads of the event log (services.review_core): a covering partial index of every
    event but value changes, in time order per pipeline (the period's range without the value changes, 60 % of a
    busy log), a partial index of the value changes per deal (a deal's changes after a moment in a few index
    steps) and one of the creations (the period's new deals). Only indexes: no writer changes, the rows are the
    same."""
    from tuikanban.store.tables import Event

    for index in Event.__table__.indexes:  # type: ignore[attr-defined]
        if index.name in ("ix_event_review_slim", "ix_event_value", "ix_event_create"):
            conn.execute(CreateIndex(index, if_not_exists=True))


def _to_11_quiet_bulk_notify(conn: Any) -> None:
    """Schema 11: on PostgreSQL the NOTIFY row triggers gain a WHEN clause (store.pgddl.install_notify), so that an
    import's COPY notifies once per pipeline instead of once per row (docs/PERFORMANCE.md, Round 8). The function
    and triggers are created again (CREATE OR REPLACE, DROP and CREATE TRIGGER: the same on a database that has
    them already). Nothing on SQLite (no triggers there: its feed watches the file)."""
    if conn.dialect.name == "postgresql":
        from tuikanban.store.pgddl import install_notify

        install_notify(conn)


def _to_12_drop_review_index(conn: Any) -> None:
    """Schema 12: drop ix_event_review (schema 4), a covering index of every event per pipeline and time. Since
    schema 10 the review's reads use the partial indexes (ix_event_review_slim, ix_event_value, ix_event_create)
    and no query of the product reads it, while every event written was also inserted into it
    (docs/PERFORMANCE.md, Round 8: one covering index of the event log fewer). DROP INDEX IF EXISTS on both
    engines: a board whose schema-4 step ran under schema 12's tables never had it."""
    conn.execute(text("DROP INDEX IF EXISTS ix_event_review"))


MIGRATIONS: dict[int, Callable[[Any], None]] = {2: _to_2, 3: _to_3, 4: _to_4, 5: _to_5, 6: _to_6, 7: _to_7,
                                                8: _to_8_close_undo_index, 9: _to_9_deal_state_index,
                                                10: _to_10_review_indexes, 11: _to_11_quiet_bulk_notify,
                                                12: _to_12_drop_review_index}


def migrate(conn: Any, current: int, target: int) -> None:
    for version in range(current + 1, target + 1):
        step = MIGRATIONS.get(version)
        if step is None:
            raise DatabaseError(f"No migration to schema {version} exists; the database was left untouched.")
        step(conn)
