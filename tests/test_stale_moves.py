"""A move states what it saw: checked inside the write transaction against the stage the rep's board showed."""

from __future__ import annotations

from typing import Any

import pytest

from tuikanban.domain.errors import StaleMoveError
from tuikanban.services.deals import (
    create_deal,
    get_deal,
    lose_deal,
    move_deal,
    reopen_deal,
    reorder_deal,
    win_deal,
)
from tuikanban.services.pipelines import create_pipeline, list_stages
from tuikanban.store.engine import Database

pytestmark = pytest.mark.engines  # the tests that use a database run on SQLite and on PostgreSQL


@pytest.fixture
def board(db: Database, monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    monkeypatch.setenv("TUIKANBAN_NOW", "2026-03-02T12:00:00+00:00")
    create_pipeline(db, "Sales", ["Lead", "Qualified", "Proposal", "Negotiation"])
    create_deal(db, "Sales", "Acme", user="alice")
    return {s.name: s.id for s in list_stages(db, "Sales")}


def test_a_stale_move_is_refused_naming_who_moved_it_where(db: Database, board: dict[str, int],
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    # both boards show Acme in Lead; bob moves it first
    move_deal(db, 1, "Negotiation", user="bob", seen_stage_id=board["Lead"])
    monkeypatch.setenv("TUIKANBAN_NOW", "2026-03-02T12:00:20+00:00")
    with pytest.raises(StaleMoveError) as info:
        move_deal(db, 1, "Qualified", user="alice", seen_stage_id=board["Lead"])
    assert str(info.value) == "bob moved this deal to Negotiation a moment ago, so it was not moved."
    assert get_deal(db, 1).stage_name == "Negotiation"  # bob's move stands
    monkeypatch.setenv("TUIKANBAN_NOW", "2026-03-02T12:30:00+00:00")
    for action, doing in ((lambda: reorder_deal(db, 1, -1, user="alice", seen_stage_id=board["Lead"]), "reordered"),
                          (lambda: win_deal(db, 1, user="alice", seen_stage_id=board["Lead"]), "marked won"),
                          (lambda: lose_deal(db, 1, "price", user="alice", seen_stage_id=board["Lead"]),
                           "marked lost")):
        with pytest.raises(StaleMoveError) as info:
            action()
        assert str(info.value) == f"bob moved this deal to Negotiation 30 minutes ago, so it was not {doing}."
    deal = get_deal(db, 1)
    assert (deal.status, deal.stage_name) == ("open", "Negotiation")
    # the stage it is in now is what a fresh board shows: that move goes through
    assert move_deal(db, 1, "Proposal", user="alice", seen_stage_id=board["Negotiation"]).to_stage == "Proposal"


def test_a_close_by_someone_else_and_a_reopen(db: Database, board: dict[str, int]) -> None:
    win_deal(db, 1, user="carol")
    with pytest.raises(StaleMoveError) as info:
        move_deal(db, 1, "Qualified", user="alice", seen_stage_id=board["Lead"])
    assert str(info.value) == "carol marked this deal won a moment ago, so it was not moved."
    reopen_deal(db, 1, "Proposal", user="bob", seen_status="won")
    with pytest.raises(StaleMoveError) as info:
        reopen_deal(db, 1, "Lead", user="alice", seen_status="won")
    assert str(info.value) == "bob reopened this deal into Proposal a moment ago."
    assert get_deal(db, 1).stage_name == "Proposal"


def test_your_own_move_in_another_window(db: Database, board: dict[str, Any]) -> None:
    move_deal(db, 1, "Qualified", user="alice")
    with pytest.raises(StaleMoveError) as info:
        move_deal(db, 1, "Proposal", user="alice", seen_stage_id=board["Lead"])
    assert str(info.value) == ("'Acme' is not in Lead (the move before was refused, or it changed elsewhere), so "
                               "it was not moved.")


def test_a_move_written_without_the_orm_is_checked_the_same_way(db: Database, db_target: str,
                                                                 board: dict[str, int]) -> None:
    # the board's move before its database is open (ui/board/gateway.py) uses the driver's writer, as `deal move`
    from tuikanban.services import deal_actions
    from tuikanban.store.uow import open_writer

    writer = open_writer(db_target)
    assert writer is not None
    try:
        move_deal(db, 1, "Negotiation", user="bob", seen_stage_id=board["Lead"])
        with pytest.raises(StaleMoveError) as info:
            deal_actions.move_deal(writer, 1, "Qualified", user="alice", seen_stage_id=board["Lead"])
        assert str(info.value) == "bob moved this deal to Negotiation a moment ago, so it was not moved."
        with pytest.raises(StaleMoveError) as info:
            deal_actions.move_deal(writer, 1, "Qualified", user="bob", seen_stage_id=board["Lead"])
        assert str(info.value) == ("'Acme' is not in Lead (the move before was refused, or it changed elsewhere), "
                                   "so it was not moved.")
        assert get_deal(db, 1).stage_name == "Negotiation"
        done = deal_actions.move_deal(writer, 1, "Proposal", user="alice", seen_stage_id=board["Negotiation"])
        assert (done.from_stage, done.to_stage) == ("Negotiation", "Proposal")
        win_deal(db, 1, user="carol")
        with pytest.raises(StaleMoveError) as info:
            deal_actions.move_deal(writer, 1, "Lead", user="alice", seen_stage_id=board["Proposal"])
        assert str(info.value) == "carol marked this deal won a moment ago, so it was not moved."
    finally:
        writer.close()
