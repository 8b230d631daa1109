"""Round 7, what a team tried: nothing a rep typed or did is lost silently while other reps work on the same board.
By hand, on Monday 2026-03-02 12:00 UTC (the `fixed_now` clock)."""

from __future__ import annotations

import pytest
from textual.widgets import Input

from board_helpers import gated_acme, open_gate, press, settle
from tuikanban.services import deals as D
from tuikanban.services.gates import set_gate
from tuikanban.services.lifecycle import snooze_deal
from tuikanban.services.pipelines import create_pipeline
from tuikanban.store.engine import Database
from tuikanban.ui.app import TuikanbanApp
from tuikanban.ui.dialogs.confirm import ConfirmScreen

pytestmark = pytest.mark.engines  # the tests that use a database run on SQLite and on PostgreSQL

U = "ann"
SIZE = (140, 45)


def noted(app: TuikanbanApp, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every notification the app shows, in order."""
    said: list[str] = []
    notify = app.notify
    monkeypatch.setattr(app, "notify", lambda message, **kw: (said.append(str(message)), notify(message, **kw))[1])
    return said


@pytest.mark.parametrize("other", ["snoozed", "won", "deleted"])
async def test_a_delete_refused_because_another_rep_changed_the_deal_names_them(
        other: str, db: Database, fixed_now: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """bob changes the deal while ann's delete confirmation is open: the refusal said only 'Deal 1 was changed by
    someone else ... check it and try again'. It names bob and what he did, as the snooze dialog does."""
    create_pipeline(db, "Sales", "Lead,Proposal")
    deal = D.create_deal(db, "Sales", "Acme", user=U).id
    app = TuikanbanApp(db, U, "Sales")
    said = noted(app, monkeypatch)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "D")
        assert isinstance(app.screen, ConfirmScreen)
        if other == "snoozed":
            snooze_deal(db, deal, "2026-03-16", user="bob", reason="holiday")
        elif other == "won":
            D.win_deal(db, deal, user="bob")
        else:
            from tuikanban.services.lifecycle import delete_deal

            delete_deal(db, deal, user="bob")
        await press(pilot, "y")
        await settle(pilot)
    expected = {"snoozed": "'Acme' was snoozed by bob since you opened this (snoozed until 2026-03-16 now), so it "
                           "was not deleted.",
                "won": "'Acme' was moved to Won by bob since you opened this, so it was not deleted.",
                "deleted": "'Acme' was deleted by bob since you opened this; there is nothing more to delete."}
    assert expected[other] in said
    assert D.get_deal(db, deal).status == {"snoozed": "open", "won": "won", "deleted": "deleted"}[other]


@pytest.mark.parametrize("loosened", ["contact", "none"])
async def test_a_gate_loosened_while_its_dialog_is_open_lets_the_move_through(
        loosened: str, db: Database, fixed_now: str) -> None:
    """bob drops the company from Proposal's gate (or the whole gate) while ann's gate dialog asks for it: her save
    said 'Company is still empty.' for a field nothing requires any more. The dialog checks the gate again on save
    and moves the deal when nothing left empty is missing now; what she typed is saved."""
    deal = gated_acme(db, "company,contact", U)
    app = TuikanbanApp(db, U, "Sales")
    async with app.run_test(size=SIZE) as pilot:
        await open_gate(pilot)
        if loosened == "contact":
            app.screen.query_one("#gate-contact", Input).value = "Carl"
        set_gate(db, "Sales", "Proposal", require=loosened)
        await press(pilot, "ctrl+s")
        await settle(pilot)
        assert app.screen is app.board_screen
    view = D.get_deal(db, deal)
    assert view.stage_name == "Proposal" and view.company == ""
    assert view.contact == ("Carl" if loosened == "contact" else "")



async def test_the_review_says_how_many_changes_came_since_it_was_computed_and_r_refreshes(
        db: Database, fixed_now: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """bob moves a deal while ann's review is open: the review stayed as it was, and nothing said that it was
    behind. It stays the review she is going through (a fixed list) and says '1 change since you opened this, r to
    refresh'; r computes it again with bob's move, keeping her line."""
    import asyncio

    from textual.widgets import OptionList, Static

    from tuikanban.ui.screens import review as rv

    monkeypatch.setattr(rv, "POLL_SECONDS", 0.05, raising=False)  # (main had no poll)
    create_pipeline(db, "Sales", "Lead,Proposal,Negotiation")
    acme = D.create_deal(db, "Sales", "Acme", user=U, value="1000", at="2026-02-01").id
    beta = D.create_deal(db, "Sales", "Beta", user=U, value="500", at="2026-02-01").id
    D.move_deal(db, acme, "Proposal", user=U, at="2026-02-26")
    app = TuikanbanApp(db, U, "Sales")

    def status() -> str:
        return str(app.screen.query_one("#rv-status", Static).render())

    def rows() -> list[str]:
        ol = app.screen.query_one("#rv-list", OptionList)
        return [str(ol.get_option_at_index(i).prompt) for i in range(ol.option_count)]

    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "v")
        assert isinstance(app.screen, rv.ReviewScreen)
        assert any("Moved forward: 1" in r for r in rows())
        app.screen.query_one("#rv-list", OptionList).highlighted = 3
        D.move_deal(db, beta, "Proposal", user="bob")
        for _ in range(200):
            await asyncio.sleep(0.02)
            await pilot.pause()
            if "since you opened this" in status():
                break
        assert status() == "1 change since you opened this, r to refresh."
        assert any("Moved forward: 1" in r for r in rows())  # the review as computed, until r
        await press(pilot, "r")
        await settle(pilot)
        for _ in range(100):
            if any("Moved forward: 2" in r for r in rows()):
                break
            await asyncio.sleep(0.02)
            await pilot.pause()
        assert any("Moved forward: 2" in r for r in rows())
        assert "since you opened this" not in status()
        assert app.screen.query_one("#rv-list", OptionList).highlighted == 3


async def test_a_bulk_move_skips_a_marked_deal_another_rep_moved_before_the_board_showed_it(
        db: Database, fixed_now: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """ann marks Acme and Hooli in Lead and presses L; bob had moved Hooli to Qualified a moment before, and her
    board had not shown it yet (here: it hears no outside change at all). The bulk step moved each deal on from
    where it was stored, so Hooli went on to Proposal, two stages from where ann saw it. Now it stays, said."""
    from tuikanban.ui.board.live import LiveFeed

    monkeypatch.setattr(LiveFeed, "listen", lambda self, board: None)  # (the press comes before the feed)
    create_pipeline(db, "Sales", "Lead,Qualified,Proposal")
    acme = D.create_deal(db, "Sales", "Acme", user=U).id
    hooli = D.create_deal(db, "Sales", "Hooli", user=U).id
    app = TuikanbanApp(db, U, "Sales")
    said = noted(app, monkeypatch)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "*")  # every card of the column
        D.move_deal(db, hooli, "Qualified", user="bob")
        await press(pilot, "L")
        await settle(pilot)
    assert D.get_deal(db, acme).stage_name == "Qualified"
    assert D.get_deal(db, hooli).stage_name == "Qualified"  # where bob put it, not one on
    assert any("('Hooli' was moved to Qualified since you marked it)" in s for s in said), said


async def test_a_bulk_move_read_back_before_its_result_is_not_said_as_someone_elses(
        db: Database, fixed_now: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """ann marks Acme and Hooli (focused) in Lead and presses L. The board's feed read the move's own events before
    the bulk action's result came back, so the focus went with Hooli and the board said "'Hooli' was moved to
    Qualified by you elsewhere" about the move ann had just made. Here the catch-up is queued right before the
    result is handled, as the feed does when it wins that race."""
    from tuikanban.ui.board.marks import BoardMarks

    finished = BoardMarks._bulk_finished

    def feed_first(self: BoardMarks, result: object, action: object) -> None:
        self._check()  # (the feed's catch-up, queued on the writes lane before the reload the result asks for)
        finished(self, result, action)  # type: ignore[arg-type]

    monkeypatch.setattr(BoardMarks, "_bulk_finished", feed_first)
    create_pipeline(db, "Sales", "Lead,Qualified,Proposal")
    D.create_deal(db, "Sales", "Acme", user=U)
    hooli = D.create_deal(db, "Sales", "Hooli", user=U).id
    app = TuikanbanApp(db, U, "Sales")
    said = noted(app, monkeypatch)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        board = app.board_screen
        board.view.focus_deal = hooli
        board.view.model_changed(focus_deal=hooli)
        await press(pilot, "*", "L")
        await settle(pilot)
        assert board.view.focus_deal == hooli and board.view.focus_col == 1  # (the focus went with the card)
        assert board.writing == frozenset()  # (let go once the board read the action's result back)
    assert D.get_deal(db, hooli).stage_name == "Qualified"
    assert not [s for s in said if "elsewhere" in s or "press again" in s], said
    assert any(s.startswith("Moved: 2 deals.") for s in said), said
