"""Pilot tests of marks and bulk actions on the board (ui/board/marks.py), on the fixture of test_board.py:
Lead holds Initech rollout, Acme pilot (lane New) and Globex renewal (lane Renewal); Qualified holds Hooli
expansion; Proposal (WIP max 1) holds Umbrella deal."""

from __future__ import annotations

import pytest
from textual.widgets import Input

from board_helpers import press, settle
from test_board import SIZE, focused_title, new_app, record_notifications, sales, screen_text
from tuikanban.services import deals as ds
from tuikanban.store.engine import Database
from tuikanban.ui.board.card import MARKED
from tuikanban.ui.dialogs.reason import ReasonScreen

pytestmark = pytest.mark.engines  # the tests that use a database run on SQLite and on PostgreSQL

__all__ = ["sales"]  # the fixture


def stage_of(db: Database, deal_id: int) -> str:
    return ds.get_deal(db, deal_id).stage_name


async def test_mark_column_move_all_and_undo_the_batch(db: Database, sales: dict[str, int]) -> None:
    app = new_app(db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        notes = record_notifications(app)
        await press(pilot, "asterisk")  # every card Lead shows, in both lanes
        assert app.board_screen.marks == {sales["initech"], sales["acme"], sales["globex"]}
        assert screen_text(app).count(MARKED) == 3
        assert "3 marked" in app.board_screen.header.render().plain
        await press(pilot, "L")
        assert {stage_of(db, sales[k]) for k in ("initech", "acme", "globex")} == {"Qualified"}
        assert ("Moved: 3 deals. Press u to undo them all.", "", "information") in notes
        assert len(app.board_screen.marks) == 3  # still marked: L again moves them on
        await press(pilot, "u")
        assert {stage_of(db, sales[k]) for k in ("initech", "acme", "globex")} == {"Lead"}
        assert stage_of(db, sales["hooli"]) == "Qualified"
        assert any(n[0] == "Undid your bulk move of 3 deals." for n in notes)


async def test_space_marks_and_unmarks_and_esc_clears(db: Database, sales: dict[str, int]) -> None:
    app = new_app(db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert focused_title(app) == "Initech rollout"
        await press(pilot, "space", "down", "space")
        assert app.board_screen.marks == {sales["initech"], sales["acme"]}
        await press(pilot, "space")
        assert app.board_screen.marks == {sales["initech"]}
        await press(pilot, "asterisk", "asterisk")  # all marked, then all unmarked
        assert app.board_screen.marks == frozenset()
        await press(pilot, "space", "escape")
        assert app.board_screen.marks == frozenset()
        assert MARKED not in screen_text(app)


async def test_batch_past_a_wip_limit_is_refused_whole_then_forced(db: Database, sales: dict[str, int]) -> None:
    app = new_app(db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        notes = record_notifications(app)
        await press(pilot, "right", "space", "left", "space")  # Hooli (Qualified) and Initech (Lead)
        await press(pilot, "L")  # Hooli to Proposal (full: 1/1), Initech to Qualified
        assert ("Proposal is at its WIP limit (1/1).", "WIP limit", "warning") in notes  # one deal goes there
        assert isinstance(app.screen, ReasonScreen)
        await press(pilot, "escape")
        assert (stage_of(db, sales["hooli"]), stage_of(db, sales["initech"])) == ("Qualified", "Lead")
        assert app.board_screen.marks == {sales["hooli"], sales["initech"]}  # still marked
        await press(pilot, "L")
        app.screen.query_one("#reason-input", Input).value = "Quarter end"
        app.screen.query_one("#reason-input", Input).focus()
        await press(pilot, "enter")
        assert (stage_of(db, sales["hooli"]), stage_of(db, sales["initech"])) == ("Proposal", "Qualified")
        assert ("Moved: 2 deals (WIP limit overridden). Press u to undo them all.", "", "information") in notes


async def test_lost_asks_one_reason_for_all_and_owner_picks_a_known_rep(db: Database,
                                                                        sales: dict[str, int]) -> None:
    app = new_app(db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "space", "down", "space", "O")
        assert isinstance(app.screen, ReasonScreen)
        assert app.screen.choices == ["alice", "bob", "carol"]  # alice owns 2 deals, bob 2, carol 1
        await press(pilot, "down", "enter")  # bob
        assert {ds.get_deal(db, sales[k]).owner for k in ("initech", "acme")} == {"bob"}
        await press(pilot, "x")
        assert isinstance(app.screen, ReasonScreen)
        await press(pilot, "enter")  # the pipeline's first lost reason
        for key in ("initech", "acme"):
            deal = ds.get_deal(db, sales[key])
            assert (deal.status, deal.lost_reason) == ("lost", "Price")
        assert ds.get_deal(db, sales["globex"]).status == "open"
