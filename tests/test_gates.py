"""Stage gates: required fields refused like a WIP limit (CLI exit 1 with the --force hint, services raising
GateError) on move, create and reopen; --force --reason logs gate_override; the exit checklist is ticked per deal."""

from __future__ import annotations

import json
from typing import Any

import pytest

from engines import rows
from tuikanban.domain.errors import GateError, ValidationError
from tuikanban.domain.gates import GateFields, find_item, missing, parse_checklist, parse_requirements, refusal
from tuikanban.services.deals import add_activity, create_deal, move_deal, reopen_deal, win_deal
from tuikanban.services.gates import set_gate
from tuikanban.services.pipelines import create_pipeline
from tuikanban.store.engine import Database

pytestmark = pytest.mark.engines  # the tests that use a database run on SQLite and on PostgreSQL


def ok(cli: Any, *args: str) -> str:
    r = cli(*args)
    assert r.code == 0, (args, r.err)
    return str(r.out)


def events(db_target: str, kind: str) -> list[tuple[Any, ...]]:
    return rows(db_target, "SELECT deal_id, to_stage_id, new_value, reason FROM event WHERE kind = :kind ORDER BY id",
                kind=kind)


def test_sentences() -> None:
    assert refusal("Proposal", ("value", "close")) == "Proposal needs a value and an expected close date"
    assert refusal("Won-ish", ("company", "contact", "owner")) == "Won-ish needs a company, a contact and an owner"
    assert parse_requirements("close, VALUE,next_step") == ("value", "close", "next_step")
    assert parse_requirements("none") == ()
    with pytest.raises(ValidationError, match="'budget' is not a field"):
        parse_requirements("value,budget")
    assert parse_checklist("Budget confirmed; Decision maker named;;budget confirmed") == (
        "Budget confirmed", "Decision maker named")
    empty = GateFields(None, None, "", "", "", False)
    assert missing(("value", "owner", "next_step"), empty) == ("value", "owner", "next_step")
    assert missing(("value",), GateFields(0, None, "", "", "", False)) == ("value",)  # a zero value is no value
    items = ("Budget confirmed", "Decision maker named")
    assert find_item(items, "decision MAKER named") == "Decision maker named"
    assert find_item(items, "2") == "Decision maker named"
    assert find_item(items, "budget") == "Budget confirmed"
    with pytest.raises(ValidationError, match="not on the checklist"):
        find_item(items, "legal")


def test_cli_move_is_refused_then_forced(cli: Any, db_target: str, fixed_now: str) -> None:
    ok(cli, "pipeline", "create", "Sales", "--stages", "Lead,Qualified,Proposal")
    out = ok(cli, "stage", "set", "Proposal", "--require", "value,close",
             "--checklist", "Budget confirmed;Decision maker named")
    assert "Requires value, close; checklist: Budget confirmed; Decision maker named." in out
    ok(cli, "deal", "add", "Acme", "--company", "Acme")
    r = cli("deal", "move", "1", "Proposal")
    assert r.code == 1
    assert r.err.strip() == ("Proposal needs a value and an expected close date; "
                             "add --force --reason TEXT to override it")
    assert json.loads(ok(cli, "deal", "show", "1", "--json"))["stage"] == "Lead"  # nothing changed
    ok(cli, "deal", "edit", "1", "--value", "5k")
    r = cli("deal", "move", "1", "Proposal")
    assert r.code == 1 and r.err.startswith("Proposal needs an expected close date;")
    out = ok(cli, "deal", "move", "1", "Proposal", "--force", "--reason", "CEO asked")
    assert out.strip() == "Moved deal 1 from Lead to Proposal (stage gate overridden)."
    assert events(db_target, "gate_override") == [(1, 3, "close", "CEO asked")]
    shown = json.loads(ok(cli, "deal", "show", "1", "--json"))
    assert shown["gate"] == {"stage": "Proposal", "requires": ["value", "close"], "missing": ["close"],
                             "checklist": [{"item": "Budget confirmed", "done": False},
                                           {"item": "Decision maker named", "done": False}]}
    history = ok(cli, "deal", "show", "1")
    assert "stage gate of" in history and "CEO asked" in history


def test_checklist_ticks(cli: Any, fixed_now: str) -> None:
    ok(cli, "pipeline", "create", "Sales", "--stages", "Lead,Proposal")
    ok(cli, "stage", "set", "Lead", "--checklist", "Budget confirmed;Decision maker named")
    ok(cli, "deal", "add", "Acme")
    assert ok(cli, "deal", "check", "1", "budget").strip() == "Deal 1: Budget confirmed ticked."
    assert ok(cli, "deal", "check", "1", "1").strip() == "Deal 1: Budget confirmed was already ticked."
    gate = json.loads(ok(cli, "deal", "show", "1", "--json"))["gate"]
    assert [c["done"] for c in gate["checklist"]] == [True, False]
    ok(cli, "deal", "check", "1", "Budget confirmed", "--undo")
    gate = json.loads(ok(cli, "deal", "show", "1", "--json"))["gate"]
    assert [c["done"] for c in gate["checklist"]] == [False, False]
    r = cli("deal", "check", "1", "legal review")
    assert r.code == 1 and "is not on the checklist" in r.err
    stages = json.loads(ok(cli, "stage", "list", "--json"))["stages"]
    assert stages[0]["checklist"] == ["Budget confirmed", "Decision maker named"] and stages[0]["requires"] == []
    ok(cli, "stage", "set", "Lead", "--checklist", "")
    assert json.loads(ok(cli, "stage", "list", "--json"))["stages"][0]["checklist"] == []


def test_services_create_reopen_and_next_step(db: Database, fixed_now: str) -> None:
    p = create_pipeline(db, "Sales", ["Lead", "Proposal", "Contract"])
    set_gate(db, p.id, "Contract", require="contact,next_step")
    set_gate(db, p.id, "Proposal", require="owner")
    with pytest.raises(GateError) as info:
        create_deal(db, p.id, "Acme", user="ann", stage="Contract", contact="Bo")
    assert str(info.value) == "Contract needs a next step (an open task with a due date)"
    assert info.value.missing == ("next_step",)
    d = create_deal(db, p.id, "Acme", user="ann", contact="Bo")
    with pytest.raises(GateError):
        move_deal(db, d.id, "Contract", user="ann")
    add_activity(db, d.id, "note", "called", user="ann")  # a note is no next step
    with pytest.raises(GateError):
        move_deal(db, d.id, "Contract", user="ann")
    add_activity(db, d.id, "task", "send contract", user="ann", due="2026-03-05")
    assert move_deal(db, d.id, "Contract", user="ann").gate_forced is False
    win_deal(db, d.id, user="ann")
    nobody = create_deal(db, p.id, "Globex", user="ann", owner="")
    win_deal(db, nobody.id, user="ann")
    with pytest.raises(GateError, match=r"^Proposal needs an owner$"):
        reopen_deal(db, nobody.id, "Proposal", user="ann")
    reopen_deal(db, nobody.id, "Proposal", user="ann", force_reason="cleanup")
    set_gate(db, p.id, "Proposal", require="none")
    reopen_deal(db, d.id, "Proposal", user="ann")  # no gate any more
