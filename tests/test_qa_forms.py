"""What a team met driving the board by hand: a form whose database went away for a moment (a PostgreSQL server
restarted, a file locked), and a form saved onto a deal someone else deleted or closed meanwhile."""

from __future__ import annotations

from typing import Any

import pytest
from textual.widgets import Input, Static

from board_helpers import press, settle
from test_board import record_notifications
from tuikanban.domain.errors import DatabaseError
from tuikanban.services import deals as ds
from tuikanban.services import lifecycle
from tuikanban.services import pipelines as ps
from tuikanban.store.engine import Database
from tuikanban.ui.app import TuikanbanApp
from tuikanban.ui.screens import deal_form
from tuikanban.ui.screens.deal_form import DealFormScreen

pytestmark = pytest.mark.engines  # the tests that use a database run on SQLite and on PostgreSQL

SIZE = (160, 45)
DOWN = "The PostgreSQL server for qa cannot be reached (is it running?); nothing was changed."


@pytest.fixture
def sales(db: Database, fixed_now: str) -> dict[str, int]:
    """Lead: Initech (top), Acme; Qualified: empty."""
    p = ps.create_pipeline(db, "Sales", ["Lead", "Qualified"])
    ids = {}
    for title in ("Acme rollout", "Initech rollout"):
        ids[title.split()[0].lower()] = ds.create_deal(db, p.id, title, user="other", value="10k", owner="tester").id
    return ids


def fail_reads(monkeypatch: pytest.MonkeyPatch, times: int) -> list[int]:
    """The form's read fails `times` times as an unreachable server does, then works again."""
    real = deal_form._read_form
    calls: list[int] = []

    def flaky(db: Database, pipeline_id: int, deal_id: int | None) -> Any:
        calls.append(1)
        if len(calls) <= times:
            raise DatabaseError(DOWN)
        return real(db, pipeline_id, deal_id)

    monkeypatch.setattr(deal_form, "_read_form", flaky)
    return calls


async def test_a_new_deal_form_stays_open_with_what_was_typed_while_the_server_is_down(
    db: Database, sales: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = fail_reads(monkeypatch, 1)
    app = TuikanbanApp(db, "tester")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("n", *"Stark deal")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, DealFormScreen), "the form closed itself when its read failed"
        assert form.query_one("#f-title", Input).value == "Stark deal"
        banner = str(form.query_one("#form-banner", Static).visual)
        assert DOWN in banner and "ctrl+s" in banner
        # keys typed now still land in the form, not on the board (d would switch the density, a the aging panel)
        await pilot.press(*" ad")
        await settle(pilot)
        assert app.screen is form and form.query_one("#f-title", Input).value == "Stark deal ad"
        # the server is back: ctrl+s reads the form again and saves
        await press(pilot, "ctrl+s")
        assert len(calls) == 2
        assert app.screen is not form
        titles = [d.title for d in ds.list_deals(db, "Sales")]
        assert "Stark deal ad" in titles


async def test_ctrl_s_while_the_server_is_still_down_keeps_the_form_and_says_so_once(
    db: Database, sales: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    fail_reads(monkeypatch, 2)
    app = TuikanbanApp(db, "tester")
    said = record_notifications(app)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("e")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, DealFormScreen)
        await press(pilot, "ctrl+s")
        assert app.screen is form
        assert DOWN in str(form.query_one("#form-banner", Static).visual)
        assert not any(DOWN in text for text, *_ in said)  # in the form's banner, not in a pile of toasts
        await press(pilot, "escape")
        assert app.screen is app.board_screen


@pytest.mark.parametrize("what", ["deleted", "won"])
async def test_an_edit_saved_onto_a_deal_another_rep_took_off_the_board_says_so(
    db: Database, sales: dict[str, int], what: str
) -> None:
    app = TuikanbanApp(db, "tester")
    said = record_notifications(app)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "e")  # Initech, the top card
        form = app.screen
        assert isinstance(form, DealFormScreen) and form.deal is not None and form.deal.title == "Initech rollout"
        value = form.query_one("#f-value", Input)
        value.value = "12000"
        if what == "deleted":
            lifecycle.delete_deal(db, sales["initech"], user="carol")
        else:
            ds.win_deal(db, sales["initech"], user="carol")
        await press(pilot, "ctrl+s")
        assert app.screen is app.board_screen
        did = "deleted it" if what == "deleted" else "marked it won"
        assert f"Saved your changes to 'Initech rollout', but carol {did} a moment ago, so it is no longer on the " \
               "board." in [text for text, *_ in said]
        assert ds.get_deal(db, sales["initech"]).value_minor == 1_200_000  # the edit is kept (as the CLI does)


async def test_an_edit_of_a_deal_still_open_says_nothing_more(db: Database, sales: dict[str, int]) -> None:
    app = TuikanbanApp(db, "tester")
    said = record_notifications(app)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "e")
        form = app.screen
        assert isinstance(form, DealFormScreen)
        form.query_one("#f-value", Input).value = "12000"
        ds.move_deal(db, sales["initech"], "Qualified", user="carol")
        await press(pilot, "ctrl+s")
        assert app.screen is app.board_screen
        assert not any("no longer on the board" in text for text, *_ in said)
        deal = ds.get_deal(db, sales["initech"])
        assert (deal.status, deal.value_minor) == ("open", 1_200_000)


async def test_the_same_sentence_said_again_while_on_screen_is_not_stacked(
    db: Database, sales: dict[str, int]
) -> None:
    app = TuikanbanApp(db, "tester")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        for _ in range(4):  # four keys pressed while the server is down
            app.notify(DOWN, severity="error", markup=False)
        app.notify("Another sentence.", markup=False)
        await settle(pilot)
        await pilot.pause(0.1)
        texts = [n.message for n in app._notifications]  # what the toast rack shows
        assert sum(DOWN in text for text in texts) == 1
        assert sum("Another sentence." in text for text in texts) == 1
