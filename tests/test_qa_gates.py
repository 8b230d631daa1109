"""Stage gates from two boards: what a rep types in the gate dialog never overwrites a field another rep filled in
meanwhile (the edit is merged as the deal form's is)."""

from __future__ import annotations

from typing import Any

import pytest
from textual.widgets import Input

from board_helpers import press, settle
from tuikanban.services import deals as D
from tuikanban.services.gates import set_gate
from tuikanban.services.pipelines import create_pipeline
from tuikanban.store.engine import Database
from tuikanban.ui.app import TuikanbanApp
from tuikanban.ui.dialogs.gate import GateScreen

pytestmark = pytest.mark.engines  # the tests that use a database run on SQLite and on PostgreSQL

U = "tester"


def _board(db: Database) -> int:
    create_pipeline(db, "Sales", "Lead,Proposal")
    set_gate(db, "Sales", "Proposal", require="value,close")
    return D.create_deal(db, "Sales", "Acme", user=U).id


def _said(app: TuikanbanApp) -> list[str]:
    seen: list[str] = []
    original = app.notify

    def notify(message: str, **kwargs: Any) -> None:
        seen.append(message)
        original(message, **kwargs)

    app.notify = notify  # type: ignore[method-assign]
    return seen


async def test_a_value_another_rep_filled_in_meanwhile_is_not_overwritten(db: Database, fixed_now: str) -> None:
    deal = _board(db)
    app = TuikanbanApp(db, U, "Sales")
    said = _said(app)
    async with app.run_test(size=(140, 45)) as pilot:
        await settle(pilot)
        await press(pilot, "L")
        assert isinstance(app.screen, GateScreen)
        app.screen.query_one("#gate-value", Input).value = "7000"
        app.screen.query_one("#gate-close", Input).value = "2026-04-30"
        D.edit_deal(db, deal, {"value": "9000"}, user="bob")  # bob fills the value in from his board meanwhile
        await press(pilot, "ctrl+s")
        await settle(pilot)
        view = D.get_deal(db, deal)
        assert view.value_minor == 900_000, "bob's value was overwritten by the gate dialog"
        assert view.stage_name == "Lead" and view.expected_close is None  # nothing of the dialog saved, not moved
        assert any("bob changed the value of 'Acme' meanwhile" in text for text in said), said


async def test_fields_nobody_else_touched_are_saved_and_the_deal_moves(db: Database, fixed_now: str) -> None:
    deal = _board(db)
    app = TuikanbanApp(db, U, "Sales")
    async with app.run_test(size=(140, 45)) as pilot:
        await settle(pilot)
        await press(pilot, "L")
        assert isinstance(app.screen, GateScreen)
        app.screen.query_one("#gate-value", Input).value = "7000"
        app.screen.query_one("#gate-close", Input).value = "2026-04-30"
        D.edit_deal(db, deal, {"company": "Acme Corp"}, user="bob")  # another field: merged
        await press(pilot, "ctrl+s")
        await settle(pilot)
        view = D.get_deal(db, deal)
        assert (view.stage_name, view.value_minor, view.company) == ("Proposal", 700_000, "Acme Corp")
