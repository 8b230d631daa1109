"""After a save the deal form cannot finish (an edit conflict, a move someone else made meanwhile), the fields the
rep did not touch show what is stored now (another rep's values), and the fields they typed keep what they typed;
saving again never writes the values the form first read over another rep's change."""

from __future__ import annotations

from typing import Any

import pytest
from textual.pilot import Pilot
from textual.screen import Screen
from textual.widgets import Input, Select, Static, TextArea

from test_screens import Host, press, settle
from tuikanban.services import deals as ds
from tuikanban.services import pipelines as ps
from tuikanban.store.engine import Database
from tuikanban.ui.screens.deal_form import DealFormScreen

pytestmark = pytest.mark.engines  # the tests that use a database run on SQLite and on PostgreSQL

SIZE = (120, 40)


async def set_input(pilot: Pilot[Any], selector: str, value: str) -> None:
    pilot.app.screen.query_one(selector, Input).value = value
    await pilot.pause()


@pytest.fixture
def sales(db: Database) -> int:
    return ps.create_pipeline(db, "Sales", ["Lead", "Qualified", "Proposal"], types=["New", "Renewal"]).id


def stage_id(db: Database, pipeline_id: int, name: str) -> int:
    return next(s.id for s in ps.list_stages(db, pipeline_id) if s.name == name)


def field(form: Screen[Any], name: str) -> str:
    return form.query_one(f"#f-{name}", Input).value


async def test_after_a_conflict_untouched_fields_show_what_is_stored_now(db: Database, sales: int) -> None:
    deal = ds.create_deal(db, sales, "Globex", user="alice", value="10k", company="Globex", contact="Ann",
                          notes="first call")
    app = Host(lambda: DealFormScreen(db, sales, "alice", deal_id=deal.id))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        form = app.screen
        assert isinstance(form, DealFormScreen)
        # meanwhile bob changes the value (alice changes it too), the contact, the type and the notes, and moves it
        ds.edit_deal(db, deal.id, {"value": "15k", "contact": "Bea", "type": "Renewal", "notes": "bob's notes"},
                     user="bob")
        ds.move_deal(db, deal.id, "Qualified", user="bob")
        await set_input(pilot, "#f-value", "12000")
        await set_input(pilot, "#f-title", "Globex expansion")
        await press(pilot, "ctrl+s")
        assert app.results == []  # the value: a conflict, nothing saved
        assert "bob saved: 15000" in form.query_one("#e-value", Static).render().plain
        # alice's fields keep what she typed; the ones she did not touch show bob's values, not what she first read
        assert (field(form, "value"), field(form, "title")) == ("12000", "Globex expansion")
        assert (field(form, "contact"), field(form, "company")) == ("Bea", "Globex")
        assert form.query_one("#f-notes", TextArea).text == "bob's notes"
        assert form.query_one("#f-type", Select).value == next(
            t.id for t in ps.list_types(db, sales) if t.name == "Renewal")
        assert form.query_one("#f-stage", Select).value == stage_id(db, sales, "Qualified")
        await press(pilot, "ctrl+o", "ctrl+s")  # keep her value, save again
        assert len(app.results) == 1
    after = ds.get_deal(db, deal.id)
    assert (after.title, after.value_minor, after.contact, after.notes, after.type_name, after.stage_name) == (
        "Globex expansion", 1_200_000, "Bea", "bob's notes", "Renewal", "Qualified")


async def test_after_a_move_made_meanwhile_saving_again_keeps_the_other_reps_values(
        db: Database, sales: int) -> None:
    deal = ds.create_deal(db, sales, "Initech", user="alice", company="Initech", owner="alice")
    app = Host(lambda: DealFormScreen(db, sales, "alice", deal_id=deal.id))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        form = app.screen
        assert isinstance(form, DealFormScreen)
        ds.edit_deal(db, deal.id, {"company": "Initech Ltd", "owner": "bob"}, user="bob")
        ds.move_deal(db, deal.id, "Qualified", user="bob")
        await set_input(pilot, "#f-title", "Initech rollout")
        form.query_one("#f-stage", Select).value = stage_id(db, sales, "Proposal")
        await press(pilot, "ctrl+s")
        assert app.results == []  # the title saved, the move refused: bob moved it
        assert "bob moved this deal to Qualified" in str(form.query_one("#form-banner", Static).render())
        assert (field(form, "title"), field(form, "company"), field(form, "owner")) == (
            "Initech rollout", "Initech Ltd", "bob")
        await press(pilot, "ctrl+s")  # alice saves again (her title is saved already)
        assert len(app.results) == 1
    after = ds.get_deal(db, deal.id)
    assert (after.title, after.company, after.owner, after.stage_name) == (
        "Initech rollout", "Initech Ltd", "bob", "Qualified")
