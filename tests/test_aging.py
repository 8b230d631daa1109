"""Aging: the pure rules, and the service over a back-filled history (clock fixed at 2026-03-02 12:00 UTC).

Every expected number below is worked out by hand in the comments next to the history that produces it.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from rich.cells import cell_len
from sqlalchemy import select

from tuikanban.domain.aging import (
    SIGNAL_LEGEND,
    SIGNALS,
    Baseline,
    BaselineSource,
    Level,
    choose_baseline,
    format_days,
    level,
    risk_signals,
    severity,
    signal_marks,
    signal_meaning,
    signal_short,
)
from tuikanban.domain.filters import DealFilter
from tuikanban.services.aging import aging_report, aging_snapshot, panel_page, stage_baselines
from tuikanban.services.deals import add_activity, create_deal, edit_deal, lose_deal, move_deal, win_deal
from tuikanban.services.pipelines import create_pipeline, get_pipeline, list_stages, set_stage, update_pipeline
from tuikanban.store.engine import Database, open_database
from tuikanban.store.sqlfuncs import at_literal, days_between
from tuikanban.store.tables import SCHEMA_VERSION
from tuikanban.store.uow import of_session

# The service tests run on SQLite and on PostgreSQL (the same hand-computed numbers); query plans and file
# migrations are SQLite's.
pytestmark = pytest.mark.engines

# -- pure rules -----------------------------------------------------------------------------------------


def test_levels_at_one_and_a_half_and_two_times_the_baseline() -> None:
    assert level(14.9, 10) is Level.OK
    assert level(15.0, 10) is Level.AGING  # exactly 1.5 x is aging
    assert level(19.99, 10) is Level.AGING
    assert level(20.0, 10) is Level.STALLED  # exactly 2 x is stalled
    assert level(0.0, 7) is Level.OK
    assert level(10.5, 7) is Level.AGING  # 7 x 1.5 = 10.5


def test_severity_is_days_over_baseline() -> None:
    assert severity(15, 10) == 1.5
    assert severity(35, 7) == 5.0
    assert severity(0, 4) == 0.0


def test_baseline_rule_expected_then_history_with_three_stays_then_seven_days() -> None:
    assert choose_baseline(12, 4.0, 10) == Baseline(12.0, BaselineSource.EXPECTED)
    assert choose_baseline(None, 4.0, 3) == Baseline(4.0, BaselineSource.HISTORY, 3)
    assert choose_baseline(None, 4.0, 2) == Baseline(7.0, BaselineSource.DEFAULT)
    assert choose_baseline(None, None, 0) == Baseline(7.0, BaselineSource.DEFAULT)


def test_a_baseline_learned_from_history_is_at_least_one_day() -> None:
    # four stays that moved on within an hour average 0.04 days (57.6 minutes): the baseline is 1 day
    floored = choose_baseline(None, 0.04, 4)
    assert floored == Baseline(1.0, BaselineSource.HISTORY, 4, learned_days=0.04)
    assert floored.floored and floored.days == 1.0
    assert floored.describe() == "avg of 4 stays: 58 min, at least 1 d"
    # exactly one day, or more, is used as it is
    assert choose_baseline(None, 1.0, 3) == Baseline(1.0, BaselineSource.HISTORY, 3)
    assert not choose_baseline(None, 2.5, 3).floored
    # the user's expected days and the 7-day default are not touched
    assert choose_baseline(1, 0.04, 4) == Baseline(1.0, BaselineSource.EXPECTED)
    assert choose_baseline(None, 0.04, 2) == Baseline(7.0, BaselineSource.DEFAULT)
    # with the 1-day floor a deal 30 hours in the stage is ok (1.25), where a 1-hour floor said stalled (30x)
    assert (level(1.25, floored.days), severity(1.25, floored.days)) == (Level.OK, 1.25)


def test_risk_signals_in_fixed_order() -> None:
    assert risk_signals(days_since_touch=10.0, stale_days=10, past_close=True, close_pushes=2, value_minor=0) == (
        "no_activity", "past_close", "close_pushed", "no_value")
    assert risk_signals(days_since_touch=9.9, stale_days=10, past_close=False, close_pushes=1, value_minor=1) == ()
    assert risk_signals(days_since_touch=None, stale_days=10, past_close=False, close_pushes=0,
                        value_minor=None) == ("no_activity", "no_value")


def test_legend_has_one_cell_mark_and_a_meaning_per_signal() -> None:
    assert tuple(SIGNAL_LEGEND) == SIGNALS == ("no_activity", "past_close", "close_pushed", "no_value", "no_next_step")
    for mark, meaning in SIGNAL_LEGEND.values():
        assert cell_len(mark) == 1
        assert meaning and "\n" not in meaning
    assert signal_meaning("no_activity", 10) == "No activity or change for 10 days"
    assert [signal_short(s, 10) for s in SIGNALS] == ["quiet 10d+", "past close", "pushed", "no value", "no step"]
    assert signal_marks(["no_value", "no_activity"]) == SIGNAL_LEGEND["no_activity"][0] + SIGNAL_LEGEND["no_value"][0]


def test_format_days() -> None:
    assert format_days(7.0) == "7"
    assert format_days(12.34) == "12.3"
    assert format_days(140.4) == "140"


# -- the service over a back-filled history -------------------------------------------------------------


@dataclass
class History:
    db: Database
    lead: int
    qualified: int
    proposal: int
    ids: dict[str, int]


@pytest.fixture
def history(db: Database, fixed_now: str) -> History:
    """Pipeline Sales: Lead, Qualified, Proposal (Proposal expects 10 days); stale days 10; now = 2026-03-02 12:00.

    Lead history (stays that ended in the last 180 days, i.e. after 2025-09-03 12:00):
      H1 2026-01-01 -> 01-03 (2 days), H2 01-10 -> 01-14 (4 days), H3 01-20 -> 01-26 (6 days): average 4.0, n=3.
      H0 2025-06-01 -> 07-01 (30 days) ended 244 days ago: outside the window (with it the average would be 10.5).
    Qualified history: H1 01-03 -> won 01-13 and H2 01-14 -> won 01-24 (10 days each): only 2 stays, so the
      default 7 days applies; H0's Qualified stay (lost 2025-07-05) is outside the window anyway.
    """
    p = create_pipeline(db, "Sales", "Lead,Qualified,Proposal")
    set_stage(db, "Sales", "Proposal", expected_days=10)
    # These tests are about the levels and the four deal-field signals; no_next_step has tests of its own
    # (tests/test_tasks.py), so the pipeline turns it off.
    update_pipeline(db, "Sales", next_step_signal=False)
    u = "tester"
    ids: dict[str, int] = {}
    h0 = create_deal(db, "Sales", "H0", user=u, value="100", at="2025-06-01T12:00")
    move_deal(db, h0.id, "Qualified", user=u, at="2025-07-01T12:00")
    lose_deal(db, h0.id, "Price", user=u, at="2025-07-05T12:00")
    for name, start, moved, won in (("H1", "2026-01-01", "2026-01-03", "2026-01-13"),
                                    ("H2", "2026-01-10", "2026-01-14", "2026-01-24"),
                                    ("H3", "2026-01-20", "2026-01-26", None)):
        d = create_deal(db, "Sales", name, user=u, value="100", at=f"{start}T12:00")
        move_deal(db, d.id, "Qualified", user=u, at=f"{moved}T12:00")
        if won:
            win_deal(db, d.id, user=u, at=f"{won}T12:00")
        ids[name] = d.id
    # A: Proposal since 02-17 (13 days / 10 = 1.3, ok); an activity 02-25 (5 days ago): no signal at all.
    a = create_deal(db, "Sales", "Alpha", user=u, stage="Proposal", value="5000", owner="ann", close="2026-03-31",
                    company="Acme", at="2026-02-17T12:00")
    add_activity(db, a.id, "call", "Intro call", user=u, at="2026-02-25T12:00")
    # B: Proposal since 02-15 (15 days = exactly 1.5 x: aging); close 03-01 < today: past_close; edited 02-28.
    b = create_deal(db, "Sales", "Bravo", user=u, stage="Proposal", value="1000", owner="ann", close="2026-03-01",
                    at="2026-02-15T12:00")
    edit_deal(db, b.id, {"value": "1200"}, user=u, at="2026-02-28T12:00")
    # C: Proposal since 02-10 (20 days = exactly 2 x: stalled); no value; close pushed later twice (03-10 -> 03-20
    # -> 04-15) and once earlier (-> 04-01, not a push); last event 02-13, 17 days ago: no_activity.
    c = create_deal(db, "Sales", "[bold]Charlie[/bold]", user=u, stage="Proposal", close="2026-03-10",
                    at="2026-02-10T12:00")
    edit_deal(db, c.id, {"close": "2026-03-20"}, user=u, at="2026-02-11T12:00")
    edit_deal(db, c.id, {"close": "2026-04-15"}, user=u, at="2026-02-12T12:00")
    edit_deal(db, c.id, {"close": "2026-04-01"}, user=u, at="2026-02-13T12:00")
    # D: Lead since 02-24 (6 days / 4.0 = 1.5: aging); a close set from nothing (no push), then pushed once.
    d = create_deal(db, "Sales", "Delta", user=u, value="100", at="2026-02-24T12:00")
    edit_deal(db, d.id, {"close": "2026-05-01"}, user=u, at="2026-02-25T12:00")
    edit_deal(db, d.id, {"close": "2026-06-01"}, user=u, at="2026-02-26T12:00")
    # E: Lead since 03-01 (1 day / 4 = 0.25: ok); value zero: no_value.
    e = create_deal(db, "Sales", "Echo", user=u, value="0", at="2026-03-01T12:00")
    ids.update(A=a.id, B=b.id, C=c.id, D=d.id, E=e.id)
    stages = {s.name: s.id for s in list_stages(db, "Sales")}
    assert p.name == "Sales"
    return History(db, stages["Lead"], stages["Qualified"], stages["Proposal"], ids)


def test_stage_baselines(history: History) -> None:
    assert stage_baselines(history.db, "Sales") == {
        history.lead: Baseline(4.0, BaselineSource.HISTORY, 3),
        history.qualified: Baseline(7.0, BaselineSource.DEFAULT),
        history.proposal: Baseline(10.0, BaselineSource.EXPECTED),
    }


def test_report_levels_signals_and_order(history: History) -> None:
    ids = history.ids
    items = aging_report(history.db, "Sales")
    got = {i.id: (i.stage, i.days_in_stage, i.baseline_days, i.level, i.signals, i.severity) for i in items}
    assert got == {
        # H3: in Qualified since 01-26 12:00 = 35 days, default baseline 7: severity 5.0; last event 35 days ago.
        ids["H3"]: ("Qualified", 35.0, 7.0, "stalled", ("no_activity",), 5.0),
        ids["C"]: ("Proposal", 20.0, 10.0, "stalled", ("no_activity", "close_pushed", "no_value"), 2.0),
        ids["B"]: ("Proposal", 15.0, 10.0, "aging", ("past_close",), 1.5),
        ids["D"]: ("Lead", 6.0, 4.0, "aging", (), 1.5),
        ids["A"]: ("Proposal", 13.0, 10.0, "ok", (), 1.3),
        ids["E"]: ("Lead", 1.0, 4.0, "ok", ("no_value",), 0.25),
    }
    # most severe first; B and D tie at 1.5 and B, with a signal, comes first
    assert [i.id for i in items] == [ids["H3"], ids["C"], ids["B"], ids["D"], ids["A"], ids["E"]]
    c = next(i for i in items if i.id == ids["C"])
    assert c.title == "[bold]Charlie[/bold]" and c.close_pushes == 2 and c.value_minor is None
    a = next(i for i in items if i.id == ids["A"])
    assert (a.owner, a.company, a.value_minor, a.currency, a.days_since_touch) == ("ann", "Acme", 500000, "USD", 5.0)


def test_the_panels_pages_follow_the_reports_order_and_read_the_baselines_once(
        history: History, monkeypatch: pytest.MonkeyPatch) -> None:
    """The aging panel of a big pipeline reads a page at a time (`panel_page`): whatever the page size, the pages
    put end to end are the full report, across the tie of B and D (1.5 each, in two stages), with every deal's
    days; each page reads the baselines once (the 180-day history of Lead is the costly read), not twice. On
    PostgreSQL the first page's ranking and days come from one statement: the same values."""
    import tuikanban.services.aging as aging_service

    full = aging_report(history.db, "Sales")
    expected_days = {history.lead: [1.0, 6.0], history.qualified: [35.0], history.proposal: [13.0, 15.0, 20.0]}
    reads: list[int] = []
    real = aging_service._history

    def counted(*args: Any, **kw: Any) -> Any:
        reads.append(1)
        return real(*args, **kw)

    monkeypatch.setattr(aging_service, "_history", counted)
    pipeline_id = get_pipeline(history.db, "Sales").id
    pages = 0
    for limit in (1, 2, 4, 10):
        items: list[Any] = []
        for offset in range(0, len(full), limit):
            page = panel_page(history.db, pipeline_id, limit=limit, offset=offset)
            pages += 1
            assert page.total == len(full)
            assert {k: list(v) for k, v in page.days.items()} == expected_days
            items += page.items
        assert items == full
        assert panel_page(history.db, pipeline_id, limit=limit, offset=limit, with_days=False).items == full[
            limit:2 * limit]
        pages += 1
    assert len(reads) == pages  # one read of the baselines a page


def test_expected_days_changes_levels_at_once(history: History) -> None:
    # Lead expects 12 days from now on: D has 6 / 12 = 0.5 (ok), E 1 / 12.
    set_stage(history.db, "Sales", "Lead", expected_days=12)
    by_id = {i.id: i for i in aging_report(history.db, "Sales")}
    d = by_id[history.ids["D"]]
    assert (d.baseline_days, d.level, d.severity, d.baseline_source) == (12.0, "ok", 0.5, "expected")
    # cleared again: back to the history average of 4 days
    set_stage(history.db, "Sales", "Lead", expected_days=None)
    assert {i.id: i for i in aging_report(history.db, "Sales")}[history.ids["D"]].level == "aging"


def test_filter_follows_the_board(history: History) -> None:
    ids = history.ids
    by_owner = aging_report(history.db, "Sales", deal_filter=DealFilter(owner="ANN"))
    assert [i.id for i in by_owner] == [ids["B"], ids["A"]]
    assert [i.id for i in aging_report(history.db, "Sales", deal_filter=DealFilter(text="acme"))] == [ids["A"]]
    snap = aging_snapshot(history.db, "Sales", deal_filter=DealFilter(owner="ann"))
    assert [i.id for i in snap.flagged] == [ids["B"]]  # A is neither aging nor at risk
    assert [s.name for s in snap.stages] == ["Lead", "Qualified", "Proposal"]


def test_no_activity_counts_from_the_latest_activity_or_event(db: Database, fixed_now: str) -> None:
    create_pipeline(db, "P", "Open", stale_days=10)
    update_pipeline(db, "P", next_step_signal=False)  # only no_activity is under test here
    old = create_deal(db, "P", "Exactly ten days", user="u", value="1", at="2026-02-20T12:00")
    recent = create_deal(db, "P", "Nine and a half", user="u", value="1", at="2026-02-21T00:00")
    touched = create_deal(db, "P", "Old but called", user="u", value="1", at="2025-12-01T12:00")
    add_activity(db, touched.id, "note", "still alive", user="u", at="2026-02-27T12:00")
    edited = create_deal(db, "P", "Old but edited", user="u", value="1", at="2025-12-01T12:00")
    edit_deal(db, edited.id, {"company": "New name"}, user="u", at="2026-03-01T12:00")
    signals = {i.id: i.signals for i in aging_report(db, "P")}
    assert signals == {old.id: ("no_activity",), recent.id: (), touched.id: (), edited.id: ()}


def test_closed_deals_are_not_in_the_report_and_other_pipelines_stay_apart(history: History) -> None:
    create_pipeline(history.db, "Other", "One")
    create_deal(history.db, "Other", "Elsewhere", user="u", value="5", at="2026-01-01T12:00")
    ids = {i.id for i in aging_report(history.db, "Sales")}
    assert history.ids["H1"] not in ids and history.ids["H2"] not in ids
    assert [i.title for i in aging_report(history.db, "Other")] == ["Elsewhere"]


def test_empty_pipeline(db: Database, fixed_now: str) -> None:
    create_pipeline(db, "Empty", "A,B")
    snap = aging_snapshot(db, "Empty")
    assert snap.items == [] and [s.baseline.baseline_days for s in snap.stages] == [7.0, 7.0]


# -- the schema behind the speed -------------------------------------------------------------------------


@pytest.mark.sqlite_only
def test_aging_reads_indexes_not_event_rows(history: History) -> None:
    """The plans SQLite picks: stays from a covering index, the latest event per deal from a covering index, close
    edits from a partial index (bench/aging_bench.py measures the time; here we only check the plans)."""
    from tuikanban.services.aging import snapshot_in
    from tuikanban.store.uow import Unit

    statements: list[str] = []  # as SQLite ran them, the parameters written in
    con = sqlite3.connect(f"file:{history.db.path}?mode=ro", uri=True)
    try:
        con.set_trace_callback(statements.append)
        assert snapshot_in(Unit(con, postgres=False), "Sales").items
        con.set_trace_callback(None)
        plans = [" | ".join(r[3] for r in con.execute("EXPLAIN QUERY PLAN " + sql))
                 for sql in statements if sql.lstrip().upper().startswith("SELECT")]
    finally:
        con.close()
    assert any("COVERING INDEX ix_stay_stage_span" in p for p in plans)
    assert any("ix_event_close_edit" in p for p in plans)
    assert any("COVERING INDEX ix_event_deal_at" in p for p in plans)
    assert not any("SCAN event" in p and "ix_event_close_edit" not in p for p in plans)


@pytest.mark.sqlite_only
def test_schema_2_database_gets_the_aging_indexes(db_path: Path) -> None:
    db = open_database(db_path)
    db.close()
    # turn it back into what schema 2 had: the old stay index, none of the aging indexes
    con = sqlite3.connect(db_path)
    for name in ("ix_stay_stage_span", "ix_event_deal_at", "ix_event_close_edit"):
        con.execute(f"DROP INDEX {name}")
    con.execute("CREATE INDEX ix_stay_stage_left ON stay (stage_id, left_at)")
    con.execute("UPDATE tk_meta SET value='2' WHERE key='schema_version'")
    con.commit()
    con.close()
    db = open_database(db_path)
    try:
        assert db.schema_version() == SCHEMA_VERSION >= 3
    finally:
        db.close()
    con = sqlite3.connect(db_path)
    names = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='index'")}
    con.close()
    assert {"ix_stay_stage_span", "ix_event_deal_at", "ix_event_close_edit"} <= names
    assert "ix_stay_stage_left" not in names


def test_a_stage_that_deals_leave_within_minutes_has_a_one_day_baseline(db: Database, fixed_now: str) -> None:
    """Four deals entered Lead on 02-20 at 09:00 and moved on at 09:06: an average of 6 minutes (1/240 day) over 4
    stays, so Lead's baseline is the 1-day floor, from history. Now is 03-02 12:00:
      Ok: in Lead since 03-01 06:00, 30 h = 1.25 days (1.25 x: ok; against 6 minutes it would be 300 x);
      Mid: since 03-01 00:00, 36 h = 1.5 days: aging; Old: since 02-28 12:00, 2 days: stalled.
    """
    create_pipeline(db, "Fast", "Lead,Next")
    for i in range(4):
        d = create_deal(db, "Fast", f"F{i}", user="u", value="1", at="2026-02-20T09:00")
        move_deal(db, d.id, "Next", user="u", at="2026-02-20T09:06")
    ok = create_deal(db, "Fast", "Ok", user="u", value="1", at="2026-03-01T06:00")
    mid = create_deal(db, "Fast", "Mid", user="u", value="1", at="2026-03-01T00:00")
    old = create_deal(db, "Fast", "Old", user="u", value="1", at="2026-02-28T12:00")
    snap = aging_snapshot(db, "Fast")
    lead = next(st for st in snap.stages if st.name == "Lead")
    assert (lead.baseline.baseline_days, lead.baseline.source, lead.baseline.sample_size) == (1.0, "history", 4)
    assert lead.baseline.learned_days == pytest.approx(1 / 240, abs=1e-6)
    by_id = {i.id: i for i in snap.items}
    assert [(by_id[d.id].days_in_stage, by_id[d.id].baseline_days, by_id[d.id].level, by_id[d.id].severity)
            for d in (ok, mid, old)] == [(1.25, 1.0, "ok", 1.25), (1.5, 1.0, "aging", 1.5), (2.0, 1.0, "stalled", 2.0)]
    assert all(by_id[d.id].baseline_source == "history" for d in (ok, mid, old))


def test_a_plain_units_ids_and_rows_stay_in_the_form_its_driver_takes() -> None:
    """The aging reads bind ids as one array and read some rows in binary only on psycopg's connection (the ORM's);
    a unit on another PostgreSQL connection (the command line's libpq, which binds plain values and reads text)
    gets one placeholder an id, and no `binary` argument."""
    from tuikanban.store.uow import Unit

    calls: list[tuple[str, Any, dict[str, Any]]] = []

    class Plain:
        def execute(self, sql: str, params: Any = (), **kw: Any) -> None:
            calls.append((sql, params, kw))

    plain = Unit(Plain(), postgres=True)
    assert plain.in_list("deal.id", [3, 5]) == ("deal.id IN (?, ?)", (3, 5))
    plain.execute("SELECT ?", (1,), binary=True)
    psycopg_like = Unit(Plain(), postgres=True)
    psycopg_like.arrays = True
    assert psycopg_like.in_list("deal.id", [3, 5]) == ("deal.id = ANY(?)", ([3, 5],))
    psycopg_like.execute("SELECT ?", (1,), binary=True)
    assert calls == [("SELECT %s", (1,), {}), ("SELECT %s", (1,), {"binary": True})]


def test_days_with_sub_millisecond_times_are_the_same_on_both_engines(db: Database,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """Both times are taken to the millisecond (cut) before their difference: SQLite's julianday rounded a time to
    the millisecond, PostgreSQL kept the microseconds, and here that put the days on either side of a rounding
    at the 6th decimal (43.4 ms past a day is 1.000000502 days; rounded to 43.0 ms, 1.000000498).

    Entered 2026-03-01 11:59:59.956600, now 2026-03-02 12:00:00: cut to 59.956, 1 day and 44 ms, which is
    1.000001 days (SQLite rounded to 59.957: 1.000000; PostgreSQL's 43.4 ms gave 1.000001); and three stays of
    that length, their history average."""
    monkeypatch.setenv("TUIKANBAN_NOW", "2026-03-02T12:00:00+00:00")
    create_pipeline(db, "Sub", "Lead,Next")
    for day in (18, 19, 20):  # three stays of that length: the stage's baseline is their average
        stayed = create_deal(db, "Sub", f"Stayed {day}", user="u", value="1",
                             at=f"2026-02-{day}T11:59:59.956600+00:00")
        move_deal(db, stayed.id, "Next", user="u", at=f"2026-02-{day + 1}T12:00:00+00:00")
    deal = create_deal(db, "Sub", "Sub-ms", user="u", value="1", at="2026-03-01T11:59:59.956600+00:00")
    expected = round((86_400_000 + 44) / 86_400_000, 6)
    assert expected == 1.000001
    snap = aging_snapshot(db, "Sub")
    item = next(i for i in snap.items if i.id == deal.id)
    assert item.days_in_stage == expected
    lead = next(st for st in snap.stages if st.name == "Lead")
    assert (lead.baseline.source, lead.baseline.sample_size) == ("history", 3)
    assert round(lead.baseline.baseline_days, 6) == expected
    page = panel_page(db, get_pipeline(db, "Sub").id, limit=10)
    assert next(i for i in page.items if i.id == deal.id).days_in_stage == expected


def test_the_orms_days_between_is_the_plain_sqls_float(db: Database) -> None:
    """`store.sqlfuncs.days_between` (the ORM's spelling: the Today queue's stuck deals) gives the float of
    `Unit.days_between` (the plain reads': aging), both times cut to the millisecond. 11:59:59.956600 to 12:00:00
    the next day is 1 day and 44 ms: 86,400,044 / 86,400,000 days. Before, SQLite's bare julianday difference
    (the start rounded to .957, through a float) and PostgreSQL's numeric EXTRACT (the microseconds kept) each
    gave another value in the 6th decimal."""
    start = datetime(2026, 3, 1, 11, 59, 59, 956600, tzinfo=UTC)
    end = datetime(2026, 3, 2, 12, 0, 0, tzinfo=UTC)
    with db.read() as s:
        orm = s.execute(select(days_between(at_literal(start), at_literal(end)))).scalar_one()
        u = of_session(s)
        # (the end's placeholder comes first in the text)
        plain = u.execute(f"SELECT {u.days_between('?', '?')}", (u.instant(end), u.instant(start))).fetchone()[0]
    assert type(orm) is float and type(plain) is float
    assert orm == plain == 86_400_044 / 86_400_000
