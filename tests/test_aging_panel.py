"""The aging panel inside a tiny host app (Pilot), and the aging chart's layout (pure function)."""

from __future__ import annotations

from typing import Any

import pytest
from textual.app import App, ComposeResult
from textual.widgets import Static, TabbedContent

from board_helpers import press, settle, wait_until
from tuikanban.domain.aging import AgingItem, Baseline, BaselineSource, Level, StageAging
from tuikanban.domain.filters import DealFilter
from tuikanban.services.aging import aging_snapshot
from tuikanban.services.deals import create_deal, deal_history
from tuikanban.services.pipelines import create_pipeline, set_stage
from tuikanban.services.tasks import add_task
from tuikanban.store.engine import Database
from tuikanban.ui.app import TuikanbanApp
from tuikanban.ui.widgets.aging_chart import (
    DOT,
    OVER,
    AgingChart,
    build_chart,
    days_by_stage,
    nice_ceiling,
    scale_top,
)
from tuikanban.ui.widgets.aging_panel import AgingPanel, AgingTable

pytestmark = pytest.mark.engines  # the tests that use a database run on SQLite and on PostgreSQL


class Host(App[None]):
    CSS = "Screen { layout: horizontal; } #board { width: 1fr; }"

    def __init__(self) -> None:
        super().__init__()
        self.focus_requests: list[int] = []

    def get_theme_variable_defaults(self) -> dict[str, str]:
        return {"tk-aging": "#e0a030", "tk-stalled": "#e05050"}

    def compose(self) -> ComposeResult:
        yield Static("board", id="board")
        yield AgingPanel(id="aging")

    def on_aging_panel_focus_deal(self, message: AgingPanel.FocusDeal) -> None:
        self.focus_requests.append(message.deal_id)


@pytest.fixture
def deals(db: Database, fixed_now: str) -> dict[str, Any]:
    """Now 2026-03-02 12:00. Proposal expects 10 days; Lead defaults to 7. Stale days 10.

    stalled: Proposal since 02-08 (22 days / 10 = 2.2), value 5: stalled, no_activity.
    aging:   Lead since 02-20 (10.5 days... at 00:00: 10.5 / 7 = 1.5): aging, no_activity (10.5 days untouched).
    fine:    Lead since 03-01 (1 day), value 5, a next step (a task due 03-09): not shown.
    novalue: Lead since 03-01 (1 day), no value: shown for its signal only (severity 1/7).
    """
    p = create_pipeline(db, "Sales", "Lead,Proposal")
    set_stage(db, "Sales", "Proposal", expected_days=10)
    stalled = create_deal(db, "Sales", "[b]Stalled[/b] \x1b[31mdeal", user="u", stage="Proposal", value="5",
                          owner="ann", at="2026-02-08T12:00")
    aging = create_deal(db, "Sales", "Aging", user="u", value="5", owner="bob", at="2026-02-20T00:00")
    fine = create_deal(db, "Sales", "Fine", user="u", value="5", owner="bob", at="2026-03-01T12:00")
    add_task(db, fine.id, "Demo", "2026-03-09", user="u")
    novalue = create_deal(db, "Sales", "No value", user="u", owner="ann", at="2026-03-01T12:00")
    return {"pipeline": p.id, "stalled": stalled.id, "aging": aging.id, "novalue": novalue.id}


def title_of(panel: AgingPanel) -> str:
    return str(panel.query_one("#aging-title", Static).render())


async def test_panel_lists_flagged_deals_and_enter_focuses_the_deal(db: Database, deals: dict[str, Any]) -> None:
    app = Host()
    async with app.run_test(size=(160, 30)) as pilot:
        panel = app.query_one(AgingPanel)
        panel.show_snapshot(aging_snapshot(db, deals["pipeline"]))
        await pilot.pause()
        table = panel.query_one(AgingTable)
        assert [int(k.value) for k in table.rows] == [deals["stalled"], deals["aging"], deals["novalue"]]
        # of 4 open deals: stalled (1), aging (1), at risk with an ok level (novalue: 1); Fine is not listed
        assert "1 stalled · 1 aging · 1 at risk · 4 open" in title_of(panel)
        first = table.get_row_at(0)
        assert first[0].plain == "[b]Stalled[/b] deal"  # literal markup, escape sequence removed
        assert [c.plain for c in first[1:5]] == ["Proposal", "22.0", "10", "stalled"]
        assert table.get_row_at(1)[4].plain == "aging"
        panel.focus_table()
        await pilot.press("enter")
        await pilot.press("down", "enter")
        await pilot.pause()
        assert app.focus_requests == [deals["stalled"], deals["aging"]]


async def test_panel_shows_what_it_is_handed_under_the_filter(db: Database, deals: dict[str, Any]) -> None:
    app = Host()
    async with app.run_test(size=(160, 30)) as pilot:
        panel = app.query_one(AgingPanel)
        assert "Reading the aging" in str(panel.query_one("#aging-empty", Static).render())  # until handed one
        ann = DealFilter(owner="ann")
        panel.show_snapshot(aging_snapshot(db, deals["pipeline"]), ann)
        await pilot.pause()
        table = panel.query_one(AgingTable)
        assert [int(k.value) for k in table.rows] == [deals["stalled"], deals["novalue"]]
        assert "owner:ann" in title_of(panel)
        # the panel never reads by itself: a new deal shows once the board hands it a new read
        create_deal(db, "Sales", "Old one", user="u", value="9", owner="ann", at="2026-01-01T12:00")
        await pilot.pause()
        assert len(table.rows) == 2
        panel.show_snapshot(aging_snapshot(db, deals["pipeline"]), ann)
        await pilot.pause()
        assert len(table.rows) == 3 and table.get_row_at(0)[0].plain == "Old one"


async def test_panel_chart_tab(db: Database, deals: dict[str, Any]) -> None:
    app = Host()
    async with app.run_test(size=(160, 30)) as pilot:
        panel = app.query_one(AgingPanel)
        panel.show_snapshot(aging_snapshot(db, deals["pipeline"]))
        await pilot.pause()
        panel.focus_table()
        await pilot.press("c")
        await pilot.pause()
        assert panel.query_one(TabbedContent).active == "aging-chart-pane"
        chart = panel.query_one(AgingChart)
        text = str(chart.render())
        assert "Lead" in text and "Proposal" in text and DOT in text
        await pilot.press("c")
        assert panel.query_one(TabbedContent).active == "aging-list"


async def test_panel_shows_an_error_sentence_in_place_of_the_list(db: Database, deals: dict[str, Any]) -> None:
    app = Host()
    async with app.run_test(size=(160, 30)) as pilot:
        panel = app.query_one(AgingPanel)
        panel.show_snapshot(aging_snapshot(db, deals["pipeline"]))
        await pilot.pause()
        panel.show_error("The aging of this pipeline could not be read.")
        await pilot.pause()
        empty = panel.query_one("#aging-empty", Static)
        assert empty.display and not panel.query_one(AgingTable).display
        assert str(empty.render()) == "The aging of this pipeline could not be read."


# -- the chart --------------------------------------------------------------------------------------------


def _item(deal_id: int, stage_id: int, days: float, baseline: float) -> AgingItem:
    lv = Level.STALLED if days >= 2 * baseline else Level.AGING if days >= 1.5 * baseline else Level.OK
    return AgingItem(id=deal_id, title=f"d{deal_id}", stage=str(stage_id), stage_id=stage_id, owner="", type_name=None,
                     company="", value_minor=1, currency="USD", days_in_stage=days, baseline_days=baseline, level=lv,
                     signals=(), severity=days / baseline)


def test_nice_ceiling() -> None:
    assert [nice_ceiling(v) for v in (0.7, 14, 25, 33, 120)] == [1.0, 20, 25, 50, 200]


def test_chart_places_deals_by_age_against_the_bands() -> None:
    # One stage with baseline 10. The scale's top: room for the stalled band (2 x 10 x 1.25 = 25) or the oldest
    # deal up to 4 x the baseline (100 days -> 40), whichever is more: 40, rounded up to 50. Height 12 leaves 10
    # plot rows of 5 days; line k (from the top) holds ages [(9 - k) x 5, (10 - k) x 5).
    stages = [StageAging(1, "Proposal", 0, Baseline(10.0, BaselineSource.EXPECTED))]
    items = days_by_stage([_item(1, 1, 7.0, 10), _item(3, 1, 100.0, 10), _item(2, 1, 27.0, 10)])
    assert items == {1: [7.0, 27.0, 100.0]}  # ascending
    assert scale_top(stages, items) == 50
    lines = [line.plain for line in build_chart(stages, items, width=20, height=12)]
    assert len(lines) == 12
    # 7 days: row 1 -> line 8; 27 days: row 5 -> line 4; 100 days is beyond the scale: pinned to the top line
    assert [line.count(DOT) for line in lines[:10]] == [1, 0, 0, 0, 1, 0, 0, 0, 1, 0]
    assert lines[0].count(OVER) == 1
    # band edges: baseline 10 -> row 2 (line 7), 1.5 x = 15 -> row 3 (line 6), 2 x = 20 -> row 4 (line 5)
    assert "┈" in lines[7] and "╌" in lines[6] and "─" in lines[5]
    # axis labels at 0, 12.5, 25, 37.5 and 50 days
    assert [line[:7] for line in lines[:10]] == [
        "  50d ┤", "      │", "37.5d ┤", "      │", "  25d ┤", "      │", "      │", "12.5d ┤", "      │", "   0d ┤"]
    assert "Proposal" in lines[10] and "3·10d" in lines[11]


def test_chart_counts_crowded_cells_and_survives_tiny_sizes() -> None:
    stages = [StageAging(1, "A", 0, Baseline(7.0, BaselineSource.DEFAULT)),
              StageAging(2, "B", 1, Baseline(7.0, BaselineSource.DEFAULT))]
    items = days_by_stage([_item(i, 1, 1.0, 7) for i in range(12)])
    lines = [line.plain for line in build_chart(stages, items, width=20, height=10)]
    assert any("12" in line for line in lines[:-2])  # twelve deals in one cell of a narrow column
    assert build_chart(stages, items, width=5, height=3)[0].plain == "Too small for the chart."


# -- the panel beside the real board: re-read after a write ------------------------------------------------------


def _panel_rows(app: Any) -> dict[str, str]:
    """Title -> level of every row of the open aging panel."""
    table = app.screen.query_one("#aging", AgingPanel).query_one(AgingTable)
    return {table.get_row_at(i)[0].plain: table.get_row_at(i)[4].plain for i in range(table.row_count)}


async def test_a_deal_just_written_stays_in_the_panel(db: Database, fixed_now: str) -> None:
    """Now 2026-03-02 12:00; Proposal expects 10 days, stale after 10 days without activity.

    "Older" entered Proposal on 02-08 (22 days: 2.2 x 10, stalled) and "Newer" on 02-09 (21 days, stalled); both
    untouched since, so both also carry no_activity. "Newer", created last, heads the column. Moving it down
    (shift+down) is an event (it is no longer idle) but leaves its stay alone: it is still stalled and must stay in
    the panel, both after the quick re-read of the written deal and after the full re-read that follows once the
    writes pause.
    """
    create_pipeline(db, "Sales", "Lead,Proposal")
    set_stage(db, "Sales", "Proposal", expected_days=10)
    create_deal(db, "Sales", "Older", user="u", stage="Proposal", value="5", at="2026-02-08T12:00")
    newer = create_deal(db, "Sales", "Newer", user="u", stage="Proposal", value="5", at="2026-02-09T12:00")
    app = TuikanbanApp(db, "tester")
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(pilot)
        await press(pilot, "right", "a")  # focus Proposal, open the panel
        assert _panel_rows(app) == {"Older": "stalled", "Newer": "stalled"}
        await press(pilot, "tab")  # back to the board, where the first card of Proposal has the focus
        await press(pilot, "shift+down")
        assert [e.kind for e in deal_history(db, newer.id)] == ["create", "reorder"]  # "Newer" was written
        assert _panel_rows(app) == {"Older": "stalled", "Newer": "stalled"}  # the quick re-read of "Newer"
        await pilot.pause(1.5)  # the board reads every deal's aging again once its writes pause for a second
        await settle(pilot)
        assert _panel_rows(app) == {"Older": "stalled", "Newer": "stalled"}  # and the full one


# -- a big pipeline: the panel reads what it shows ----------------------------------------------------------------


async def _lanes_done(pilot: Any) -> None:
    from tuikanban.ui.jobs import lanes_of

    for _ in range(400):
        await pilot.pause()
        if lanes_of(pilot.app).pending == 0:
            await pilot.pause()
            return
    raise AssertionError("the panel's reads did not finish")


async def test_a_big_pipelines_panel_reads_a_page_at_a_time_most_severe_first_to_the_end(
    db: Database, fixed_now: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Now 2026-03-02 12:00. 24 deals entered their stage one day apart (Lead: default 7 days, Proposal: 10);
    every fourth one is recent, valued and has a next step, so it is not listed. Pages of 5 deals: the first read
    builds the items of 5 deals only, yet the list starts with the most severe of all, the counts are those of every
    deal, and moving down reads on until the list is exactly the full aging read's, in its order."""
    from datetime import datetime, timedelta

    import tuikanban.services.aging as aging_service
    import tuikanban.ui.widgets.aging_panel as panel_module

    monkeypatch.setattr(panel_module, "PAGE", 5)
    monkeypatch.setattr(panel_module, "DEEPER_WITHIN", 2)
    built: list[int] = []  # how many items each read built
    real = aging_service.snapshot_in

    def counting(u: Any, pipeline: Any, **kw: Any) -> Any:
        snap = real(u, pipeline, **kw)
        built.append(len(snap.items))
        return snap

    monkeypatch.setattr(aging_service, "snapshot_in", counting)
    p = create_pipeline(db, "Sales", "Lead,Proposal")
    set_stage(db, "Sales", "Proposal", expected_days=10)
    start = datetime(2026, 1, 10, 12, 0)
    for i in range(24):
        recent = i % 4 == 3
        at = datetime(2026, 2, 27, 12, 0) + timedelta(hours=i) if recent else start + timedelta(days=i)
        deal = create_deal(db, "Sales", f"Deal {i:02}", user="u", stage="Proposal" if i % 2 else "Lead", value="5",
                           owner="ann", at=at.isoformat(timespec="minutes"))
        if recent:
            add_task(db, deal.id, "Call", "2026-03-09", user="u")
    full = aging_snapshot(db, p.id)
    expected = [i.id for i in full.flagged]
    assert 12 < len(expected) < 24  # (some listed, some not)
    stalled = sum(1 for i in full.items if i.level is Level.STALLED)
    aging = sum(1 for i in full.items if i.level is Level.AGING)
    built.clear()

    app = Host()
    async with app.run_test(size=(160, 30)) as pilot:
        panel = app.query_one(AgingPanel)
        panel.follow(db, p.id)
        await _lanes_done(pilot)
        table = panel.query_one(AgingTable)
        assert built == [5]  # one page of items, not 24
        assert panel.page is not None and len(panel.page.items) == 5
        held = [int(k.value) for k in table.rows]
        assert held == expected[:len(held)] and held  # the most severe first
        assert f"{stalled} stalled · {aging} aging · 24 open" in title_of(panel)
        assert "more are read as you scroll" in title_of(panel)
        panel.focus_table()
        for _ in range(30):
            await pilot.press("down")
            await _lanes_done(pilot)
        assert [int(k.value) for k in table.rows] == expected
        assert all(n <= 5 for n in built)
        assert "more are read as you scroll" not in title_of(panel)
        # the chart counts every open deal, read as days in stage (no item of the others)
        assert panel.page is not None and sum(len(d) for d in panel.page.days.values()) == 24
        # the board's aging changed: what is held is read again in one read
        built.clear()
        panel.follow(db, p.id, reread=True)
        await _lanes_done(pilot)
        assert built == [24] and [int(k.value) for k in table.rows] == expected


async def test_the_panel_beside_a_big_pipelines_board_reads_its_own_pages(
    db: Database, fixed_now: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A board holding 3 cards of 12 (the lazy sizes made small): `a` opens a panel that reads its own page of the
    most severe deals (the board's aging read stays that of its cards), enter on a deal the board does not hold
    yet reads down to it, and a move re-reads the panel once the writes pause."""
    from tuikanban.store import fastread
    from tuikanban.ui.board import base as board_base
    from tuikanban.ui.board import gateway as board_gateway
    from tuikanban.ui.board.state import BoardState

    monkeypatch.setattr(board_gateway, "LAZY_ABOVE", 4)
    monkeypatch.setattr(board_gateway, "LAZY_WINDOW", 3)
    monkeypatch.setattr(board_base.BoardBase, "MORE_MARGIN", 1)
    p = create_pipeline(db, "Sales", "Lead,Proposal")
    for i in range(12):  # the oldest (most severe) is Deal 00, last in the board's order (new deals go on top)
        create_deal(db, p.id, f"Deal {i:02d}", user="u", value="5", at=f"2026-02-{10 + i:02d}T09:30")
    # as run_board starts it: the first screen read in a window before the app runs
    gateway = board_gateway.BoardGateway(path=db.target, user="tester", db=db,
                                         con=fastread.connect_live_target(db.target))
    initial = gateway.load(None, BoardState(), window=2)
    app = TuikanbanApp(db, "tester", db_path=db.target, gateway=gateway, initial=initial)
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(pilot)
        screen = app.board_screen
        assert screen.model is not None and screen.model.partial
        await press(pilot, "a")
        panel = app.screen.query_one("#aging", AgingPanel)
        assert panel.snapshot is None and panel.page is not None and screen.aging.snapshot is None
        table = panel.query_one(AgingTable)
        assert table.get_row_at(0)[0].plain == "Deal 00" and table.row_count == 12
        assert "12 open" in title_of(panel)
        await press(pilot, "enter")  # Deal 00: below the cards the board holds
        card = screen.view.focused_card
        assert card is not None and card.title == "Deal 00"
        await press(pilot, "shift+right")  # Deal 00 to Proposal: a day in its stage, no longer the most severe
        await pilot.pause(1.5)
        await settle(pilot)
        assert table.get_row_at(0)[0].plain == "Deal 01"


async def test_closed_panels_are_let_go(db: Database, deals: dict[str, Any]) -> None:
    """The panel subscribes to the app's theme signal, whose stored callback held the panel (and its table and
    chart) alive after it closed: one more panel per `a`. Five opens and closes leave at most the last one."""
    import gc

    app = TuikanbanApp(db, "tester")
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(pilot)
        for _ in range(5):
            await press(pilot, "a")
            assert app.board_screen.aging_panel is not None
            await press(pilot, "escape")
            assert app.board_screen.aging_panel is None
        gc.collect()
        assert sum(1 for o in gc.get_objects() if isinstance(o, AgingPanel)) <= 1


async def test_closed_panels_leave_no_style_caches(db: Database, deals: dict[str, Any],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Textual's `get_inner_outer` cache keeps the style cache (and the drawn lines) of every widget it drew, until
    the board is shown again after a screen: a panel closing on the board never is, so each open of the panel kept
    its widgets' style caches (about 1.7 MB an open at 100,000 open deals). Five opens and closes leave no more
    entries than the board itself had before the first."""
    from tuikanban.ui.textual_seam import style_caches_kept

    app = TuikanbanApp(db, "tester")
    # No spare screens: built once a key has come, they would add (and later drop) caches of their own, not the panel's.
    monkeypatch.setattr(app.spares, "want", lambda *args, **kwargs: None)
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(pilot)
        before = style_caches_kept()
        for _ in range(5):
            await press(pilot, "a")
            assert app.board_screen.aging_panel is not None and style_caches_kept() > before
            await press(pilot, "escape")
            assert app.board_screen.aging_panel is None
        await settle(pilot)
        assert style_caches_kept() <= before


# -- the panel built ahead of its key (ui/spares.py) ---------------------------------------------------------------


def _shown_panels(app: TuikanbanApp) -> list[AgingPanel]:
    return [p for p in app.board_screen.query(AgingPanel) if p.display]


async def _chart_and_back(pilot: Any, app: TuikanbanApp) -> None:
    """c shows the chart and c the list again, in the open panel (its tabs set the tab that is shown)."""
    panel = app.board_screen.aging_panel
    assert panel is not None
    await press(pilot, "c")
    assert panel.query_one(TabbedContent).active == "aging-chart-pane"
    await press(pilot, "c")
    assert panel.query_one(TabbedContent).active == "aging-list" and panel.query_one(AgingTable).has_focus


async def test_the_key_shows_the_panel_built_ahead_and_the_next_one_is_built_once_it_closes(
        db: Database, deals: dict[str, Any]) -> None:
    app = TuikanbanApp(db, "tester")
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(pilot)
        await wait_until(pilot, lambda: "aging panel" in app.spares.ready)
        spare = app.spares.ready["aging panel"].screen
        assert isinstance(spare, AgingPanel) and not spare.display and not _shown_panels(app)
        assert not spare.query_one(AgingTable).has_focus  # hidden: out of the board's focus chain
        await press(pilot, "a")
        assert app.board_screen.aging_panel is spare and _shown_panels(app) == [spare]
        assert spare.query_one(AgingTable).has_focus
        assert set(_panel_rows(app)) == {"Aging", "[b]Stalled[/b] deal", "No value"}
        await _chart_and_back(pilot, app)
        await press(pilot, "escape")
        assert app.board_screen.aging_panel is None and not _shown_panels(app)
        await wait_until(pilot, lambda: "aging panel" in app.spares.ready)
        again = app.spares.ready["aging panel"].screen
        assert again is not spare and not again.display  # a fresh one: nothing of the closed one's state
        assert len(app.board_screen.query(AgingPanel)) == 1
        await press(pilot, "a")
        assert app.board_screen.aging_panel is again and set(_panel_rows(app)) >= {"Aging"}


async def test_a_key_at_once_after_the_start_composes_the_panel(db: Database, deals: dict[str, Any]) -> None:
    from tuikanban.store import fastread
    from tuikanban.ui.board import gateway as board_gateway
    from tuikanban.ui.board.state import BoardState

    # as run_board starts it: the first screen read before the app runs, so the board has its cards at once
    gateway = board_gateway.BoardGateway(path=db.target, user="tester", db=db,
                                         con=fastread.connect_live_target(db.target))
    app = TuikanbanApp(db, "tester", db_path=db.target, gateway=gateway, initial=gateway.load(None, BoardState()))
    async with app.run_test(size=(160, 40)) as pilot:
        assert "aging panel" not in app.spares.ready
        await pilot.press("a")  # before the board has built anything ahead
        await settle(pilot)
        panel = app.board_screen.aging_panel
        assert panel is not None and _shown_panels(app) == [panel]
        assert "Aging" in set(_panel_rows(app))
        await _chart_and_back(pilot, app)
        await pilot.pause(0.5)  # (idle: no spare is built beside the panel shown, whose id it would share)
        assert len(app.board_screen.query(AgingPanel)) == 1
        await press(pilot, "escape")


async def test_a_key_while_the_spare_panel_mounts_waits_for_its_mount(
        db: Database, deals: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """The panel's inner widgets (the tabs, the table) mount after the panel itself starts: a key that took a panel
    still mounting set a tab that did not exist yet ("No Tab with id ..."). A slow chart makes the mount long."""
    import asyncio

    mounting = asyncio.Event()
    takes: list[asyncio.Task[Any]] = []
    take_while_mounting = False

    async def slow_mount(self: AgingChart) -> None:
        mounting.set()
        if take_while_mounting and not takes:  # the spares' own taking, asked while this mount is under way
            takes.append(asyncio.create_task(app.spares.take_widget("aging panel", ("aging panel",))))
        await asyncio.sleep(1.5)

    monkeypatch.setattr(AgingChart, "on_mount", slow_mount, raising=False)
    app = TuikanbanApp(db, "tester")
    async with app.run_test(size=(160, 40)) as pilot:
        await asyncio.wait_for(mounting.wait(), 10)
        assert app.spares._building is not None and app.spares._building[0] == "aging panel"
        await pilot.press("a")
        await settle(pilot)
        panel = app.board_screen.aging_panel
        assert panel is not None and panel.display and _shown_panels(app) == [panel]
        assert len(app.board_screen.query(AgingPanel)) == 1
        await _chart_and_back(pilot, app)
        take_while_mounting = True
        await press(pilot, "escape")
        await wait_until(pilot, lambda: bool(takes) and takes[0].done())
        taken = takes[0].result()  # given once mounted whole, not half-way
        assert isinstance(taken, AgingPanel) and taken.is_mounted and taken.display
        assert taken.query_one(TabbedContent).query("ContentTab")  # its tabs are there: they can be set


@pytest.mark.parametrize("ticks", [0, 1, 2, 3, 5, 8])
async def test_a_panel_removed_while_it_mounts_raises_nothing(ticks: int) -> None:
    """The board's panel built ahead mounts hidden for a moment; the board closing or the app quitting in that moment
    removed it with its children gone before its own mount ran: 'No nodes match #aging-empty' (or Textual's tabs:
    'No Tab with id --content-tab-aging-list') ended the app with a traceback."""
    import asyncio

    from textual.containers import Vertical

    class Body(App[None]):
        def get_theme_variable_defaults(self) -> dict[str, str]:
            return {"tk-aging": "#e0a030", "tk-stalled": "#e05050"}

        def compose(self) -> ComposeResult:
            yield Vertical(id="body")

    app = Body()
    async with app.run_test() as pilot:
        body = app.query_one("#body")
        for _ in range(3):
            panel = AgingPanel(id="aging")
            body.mount(panel)
            for _ in range(ticks):
                await asyncio.sleep(0)
            await panel.remove()
            await pilot.pause()
        assert not app.query(AgingPanel)
    # (run_test raises what a handler raised: the test fails on the error itself)
