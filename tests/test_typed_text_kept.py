"""Nothing typed is lost by a key: escape on the log bar with text asks first, and keys typed in the same burst as
`a` act in the aging panel it opens, never on the board."""

from __future__ import annotations

from typing import Any

import pytest
from textual import events
from textual.pilot import Pilot
from textual.widgets import DataTable, Input

from board_helpers import press, settle
from tuikanban.services import deals as ds
from tuikanban.services import pipelines as ps
from tuikanban.services.activities import list_activities
from tuikanban.store.engine import Database
from tuikanban.ui.app import TuikanbanApp
from tuikanban.ui.dialogs.confirm import ConfirmScreen
from tuikanban.ui.widgets.log_bar import LogBar

pytestmark = pytest.mark.engines  # the tests that use a database run on SQLite and on PostgreSQL

SIZE = (160, 45)


@pytest.fixture
def sales(db: Database, fixed_now: str) -> dict[str, int]:
    """Lead: Initech (top), Acme; Qualified: Hooli. Every deal 40 days old with no value: all in the aging list."""
    p = ps.create_pipeline(db, "Sales", ["Lead", "Qualified"])
    at = "2026-01-20T12:00:00Z"
    ids = {"acme": ds.create_deal(db, p.id, "Acme pilot", user="tester", stage="Lead", at=at).id,
           "initech": ds.create_deal(db, p.id, "Initech rollout", user="tester", stage="Lead", at=at).id,
           "hooli": ds.create_deal(db, p.id, "Hooli expansion", user="tester", stage="Qualified", at=at).id}
    ids["pipeline"] = p.id
    return ids


def burst(pilot: Pilot[Any], *keys: str) -> None:
    """Every key queued at once, as one read of a fast typist or a paste."""
    for key in keys:
        pilot.app.post_message(events.Key(key, " " if key == "space" else key if len(key) == 1 else None))


async def test_escape_on_the_log_bar_with_text_asks_before_discarding(db: Database, sales: dict[str, int]) -> None:
    app = TuikanbanApp(db, "tester", "Sales")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        board = app.board_screen
        await press(pilot, "C")
        for key in "Rang them":
            await pilot.press("space" if key == " " else key)
        await press(pilot, "escape")
        assert isinstance(app.screen, ConfirmScreen)  # asked, the text still there
        assert board.query_one(LogBar).query_one(Input).value == "Rang them"
        await press(pilot, "n")  # keep it: the bar stays, focused, with the text
        assert app.screen is board and board.query_one(LogBar).query_one(Input).has_focus
        await press(pilot, "space", "o", "k", "escape", "y")  # discard
        assert app.screen is board and not board.query(LogBar)
        await press(pilot, "C", "escape")  # nothing typed: closes at once, nothing asked
        assert app.screen is board and not board.query(LogBar)
    assert [a for d in ("acme", "initech") for a in list_activities(db, sales[d])] == []


async def test_keys_typed_in_the_same_burst_as_a_act_in_the_aging_panel(db: Database, sales: dict[str, int]) -> None:
    app = TuikanbanApp(db, "tester", "Sales")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        board = app.board_screen
        focused = board.view.focused_card
        assert focused is not None and focused.title == "Initech rollout"
        burst(pilot, "a", "j", "j")  # open the panel and go two rows down, in one read
        await settle(pilot)
        await pilot.pause(0.2)
        await settle(pilot)
        panel = board.aging_panel
        assert panel is not None
        table = panel.query_one(DataTable)
        assert table.has_focus and table.cursor_row == 2  # both j's moved the panel's cursor
        card = board.view.focused_card
        assert card is not None and card.title == "Initech rollout"  # the board's focus did not move
        await press(pilot, "a")  # again: closes, the board has the focus back
        assert board.aging_panel is None and board.view.has_focus
