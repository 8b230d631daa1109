"""A move refused by a stage gate on the board: the gate dialog fills the missing fields and moves, or forces
with a reason (`gate_override`), or cancels."""

from __future__ import annotations

import pytest
from textual.widgets import Input

from board_helpers import press, settle
from engines import rows
from tuikanban.services import deals as D
from tuikanban.services.gates import set_gate
from tuikanban.services.pipelines import create_pipeline
from tuikanban.services.tasks import next_steps
from tuikanban.store.engine import Database
from tuikanban.ui.app import TuikanbanApp
from tuikanban.ui.dialogs.gate import GateScreen

pytestmark = pytest.mark.engines  # the tests that use a database run on SQLite and on PostgreSQL

U = "tester"


def _board(db: Database) -> int:
    create_pipeline(db, "Sales", "Lead,Proposal")
    set_gate(db, "Sales", "Proposal", require="value,close,next_step")
    return D.create_deal(db, "Sales", "Acme", user=U).id


def _type(app: TuikanbanApp, widget_id: str, text: str) -> None:
    app.screen.query_one(f"#{widget_id}", Input).value = text


async def test_fill_the_missing_fields_then_move(db: Database, fixed_now: str) -> None:
    deal = _board(db)
    app = TuikanbanApp(db, U, "Sales")
    async with app.run_test(size=(140, 45)) as pilot:
        await settle(pilot)
        await press(pilot, "L")
        assert isinstance(app.screen, GateScreen)
        assert [i.id for i in app.screen.query(Input)] == [
            "gate-value", "gate-close", "gate-next_step", "gate-next_step-due", "gate-reason"]
        await press(pilot, "ctrl+s")  # nothing typed: refused in the dialog
        assert isinstance(app.screen, GateScreen)
        _type(app, "gate-value", "2500")
        _type(app, "gate-close", "2026-04-30")
        _type(app, "gate-next_step", "Send the proposal")
        _type(app, "gate-next_step-due", "+3d")
        await press(pilot, "ctrl+s")
        assert app.screen is app.board_screen
    view = D.get_deal(db, deal)
    assert view.stage_name == "Proposal" and view.value_minor == 250000 and str(view.expected_close) == "2026-04-30"
    assert next_steps(db, [deal])[deal].text == "Send the proposal"


async def test_a_value_that_does_not_parse_brings_the_dialog_back_with_what_was_typed(
        db: Database, fixed_now: str) -> None:
    """The service refuses the value after the dialog closed: the dialog comes back with every field as typed and
    one sentence under them; nothing is saved and the deal has not moved until it is corrected."""
    deal = _board(db)
    app = TuikanbanApp(db, U, "Sales")
    async with app.run_test(size=(140, 45)) as pilot:
        await settle(pilot)
        await press(pilot, "L")
        _type(app, "gate-value", "twelve")
        _type(app, "gate-close", "2026-04-30")
        _type(app, "gate-next_step", "Send the proposal")
        _type(app, "gate-next_step-due", "+3d")
        await press(pilot, "ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, GateScreen)
        assert {i.id: i.value for i in app.screen.query(Input)} == {
            "gate-value": "twelve", "gate-close": "2026-04-30", "gate-next_step": "Send the proposal",
            "gate-next_step-due": "+3d", "gate-reason": ""}
        error = str(app.screen.query_one("#gate-error").render())
        assert "twelve" in error and error.count(".") >= 1
        assert D.get_deal(db, deal).stage_name == "Lead" and D.get_deal(db, deal).expected_close is None
        _type(app, "gate-value", "12,000")
        await press(pilot, "ctrl+s")
        await settle(pilot)
        assert app.screen is app.board_screen
    view = D.get_deal(db, deal)
    assert view.stage_name == "Proposal" and view.value_minor == 1_200_000


async def test_the_gate_refusing_again_asks_only_what_is_missing_now(db: Database, fixed_now: str) -> None:
    """Another rep makes the stage require the company while the dialog is open: what was typed is saved, the
    dialog comes back for the company alone, with the reason typed before still there, and then the deal moves."""
    deal = _board(db)
    app = TuikanbanApp(db, U, "Sales")
    async with app.run_test(size=(140, 45)) as pilot:
        await settle(pilot)
        await press(pilot, "L")
        _type(app, "gate-value", "2500")
        _type(app, "gate-close", "2026-04-30")
        _type(app, "gate-next_step", "Send the proposal")
        _type(app, "gate-next_step-due", "+3d")
        _type(app, "gate-reason", "just in case")
        set_gate(db, "Sales", "Proposal", require="value,close,next_step,company")  # another rep, meanwhile
        await press(pilot, "ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, GateScreen)
        assert {i.id: i.value for i in app.screen.query(Input)} == {"gate-company": "", "gate-reason": "just in case"}
        assert "company" in str(app.screen.query_one("#gate-prompt").render())
        view = D.get_deal(db, deal)
        assert view.stage_name == "Lead" and view.value_minor == 250000  # saved, not moved
        _type(app, "gate-company", "Acme Corp")
        await press(pilot, "ctrl+s")
        await settle(pilot)
        assert app.screen is app.board_screen
    view = D.get_deal(db, deal)
    assert view.stage_name == "Proposal" and view.company == "Acme Corp"
    assert next_steps(db, [deal])[deal].text == "Send the proposal"  # one task, not two


async def test_a_deal_closed_meanwhile_says_so_in_one_sentence_and_keeps_the_fields(
        db: Database, fixed_now: str) -> None:
    """Another rep wins the deal while the dialog is open: the fields typed are saved, the move is refused with
    one sentence that says so, and no dialog comes back (there is nothing to move)."""
    from test_board import record_notifications

    deal = _board(db)
    app = TuikanbanApp(db, U, "Sales")
    async with app.run_test(size=(140, 45)) as pilot:
        await settle(pilot)
        notes = record_notifications(app)
        await press(pilot, "L")
        _type(app, "gate-value", "2500")
        _type(app, "gate-close", "2026-04-30")
        _type(app, "gate-next_step", "Send the proposal")
        _type(app, "gate-next_step-due", "+3d")
        D.win_deal(db, deal, user="bob")  # another rep, meanwhile
        await press(pilot, "ctrl+s")
        await settle(pilot)
        assert app.screen is app.board_screen
        errors = [n for n, _title, severity in notes if severity == "error"]
        assert len(errors) == 1 and errors[0].endswith("The fields you filled in are saved.")
    view = D.get_deal(db, deal)
    assert view.status == "won" and view.value_minor == 250000 and str(view.expected_close) == "2026-04-30"


async def test_force_with_a_reason_logs_gate_override(db: Database, db_target: str, fixed_now: str) -> None:
    deal = _board(db)
    app = TuikanbanApp(db, U, "Sales")
    async with app.run_test(size=(140, 45)) as pilot:
        await settle(pilot)
        await press(pilot, "L")
        _type(app, "gate-reason", "CEO asked")
        await press(pilot, "ctrl+o")
        assert app.screen is app.board_screen
    assert D.get_deal(db, deal).stage_name == "Proposal"
    assert rows(db_target, "SELECT reason FROM event WHERE kind = 'gate_override'") == [("CEO asked",)]


async def test_cancel_leaves_the_deal(db: Database, fixed_now: str) -> None:
    deal = _board(db)
    app = TuikanbanApp(db, U, "Sales")
    async with app.run_test(size=(140, 45)) as pilot:
        await settle(pilot)
        await press(pilot, "L", "escape")
        assert app.screen is app.board_screen
    assert D.get_deal(db, deal).stage_name == "Lead"


async def test_reopen_through_a_gate_fills_the_value_first(db: Database, fixed_now: str) -> None:
    from tuikanban.ui.screens.closed import ClosedDealsScreen, StagePickScreen

    create_pipeline(db, "Sales", "Lead,Proposal")
    set_gate(db, "Sales", "Proposal", require="value,next_step")
    deal = D.create_deal(db, "Sales", "Acme", user=U).id
    D.lose_deal(db, deal, "Timing", user=U)
    app = TuikanbanApp(db, U, "Sales")
    async with app.run_test(size=(140, 45)) as pilot:
        await settle(pilot)
        await press(pilot, "c")
        assert isinstance(app.screen, ClosedDealsScreen)
        await press(pilot, "enter")
        assert isinstance(app.screen, StagePickScreen)
        await press(pilot, "down", "enter")  # from Lead (where it was lost) to Proposal: refused by the gate
        assert isinstance(app.screen, GateScreen)
        # a closed deal takes no task: only the value is asked for, the next step is left to forcing
        assert [i.id for i in app.screen.query(Input)] == ["gate-value", "gate-reason"]
        _type(app, "gate-value", "900")
        await press(pilot, "ctrl+s")  # the value is saved; the next step still stands in the way
        assert isinstance(app.screen, GateScreen)
        assert [i.id for i in app.screen.query(Input)] == ["gate-reason"]
        _type(app, "gate-reason", "next step booked on reopening")
        await press(pilot, "ctrl+o")
    view = D.get_deal(db, deal)
    assert (view.status, view.stage_name, view.value_minor) == ("open", "Proposal", 90000)


async def test_stage_editor_sets_the_required_fields_and_the_checklist(db: Database, fixed_now: str) -> None:
    from textual.app import App

    from tuikanban.services.gates import stage_gates
    from tuikanban.services.pipelines import list_stages
    from tuikanban.ui.jobs import lanes_of
    from tuikanban.ui.screens.stage_edit import StageEditScreen

    p = create_pipeline(db, "Sales", "Lead,Proposal")
    set_gate(db, "Sales", "Proposal", require="value", checklist="Budget confirmed")
    stage = next(s for s in list_stages(db, p.id) if s.name == "Proposal")

    class Host(App[None]):
        def on_mount(self) -> None:
            self.push_screen(StageEditScreen(db, p.id, stage))

    app = Host()
    async with app.run_test(size=(120, 45)) as pilot:
        for _ in range(100):
            await pilot.pause()
            if lanes_of(app).pending == 0 and app.screen.query_one("#se-require", Input).value:
                break
        assert app.screen.query_one("#se-require", Input).value == "value"  # read when the dialog opened
        assert app.screen.query_one("#se-checklist", Input).value == "Budget confirmed"
        _type(app, "se-require", "value, budget")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert "budget" in str(app.screen.query_one("#see-require").render())  # not a field: said, not saved
        _type(app, "se-require", "close, value")
        _type(app, "se-checklist", "Budget confirmed; Decision maker named")
        await pilot.press("ctrl+s")
        for _ in range(100):
            await pilot.pause()
            if not isinstance(app.screen, StageEditScreen):
                break
    gate = stage_gates(db, p.id)[stage.id]
    assert gate.requires == ("value", "close")
    assert gate.checklist == ("Budget confirmed", "Decision maker named")


async def test_deal_detail_ticks_the_checklist_of_the_current_stage(db: Database, fixed_now: str) -> None:
    from textual.app import App

    from tuikanban.services.gates import deal_gate
    from tuikanban.ui.jobs import lanes_of
    from tuikanban.ui.screens.deal_detail import DealDetailScreen
    from tuikanban.ui.widgets.checklist import Checklist

    create_pipeline(db, "Sales", "Lead,Proposal")
    set_gate(db, "Sales", "Proposal", checklist="Budget confirmed; Decision maker named")
    deal = D.create_deal(db, "Sales", "Acme", user=U, stage="Proposal").id
    results: list[bool | None] = []

    class Host(App[None]):
        def on_mount(self) -> None:
            self.push_screen(DealDetailScreen(db, deal, U), results.append)

    async def settled() -> None:
        for _ in range(200):
            await pilot.pause()
            if lanes_of(app).pending == 0:
                return

    app = Host()
    async with app.run_test(size=(130, 45)) as pilot:
        await settled()
        checklist = app.screen.query_one(Checklist)
        assert checklist.display and [str(checklist.get_option_at_index(i).prompt) for i in range(2)] == [
            "☐ Budget confirmed", "☐ Decision maker named"]
        checklist.focus()
        await pilot.press("down", "space")  # ticks "Decision maker named"
        await settled()
        assert str(checklist.get_option_at_index(1).prompt) == "☑ Decision maker named"
        await pilot.press("escape")
        await settled()
    assert deal_gate(db, deal).checklist == (("Budget confirmed", False), ("Decision maker named", True))
    assert results == [True]


async def test_stage_editor_keeps_a_gate_another_rep_set_while_it_was_open(db: Database, fixed_now: str) -> None:
    """Saving other settings of a stage writes its gate only when this rep changed the gate's fields: a gate or
    checklist another rep set meanwhile (or one still being read when the rep saves) is not written over."""
    from textual.app import App

    from tuikanban.services.gates import stage_gates
    from tuikanban.services.pipelines import list_stages
    from tuikanban.ui.jobs import lanes_of
    from tuikanban.ui.screens.stage_edit import StageEditScreen

    p = create_pipeline(db, "Sales", "Lead,Proposal")
    set_gate(db, "Sales", "Proposal", require="value", checklist="Budget confirmed")
    stage = next(s for s in list_stages(db, p.id) if s.name == "Proposal")

    class Host(App[None]):
        def on_mount(self) -> None:
            self.push_screen(StageEditScreen(db, p.id, stage))

    app = Host()
    async with app.run_test(size=(120, 45)) as pilot:
        for _ in range(100):
            await pilot.pause()
            if lanes_of(app).pending == 0 and app.screen.query_one("#se-require", Input).value:
                break
        assert app.screen.query_one("#se-require", Input).value == "value"
        # another rep sets the gate and the checklist while this form is open
        set_gate(db, "Sales", "Proposal", require="value,close", checklist="Budget confirmed; Legal ok")
        _type(app, "se-wip_max", "4")  # this rep changes only the WIP max
        await pilot.press("ctrl+s")
        for _ in range(100):
            await pilot.pause()
            if not isinstance(app.screen, StageEditScreen):
                break
        assert not isinstance(app.screen, StageEditScreen)
    gate = stage_gates(db, p.id)[stage.id]
    assert gate.requires == ("value", "close")
    assert gate.checklist == ("Budget confirmed", "Legal ok")
    assert next(s for s in list_stages(db, p.id) if s.name == "Proposal").wip_max == 4
