"""The imports' bulk inserts (`store.bulk.insert_values`, values converted by `value_converters`) store what
SQLAlchemy's own insert stores, on either engine; on PostgreSQL they go through COPY, not a statement per chunk of
SQLAlchemy's executemany."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import event, insert

from engines import rows
from tuikanban.services.deals import create_deal
from tuikanban.services.pipelines import create_pipeline
from tuikanban.store.bulk import insert_values, value_converters
from tuikanban.store.engine import Database
from tuikanban.store.tables import Activity, Deal

pytestmark = pytest.mark.engines  # the tests that use a database run on SQLite and on PostgreSQL

DEAL = Deal.__table__  # type: ignore[attr-defined]
ACTIVITY = Activity.__table__  # type: ignore[attr-defined]
KEYS = ("id", "pipeline_id", "title", "company", "contact", "value_minor", "currency", "owner", "type_id",
        "expected_close", "notes", "stage_id", "status", "lost_reason", "created_at", "stage_entered_at",
        "closed_at", "last_activity_at", "rank", "version", "snoozed_until")
A_KEYS = ("id", "pipeline_id", "deal_id", "kind", "subject", "at", "user", "due", "done")
PLUS_TWO = timezone(timedelta(hours=2))


def _deal(i: int, pid: int, stage: int) -> dict[str, Any]:
    """A deal whose text needs escaping in every way COPY's text format knows (tab, newline, backslash, `\\N`)."""
    return {"id": i, "pipeline_id": pid, "title": "Deal\tä \\N \\ end", "company": "Ünïcode ✓",
            "contact": "", "value_minor": 10**15 - 1, "currency": "EUR", "owner": "ann", "type_id": None,
            "expected_close": date(2027, 1, 31), "notes": "line one\nline two\r\n", "stage_id": stage,
            "status": "open", "lost_reason": "", "created_at": datetime(2026, 3, 1, 10, 0, 5, 123456, tzinfo=UTC),
            "stage_entered_at": datetime(2026, 3, 1, 12, 0, tzinfo=PLUS_TWO), "closed_at": None,
            "last_activity_at": None, "rank": 2**62 + 1, "version": 1, "snoozed_until": date(2026, 4, 1)}


def test_bulk_values_store_what_sqlalchemy_stores(db: Database, db_target: str) -> None:
    p = create_pipeline(db, "Sales", "Lead")
    stage = rows(db_target, "SELECT id FROM stage")[0][0]

    def work(s: Any) -> None:
        conn = s.connection()
        stamp, day, flag = value_converters(conn)
        conn.execute(insert(DEAL), [_deal(1, p.id, stage)])
        conn.execute(insert(ACTIVITY), [{"id": 1, "pipeline_id": p.id, "deal_id": 1, "kind": "task",
                                         "subject": "Call\\back", "at": datetime(2026, 3, 2, 9, tzinfo=UTC),
                                         "user": "ann", "due": date(2026, 3, 9), "done": True}])
        d = _deal(2, p.id, stage)
        insert_values(conn, DEAL, KEYS, [tuple(
            stamp(d[k]) if k.endswith("_at") else day(d[k]) if k in ("expected_close", "snoozed_until") else d[k]
            for k in KEYS)])
        insert_values(conn, ACTIVITY, A_KEYS, [(2, p.id, 2, "task", "Call\\back",
                                                stamp(datetime(2026, 3, 2, 9, tzinfo=UTC)), "ann",
                                                day(date(2026, 3, 9)), flag(True))])

    db.write(work)
    cols = ", ".join(f'"{k}"' for k in KEYS if k != "id")
    one, two = rows(db_target, f"SELECT {cols} FROM deal ORDER BY id")
    assert two == one
    assert one[1:3] == ("Deal\tä \\N \\ end", "Ünïcode ✓")
    assert rows(db_target, 'SELECT subject, at, "user", due, done FROM activity WHERE id = 2') == rows(
        db_target, 'SELECT subject, at, "user", due, done FROM activity WHERE id = 1')
    assert str(rows(db_target, "SELECT stage_entered_at FROM deal WHERE id = 2")[0][0])[:19] == "2026-03-01 10:00:00"


@pytest.mark.postgres_only
def test_bulk_values_go_through_copy_on_postgres(db: Database, db_target: str) -> None:
    """No statement through SQLAlchemy for the rows: COPY on the driver's connection (SQLAlchemy's executemany of
    dicts cost about ten times the client's CPU on an import of 100,000 deals)."""
    p = create_pipeline(db, "Sales", "Lead")
    stage = rows(db_target, "SELECT id FROM stage")[0][0]
    seen: list[str] = []

    def work(s: Any) -> None:
        conn = s.connection()
        stamp, day, _flag = value_converters(conn)
        event.listen(conn, "before_cursor_execute", lambda *a: seen.append(str(a[2])))
        deals = [_deal(i, p.id, stage) for i in range(1, 21)]
        insert_values(conn, DEAL, KEYS, [tuple(
            stamp(d[k]) if k.endswith("_at") else day(d[k]) if k in ("expected_close", "snoozed_until") else d[k]
            for k in KEYS) for d in deals])

    db.write(work)
    assert [s for s in seen if "insert" in s.lower()] == []
    assert rows(db_target, "SELECT count(*), min(title) FROM deal") == [(20, "Deal\tä \\N \\ end")]
    assert create_deal(db, "Sales", "Next", user="ann").id == 21  # the ids COPY named moved the sequence on
