"""Stage gates in imports (docs/RULES.md, Import and export): a CSV row or a JSON deal entering a gated stage
without the fields it requires is refused with a sentence naming it and what is missing, all or nothing, unless
`--force --reason` (logged as `gate_override`). On both engines; the JSON round trip imports into SQLite files."""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from engines import rows

pytestmark = pytest.mark.engines  # the tests that use a database run on SQLite and on PostgreSQL

FIXTURES = Path(__file__).parent / "fixtures"
if str(FIXTURES) not in sys.path:
    sys.path.insert(0, str(FIXTURES))
tk_checks: Any = importlib.import_module("tk_checks")


def counts(target: Path | str) -> tuple[int, int, int]:
    return tuple(rows(target, f"SELECT count(*) FROM {t}")[0][0]  # type: ignore[return-value]
                 for t in ("deal", "event", "stay"))


@pytest.fixture
def sales(cli: Any, fixed_now: str) -> Any:
    assert cli("pipeline", "create", "Sales", "--stages", "Lead,Qualified,Proposal,Negotiation",
               "--types", "New business,Renewal").code == 0
    assert cli("stage", "set", "Proposal", "--wip-max", "2").code == 0
    return cli


def test_rows_entering_a_gated_stage_without_its_fields_are_refused_unless_forced(
        sales: Any, db_target: str, tmp_path: Path) -> None:
    assert sales("stage", "set", "Qualified", "--require", "value,close").code == 0
    assert sales("stage", "set", "Negotiation", "--require", "company").code == 0
    f = tmp_path / "deals.csv"
    f.write_text("title,stage,value,expected_close,company,status,closed_at\n"
                 "Q1,Qualified,100,2026-05-01,,,\n"      # line 2: has both
                 "Q2,Qualified,,2026-05-01,,,\n"         # line 3: no value
                 "Q3,Qualified,0,,,,\n"                  # line 4: a zero value counts as none, no close date
                 "N1,Negotiation,,,Acme,,\n"             # line 5: has the company
                 "N2,Negotiation,5,,,,\n"                # line 6: no company
                 "W1,Negotiation,,,,won,2026-02-01\n"    # line 7: closed deals pass no gate
                 "L1,Lead,,,,,\n", encoding="utf-8")
    before = counts(db_target)
    r = sales("import", str(f))
    assert r.code == 1
    assert r.err.strip().splitlines() == [
        "line 3: Qualified needs a value.",
        "line 4: Qualified needs a value and an expected close date.",
        "line 6: Negotiation needs a company.",
        "Nothing was imported: 3 rows would enter a stage without what its gate requires (use --force with --reason "
        "to import them anyway, logged as gate overrides).",
    ]
    assert counts(db_target) == before
    r = sales("import", str(f), "--force", "--reason", "old CRM data")
    assert r.code == 0, r.err
    assert r.out.strip().splitlines() == [
        "Imported 7 deals into Sales (6 open, 1 won, 0 lost).",
        "3 of them entered a stage without what its gate requires; each is logged as a gate override.",
    ]
    overrides = rows(
        db_target, "SELECT d.title, s.name, e.new_value, e.reason, e.at = d.created_at FROM event e JOIN deal d ON "
        "d.id = e.deal_id JOIN stage s ON s.id = e.to_stage_id WHERE e.kind = 'gate_override' ORDER BY d.title")
    first_kinds = rows(db_target, "SELECT e.kind FROM event e JOIN deal d ON d.id = e.deal_id WHERE d.title = 'Q3' "
                                  "ORDER BY e.id")
    assert overrides == [("N2", "Negotiation", "company", "old CRM data", 1),
                         ("Q2", "Qualified", "value", "old CRM data", 1),
                         ("Q3", "Qualified", "value,close", "old CRM data", 1)]
    assert first_kinds == [("gate_override",), ("create",)]  # as `deal add --force` logs it
    _replay, problems = tk_checks.check_database(db_target)
    assert problems == []


def test_a_row_past_a_wip_limit_and_a_gate_names_both(sales: Any, db_target: str, tmp_path: Path) -> None:
    assert sales("stage", "set", "Proposal", "--require", "owner,contact").code == 0
    f = tmp_path / "deals.csv"
    f.write_text("title,stage,contact\nP1,Proposal,Jo\nP2,Proposal,Jo\nP3,Proposal,\n", encoding="utf-8")
    r = sales("import", str(f))
    assert r.code == 1
    assert r.err.strip().splitlines() == [
        "line 4: Proposal is at its WIP limit (2/2); Proposal needs a contact.",
        "Nothing was imported: 1 row would go past a WIP limit or a stage gate (use --force with --reason to import "
        "them anyway, logged as overrides).",
    ]
    r = sales("import", str(f), "--force", "--reason", "agreed")
    assert r.code == 0, r.err
    kinds = rows(db_target, "SELECT e.kind FROM event e JOIN deal d ON d.id = e.deal_id WHERE d.title = 'P3' "
                            "ORDER BY e.id")
    assert kinds == [("wip_override",), ("gate_override",), ("create",)]


def test_a_csv_import_on_either_engine(cli: Any, db_target: str, tmp_path: Path, fixed_now: str) -> None:
    assert cli("pipeline", "create", "Sales", "--stages", "Lead,Won it,Proposal").code == 0
    assert cli("stage", "set", "Proposal", "--require", "value").code == 0
    f = tmp_path / "deals.csv"
    f.write_text("title,value,stage,status,created_at,closed_at,lost_reason,expected_close\n"
                 + "".join(f"D{i},{i}.5,Lead,open,2026-01-0{1 + i % 9},,,2026-04-30\n" for i in range(1200))
                 + "W,10,Lead,won,2026-01-02,2026-02-03T10:00:00+00:00,,\n"
                 + "L,,Lead,lost,2026-01-02,2026-02-04,Price,\n"
                 + "P,,Proposal,open,2026-01-03,,,\n", encoding="utf-8")
    refused = cli("import", str(f))
    assert refused.code == 1 and refused.err.splitlines()[0] == "line 1204: Proposal needs a value."
    assert rows(db_target, "SELECT count(*) FROM deal") == [(0,)]
    r = cli("import", str(f), "--force", "--reason", "migration")
    assert r.code == 0, r.err
    assert r.out.splitlines()[0] == "Imported 1,203 deals into Sales (1,201 open, 1 won, 1 lost)."
    assert rows(db_target, "SELECT count(*), sum(value_minor) FROM deal") == [
        (1203, sum(i * 100 + 50 for i in range(1200)) + 1000)]
    assert [str(v) for (v,) in rows(db_target, "SELECT expected_close FROM deal WHERE title = 'D7'")] == ["2026-04-30"]
    assert rows(db_target, "SELECT kind, count(*) FROM event GROUP BY kind ORDER BY kind") == [
        ("create", 1203), ("gate_override", 1), ("lost", 1), ("won", 1)]
    won = rows(db_target, "SELECT d.closed_at, y.left_at, y.outcome FROM deal d JOIN stay y ON y.deal_id = d.id "
                          "WHERE d.title = 'W'")
    assert len(won) == 1 and won[0][0] == won[0][1] and won[0][2] == "advanced"
    assert str(won[0][0]).startswith("2026-02-03 10:00:00")


def test_json_carries_the_stage_gates_and_applies_them_to_open_deals(cli: Any, tmp_path: Path, fixed_now: str
                                                                       ) -> None:
    """Exported from the test's database (either engine), imported into an SQLite file."""
    assert cli("pipeline", "create", "Sales", "--stages", "Lead,Proposal,Contract").code == 0
    assert cli("deal", "add", "Early", "--at", "2026-01-05").code == 0  # deal 1
    assert cli("deal", "add", "Valued", "--value", "500", "--close", "2026-04-30", "--at", "2026-01-06").code == 0
    assert cli("deal", "add", "Forced", "--at", "2026-01-07").code == 0  # deal 3
    assert cli("deal", "move", "1", "Proposal", "--at", "2026-01-10").code == 0  # before the gate was set
    assert cli("stage", "set", "Proposal", "--require", "value,close", "--checklist", "Budget;Champion").code == 0
    assert cli("deal", "move", "2", "Proposal", "--at", "2026-01-11").code == 0  # meets the gate
    assert cli("deal", "move", "3", "Proposal", "--force", "--reason", "CEO", "--at", "2026-01-12").code == 0
    export = tmp_path / "sales.json"
    assert cli("export", "--format", "json", "-o", str(export)).code == 0
    stages = {s["name"]: s for s in json.loads(export.read_text())["stages"]}
    assert (stages["Proposal"]["required"], stages["Proposal"]["checklist"]) == (["value", "close"],
                                                                                ["Budget", "Champion"])
    assert (stages["Lead"]["required"], stages["Lead"]["checklist"]) == ([], [])

    target = tmp_path / "other.db"
    r = cli("--db", str(target), "import", str(export))
    assert r.code == 1
    assert r.err.strip().splitlines() == [  # deal 3 carries its override; deal 1 entered before the gate existed
        "deal 1 ('Early'): Proposal needs a value and an expected close date.",
        "Nothing was imported: 1 open deal is in a stage without what its gate requires (use --force with --reason "
        "to import them anyway, logged as gate overrides).",
    ]
    assert not target.exists() or counts(target) == (0, 0, 0)
    r = cli("--db", str(target), "--user", "mover", "import", str(export), "--force", "--reason", "moved boards")
    assert r.code == 0, r.err
    assert r.out.strip().splitlines() == [
        "Imported 3 deals into Sales (3 open, 0 won, 0 lost).",
        "1 of them entered a stage without what its gate requires; each is logged as a gate override.",
    ]
    assert rows(target, "SELECT deal_id, \"user\", new_value, reason, at FROM event WHERE kind = 'gate_override' "
                        "ORDER BY id") == [
        (3, "tester", "value,close", "CEO", "2026-01-12 00:00:00.000000"),
        (1, "mover", "value,close", "moved boards", "2026-03-02 12:00:00.000000")]
    assert rows(target, "SELECT required, checklist FROM stage WHERE name = 'Proposal'") == [
        ("value,close", "Budget\nChampion")]
    _replay, problems = tk_checks.check_database(target)
    assert problems == []
    # the board as imported exports and imports again without --force: every deal's entry is accounted for
    again = tmp_path / "again.json"
    assert cli("--db", str(target), "export", "--format", "json", "-o", str(again)).code == 0
    r = cli("--db", str(tmp_path / "third.db"), "import", str(again))
    assert r.code == 0, r.err


def test_a_json_gate_that_is_not_a_list_of_fields_is_a_problem(cli: Any, tmp_path: Path, fixed_now: str) -> None:
    assert cli("pipeline", "create", "Sales", "--stages", "Lead,Proposal").code == 0
    export = tmp_path / "sales.json"
    assert cli("export", "--format", "json", "-o", str(export)).code == 0
    doc = json.loads(export.read_text())
    doc["stages"][0]["required"] = "value"
    doc["stages"][1]["required"] = ["value", "budget"]
    export.write_text(json.dumps(doc))
    r = cli("--db", str(tmp_path / "other.db"), "import", str(export))
    assert r.code == 1
    assert r.err.strip().splitlines() == [
        "stages[0]: 'required' must be a list of field names.",
        "stages[1]: 'budget' is not a field a stage can require; use value, close, company, contact, owner, "
        "next_step or none.",
        "Nothing was imported: the file has 2 problems.",
    ]
