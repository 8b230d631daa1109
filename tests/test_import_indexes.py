"""Imports of many rows build the indexes of the tables they fill once, at the end (store.bulk.indexes_deferred):
the indexes are the same afterwards, and a refused or failed import leaves them as they were (the rollback brings
them back). Elsewhere than SQLite nothing changes."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from engines import rows
from tuikanban.services.pipelines import create_pipeline
from tuikanban.store import bulk
from tuikanban.store.engine import Database

pytestmark = pytest.mark.engines


def _indexes(db_path: Path, table: str | None = None) -> list[tuple[str, str]]:
    con = sqlite3.connect(db_path)
    try:
        where = "" if table is None else f" AND tbl_name = '{table}'"
        return con.execute(f"SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL{where} "
                           "ORDER BY name").fetchall()
    finally:
        con.close()


@pytest.mark.sqlite_only
def test_dropped_inside_the_block_and_built_again_at_its_end(db: Database, db_path: Path) -> None:
    create_pipeline(db, "Sales", "Lead,Won")
    before = _indexes(db_path)
    assert len(_indexes(db_path, "event")) >= 5
    inside: list[list[str]] = []

    def work(s: Any) -> None:
        conn = s.connection()
        with bulk.indexes_deferred(conn, ("event", "deal"), 10):
            names = conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
                                         "AND tbl_name IN ('event', 'deal')").scalars().all()
            inside.append(list(names))

    db.write(work)
    assert inside == [[]]
    assert _indexes(db_path) == before


@pytest.mark.sqlite_only
def test_a_failure_inside_the_block_leaves_the_indexes_as_they_were(db: Database, db_path: Path) -> None:
    create_pipeline(db, "Sales", "Lead,Won")
    before = _indexes(db_path)

    def work(s: Any) -> None:
        with bulk.indexes_deferred(s.connection(), ("event", "stay"), 10):
            raise RuntimeError("the import failed")

    with pytest.raises(RuntimeError):
        db.write(work)
    assert _indexes(db_path) == before


@pytest.mark.sqlite_only
def test_a_table_that_holds_more_rows_keeps_its_indexes(db: Database, db_path: Path) -> None:
    """Building an index again reads the whole table: only for tables that hold at most the rows the import adds.
    Unique indexes are never dropped."""
    create_pipeline(db, "Sales", "Lead,Won")  # two stages: the stage table holds 2 rows
    con = sqlite3.connect(db_path)
    con.execute("CREATE UNIQUE INDEX ix_test_unique ON event (id, kind)")
    con.commit()
    con.close()
    seen: list[list[str]] = []

    def work(s: Any) -> None:
        conn = s.connection()
        with bulk.indexes_deferred(conn, ("stage", "event"), 1):
            seen.append(conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT "
                                             "NULL AND tbl_name IN ('stage', 'event')").scalars().all())

    db.write(work)
    assert sorted(seen[0]) == sorted(["ix_test_unique", *(n for n, _ in _indexes(db_path, "stage"))])


def _csv(path: Path, n: int, last: str = "") -> Path:
    path.write_text("title,value,status,closed_at,lost_reason\n" + "".join(
        f"Deal {i},{i}.5,{('open', 'won', 'lost')[i % 3]},{'' if i % 3 == 0 else '2026-01-02'},"
        f"{'Price' if i % 3 == 2 else ''}\n" for i in range(n)) + last, encoding="utf-8")
    return path


@pytest.mark.sqlite_only
def test_the_imports_leave_the_same_indexes(cli: Any, db_path: Path, tmp_path: Path, fixed_now: str,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """A CSV import and a JSON import into an empty board defer the indexes of the tables they fill; afterwards
    the schema is what it was, and the history reads back through the indexes as before."""
    assert cli("pipeline", "create", "Sales", "--stages", "Lead,Won").code == 0
    before = _indexes(db_path)
    deferred: list[tuple[str, ...]] = []
    real = bulk.indexes_deferred

    def spy(conn: Any, tables: Any, n: int) -> Any:
        deferred.append(tuple(tables))
        return real(conn, tables, n)

    from tuikanban.services.io import csv_import, json_import

    monkeypatch.setattr(csv_import, "indexes_deferred", spy)
    monkeypatch.setattr(json_import, "indexes_deferred", spy)
    assert cli("import", str(_csv(tmp_path / "deals.csv", 3000))).code == 0
    assert _indexes(db_path) == before
    assert cli("export", "--format", "json", "-o", str(tmp_path / "sales.json")).code == 0
    assert cli("--db", str(tmp_path / "copy.db"), "import", str(tmp_path / "sales.json")).code == 0
    assert _indexes(tmp_path / "copy.db") == before
    assert deferred == [("deal", "stay", "event"), ("deal", "event", "stay", "activity")]
    assert cli("--db", str(tmp_path / "copy.db"), "export", "--format", "json", "-o",
               str(tmp_path / "again.json")).code == 0
    assert (tmp_path / "again.json").read_bytes() == (tmp_path / "sales.json").read_bytes()


def test_a_refused_import_leaves_the_indexes_and_the_rows(cli: Any, db_target: str, tmp_path: Path,
                                                          fixed_now: str, engine: str) -> None:
    assert cli("pipeline", "create", "Sales", "--stages", "Lead,Won").code == 0
    assert cli("deal", "add", "Kept", "--value", "5").code == 0

    def indexes() -> list[Any]:
        if engine == "sqlite":
            return _indexes(Path(db_target))
        return rows(db_target, "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() "
                               "ORDER BY indexname")

    before, kept = indexes(), rows(db_target, "SELECT id, title FROM deal ORDER BY id")
    r = cli("import", str(_csv(tmp_path / "bad.csv", 2500, last="Last,oops\n")))
    assert r.code == 1 and "Nothing was imported" in r.err
    assert indexes() == before and len(before) > 5
    assert rows(db_target, "SELECT id, title FROM deal ORDER BY id") == kept
