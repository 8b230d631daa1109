"""WIP rules: the pure functions and the service behaviour of docs/RULES.md, WIP limits."""

from __future__ import annotations

import pytest
from sqlmodel import col, select

from tuikanban.domain.errors import ValidationError, WipLimitError
from tuikanban.domain.wip import WipState, admits, counter_text, refusal, validate_limits, wip_state
from tuikanban.services.deals import create_deal, list_deals, lose_deal, move_deal, reopen_deal
from tuikanban.services.pipelines import create_pipeline, set_stage, stage_rows
from tuikanban.store.engine import Database
from tuikanban.store.tables import Event

pytestmark = pytest.mark.engines  # every test here runs on SQLite and on PostgreSQL

# -- pure rules -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("count", "wip_max", "wip_min", "state"),
    [
        (0, None, None, WipState.OK),
        (4, 5, None, WipState.OK),
        (5, 5, None, WipState.AT_LIMIT),
        (6, 5, None, WipState.OVER),
        (1, 5, 2, WipState.UNDER),
        (2, 5, 2, WipState.OK),
        (0, None, 1, WipState.UNDER),
        (0, 0, None, WipState.AT_LIMIT),
        (3, 3, 3, WipState.AT_LIMIT),
    ],
)
def test_wip_state(count: int, wip_max: int | None, wip_min: int | None, state: WipState) -> None:
    assert wip_state(count, wip_max, wip_min) is state


def test_counter_admits_and_refusal_text() -> None:
    assert counter_text(3, 5) == "3/5"
    assert counter_text(3, None) == "3"
    assert admits(4, 5)
    assert not admits(5, 5)
    assert not admits(6, 5)
    assert admits(1000, None)
    assert refusal("Proposal", 5, 5) == "Proposal is at its WIP limit (5/5)"
    assert refusal("Proposal", 2, 2, "ann") == "Proposal is at its per-rep WIP limit for ann (2/2)"


def test_validate_limits() -> None:
    validate_limits(5, 2, 1, stage="Proposal")
    validate_limits(None, None, None)
    with pytest.raises(ValidationError, match=r"^The WIP max of Proposal cannot be negative \(-1\)\.$"):
        validate_limits(-1, None, None, stage="Proposal")
    with pytest.raises(ValidationError, match=r"^The WIP min of Proposal cannot be negative"):
        validate_limits(None, -2, None, stage="Proposal")
    with pytest.raises(ValidationError, match=r"per-rep WIP max of Proposal cannot be negative"):
        validate_limits(None, None, -3, stage="Proposal")
    with pytest.raises(ValidationError, match=r"^The WIP min of Proposal \(3\) is greater than its WIP max \(2\)\.$"):
        validate_limits(2, 3, None, stage="Proposal")


# -- services ---------------------------------------------------------------------------------------


@pytest.fixture
def sales(db: Database) -> Database:
    create_pipeline(db, "Sales", "Lead,Qualified,Proposal,Negotiation")
    return db


def _fill(db: Database, n: int, stage: str = "Proposal", owner: str | None = None) -> list[int]:
    return [create_deal(db, "Sales", f"D{i}", user="ann", stage=stage, owner=owner).id for i in range(n)]


def _events(db: Database, kind: str) -> list[Event]:
    with db.read() as s:
        return list(s.exec(select(Event).where(Event.kind == kind).order_by(col(Event.id))))


def test_move_refused_at_the_limit_names_stage_and_limit(sales: Database) -> None:
    set_stage(sales, "Sales", "Proposal", wip_max=5)
    _fill(sales, 5)
    lead = create_deal(sales, "Sales", "Sixth", user="ann")
    with pytest.raises(WipLimitError) as info:
        move_deal(sales, lead.id, "Proposal", user="ann")
    assert str(info.value) == "Proposal is at its WIP limit (5/5)"
    assert (info.value.stage, info.value.count, info.value.limit, info.value.per_owner) == ("Proposal", 5, 5, False)
    # nothing changed: the deal is still in Lead, no move event was written
    assert [d.stage_name for d in list_deals(sales, "Sales") if d.id == lead.id] == ["Lead"]
    assert _events(sales, "move") == []


def test_create_into_a_full_stage_is_refused(sales: Database) -> None:
    set_stage(sales, "Sales", "Proposal", wip_max=2)
    _fill(sales, 2)
    with pytest.raises(WipLimitError, match=r"^Proposal is at its WIP limit \(2/2\)$"):
        create_deal(sales, "Sales", "Third", user="ann", stage="Proposal")
    assert len(list_deals(sales, "Sales")) == 2


def test_under_the_limit_is_admitted_and_closed_deals_do_not_count(sales: Database) -> None:
    set_stage(sales, "Sales", "Proposal", wip_max=2)
    a, _b = _fill(sales, 2)
    lose_deal(sales, a, "Price", user="ann")  # a lost deal leaves the column: 1/2
    c = create_deal(sales, "Sales", "C", user="ann", stage="Proposal")
    assert c.stage_name == "Proposal"
    _info, rows = stage_rows(sales, "Sales")
    assert {r.stage.name: r.open_deals for r in rows}["Proposal"] == 2


def test_per_rep_limit(sales: Database) -> None:
    set_stage(sales, "Sales", "Proposal", rep_wip_max=2)
    _fill(sales, 2, owner="ann")
    with pytest.raises(WipLimitError) as info:
        create_deal(sales, "Sales", "Third of ann's", user="ann", stage="Proposal", owner="ann")
    assert str(info.value) == "Proposal is at its per-rep WIP limit for ann (2/2)"
    assert info.value.per_owner
    # another rep still gets in; the team-wide count is not limited
    bob = create_deal(sales, "Sales", "Bob's", user="bob", stage="Proposal", owner="bob")
    assert bob.owner == "bob"
    # moving ann's deal from Lead is refused too
    lead = create_deal(sales, "Sales", "Ann lead", user="ann", owner="ann")
    with pytest.raises(WipLimitError, match="per-rep WIP limit for ann"):
        move_deal(sales, lead.id, "Proposal", user="ann")


def test_force_needs_a_reason_and_logs_an_override(sales: Database, fixed_now: str) -> None:
    set_stage(sales, "Sales", "Proposal", wip_max=1)
    _fill(sales, 1)
    lead = create_deal(sales, "Sales", "Big fish", user="ann")
    with pytest.raises(ValidationError, match="needs a reason"):
        move_deal(sales, lead.id, "Proposal", user="ann", force_reason="   ")
    assert _events(sales, "wip_override") == []
    result = move_deal(sales, lead.id, "Proposal", user="ann", force_reason="CEO's request")
    assert result.forced
    assert result.deal.stage_name == "Proposal"
    overrides = _events(sales, "wip_override")
    assert len(overrides) == 1
    ov = overrides[0]
    assert (ov.deal_id, ov.user, ov.reason) == (lead.id, "ann", "CEO's request")
    assert ov.at.isoformat() == "2026-03-02T12:00:00+00:00"
    _info, rows = stage_rows(sales, "Sales")
    proposal = next(r for r in rows if r.stage.name == "Proposal")
    assert wip_state(proposal.open_deals, proposal.stage.wip_max) is WipState.OVER  # 2 of 1


def test_forced_create_logs_override(sales: Database) -> None:
    set_stage(sales, "Sales", "Proposal", wip_max=0)
    deal = create_deal(sales, "Sales", "Forced in", user="ann", stage="Proposal", force_reason="pilot")
    ov = _events(sales, "wip_override")
    assert [(e.deal_id, e.reason) for e in ov] == [(deal.id, "pilot")]


def test_force_below_the_limit_logs_nothing(sales: Database) -> None:
    set_stage(sales, "Sales", "Proposal", wip_max=3)
    lead = create_deal(sales, "Sales", "Room enough", user="ann")
    result = move_deal(sales, lead.id, "Proposal", user="ann", force_reason="just in case")
    assert not result.forced
    assert _events(sales, "wip_override") == []


def test_lowering_a_limit_keeps_deals_and_refuses_entries(sales: Database) -> None:
    ids = _fill(sales, 4)
    set_stage(sales, "Sales", "Proposal", wip_max=2)  # allowed although 4 > 2
    deals = list_deals(sales, "Sales")
    assert sorted(d.id for d in deals if d.stage_name == "Proposal") == sorted(ids)
    lead = create_deal(sales, "Sales", "Newcomer", user="ann")
    with pytest.raises(WipLimitError, match=r"^Proposal is at its WIP limit \(4/2\)$"):
        move_deal(sales, lead.id, "Proposal", user="ann")
    # leaving is always allowed
    move_deal(sales, ids[0], "Negotiation", user="ann")
    _info, rows = stage_rows(sales, "Sales")
    assert {r.stage.name: r.open_deals for r in rows}["Proposal"] == 3


def test_reopen_is_subject_to_wip(sales: Database) -> None:
    set_stage(sales, "Sales", "Proposal", wip_max=1)
    a, = _fill(sales, 1)
    lost = create_deal(sales, "Sales", "Lost one", user="ann")
    lose_deal(sales, lost.id, "Timing", user="ann")
    with pytest.raises(WipLimitError, match=r"Proposal is at its WIP limit \(1/1\)"):
        reopen_deal(sales, lost.id, "Proposal", user="ann")
    reopened = reopen_deal(sales, lost.id, "Proposal", user="ann", force_reason="came back")
    assert reopened.status == "open"
    assert [e.deal_id for e in _events(sales, "wip_override")] == [lost.id]
    assert a != lost.id


def test_wip_limit_validation_through_the_service(sales: Database) -> None:
    with pytest.raises(ValidationError, match="cannot be negative"):
        set_stage(sales, "Sales", "Proposal", wip_max=-1)
    set_stage(sales, "Sales", "Proposal", wip_max=3)
    with pytest.raises(ValidationError, match=r"WIP min of Proposal \(4\) is greater than its WIP max \(3\)"):
        set_stage(sales, "Sales", "Proposal", wip_min=4)
    # clearing the max lifts the check
    info = set_stage(sales, "Sales", "Proposal", wip_max=None, wip_min=4)
    assert (info.wip_max, info.wip_min) == (None, 4)


def test_changing_the_owner_respects_the_per_rep_limit(sales: Database) -> None:
    from tuikanban.services.deals import edit_deal, get_deal

    set_stage(sales, "Sales", "Proposal", rep_wip_max=1)
    _fill(sales, 1, owner="bob")
    mine = create_deal(sales, "Sales", "Mine", user="ann", stage="Proposal", owner="ann")
    with pytest.raises(WipLimitError, match=r"^Proposal is at its per-rep WIP limit for bob \(1/1\)$"):
        edit_deal(sales, mine.id, {"owner": "bob"}, user="ann")
    assert get_deal(sales, mine.id).owner == "ann"
    # a deal outside the limited stage can change hands freely
    lead = create_deal(sales, "Sales", "Lead deal", user="ann", owner="ann")
    view, changed = edit_deal(sales, lead.id, {"owner": "bob"}, user="ann")
    assert (view.owner, changed) == ("bob", ["owner"])
