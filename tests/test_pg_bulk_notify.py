"""PostgreSQL's change feed during bulk writes: an import's COPY turns the row triggers' NOTIFY off for its rows
(the transaction-local setting `tuikanban.bulk`) and notifies once per pipeline itself, so a board open during an
import still hears of it; a database of the schema before gets the new triggers when it is opened."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from engines import execute, rows
from tuikanban.services.pipelines import create_pipeline
from tuikanban.store.engine import Database, open_database
from tuikanban.store.feed import open_feed
from tuikanban.store.pgddl import NOTIFY_TABLES
from tuikanban.store.tables import SCHEMA_VERSION

pytestmark = pytest.mark.postgres_only


def _drain(feed: Any) -> None:
    while feed.wait(0.2) is not None:
        pass


def test_a_csv_import_wakes_a_board_of_its_pipeline_and_no_other(cli: Any, db: Database, db_target: str,
                                                                   tmp_path: Path) -> None:
    sales = create_pipeline(db, "Sales", "Lead,Won")
    create_pipeline(db, "Renewals", "Open,Done")
    feed = open_feed(db_target)
    try:
        _drain(feed)
        path = tmp_path / "deals.csv"
        path.write_text("title,stage\n" + "".join(f"Deal {n},Lead\n" for n in range(300)), encoding="utf-8")
        done = cli("import", str(path), "-p", "Sales")
        assert done.code == 0, done.err
        change = feed.wait(2.0)
        assert change is not None and change.pipeline_ids == frozenset({sales.id})
        assert feed.wait(0.3) is None  # one commit, heard once
    finally:
        feed.close()
    assert rows(db_target, "SELECT count(*) FROM deal WHERE pipeline_id = :p", p=sales.id) == [(300,)]


def test_a_json_import_wakes_the_boards_with_the_new_pipelines_id(cli: Any, db: Database, db_target: str,
                                                                   tmp_path: Path) -> None:
    create_pipeline(db, "Sales", "Lead,Won")
    for n in range(50):
        assert cli("deal", "add", f"Deal {n}", "-p", "Sales").code == 0
    path = tmp_path / "sales.json"
    assert cli("export", "--format", "json", "-p", "Sales", "-o", str(path)).code == 0
    assert json.loads(path.read_text(encoding="utf-8"))["deals"]
    feed = open_feed(db_target)
    try:
        _drain(feed)
        done = cli("import", str(path), "-p", "Sales copy")
        assert done.code == 0, done.err
        change = feed.wait(2.0)
        new_id = rows(db_target, "SELECT id FROM pipeline WHERE name = 'Sales copy'")[0][0]
        assert change is not None and change.pipeline_ids == frozenset({new_id})
    finally:
        feed.close()
    assert rows(db_target, "SELECT count(*) FROM deal WHERE pipeline_id = :p", p=new_id) == [(50,)]


def test_rows_written_with_the_bulk_setting_on_notify_nobody_by_themselves(db: Database, db_target: str) -> None:
    sales = create_pipeline(db, "Sales", "Lead,Won")
    feed = open_feed(db_target)
    try:
        _drain(feed)
        execute(db_target, ("SELECT set_config('tuikanban.bulk', 'on', true)", {}),
                ("UPDATE stage SET name = name || ' ' WHERE pipeline_id = :p", {"p": sales.id}))
        assert feed.wait(0.5) is None  # whoever turns them off notifies (store.bulk does, once per pipeline)
        execute(db_target, ("UPDATE stage SET name = rtrim(name) WHERE pipeline_id = :p", {"p": sales.id}))
        change = feed.wait(2.0)  # the setting ended with its transaction: every other write notifies as before
        assert change is not None and change.pipeline_ids == frozenset({sales.id})
    finally:
        feed.close()


_OLD_TRIGGER = ("CREATE TRIGGER tk_notify AFTER INSERT OR UPDATE OR DELETE ON {table} FOR EACH ROW "
                "EXECUTE FUNCTION tk_notify('{column}')")


def _trigger_definitions(target: str) -> list[str]:
    return [r[0] for r in rows(target, "SELECT pg_get_triggerdef(t.oid) FROM pg_trigger t JOIN pg_class c ON "
                                       "c.oid = t.tgrelid WHERE t.tgname = 'tk_notify' AND "
                                       "c.relnamespace = current_schema()::regnamespace")]


def test_a_board_of_schema_10_gets_the_quiet_triggers_when_opened(db: Database, db_target: str) -> None:
    sales = create_pipeline(db, "Sales", "Lead,Won")
    db.close()
    statements = [(f"DROP TRIGGER tk_notify ON {table}", {}) for table in NOTIFY_TABLES]
    statements += [(_OLD_TRIGGER.format(table=table, column=column), {}) for table, column in NOTIFY_TABLES.items()]
    execute(db_target, *statements, ("UPDATE tk_meta SET value = '10' WHERE key = 'schema_version'", {}))
    assert not any("tuikanban.bulk" in d for d in _trigger_definitions(db_target))
    upgraded = open_database(db_target)
    try:
        assert upgraded.schema_version() == SCHEMA_VERSION
        found = _trigger_definitions(db_target)
        assert len(found) == len(NOTIFY_TABLES) and all("tuikanban.bulk" in d for d in found)
        feed = open_feed(db_target)
        try:
            _drain(feed)
            execute(db_target, ("SELECT set_config('tuikanban.bulk', 'on', true)", {}),
                    ("UPDATE stage SET position = position WHERE pipeline_id = :p", {"p": sales.id}))
            assert feed.wait(0.5) is None
        finally:
            feed.close()
    finally:
        upgraded.close()
