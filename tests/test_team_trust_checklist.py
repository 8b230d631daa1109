"""Round 8, what a team tried: checklist ticks on one deal from two boards while a third rep moves it. A tick is
saved on the checklist of the stage the rep saw, or not at all. By hand, on Monday 2026-03-02 12:00 UTC."""

from __future__ import annotations

import pytest

from board_helpers import press, settle, wait_until
from tuikanban.domain.errors import StaleEditError
from tuikanban.services import deals as D
from tuikanban.services.gates import deal_gate, set_gate, tick
from tuikanban.services.pipelines import create_pipeline
from tuikanban.store.engine import Database
from tuikanban.ui.app import TuikanbanApp
from tuikanban.ui.screens.deal_detail import DealDetailScreen
from tuikanban.ui.widgets.checklist import Checklist

pytestmark = pytest.mark.engines  # the tests that use a database run on SQLite and on PostgreSQL

SIZE = (140, 45)


def two_checklists(db: Database) -> int:
    """Sales: Qualified and Proposal each with a 'Budget confirmed' item; 'Acme' in Qualified. Its id."""
    create_pipeline(db, "Sales", "Qualified,Proposal")
    set_gate(db, "Sales", "Qualified", checklist="Budget confirmed;Decision maker named")
    set_gate(db, "Sales", "Proposal", checklist="Budget confirmed;Legal review")
    return D.create_deal(db, "Sales", "Acme", user="ann").id


def test_a_tick_for_the_stage_the_deal_has_left_is_refused_and_ticks_nothing(db: Database, fixed_now: str) -> None:
    """ann ticks 'Budget confirmed' on Qualified's checklist just after bob moved the deal to Proposal: the tick
    went on Proposal's item of the same name, a box ann never saw. (With nothing of that name there: 'This stage
    has no exit-criteria checklist; set one with stage set', as if ann should configure one.)"""
    deal = two_checklists(db)
    D.move_deal(db, deal, "Proposal", user="bob")
    with pytest.raises(StaleEditError, match=r"^'Acme' is in Proposal now, not in Qualified, so nothing was ticked"):
        tick(db, deal, "Budget confirmed", user="ann", seen_stage="Qualified")
    assert deal_gate(db, deal).checklist == (("Budget confirmed", False), ("Legal review", False))
    assert tick(db, deal, "Budget confirmed", user="ann", seen_stage="Proposal") == ("Budget confirmed", True)


async def test_the_deal_detail_shows_the_checklist_of_the_stage_another_rep_moved_the_deal_to(
        db: Database, fixed_now: str) -> None:
    """The detail said 'Changed by bob; shown as it is now.' and showed Stage: Proposal, but still Qualified's
    checklist, whose space ticked Proposal's item (or was refused with a sentence about configuring one)."""
    deal = two_checklists(db)
    app = TuikanbanApp(db, "ann", "Sales")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "enter")
        assert isinstance(app.screen, DealDetailScreen)
        checklist = app.screen.query_one(Checklist)
        await wait_until(pilot, lambda: str(checklist.border_title) == "Checklist of Qualified")
        D.move_deal(db, deal, "Proposal", user="bob")
        await wait_until(pilot, lambda: str(checklist.border_title) == "Checklist of Proposal")
        assert [item for item, _ in checklist.items] == ["Budget confirmed", "Legal review"]
        await press(pilot, "space")
        await wait_until(pilot, lambda: checklist.items[0] == ("Budget confirmed", True))
    assert deal_gate(db, deal).checklist == (("Budget confirmed", True), ("Legal review", False))
