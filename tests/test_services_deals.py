"""Deal transactions: each change appends the right events (user, time) with the change, in one transaction;
stays stay a correct projection of the log; stale edits are refused."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlmodel import Session, col, select

from tuikanban.domain.errors import NotFoundError, StaleEditError, ValidationError
from tuikanban.services import deal_actions
from tuikanban.services.deals import (
    create_deal,
    deal_history,
    edit_deal,
    get_deal,
    list_deals,
    lose_deal,
    move_deal,
    reopen_deal,
    reorder_deal,
    undo_last,
    win_deal,
)
from tuikanban.services.pipelines import add_type, create_pipeline
from tuikanban.store.engine import Database
from tuikanban.store.tables import Deal, Event, Stage, Stay

pytestmark = pytest.mark.engines  # every test here runs on SQLite and on PostgreSQL


def t(day: int, hour: int = 9) -> datetime:
    return datetime(2026, 3, day, hour, 0, tzinfo=UTC)


@pytest.fixture
def sales(db: Database) -> Database:
    create_pipeline(db, "Sales", "Lead,Qualified,Proposal,Negotiation")
    return db


def events(db: Database, deal_id: int | None = None) -> list[Event]:
    with db.read() as s:
        q = select(Event).order_by(col(Event.id))
        if deal_id is not None:
            q = q.where(Event.deal_id == deal_id)
        return list(s.exec(q))


def stays(db: Database, deal_id: int) -> list[tuple[str, datetime, datetime | None, str | None]]:
    """(stage name, entered, left, outcome) in order."""
    with db.read() as s:
        names = {st.id: st.name for st in s.exec(select(Stage))}
        rows = s.exec(select(Stay).where(Stay.deal_id == deal_id).order_by(col(Stay.id)))
        return [(names[r.stage_id], r.entered_at, r.left_at, r.outcome) for r in rows]


def row_count(db: Database, table: type) -> int:
    with db.read() as s:
        return len(list(s.exec(select(table))))


# -- create -----------------------------------------------------------------------------------------


def test_create_logs_one_event_and_opens_a_stay(sales: Database) -> None:
    d = create_deal(sales, "Sales", "  Acme  ", user="ann", value="12,500.50", company="Acme", close="2026-04-01",
                    at="2026-03-01T09:00")
    assert (d.title, d.value_minor, d.currency, d.owner, d.stage_name, d.status) == (
        "Acme", 1_250_050, "USD", "ann", "Lead", "open")
    assert d.expected_close == date(2026, 4, 1)
    assert d.created_at == d.stage_entered_at == t(1)
    assert d.version == 1
    evs = events(sales, d.id)
    assert [(e.kind, e.user, e.at) for e in evs] == [("create", "ann", t(1))]
    assert stays(sales, d.id) == [("Lead", t(1), None, None)]


def test_create_uses_the_clock(sales: Database, fixed_now: str) -> None:
    d = create_deal(sales, "Sales", "Now", user="ann")
    assert d.created_at == datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
    assert events(sales, d.id)[0].at == datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def test_create_validation_changes_nothing(sales: Database) -> None:
    for kwargs, message in (
        ({"value": "abc"}, "'abc' is not an amount"),
        ({"stage": "Nope"}, "has no stage named 'Nope'"),
        ({"dtype": "Nope"}, "has no deal type named 'Nope'"),
        ({"close": "2026-02-30"}, "not a valid close date"),
        ({"at": "soon"}, "not a valid --at time"),
    ):
        with pytest.raises((ValidationError, NotFoundError), match=message):
            create_deal(sales, "Sales", "X", user="ann", **kwargs)
    with pytest.raises(ValidationError, match=r"^A deal needs a title\.$"):
        create_deal(sales, "Sales", "   ", user="ann")
    assert row_count(sales, Deal) == 0
    assert row_count(sales, Event) == 0


def test_user_text_is_stored_clean(sales: Database) -> None:
    d = create_deal(sales, "Sales", "Evil\x1b]52;c;aGk=\x07 [bold]deal[/bold]\x1b[31m", user="ann")
    assert d.title == "Evil [bold]deal[/bold]"


# -- move -------------------------------------------------------------------------------------------


def test_moves_log_events_and_project_stays(sales: Database) -> None:
    d = create_deal(sales, "Sales", "Flow", user="ann", at=t(1))
    move_deal(sales, d.id, "Qualified", user="bob", at=t(2))
    move_deal(sales, d.id, "Proposal", user="ann", at=t(4))
    move_deal(sales, d.id, "Qualified", user="ann", at=t(5))  # back: the Proposal stay was dropped
    evs = events(sales, d.id)
    with sales.read() as s:
        names = {st.id: st.name for st in s.exec(select(Stage))}
    assert [(e.kind, e.user, e.at, names.get(e.from_stage_id or 0), names.get(e.to_stage_id or 0)) for e in evs] == [
        ("create", "ann", t(1), None, "Lead"),
        ("move", "bob", t(2), "Lead", "Qualified"),
        ("move", "ann", t(4), "Qualified", "Proposal"),
        ("move", "ann", t(5), "Proposal", "Qualified"),
    ]
    assert stays(sales, d.id) == [
        ("Lead", t(1), t(2), "advanced"),
        ("Qualified", t(2), t(4), "advanced"),
        ("Proposal", t(4), t(5), "dropped"),
        ("Qualified", t(5), None, None),
    ]
    after = get_deal(sales, d.id)
    assert (after.stage_name, after.stage_entered_at, after.version) == ("Qualified", t(5), 4)


def test_move_refusals(sales: Database) -> None:
    d = create_deal(sales, "Sales", "Flow", user="ann", at=t(3))
    with pytest.raises(ValidationError, match=f"Deal {d.id} is already in Lead."):
        move_deal(sales, d.id, "lead", user="ann")
    with pytest.raises(NotFoundError, match=r"Pipeline Sales has no stage named 'Won' \(stages: Lead, Qualified, "):
        move_deal(sales, d.id, "Won", user="ann")
    with pytest.raises(NotFoundError, match=r"^There is no deal with id 999\.$"):
        move_deal(sales, 999, "Proposal", user="ann")
    with pytest.raises(ValidationError, match=r"before deal \d+ entered its current stage"):
        move_deal(sales, d.id, "Proposal", user="ann", at=t(2))
    win_deal(sales, d.id, user="ann", at=t(4))
    with pytest.raises(ValidationError, match=f"Deal {d.id} is won; reopen it before moving it."):
        move_deal(sales, d.id, "Proposal", user="ann", at=t(5))
    assert [e.kind for e in events(sales, d.id)] == ["create", "won"]


# -- edit and optimistic concurrency ----------------------------------------------------------------


def test_edit_logs_one_event_per_changed_field(sales: Database) -> None:
    add_type(sales, "Sales", "Renewal")
    d = create_deal(sales, "Sales", "Edit me", user="ann", value="100", close="2026-04-01", at=t(1))
    view, changed = edit_deal(sales, d.id, {"value": "12.5k", "close": "2026-05-01", "owner": "bob",
                                            "type": "renewal", "company": "", "title": "Edit me"},
                              user="carol", at=t(2))
    assert changed == ["value", "owner", "type", "close"]  # company and title were unchanged
    assert (view.value_minor, view.owner, view.type_name, view.expected_close, view.version) == (
        1_250_000, "bob", "Renewal", date(2026, 5, 1), 2)
    edits = [e for e in events(sales, d.id) if e.kind == "edit"]
    assert [(e.field, e.old_value, e.new_value, e.user, e.at) for e in edits] == [
        ("value", "10000", "1250000", "carol", t(2)),
        ("owner", "ann", "bob", "carol", t(2)),
        ("type", None, str(view.type_id), "carol", t(2)),
        ("close", "2026-04-01", "2026-05-01", "carol", t(2)),
    ]
    # no change, no event, no new version
    view2, changed2 = edit_deal(sales, d.id, {"value": "12,500"}, user="carol")
    assert changed2 == [] and view2.version == 2
    assert len(events(sales, d.id)) == 5


def test_stale_edit_is_refused_and_changes_nothing(sales: Database) -> None:
    d = create_deal(sales, "Sales", "Shared", user="ann", value="100")
    # bob opened version 1; ann changes the value first
    edit_deal(sales, d.id, {"value": "200"}, user="ann", expected_version=1)
    with pytest.raises(StaleEditError) as info:
        edit_deal(sales, d.id, {"value": "300"}, user="bob", expected_version=1)
    assert str(info.value) == (
        f"Deal {d.id} was changed by someone else since you opened it; it has been reloaded, check it and try again."
    )
    assert get_deal(sales, d.id).value_minor == 20_000
    for action in (
        lambda: move_deal(sales, d.id, "Qualified", user="bob", expected_version=1),
        lambda: win_deal(sales, d.id, user="bob", expected_version=1),
        lambda: lose_deal(sales, d.id, "Price", user="bob", expected_version=1),
    ):
        with pytest.raises(StaleEditError):
            action()
    assert [e.kind for e in events(sales, d.id)] == ["create", "edit"]
    # with the current version it goes through
    move_deal(sales, d.id, "Qualified", user="bob", expected_version=2)
    assert get_deal(sales, d.id).version == 3


def test_unknown_edit_field(sales: Database) -> None:
    d = create_deal(sales, "Sales", "X", user="ann")
    with pytest.raises(ValidationError, match=r"^Unknown deal field: status\.$"):
        edit_deal(sales, d.id, {"status": "won"}, user="ann")


def test_currency_change_keeps_the_amount(sales: Database) -> None:
    d = create_deal(sales, "Sales", "X", user="ann", value="12,500.50")
    view, changed = edit_deal(sales, d.id, {"currency": "kwd"}, user="ann")
    assert (view.currency, view.value_minor, changed) == ("KWD", 12_500_500, ["value", "currency"])
    with pytest.raises(ValidationError, match="cannot be written in JPY"):
        edit_deal(sales, d.id, {"currency": "JPY"}, user="ann")
    view, _ = edit_deal(sales, d.id, {"currency": "JPY", "value": "12,501"}, user="ann")
    assert (view.currency, view.value_minor) == ("JPY", 12_501)


# -- one transaction --------------------------------------------------------------------------------


def test_a_failure_inside_the_transaction_leaves_no_event(sales: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    d = create_deal(sales, "Sales", "Atomic", user="ann", at=t(1))

    def boom(*_args: object) -> None:
        raise RuntimeError("simulated crash after the writes")

    monkeypatch.setattr(deal_actions, "deal_view", boom)  # the last step of create and move, after the writes
    with pytest.raises(RuntimeError):
        move_deal(sales, d.id, "Qualified", user="ann", at=t(2))
    with pytest.raises(RuntimeError):
        create_deal(sales, "Sales", "Never", user="ann")
    monkeypatch.undo()
    assert get_deal(sales, d.id).stage_name == "Lead"
    assert [e.kind for e in events(sales)] == ["create"]
    assert stays(sales, d.id) == [("Lead", t(1), None, None)]
    assert row_count(sales, Deal) == 1


# -- reorder ----------------------------------------------------------------------------------------


def test_reorder_swaps_neighbours_and_logs(sales: Database, fixed_now: str) -> None:
    a = create_deal(sales, "Sales", "A", user="ann")
    b = create_deal(sales, "Sales", "B", user="ann")
    c = create_deal(sales, "Sales", "C", user="ann")
    # new deals go on top: C, B, A
    assert [d.title for d in list_deals(sales, "Sales")] == ["C", "B", "A"]
    assert reorder_deal(sales, a.id, -1, user="bob") is True
    assert [d.title for d in list_deals(sales, "Sales")] == ["C", "A", "B"]
    assert reorder_deal(sales, c.id, -1, user="bob") is False  # already on top
    ev = [e for e in events(sales) if e.kind == "reorder"]
    assert [(e.deal_id, e.user, e.new_value, e.at) for e in ev] == [(a.id, "bob", "up", t(2, 12))]
    assert b.id != a.id


# -- won, lost, reopen ------------------------------------------------------------------------------


def test_won_lost_reopen(sales: Database) -> None:
    d = create_deal(sales, "Sales", "Close me", user="ann", at=t(1))
    move_deal(sales, d.id, "Proposal", user="ann", at=t(2))
    won = win_deal(sales, d.id, user="bob", at=t(3))
    assert (won.status, won.closed_at) == ("won", t(3))
    with pytest.raises(ValidationError, match=f"Deal {d.id} is already won."):
        win_deal(sales, d.id, user="bob")
    with pytest.raises(ValidationError, match=r"before deal \d+ was closed"):
        reopen_deal(sales, d.id, "Negotiation", user="ann", at=t(2, 12))
    reopened = reopen_deal(sales, d.id, "Negotiation", user="ann", at=t(4))
    assert (reopened.status, reopened.stage_name, reopened.closed_at, reopened.stage_entered_at) == (
        "open", "Negotiation", None, t(4))
    with pytest.raises(ValidationError, match=r"^Marking a deal lost needs a reason\.$"):
        lose_deal(sales, d.id, "  ", user="ann")
    lost = lose_deal(sales, d.id, "Lost to competitor", user="carol", at=t(5))
    assert (lost.status, lost.lost_reason, lost.closed_at) == ("lost", "Lost to competitor", t(5))
    with pytest.raises(ValidationError, match=f"Deal {d.id} is already lost."):
        lose_deal(sales, d.id, "again", user="ann")
    assert [(e.kind, e.user, e.at, e.reason) for e in events(sales, d.id)] == [
        ("create", "ann", t(1), None),
        ("move", "ann", t(2), None),
        ("won", "bob", t(3), None),
        ("reopen", "ann", t(4), None),
        ("lost", "carol", t(5), "Lost to competitor"),
    ]
    assert stays(sales, d.id) == [
        ("Lead", t(1), t(2), "advanced"),
        ("Proposal", t(2), t(3), "advanced"),  # won counts as advanced
        ("Negotiation", t(4), t(5), "dropped"),  # lost counts as dropped
    ]
    history = deal_history(sales, d.id)
    assert [(h.kind, h.from_stage, h.to_stage) for h in history][-3:] == [
        ("won", "Proposal", None), ("reopen", None, "Negotiation"), ("lost", "Negotiation", None)]


# -- undo -------------------------------------------------------------------------------------------


def test_undo_a_move_restores_the_stay(sales: Database, fixed_now: str) -> None:
    d = create_deal(sales, "Sales", "Oops", user="tester", at=t(1))
    move_deal(sales, d.id, "Qualified", user="tester", at=t(2))
    message = undo_last(sales, "Sales", user="tester")
    assert message == "Undid the move of 'Oops'; it is back in Lead."
    after = get_deal(sales, d.id)
    assert (after.stage_name, after.stage_entered_at) == ("Lead", t(1))
    assert stays(sales, d.id) == [("Lead", t(1), None, None)]
    undo = events(sales, d.id)[-1]
    assert (undo.kind, undo.user, undo.at.isoformat()) == ("undo", "tester", "2026-03-02T12:00:00+00:00")
    with pytest.raises(ValidationError, match=r"^There is nothing of yours to undo in this pipeline\.$"):
        undo_last(sales, "Sales", user="tester")


def test_undo_twice_walks_back_two_moves(sales: Database) -> None:
    d = create_deal(sales, "Sales", "Twice", user="ann", at=t(1))
    move_deal(sales, d.id, "Qualified", user="ann", at=t(2))
    move_deal(sales, d.id, "Proposal", user="ann", at=t(3))
    assert undo_last(sales, "Sales", user="ann").endswith("back in Qualified.")
    assert stays(sales, d.id) == [("Lead", t(1), t(2), "advanced"), ("Qualified", t(2), None, None)]
    assert undo_last(sales, "Sales", user="ann").endswith("back in Lead.")
    assert stays(sales, d.id) == [("Lead", t(1), None, None)]
    assert get_deal(sales, d.id).stage_entered_at == t(1)


def test_undo_won_and_lost(sales: Database) -> None:
    d = create_deal(sales, "Sales", "Closed", user="ann", at=t(1))
    win_deal(sales, d.id, user="ann", at=t(2))
    assert undo_last(sales, "Sales", user="ann") == "Undid marking 'Closed' won; it is open again in Lead."
    after = get_deal(sales, d.id)
    assert (after.status, after.closed_at) == ("open", None)
    assert stays(sales, d.id) == [("Lead", t(1), None, None)]
    lose_deal(sales, d.id, "Price", user="ann", at=t(3))
    undo_last(sales, "Sales", user="ann")
    after = get_deal(sales, d.id)
    assert (after.status, after.lost_reason) == ("open", "")


def test_undo_only_your_own_and_not_after_someone_else_moved_it(sales: Database) -> None:
    d = create_deal(sales, "Sales", "Shared", user="ann", at=t(1))
    move_deal(sales, d.id, "Qualified", user="ann", at=t(2))
    with pytest.raises(ValidationError, match="nothing of yours to undo"):
        undo_last(sales, "Sales", user="bob")
    move_deal(sales, d.id, "Proposal", user="bob", at=t(3))
    # bob's later move makes ann's move impossible to undo: skipped with a sentence, so it does not jam her stack
    assert undo_last(sales, "Sales", user="ann") == (
        "Your move of 'Shared' cannot be undone (bob moved it since); it was skipped, so the next undo "
        "reaches your earlier action.")
    assert get_deal(sales, d.id).stage_name == "Proposal"
    with pytest.raises(ValidationError, match="nothing of yours to undo"):
        undo_last(sales, "Sales", user="ann")


def test_reorder_with_equal_ranks_still_moves(sales: Database) -> None:
    from sqlalchemy import update

    a = create_deal(sales, "Sales", "A", user="ann")
    b = create_deal(sales, "Sales", "B", user="ann")
    c = create_deal(sales, "Sales", "C", user="ann")

    def flatten(s: Session) -> None:
        s.exec(update(Deal).values(rank=0))  # as an import might leave them

    sales.write(flatten)
    # equal ranks fall back to id order: A, B, C
    assert [d.title for d in list_deals(sales, "Sales")] == ["A", "B", "C"]
    assert reorder_deal(sales, c.id, -1, user="ann") is True
    assert [d.title for d in list_deals(sales, "Sales")] == ["A", "C", "B"]
    assert reorder_deal(sales, a.id, +1, user="ann") is True
    assert [d.title for d in list_deals(sales, "Sales")] == ["C", "A", "B"]
    assert b.id > a.id


def test_reorder_within_a_swimlane(sales: Database) -> None:
    add_type(sales, "Sales", "Renewal")
    a = create_deal(sales, "Sales", "A", user="ann", dtype="Renewal")
    create_deal(sales, "Sales", "B", user="ann")
    c = create_deal(sales, "Sales", "C", user="ann", dtype="Renewal")
    # column order: C, B, A; in the Renewal lane: C, A
    assert reorder_deal(sales, a.id, -1, user="ann", same_type=True) is True
    assert [d.title for d in list_deals(sales, "Sales") if d.type_name == "Renewal"] == ["A", "C"]
    assert reorder_deal(sales, a.id, -1, user="ann", same_type=True) is False
    assert c.id != a.id


def test_closed_deals_cannot_be_reordered(sales: Database) -> None:
    d = create_deal(sales, "Sales", "Done", user="ann")
    win_deal(sales, d.id, user="ann")
    with pytest.raises(ValidationError, match=rf"^Deal {d.id} is won; only open deals can be reordered\.$"):
        reorder_deal(sales, d.id, -1, user="ann")


def test_a_deal_in_another_currency(sales: Database) -> None:
    d = create_deal(sales, "Sales", "Tokyo", user="ann", currency="jpy", value="1,200,000")
    assert (d.currency, d.value_minor) == ("JPY", 1_200_000)
    with pytest.raises(ValidationError, match="more precision than JPY allows"):
        create_deal(sales, "Sales", "Tokyo 2", user="ann", currency="JPY", value="10.5")
