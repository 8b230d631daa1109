"""Snoozed and deleted deals, archived and merged deal types (issue 14); the clock is fixed at Monday
2026-03-02 12:00 UTC unless a test moves it."""

from __future__ import annotations

import json
from datetime import date
from fractions import Fraction
from typing import Any

import pytest

from tuikanban.domain.errors import StaleEditError, ValidationError, WipLimitError
from tuikanban.services.aging import aging_report
from tuikanban.services.board import load_board
from tuikanban.services.deals import (
    create_deal,
    deal_history,
    edit_deal,
    get_deal,
    list_deals,
    lose_deal,
    move_deal,
    reopen_deal,
    undo_last,
    win_deal,
)
from tuikanban.services.dealtypes import merge_types, set_type_archived
from tuikanban.services.lifecycle import delete_deal, restore_deal, snooze_deal, wake_deal
from tuikanban.services.metrics import compute_metrics
from tuikanban.services.pipelines import create_pipeline, list_types, set_stage
from tuikanban.services.tasks import add_task
from tuikanban.services.today import today_queue
from tuikanban.services.undo import redo_last
from tuikanban.store import fastread
from tuikanban.store.engine import Database

pytestmark = pytest.mark.engines  # the tests that use a database run on SQLite and on PostgreSQL

FRIDAY = "2026-03-06T08:00:00+00:00"


@pytest.fixture
def sales(db: Database, fixed_now: str) -> Database:
    create_pipeline(db, "Sales", "Lead,Proposal", types=["New", "Renewal"])
    create_deal(db, "Sales", "Acme", user="ann", value="100", at="2026-02-01T12:00")  # 1
    create_deal(db, "Sales", "Globex", user="ann", value="200", at="2026-02-01T12:00")  # 2
    return db


def _fast_cards(db: Database, *, snoozed: bool = False) -> list[int]:
    con = fastread.connect_target(db.target)  # the board's first read, without the ORM, on either engine
    assert con is not None
    try:
        board = fastread.load_board(con, "Sales", snoozed=snoozed).board
        assert board is not None
        return [c.id for c in board.cards]
    finally:
        con.close()


# -- snooze ------------------------------------------------------------------------------------------------


def test_a_snoozed_deal_leaves_the_board_aging_and_today_until_its_date(
        sales: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    d = snooze_deal(sales, 1, "fri", user="ann", reason="Budget in April")
    assert d.snoozed_until is not None and d.snoozed_until.isoformat() == "2026-03-06"
    board = load_board(sales, "Sales")
    assert [c.id for c in board.cards] == [2]
    assert sum(board.counts.values()) == 2  # still open: it counts in the column totals and WIP
    assert sorted(c.id for c in load_board(sales, "Sales", snoozed=True).cards) == [1, 2]
    assert _fast_cards(sales) == [2] and sorted(_fast_cards(sales, snoozed=True)) == [1, 2]
    assert [i.id for i in aging_report(sales, "Sales")] == [2]
    assert {i.deal_id for i in today_queue(sales, owner="ann").items} == {2}
    assert compute_metrics(sales, "Sales").open_deals == 2  # snoozed deals count as open in metrics
    # Friday: back by itself, with nothing run in between
    monkeypatch.setenv("TUIKANBAN_NOW", FRIDAY)
    assert sorted(c.id for c in load_board(sales, "Sales").cards) == [1, 2]
    assert sorted(_fast_cards(sales)) == [1, 2]
    assert {i.id for i in aging_report(sales, "Sales")} == {1, 2}


def test_snooze_and_wake_are_logged(sales: Database) -> None:
    snooze_deal(sales, 1, "2026-03-20", user="ann", reason="Back from holiday")
    with pytest.raises(ValidationError, match="not later than"):
        snooze_deal(sales, 2, "today", user="ann")
    woken = wake_deal(sales, 1, user="bob")
    assert woken.snoozed_until is None
    assert sorted(c.id for c in load_board(sales, "Sales").cards) == [1, 2]
    events = [(e.kind, e.user, e.new_value, e.old_value, e.reason) for e in deal_history(sales, 1)][-2:]
    assert events == [("snoozed", "ann", "2026-03-20", None, "Back from holiday"),
                      ("woken", "bob", None, "2026-03-20", None)]
    with pytest.raises(ValidationError, match="is not snoozed"):
        wake_deal(sales, 1, user="ann")
    win_deal(sales, 2, user="ann")
    with pytest.raises(ValidationError, match="only open deals"):
        snooze_deal(sales, 2, "fri", user="ann")
    with pytest.raises(StaleEditError):
        snooze_deal(sales, 1, "fri", user="ann", expected_version=1)


def test_snooze_and_wake_are_undone_and_redone(sales: Database) -> None:
    snooze_deal(sales, 1, "fri", user="ann")
    assert undo_last(sales, "Sales", user="ann") == "Undid snoozing 'Acme'; it is on the board."
    assert get_deal(sales, 1).snoozed_until is None
    assert sorted(c.id for c in load_board(sales, "Sales").cards) == [1, 2]
    assert redo_last(sales, "Sales", user="ann") == "Redid snoozing 'Acme'; it is snoozed until 2026-03-06."
    assert [c.id for c in load_board(sales, "Sales").cards] == [2]
    # a second snooze undone gives back the first one's date, not the board
    snooze_deal(sales, 1, "2026-03-20", user="ann")
    assert undo_last(sales, "Sales", user="ann") == "Undid snoozing 'Acme'; it is snoozed until 2026-03-06."
    wake_deal(sales, 1, user="ann")
    assert undo_last(sales, "Sales", user="ann") == "Undid waking 'Acme'; it is snoozed until 2026-03-06."
    assert redo_last(sales, "Sales", user="ann") == "Redid waking 'Acme'; it is on the board."
    # each undo and redo logs the snooze date it found and the one it set
    assert [(e.kind, e.old_value, e.new_value) for e in deal_history(sales, 1)][-3:] == [
        ("woken", "2026-03-06", None), ("undo", None, "2026-03-06"), ("redo", "2026-03-06", None)]


def test_a_snooze_changed_by_someone_else_is_skipped_not_undone(sales: Database) -> None:
    snooze_deal(sales, 1, "fri", user="ann")
    snooze_deal(sales, 1, "2026-03-20", user="bob")
    assert undo_last(sales, "Sales", user="ann") == (
        "Your snoozing of 'Acme' cannot be undone (bob snoozed it since); it was skipped, so the next undo reaches "
        "your earlier action.")
    assert get_deal(sales, 1).snoozed_until == date(2026, 3, 20)
    snooze_deal(sales, 2, "fri", user="ann")
    assert undo_last(sales, "Sales", user="ann") == "Undid snoozing 'Globex'; it is on the board."
    snooze_deal(sales, 2, "fri", user="bob")  # bob snoozes it after ann's undo: ann's redo is skipped
    assert redo_last(sales, "Sales", user="ann") == (
        "Your undone snoozing of 'Globex' cannot be redone (bob snoozed it since); it was skipped, so the next redo "
        "reaches your earlier undo.")
    assert get_deal(sales, 2).snoozed_until == date(2026, 3, 6)


# -- delete and restore ------------------------------------------------------------------------------------


def test_a_deleted_deal_is_left_out_of_metrics_lists_aging_and_board(sales: Database) -> None:
    """Deals closed in the window: 2 won (Acme, Globex) and 1 lost (Typo): win rate 2 / 3. Delete the typo: 2 / 2.
    Typo also spent 2026-02-01 -> 02-11 (10 days) in Lead; Acme and Globex 02-01 -> 02-21 (20 days) in Lead.
    Lead's average days over stays ended in the window: (20 + 20 + 10) / 3 = 16.67; without the typo 20."""
    typo = create_deal(sales, "Sales", "Typo", user="ann", value="999", at="2026-02-01T12:00")
    move_deal(sales, typo.id, "Proposal", user="ann", at="2026-02-11T12:00")
    lose_deal(sales, typo.id, "Price", user="ann", at="2026-02-12T12:00")
    for deal_id in (1, 2):
        move_deal(sales, deal_id, "Proposal", user="ann", at="2026-02-21T12:00")
        win_deal(sales, deal_id, user="ann", at="2026-02-22T12:00")
    before = compute_metrics(sales, "Sales")
    lead = before.stages[0]
    assert (before.win_rate, lead.stays_ended, lead.avg_days_in_stage) == (Fraction(2, 3), 3, Fraction(50, 3))
    delete_deal(sales, typo.id, user="ann")
    after = compute_metrics(sales, "Sales")
    assert (after.win_rate, after.stages[0].stays_ended, after.stages[0].avg_days_in_stage) == (1, 2, 20)
    assert [r.reason for r in after.lost_reasons] == []
    assert typo.id not in [d.id for d in list_deals(sales, "Sales", status="all")]
    assert get_deal(sales, typo.id).status == "deleted"  # kept, and shown by id
    restored = restore_deal(sales, typo.id, user="ann")
    assert restored.status == "lost" and compute_metrics(sales, "Sales").win_rate == Fraction(2, 3)
    kinds = [e.kind for e in deal_history(sales, typo.id)][-2:]
    assert kinds == ["deleted", "restored"]


def test_open_deleted_deal_leaves_board_aging_and_today(sales: Database) -> None:
    add_task(sales, 1, "Call", "2026-02-27", user="ann")
    delete_deal(sales, 1, user="ann")
    assert [c.id for c in load_board(sales, "Sales").cards] == [2] and _fast_cards(sales) == [2]
    assert sum(load_board(sales, "Sales").counts.values()) == 1
    assert [i.id for i in aging_report(sales, "Sales")] == [2]
    assert {i.deal_id for i in today_queue(sales, owner="ann").items} == {2}
    with pytest.raises(ValidationError, match="is deleted"):
        reopen_deal(sales, 1, "Lead", user="ann")
    with pytest.raises(ValidationError, match="is deleted"):
        delete_deal(sales, 1, user="ann")
    with pytest.raises(ValidationError, match="reopen it"):
        move_deal(sales, 1, "Proposal", user="ann")


def test_restore_respects_the_wip_limit(sales: Database) -> None:
    delete_deal(sales, 1, user="ann")
    set_stage(sales, "Sales", "Lead", wip_max=1)  # Lead holds Globex: 1 / 1
    with pytest.raises(WipLimitError):
        restore_deal(sales, 1, user="ann")
    assert get_deal(sales, 1).status == "deleted"


def test_undo_of_a_delete_restores_and_a_restore_blocks_undo(sales: Database) -> None:
    move_deal(sales, 1, "Proposal", user="ann")
    delete_deal(sales, 1, user="ann")
    assert undo_last(sales, "Sales", user="ann") == "Undid deleting 'Acme'; it is open again."
    assert get_deal(sales, 1).status == "open" and get_deal(sales, 1).stage_name == "Proposal"
    # the next undo walks back the move before it
    assert "back in Lead" in undo_last(sales, "Sales", user="ann")
    delete_deal(sales, 2, user="ann")
    restore_deal(sales, 2, user="bob")
    # bob's restore makes ann's delete impossible to undo: skipped with a sentence, not a jammed stack
    assert "cannot be undone (bob restored it since)" in undo_last(sales, "Sales", user="ann")
    # someone's delete blocks undoing an earlier move of that deal
    move_deal(sales, 2, "Proposal", user="ann")
    delete_deal(sales, 2, user="bob")
    assert "cannot be undone (bob deleted it since)" in undo_last(sales, "Sales", user="ann")
    assert get_deal(sales, 2).status == "deleted"


# -- deal types --------------------------------------------------------------------------------------------


def test_archive_and_merge_types(sales: Database) -> None:
    edit_deal(sales, 1, {"type": "Renewal"}, user="ann")
    with pytest.raises(ValidationError, match="1 open deal has the type Renewal"):
        set_type_archived(sales, "Sales", "Renewal")
    new, n = merge_types(sales, "Sales", "renewal", "new", user="ann")
    assert (new.name, n) == ("New", 1)
    assert get_deal(sales, 1).type_name == "New"
    last = deal_history(sales, 1)[-1]
    assert (last.kind, last.field, last.reason) == ("edit", "type", "merged Renewal into New")
    assert [(t.name, t.archived) for t in list_types(sales, "Sales")] == [("New", False), ("Renewal", True)]
    assert [t.name for t in load_board(sales, "Sales").types] == ["New"]  # no swimlane
    con = fastread.connect_target(sales.target)
    assert con is not None
    try:
        board = fastread.load_board(con, "Sales").board
        assert board is not None and [t.name for t in board.types] == ["New"]
    finally:
        con.close()
    with pytest.raises(ValidationError, match="is archived"):
        create_deal(sales, "Sales", "Z", user="ann", dtype="Renewal")
    with pytest.raises(ValidationError, match="into itself"):
        merge_types(sales, "Sales", "New", "new", user="ann")
    set_type_archived(sales, "Sales", "Renewal", False)
    assert create_deal(sales, "Sales", "Z", user="ann", dtype="Renewal").type_name == "Renewal"


# -- the command line --------------------------------------------------------------------------------------


def test_cli_snooze_delete_restore_and_types(cli: Any, fixed_now: str) -> None:
    def ok(*args: str) -> str:
        r = cli(*args)
        assert r.code == 0, r.err
        return r.out

    ok("pipeline", "create", "Sales", "--stages", "Lead,Proposal", "--types", "New,Old")
    ok("deal", "add", "Acme", "--type", "old")
    assert ok("deal", "snooze", "1", "--until", "fri", "--reason", "later").strip() == (
        "Deal 1 is snoozed until 2026-03-06: Acme.")
    assert json.loads(ok("deal", "show", "1", "--json"))["snoozed_until"] == "2026-03-06"
    assert ok("deal", "wake", "1").strip() == "Deal 1 is back: Acme."
    r = cli("deal", "delete", "1")  # the test's stdin is no terminal
    assert r.code == 1 and r.err.strip() == "Deleting needs a confirmation: run it on a terminal, or add --yes."
    assert "Deleted deal 1: Acme." in ok("deal", "delete", "1", "--yes")
    assert json.loads(ok("deal", "list", "--status", "all", "--json"))["deals"] == []
    assert ok("deal", "restore", "1").strip() == "Restored deal 1: Acme (open, in Lead)."
    assert ok("type", "merge", "Old", "New").strip() == "Merged into New: 1 deal changed type."
    assert json.loads(ok("type", "list", "--json"))["types"] == [
        {"id": 1, "name": "New", "archived": False}, {"id": 2, "name": "Old", "archived": True}]
    r = cli("type", "archive", "New")
    assert r.code == 1 and r.err.startswith("1 open deal has the type New;")
