"""Edit conflicts merge field by field: a save never discards another rep's change nor the user's typing."""

from __future__ import annotations

from datetime import date

import pytest

from tuikanban.domain.merge import EditConflictError, merge_fields
from tuikanban.services.deals import create_deal, edit_base, edit_deal, get_deal, move_deal
from tuikanban.services.pipelines import create_pipeline
from tuikanban.store.engine import Database

pytestmark = pytest.mark.engines  # the tests that use a database run on SQLite and on PostgreSQL


def test_merge_fields_rules() -> None:
    base = {"a": 1, "b": 2, "c": 3, "d": 4}
    mine = {"a": 1, "b": 20, "c": 30, "d": 40}  # a unchanged by me; b, c, d changed
    theirs = {"a": 10, "b": 2, "c": 30, "d": 41}  # a changed by them only; c changed to the same; d to another
    merged = merge_fields(base, mine, theirs)
    assert merged.apply == {"b": 20}  # c needs nothing (already 30), a stays theirs
    assert merged.conflicts == ["d"]


@pytest.fixture
def deal(db: Database, monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setenv("TUIKANBAN_NOW", "2026-03-02T12:00:00+00:00")
    create_pipeline(db, "Sales", ["Lead", "Proposal"], types=["Renewal"])
    return create_deal(db, "Sales", "Acme", value="10k", company="Acme", close="2026-04-30", user="alice").id


def test_bobs_notes_survive_alices_move_and_value_edit(db: Database, deal: int) -> None:
    bobs_form = edit_base(get_deal(db, deal))  # bob presses e
    move_deal(db, deal, "Proposal", user="alice")  # alice moves it meanwhile (H)
    edit_deal(db, deal, {"value": "12k"}, user="alice")  # and raises its value
    view, changed = edit_deal(db, deal, {"title": "Acme", "value": "10k", "notes": "Call Tue about the PO"},
                              user="bob", base=bobs_form)
    assert changed == ["notes"]
    assert (view.notes, view.value_minor, view.stage_name) == ("Call Tue about the PO", 1_200_000, "Proposal")


def test_the_same_field_changed_by_both_is_a_conflict_and_nothing_is_saved(db: Database, deal: int) -> None:
    bobs_form = edit_base(get_deal(db, deal))
    edit_deal(db, deal, {"value": "12k", "close": "2026-05-15"}, user="alice")
    with pytest.raises(EditConflictError) as info:
        edit_deal(db, deal, {"value": "15k", "close": "2026-05-15", "notes": "mine"}, user="bob", base=bobs_form)
    assert str(info.value) == ("alice changed the value while you were editing; nothing was saved. For each, keep "
                               "yours or take theirs, then save again.")
    [conflict] = info.value.conflicts  # close was changed by both to the same date: no conflict
    assert (conflict.field, conflict.mine, conflict.theirs, conflict.by) == ("value", 1_500_000, 1_200_000, "alice")
    view = get_deal(db, deal)
    assert (view.value_minor, view.expected_close, view.notes) == (1_200_000, date(2026, 5, 15), "")
    # bob keeps his value: his base for that field becomes what he saw in the conflict, and he saves again
    bobs_form["value"] = conflict.theirs
    bobs_form["close"] = view.expected_close
    view, changed = edit_deal(db, deal, {"value": "15k", "close": "2026-05-15", "notes": "mine"}, user="bob",
                              base=bobs_form)
    assert changed == ["notes", "value"]
    assert (view.value_minor, view.notes) == (1_500_000, "mine")


def test_settings_saves_merge_too(db: Database) -> None:
    from tuikanban.services.pipelines import get_pipeline, list_stages, set_stage, update_pipeline

    create_pipeline(db, "Sales", ["Lead", "Proposal"], target="100k")
    loaded = {"name": "Sales", "currency": "USD", "target": 10_000_000, "stale_days": 10, "lost_reasons": []}
    update_pipeline(db, "Sales", stale_days=14)  # carol, meanwhile
    # dave's screen submits every field; he changed only the target: carol's stale days stay
    p = update_pipeline(db, "Sales", name="Sales", currency="USD", target="120k", stale_days=10, base=loaded)
    assert (p.target_minor, p.stale_days) == (12_000_000, 14)
    with pytest.raises(EditConflictError) as info:
        update_pipeline(db, "Sales", stale_days=21, base=loaded)  # he changed stale days too: carol's 14 is kept
    assert str(info.value) == ("Someone else changed the stale days while you were editing; nothing was saved. For "
                               "each, keep yours or take theirs, then save again.")
    assert get_pipeline(db, "Sales").stale_days == 14
    stage_loaded = {"wip_max": None, "expected_days": None, "exit_criteria": ""}
    set_stage(db, "Sales", "Proposal", wip_max=5)
    st = set_stage(db, "Sales", "Proposal", base=stage_loaded, wip_max=None, expected_days=9, exit_criteria="")
    assert (st.wip_max, st.expected_days) == (5, 9)
    with pytest.raises(EditConflictError):
        set_stage(db, "Sales", "Proposal", base=stage_loaded, wip_max=3)
    assert [s.wip_max for s in list_stages(db, "Sales")] == [None, 5]
