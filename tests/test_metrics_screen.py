"""MetricsScreen driven by Pilot in a tiny host App (no board needed)."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from rich.cells import cell_len
from rich.console import Console
from textual.app import App
from textual.widgets import Static

from tuikanban.services import deals as D
from tuikanban.services.pipelines import create_pipeline
from tuikanban.store.engine import Database, open_database
from tuikanban.ui.jobs import lanes_of
from tuikanban.ui.screens.metrics import MetricsScreen
from tuikanban.ui.widgets.metrics_parts import longest_fitting

pytestmark = pytest.mark.engines  # the tests that use a database run on SQLite and on PostgreSQL

U = "tester"


class Host(App[None]):
    def __init__(self, db: Database, pipeline_id: int) -> None:
        super().__init__()
        self.db = db
        self.pipeline_id = pipeline_id

    def on_mount(self) -> None:
        self.push_screen(MetricsScreen(self.db, self.pipeline_id, U))


def _plain(renderable: Any, width: int = 100) -> str:
    console = Console(width=width, record=True, color_system=None)
    console.print(renderable)
    return console.export_text()


def _build(db: Database) -> int:
    p = create_pipeline(db, "Sales", "Lead,[b]Proposal[/b]", target="40000")
    create_pipeline(db, "Renewals", "Due,Signed")
    a = D.create_deal(db, "Sales", "A", user=U, value="10000", owner="ann", at="2026-02-01").id
    D.move_deal(db, a, "[b]Proposal[/b]", user=U, at="2026-02-03")
    D.win_deal(db, a, user=U, at="2026-02-11")  # won after 10 days; Lead 2 d, Proposal 8 d
    b = D.create_deal(db, "Sales", "B", user=U, value="5000", owner="ann", at="2026-01-10").id
    D.lose_deal(db, b, "[red]Budget[/red]", user=U, at="2026-01-14")  # Lead 4 d, lost
    D.create_deal(db, "Sales", "C", user=U, value="20000", owner="ann", at="2026-02-20")
    return p.id


async def _settle(app: App[None], pilot: Any) -> None:
    """Wait until the metrics jobs on the app's lanes are done and their results shown."""
    for _ in range(400):
        await pilot.pause()
        if lanes_of(app.screen).pending == 0:
            await pilot.pause()
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the metrics were not computed")


async def test_tiles_table_and_window_keys(db: Database, fixed_now: str) -> None:
    pid = _build(db)
    app = Host(db, pid)
    async with app.run_test(size=(120, 40)) as pilot:
        await _settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, MetricsScreen)
        assert screen.report is not None and screen.report.window_days == 90

        def tile(key: str) -> str:
            return str(screen.query_one(f"#mx-tile-{key}", Static).content)

        # open: C 20,000; closed in 90 days: A won, B lost -> 50 %; A 10,000 in 10 days
        assert tile("open").splitlines() == ["1", "$20,000"]
        assert tile("win").splitlines() == ["50%", "1/2 won"]
        assert tile("size").splitlines()[0] == "$10,000"
        assert tile("cycle").splitlines()[0] == "10.0 days"
        assert tile("velocity").splitlines()[0] == "$500"  # 1 x 10,000 x 0.5 / 10
        assert tile("coverage").splitlines()[0] == "0.5x"  # 20,000 / 40,000

        stages = _plain(screen.query_one("#mx-stages", Static).content)
        assert "[b]Proposal[/b]" in stages  # user text literally, not bold markup
        bottleneck = str(screen.query_one("#mx-bottleneck", Static).content)
        # Lead: 2 d (A) and 4 d (B) = 3.0; Proposal: 8 d -> the bottleneck
        assert "[b]Proposal[/b] holds deals 8.0 days on average" in bottleneck
        assert "[red]Budget[/red]" in _plain(screen.query_one("#mx-lost", Static).content)

        await pilot.press("1")
        await _settle(app, pilot)
        assert screen.window_days == 30
        assert screen.report.window_days == 30
        assert "last 30 days" in str(screen.query_one("#mx-title", Static).content)
        # 30 days back from 03-02 12:00 is 01-31 12:00: only A closed (won), B (01-14) is out
        assert tile("win").splitlines() == ["100%", "1/1 won"]

        await pilot.press("4")
        await _settle(app, pilot)
        assert screen.report.window_days == 365

        await pilot.press("p")
        await _settle(app, pilot)
        assert screen.report.pipeline.name == "Renewals"
        assert tile("win").splitlines() == ["n/a", "0 closed"]  # nothing closed: n/a, never 0 %
        assert tile("coverage").splitlines() == ["n/a", "no target set"]

        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, MetricsScreen)


async def test_the_frame_says_computing_while_the_worker_runs(
    db: Database, fixed_now: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tuikanban.services.metrics_plain as service

    release = threading.Event()
    real = service.metrics_in

    def slow(*args: Any, **kwargs: Any) -> Any:
        release.wait(10)
        return real(*args, **kwargs)

    monkeypatch.setattr(service, "metrics_in", slow)
    pid = _build(db)
    app = Host(db, pid)
    async with app.run_test(size=(160, 45)) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, MetricsScreen)
        # the computation is held in its worker thread: the UI is responsive, the frame and its headings are up,
        # and every panel says it is working
        assert "computing…" in str(screen.query_one("#mx-title", Static).content)
        assert str(screen.query_one("#mx-tile-velocity", Static).content).splitlines()[0] == "computing…"
        assert screen.query_one("#mx-tile-velocity").border_title == "Velocity"
        for panel in ("#mx-stages", "#mx-forecast", "#mx-lost", "#mx-owners", "#mx-types"):
            assert str(screen.query_one(panel, Static).content) == "computing…", panel
        await pilot.press("2")  # keys still work while it computes
        release.set()
        await _settle(app, pilot)
        assert "computed in" in str(screen.query_one("#mx-title", Static).content)
        assert screen.report is not None and screen.report.open_deals == 1
        assert str(screen.query_one("#mx-tile-velocity", Static).content).splitlines()[0] == "$500"
        assert "computing…" not in str(screen.query_one("#mx-stages", Static).content)


@pytest.mark.engines  # heard through the change feed: data_version on SQLite, NOTIFY on PostgreSQL
async def test_someone_elses_commit_refreshes_the_figures(db: Database, db_target: str, fixed_now: str) -> None:
    pid = _build(db)
    app = Host(db, pid)
    async with app.run_test(size=(120, 40)) as pilot:
        await _settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, MetricsScreen)
        assert screen.report is not None and screen.report.open_deals == 1
        other = open_database(db_target)  # another connection, as another process would have
        try:
            D.create_deal(other, "Sales", "D", user="bob", value="1000", at="2026-03-01")
        finally:
            other.close()
        for _ in range(20):  # within two seconds (the feed hears it at once; computing takes the rest)
            await pilot.pause(0.1)
            await _settle(app, pilot)
            if screen.report.open_deals == 2:
                break
        assert screen.report.open_deals == 2
        assert str(screen.query_one("#mx-tile-open", Static).content).splitlines() == ["2", "$21,000"]


async def test_only_mine_without_deals_says_so(db: Database, fixed_now: str) -> None:
    pid = _build(db)  # every deal is ann's; the user is "tester"
    app = Host(db, pid)
    async with app.run_test(size=(120, 40)) as pilot:
        await _settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, MetricsScreen)
        await pilot.press("o")
        await _settle(app, pilot)
        message = screen.query_one("#mx-message", Static)
        assert str(message.content) == "No deal in pipeline Sales is owned by 'tester'."
        assert screen.report is not None and screen.report.owner is None  # the last good figures stay


TILES = ("open", "weighted", "win", "size", "cycle", "velocity", "coverage")


def _wide_figures(db: Database) -> int:
    """Won: one deal of 149,162.50 created 02-01 and won 02-11 (10 days). Open: 2,000,000.25 in Lead at 100 %.

    Velocity = 1 open x 149,162.50 x 100 % / 10 days = 14,916.25 per day.
    """
    p = create_pipeline(db, "Wide", "Lead,Next")
    from tuikanban.services.pipelines import set_stage

    set_stage(db, "Wide", "Lead", probability=100)
    won = D.create_deal(db, "Wide", "W", user=U, value="149162.50", owner="ann", at="2026-02-01").id
    D.win_deal(db, won, user=U, at="2026-02-11")
    D.create_deal(db, "Wide", "O", user=U, value="2000000.25", owner="ann", at="2026-02-20")
    return p.id


@pytest.mark.parametrize(
    ("width", "per_row", "weighted"),
    [
        (80, 4, "$2,000,000.25"),  # 20 cells a tile: 16 inside the border and padding
        (120, 7, "$2,000,000.25"),  # 17 or 18 cells: 13 or 14 inside
        (112, 7, "$2M"),  # 16 cells: 12 inside, one too few for the full figure
        (50, 2, "$2,000,000.25"),  # 25 cells: 21 inside
    ],
)
async def test_tiles_never_cut_a_number(db: Database, fixed_now: str, width: int, per_row: int,
                                        weighted: str) -> None:
    app = Host(db, _wide_figures(db))
    async with app.run_test(size=(width, 40)) as pilot:
        await _settle(app, pilot)
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, MetricsScreen)
        assert screen.has_class(f"-tiles-{per_row}")
        tiles = [screen.query_one(f"#mx-tile-{key}", Static) for key in TILES]
        assert len({t.region.y for t in tiles}) == -(-7 // per_row)  # rows of `per_row` tiles
        firsts = {}
        for key, tile in zip(TILES, tiles, strict=True):
            first = str(tile.content).splitlines()[0]
            assert cell_len(first) <= tile.content_size.width, (key, first)  # whole, on one line
            firsts[key] = first
        # the full figure wherever it fits, else the compact one
        assert (firsts["size"], firsts["weighted"], firsts["velocity"]) == ("$149,162.50", weighted, "$14,916.25")


def test_the_longest_form_that_fits() -> None:
    forms = ["$2,000,000.25", "$2M"]
    assert longest_fitting(forms, 13) == "$2,000,000.25"
    assert longest_fitting(forms, 12) == "$2M"
    assert longest_fitting(forms, 2) == "$2M"  # nothing fits: the shortest
    assert longest_fitting(forms, 0) == "$2,000,000.25"  # not laid out yet


async def test_q_quits_the_app_and_escape_goes_back(db: Database, fixed_now: str) -> None:
    pid = _build(db)
    app = Host(db, pid)
    async with app.run_test(size=(120, 40)) as pilot:
        await _settle(app, pilot)
        assert isinstance(app.screen, MetricsScreen)
        assert app.return_code is None  # running
        await pilot.press("q")
        await pilot.pause()
        assert app.return_code == 0  # App.exit() was called: the app is closing
