"""The JSON export's rows written by the database (store/jsondump.py on SQLite, store/jsondump_pg.py on
PostgreSQL) against the rows converted in Python, and the two engines' exports of the same hostile board against
each other: the same bytes (text with quotes, backslashes, every control character and other scripts; NULLs; times
with and without a fraction and before the year 1000; values at the edges of the quick way, negative, in another
currency; a deleted deal; an event of no deal)."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from export_boards import HOSTILE, varied_board
from tuikanban.services.io import write_pipeline_json
from tuikanban.store import jsondump
from tuikanban.store.engine import Database, open_database

pytestmark = pytest.mark.engines

def _export(db: Database, pipeline: str = "Sales") -> bytes:
    out = io.StringIO()
    write_pipeline_json(db, pipeline, out)
    return out.getvalue().encode()


def _python_export(db: Database, monkeypatch: pytest.MonkeyPatch, pipeline: str = "Sales") -> bytes:
    with monkeypatch.context() as m:  # every row converted in Python, as before the database wrote them
        m.setattr(jsondump, "rows", lambda *args, **kwargs: None)
        return _export(db, pipeline)


@pytest.fixture
def hostile(db: Database, fixed_now: str) -> Database:
    return varied_board(db, hostile=True)


@pytest.mark.parametrize("pipeline", ["Sales", "Dinar"])
def test_the_database_rows_are_the_python_rows(hostile: Database, monkeypatch: pytest.MonkeyPatch,
                                               pipeline: str) -> None:
    fast = _export(hostile, pipeline)
    assert fast == _python_export(hostile, monkeypatch, pipeline)
    doc = json.loads(fast)
    if pipeline == "Dinar":
        assert [d["value"] for d in doc["deals"]] == [0.001, 12.5, 7, None]
        return
    assert {d["id"] for d in doc["deals"]} == {1, 2, 3, 5, 6}  # deal 4 was deleted, deal 11 is of Other
    deals = {d["id"]: d for d in doc["deals"]}
    assert deals[1]["title"] == HOSTILE and deals[1]["value"] == 9999999999999.99
    assert deals[1]["expected_close"] == "0005-06-07"
    assert deals[2]["closed_at"] == "0999-01-02T03:04:05.000001+00:00" and deals[2]["value"] == 10**15
    assert deals[3]["value"] == -1.5 and deals[3]["last_activity_at"] == "2026-02-03T04:05:06.100000+00:00"
    assert deals[5]["value"] == 10**16 + 0.07 and deals[6]["value"] == 0.01 and deals[6]["rank"] == -(2**62)
    assert doc["events"][0]["reason"] == HOSTILE and doc["events"][0]["at"] == "0001-01-01T00:00:00+00:00"
    assert '"title":"' + json.dumps(HOSTILE, ensure_ascii=False)[1:-1] + '"' in fast.decode()


def test_the_server_writes_the_rows_a_python_would(hostile: Database, engine: str) -> None:
    """On both engines the database writes each row's text (a deal's value outside the quick way comes as the
    row's id, for Python to convert); nothing but those deals is left to Python."""
    with hostile.read() as s:
        deals = [i for chunk in jsondump.rows(s.connection(), "deal", 1, money=("USD", 2)) or () for i in chunk]
        assert [d for d in deals if isinstance(d, int)] == [2, 3, 5]
        for table in ("event", "stay", "activity"):
            got = [i for chunk in jsondump.rows(s.connection(), table, 1) or () for i in chunk]
            assert got and all(isinstance(i, bytes) for i in got), (engine, table)


@pytest.mark.postgres_only
def test_postgresql_exports_what_sqlite_exports(hostile: Database, tmp_path: Path) -> None:
    """The same hostile board on both engines: the same file, byte for byte."""
    lite = varied_board(open_database(str(tmp_path / "twin.db")), hostile=True)
    try:
        for pipeline in ("Sales", "Dinar", "Other"):
            assert _export(hostile, pipeline) == _export(lite, pipeline), pipeline
    finally:
        lite.close()


class _Counted:
    """A connection whose cursors are counted: how many reads ran on it."""

    def __init__(self, con: Any) -> None:
        self.con, self.reads = con, 0

    def cursor(self) -> Any:
        self.reads += 1
        return self.con.cursor()

    def close(self) -> None:
        self.con.close()


@pytest.mark.postgres_only
def test_a_second_backend_reads_ranges_on_the_exports_snapshot(hostile: Database,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """With ranges of two ids every big table has several: a second connection reads some of them beside the first,
    on the snapshot the first exported, so a commit made once it has its snapshot is in neither and the file is the
    one-connection export's."""
    from tuikanban.store import jsondump_pg

    one = _export(hostile)
    twins: list[_Counted] = []
    real = jsondump_pg.SecondReader._open

    def opened(self: Any) -> Any:
        con = real(self)
        assert con is not None
        for sql in ("UPDATE deal SET title = 'changed'", "UPDATE event SET reason = 'changed'"):  # another process
            hostile.write(lambda s, sql=sql: s.connection().exec_driver_sql(sql))
        twins.append(_Counted(con))
        return twins[-1]

    monkeypatch.setattr(jsondump_pg, "RANGE", 2)
    monkeypatch.setattr(jsondump_pg.SecondReader, "_open", opened)
    assert _export(hostile) == one
    assert len(twins) == 1 and twins[0].reads > 0  # one second connection for the whole export, and it read
    assert b'"title":"changed"' in _export(hostile)  # (the commit is there for the next export)


@pytest.mark.postgres_only
def test_the_export_reads_on_one_connection_when_no_second_can_share_its_snapshot(
        hostile: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    """No second connection outside a REPEATABLE READ transaction (each statement would have its own snapshot),
    nor when the server refuses one; the export is then the same file, read on one connection."""
    import psycopg

    from tuikanban.store import jsondump_pg

    with hostile.engine.connect() as conn, jsondump_pg.snapshot_pair(conn, hostile.target) as twin:
        assert twin.connection() is None  # (the engine's connections are READ COMMITTED)
    with hostile.read() as s, jsondump_pg.snapshot_pair(s.connection(), hostile.target) as twin:
        assert twin.connection() is not None
    one = _export(hostile)

    def refused(*_args: Any, **_kwargs: Any) -> Any:
        raise psycopg.OperationalError("too many clients already")

    monkeypatch.setattr(jsondump_pg, "RANGE", 2)
    with monkeypatch.context() as m:  # (the fixtures' own connections come after it)
        m.setattr(psycopg, "connect", refused)
        with hostile.read() as s, jsondump_pg.snapshot_pair(s.connection(), hostile.target) as twin:
            assert twin.connection() is None
        assert _export(hostile) == one
