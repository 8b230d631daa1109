"""What the Today screen sends to the terminal around a dialog: nothing of its own while a dialog covers it and
nothing changed, only what changed when something did, and one whole frame when the dialog closes (before, a
dialog over Today drew the whole screen two or three times while open, 58-101 KB, and three times as it closed)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from textual.geometry import Region
from textual.widgets import Static

from board_helpers import press, settle
from test_board_repaint import record_updates
from tuikanban.services import deals as ds
from tuikanban.services import pipelines as ps
from tuikanban.store.engine import Database
from tuikanban.ui.app import TuikanbanApp
from tuikanban.ui.screens.today import TodayScreen

pytestmark = pytest.mark.engines

SIZE = (160, 45)


@pytest.fixture
def deals(db: Database, fixed_now: str) -> list[int]:
    ps.create_pipeline(db, "Sales", ["Lead", "Qualified", "Demo", "Proposal"])
    return [ds.create_deal(db, "Sales", name, user="tester", owner="tester").id for name in ("Acme", "Initech")]


async def today_open(pilot: Any) -> TodayScreen:
    """The board, then `t`, with the queue read and shown."""
    app = pilot.app
    await settle(pilot)
    await press(pilot, "t")
    today = app.screen
    assert isinstance(today, TodayScreen)
    for _ in range(100):
        await pilot.pause(0.02)
        if today.items and not today._reading:
            break
    await settle(pilot)
    await pilot.pause(0.2)
    assert today.items
    return today


async def quiet(pilot: Any, rounds: int = 5) -> None:
    for _ in range(rounds):
        await settle(pilot)
        await pilot.pause(0.05)


async def test_a_read_that_finds_the_same_queue_draws_nothing(db: Database, deals: list[int],
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    app = TuikanbanApp(db, "tester")
    async with app.run_test(size=SIZE) as pilot:
        today = await today_open(pilot)
        updates = record_updates(monkeypatch)
        for _ in range(3):  # what its poll does when anyone wrote to the database (here: nothing in the queue changed)
            today._read()
            await quiet(pilot, 2)
        assert not today._reading
        assert updates == []


async def test_under_a_dialog_today_sends_up_only_what_changed(db: Database, deals: list[int],
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    app = TuikanbanApp(db, "tester")
    async with app.run_test(size=SIZE) as pilot:
        today = await today_open(pilot)
        await press(pilot, "enter")  # the deal detail, over the dimmed Today screen
        assert app.screen is not today
        await quiet(pilot)
        await pilot.pause(0.3)
        await quiet(pilot)
        updates = record_updates(monkeypatch)
        for _ in range(3):  # its poll's reads, finding the same
            today._read()
            await quiet(pilot, 2)
        assert updates == []
        today.query_one("#today-title", Static).update("Today · a title that changed")  # a change under the dialog
        await quiet(pilot)
        for _ in range(3):  # and then more of what a covered screen does (its reads, the focus asked again)
            today._read()
            today.query_one("#today-list").refresh(Region(0, 0, 4, 1))  # (in the list's own cells)
            await quiet(pilot, 2)
        assert len(updates) == 4  # the change once, then the list's corner each time: not the screen whole again
        assert all(kind == "part" for kind, _cells in updates[1:]), updates


async def test_closing_a_dialog_over_today_draws_it_whole_once(db: Database, deals: list[int],
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    app = TuikanbanApp(db, "tester")
    async with app.run_test(size=SIZE) as pilot:
        today = await today_open(pilot)
        await press(pilot, "enter")
        await quiet(pilot)
        await pilot.pause(0.3)
        await quiet(pilot)
        updates = record_updates(monkeypatch)
        await press(pilot, "escape")
        assert app.screen is today
        await quiet(pilot)
        await asyncio.sleep(0.2)
        await quiet(pilot)
        assert [kind for kind, _cells in updates].count("whole") == 1
        assert "Acme" in "\n".join(strip.text for strip in app.screen._compositor.render_strips())
