"""Bulk actions on marked deals (services.bulk): one transaction each, WIP checked for the batch as a whole, each
deal's result, and undo of the whole batch as one action. Clock fixed at 2026-03-02 12:00 UTC."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

import pytest
from sqlmodel import col, select

from tuikanban.domain.bulk import admits_batch, batch_refusal
from tuikanban.domain.errors import ValidationError, WipLimitError
from tuikanban.services.board import load_board
from tuikanban.services.bulk import (
    bulk_close,
    bulk_delete,
    bulk_move,
    bulk_owner,
    bulk_snooze,
    bulk_step,
    known_owners,
)
from tuikanban.services.deals import create_deal, get_deal, list_deals, move_deal
from tuikanban.services.io.json_export import write_pipeline_json
from tuikanban.services.io.json_import import import_pipeline_json, read_json
from tuikanban.services.pipelines import create_pipeline, set_stage
from tuikanban.services.undo import redo_last, undo_last
from tuikanban.store.engine import Database, open_database
from tuikanban.store.tables import Event

pytestmark = pytest.mark.engines  # the tests that use a database run on SQLite and on PostgreSQL


@pytest.fixture
def sales(db: Database, fixed_now: str) -> Database:
    create_pipeline(db, "Sales", "Lead,Qualified,Proposal")
    return db


def deals(db: Database, n: int, owner: str = "alice") -> list[int]:
    return [create_deal(db, "Sales", f"Deal {i}", user="alice", owner=owner).id for i in range(n)]


def stages(db: Database, ids: list[int]) -> list[str]:
    return [get_deal(db, i).stage_name for i in ids]


def test_batch_rule_counts_the_batch_as_a_whole() -> None:
    assert batch_refusal("Proposal", 5, 5, 1) == "Proposal is at its WIP limit (5/5)"  # one deal: the usual words
    assert admits_batch(3, 2, 5)  # 3 + 2 = 5 fits a limit of 5
    assert not admits_batch(3, 3, 5)  # 3 + 3 = 6 does not
    assert admits_batch(100, 100, None)
    assert batch_refusal("Proposal", 3, 5, 20) == (
        "Proposal has room for 2 more deals (3/5); moving 20 at once is refused as a whole")


def test_bulk_move_moves_all_in_one_batch_and_undo_takes_back_all(sales: Database) -> None:
    ids = deals(sales, 4)
    result = bulk_move(sales, ids, "Proposal", user="alice")
    assert [o.done for o in result.outcomes] == [True] * 4
    assert stages(sales, ids) == ["Proposal"] * 4
    assert result.summary() == "Moved: 4 deals."
    ranks = [get_deal(sales, i).rank for i in ids]
    assert ranks == sorted(ranks, reverse=True) and len(set(ranks)) == 4  # each lands on top of the one before
    with sales.read() as s:
        moves = s.exec(select(Event).where(Event.kind == "move").order_by(col(Event.id))).all()
    assert [e.ref_id for e in moves] == [None] + [moves[0].id] * 3  # the first event is the batch id
    assert result.batch_id == moves[0].id
    text = undo_last(sales, "Sales", user="alice")
    assert text == "Undid your bulk move of 4 deals."
    assert stages(sales, ids) == ["Lead"] * 4
    with pytest.raises(ValidationError, match="nothing of yours to undo"):
        undo_last(sales, "Sales", user="alice")


def test_undo_of_a_batch_stops_at_the_batch(sales: Database) -> None:
    first, *rest = deals(sales, 3)
    move_deal(sales, first, "Qualified", user="alice")  # an earlier single move, not part of the batch
    bulk_move(sales, rest, "Proposal", user="alice")
    undo_last(sales, "Sales", user="alice")
    assert stages(sales, [first, *rest]) == ["Qualified", "Lead", "Lead"]


def test_twenty_into_room_for_five_is_refused_as_a_whole_or_forced(sales: Database) -> None:
    set_stage(sales, "Sales", "Qualified", wip_max=5)
    ids = deals(sales, 20)
    with pytest.raises(WipLimitError) as refused:
        bulk_step(sales, ids, 1, user="alice")
    assert str(refused.value) == ("Qualified has room for 5 more deals (0/5); moving 20 at once is refused as a "
                                  "whole")
    assert stages(sales, ids) == ["Lead"] * 20  # nothing moved
    forced = bulk_step(sales, ids, 1, user="alice", force_reason="quarter end push")
    assert forced.forced and len(forced.done) == 20
    assert forced.summary() == "Moved: 20 deals (WIP limit overridden)."
    with sales.read() as s:
        overrides = s.exec(select(Event).where(Event.kind == "wip_override")).all()
    assert len(overrides) == 20 and {e.reason for e in overrides} == {"quarter end push"}


def test_five_into_room_for_five_fits(sales: Database) -> None:
    set_stage(sales, "Sales", "Qualified", wip_max=5)
    ids = deals(sales, 5)
    assert len(bulk_step(sales, ids, 1, user="alice").done) == 5


def test_per_rep_limit_counts_each_owners_batch(sales: Database) -> None:
    set_stage(sales, "Sales", "Qualified", rep_wip_max=2)
    ids = deals(sales, 3, owner="bob") + deals(sales, 1, owner="carol")
    with pytest.raises(WipLimitError, match="room for 2 more deals for bob"):
        bulk_move(sales, ids, "Qualified", user="alice")
    assert len(bulk_move(sales, ids[1:], "Qualified", user="alice").done) == 3  # bob 2, carol 1


def test_step_reports_deals_that_cannot_move(sales: Database) -> None:
    a, b, c = deals(sales, 3)
    move_deal(sales, c, "Proposal", user="alice")
    bulk_close(sales, [b], "won", user="alice")
    result = bulk_step(sales, [a, b, c], 1, user="alice")
    assert [(o.deal_id, o.done, o.why) for o in result.outcomes] == [
        (a, True, ""), (b, False, "is won"), (c, False, "is in the last stage")]
    assert result.summary() == ("Moved: 1 deal; 2 left as they were ('Deal 1' is won; 'Deal 2' is in the last "
                                "stage).")
    back = bulk_step(sales, [a, c], -1, user="alice")
    assert stages(sales, [a, c]) == ["Lead", "Qualified"] and len(back.done) == 2


def test_bulk_lost_one_reason_for_all_and_undo(sales: Database) -> None:
    ids = deals(sales, 3)
    with pytest.raises(ValidationError, match="needs a reason"):
        bulk_close(sales, ids, "lost", user="alice", reason="  ")
    result = bulk_close(sales, ids, "lost", user="alice", reason="budget cut")
    assert len(result.done) == 3
    assert {get_deal(sales, i).lost_reason for i in ids} == {"budget cut"}
    assert undo_last(sales, "Sales", user="alice") == "Undid your bulk marking lost of 3 deals."
    assert {get_deal(sales, i).status for i in ids} == {"open"}


def test_bulk_owner_change_and_undo(sales: Database) -> None:
    ids = deals(sales, 2) + deals(sales, 1, owner="bob")
    result = bulk_owner(sales, ids, "bob", user="alice")
    assert [o.done for o in result.outcomes] == [True, True, False]
    assert {get_deal(sales, i).owner for i in ids} == {"bob"}
    assert known_owners(sales) == ["bob"]
    undo_last(sales, "Sales", user="alice")
    assert [get_deal(sales, i).owner for i in ids] == ["alice", "alice", "bob"]
    assert known_owners(sales) == ["alice", "bob"]  # alice owns 2, bob 1: most deals first


def test_undo_of_a_batch_skips_a_deal_moved_since(sales: Database) -> None:
    a, b = deals(sales, 2)
    bulk_move(sales, [a, b], "Qualified", user="alice")
    move_deal(sales, b, "Proposal", user="bob")
    text = undo_last(sales, "Sales", user="alice")
    assert text == ("Undid your bulk move of 1 deal; 1 could not be undone and was skipped: 'Deal 1' (bob moved "
                    "it since).")
    assert stages(sales, [a, b]) == ["Lead", "Proposal"]


def test_no_marks_and_mixed_pipelines_are_refused(sales: Database) -> None:
    create_pipeline(sales, "Other", "A,B")
    mine = deals(sales, 1)[0]
    other = create_deal(sales, "Other", "Elsewhere", user="alice").id
    with pytest.raises(ValidationError, match="No deals are marked"):
        bulk_move(sales, [], "Qualified", user="alice")
    with pytest.raises(ValidationError, match="more than one pipeline"):
        bulk_move(sales, [mine, other], "Qualified", user="alice")
    with pytest.raises(ValidationError, match="no stage 'Nowhere'"):
        bulk_move(sales, [mine], "Nowhere", user="alice")


def test_a_batch_survives_json_export_and_import_and_undoes_as_one_there(sales: Database, tmp_path: Path) -> None:
    ids = deals(sales, 3)
    bulk_move(sales, ids, "Qualified", user="alice")
    buf = io.StringIO()
    write_pipeline_json(sales, "Sales", buf)
    copy = open_database(tmp_path / "copy.db")
    try:
        import_pipeline_json(copy, read_json(buf.getvalue()))
        assert undo_last(copy, "Sales", user="alice") == "Undid your bulk move of 3 deals."
        assert {d.stage_name for d in list_deals(copy, "Sales")} == {"Lead"}
    finally:
        copy.close()


def test_redo_after_undoing_a_batch_redoes_the_batch(sales: Database) -> None:
    ids = deals(sales, 3)
    single = deals(sales, 1)[0]
    move_deal(sales, single, "Qualified", user="alice")
    bulk_close(sales, ids, "won", user="alice")
    undo_last(sales, "Sales", user="alice")
    assert {get_deal(sales, i).status for i in ids} == {"open"}
    assert redo_last(sales, "Sales", user="alice") == "Redid your bulk marking won of 3 deals."
    assert {get_deal(sales, i).status for i in ids} == {"won"}
    undo_last(sales, "Sales", user="alice")  # the batch again, as one
    undo_last(sales, "Sales", user="alice")  # then the single move before it
    assert get_deal(sales, single).stage_name == "Lead"
    assert redo_last(sales, "Sales", user="alice") == "Redid the move of 'Deal 0' to Qualified."  # a single redo


def test_bulk_snooze_one_date_for_all_skips_closed_and_undoes_as_one(sales: Database) -> None:
    ids = deals(sales, 3)
    bulk_close(sales, [ids[2]], "won", user="alice")
    with pytest.raises(ValidationError, match="not later than"):
        bulk_snooze(sales, ids, "today", user="alice")
    result = bulk_snooze(sales, ids, "fri", user="alice", reason="Trade fair")
    assert result.summary() == "Snoozed until 2026-03-06: 2 deals; 1 left as they were ('Deal 2' is won)."
    assert [get_deal(sales, i).snoozed_until for i in ids[:2]] == [date(2026, 3, 6)] * 2
    assert load_board(sales, "Sales").cards == []  # the open ones are snoozed: off the board
    assert bulk_snooze(sales, ids[:1], "fri", user="alice").summary() == (
        "Snoozed until 2026-03-06: 0 deals; 1 left as they were ('Deal 0' is snoozed until 2026-03-06 already).")
    assert undo_last(sales, "Sales", user="alice") == "Undid your bulk snooze of 2 deals."
    assert [get_deal(sales, i).snoozed_until for i in ids[:2]] == [None, None]
    assert redo_last(sales, "Sales", user="alice") == "Redid your bulk snooze of 2 deals."
    assert [get_deal(sales, i).snoozed_until for i in ids[:2]] == [date(2026, 3, 6)] * 2


def test_bulk_delete_in_one_batch_and_undo_gives_each_its_status_back(sales: Database) -> None:
    ids = deals(sales, 3)
    bulk_close(sales, [ids[2]], "lost", user="alice", reason="typo")
    result = bulk_delete(sales, ids, user="alice")
    assert result.summary() == "Deleted: 3 deals."
    assert {get_deal(sales, i).status for i in ids} == {"deleted"}
    with sales.read() as s:
        batch = s.exec(select(Event).where(Event.kind == "deleted").order_by(col(Event.id))).all()
    assert [e.ref_id for e in batch] == [None, batch[0].id, batch[0].id] and result.batch_id == batch[0].id
    assert bulk_delete(sales, ids[:1], user="alice").summary() == (
        "Deleted: 0 deals; 1 left as they were ('Deal 0' is deleted already).")
    assert undo_last(sales, "Sales", user="alice") == "Undid your bulk delete of 3 deals."
    assert [get_deal(sales, i).status for i in ids] == ["open", "open", "lost"]


def test_undoing_a_bulk_delete_into_a_full_stage_is_refused_whole(sales: Database) -> None:
    ids = deals(sales, 3)
    bulk_delete(sales, ids, user="alice")
    set_stage(sales, "Sales", "Lead", wip_max=2)
    with pytest.raises(WipLimitError):
        undo_last(sales, "Sales", user="alice")
    assert {get_deal(sales, i).status for i in ids} == {"deleted"}  # nothing restored: one transaction
    assert "(WIP limit overridden)" in undo_last(sales, "Sales", user="alice", force_reason="typo after all")
    assert {get_deal(sales, i).status for i in ids} == {"open"}
