"""`tuikanban aging`: the table and the JSON document, over a history back-filled with --at."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.engines  # every test here runs on SQLite and on PostgreSQL


@pytest.fixture
def board(cli, fixed_now: str):  # type: ignore[no-untyped-def]
    """Now is 2026-03-02 12:00 UTC. Stage Proposal expects 10 days; Lead has no history (default 7 days).

    1 "Stuck [red]deal[/red]": Proposal since 02-10 (20 days / 10 = 2.0: stalled); value 0; untouched 20 days;
      no task (no_next_step).
    2 "Slow": Lead since 02-19 (11 days / 7 = 1.571...: aging); close 02-27 is past; edited 02-28 (no no_activity).
    3 "Fresh": Lead since 03-01 (1 day / 7: ok); value 100; no signal.
    """
    def ok(*args: str) -> str:
        r = cli(*args)
        assert r.code == 0, r.err
        return r.out

    ok("pipeline", "create", "Sales", "--stages", "Lead,Proposal")
    ok("stage", "set", "Proposal", "-p", "Sales", "--expected-days", "10")
    ok("deal", "add", "Stuck [red]deal[/red]", "--stage", "Proposal", "--value", "0", "--at", "2026-02-10T12:00")
    ok("deal", "add", "Slow", "--value", "2500", "--close", "2026-02-27", "--at", "2026-02-19T12:00")
    ok("deal", "edit", "2", "--company", "Initech", "--at", "2026-02-28T12:00")
    ok("deal", "add", "Fresh", "--value", "100", "--at", "2026-03-01T12:00")
    # Slow and Fresh have a next step; Stuck has none (no_next_step).
    ok("deal", "task", "2", "Call Initech", "--due", "+2d")
    ok("deal", "task", "3", "Send the deck", "--due", "2026-03-10")
    return cli


def test_json_has_the_spec_keys_sorted_by_severity(board) -> None:  # type: ignore[no-untyped-def]
    r = board("aging", "--json")
    assert r.code == 0, r.err
    doc = json.loads(r.out)
    deals = doc["deals"]
    assert [d["id"] for d in deals] == [1, 2, 3]
    spec_keys = ("id", "title", "stage", "days_in_stage", "baseline_days", "level", "signals")
    assert [{k: d[k] for k in spec_keys} for d in deals] == [
        {"id": 1, "title": "Stuck [red]deal[/red]", "stage": "Proposal", "days_in_stage": 20.0,
         "baseline_days": 10.0, "level": "stalled", "signals": ["no_activity", "no_value", "no_next_step"]},
        {"id": 2, "title": "Slow", "stage": "Lead", "days_in_stage": 11.0, "baseline_days": 7.0, "level": "aging",
         "signals": ["past_close"]},
        {"id": 3, "title": "Fresh", "stage": "Lead", "days_in_stage": 1.0, "baseline_days": 7.0, "level": "ok",
         "signals": []},
    ]
    assert deals[1]["severity"] == round(11 / 7, 2) == 1.57
    assert deals[1]["value"] == 2500 and deals[0]["value"] == 0
    assert doc["pipeline"] == "Sales" and doc["stale_days"] == 10
    assert [(s["name"], s["baseline_days"], s["baseline_source"]) for s in doc["stages"]] == [
        ("Lead", 7.0, "default"), ("Proposal", 10.0, "expected")]


def test_table_shows_titles_literally_and_levels(board) -> None:  # type: ignore[no-untyped-def]
    r = board("aging")
    assert r.code == 0, r.err
    assert "Stuck [red]deal[/red]" in r.out
    lines = r.out.splitlines()
    stuck = next(i for i, line in enumerate(lines) if "Stuck" in line)
    slow = next(i for i, line in enumerate(lines) if "Slow" in line)
    fresh = next(i for i, line in enumerate(lines) if "Fresh" in line)
    assert stuck < slow < fresh  # by severity
    assert "stalled" in lines[stuck] and "no_activity" in lines[stuck]
    assert "aging" in lines[slow] and "past_close" in lines[slow]
    assert " ok " in lines[fresh]


def test_flagged_only(board) -> None:  # type: ignore[no-untyped-def]
    doc = json.loads(board("aging", "--json", "--flagged").out)
    assert [d["id"] for d in doc["deals"]] == [1, 2]


def test_stage_set_expected_days_changes_levels_at_once(board) -> None:  # type: ignore[no-untyped-def]
    # Lead now expects 5 days: Slow has 11 / 5 = 2.2 (stalled), Fresh 1 / 5 (ok).
    assert board("stage", "set", "Lead", "-p", "Sales", "--expected-days", "5").code == 0
    deals = {d["id"]: d for d in json.loads(board("aging", "--json").out)["deals"]}
    assert (deals[2]["baseline_days"], deals[2]["level"]) == (5.0, "stalled")
    assert (deals[3]["baseline_days"], deals[3]["level"]) == (5.0, "ok")


def test_limit_keeps_the_most_severe_rows(board) -> None:  # type: ignore[no-untyped-def]
    r = board("aging", "--limit", "1")
    assert "Stuck" in r.out and "Slow" not in r.out
    assert "The 1 most severe of 3 deals" in r.out


def test_unknown_pipeline_is_one_sentence(board) -> None:  # type: ignore[no-untyped-def]
    r = board("aging", "-p", "Nope")
    assert r.code == 1
    assert r.err.strip() == "There is no pipeline named 'Nope' (pipelines: Sales)."
    assert "Traceback" not in r.err


def test_empty_pipeline(cli, fixed_now: str) -> None:  # type: ignore[no-untyped-def]
    assert cli("pipeline", "create", "Empty", "--stages", "A").code == 0
    r = cli("aging")
    assert r.code == 0 and "No open deals in Empty." in r.out
    assert json.loads(cli("aging", "--json").out)["deals"] == []


def test_a_floored_history_baseline_in_the_table_and_the_json(cli, fixed_now: str) -> None:  # type: ignore[no-untyped-def]
    """Four deals left Lead 6 minutes after entering it (02-20 09:00 -> 09:06): 1/240 day on average, so Lead's
    baseline is the 1-day floor, from history. "New" is in Lead since 09:00 today: 3 hours = 0.125 day (ok)."""
    assert cli("pipeline", "create", "Fast", "--stages", "Lead,Next").code == 0
    for i in range(1, 5):
        assert cli("deal", "add", f"F{i}", "--value", "1", "--at", "2026-02-20T09:00").code == 0
        assert cli("deal", "move", str(i), "Next", "--at", "2026-02-20T09:06").code == 0
    assert cli("deal", "add", "New", "--value", "1", "--at", "2026-03-02T09:00").code == 0
    doc = json.loads(cli("aging", "--json").out)
    assert doc["stages"][0] == {"name": "Lead", "baseline_days": 1.0, "baseline_source": "history", "sample_size": 4,
                                "history_avg_days": 0.004167, "floored": True}
    assert doc["stages"][1]["floored"] is False and doc["stages"][1]["history_avg_days"] is None
    new = next(d for d in doc["deals"] if d["title"] == "New")
    assert (new["baseline_days"], new["baseline_source"], new["level"], new["severity"]) == (1.0, "history", "ok",
                                                                                             0.12)
    res = cli("aging")
    assert res.code == 0, res.err
    row = next(line for line in res.out.splitlines() if "New" in line)
    assert "3.0 h" in row and "1*" in row  # under a day in hours; the baseline marked as history
    text = " ".join(res.out.split())
    assert ("Lead: its 4 stays that ended in the last 180 days averaged 6 min, so its baseline is the 1-day "
            "floor.") in text
