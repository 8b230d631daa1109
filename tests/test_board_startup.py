"""Start-up (docs/PERFORMANCE.md, Start-up): what the first paint imports, and a key pressed while the database is
still opening (the ORM's import after the first paint) opening its screen at once."""

from __future__ import annotations

import contextlib
import importlib
import subprocess
import sys
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from textual import events
from textual.pilot import Pilot
from textual.widgets import Input, Static

from board_helpers import settle
from test_board import SIZE, sales  # noqa: F401
from tuikanban.domain.errors import DatabaseError, NotFoundError
from tuikanban.domain.targets import parse_target
from tuikanban.store import fastread
from tuikanban.store.engine import Database
from tuikanban.ui.app import TuikanbanApp
from tuikanban.ui.board.gateway import BoardGateway
from tuikanban.ui.board.state import BoardSession, BoardState, PendingDatabase
from tuikanban.ui.first_read import FirstRead, first_window

pytestmark = pytest.mark.engines  # the board's start on either engine

SRC = Path(__file__).resolve().parent.parent / "src"


def imported_after(code: str) -> set[str]:
    """The modules a fresh interpreter holds after running `code`."""
    run = subprocess.run([sys.executable, "-c", f"{code}\nimport sys\nprint('\\n'.join(sys.modules))"],
                         capture_output=True, text=True, check=True, env={"PYTHONPATH": str(SRC)})
    return set(run.stdout.split())


ORM = ("sqlalchemy", "sqlmodel", "pydantic")


def _warmed_modules() -> set[str]:
    from tuikanban.ui.board.warm import MODULES

    return set(MODULES)


@pytest.mark.parametrize(("code", "wanted", "unwanted"), [
    pytest.param(  # the first paint: the board itself, no dialog, no screen, no form field (the first frame has none),
        # nor what only the work after it needs: the change feed (and ctypes), the warm-up, the aging, task, bulk and
        # picker rules (docs/PERFORMANCE.md, Start-up), nor json (the commands' JSON output shares cli/common.py)
        "import tuikanban.cli, tuikanban.cli.board, tuikanban.ui.launch", lambda: {"tuikanban.ui.board.screen"},
        ("tuikanban.ui.dialogs", "tuikanban.ui.screens", "textual.widgets._text_area", "tuikanban.store.feed",
         "ctypes", "tuikanban.ui.board.warm", "importlib.resources", "tuikanban.domain.tasks",
         "tuikanban.domain.bulk", "tuikanban.domain.fuzzy", "tuikanban.domain.aging", "tuikanban.domain.metrics",
         "shlex", "json"),
        id="first-paint"),
    pytest.param(  # the screens the keys open, warmed after the first paint: every one imported (none failed)
        "from tuikanban.ui.board.warm import MODULES, warm_job\nwarm_job()", _warmed_modules, (), id="warmed-screens"),
])
def test_what_is_imported_without_the_orm(code: str, wanted: Any, unwanted: tuple[str, ...]) -> None:
    modules = imported_after(code)
    assert wanted() <= modules
    assert not [m for m in modules if m.split(".")[0] in ORM]
    assert not [m for m in modules if m.startswith(unwanted)]  # (none for an empty tuple)



# The dataclasses the first paint's modules build: each one's methods are compiled from text as it is imported (about
# a millisecond a class), so a value type the start needs is a NamedTuple or a dataclass of these, and a type only
# later work needs lives in a module the start does not import (docs/PERFORMANCE.md, Round 8).
FIRST_PAINT_DATACLASSES = {
    "BoardCard", "BoardData", "BoardModel", "BoardSession", "BoardSnapshot", "BoardState", "DealFilter", "DealTypeInfo",
    "DealView", "Keymap", "PipelineInfo", "SavedView", "Settings", "Signature", "Spec", "Stage", "StageInfo", "State",
    "Target", "_Named",
}


def test_the_first_paint_builds_only_the_dataclasses_it_needs() -> None:
    code = ("import dataclasses, sys\nimport tuikanban.cli, tuikanban.cli.board, tuikanban.ui.launch\n"
            "print(' '.join(sorted({v.__name__ for m in list(sys.modules.values())"
            " if m.__name__.startswith('tuikanban') for v in vars(m).values()"
            " if isinstance(v, type) and dataclasses.is_dataclass(v) and v.__module__.startswith('tuikanban')})))")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={"PYTHONPATH": str(SRC)})
    built = set(run.stdout.split())
    assert "DealView" in built  # (the board's own value types are found)
    assert built - FIRST_PAINT_DATACLASSES == set()  # neither a deal's history, a move's result nor the frame's parts

# -- the first read, on a thread while Textual is imported ---------------------------------------------------------

FIRST_READ_CODE = """
import sys, types
import tuikanban.ui.first_read as fr
started = []
start = fr.FirstRead.start
fr.FirstRead.start = lambda self: (started.append("textual" in sys.modules), start(self))[1]
got = {}
sys.modules["tuikanban.ui.launch"] = types.SimpleNamespace(run_board=lambda **kw: got.update(kw))
from tuikanban.cli.board import open_board
import tuikanban.cli.board as cb
from tuikanban.cli.common import State
cb.has_terminal = lambda: True
open_board(State(target=sys.argv[1], user="tester"))
first = got["first"].result()
print(started, "textual" in sys.modules, first.pipeline, first.window,
      sorted(c.title for c in first.read.board.cards))
"""


def test_the_first_read_starts_before_textual_is_imported(db_target: str, sales: dict[str, int],  # noqa: F811
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """`open_board` starts the first screen's read (ui/first_read.py) before Textual is imported, and hands it to
    `run_board` (here a stand-in, so nothing imports Textual at all)."""
    monkeypatch.setenv("LINES", "45")
    run = subprocess.run([sys.executable, "-c", FIRST_READ_CODE, db_target], capture_output=True, text=True,
                         check=True, env={"PYTHONPATH": str(SRC), "XDG_CONFIG_HOME": "/nonexistent", "LINES": "45"})
    started, textual, pipeline, window, titles = run.stdout.split(" ", 4)
    assert (started, textual, pipeline) == ("[False]", "False", "None")
    assert int(window) == first_window("tester") == 13  # (no terminal: 45 lines, normal cards)
    con = fastread.connect_target(parse_target(db_target))
    assert con is not None
    board = fastread.load_board(con, None).board
    con.close()
    assert board is not None
    assert titles.strip() == repr(sorted(c.title for c in board.cards))


async def test_the_read_made_before_the_app_is_the_board_the_gateway_reads(
        db: Database, db_target: str, sales: dict[str, int]) -> None:  # noqa: F811
    first = FirstRead(db_target, "tester", None).start().result()
    assert first.con is not None and first.read is not None
    gateway = BoardGateway(path=parse_target(db_target), user="tester", db=None, con=first.con, owns_db=True)
    handed = gateway.load(first.pipeline, BoardState(), window=first.window, read=first.read)
    again = gateway.load(first.pipeline, BoardState(), window=first.window)
    gateway.close()
    assert handed.model is not None and again.model is not None
    assert handed.model.by_id == again.model.by_id
    assert handed.read.board == again.read.board


@pytest.mark.parametrize("how", ["thread", "here"])
def test_a_first_read_of_a_missing_pipeline_raises_in_the_caller(db: Database, db_target: str,
                                                                  sales: dict[str, int], how: str) -> None:  # noqa: F811
    first = FirstRead(db_target, "tester", "Nope")
    if how == "thread":
        first.start()
    with pytest.raises(NotFoundError, match="There is no pipeline named 'Nope'"):
        first.result()
    assert first.con is None


def test_the_screens_opened_in_the_first_second_read_without_the_orm(db_target: str,
                                                                     sales: dict[str, int]) -> None:  # noqa: F811
    """The reads of the deal detail (and its checklist), the deal form and the settings, through the board's
    database while it still opens (`PendingDatabase`), in a fresh interpreter: filled, and no ORM imported."""
    code = f"""
from tuikanban.domain.targets import parse_target
from tuikanban.ui.board.state import BoardSession
from tuikanban.ui.screens.deal_detail import _read_detail
from tuikanban.ui.screens.deal_form import _read_form
from tuikanban.ui.widgets.checklist import read_checklist
from tuikanban.services import screen_reads
db = BoardSession(parse_target({db_target!r}), "tester").database()
assert _read_detail(db, {sales["initech"]}).deal.title == "Initech rollout"
assert read_checklist(db, {sales["initech"]}).stage == "Lead"
assert [s.name for s in _read_form(db, {sales["pipeline"]}, None).stages] == ["Lead", "Qualified", "Proposal"]
assert len(db.read_plain(lambda u: screen_reads.pipeline_settings(u, {sales["pipeline"]}))[1]) == 3
"""
    modules = imported_after(code)
    assert "tuikanban.services.screen_reads" in modules
    assert not [m for m in modules if m.split(".")[0] in ORM]


def test_the_orm_is_imported_a_module_at_a_time_stepping_aside_before_each(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """orm_job steps aside (runs the EARLY jobs waiting, pauses for a screen opening) before every module the
    import brings in, not only between the packages it names: `import sqlalchemy` alone was one long step."""
    from tuikanban.ui.board import warm

    package = tmp_path / "fakeorm"
    package.mkdir()
    (package / "__init__.py").write_text("from fakeorm import a, b\n")
    (package / "a.py").write_text("from fakeorm import c\n")
    (package / "b.py").write_text("")
    (package / "c.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))
    steps: list[set[str]] = []
    monkeypatch.setattr(warm, "step_aside", lambda: steps.append({m for m in sys.modules if m.startswith("fakeorm")}))
    monkeypatch.setattr(warm, "ORM_STEPS", ("fakeorm",))
    before = list(sys.meta_path)
    try:
        warm.orm_job()
        # the package's step, then one before each module: the package, a, c (which a imports), b
        assert steps == [set(), set(), {"fakeorm"}, {"fakeorm", "fakeorm.a"}, {"fakeorm", "fakeorm.a", "fakeorm.c"}]
        assert sys.meta_path == before  # (the finder is gone once the import is done)
    finally:
        for name in [m for m in sys.modules if m.startswith("fakeorm")]:
            del sys.modules[name]


def test_a_job_run_while_the_orm_imports_imports_its_modules_without_stepping_aside(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An EARLY job that runs in a step of the ORM's import (on its thread) and imports a module does not step
    aside again there: it would wait, holding that module's import lock, for the screen it is about to fill."""
    from tuikanban.ui.board import warm

    (tmp_path / "fakeorm2.py").write_text("")
    (tmp_path / "fakejob.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))
    steps: list[str] = []

    def step_aside() -> None:  # the first step runs a job that imports a module of its own
        steps.append("step")
        if "job done" not in steps and steps.count("step") == 1:
            importlib.import_module("fakejob")
            steps.append("job done")

    monkeypatch.setattr(warm, "step_aside", step_aside)
    monkeypatch.setattr(warm, "ORM_STEPS", ("fakeorm2",))
    try:
        warm.orm_job()
        assert steps == ["step", "job done", "step"]  # (import_stepping_aside's step, then the finder's)
    finally:
        for name in ("fakeorm2", "fakejob"):
            sys.modules.pop(name, None)


# -- the database while it opens ---------------------------------------------------------------------------------


def test_a_pending_database_refuses_a_plain_read_it_cannot_make_rather_than_wait(tmp_path: Path) -> None:
    """A plain read (jobs.EARLY: ahead of the opening on the lane) never waits for the opening, which would then
    never come: a file the driver connection cannot read is one sentence at once."""
    (tmp_path / "board.db").write_bytes(b"not a database")
    session = BoardSession(parse_target(str(tmp_path / "board.db")), "tester")
    pending = session.database()
    errors: list[BaseException] = []

    def read() -> None:
        try:
            pending.read_plain(lambda u: u.scalar("SELECT 1"))
        except DatabaseError as exc:
            errors.append(exc)

    lane = threading.Thread(target=read)
    lane.start()
    lane.join(10)
    assert not lane.is_alive()
    assert [str(e) for e in errors] == ["The board is still opening its database; try again in a moment."]


def test_a_pending_database_refuses_on_the_ui_thread_and_waits_on_a_lane() -> None:
    session = BoardSession(parse_target("/tmp/board.db"), "tester")
    pending = session.database()
    assert isinstance(pending, PendingDatabase)
    assert pending.target == session.target  # known at once
    with pytest.raises(DatabaseError, match="still opening"):
        pending.data_version()  # the thread that made it (the UI's) is never made to wait

    got: list[Any] = []
    lane = threading.Thread(target=lambda: got.append(pending.data_version()))
    lane.start()
    lane.join(0.2)
    assert lane.is_alive() and got == []  # a lane waits for the opening...
    session.opened(SimpleNamespace(readonly=False, data_version=lambda: 42))  # type: ignore[arg-type]
    lane.join(5)
    assert got == [42]  # ...and then gets the open database's answer
    assert pending.data_version() == 42  # on the UI thread too, once it is open
    assert session.database() is session.db


@pytest.mark.parametrize("how", ["failed", "closed"])
def test_a_lane_waiting_for_a_database_that_will_not_open_gets_a_sentence(how: str) -> None:
    session = BoardSession(parse_target("/tmp/board.db"), "tester")
    pending = session.database()
    errors: list[BaseException] = []

    def read() -> None:
        try:
            pending.data_version()
        except DatabaseError as exc:
            errors.append(exc)

    lane = threading.Thread(target=read)
    lane.start()
    if how == "failed":
        session.open_failed(DatabaseError("The database is locked."))
    else:
        session.closing()
    lane.join(5)
    assert not lane.is_alive()
    assert [str(e) for e in errors] == (["The database is locked."] if how == "failed"
                                        else ["The board closed before its database was open."])


# -- a key in the first second --------------------------------------------------------------------------------------


def fast_app(target: str) -> TuikanbanApp:
    """The app as `run_board` makes it: the first screen read with the driver, the database not open yet."""
    where = parse_target(target)
    con, pipeline = fastread.first_read(where, None, None)
    assert con is not None
    gateway = BoardGateway(path=where, user="tester", db=None, con=con, owns_db=True)
    initial = gateway.load(pipeline, BoardState(), window=8)
    return TuikanbanApp(None, "tester", pipeline, None, db_path=where, gateway=gateway, initial=initial)


def hold_the_writes_lane(app: TuikanbanApp) -> threading.Event:
    """Hold the writes lane (where the database opens, importing the ORM) until the event is set: the board is
    then painted and the database still opening, for as long as the test needs."""
    release = threading.Event()

    def held() -> None:
        release.wait(30)

    app.lanes.writes.submit(app, held, name="held")
    return release


@contextlib.asynccontextmanager
async def opening(db_target: str) -> AsyncIterator[tuple[TuikanbanApp, Pilot[Any], threading.Event]]:
    """The board painted, its database still opening (the writes lane held) until the test sets the event."""
    app = fast_app(db_target)
    release = hold_the_writes_lane(app)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            yield app, pilot, release
    finally:
        release.set()


def text_of(app: TuikanbanApp, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).render())


async def test_a_key_pressed_while_the_database_opens_opens_its_screen_at_once(
        db: Database, db_target: str, sales: dict[str, int]) -> None:  # noqa: F811
    from tuikanban.ui.screens.deal_detail import DealDetailScreen

    async with opening(db_target) as (app, pilot, release):
        board = app.board_screen
        await pilot.press("enter")  # the focused card: Initech rollout
        await pilot.pause()
        assert board.session.db is None  # still opening...
        assert isinstance(app.screen, DealDetailScreen)  # ...and the deal's screen is up
        assert text_of(app, "#history-title") == "History"  # (its read waits for the database)
        assert text_of(app, "#detail-title") == ""
        release.set()
        await settle(pilot)
        assert board.session.db is not None
        assert text_of(app, "#history-title").startswith("History (")  # read through the opened database
        assert text_of(app, "#detail-title") == "Initech rollout"

        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is board


async def test_the_metrics_key_while_the_database_opens_shows_the_figures_before_it_is_open(
        db: Database, db_target: str, sales: dict[str, int]) -> None:  # noqa: F811
    from tuikanban.ui.screens.metrics import MetricsScreen
    from tuikanban.ui.widgets.flow_charts import Chart

    async with opening(db_target) as (app, pilot, release):
        await pilot.press("m")  # its figures are read without the ORM, on a driver connection of their own
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, MetricsScreen)
        for _ in range(200):  # (the reads lane, by message)
            if screen.report is not None:
                break
            await pilot.pause(0.02)
        assert screen.report is not None
        assert app.board_screen.session.db is None  # still opening: the figures did not wait for it

        def shown(key: str) -> str:
            return str(screen.query_one(f"#fl-{key}", Chart).render())

        # the flow charts are read without the ORM too (services.flow_plain): drawn before the opening
        for _ in range(200):
            if shown("cfd") != "computing…":
                break
            await pilot.pause(0.02)
        assert app.board_screen.session.db is None
        assert "Lead" in shown("cfd") and "won" in shown("scatter")
        # the forecast's panels (the backtest, through the ORM) wait on the reads lane for the opening
        assert shown("learned") == "computing…"
        release.set()
        await settle(pilot)
        for _ in range(200):
            if shown("learned") != "computing…":
                break
            await pilot.pause(0.02)
        assert shown("learned") != "computing…"
    from tuikanban.services.metrics import compute_metrics

    assert screen.report == compute_metrics(db, screen.pipeline_id, seed=0)  # (the clock is fixed)


@pytest.mark.parametrize(("key", "screen_name"), [("p", "PipelineSwitcher"), ("t", "TodayScreen")])
async def test_the_switcher_and_today_open_at_once_while_the_database_opens(
        db: Database, db_target: str, sales: dict[str, int], key: str, screen_name: str) -> None:  # noqa: F811
    async with opening(db_target) as (app, pilot, release):
        await pilot.press(key)
        await pilot.pause()
        assert app.board_screen.session.db is None  # still opening...
        assert type(app.screen).__name__ == screen_name  # ...and the screen is up, its read waiting
        release.set()
        await settle(pilot)
        assert type(app.screen).__name__ == screen_name


async def test_the_aging_panel_opens_at_once_while_the_database_opens_and_fills_once_it_is_open(
        db: Database, db_target: str, sales: dict[str, int]) -> None:  # noqa: F811
    from tuikanban.ui.widgets.aging_panel import AgingPanel

    async with opening(db_target) as (app, pilot, release):
        board = app.board_screen
        await pilot.press("a")
        await pilot.pause()
        assert board.session.db is None
        assert isinstance(board.aging_panel, AgingPanel)  # mounted before the database is open
        assert board.aging.snapshot is None
        release.set()
        await settle(pilot)
        assert board.aging.snapshot is not None  # the aging read after the opening filled it
        assert board.aging.snapshot.pipeline_id == board.pipeline_id


async def test_the_garbage_collector_stays_off_until_the_imports_after_the_first_paint_are_done(
        db: Database, db_target: str, sales: dict[str, int], monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    import gc

    from tuikanban.ui import jobs
    from tuikanban.ui.board import warm

    warmed: list[str] = []
    monkeypatch.setattr(warm, "warm_job", lambda: warmed.append("warm"))
    app = fast_app(db_target)
    release = hold_the_writes_lane(app)
    gc.disable()  # as `tuikanban` does before importing the board (cli/board.py)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            assert not gc.isenabled()  # painted; the screens' and the ORM's imports still to come
            release.set()
            await settle(pilot)
            assert gc.isenabled() and gc.get_freeze_count() > 0  # on again, what start-up loaded frozen
            assert warmed == ["warm"]  # the screens were warmed once, by one job
            before = jobs.time.monotonic()
            await pilot.press("right")  # (a move: nothing to step aside for)
            assert jobs._last_screen < before
            await pilot.press("question_mark")
            assert jobs._last_screen >= before  # a screen opened: the imports after the paint step aside
    finally:
        release.set()
        gc.enable()
        gc.unfreeze()


KEYS_ON_THE_UI_THREAD = """
import asyncio, sys, threading
from tuikanban.domain.targets import parse_target
from tuikanban.store import fastread
from tuikanban.ui.app import TuikanbanApp
from tuikanban.ui.board.gateway import BoardGateway
from tuikanban.ui.board.state import BoardState
from tuikanban.ui.jobs import WARM, step_aside

on_ui = []
class Spy:
    def find_spec(self, name, path=None, target=None):
        ui = threading.current_thread() is threading.main_thread()
        if ui and name.split(".")[0] in ("sqlalchemy", "sqlmodel", "pydantic"):
            on_ui.append(name)
sys.meta_path.insert(0, Spy())

async def main():
    where = parse_target(sys.argv[1])
    con, pipeline = fastread.first_read(where, None, None)
    gateway = BoardGateway(path=where, user="tester", db=None, con=con, owns_db=True)
    app = TuikanbanApp(None, "tester", pipeline, None, db_path=where, gateway=gateway,
                       initial=gateway.load(pipeline, BoardState(), window=8))
    release = threading.Event()
    def held():  # the warm-up under way: the reads that need no ORM run ahead of it (jobs.EARLY)
        while not release.wait(0.01):
            step_aside()
    app.lanes.writes.submit(app, held, name="held", kind=WARM)
    async with app.run_test(size=(160, 45)) as pilot:
        await pilot.pause()
        for key in sys.argv[2:]:
            await pilot.press(key)
            await pilot.pause()
            for _ in range(500):  # (the detail's, the forms' and the settings' reads: handled on the UI thread)
                if getattr(app.screen, "detail", getattr(app.screen, "data", True)) is not None:
                    break
                await asyncio.sleep(0.01)
            print(key, type(app.screen).__name__ if key != "a" else type(app.board_screen.aging_panel).__name__)
            if key == "a":
                await pilot.press("escape")
            while app.screen is not app.board_screen:
                app.pop_screen()
            await pilot.pause()
        release.set()
    print("on the UI thread:", sorted(set(on_ui)))

asyncio.run(main())
"""


@pytest.mark.sqlite_only  # (a fresh interpreter opens the file; the engine makes no difference to the imports)
def test_no_key_pressed_while_the_database_opens_imports_the_orm_on_the_ui_thread(
        db: Database, db_target: str, sales: dict[str, int]) -> None:  # noqa: F811
    # (m, t and v last: their reads wait on the reads lane, importing the ORM's modules there, which is fine)
    keys = ["enter", "n", "e", "question_mark", "comma", "c", "a", "p", "m", "t", "v"]
    run = subprocess.run([sys.executable, "-c", KEYS_ON_THE_UI_THREAD, db_target, *keys], capture_output=True,
                         text=True, env={"PYTHONPATH": str(SRC), "TUIKANBAN_USER": "tester"}, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    lines = run.stdout.splitlines()
    assert [line.split()[1] for line in lines[:-1]] == [
        "DealDetailScreen", "DealFormScreen", "DealFormScreen", "HelpScreen", "PipelineSettingsScreen",
        "ClosedDealsScreen", "AgingPanel", "PipelineSwitcher", "MetricsScreen", "TodayScreen", "ReviewScreen"]
    assert lines[-1] == "on the UI thread: []"  # (the switcher read the starter stages through the ORM's module)


# -- what runs after the first paint --------------------------------------------------------------------------------


@pytest.mark.parametrize("big", [False, True])
async def test_the_today_queue_is_read_ahead_only_for_a_board_held_whole(
        db: Database, db_target: str, fixed_now: str, monkeypatch: pytest.MonkeyPatch, big: bool) -> None:
    from tuikanban.services import deals as ds
    from tuikanban.services import pipelines as ps
    from tuikanban.ui.board import gateway as board_gateway

    if big:  # (a dozen deals make a big pipeline: read a window at a time, as above 3,000 open deals)
        monkeypatch.setattr(board_gateway, "LAZY_ABOVE", 4)
        monkeypatch.setattr(board_gateway, "LAZY_WINDOW", 3)
    p = ps.create_pipeline(db, "Sales", ["Lead", "Qualified"])
    for i in range(12):
        ds.create_deal(db, p.id, f"Deal {i:02d}", user="tester", at=f"2026-02-{10 + i:02d}T09:30:00")
    app = fast_app(db_target)
    async with app.run_test(size=SIZE) as pilot:
        board = app.board_screen
        for _ in range(100):  # (read ahead once the database is open and the board repainted)
            await settle(pilot)
            if board.today_ahead is not None:
                break
        assert (board.gateway.window is not None) is big
        # the rep's queue (every open deal of theirs) read ahead, or left for `t` to read when its screen opens
        assert (board.today_ahead is None) is big


@pytest.mark.parametrize("theme", ["tuikanban-dark", "nord-pipeline"])
async def test_a_dark_theme_at_start_costs_no_second_pass_over_the_stylesheet(
        db: Database, sales: dict[str, int], monkeypatch: pytest.MonkeyPatch, theme: str) -> None:  # noqa: F811
    passes: list[str] = []
    refresh_css = TuikanbanApp.refresh_css

    def counted(app: TuikanbanApp, animate: bool = True) -> None:
        passes.append(app.theme)
        refresh_css(app, animate)

    monkeypatch.setattr(TuikanbanApp, "refresh_css", counted)
    app = TuikanbanApp(db, "tester", theme=theme)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.theme == theme and app.current_theme.name == theme
        assert f"-theme-{theme}" in app.classes and "-dark-mode" in app.classes
        # (the colours the board is painted in are the theme's: tests/test_theme_render.py, every bundled theme)
        assert passes == []  # (Textual's theme watcher would reparse the whole stylesheet once more)
        # the other theme files were registered after the first paint: the palette offers them all
        assert {"tuikanban-dark", "tuikanban-light", "nord-pipeline", "solarized-deal", "high-contrast"} <= set(
            app.available_themes)
        app.theme = "tuikanban-light"  # a theme chosen later goes through the watcher as ever
        await settle(pilot)
        assert passes == ["tuikanban-light"]
        assert "-theme-tuikanban-light" in app.classes and f"-theme-{theme}" not in app.classes


async def test_the_board_is_styled_once_at_start_and_again_when_shown_again(
        db: Database, db_target: str, sales: dict[str, int], monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    """Its widgets are styled as they are registered; the first `ScreenResume` does not match the whole stylesheet
    against them a second time (ui/styled_once.py). Resumed again, it is restyled as Textual does."""
    whole: list[str] = []
    update_styles = TuikanbanApp.update_styles

    def counted(app: TuikanbanApp, node: Any, animate: bool = True) -> None:
        if node is app.board_screen:
            whole.append(app.screen.id or "")
        update_styles(app, node, animate)

    monkeypatch.setattr(TuikanbanApp, "update_styles", counted)
    app = fast_app(db_target)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert whole == []  # (Textual's ScreenResume would restyle the whole board once more)
        # shown again (as after a dialog over the dimmed board closes): restyled as Textual does
        app.board_screen.post_message(events.ScreenResume())
        await settle(pilot)
        assert whole == ["board-screen"]


async def test_the_app_turns_the_garbage_collector_back_on_after_the_first_paint(
        db: Database, sales: dict[str, int]) -> None:  # noqa: F811
    import gc

    gc.disable()  # as `tuikanban` does before importing the board (cli/board.py)
    try:
        app = TuikanbanApp(db, "tester")
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            assert gc.isenabled()
    finally:
        gc.enable()


async def test_the_collectors_fallback_does_not_wake_a_board_that_opened_its_database(
        db: Database, sales: dict[str, int], monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    """The collector is on at the latest GC_AT_THE_LATEST_S after the board mounts; a board whose database opened
    turned it on then, and the fallback has nothing left to do: it never fires (it woke every idle board once,
    10 s after start). The delay is made short, and longer again when a busy machine opened the database only
    after it (the fallback then rightly came first, and says nothing)."""
    import gc
    import time

    from tuikanban.ui import app as app_module
    from tuikanban.ui.board import base

    turn_on = gc.enable
    for delay in (0.5, 2.0, 8.0):
        for module in (base, app_module):  # (wherever the fallback's delay is kept)
            monkeypatch.setattr(module, "GC_AT_THE_LATEST_S", delay, raising=False)
        enabled: list[float] = []
        monkeypatch.setattr(gc, "enable", lambda calls=enabled: calls.append(time.monotonic()) or turn_on())
        gc.disable()  # as `tuikanban` does before importing the board (cli/board.py)
        try:
            start = time.monotonic()  # the board mounts after this: its fallback is due after start + delay
            app = TuikanbanApp(db, "tester")
            async with app.run_test(size=SIZE) as pilot:
                await settle(pilot)
                opened = time.monotonic()
                assert gc.isenabled() and enabled  # by the opening
                if opened >= start + delay:
                    continue  # opened after the fallback's moment: try a longer delay
                assert len(enabled) == 1
                await pilot.pause(start + 2 * delay - time.monotonic())
                assert len(enabled) == 1  # nothing after the opening
                return
        finally:
            turn_on()
            gc.unfreeze()
    raise AssertionError("the database never opened before the collector's fallback was due")


async def test_the_collectors_fallback_turns_it_on_while_the_database_still_opens(
        db: Database, db_target: str, sales: dict[str, int], monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    import gc

    from tuikanban.ui.board import base

    monkeypatch.setattr(base, "GC_AT_THE_LATEST_S", 0.5)
    gc.disable()
    try:
        app = fast_app(db_target)
        release = hold_the_writes_lane(app)  # the opening waits behind it
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause(1.0)
            assert app.board_screen.session.db is None  # still opening
            assert gc.isenabled()  # at the latest
            release.set()
            await settle(pilot)
    finally:
        release.set()
        gc.enable()
        gc.unfreeze()


# -- a move in the first second -------------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def warming(db_target: str, monkeypatch: pytest.MonkeyPatch
                  ) -> AsyncIterator[tuple[TuikanbanApp, Pilot[Any], threading.Event]]:
    """The board painted and its warm-up (the screens' and the ORM's imports, then the opening) still under way,
    in steps, until the test sets the event."""
    from tuikanban.ui import jobs
    from tuikanban.ui.board import warm

    release = threading.Event()

    def slow_warm_up() -> None:
        while not release.wait(0.01):
            jobs.step_aside()

    monkeypatch.setattr(warm, "warm_job", slow_warm_up)
    app = fast_app(db_target)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            yield app, pilot, release
    finally:
        release.set()


async def until(pilot: Pilot[Any], done: Any) -> None:
    for _ in range(500):
        if done():
            return
        await pilot.pause(0.01)


async def test_a_move_while_the_database_warms_up_is_written_at_once_and_once(
        db: Database, db_target: str, sales: dict[str, int], monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    from tuikanban.services import deals as ds

    async with warming(db_target, monkeypatch) as (app, pilot, release):
        board = app.board_screen
        await pilot.press("L")  # the focused card, Initech rollout: Lead -> Qualified
        assert board.model is not None
        qualified = next(s.id for s in board.model.stages if s.name == "Qualified")
        await until(pilot, lambda: board.model.by_id[sales["initech"]].stage_id == qualified)  # type: ignore[union-attr]
        assert board.model.by_id[sales["initech"]].stage_id == qualified  # shown...
        assert ds.get_deal(db, sales["initech"]).stage_name == "Qualified"  # ...and written...
        assert board.session.db is None and board.gateway.db is None  # ...before the warm-up and the opening
        release.set()
        await settle(pilot)
        assert board.session.db is not None
        history = ds.deal_history(db, sales["initech"])
        moves = [(e.from_stage, e.to_stage) for e in history if e.kind == "move"]
        assert moves == [("Lead", "Qualified")]  # once
        await press_and_settle(pilot, "u")  # the undo record is the ORM path's: undone in place
        assert ds.get_deal(db, sales["initech"]).stage_name == "Lead"


async def test_the_screens_opened_while_the_database_warms_up_are_filled_at_once(
        db: Database, db_target: str, sales: dict[str, int], monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    """`enter`, `n` and `,` pressed before the warm-up's end (the ORM's import, the opening): each screen is filled
    by its read without the ORM, ahead of the warm-up (jobs.EARLY), before the database is open."""
    from tuikanban.ui.screens.deal_detail import DealDetailScreen
    from tuikanban.ui.screens.deal_form import DealFormScreen
    from tuikanban.ui.screens.settings import PipelineSettingsScreen
    from tuikanban.ui.widgets.checklist import Checklist

    async with warming(db_target, monkeypatch) as (app, pilot, release):
        board = app.board_screen
        await pilot.press("enter")  # the focused card: Initech rollout
        await until(pilot, lambda: text_of(app, "#history-title").startswith("History ("))
        assert isinstance(app.screen, DealDetailScreen) and board.session.db is None
        assert text_of(app, "#history-title") == "History (1)"
        assert text_of(app, "#detail-title") == "Initech rollout"
        checklist = app.screen.query_one(Checklist)
        await until(pilot, lambda: checklist.border_title is not None)
        assert str(checklist.border_title) == "Checklist of Lead" and board.session.db is None  # read too
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is board)

        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, DealFormScreen) and app.screen.data is not None)
        assert isinstance(app.screen, DealFormScreen) and app.screen.data is not None
        assert [st.name for st in app.screen.data.stages] == ["Lead", "Qualified", "Proposal"]
        assert app.screen.data.owners == ["alice", "bob", "carol"] and board.session.db is None
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is board)

        await pilot.press("comma")
        await until(pilot, lambda: isinstance(app.screen, PipelineSettingsScreen) and app.screen.data is not None)
        assert isinstance(app.screen, PipelineSettingsScreen) and app.screen.data is not None
        assert [r.stage.name for r in app.screen.data.stages] == ["Lead", "Qualified", "Proposal"]
        assert board.session.db is None  # all three before the warm-up's end
        release.set()
        await settle(pilot)
        assert board.session.db is not None


async def press_and_settle(pilot: Pilot[Any], key: str) -> None:
    await pilot.press(key)
    await settle(pilot)


async def test_a_move_while_the_database_warms_up_is_refused_at_the_wip_limit(
        db: Database, db_target: str, sales: dict[str, int], monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    from tuikanban.services import deals as ds
    from tuikanban.ui.dialogs.reason import ReasonScreen

    async with warming(db_target, monkeypatch) as (app, pilot, release):
        board = app.board_screen
        await pilot.press("right")  # Hooli expansion, in Qualified
        await pilot.press("L")  # Proposal holds 1 of 1
        # (pushed before it is mounted: wait for its field too, which under load comes a frame or two later)
        await until(pilot, lambda: isinstance(app.screen, ReasonScreen) and bool(app.screen.query("#reason-input")))
        assert isinstance(app.screen, ReasonScreen)
        assert board.session.db is None  # refused before the warm-up's end
        assert ds.get_deal(db, sales["hooli"]).stage_name == "Qualified"
        app.screen.query_one("#reason-input", Input).value = "Board approved it"
        await pilot.pause()
        app.screen.query_one("#reason-input", Input).focus()
        await pilot.press("enter")
        await until(pilot, lambda: ds.get_deal(db, sales["hooli"]).stage_name == "Proposal")
        assert board.session.db is None  # forced with its reason, still before the opening
        release.set()
        await settle(pilot)
        history = ds.deal_history(db, sales["hooli"])
        assert [e.reason for e in history if e.kind == "wip_override"] == ["Board approved it"]
        assert [e.to_stage for e in history if e.kind == "move"] == ["Proposal"]
