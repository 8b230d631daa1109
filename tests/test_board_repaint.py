"""Few bytes to the terminal, and other reps' changes applied deal by deal.

The board view repaints only the cells that changed (`ui/board/paint.py`): checked on the spans it computes and on
the regions a real board marks dirty after a key. Another process's commit is applied from the deals its events
name (`ui/board/live.py`), without reading the whole board again, unless the pipeline's configuration changed.
"""

from __future__ import annotations

import asyncio
import random
import threading
from typing import Any

import pytest
from rich.segment import Segment
from rich.style import Style
from textual.geometry import Region
from textual.strip import Strip
from textual.widget import Widget

from board_helpers import press, settle
from tuikanban.domain.targets import parse_target
from tuikanban.services import deals as ds
from tuikanban.services import lifecycle
from tuikanban.services import pipelines as ps
from tuikanban.store import fastread
from tuikanban.store.engine import Database, open_database
from tuikanban.ui.app import TuikanbanApp
from tuikanban.ui.board.gateway import BoardGateway
from tuikanban.ui.board.model import BoardModel
from tuikanban.ui.board.paint import changed_extent, changed_spans, compact
from tuikanban.ui.board.state import BoardState
from tuikanban.ui.presence import presence_of

pytestmark = pytest.mark.engines

SIZE = (160, 45)
RED, BLUE = Style(color="red"), Style(color="blue")


def strip(*parts: tuple[str, Style]) -> Strip:
    return Strip([Segment(text, style) for text, style in parts])


# -- the spans of cells that changed ------------------------------------------------------------------------------


def test_equal_lines_have_no_span() -> None:
    assert changed_spans(strip(("abc", RED), ("def", BLUE)), strip(("abc", RED), ("def", BLUE)), 6) == []


def test_one_changed_character_is_one_cell() -> None:
    assert changed_spans(strip(("abcdef", RED)), strip(("abXdef", RED)), 6) == [(2, 3)]


def test_a_style_change_alone_is_a_change() -> None:
    assert changed_spans(strip(("ab", RED), ("cd", BLUE)), strip(("ab", RED), ("cd", RED)), 4) == [(2, 4)]


def test_changes_far_apart_are_two_spans_and_close_ones_one() -> None:
    old = "a" * 30
    far = "X" + "a" * 20 + "X" + "a" * 8  # changes at 0 and 21: 20 equal cells between
    near = "X" + "a" * 3 + "X" + "a" * 25  # changes at 0 and 4: 3 equal cells between (sent anyway)
    assert changed_spans(strip((old, RED)), strip((far, RED)), 30) == [(0, 1), (21, 22)]
    assert changed_spans(strip((old, RED)), strip((near, RED)), 30) == [(0, 5)]


def test_a_wide_character_is_repainted_whole() -> None:
    # "a中b": a at 0, 中 over cells 1 and 2, b at 3; only 中's colour changes
    old = strip(("a", RED), ("中", RED), ("b", RED))
    new = strip(("a", RED), ("中", BLUE), ("b", RED))
    assert changed_spans(old, new, 4) == [(1, 3)]
    # a wide character replaced by two narrow ones
    assert changed_spans(strip(("a中b", RED)), strip(("axyb", RED)), 4) == [(1, 3)]


def test_the_extent_of_a_change_is_its_first_and_last_changed_cell() -> None:
    """`changed_extent` (what the repaint asks) finds, without a list of cells, what `changed_spans` finds."""
    assert changed_extent(strip(("abc", RED), ("def", BLUE)), strip(("abc", RED), ("def", BLUE)), 6) is None
    assert changed_extent(strip(("abcdef", RED)), strip(("abXdef", RED)), 6) == (2, 3)
    assert changed_extent(strip(("ab", RED), ("cd", BLUE)), strip(("ab", RED), ("cd", RED)), 4) == (2, 4)
    far = "X" + "a" * 20 + "X" + "a" * 8
    assert changed_extent(strip(("a" * 30, RED)), strip((far, RED)), 30) == (0, 22)
    # the same cells cut into other segments: no change
    assert changed_extent(strip(("ab", RED), ("cd", RED)), strip(("a", RED), ("bcd", RED)), 4) is None
    # a style change in the middle of a segment, the text the same
    assert changed_extent(strip(("abcdef", RED)), strip(("ab", RED), ("cd", BLUE), ("ef", RED)), 6) == (2, 4)
    # a shorter line: the cells only the longer has changed, up to the width
    assert changed_extent(strip(("abcdef", RED)), strip(("abc", RED)), 5) == (3, 5)
    # a wide character: cell by cell, never starting inside it
    assert changed_extent(strip(("a", RED), ("中", RED), ("b", RED)), strip(("a", RED), ("中", BLUE), ("b", RED)),
                          4) == (1, 3)


def test_the_extent_agrees_with_the_spans_on_random_lines() -> None:
    rng = random.Random(7)
    styles = [RED, BLUE, Style(color="red"), Style(bgcolor="red"), Style(bold=True), None]
    texts = [" ", "a", "ab ", "  ", "", "xyz", "◌", "中", "é"]

    def line() -> list[Segment]:
        return [Segment(rng.choice(texts), rng.choice(styles)) for _ in range(rng.randint(0, 7))]

    for _ in range(5000):
        old = line()
        new = list(old)
        for _ in range(rng.randint(1, 2)):
            if new and rng.random() < 0.7:
                new[rng.randrange(len(new))] = Segment(rng.choice(texts), rng.choice(styles))
            else:
                new.insert(rng.randint(0, len(new)), Segment(rng.choice(texts), rng.choice(styles)))
        width = rng.choice([4, 12, 30])
        spans = changed_spans(Strip(old), Strip(new), width)
        assert changed_extent(Strip(old), Strip(new), width) == ((spans[0][0], spans[-1][1]) if spans else None)


def test_compact_joins_what_looks_the_same_and_keeps_the_look() -> None:
    card = Style(color="white", bgcolor="grey11")
    edge = Style(color="grey11", bgcolor="grey11")  # a blank edge: its colour cannot show
    title = Style(color="white", bgcolor="grey11", bold=True)
    under = Style(color="white", bgcolor="grey11", underline=True)
    line = strip(("  ", card), (" ", edge), ("Acme", title), (" ", card), (" ", card), ("12d", RED))
    assert [(s.text, s.style) for s in compact(line)] == [("   Acme  ", title), ("12d", RED)]
    assert compact(line).cell_length == line.cell_length == 12
    # an underlined blank shows its line: it keeps its own style
    assert [(s.text, s.style) for s in compact(strip(("ab", card), ("  ", under)))] == [("ab", card), ("  ", under)]
    # another background shows: kept apart
    assert len(list(compact(strip(("ab", card), ("  ", Style(bgcolor="red")))))) == 2


# -- a real board ---------------------------------------------------------------------------------------------------


@pytest.fixture
def sales(db: Database, fixed_now: str) -> dict[str, int]:
    p = ps.create_pipeline(db, "Sales", ["Lead", "Qualified", "Proposal"])
    ids = {"pipeline": p.id}
    for title, stage in (("Acme pilot", "Lead"), ("Globex renewal", "Lead"), ("Initech rollout", "Lead"),
                         ("Hooli expansion", "Qualified"), ("Umbrella deal", "Proposal")):
        ids[title.split()[0].lower()] = ds.create_deal(db, p.id, title, user="tester", stage=stage, value="1000").id
    return ids


def record_repaints(monkeypatch: pytest.MonkeyPatch, app: TuikanbanApp) -> list[tuple[Region, ...]]:
    """The regions the board view marks dirty from now on; () is the whole view."""
    calls: list[tuple[Region, ...]] = []
    original = Widget.refresh

    def refresh(self: Widget, *regions: Region, **kw: Any) -> Any:
        if self is app.board_screen.view and kw.get("repaint", True):
            calls.append(regions)
        return original(self, *regions, **kw)

    monkeypatch.setattr(Widget, "refresh", refresh)
    return calls


def dirty_cells(calls: list[tuple[Region, ...]], app: TuikanbanApp) -> int:
    view = app.board_screen.view
    cells = 0
    for regions in calls:
        cells += sum(r.area for r in regions) if regions else view.size.area
    return cells


def drawn_is_current(app: TuikanbanApp) -> bool:
    """What the view keeps as drawn is what it would draw now from nothing (nothing stale left on the terminal, and
    nothing stale in the view's caches of card pieces and lines)."""
    view = app.board_screen.view
    drawn = [view.render_line(y) for y in range(view.size.height)]
    view._forget_drawing()
    return all(drawn[y] == view.finish_line(view.build_line(y)) for y in range(view.size.height))


def shown(app: TuikanbanApp) -> BoardModel:
    model = app.board_screen.model
    assert model is not None
    return model


def view_text(app: TuikanbanApp) -> str:
    view = app.board_screen.view
    return "\n".join(view.render_line(y).text for y in range(view.size.height))


async def test_a_focus_move_repaints_only_the_cells_that_changed(
    db: Database, sales: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    app = TuikanbanApp(db, "tester")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        calls = record_repaints(monkeypatch, app)
        await press(pilot, "right")
        assert calls and all(regions for regions in calls)  # never the whole view
        # two cards (3 lines each, a column wide at most) and the two stage headers and rules: far below the whole
        assert dirty_cells(calls, app) < app.board_screen.view.size.area // 5
        assert drawn_is_current(app)
        await press(pilot, "left", "shift+right", "down", "d", "s")
        assert drawn_is_current(app)


async def test_a_repaint_that_changes_nothing_marks_nothing(
    db: Database, sales: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    app = TuikanbanApp(db, "tester")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        calls = record_repaints(monkeypatch, app)
        header = app.board_screen.header
        header_repaints: list[int] = []
        original = header.refresh
        monkeypatch.setattr(header, "refresh", lambda *a, **kw: header_repaints.append(1) or original(*a, **kw))
        app.board_screen.view.tick()  # the minute tick, the same day: every badge reads the same
        app.board_screen.view.refresh()  # and any other repaint asked for with nothing new to show
        app.board_screen._update_header()  # the same totals again
        await settle(pilot)
        assert calls == []  # asked twice, not one cell marked dirty (so nothing is written to the terminal)
        assert header_repaints == []


async def test_another_reps_move_is_applied_without_reading_the_whole_board(
    db: Database, sales: dict[str, int], db_target: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = TuikanbanApp(db, "tester")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        loads: list[int] = []
        original = app.gateway.load
        monkeypatch.setattr(app.gateway, "load", lambda *a, **kw: loads.append(1) or original(*a, **kw))
        other = open_database(db_target)
        try:
            ds.move_deal(other, sales["hooli"], "Proposal", user="dana")
            ds.create_deal(other, sales["pipeline"], "Stark upgrade", user="dana", stage="Qualified", value="250")
        finally:
            other.close()
        model = app.board_screen.model
        assert model is not None
        lead, qualified, proposal = (s.id for s in model.stages)
        for _ in range(60):
            await asyncio.sleep(0.05)
            await pilot.pause()
            model = shown(app)
            if model.count(proposal) == 2 and model.count(qualified) == 1:
                break
        await settle(pilot)
        model = shown(app)
        assert loads == []
        assert (model.count(lead), model.count(qualified), model.count(proposal)) == (3, 1, 2)
        assert (model.value(qualified), model.value(proposal)) == (25_000, 200_000)  # minor units
        assert [c.title for c in model.stage_cards[proposal]] == ["Hooli expansion", "Umbrella deal"]
        assert "Stark upgrade" in view_text(app)
        assert drawn_is_current(app)


async def test_another_reps_reorder_snooze_and_close_are_applied(
    db: Database, sales: dict[str, int], db_target: str
) -> None:
    app = TuikanbanApp(db, "tester")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        model = app.board_screen.model
        assert model is not None
        lead = model.stages[0].id
        # newest on top: Initech, Globex, Acme
        assert [c.title for c in model.stage_cards[lead]] == ["Initech rollout", "Globex renewal", "Acme pilot"]
        other = open_database(db_target)
        try:
            ds.reorder_deal(other, sales["acme"], -1, user="dana")  # Acme goes above Globex
            lifecycle.snooze_deal(other, sales["initech"], "2026-04-01", user="dana")
            ds.win_deal(other, sales["umbrella"], user="dana")
        finally:
            other.close()
        for _ in range(60):
            await asyncio.sleep(0.05)
            await pilot.pause()
            model = shown(app)
            if [c.title for c in model.stage_cards[lead]] == ["Acme pilot", "Globex renewal"]:
                break
        await settle(pilot)
        model = shown(app)
        assert [c.title for c in model.stage_cards[lead]] == ["Acme pilot", "Globex renewal"]
        assert model.count(lead) == 3  # a snoozed deal still counts, like WIP limits count it
        assert model.count(model.stages[2].id) == 0
        text = view_text(app)
        assert "Initech rollout" not in text and "Umbrella deal" not in text
        assert drawn_is_current(app)


async def test_a_stage_renamed_by_another_rep_reads_the_whole_board(
    db: Database, sales: dict[str, int], db_target: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = TuikanbanApp(db, "tester")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        loads: list[int] = []
        original = app.gateway.load
        monkeypatch.setattr(app.gateway, "load", lambda *a, **kw: loads.append(1) or original(*a, **kw))
        other = open_database(db_target)
        try:
            ps.rename_stage(other, sales["pipeline"], "Qualified", "Discovery")
        finally:
            other.close()
        for _ in range(60):
            await asyncio.sleep(0.05)
            await pilot.pause()
            if "Discovery" in view_text(app):
                break
        await settle(pilot)
        assert "Discovery" in view_text(app)
        assert loads != []


async def test_a_move_right_after_start_goes_before_the_whole_read(
    db: Database, sales: dict[str, int], db_target: str
) -> None:
    """Started as `tuikanban` starts (the first screen read partially, before the database is opened for writing),
    a move pressed while the database opens is written before the rest of the board is read."""
    target = parse_target(db_target)
    con, pipeline = fastread.first_read(target, None, None)
    assert con is not None
    gateway = BoardGateway(path=target, user="tester", db=None, con=con, owns_db=True)
    initial = gateway.load(pipeline, BoardState(), window=1)  # one card per cell: partial
    assert initial.model is not None and initial.model.partial
    app = TuikanbanApp(None, "tester", pipeline, None, db_path=target, gateway=gateway, initial=initial)
    order: list[str] = []
    opening = threading.Event()
    open_job, move, load = gateway.open_job, gateway.move, gateway.load

    def slow_open() -> Any:
        opening.wait(5)  # the database library takes its time to import
        return open_job()

    def logged_move(*a: Any, **kw: Any) -> Any:
        order.append("move")
        return move(*a, **kw)

    def logged_load(*a: Any, **kw: Any) -> Any:
        order.append("whole read" if kw.get("window") is None else "partial read")
        return load(*a, **kw)

    gateway.open_job = slow_open  # type: ignore[method-assign]
    gateway.move = logged_move  # type: ignore[method-assign]
    gateway.load = logged_load  # type: ignore[method-assign]
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("shift+right")  # Initech rollout (newest on top of Lead) to Qualified
        opening.set()
        await settle(pilot)
        assert order[:2] == ["move", "whole read"]
        assert ds.get_deal(db, sales["initech"]).stage_name == "Qualified"
        model = shown(app)
        assert not model.partial and model.count(model.stages[0].id) == 2
        assert [c.title for c in model.stage_cards[model.stages[0].id]] == ["Globex renewal", "Acme pilot"]


async def test_closing_a_dialog_repaints_the_board_once(
    db: Database, sales: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The frame that draws the board back over the closed dialog is the only whole-screen repaint: Textual's layout
    passes after it removes the dialog's screen lay the board out again without asking for two more."""
    app = TuikanbanApp(db, "tester")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        board = app.board_screen
        before = view_text(app)
        await press(pilot, "enter")
        assert app.screen is not board  # the deal detail is open
        whole: list[dict[str, Any]] = []
        original = Widget.refresh

        def refresh(self: Widget, *regions: Region, **kw: Any) -> Any:
            if self is board and not regions and kw.get("repaint", True):
                whole.append(kw)
            return original(self, *regions, **kw)

        monkeypatch.setattr(Widget, "refresh", refresh)
        await press(pilot, "escape")
        await pilot.pause(0.2)
        assert app.screen is board
        assert whole and not [kw for kw in whole if kw.get("layout")]  # repaints for the dialog's removal: none
        assert view_text(app) == before and drawn_is_current(app)


def test_a_line_changed_on_its_right_is_written_from_the_change() -> None:
    """One widget's line of three runs where only the third changed (cells 8-12): the terminal gets the third run,
    not the line from the widget's edge; a wide character before the change is never cut."""
    from rich.console import Console
    from textual._compositor import ChopsUpdate

    from tuikanban.ui.textual_seam import write_from_span_start

    write_from_span_start()
    console = Console(color_system="truecolor", force_terminal=True, width=12)
    line = strip(("col1", RED), ("中中", BLUE), ("col3", RED))  # cells 0-3, 4-7 (two wide), 8-11
    written = ChopsUpdate([{0: line}], [(0, 8, 12)], [[12]]).render_segments(console)
    assert "col3" in written and "col1" not in written and "中" not in written
    assert "\x1b[1;9H" in written  # the cursor goes to the change's column (1-based 9), not the edge
    inside = ChopsUpdate([{0: line}], [(0, 5, 12)], [[12]]).render_segments(console)  # starts inside a wide char
    assert "中中" in inside and "col3" in inside and "col1" not in inside and "\x1b[1;5H" in inside


# -- whole frames: the start's Resize sends nothing again, a real resize lays out and repaints -----------------------


def record_updates(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """Every update the screens compose for the terminal from now on: ("whole", cells) or ("part", cells). A screen
    built ahead and drawn before its key (`render_ahead`, not the app's current screen) sends nothing to the terminal
    and is left out: when one happened to be drawn in the window of a test, the test counted a frame too many."""
    from textual._compositor import ChopsUpdate, Compositor, LayoutUpdate
    from textual._context import active_app

    updates: list[tuple[str, int]] = []
    original = Compositor.render_update

    def render_update(self: Compositor, *args: Any, **kw: Any) -> Any:
        update = original(self, *args, **kw)
        app = active_app.get(None)
        if app is not None and app.screen._compositor is not self:
            return update
        if isinstance(update, LayoutUpdate):
            updates.append(("whole", update.region.area))
        elif isinstance(update, ChopsUpdate):
            updates.append(("part", sum(x2 - x1 for _y, x1, x2 in update.spans)))
        return update

    monkeypatch.setattr(Compositor, "render_update", render_update)
    return updates


class Painted(Widget):
    """A widget that asks for a repaint while it mounts (as the board's widgets do), before the first frame."""

    DEFAULT_CSS = "Painted { width: 10; height: 2; }"

    def __init__(self) -> None:
        super().__init__()
        self.text = "same"

    def render(self) -> str:
        return self.text

    def on_mount(self) -> None:
        self.refresh()


async def test_the_first_whole_frame_is_not_sent_again(monkeypatch: pytest.MonkeyPatch) -> None:
    """A repaint asked before the first whole frame is done by that frame: nothing is written again after it (the
    start's Resize used to send it as a partial update of every cell). A repaint asked after it is written."""
    from textual.app import App, ComposeResult

    from tuikanban.ui.textual_seam import skip_repaints_drawn_by_whole_frames

    skip_repaints_drawn_by_whole_frames()
    updates = record_updates(monkeypatch)

    class Bare(App[None]):
        def compose(self) -> ComposeResult:
            yield Painted()

    app = Bare()
    async with app.run_test(size=(40, 10)) as pilot:
        await pilot.pause()
        await pilot.pause(0.1)
        assert updates and all(update == ("whole", 400) for update in updates)
        # (the widget's repaint asked while mounting was drawn by the first whole frame: no partial update after it)
        before = len(updates)
        widget = app.query_one(Painted)
        widget.text = "changed"
        widget.refresh()
        await pilot.pause(0.1)
        assert updates[before:] == [("part", 20)]  # a repaint asked after a whole frame: the whole widget, once


async def test_a_real_resize_lays_the_board_out_and_repaints_it(
    db: Database, sales: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    app = TuikanbanApp(db, "tester")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        updates = record_updates(monkeypatch)
        view = app.board_screen.view
        assert view.size == (160, 43)
        await pilot.resize_terminal(120, 40)
        await settle(pilot)
        await pilot.pause(0.1)
        assert ("whole", 120 * 40) in updates  # the new size drawn whole
        assert view.size.width == 120 and 30 < view.size.height < 40  # laid out again (less the header and footer)
        assert view.render_line(0).cell_length == 120
        assert drawn_is_current(app)


# -- a board under another screen ----------------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["m", "v", "enter"])  # metrics, review (full screens), the deal detail (a dialog)
async def test_a_covered_board_sends_no_frame_when_its_timers_fire(
    db: Database, sales: dict[str, int], key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Textual counts the screen under the top one as shown and, once it sent its regions up, marks it for a whole
    repaint again: every message the board handled (the file watch every 2 s, the heartbeat, the minute tick) drew
    the whole top screen once more (about 14 KB to a terminal every 2 s). Covered, the board sends nothing when
    nothing of it changed."""
    app = TuikanbanApp(db, "tester")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        board = app.board_screen
        await press(pilot, key)
        assert app.screen is not board
        await pilot.pause(0.3)
        await settle(pilot)
        updates = record_updates(monkeypatch)
        for _ in range(3):  # what the board's timers do: the minute tick, the heartbeat, the file watch's look
            board._tick()
            presence_of(board).heartbeat()
            if board.session.target.path is not None:
                board.files.tick()
            await settle(pilot)
            await pilot.pause(0.05)
        if key == "enter":  # over the dimmed board the dialog's own lines may change (who else is on the deal)
            assert [u for u in updates if u[0] == "whole"] == []
        else:
            assert updates == []


async def test_a_change_under_a_full_screen_is_drawn_once_the_board_is_back(
    db: Database, sales: dict[str, int], db_target: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another rep's move reaches the board's model while the review covers it: nothing is sent for the board
    then (it cannot be seen); back on the board, one whole frame shows it."""
    app = TuikanbanApp(db, "tester")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        board = app.board_screen
        await press(pilot, "v")
        await pilot.pause(0.3)
        await settle(pilot)
        updates = record_updates(monkeypatch)
        other = open_database(db_target)
        try:
            ds.move_deal(other, sales["hooli"], "Proposal", user="dana")
        finally:
            other.close()
        proposal = shown(app).stages[2].id
        for _ in range(60):
            await asyncio.sleep(0.05)
            await pilot.pause()
            if shown(app).count(proposal) == 2:
                break
        await settle(pilot)
        await pilot.pause(0.1)
        assert shown(app).count(proposal) == 2  # the board's model caught up
        # nothing was drawn for the board under the review: what was sent is at most the review's own line that
        # counts the changes since it opened ("1 change since you opened this, r to refresh")
        assert [u for u in updates if u[0] == "whole"] == [] and len(updates) <= 1
        assert all(cells <= SIZE[0] for _kind, cells in updates)
        await press(pilot, "escape")
        await pilot.pause(0.2)
        assert app.screen is board
        assert [kind for kind, _cells in updates].count("whole") == 1
        assert "Hooli expansion" in view_text(app) and drawn_is_current(app)
        lines = view_text(app).splitlines()
        assert any("Proposal" in line and "2" in line for line in lines[:3])  # the column's count, shown
