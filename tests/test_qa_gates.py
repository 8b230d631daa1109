"""Stage gates from two boards: what a rep types in the gate dialog never overwrites a field another rep filled in
meanwhile (the edit is merged as the deal form's is)."""

from __future__ import annotations

from typing import Any

import pytest
from textual.widgets import Input

from board_helpers import press, settle
from test_board import record_notifications
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


@pytest.mark.parametrize(("bob", "after", "sentence"), [
    # bob fills the value in from his board meanwhile: nothing of the dialog is saved, the deal is not moved
    ({"value": "9000"}, ("Lead", 900_000, None, ""), "bob changed the value of 'Acme' meanwhile"),
    # bob changes another field: merged, the dialog's fields are saved and the deal moves
    ({"company": "Acme Corp"}, ("Proposal", 700_000, "2026-04-30", "Acme Corp"), None),
])
async def test_the_gate_dialog_merges_what_another_rep_filled_in_meanwhile(
        db: Database, fixed_now: str, bob: dict[str, str], after: tuple[Any, ...], sentence: str | None) -> None:
    deal = _board(db)
    app = TuikanbanApp(db, U, "Sales")
    said = record_notifications(app)
    async with app.run_test(size=(140, 45)) as pilot:
        await settle(pilot)
        await press(pilot, "L")
        assert isinstance(app.screen, GateScreen)
        app.screen.query_one("#gate-value", Input).value = "7000"
        app.screen.query_one("#gate-close", Input).value = "2026-04-30"
        D.edit_deal(db, deal, bob, user="bob")
        await press(pilot, "ctrl+s")
        await settle(pilot)
        view = D.get_deal(db, deal)
        close = str(view.expected_close) if view.expected_close is not None else None
        assert (view.stage_name, view.value_minor, close, view.company) == after
        if sentence is not None:
            assert any(sentence in text for text, *_ in said), said
