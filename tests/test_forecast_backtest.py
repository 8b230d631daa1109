"""The backtest's deals at past points (`open_value_by_stage`): the value changes are read only for the deals that
count at some point, by deal or by time range, and both give the same sums; a deal whose close date is past every
horizon now still counts at the points when its date was within one. Clock fixed at 2026-03-02 12:00; every
number is worked out by hand in the comments."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

pytestmark = pytest.mark.engines  # on SQLite and on PostgreSQL


def ok(cli: Any, *args: str) -> str:
    r = cli(*args)
    assert r.code == 0, (args, r.err)
    return str(r.out)


@pytest.fixture
def history(cli: Any) -> Any:
    """Three open deals in Lead, created 01-10:

    1 Acme    10,000 close 03-20: value 12,000 on 02-24 12:00, 15,000 on 02-26 12:00
    2 Globex   5,000 close 03-15: value 7,000 on 02-24 12:00; close 06-30 on 02-26 12:00
    3 Initech  2,000 close 06-30 (past every horizon, never changed): value 9,000 on 02-24 12:00
    """
    ok(cli, "pipeline", "create", "Sales", "--stages", "Lead,Qualified")
    for title, value, close in (("Acme", "10k", "2026-03-20"), ("Globex", "5k", "2026-03-15"),
                                ("Initech", "2k", "2026-06-30")):
        ok(cli, "deal", "add", title, "--value", value, "--close", close, "--at", "2026-01-10")
    ok(cli, "deal", "edit", "1", "--value", "12k", "--at", "2026-02-24T12:00")
    ok(cli, "deal", "edit", "2", "--value", "7k", "--at", "2026-02-24T12:00")
    ok(cli, "deal", "edit", "3", "--value", "9k", "--at", "2026-02-24T12:00")
    ok(cli, "deal", "edit", "1", "--value", "15k", "--at", "2026-02-26T12:00")
    ok(cli, "deal", "edit", "2", "--close", "2026-06-30", "--at", "2026-02-26T12:00")
    return cli


@pytest.mark.parametrize("by_deal", [True, False, None])
def test_values_at_past_points(history: Any, db: Any, by_deal: bool | None) -> None:
    from sqlmodel import select

    from tuikanban.services.forecast_backtest import open_value_by_stage
    from tuikanban.store.tables import Stage

    points = [datetime(2026, 2, 23, 12, tzinfo=UTC), datetime(2026, 2, 25, 18, tzinfo=UTC),
              datetime(2026, 2, 27, 18, tzinfo=UTC)]
    with db.read() as s:
        out = open_value_by_stage(s.connection(), 1, points, "USD", 30, by_deal=by_deal)
        lead = {name: i for name, i in s.exec(select(Stage.name, Stage.id))}["Lead"]
    # horizons 03-25, 03-27, 03-29; Initech's 06-30 is past all three, whatever its value
    # 02-23 12:00: Acme 10,000 + Globex 5,000 (its close then 03-15) = 15,000
    # 02-25 18:00: Acme 12,000 + Globex 7,000 (close still 03-15) = 19,000
    # 02-27 18:00: Acme 15,000; Globex's close is 06-30 since 02-26 = 15,000
    assert out == [{lead: 1_500_000}, {lead: 1_900_000}, {lead: 1_500_000}]
