"""Jump to a deal (`g`, `ctrl+f`) and move to stage (`>`), on the fixture of test_board.py (Lead: Initech rollout
above Acme pilot, Globex renewal; Qualified: Hooli expansion; Proposal, WIP max 1: Umbrella deal)."""

from __future__ import annotations

import pytest

from board_helpers import press, settle
from test_board import SIZE, focused_title, new_app, record_notifications, sales
from tuikanban.domain.fuzzy import Candidate, rank, score
from tuikanban.services import deals as ds
from tuikanban.services import pipelines as ps
from tuikanban.store.engine import Database
from tuikanban.ui.dialogs.picker import PickerScreen
from tuikanban.ui.dialogs.reason import ReasonScreen
from tuikanban.ui.screens.deal_detail import DealDetailScreen

pytestmark = pytest.mark.engines  # the tests that use a database run on SQLite and on PostgreSQL

__all__ = ["sales"]  # the fixture


def test_fuzzy_letters_in_order_word_starts_first_and_exact_id() -> None:
    assert score("acp", "Acme pilot") is not None
    assert score("pca", "Acme pilot") is None  # out of order
    items = [Candidate(1, "a", "Capacity planning"), Candidate(2, "b", "Acme pilot"), Candidate(12, "c", "Zeta")]
    assert [c.key for c in rank("ap", items)] == [2, 1]  # A(cme) p(ilot) start words; c(A)pacity does not
    assert [c.key for c in rank("#12", items)] == [12]
    assert [c.key for c in rank("", items)] == [1, 2, 12]  # nothing typed: all, in their order


async def test_jump_focuses_a_deal_switches_pipeline_and_opens_a_closed_one(db: Database,
                                                                            sales: dict[str, int]) -> None:
    other = ps.create_pipeline(db, "Partners", ["Talk", "Sign"])
    ds.create_deal(db, other.id, "Zeta reseller", user="tester")
    ds.win_deal(db, sales["hooli"], user="tester")
    app = new_app(db, "Sales")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "g")
        assert isinstance(app.screen, PickerScreen)
        await press(pilot, *"umbr", "enter")
        assert focused_title(app) == "Umbrella deal"
        await press(pilot, "ctrl+f", *"zeta", "enter")
        model = app.board_screen.model
        assert model is not None and model.data.pipeline.name == "Partners"
        assert focused_title(app) == "Zeta reseller"
        await press(pilot, "g", *"hooli", "enter")  # won: its detail opens
        assert isinstance(app.screen, DealDetailScreen)


async def test_move_to_stage_picks_by_name_and_offers_to_force(db: Database, sales: dict[str, int]) -> None:
    app = new_app(db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        notes = record_notifications(app)
        assert focused_title(app) == "Initech rollout"
        await press(pilot, "greater_than_sign")
        assert isinstance(app.screen, PickerScreen)
        assert [c.label for c in app.screen.shown] == ["Qualified  (1 open)", "Proposal  (1/1 open)"]
        await press(pilot, *"prop", "enter")
        assert ("Proposal is at its WIP limit (1/1).", "WIP limit", "warning") in notes
        assert isinstance(app.screen, ReasonScreen)
        await press(pilot, "escape", "greater_than_sign", *"qual", "enter")
        assert ds.get_deal(db, sales["initech"]).stage_name == "Qualified"
        await press(pilot, "u")  # one deal: an ordinary undo
        assert ds.get_deal(db, sales["initech"]).stage_name == "Lead"
