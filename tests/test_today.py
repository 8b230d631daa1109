"""The Today queue (services.today and `tuikanban today`), by hand on Monday 2026-03-02 12:00 UTC."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tuikanban.services.deals import create_deal, win_deal
from tuikanban.services.pipelines import create_pipeline, set_stage, update_pipeline
from tuikanban.services.tasks import add_task, complete_task
from tuikanban.services.today import today_queue
from tuikanban.store.engine import Database

pytestmark = pytest.mark.engines  # the tests that use a database run on SQLite and on PostgreSQL


@pytest.fixture
def day(db: Database, fixed_now: str) -> dict[str, int]:
    """Sales: Lead (no history: 7-day default baseline), Proposal (expects 10 days). Partners: the no_next_step
    signal is off. Deals (ann's unless said):
      D1 Lead since 03-01, tasks due 02-25 (5 days overdue) and 02-27 (3 days overdue)
      D2 Lead since 03-01, a task due today
      D3 Lead since 02-28, no task; D4 Lead since 02-20 (10 days / 7: aging), no task: both "no next step", D4
         first (waiting longer), and D4 is not listed again as aging
      D5 Proposal since 02-10 (20 days / 10 = 2.0: stalled), a task next Monday
      D6 Proposal since 02-15 (15 / 10 = 1.5: aging), a task next Monday
      D7 Proposal since 02-25 (5 / 10: ok), a task next Monday: not listed
      D8 bob's, a task due 02-28 (2 days overdue): only in everyone's queue
      D9 won, with an open task due 02-20: never listed
      D10 Partners, Lead since 02-01 (29 days / 7 = 4.14: stalled), no task, but the pipeline's signal is off:
         listed as stalled, first (the most severe)
    """
    create_pipeline(db, "Sales", "Lead,Proposal")
    set_stage(db, "Sales", "Proposal", expected_days=10)
    create_pipeline(db, "Partners", "Lead")
    update_pipeline(db, "Partners", next_step_signal=False)
    ids: dict[str, int] = {}

    def deal(name: str, since: str, stage: str = "Lead", owner: str = "ann", pipeline: str = "Sales") -> int:
        ids[name] = create_deal(db, pipeline, name, user="ann", owner=owner, stage=stage, value="100",
                                at=f"{since}T12:00").id
        return ids[name]

    ids["t1b"] = add_task(db, deal("D1", "2026-03-01"), "Second", "2026-02-27", user="ann").id
    ids["t1a"] = add_task(db, ids["D1"], "First", "2026-02-25", user="ann").id
    ids["t2"] = add_task(db, deal("D2", "2026-03-01"), "Call today", "today", user="ann").id
    done = add_task(db, deal("D3", "2026-02-28"), "finished", "2026-02-26", user="ann")
    complete_task(db, done.id, user="ann")  # a done task is no next step
    deal("D4", "2026-02-20")
    for name, since in (("D5", "2026-02-10"), ("D6", "2026-02-15"), ("D7", "2026-02-25")):
        add_task(db, deal(name, since, "Proposal"), "Later", "mon", user="ann")
    ids["t8"] = add_task(db, deal("D8", "2026-03-01", owner="bob"), "Bob's", "2026-02-28", user="bob").id
    add_task(db, deal("D9", "2026-02-01"), "Won anyway", "2026-02-20", user="ann")
    win_deal(db, ids["D9"], user="ann")
    deal("D10", "2026-02-01", pipeline="Partners")
    return ids


def test_the_queue_in_order(db: Database, day: dict[str, int]) -> None:
    items = today_queue(db, owner="ann").items
    got = [(i.kind, i.deal_id, i.task_id, i.days_overdue) for i in items]
    assert got == [
        ("overdue", day["D1"], day["t1a"], 5),
        ("overdue", day["D1"], day["t1b"], 3),
        ("due_today", day["D2"], day["t2"], 0),
        ("no_next_step", day["D4"], None, 0),
        ("no_next_step", day["D3"], None, 0),
        ("stalled", day["D10"], None, 0),
        ("stalled", day["D5"], None, 0),
        ("aging", day["D6"], None, 0),
    ]
    d10 = items[5]
    assert (d10.pipeline, d10.stage, d10.days_in_stage, round(d10.severity, 4)) == ("Partners", "Lead", 29.0, 4.1429)
    assert (items[6].days_in_stage, items[6].severity, items[7].severity) == (20.0, 2.0, 1.5)
    assert (items[0].text, items[0].title, items[0].stage) == ("First", "D1", "Lead")


def test_owner_and_everyone(db: Database, day: dict[str, int]) -> None:
    assert [(i.kind, i.deal_id) for i in today_queue(db, owner="bob").items] == [("overdue", day["D8"])]
    everyone = today_queue(db, owner=None).items
    assert [i.task_id for i in everyone if i.kind == "overdue"] == [day["t1a"], day["t1b"], day["t8"]]  # by due
    assert today_queue(db, owner="nobody").items == []


def test_cli_json(cli: Any, day: dict[str, int]) -> None:
    r = cli("--user", "ann", "today", "--json")
    assert r.code == 0, r.err
    doc = json.loads(r.out)
    assert doc["owner"] == "ann"
    assert [i["kind"] for i in doc["items"]] == ["overdue", "overdue", "due_today", "no_next_step", "no_next_step",
                                                 "stalled", "stalled", "aging"]
    first = doc["items"][0]
    assert first == {"kind": "overdue", "deal_id": day["D1"], "title": "D1", "stage": "Lead", "pipeline": "Sales",
                     "owner": "ann", "task_id": day["t1a"], "text": "First", "due": "2026-02-25", "days_overdue": 5}
    stalled = doc["items"][6]
    assert {k: stalled[k] for k in ("kind", "deal_id", "title", "stage", "days_in_stage")} == {
        "kind": "stalled", "deal_id": day["D5"], "title": "D5", "stage": "Proposal", "days_in_stage": 20.0}
    assert "task_id" not in stalled
    bob = json.loads(cli("today", "--owner", "bob", "--json").out)
    assert [i["task_id"] for i in bob["items"]] == [day["t8"]]
    assert len(json.loads(cli("today", "--all", "--json").out)["items"]) == 9


def test_cli_table_and_empty(cli: Any, day: dict[str, int]) -> None:
    r = cli("--user", "ann", "today")
    assert r.code == 0, r.err
    lines = r.out.splitlines()
    assert "overdue 5 d" in lines[2] and "task " in lines[2] and "First" in lines[2]
    assert any("no next step" in line for line in lines) and any("stalled 20 d" in line for line in lines)
    r = cli("--user", "carol", "today")
    assert r.out.strip().startswith("Nothing due today for carol")


def test_limit_keeps_every_task_and_counts_every_line(db: Database, day: dict[str, int]) -> None:
    queue = today_queue(db, owner="ann", limit=1)
    assert [(i.kind, i.deal_id) for i in queue.items] == [
        ("overdue", day["D1"]), ("overdue", day["D1"]), ("due_today", day["D2"]),  # tasks are never cut
        ("no_next_step", day["D4"]), ("stalled", day["D10"]), ("aging", day["D6"])]
    assert queue.totals == {"overdue": 2, "due_today": 1, "no_next_step": 2, "stalled": 2, "aging": 1}
    assert today_queue(db, owner="ann").totals == queue.totals


def test_cli_table_limit(cli: Any, day: dict[str, int]) -> None:
    r = cli("--user", "ann", "today", "--limit", "1")
    assert r.code == 0, r.err
    assert "And 1 more no next step, 1 more stalled; --limit 0 shows all." in r.out
    assert "And " not in cli("--user", "ann", "today", "--limit", "0").out


def test_monday_with_the_demo_data(cli: Any, tmp_path: Path, fixed_now: str) -> None:
    """The check of the issue: on a Monday (the fixed clock) the demo's rep sees overdue tasks first, oldest first,
    then today's, then deals without a next step, then stuck deals."""
    from tuikanban.services.demo.build import build_demo

    path = build_demo(tmp_path / "demo.db", seed=7).path
    doc = json.loads(cli("--db", str(path), "--user", "alice", "today", "--json").out)
    items = doc["items"]
    kinds = [i["kind"] for i in items]
    order = ["overdue", "due_today", "no_next_step", "stalled", "aging"]
    assert kinds[0] == "overdue" and "no_next_step" in kinds
    assert kinds == sorted(kinds, key=order.index)  # each kind in its block, in the queue's order
    overdue = [i["due"] for i in items if i["kind"] == "overdue"]
    assert overdue == sorted(overdue) and all(due < "2026-03-02" for due in overdue)
    assert {i["owner"] for i in items} == {"alice"}
    for item in items:
        assert {"deal_id", "title", "stage"} <= set(item)
        assert ({"task_id", "text", "due"} <= set(item)) == (item["kind"] in ("overdue", "due_today"))
