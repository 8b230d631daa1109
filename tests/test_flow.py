"""The flow charts' data (services/flow.py), from a history built with explicit times; every figure by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from fractions import Fraction
from typing import Any

import pytest

from test_metrics_plain import history  # noqa: F401 - the rich history, a fixture
from tuikanban.services import deals as D
from tuikanban.services.flow import CycleDot, CycleDots, FlowReport, flow_report, percentile, weekly_points
from tuikanban.services.flow_plain import flow_in
from tuikanban.services.lifecycle import delete_deal
from tuikanban.services.pipelines import create_pipeline
from tuikanban.store import screenreads
from tuikanban.store.engine import Database
from tuikanban.store.uow import Unit

pytestmark = pytest.mark.engines  # the tests that use a database run on SQLite and on PostgreSQL

U = "tester"
NOW = datetime(2026, 3, 2, 12, tzinfo=UTC)  # conftest's fixed clock


def test_percentile_by_nearest_rank() -> None:
    vals = [Fraction(x) for x in (1, 2, 3, 4)]
    assert percentile(vals, 50) == 2  # rank ceil(0.50 * 4) = 2
    assert percentile(vals, 85) == 4  # rank ceil(3.4) = 4
    assert percentile(vals, 95) == 4  # rank ceil(3.8) = 4
    assert percentile([Fraction(7)], 50) == 7
    assert percentile([], 50) is None


def test_weekly_points_end_at_now() -> None:
    pts = weekly_points(NOW, 21)
    assert pts == [NOW - timedelta(days=21), NOW - timedelta(days=14), NOW - timedelta(days=7), NOW]


def test_the_dots_are_columns_in_win_order() -> None:
    """The scatter's dots are three columns (deal id, won time, seconds), each dot made only when asked (a dot object
    a win held 3 MB at 11,000 wins); dots that came out of order are put in (won time, deal id) order."""
    t = NOW - timedelta(days=3)
    dots = CycleDots()
    dots.add(7, t, 86400)
    dots.add(5, t, 43200)  # the same moment as 7: by deal id
    dots.add(9, t - timedelta(days=1), 129600)
    ordered = dots.in_order()
    assert list(ordered) == [CycleDot(9, t - timedelta(days=1), Fraction(3, 2)), CycleDot(5, t, Fraction(1, 2)),
                             CycleDot(7, t, Fraction(1))]
    assert ordered[1:] == [CycleDot(5, t, Fraction(1, 2)), CycleDot(7, t, Fraction(1))]
    assert ordered[-1].won_at == t and ordered[-1].won_at.tzinfo is not None
    assert (len(ordered), ordered.deal_ids.tolist(), ordered.seconds.tolist()) == (3, [9, 5, 7], [129600, 43200, 86400])
    assert ordered.in_order() is ordered  # already in order: kept as it is
    assert ordered == list(ordered) and ordered != dots


def test_cumulative_flow_cycle_times_and_throughput(db: Database, fixed_now: str) -> None:
    create_pipeline(db, "Sales", "Lead,Proposal")
    # window 21 days: points 02-09 12:00, 02-16 12:00, 02-23 12:00, 03-02 12:00
    a = D.create_deal(db, "Sales", "A", user=U, at="2026-02-01T12:00:00Z").id  # Lead from 02-01
    D.move_deal(db, a, "Proposal", user=U, at="2026-02-12T12:00:00Z")  # Proposal from 02-12
    D.win_deal(db, a, user=U, at="2026-02-20T12:00:00Z")  # won: 19 days after creation
    b = D.create_deal(db, "Sales", "B", user=U, at="2026-02-15T12:00:00Z").id  # Lead from 02-15
    D.win_deal(db, b, user=U, at="2026-02-25T00:00:00Z")  # won: 9.5 days after creation
    c = D.create_deal(db, "Sales", "C", user=U, at="2026-02-10T12:00:00Z").id  # Lead from 02-10, still open
    gone = D.create_deal(db, "Sales", "Gone", user=U, at="2026-02-01T12:00:00Z").id
    delete_deal(db, gone, user=U)  # deleted: in no figure
    old = D.create_deal(db, "Sales", "Old", user=U, at="2026-01-01T12:00:00Z").id
    D.win_deal(db, old, user=U, at="2026-02-05T12:00:00Z")  # won before the window
    r = flow_report(db, "Sales", window_days=21)
    assert r.stages == ("Lead", "Proposal")
    # 02-09: A in Lead (Old won 02-05)                      -> Lead 1, Proposal 0
    # 02-16: A in Proposal; B (02-15) and C (02-10) in Lead -> Lead 2, Proposal 1
    # 02-23: A won 02-20; B, C in Lead                      -> Lead 2, Proposal 0
    # 03-02: B won 02-25; C in Lead                         -> Lead 1, Proposal 0
    assert [p.counts for p in r.cfd] == [(1, 0), (2, 1), (2, 0), (1, 0)]
    assert [(d.deal_id, d.days) for d in r.cycle] == [(a, 19), (b, Fraction(19, 2))]
    assert isinstance(r.cycle, CycleDots) and r.cycle.seconds.tolist() == [19 * 86400, 19 * 43200]  # columns
    # sorted 9.5, 19: 50th -> rank ceil(1.0) = 1 -> 9.5; 85th -> rank ceil(1.7) = 2 -> 19; 95th -> 19
    assert r.percentiles == {50: Fraction(19, 2), 85: 19, 95: 19}
    # spans ending 02-16, 02-23, 03-02: A won 02-20 (second), B 02-25 (third)
    assert [w.won for w in r.throughput] == [0, 1, 1]
    assert c not in {d.deal_id for d in r.cycle}


async def test_metrics_screen_draws_the_flow_and_forecast_panels(db: Database, fixed_now: str,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """The panels as drawn; every chart and table drawn off the UI thread (the reads lane, with the charts' read),
    at the size its panel has on screen, so that opening the metrics never holds a key for them."""
    import asyncio
    import threading

    from rich.console import Console
    from textual.app import App

    from tuikanban.ui.jobs import lanes_of
    from tuikanban.ui.screens.metrics import MetricsScreen
    from tuikanban.ui.widgets import flow_charts as fc
    from tuikanban.ui.widgets.flow_charts import Chart

    p = create_pipeline(db, "Sales", "Lead,Proposal")
    a = D.create_deal(db, "Sales", "A", user=U, value="100", at="2026-02-01T12:00:00Z").id
    D.win_deal(db, a, user=U, at="2026-02-20T12:00:00Z")
    D.create_deal(db, "Sales", "B", user=U, value="50", at="2026-02-10T12:00:00Z")

    class Host(App[None]):
        def on_mount(self) -> None:
            self.push_screen(MetricsScreen(db, p.id, U))

    def text_of(chart: Chart) -> str:
        console = Console(width=chart.content_size.width or 80, record=True, color_system=None)
        console.print(chart.render())
        return console.export_text()

    drawn_on: list[tuple[str, bool, tuple[int, ...]]] = []  # (chart, on the UI thread, size)
    for name in ("cfd", "scatter", "throughput", "learned", "forecast", "backtest"):
        def drawing(*args: Any, _name: str = name, _draw: Any = getattr(fc, name)) -> Any:
            drawn_on.append((_name, threading.current_thread() is threading.main_thread(), args[1:]))
            return _draw(*args)

        monkeypatch.setattr(fc, name, drawing)
    app = Host()
    async with app.run_test(size=(160, 60)) as pilot:
        for _ in range(300):
            await pilot.pause()
            if lanes_of(app).pending == 0 and app.screen.query_one("#fl-backtest", Chart).drawn is not None:
                break
            await asyncio.sleep(0.02)
        charts = {c.id: text_of(c) for c in app.screen.query(Chart)}
        assert "1 won" in charts["fl-scatter"] and "50% 19.0d" in charts["fl-scatter"]  # A: 02-01 to 02-20
        assert "Lead" in charts["fl-cfd"] and "Proposal" in charts["fl-cfd"]
        assert "Lead" in charts["fl-learned"] and "Configured" in charts["fl-learned"]
        assert "30 days" in charts["fl-forecast"] and "90 days" in charts["fl-forecast"]
        assert "mean error" in charts["fl-backtest"]
        assert "02-23" in charts["fl-throughput"] or "03-02" in charts["fl-throughput"]
        assert drawn_on and not [d for d in drawn_on if d[1]]  # none on the UI thread
        sizes = {c.id: (c.content_size.width, c.content_size.height) for c in app.screen.query(Chart)}
        for key in ("cfd", "scatter", "throughput"):  # the last drawing of each chart: at its panel's size
            assert [size for name, _ui, size in drawn_on if name == key][-1][-2:] == sizes[f"fl-{key}"]


# -- the plain read (the metrics screen's) is the ORM's -------------------------------------------------------------


@pytest.mark.parametrize("window", [7, 30, 90, 365])
def test_the_plain_read_is_the_orm_read(db: Database, history: dict[str, int], window: int) -> None:  # noqa: F811
    """`flow_plain.flow_in` (what the metrics screen reads: on a driver connection of its own before the database
    is open, on the ORM session's connection after) gives exactly `flow_report`'s report, on the rich history of
    tests/test_metrics_plain.py (wins on the edges of a day, a reopened deal, an undone move, a deleted deal with
    stays, an archived stage, another pipeline)."""
    for pipeline in (history["pipeline"], history["other"]):
        expected = flow_report(db, pipeline, window_days=window)

        def read(u: Unit, pipeline: int = pipeline) -> FlowReport:
            return flow_in(u, pipeline, window_days=window)

        assert screenreads.run(db.target, read) == expected, (window, pipeline)
        assert db.read_plain(read) == expected, (window, pipeline)


def test_the_compared_history_has_flow_in_it(db: Database, history: dict[str, int]) -> None:  # noqa: F811
    """(So that the comparison above compares something: by hand, at 2026-03-02 12:00 over 90 days.) The open stays
    at the last point: E in Proposal (reopened into Lead 02-06, moved 02-09), H in Lead (moved from the archived
    Old 02-22), I and J in Lead (K lost, G deleted). Won in the window: A (2025-11-20 08:00 to 2026-02-20 17:45:30),
    D (02-10 09:00 to 02-24 00:00) and F (01-20 09:00 to 03-01 23:59:59)."""
    r = flow_report(db, history["pipeline"], window_days=90)
    assert r.stages == ("Lead", "Qualified", "Proposal")  # Old archived: not drawn
    assert r.cfd[-1].counts == (3, 0, 1)
    a = (datetime(2026, 2, 20, 17, 45, 30) - datetime(2025, 11, 20, 8)).total_seconds()
    d = (datetime(2026, 2, 24) - datetime(2026, 2, 10, 9)).total_seconds()
    f = (datetime(2026, 3, 1, 23, 59, 59) - datetime(2026, 1, 20, 9)).total_seconds()
    assert [x.deal_id for x in r.cycle] == [history["A"], history["D"], history["F"]]
    assert r.cycle.seconds.tolist() == [int(a), int(d), int(f)]  # type: ignore[attr-defined]
    # a 92.4, d 13.6, f 40.6 days; sorted d, f, a: the 50th is rank ceil(1.5) = 2 (f), the 85th and 95th rank 3 (a)
    assert r.percentiles == {50: Fraction(int(f), 86400), 85: Fraction(int(a), 86400), 95: Fraction(int(a), 86400)}
    assert [w.won for w in r.throughput][-2:] == [1, 2]  # A (02-20) in the span ending 02-23; D, F after
