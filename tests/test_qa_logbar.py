"""The one-line log bar (C E M N): a line the service refuses is said where the rep can read it, beside what they
typed, on the board and in the deal's detail."""

from __future__ import annotations

import pytest
from textual.widgets import Label

from board_helpers import press, settle
from test_rep_day_board import SIZE, day
from tuikanban.store.engine import Database
from tuikanban.ui.app import TuikanbanApp
from tuikanban.ui.widgets.log_bar import LogBar

pytestmark = pytest.mark.engines  # the tests that use a database run on SQLite and on PostgreSQL

__all__ = ["day"]  # the fixture


async def test_a_refused_log_line_is_said_on_screen(db: Database, day: dict[str, int]) -> None:
    app = TuikanbanApp(db, "tester", "Sales")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "C")
        bar = app.board_screen.query_one(LogBar)
        for key in "Rang them >> bogus":
            await pilot.press("space" if key == " " else key)
        await press(pilot, "enter")
        await pilot.pause()
        error = bar.query_one("#log-error", Label)
        assert "bogus" in str(error.render())
        region = error.region
        assert region.width >= 20, f"the sentence has {region.width} columns on screen"
        assert region.right <= SIZE[0]
