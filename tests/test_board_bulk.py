"""Pilot tests of marks and bulk actions on the board (ui/board/marks.py), on the fixture of test_board.py:
Lead holds Initech rollout, Acme pilot (lane New) and Globex renewal (lane Renewal); Qualified holds Hooli
expansion; Proposal (WIP max 1) holds Umbrella deal."""

from __future__ import annotations

from datetime import date

import pytest
from textual.widgets import Input

from board_helpers import press, settle
from test_board import SIZE, focused_title, new_app, record_notifications, sales, screen_text
from tuikanban.services import deals as ds
from tuikanban.services import pipelines as ps
from tuikanban.store.engine import Database
from tuikanban.ui.board.card import MARKED
from tuikanban.ui.dialogs.ask import AskScreen
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


async def test_snooze_and_delete_act_on_the_marked_set_and_u_undoes_each_batch(db: Database,
                                                                                sales: dict[str, int]) -> None:
    lead = [sales[k] for k in ("initech", "acme", "globex")]
    app = new_app(db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        notes = record_notifications(app)
        screen = app.board_screen
        await press(pilot, "asterisk", "z")  # Lead's three cards, one date for all
        assert isinstance(app.screen, AskScreen)
        for key in "bogus":
            await pilot.press(key)
        await press(pilot, "enter")
        assert isinstance(app.screen, AskScreen)  # refused in the dialog, which keeps the text
        assert "bogus" in str(app.screen.query_one("#ask-error").render())
        await press(pilot, *["backspace"] * 5, "f", "r", "i", "space", "t", "r", "a", "d", "e", "enter")
        await settle(pilot)
        assert {ds.get_deal(db, i).snoozed_until for i in lead} == {date(2026, 3, 6)}
        assert ("Snoozed until 2026-03-06: 3 deals. Press u to undo them all.", "", "information") in notes
        assert screen.marks == frozenset()  # they left the board, and their marks with them
        assert screen.model is not None and all(screen.model.locate(i) is None for i in lead)
        await press(pilot, "u")
        await settle(pilot)
        assert {ds.get_deal(db, i).snoozed_until for i in lead} == {None}
        assert any(n[0] == "Undid your bulk snooze of 3 deals." for n in notes)
        assert all(screen.model.locate(i) is not None for i in lead)
        await press(pilot, "left", "asterisk", "D")
        assert "Delete deals" in str(app.screen.query_one(".dialog").border_title)
        assert "3 marked deals" in str(app.screen.query_one("#confirm-message").render())
        await press(pilot, "y")
        await settle(pilot)
        assert {ds.get_deal(db, i).status for i in lead} == {"deleted"}
        assert ("Deleted: 3 deals. Press u to undo them all.", "", "information") in notes
        await press(pilot, "u")
        await settle(pilot)
        assert {ds.get_deal(db, i).status for i in lead} == {"open"}
        assert any(n[0] == "Undid your bulk delete of 3 deals." for n in notes)


async def test_twenty_marked_deals_meet_the_wip_limit_as_a_whole(db: Database, fixed_now: str) -> None:
    p = ps.create_pipeline(db, "Sales", ["Lead", "Qualified"])
    ps.set_stage(db, p.id, "Qualified", wip_max=8)
    for i in range(3):
        ds.create_deal(db, p.id, f"Early {i}", user="tester", stage="Qualified")
    lead = [ds.create_deal(db, p.id, f"Deal {i:02d}", user="tester").id for i in range(20)]
    app = new_app(db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        notes = record_notifications(app)
        await press(pilot, "asterisk")  # all 20, the ones below the screen too
        assert app.board_screen.marks == set(lead)
        await press(pilot, "L")  # 3 + 20 > 8: refused as a whole, nothing moves
        assert ("Qualified has room for 5 more deals (3/8); moving 20 at once is refused as a whole.", "WIP limit",
                "warning") in notes
        assert isinstance(app.screen, ReasonScreen)
        await press(pilot, "escape")
        assert {stage_of(db, i) for i in lead} == {"Lead"}
        await press(pilot, "asterisk")  # unmark all, then mark the first five
        await press(pilot, *["space", "down"] * 5, "L")  # 3 + 5 = 8 fits
        assert ("Moved: 5 deals. Press u to undo them all.", "", "information") in notes
        assert [stage_of(db, i) for i in lead].count("Qualified") == 5
        assert "8/8" in app.board_screen.view.render_line(0).text + app.board_screen.view.render_line(1).text
