"""The schema migrations on both engines: a board taken back to an older schema (every object a later schema added
removed, the version lowered) opens upgraded, with its data, and with the tables, columns and indexes of a new
board. On PostgreSQL this is the path that failed when a migration asked SQLAlchemy whether an index existed (its
reflection calls a catalog function PostgreSQL 15 lacks)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from engines import drop_schema, new_schema
from tuikanban.domain.targets import parse_target
from tuikanban.services.deals import create_deal, get_deal, list_deals, move_deal, undo_last
from tuikanban.services.pipelines import create_pipeline, list_stages
from tuikanban.services.tasks import add_task, list_tasks
from tuikanban.store.engine import open_database
from tuikanban.store.tables import SCHEMA_VERSION

pytestmark = pytest.mark.engines

# What each schema added, taken away again (newest first, so an index goes before the column it covers).
REVIEW_INDEX = ("CREATE INDEX IF NOT EXISTS ix_event_review ON event (pipeline_id, at, kind, field, deal_id, "
                "from_stage_id, to_stage_id, old_value, new_value)")
REMOVE: dict[int, list[str]] = {
    12: [REVIEW_INDEX],  # schema 12 dropped schema 4's covering index of the log: a schema-11 board has it
    10: ["DROP INDEX ix_event_review_slim", "DROP INDEX ix_event_value", "DROP INDEX ix_event_create"],
    9: ["DROP INDEX ix_event_deal_state"],
    8: ["DROP INDEX ix_event_close_undo"],
    7: ["DROP INDEX ix_deal_cells"],
    6: ["DROP TABLE presence"],
    5: ["DROP INDEX ix_activity_open_task", "DROP INDEX ix_deal_waiting",
        "ALTER TABLE pipeline DROP COLUMN next_step_signal", "ALTER TABLE deal DROP COLUMN snoozed_until",
        "ALTER TABLE deal_type DROP COLUMN archived"],
    4: ["DROP TABLE deal_check", "DROP TABLE review_mark", "DROP INDEX ix_event_review",
        "ALTER TABLE stage DROP COLUMN required", "ALTER TABLE stage DROP COLUMN checklist"],
    3: ["DROP INDEX ix_stay_stage_span", "DROP INDEX ix_event_deal_at", "DROP INDEX ix_event_close_edit",
        "CREATE INDEX ix_stay_stage_left ON stay (stage_id, left_at)"],
    2: ["ALTER TABLE stage DROP COLUMN archived", "ALTER TABLE pipeline DROP COLUMN lost_reasons",
        "ALTER TABLE pipeline DROP COLUMN is_default", "ALTER TABLE event DROP COLUMN ref_id"],
}


def _engine(target: str) -> Any:
    t = parse_target(target)
    if t.path is not None:
        return create_engine(f"sqlite:///{t.path}")
    from tuikanban.store.pg import make_engine

    return make_engine(t)


def run_sql(target: str, statements: list[str]) -> None:
    """The statements in one transaction, on a connection of their own (not through tuikanban)."""
    engine = _engine(target)
    try:
        with engine.begin() as conn:
            for statement in statements:
                conn.execute(text(statement))
    finally:
        engine.dispose()


def take_back_to(target: str, version: int, *, keep: tuple[str, ...] = ()) -> None:
    """The board as schema `version` wrote it: what later schemas added removed (but the statements in `keep`)."""
    statements = [s for v in sorted(REMOVE, reverse=True) if v > version for s in REMOVE[v] if s not in keep]
    run_sql(target, [*statements, f"UPDATE tk_meta SET value = '{version}' WHERE key = 'schema_version'"])


def catalog(target: str) -> dict[str, Any]:
    """Tables with their columns (name, type, nullable), and the index names, read from the engine's catalog."""
    engine = _engine(target)
    try:
        with engine.connect() as conn:
            if parse_target(target).path is not None:
                names = [r[0] for r in conn.execute(text(
                    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"))]
                columns = {n: {(r[1], r[2].upper(), not r[3])
                               for r in conn.exec_driver_sql(f'PRAGMA table_info("{n}")')} for n in names}
                found = {r[0] for r in conn.execute(text(
                    "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"))}
            else:
                columns = {}
                for table, column, dtype, nullable in conn.execute(text(
                        "SELECT table_name, column_name, data_type, is_nullable FROM information_schema.columns "
                        "WHERE table_schema = current_schema()")):
                    columns.setdefault(table, set()).add((column, dtype.upper(), nullable == "YES"))
                found = {r[0] for r in conn.execute(text(
                    "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()"))}
    finally:
        engine.dispose()
    return {"columns": columns, "indexes": found}


@pytest.fixture
def fresh_target(engine: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """A second, new board on the test's engine (a file, or a schema of its own), to compare the catalog with."""
    if engine == "sqlite":
        path = tmp_path / "fresh.db"
        open_database(path).close()
        yield str(path)
        return
    url = new_schema(str(request.getfixturevalue("pg_database")))
    try:
        open_database(url).close()
        yield url
    finally:
        drop_schema(url)


def _fill(target: str) -> None:
    """A pipeline with a WIP limit, a type, two deals (one moved), and a task: data every schema since 1 holds."""
    db = open_database(target)
    try:
        create_pipeline(db, "Sales", "Lead,Proposal,Negotiation", target="500k")
        create_deal(db, "Sales", "Acme renewal", user="ann", value="12,500.50", company="Acme",
                    close="2026-04-01", at="2026-01-05T09:00")
        create_deal(db, "Sales", "Beta pilot", user="bob", value="5k", at="2026-01-06T09:00")
        move_deal(db, 1, "Proposal", user="ann", at="2026-01-10T09:00")
        add_task(db, 1, "Send the contract", "2026-03-05", user="ann")
    finally:
        db.close()


def _check_upgraded(target: str, version: int, fresh_target: str) -> None:
    before = catalog(target)
    db = open_database(target)
    try:
        assert db.schema_version() == SCHEMA_VERSION
        acme = get_deal(db, 1)
        assert (acme.title, acme.company, acme.value_minor, acme.stage_name, acme.owner) == (
            "Acme renewal", "Acme", 1_250_050, "Proposal", "ann")
        assert str(acme.expected_close) == "2026-04-01"
        assert [d.id for d in list_deals(db, "Sales", status="all")] == [2, 1]
        assert [s.name for s in list_stages(db, "Sales")] == ["Lead", "Proposal", "Negotiation"]
        assert [t.text for t in list_tasks(db, owner="ann")] == ["Send the contract"]
        # it works as a current board: a move (an event with ref_id) and its undo (which reads ref_id)
        move_deal(db, 1, "Negotiation", user="ann")
        assert get_deal(db, 1).stage_name == "Negotiation"
        undo_last(db, "Sales", user="ann")
        assert get_deal(db, 1).stage_name == "Proposal"
    finally:
        db.close()
    after, fresh = catalog(target), catalog(fresh_target)
    assert after == fresh
    if version < SCHEMA_VERSION - 1:
        assert before != fresh  # the board really was older than a new one


@pytest.mark.parametrize("version", range(1, SCHEMA_VERSION))
def test_an_older_board_opens_upgraded(db_target: str, fresh_target: str, version: int) -> None:
    _fill(db_target)
    take_back_to(db_target, version)
    before = catalog(db_target)
    assert ("ix_stay_stage_left" in before["indexes"]) == (version < 3)
    assert ("presence" in before["columns"]) == (version >= 6)
    _check_upgraded(db_target, version, fresh_target)


def test_a_step_finding_part_of_its_work_done_adds_the_rest(db_target: str, fresh_target: str) -> None:
    """A schema-1 board that already has some objects of later schemas (a table, a column, indexes): each step adds
    only what is missing instead of failing on what is there."""
    _fill(db_target)
    keep = ("DROP TABLE presence", "DROP INDEX ix_deal_cells", "ALTER TABLE deal DROP COLUMN snoozed_until",
            "DROP INDEX ix_event_review",
            "ALTER TABLE stage DROP COLUMN required", "ALTER TABLE pipeline DROP COLUMN is_default",
            "DROP INDEX ix_stay_stage_span")
    take_back_to(db_target, 1, keep=keep)
    before = catalog(db_target)
    assert {"ix_deal_cells", "ix_event_review", "ix_stay_stage_span"} <= before["indexes"]
    assert "presence" in before["columns"]
    assert "required" in {c[0] for c in before["columns"]["stage"]}
    assert "archived" not in {c[0] for c in before["columns"]["stage"]}
    _check_upgraded(db_target, 1, fresh_target)


def test_schema_12_drops_the_covering_review_index(db_target: str, fresh_target: str) -> None:
    """A schema-11 board (with schema 4's ix_event_review) opens upgraded without it, its data and the other
    event indexes kept, on both engines; a new board never has it."""
    _fill(db_target)
    take_back_to(db_target, 11)
    before = catalog(db_target)
    assert "ix_event_review" in before["indexes"]
    assert "ix_event_review" not in catalog(fresh_target)["indexes"]
    _check_upgraded(db_target, 11, fresh_target)
    after = catalog(db_target)
    assert "ix_event_review" not in after["indexes"]
    assert before["indexes"] - after["indexes"] == {"ix_event_review"}
