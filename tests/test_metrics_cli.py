"""`tuikanban metrics`: the JSON document's keys and the tables for people."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.engines  # every test here runs on SQLite and on PostgreSQL


@pytest.fixture
def sales(cli, fixed_now: str):  # type: ignore[no-untyped-def]
    assert cli("pipeline", "create", "Sales", "--stages", "Lead,Proposal", "--target", "50000",
               "--types", "New").code == 0
    assert cli("deal", "add", "A", "--value", "10000", "--owner", "alice", "--type", "New",
               "--at", "2026-01-01").code == 0
    assert cli("deal", "move", "1", "Proposal", "--at", "2026-01-04").code == 0
    assert cli("deal", "won", "1", "--at", "2026-01-11").code == 0
    assert cli("deal", "add", "[bold red]B[/]", "--value", "4000", "--owner", "[i]bob", "--at", "2026-02-01").code == 0
    assert cli("deal", "lost", "2", "--reason", "[blink]Price[/blink]", "--at", "2026-02-03").code == 0
    assert cli("deal", "add", "C", "--value", "7000", "--owner", "alice", "--at", "2026-02-10").code == 0
    return cli


DOCUMENTED_KEYS = {  # docs/RULES.md, JSON documents
    "open_deals", "open_value", "weighted_value", "win_rate", "avg_deal_size", "avg_cycle_days",
    "velocity_per_day", "coverage_ratio", "stages", "bottleneck", "lost_reasons", "by_owner", "by_type",
    "forecast", "window_days", "sample_sizes",
}


def test_json_keys_and_values(sales) -> None:  # type: ignore[no-untyped-def]
    res = sales("metrics", "--json", "--seed", "1")
    assert res.code == 0, res.err
    doc = json.loads(res.out)
    assert set(doc) >= DOCUMENTED_KEYS
    assert {"name", "open_deals", "open_value", "avg_days_in_stage", "conversion_rate", "stays_ended"} <= set(
        doc["stages"][0])
    assert {"stage", "avg_days_in_stage", "reason"} <= set(doc["bottleneck"])
    assert {"reason", "count"} == set(doc["lost_reasons"][0])
    assert {"won_deals", "lost_deals"} <= set(doc["sample_sizes"])
    # by hand: open C 7,000; won A 10,000 after 10 days; lost B -> win rate 1/2
    assert doc["open_deals"] == 1 and doc["open_value"] == 7000
    assert doc["win_rate"] == 0.5
    assert doc["avg_deal_size"] == 10000
    assert doc["avg_cycle_days"] == 10.0
    assert doc["velocity_per_day"] == 500  # 1 x 10,000 x 0.5 / 10
    assert doc["coverage_ratio"] == 0.14  # 7,000 / 50,000
    # Lead: A 3 d (advanced), B 2 d (lost) -> 2.5 d, 50 %; Proposal: A 7 d (won)
    assert [(s["name"], s["avg_days_in_stage"], s["conversion_rate"]) for s in doc["stages"]] == [
        ("Lead", 2.5, 0.5), ("Proposal", 7.0, 1.0)]
    assert doc["bottleneck"]["stage"] == "Proposal"
    assert doc["lost_reasons"] == [{"reason": "[blink]Price[/blink]", "count": 1}]
    assert sorted(o["owner"] for o in doc["by_owner"]) == ["[i]bob", "alice"]


def test_json_with_filters_and_window(sales) -> None:  # type: ignore[no-untyped-def]
    doc = json.loads(sales("metrics", "--json", "--owner", "Alice", "--window", "30", "--seed", "2").out)
    assert doc["window_days"] == 30
    assert doc["filters"] == {"owner": "alice", "type": None}
    # 30 days back from 03-02 12:00 is 01-31 12:00: A (won 01-11) is outside; nothing of alice's closed
    assert doc["win_rate"] is None and doc["sample_sizes"]["won_deals"] == 0
    doc = json.loads(sales("metrics", "--json", "--type", "new").out)
    assert doc["filters"]["type"] == "New" and doc["won_deals"] == 1


def test_seed_makes_the_json_repeatable(sales) -> None:  # type: ignore[no-untyped-def]
    first = json.loads(sales("metrics", "--json", "--seed", "9").out)["forecast"]
    again = json.loads(sales("metrics", "--json", "--seed", "9").out)["forecast"]
    assert first == again and first["seed"] == 9


def test_tables_for_people(sales) -> None:  # type: ignore[no-untyped-def]
    res = sales("metrics", "--seed", "1")
    assert res.code == 0, res.err
    assert "Win rate" in res.out and "50%" in res.out
    assert "Proposal holds deals 7.0 days on average" in res.out
    assert "[blink]Price[/blink]" in res.out  # user text shown literally
    assert "[i]bob" in res.out
    assert "Forecast" in res.out
    # the first event (A created 01-01 00:00) is 60.5 days before now, 61 rounded up; A's win is the only one
    assert ("10,000 trials over 90 days of history (1 won, 1 day with a win), seed 1. The pipeline's first event "
            "is 61 days old: the 29 days before it count as days without a win.") in " ".join(res.out.split())


def test_nulls_show_na_with_the_sample(cli, fixed_now: str) -> None:  # type: ignore[no-untyped-def]
    cli("pipeline", "create", "Empty", "--stages", "A,B")
    res = cli("metrics")
    assert res.code == 0, res.err
    assert "n/a (0 closed)" in res.out
    assert "n/a (0 stays)" in res.out
    assert "n/a (no target)" in res.out


def test_user_mistakes_are_one_sentence(sales) -> None:  # type: ignore[no-untyped-def]
    res = sales("metrics", "--owner", "nobody")
    assert res.code == 1
    assert res.err.strip() == "No deal in pipeline Sales is owned by 'nobody'."
    res = sales("metrics", "--window", "0")
    assert res.code == 1 and "Traceback" not in res.err
    assert res.err.strip() == "The window must be between 1 and 3650 days, not 0."


def test_weekly_won_starts_on_dates(sales) -> None:  # type: ignore[no-untyped-def]
    doc = json.loads(sales("metrics", "--json", "--seed", "1").out)
    # 13 calendar weeks ending today (03-02): the last starts 02-24, the first 12 weeks earlier
    starts = [w["week_start"] for w in doc["weekly_won"]]
    assert (len(starts), starts[0], starts[-1]) == (13, "2025-12-02", "2026-02-24")
    # A won 01-11: 50 dates back, in week 50 // 7 = 7 back, which starts 02-24 - 49 days = 01-06
    assert [w for w in doc["weekly_won"] if w["won_deals"]] == [
        {"week_start": "2026-01-06", "won_deals": 1, "won_value": 10000}]


def test_minutes_read_as_minutes(cli, fixed_now: str) -> None:  # type: ignore[no-untyped-def]
    """A deal added at 09:00, moved at 09:10 and won at 09:30: a 30-minute cycle, stays of 10 and 20 minutes."""
    assert cli("pipeline", "create", "Quick", "--stages", "Lead,Proposal").code == 0
    assert cli("deal", "add", "Q", "--value", "1000", "--at", "2026-03-02T09:00").code == 0
    assert cli("deal", "move", "1", "Proposal", "--at", "2026-03-02T09:10").code == 0
    assert cli("deal", "won", "1", "--at", "2026-03-02T09:30").code == 0
    res = cli("metrics", "--seed", "1")
    assert res.code == 0, res.err
    lines = res.out.splitlines()
    assert "30 min" in next(line for line in lines if line.startswith("Avg cycle"))
    assert "10 min" in next(line for line in lines if "Lead" in line and "│" in line)
    text = " ".join(res.out.split())
    # a median of 15 minutes is under an hour: no ratio
    assert ("Proposal holds deals 20 min on average, the longest average stay of the 2 stages with finished "
            "stays in the window.") in text
    assert "0.0 days" not in text and "0.0x" not in text
    assert "10,000 trials over 90 days of history (1 won, 1 day with a win)" in text
    assert "first event is 1 day old: the 89 days before it count as days without a win" in text
