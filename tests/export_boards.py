"""The boards the JSON export's tests build (tests/test_export_sql.py, tests/test_export_pg.py): every kind of value
a command writes (quotes, control characters, other scripts, empty and NULL fields, times with and without a
fraction, a deleted deal with an activity, events of no deal), and with `hostile` what no command writes but a
database may hold."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import update

from tuikanban.services.activities import add_activity
from tuikanban.services.deals import create_deal, lose_deal, move_deal, win_deal
from tuikanban.services.lifecycle import delete_deal
from tuikanban.services.pipelines import create_pipeline
from tuikanban.store.engine import Database
from tuikanban.store.tables import Activity, Deal, Event, Stay

HOSTILE = "".join(chr(c) for c in range(1, 32)) + '\x7f"\\/ \u2028\u2029 ü 中文 😀 \ufeff'
_T = {"deal": Deal.__table__, "event": Event.__table__, "stay": Stay.__table__,  # type: ignore[attr-defined]
      "activity": Activity.__table__}  # type: ignore[attr-defined]


def set_row(db: Database, table: str, row_id: int, **values: Any) -> None:
    t = _T[table]
    db.write(lambda s: s.connection().execute(update(t).where(t.c.id == row_id).values(**values)))


def varied_board(db: Database, *, hostile: bool = False) -> Database:
    """Pipeline "Sales" (deals 1-6: deal 2 won, 3 lost, 4 deleted) and "Other" (one deal, the last); with `hostile`
    a pipeline "Dinar" (three decimals, deals 7-10) between them, and values set past what the commands allow:
    every control character, values at and past the quick way's edges, another currency, times before the year 1000
    and with a fraction of one microsecond."""
    create_pipeline(db, "Sales", "Lead,Won't \"fit\",Proposal", types=["Neu", "Ré\\new"])
    if hostile:
        create_pipeline(db, "Dinar", "A,B", currency="BHD")
    create_pipeline(db, "Other", "A,B")
    texts = ['Quote " and \\ backslash', "Zeilenumbruch\nim Text", "中文 ✓ 😀", "", "tab\there", "\u2028sep"]
    for i, text in enumerate(texts):
        create_deal(db, "Sales", f"Deal {i} {text}", user="tëster", value=None if i in (3, 4) else f"{i}.{i}5",
                    company=text, contact=text, notes=text, dtype="Ré\\new" if i % 2 else None,
                    close="2026-04-0" + str(i + 1) if i % 3 else None,
                    at="2026-02-01T10:00:00+00:00" if i % 2 else f"2026-02-01T10:00:0{i}.12345{i}+00:00")
    if hostile:
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
    if hostile:
        set_row(db, "deal", 1, title=HOSTILE, notes=HOSTILE * 3, value_minor=10**15 - 1, expected_close=date(5, 6, 7))
        set_row(db, "deal", 2, value_minor=10**15, currency="JPY",
                closed_at=datetime(999, 1, 2, 3, 4, 5, 1, tzinfo=UTC))
        set_row(db, "deal", 3, value_minor=-150, last_activity_at=datetime(2026, 2, 3, 4, 5, 6, 100000, tzinfo=UTC))
        set_row(db, "deal", 5, value_minor=10**18 + 7, currency="EUR")
        set_row(db, "deal", 6, value_minor=1, snoozed_until=date(2026, 12, 31), rank=-(2**62))
        set_row(db, "event", 1, reason=HOSTILE, old_value="", new_value=None, at=datetime(1, 1, 1, tzinfo=UTC))
        set_row(db, "stay", 1, left_at=datetime(2026, 2, 9, 23, 59, 59, 999999, tzinfo=UTC), outcome="moved")
        set_row(db, "activity", 1, subject=HOSTILE, due=date(2026, 2, 28))
    return db
