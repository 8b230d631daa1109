"""The JSON export's rows written by the database (store/jsondump.py on SQLite, store/jsondump_pg.py on
PostgreSQL) against the rows converted in Python, and the two engines' exports of the same hostile board against
each other: the same bytes (text with quotes, backslashes, every control character and other scripts; NULLs; times
with and without a fraction and before the year 1000; values at the edges of the quick way, negative, in another
currency; a deleted deal; an event of no deal)."""

from __future__ import annotations

import io
import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from tuikanban.services.activities import add_activity
from tuikanban.services.deals import create_deal, lose_deal, move_deal, win_deal
from tuikanban.services.io import write_pipeline_json
from tuikanban.services.lifecycle import delete_deal
from tuikanban.services.pipelines import create_pipeline
from tuikanban.store import jsondump
from tuikanban.store.engine import Database, open_database
from tuikanban.store.tables import Activity, Deal, Event, Stay

pytestmark = pytest.mark.engines

HOSTILE = "".join(chr(c) for c in range(1, 32)) + '\x7f"\\/ \u2028\u2029 ü 中文 😀 \ufeff'
_T = {"deal": Deal.__table__, "event": Event.__table__, "stay": Stay.__table__,  # type: ignore[attr-defined]
      "activity": Activity.__table__}  # type: ignore[attr-defined]


def _export(db: Database, pipeline: str = "Sales") -> bytes:
    out = io.StringIO()
    write_pipeline_json(db, pipeline, out)
    return out.getvalue().encode()


def _python_export(db: Database, monkeypatch: pytest.MonkeyPatch, pipeline: str = "Sales") -> bytes:
    with monkeypatch.context() as m:  # every row converted in Python, as before the database wrote them
        m.setattr(jsondump, "rows", lambda *args, **kwargs: None)
        return _export(db, pipeline)


def _set(db: Database, table: str, row_id: int, **values: Any) -> None:
    t = _T[table]
    db.write(lambda s: s.connection().execute(update(t).where(t.c.id == row_id).values(**values)))


def _hostile(db: Database) -> Database:
    create_pipeline(db, "Sales", "Lead,Won't \"fit\",Proposal", types=["Neu", "Ré\\new"])
    create_pipeline(db, "Dinar", "A,B", currency="BHD")
    create_pipeline(db, "Other", "A,B")
    texts = ['Quote " and \\ backslash', "Zeilenumbruch\nim Text", "中文 ✓ 😀", "", "tab\there", "\u2028sep"]
    for i, text in enumerate(texts):
        create_deal(db, "Sales", f"Deal {i} {text}", user="tëster", value=None if i in (3, 4) else f"{i}.{i}5",
                    company=text, contact=text, notes=text, dtype="Ré\\new" if i % 2 else None,
                    close="2026-04-0" + str(i + 1) if i % 3 else None,
                    at="2026-02-01T10:00:00+00:00" if i % 2 else f"2026-02-01T10:00:0{i}.12345{i}+00:00")
    for value in ("0.001", "12.5", "7", None):  # deals 7-10: three decimals
        create_deal(db, "Dinar", f"Dinar {value}", user="x", value=value)
    create_deal(db, "Other", "Elsewhere", user="x")
    move_deal(db, 1, "Proposal", user="tester", at="2026-02-10T10:00:00+00:00")
    win_deal(db, 2, user="tester")
    lose_deal(db, 3, "Too \"expensive\"\n", user="tester")
    delete_deal(db, 4, user="tester")
    add_activity(db, 1, "call", "Called \"them\" ☎", user="tester")
    add_activity(db, 1, "task", "Follow up", user="tester", due="2026-03-09")
    add_activity(db, 4, "note", "of a deleted deal", user="tester")
    # what no command writes but a database may hold: every control character, values at and past the quick
    # way's edges, another currency, times before the year 1000 and with a fraction of one microsecond
    _set(db, "deal", 1, title=HOSTILE, notes=HOSTILE * 3, value_minor=10**15 - 1, expected_close=date(5, 6, 7))
    _set(db, "deal", 2, value_minor=10**15, currency="JPY", closed_at=datetime(999, 1, 2, 3, 4, 5, 1, tzinfo=UTC))
    _set(db, "deal", 3, value_minor=-150, last_activity_at=datetime(2026, 2, 3, 4, 5, 6, 100000, tzinfo=UTC))
    _set(db, "deal", 5, value_minor=10**18 + 7, currency="EUR")
    _set(db, "deal", 6, value_minor=1, snoozed_until=date(2026, 12, 31), rank=-(2**62))
    _set(db, "event", 1, reason=HOSTILE, old_value="", new_value=None, at=datetime(1, 1, 1, tzinfo=UTC))
    _set(db, "stay", 1, left_at=datetime(2026, 2, 9, 23, 59, 59, 999999, tzinfo=UTC), outcome="moved")
    _set(db, "activity", 1, subject=HOSTILE, due=date(2026, 2, 28))
    return db


@pytest.fixture
def hostile(db: Database, fixed_now: str) -> Database:
    return _hostile(db)


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
    lite = _hostile(open_database(str(tmp_path / "twin.db")))
    try:
        for pipeline in ("Sales", "Dinar", "Other"):
            assert _export(hostile, pipeline) == _export(lite, pipeline), pipeline
    finally:
        lite.close()
