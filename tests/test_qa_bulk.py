"""A bulk action against another board's moves: the sentence asking to force the batch counts the deals it would
really act on (on the fixture of test_board.py: Lead holds Initech, Acme and Globex; Qualified holds Hooli)."""

from __future__ import annotations

import pytest

from board_helpers import press, settle
from test_board import SIZE, new_app, record_notifications, sales
from tuikanban.services import deals as ds
from tuikanban.services import pipelines as ps
from tuikanban.store.engine import Database
from tuikanban.ui.dialogs.reason import ReasonScreen

pytestmark = pytest.mark.engines  # the tests that use a database run on SQLite and on PostgreSQL

__all__ = ["sales"]  # the fixture


async def test_force_the_batch_counts_the_deals_left_after_another_rep_moved_one(
    db: Database, sales: dict[str, int]
) -> None:
    ps.set_stage(db, "Sales", "Qualified", wip_max=2)  # Hooli there: room for 1
    app = new_app(db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        record_notifications(app)
        await press(pilot, "asterisk")  # Initech, Acme, Globex
        assert len(app.board_screen.marks) == 3
        # bob takes one of them to the last stage meanwhile: L leaves it there
        ds.move_deal(db, sales["acme"], "Proposal", user="bob", force_reason="signed early")
        await settle(pilot)
        assert len(app.board_screen.marks) == 3
        await press(pilot, "L")
        dialog = app.screen
        assert isinstance(dialog, ReasonScreen)
        text = dialog.prompt
        assert "Qualified has room for 1 more deal (1/2); moving 2 at once is refused as a whole." in text
        assert "Give a reason for moving 2 deals past the limit" in text
        await press(pilot, *"qa push", "enter")
        assert {ds.get_deal(db, sales[k]).stage_name for k in ("initech", "globex")} == {"Qualified"}
