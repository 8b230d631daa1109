"""Undo and redo of whatever the user just did (reorder, move, close, delete, edit), on real databases with the
clock fixed at 2026-03-02 12:00 UTC: WIP refusals and forcing, skipping what can never be undone, redo, and the
no-activity signal that an undo must not reset."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlmodel import col, select

from tuikanban.domain.errors import ValidationError, WipLimitError
from tuikanban.domain.undo import LoggedEvent, last_touch, reversed_ids
from tuikanban.services.aging import aging_report
from tuikanban.services.deals import (
    create_deal,
    edit_deal,
    get_deal,
    lose_deal,
    move_deal,
    reorder_deal,
    win_deal,
)
from tuikanban.services.lifecycle import delete_deal
from tuikanban.services.pipelines import archive_stage, create_pipeline, set_stage
from tuikanban.services.undo import redo_last, undo_last
from tuikanban.store.engine import Database
from tuikanban.store.tables import Deal, Event, Stay

pytestmark = pytest.mark.engines  # the tests that use a database run on SQLite and on PostgreSQL


def t(day: int, hour: int = 9) -> datetime:
    return datetime(2026, 3, day, hour, 0, tzinfo=UTC)


@pytest.fixture
def sales(db: Database, fixed_now: str) -> Database:
    create_pipeline(db, "Sales", "Lead,Qualified,Proposal")
    return db


def column(db: Database, stage: str) -> list[str]:
    """The titles of the open deals of a stage, top first (as the board shows them)."""
    with db.read() as s:
        rows = s.exec(select(Deal).where(Deal.status == "open").order_by(col(Deal.rank), col(Deal.id))).all()
        return [d.title for d in rows if get_deal(db, d.id or 0).stage_name == stage]


def kinds(db: Database, deal_id: int) -> list[str]:
    with db.read() as s:
        return [e.kind for e in s.exec(select(Event).where(Event.deal_id == deal_id).order_by(col(Event.id)))]


def open_stays(db: Database, deal_id: int) -> int:
    with db.read() as s:
        return len(s.exec(select(Stay).where(Stay.deal_id == deal_id, Stay.left_at == None)).all())  # noqa: E711


# -- reorder ----------------------------------------------------------------------------------------------------


def test_undo_after_a_reorder_puts_the_deal_back_and_redo_again(sales: Database) -> None:
    a = create_deal(sales, "Sales", "A", user="ann", at=t(1))
    create_deal(sales, "Sales", "B", user="ann", at=t(1))
    create_deal(sales, "Sales", "C", user="ann", at=t(1))
    assert column(sales, "Lead") == ["C", "B", "A"]  # each new deal goes on top
    assert reorder_deal(sales, a.id, -1, user="ann") is True
    assert column(sales, "Lead") == ["C", "A", "B"]
    assert undo_last(sales, "Sales", user="ann") == "Undid reordering 'A'; it is back in its place in Lead."
    assert column(sales, "Lead") == ["C", "B", "A"]
    assert redo_last(sales, "Sales", user="ann") == "Redid reordering 'A'."
    assert column(sales, "Lead") == ["C", "A", "B"]
    assert undo_last(sales, "Sales", user="ann").startswith("Undid reordering 'A'")
    assert column(sales, "Lead") == ["C", "B", "A"]
    assert kinds(sales, a.id) == ["create", "reorder", "undo", "redo", "undo"]


# -- edit -------------------------------------------------------------------------------------------------------


def test_undo_an_edit_of_value_close_owner_title_and_redo_it(sales: Database) -> None:
    d = create_deal(sales, "Sales", "Acme", user="ann", value="1000", close="2026-04-01", at=t(1))
    edit_deal(sales, d.id, {"value": "2500", "close": "2026-05-15", "owner": "bob", "title": "Acme EU"}, user="ann")
    assert undo_last(sales, "Sales", user="ann") == (
        "Undid the edit of 'Acme' (title, value, owner, expected close date).")  # the title it has again
    back = get_deal(sales, d.id)
    assert (back.title, back.value_minor, back.owner, back.expected_close) == ("Acme", 100_000, "ann", date(2026, 4, 1))
    assert back.version == 3  # create 1, edit 2, undo 3
    assert redo_last(sales, "Sales", user="ann").startswith("Redid the edit of 'Acme EU' (title, value, owner")
    again = get_deal(sales, d.id)
    assert (again.title, again.value_minor, again.owner, again.expected_close) == (
        "Acme EU", 250_000, "bob", date(2026, 5, 15))
    undo_last(sales, "Sales", user="ann")
    assert get_deal(sales, d.id).value_minor == 100_000


def test_notes_cannot_be_undone_but_the_rest_of_the_save_can(sales: Database) -> None:
    d = create_deal(sales, "Sales", "Acme", user="ann", value="1000", at=t(1))
    edit_deal(sales, d.id, {"value": "2000", "notes": "called"}, user="ann")
    assert undo_last(sales, "Sales", user="ann") == (
        "Undid the edit of 'Acme' (value); the notes cannot be undone (they are logged without their text).")
    assert (get_deal(sales, d.id).value_minor, get_deal(sales, d.id).notes) == (100_000, "called")
    # the notes are settled: the next undo does not stop at them
    with pytest.raises(ValidationError, match="nothing of yours to undo"):
        undo_last(sales, "Sales", user="ann")
    edit_deal(sales, d.id, {"notes": "only notes"}, user="ann")
    assert "cannot be undone (notes are logged without their text)" in undo_last(sales, "Sales", user="ann")


def test_someone_elses_later_edit_of_the_field_skips_the_undo_without_jamming(sales: Database) -> None:
    d = create_deal(sales, "Sales", "Acme", user="ann", value="1000", at=t(1))
    move_deal(sales, d.id, "Qualified", user="ann", at=t(2))
    edit_deal(sales, d.id, {"value": "2000"}, user="ann")
    edit_deal(sales, d.id, {"value": "3000"}, user="bob")
    assert undo_last(sales, "Sales", user="ann") == (
        "Your edit of 'Acme' cannot be undone (bob changed its value since); it was skipped, so the next undo "
        "reaches your earlier action.")
    assert get_deal(sales, d.id).value_minor == 300_000  # bob's value stays
    # the next undo reaches the move before it (an edit does not block undoing a move)
    assert undo_last(sales, "Sales", user="ann") == "Undid the move of 'Acme'; it is back in Lead."


# -- WIP limits -------------------------------------------------------------------------------------------------


def test_undo_of_a_close_into_a_full_stage_refuses_then_forces_with_a_reason(sales: Database) -> None:
    d = create_deal(sales, "Sales", "Closed", user="ann", at=t(1))
    win_deal(sales, d.id, user="ann", at=t(2))
    create_deal(sales, "Sales", "Filler", user="bob", at=t(2))
    set_stage(sales, "Sales", "Lead", wip_max=1)
    for _ in range(2):  # a WIP refusal leaves the action on top: the same refusal again
        with pytest.raises(WipLimitError, match=r"^Lead is at its WIP limit \(1/1\)$"):
            undo_last(sales, "Sales", user="ann")
    assert get_deal(sales, d.id).status == "won"
    with pytest.raises(ValidationError, match="needs a reason"):
        undo_last(sales, "Sales", user="ann", force_reason="  ")
    assert undo_last(sales, "Sales", user="ann", force_reason="customer came back") == (
        "Undid marking 'Closed' won; it is open again in Lead (WIP limit overridden).")
    assert get_deal(sales, d.id).status == "open"
    assert kinds(sales, d.id)[-2:] == ["wip_override", "undo"]
    with sales.read() as s:
        override = s.exec(select(Event).where(Event.kind == "wip_override")).one()
    assert (override.user, override.reason, override.at) == ("ann", "customer came back", t(2, 12))
    assert open_stays(sales, d.id) == 1


def test_undo_of_a_move_into_a_full_stage_refuses_then_forces(sales: Database) -> None:
    d = create_deal(sales, "Sales", "Mover", user="ann", at=t(1))
    move_deal(sales, d.id, "Qualified", user="ann", at=t(2))
    create_deal(sales, "Sales", "Filler", user="bob", at=t(2))
    set_stage(sales, "Sales", "Lead", wip_max=1)
    with pytest.raises(WipLimitError):
        undo_last(sales, "Sales", user="ann")
    assert get_deal(sales, d.id).stage_name == "Qualified"
    assert undo_last(sales, "Sales", user="ann", force_reason="mistake") == (
        "Undid the move of 'Mover'; it is back in Lead (WIP limit overridden).")
    assert get_deal(sales, d.id).stage_name == "Lead"


# -- skipping ---------------------------------------------------------------------------------------------------


def test_an_archived_stage_skips_the_undo_and_the_next_reaches_the_older_action(sales: Database) -> None:
    d = create_deal(sales, "Sales", "Acme", user="ann", value="1000", at=t(1))
    edit_deal(sales, d.id, {"value": "2000"}, user="ann", at=t(1, 10))
    move_deal(sales, d.id, "Qualified", user="ann", at=t(2))
    archive_stage(sales, "Sales", "Lead")
    assert undo_last(sales, "Sales", user="ann") == (
        "Your move of 'Acme' cannot be undone (its stage has been archived since); it was skipped, so the next undo "
        "reaches your earlier action.")
    assert get_deal(sales, d.id).stage_name == "Qualified"
    assert undo_last(sales, "Sales", user="ann") == "Undid the edit of 'Acme' (value)."
    assert get_deal(sales, d.id).value_minor == 100_000


def test_undo_of_lost_and_of_delete(sales: Database) -> None:
    d = create_deal(sales, "Sales", "Gone", user="ann", at=t(1))
    lose_deal(sales, d.id, "Price", user="ann", at=t(2))
    delete_deal(sales, d.id, user="ann")
    assert undo_last(sales, "Sales", user="ann") == "Undid deleting 'Gone'; it is lost again."
    assert undo_last(sales, "Sales", user="ann") == "Undid marking 'Gone' lost; it is open again in Lead."
    assert (get_deal(sales, d.id).status, get_deal(sales, d.id).lost_reason) == ("open", "")
    assert redo_last(sales, "Sales", user="ann") == "Redid marking 'Gone' lost."
    assert (get_deal(sales, d.id).status, get_deal(sales, d.id).lost_reason) == ("lost", "Price")
    assert redo_last(sales, "Sales", user="ann") == "Redid deleting 'Gone'."
    assert get_deal(sales, d.id).status == "deleted"


# -- redo -------------------------------------------------------------------------------------------------------


def test_redo_a_move_then_undo_it_again(sales: Database) -> None:
    d = create_deal(sales, "Sales", "Mover", user="ann", at=t(1))
    move_deal(sales, d.id, "Qualified", user="ann", at=t(2))
    undo_last(sales, "Sales", user="ann")
    assert redo_last(sales, "Sales", user="ann") == "Redid the move of 'Mover' to Qualified."
    # the redo is a move now: a new stay from the clock's time
    assert (get_deal(sales, d.id).stage_name, get_deal(sales, d.id).stage_entered_at) == ("Qualified", t(2, 12))
    with pytest.raises(ValidationError, match="nothing of yours to redo"):
        redo_last(sales, "Sales", user="ann")
    assert undo_last(sales, "Sales", user="ann") == "Undid the move of 'Mover'; it is back in Lead."
    assert (get_deal(sales, d.id).stage_name, get_deal(sales, d.id).stage_entered_at) == ("Lead", t(1))
    assert open_stays(sales, d.id) == 1


def test_redo_is_refused_after_a_new_action_and_skipped_after_someone_elses_change(sales: Database) -> None:
    d = create_deal(sales, "Sales", "Mover", user="ann", at=t(1))
    other = create_deal(sales, "Sales", "Other", user="ann", at=t(1))
    move_deal(sales, d.id, "Qualified", user="ann", at=t(2))
    undo_last(sales, "Sales", user="ann")
    move_deal(sales, other.id, "Proposal", user="ann", at=t(2))
    with pytest.raises(ValidationError, match="you changed something after your last undo"):
        redo_last(sales, "Sales", user="ann")
    undo_last(sales, "Sales", user="ann")  # undo the move of Other: its redo is possible again
    move_deal(sales, other.id, "Qualified", user="bob", at=t(2, 11))
    assert redo_last(sales, "Sales", user="ann") == (
        "Your undone move of 'Other' cannot be redone (bob moved it since); it was skipped, so the next redo "
        "reaches your earlier undo.")
    assert get_deal(sales, other.id).stage_name == "Qualified"


# -- the no-activity signal -------------------------------------------------------------------------------------


def _touch(db: Database, deal_id: int) -> tuple[float | None, bool]:
    item = next(i for i in aging_report(db, "Sales") if i.id == deal_id)
    return item.days_since_touch, "no_activity" in item.signals


def test_an_undo_does_not_reset_the_no_activity_signal(sales: Database) -> None:
    # created 2026-02-10 12:00; now is 2026-03-02 12:00: 20 days untouched, over the 10 stale days
    d = create_deal(sales, "Sales", "Quiet", user="ann", at="2026-02-10T12:00")
    create_deal(sales, "Sales", "Neighbour", user="ann", at="2026-02-10T12:00")
    assert _touch(sales, d.id) == (20.0, True)
    reorder_deal(sales, d.id, -1, user="ann")  # arranging the board is not customer activity
    assert _touch(sales, d.id) == (20.0, True)
    move_deal(sales, d.id, "Qualified", user="ann")  # a move is a touch: 0 days
    assert _touch(sales, d.id) == (0.0, False)
    undo_last(sales, "Sales", user="ann")  # the undone move is no touch, nor the undo itself
    assert _touch(sales, d.id) == (20.0, True)
    redo_last(sales, "Sales", user="ann")  # redone: the move counts again
    assert _touch(sales, d.id) == (0.0, False)


def test_reversed_ids_follow_chains_of_undo_and_redo() -> None:
    at = t(1)
    move = LoggedEvent(1, "move", at, None)
    undo = LoggedEvent(2, "undo", t(2), 1)
    redo = LoggedEvent(3, "redo", t(3), 2)
    undo_redo = LoggedEvent(4, "undo", t(4), 3)
    assert reversed_ids([move, undo]) == {1}
    assert reversed_ids([move, undo, redo]) == {2}  # the move stands again; the undo is cancelled
    assert reversed_ids([move, undo, redo, undo_redo]) == {1, 3}
    assert last_touch([LoggedEvent(0, "create", t(1, 8), None), move, undo, redo]) == at
    assert last_touch([LoggedEvent(0, "create", t(1, 8), None), move, undo]) == t(1, 8)


# -- the command line -------------------------------------------------------------------------------------------


def test_cli_undo_refuses_at_a_limit_forces_with_a_reason_and_redoes(cli, tmp_path, fixed_now: str) -> None:  # type: ignore[no-untyped-def]
    db = ["--db", str(tmp_path / "c.db"), "--user", "ann"]
    assert cli(*db, "pipeline", "create", "Sales", "--stages", "Lead,Qualified").code == 0
    assert cli(*db, "deal", "add", "Acme").code == 0
    assert cli(*db, "deal", "add", "Other").code == 0
    assert cli(*db, "deal", "move", "1", "Qualified").code == 0
    assert cli(*db, "stage", "set", "Lead", "--wip-max", "1").code == 0
    refused = cli(*db, "undo")
    assert (refused.code, refused.err.strip()) == (
        1, "Lead is at its WIP limit (1/1); add --force --reason TEXT to override it")
    forced = cli(*db, "undo", "--force", "--reason", "my mistake")
    assert (forced.code, forced.out.strip()) == (
        0, "Undid the move of 'Acme'; it is back in Lead (WIP limit overridden).")
    redone = cli(*db, "redo", "-p", "Sales")
    assert (redone.code, redone.out.strip()) == (0, "Redid the move of 'Acme' to Qualified.")
    nothing = cli(*db, "--user", "bob", "undo")
    assert (nothing.code, nothing.err.strip()) == (1, "There is nothing of yours to undo in this pipeline.")


def test_undoing_an_owner_change_respects_the_per_rep_limit(sales: Database) -> None:
    set_stage(sales, "Sales", "Lead", rep_wip_max=1)
    x = create_deal(sales, "Sales", "X", user="ann", at=t(1))
    edit_deal(sales, x.id, {"owner": "bob"}, user="ann")
    create_deal(sales, "Sales", "Y", user="ann", at=t(1))  # ann holds 1 of her 1 in Lead again
    with pytest.raises(WipLimitError, match=r"^Lead is at its per-rep WIP limit for ann \(1/1\)$"):
        undo_last(sales, "Sales", user="ann")
    assert get_deal(sales, x.id).owner == "bob"
    assert undo_last(sales, "Sales", user="ann", force_reason="covering") == (
        "Undid the edit of 'X' (owner) (WIP limit overridden).")
    assert get_deal(sales, x.id).owner == "ann"


def test_undo_an_edit_of_company_contact_and_deal_type(db: Database, fixed_now: str) -> None:
    from tuikanban.services.pipelines import add_type

    create_pipeline(db, "Sales", "Lead,Qualified")
    add_type(db, "Sales", "Renewal")
    d = create_deal(db, "Sales", "Acme", user="ann", company="Acme Ltd", contact="Jo", at=t(1))
    edit_deal(db, d.id, {"company": "Acme GmbH", "contact": "", "type": "Renewal"}, user="ann")
    assert get_deal(db, d.id).type_name == "Renewal"
    assert undo_last(db, "Sales", user="ann") == "Undid the edit of 'Acme' (company, contact, deal type)."
    back = get_deal(db, d.id)
    assert (back.company, back.contact, back.type_id) == ("Acme Ltd", "Jo", None)
