"""The JSON export's rows written by the database (store/jsondump.py on SQLite, store/jsondump_pg.py on
PostgreSQL) against the rows converted in Python, and the two engines' exports of the same hostile board against
each other: the same bytes (text with quotes, backslashes, every control character and other scripts; NULLs; times
with and without a fraction and before the year 1000; values at the edges of the quick way, negative, in another
currency; a deleted deal; an event of no deal)."""

from __future__ import annotations

import io
import json
from pathlib import Path

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
