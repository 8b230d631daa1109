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


async def wait_until(pilot: Pilot[Any], done: Any, seconds: float = 10.0) -> None:
    """Let the app run until `done()` (a real wait: threads such as the file watch's and the feed's run meanwhile)."""
    for _ in range(int(seconds / 0.05)):
        if done():
            return
        await asyncio.sleep(0.05)
        await pilot.pause()
    assert done()


def gated_acme(db: Any, require: str, user: str) -> int:
    """Sales (Lead, Proposal), Proposal's gate requiring `require`, and 'Acme' in Lead: its id."""
    from tuikanban.services import deals
    from tuikanban.services.gates import set_gate
    from tuikanban.services.pipelines import create_pipeline

    create_pipeline(db, "Sales", "Lead,Proposal")
    set_gate(db, "Sales", "Proposal", require=require)
    return deals.create_deal(db, "Sales", "Acme", user=user).id


async def open_gate(pilot: Pilot[Any]) -> None:
    """Move the focused card on (`L`) into a gate that refuses it: the gate dialog is on screen."""
    from tuikanban.ui.dialogs.gate import GateScreen

    await settle(pilot)
    await press(pilot, "L")
    assert isinstance(pilot.app.screen, GateScreen)
