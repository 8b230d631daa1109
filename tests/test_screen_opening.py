"""What a screen's opening does not do again: a second style pass on its first showing (`ui/styled_once.py`), and
a garbage collection before its first frame (`ui/gc_pause.py`). See docs/PERFORMANCE.md, Every screen opens at
once."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from typing import Any

import pytest
from textual.app import App
from textual.dom import DOMNode
from textual.pilot import Pilot

from board_helpers import settle
from tuikanban.services import deals as ds
from tuikanban.services import pipelines as ps
from tuikanban.store.engine import Database
from tuikanban.ui.app import TuikanbanApp
from tuikanban.ui.board.keys import help_sections
from tuikanban.ui.screens.deal_form import DealFormScreen
from tuikanban.ui.screens.help import HelpScreen

pytestmark = pytest.mark.engines  # the tests that use a database run on SQLite and on PostgreSQL

SIZE = (120, 40)


class Host(App[None]):
    def __init__(self, screen: Any) -> None:
        super().__init__()
        self.first = screen

    def on_mount(self) -> None:
        self.push_screen(self.first)


@pytest.fixture
def restyles(monkeypatch: pytest.MonkeyPatch) -> list[DOMNode]:
    """The nodes whose styles were refreshed as a whole (`update_node_styles`: a screen's resume asks for it)."""
    seen: list[DOMNode] = []
    original = DOMNode.update_node_styles

    def spy(self: DOMNode, animate: bool = True) -> None:
        seen.append(self)
        original(self, animate)

    monkeypatch.setattr(DOMNode, "update_node_styles", spy)
    return seen


@pytest.fixture
def sales(db: Database) -> int:
    p = ps.create_pipeline(db, "Sales", list(ps.STARTER_STAGES), types=["New business", "Renewal"])
    ds.create_deal(db, p.id, "Acme", user="alice", value="1200")
    return p.id


async def _forms_settled(pilot: Pilot[Any]) -> None:
    from tuikanban.ui.jobs import lanes_of

    for _ in range(200):
        await pilot.pause()
        if lanes_of(pilot.app).pending == 0:
            await pilot.pause()
            return
    raise AssertionError("the form's read did not finish")


async def test_a_dialog_is_styled_once_when_it_opens_and_looks_as_if_styled_twice(
        db: Database, sales: int, restyles: list[DOMNode]) -> None:
    form = DealFormScreen(db, sales, "alice")
    app = Host(form)
    async with app.run_test(size=SIZE) as pilot:
        await _forms_settled(pilot)
        assert app.screen is form
        assert form not in restyles  # Textual's ScreenResume would match the stylesheet against it all again
        for field in form.query("Input, TextArea"):
            field.cursor_blink = False  # (a blinking cursor would differ from one screenshot to the next)
        await pilot.pause()
        once = app.export_screenshot()
        form.update_node_styles(animate=False)  # the pass it skipped: nothing changes
        await pilot.pause()
        assert app.export_screenshot() == once


async def test_a_screen_shown_again_refreshes_its_styles(restyles: list[DOMNode]) -> None:
    first, second = HelpScreen(help_sections()), HelpScreen(help_sections(), title="Second")
    app = Host(first)
    app.install_screen(second, "second")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await app.push_screen("second")
        await pilot.pause()
        app.pop_screen()
        await pilot.pause()
        assert second not in restyles
        await app.push_screen("second")  # (installed: kept, so shown again)
        await pilot.pause()
        assert second in restyles


@pytest.fixture
def collector_on() -> Iterator[None]:
    was = gc.isenabled()
    gc.enable()
    yield
    if not was:
        gc.disable()


async def test_no_garbage_collection_until_a_screen_is_drawn(db: Database, sales: int, collector_on: None,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[bool] = []
    original = HelpScreen.compose

    def compose(self: HelpScreen) -> Any:
        seen.append(gc.isenabled())
        return original(self)

    monkeypatch.setattr(HelpScreen, "compose", compose)
    app = TuikanbanApp(db, "alice")
    # (each `?` composes its help at the key: no help built ahead in idle time, ui/spares.py, with the collector on)
    monkeypatch.setattr(app.spares, "want", lambda *args, **kwargs: None)
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        assert gc.isenabled()
        await pilot.press("question_mark")
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        assert seen == [False]  # off while it composed
        assert gc.isenabled()  # on again once it was drawn
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("question_mark")
        await settle(pilot)
        assert seen == [False, False] and gc.isenabled()


async def test_a_screen_opened_while_the_collector_is_off_leaves_it_off(db: Database, sales: int,
                                                                        collector_on: None) -> None:
    app = TuikanbanApp(db, "alice")
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        gc.disable()  # as in the first seconds of a start (cli.board): whoever turned it off turns it on
        await pilot.press("question_mark")
        await settle(pilot)
        await pilot.pause(0.05)
        assert isinstance(app.screen, HelpScreen)
        assert not gc.isenabled()
