"""Pilot helpers shared by the board's tests: wait for the board's database jobs, press keys and wait."""

from __future__ import annotations

import asyncio
from typing import Any

from textual.pilot import Pilot

from tuikanban.ui.app import TuikanbanApp
from tuikanban.ui.jobs import lanes_of


async def settle(pilot: Pilot[Any], *, open_db: bool = True) -> None:
    """Wait until the board's database jobs (and its dialogs' jobs) are done and their results are shown."""
    app = pilot.app
    assert isinstance(app, TuikanbanApp)
    screen = app.board_screen
    for _ in range(400):
        await pilot.pause()
        workers_busy = any(not w.is_finished for w in app.workers) or lanes_of(app).pending > 0
        if not screen.busy and not workers_busy and (screen.db is not None or not open_db):
            await pilot.pause()
            if not screen.busy:
                return
        await asyncio.sleep(0.01)
    raise AssertionError("the board did not settle")


async def press(pilot: Pilot[Any], *keys: str) -> None:
    for key in keys:
        await pilot.press(key)
        await settle(pilot)
