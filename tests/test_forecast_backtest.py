"""The backtest's deals at past points (`open_value_by_stage`): the value changes are read only for the deals that
count at some point, by deal or by time range, and both give the same sums; so are the other events (only of the
deals whose close date can be within a horizon, through their own index, or of every deal over the time range); a
deal whose close date is past every horizon now still counts at the points when its date was within one. Clock
fixed at 2026-03-02 12:00; every number is worked out by hand in the comments."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from engines import upgraded_from

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


def test_the_deals_that_can_count_are_columns() -> None:
    """The backtest holds the deals that can count as columns of a few bytes a deal (a tuple a deal held 38,000
    of them in about 6 MB): open and in the pipeline's currency as flags, no value as 0, no close date as 0."""
    from tuikanban.services.forecast_backtest import _Deals

    deals = _Deals()
    deals.add_rows([(9, "open", 500, "USD", date(2026, 3, 20), 2), (4, "won", None, "EUR", None, 1),
                    (6, "open", 0, "EUR", date(2026, 3, 1), 1)], "USD")
    assert len(deals) == 3
    assert list(deals.sorted_by_id().rows()) == [
        (4, 0, 0, 0, 1), (6, _Deals.OPEN, 0, date(2026, 3, 1).toordinal(), 1),
        (9, _Deals.OPEN | _Deals.IN_CURRENCY, 500, date(2026, 3, 20).toordinal(), 2)]
    assert list(deals.rows(1, 2)) == [(4, 0, 0, 0, 1)]  # in the order read until sorted
    ordered = deals.sorted_by_id()
    assert ordered.sorted_by_id() is ordered


@pytest.mark.parametrize("by_deal", [True, False, None])
@pytest.mark.parametrize("slices_by_deal", [True, False, None])
def test_values_at_past_points(history: Any, db: Any, by_deal: bool | None, slices_by_deal: bool | None) -> None:
    from sqlmodel import select

    from tuikanban.services.forecast_backtest import open_value_by_stage
    from tuikanban.store.tables import Stage

    points = [datetime(2026, 2, 23, 12, tzinfo=UTC), datetime(2026, 2, 25, 18, tzinfo=UTC),
              datetime(2026, 2, 27, 18, tzinfo=UTC)]
    with db.read() as s:
        out = open_value_by_stage(s.connection(), 1, points, "USD", 30, by_deal=by_deal,
                                  slices_by_deal=slices_by_deal)
        lead = {name: i for name, i in s.exec(select(Stage.name, Stage.id))}["Lead"]
    # horizons 03-25, 03-27, 03-29; Initech's 06-30 is past all three, whatever its value
    # 02-23 12:00: Acme 10,000 + Globex 5,000 (its close then 03-15) = 15,000
    # 02-25 18:00: Acme 12,000 + Globex 7,000 (close still 03-15) = 19,000
    # 02-27 18:00: Acme 15,000; Globex's close is 06-30 since 02-26 = 15,000
    assert out == [{lead: 1_500_000}, {lead: 1_900_000}, {lead: 1_500_000}]


@pytest.mark.parametrize("slices_by_deal", [True, False])
def test_the_same_values_read_a_deal_at_a_time(history: Any, db: Any, monkeypatch: pytest.MonkeyPatch,
                                               slices_by_deal: bool) -> None:
    """The deals are read a chunk at a time (`_VALUE_CHUNK` ids a query); chunks of one deal give the sums above."""
    from tuikanban.services import forecast_backtest
    from tuikanban.services.forecast_backtest import open_value_by_stage

    monkeypatch.setattr(forecast_backtest, "_VALUE_CHUNK", 1)
    points = [datetime(2026, 2, 23, 12, tzinfo=UTC), datetime(2026, 2, 25, 18, tzinfo=UTC),
              datetime(2026, 2, 27, 18, tzinfo=UTC)]
    with db.read() as s:
        out = open_value_by_stage(s.connection(), 1, points, "USD", 30, by_deal=True, slices_by_deal=slices_by_deal)
    assert [sum(x.values()) for x in out] == [1_500_000, 1_900_000, 1_500_000]  # as in the test above


@pytest.fixture
def lifecycle(cli: Any, db: Any, monkeypatch: pytest.MonkeyPatch, fixed_now: str) -> Any:
    """Deals created 01-10 in Lead (horizons of the points below: 03-25, 03-27, 03-29):

    1 Acme    10,000 close 03-20: won 02-24 12:00, reopened in Qualified 02-26 12:00
    2 Globex   5,000 close 06-30 (past every horizon now): close 03-10 on 01-20, back to 06-30 on 02-26 12:00
    3 Initech  2,000 close 03-01: moved to Qualified 02-24 12:00, lost 02-26 12:00
    4 Hooli    3,000 close 03-05: currency EUR 02-24 12:00 (value and close untouched), undone 02-26 12:00
    5 Umbrella 4,000 close 05-30, edited to 04-30 on 01-20 (before every point; past every horizon)
    """
    ok(cli, "pipeline", "create", "Sales", "--stages", "Lead,Qualified")
    for title, value, close in (("Acme", "10k", "2026-03-20"), ("Globex", "5k", "2026-06-30"),
                                ("Initech", "2k", "2026-03-01"), ("Hooli", "3k", "2026-03-05"),
                                ("Umbrella", "4k", "2026-05-30")):
        ok(cli, "deal", "add", title, "--value", value, "--close", close, "--at", "2026-01-10")
    ok(cli, "deal", "edit", "2", "--close", "2026-03-10", "--at", "2026-01-20")
    ok(cli, "deal", "edit", "5", "--close", "2026-04-30", "--at", "2026-01-20")
    ok(cli, "deal", "won", "1", "--at", "2026-02-24T12:00")
    ok(cli, "deal", "move", "3", "Qualified", "--at", "2026-02-24T12:00")
    from tuikanban.services.deals import edit_deal

    monkeypatch.setenv("TUIKANBAN_NOW", "2026-02-24T12:00:00+00:00")
    edit_deal(db, 4, {"currency": "EUR"}, user="u4")  # (the CLI has no currency edit)
    monkeypatch.setenv("TUIKANBAN_NOW", "2026-02-26T12:00:00+00:00")
    ok(cli, "--user", "u4", "undo")
    monkeypatch.setenv("TUIKANBAN_NOW", fixed_now)
    ok(cli, "deal", "reopen", "1", "Qualified", "--at", "2026-02-26T12:00")
    ok(cli, "deal", "edit", "2", "--close", "2026-06-30", "--at", "2026-02-26T12:00")
    ok(cli, "deal", "lost", "3", "--reason", "Price", "--at", "2026-02-26T12:00")
    return cli


@pytest.mark.parametrize("slices_by_deal", [True, False])
def test_status_stage_close_and_currency_at_past_points(lifecycle: Any, db: Any, slices_by_deal: bool) -> None:
    from sqlmodel import select

    from tuikanban.services.forecast_backtest import open_value_by_stage
    from tuikanban.store.tables import Stage

    points = [datetime(2026, 2, 23, 12, tzinfo=UTC), datetime(2026, 2, 25, 18, tzinfo=UTC),
              datetime(2026, 2, 27, 18, tzinfo=UTC)]
    with db.read() as s:
        out = open_value_by_stage(s.connection(), 1, points, "USD", 30, slices_by_deal=slices_by_deal)
        ids = {name: i for name, i in s.exec(select(Stage.name, Stage.id))}
    lead, qualified = ids["Lead"], ids["Qualified"]
    # 02-23 12:00: all in Lead; Acme 10,000 + Globex 5,000 (close 03-10 then) + Initech 2,000 + Hooli 3,000;
    #              Umbrella's 04-30 is past the horizon (its edit was before every point) = 20,000
    # 02-25 18:00: Acme won (out); Globex 5,000 + Hooli out (EUR then); Initech 2,000 in Qualified
    # 02-27 18:00: Acme reopened in Qualified 10,000; Globex 06-30 (out); Initech lost (out); Hooli 3,000 (USD
    #              again) in Lead
    assert out == [{lead: 2_000_000}, {lead: 500_000, qualified: 200_000}, {lead: 300_000, qualified: 1_000_000}]


def test_an_existing_board_gets_the_deal_state_index(history: Any, db_target: str) -> None:
    """A board at schema 8 (the index dropped, the version set back) is upgraded when opened: the migration
    creates ix_event_deal_state on either engine, and the values at the past points are the same."""
    from tuikanban.services.forecast_backtest import open_value_by_stage

    db = upgraded_from(db_target, 8, ["ix_event_deal_state"])
    try:
        points = [datetime(2026, 2, 23, 12, tzinfo=UTC), datetime(2026, 2, 25, 18, tzinfo=UTC),
                  datetime(2026, 2, 27, 18, tzinfo=UTC)]
        with db.read() as s:
            out = open_value_by_stage(s.connection(), 1, points, "USD", 30, slices_by_deal=True)
        assert [sum(x.values()) for x in out] == [1_500_000, 1_900_000, 1_500_000]  # as in the test above
    finally:
        db.close()


@pytest.mark.sqlite_only
def test_the_deals_events_are_read_from_their_index_alone(history: Any, db: Any) -> None:
    """The slices of the deals that can count are read through ix_event_deal_state, one seek per deal, without
    a table lookup and without the review's index (which reads the whole log's time range)."""
    from tuikanban.services.forecast_backtest import _slice_rows_by_deal

    points = [datetime(2026, 2, 23, 12, tzinfo=UTC), datetime(2026, 2, 25, 18, tzinfo=UTC)]
    plans: list[str] = []
    with db.read() as s:
        conn = s.connection()

        def explain(conn_: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
            if statement.lstrip().startswith("SELECT") and "FROM event" in statement:
                plans.extend(r[3] for r in cursor.connection.execute("EXPLAIN QUERY PLAN " + statement, parameters))

        from sqlalchemy import event

        event.listen(conn, "before_cursor_execute", explain)
        try:
            slices = _slice_rows_by_deal(conn, 1, points, [1, 2, 3])
        finally:
            event.remove(conn, "before_cursor_execute", explain)
    assert sorted(slices.by_deal) == [2]  # Globex's close change; the value changes are left out
    assert any("COVERING INDEX ix_event_deal_state" in p for p in plans), plans
    assert not any("ix_event_review" in p for p in plans), plans
