"""`tuikanban metrics`: the JSON document's keys and the tables for people."""

from __future__ import annotations

import json

import pytest


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


SPEC_KEYS = {
    "open_deals", "open_value", "weighted_value", "win_rate", "avg_deal_size", "avg_cycle_days",
    "velocity_per_day", "coverage_ratio", "stages", "bottleneck", "lost_reasons", "by_owner", "by_type",
    "forecast", "window_days", "sample_sizes",
}


def test_json_keys_and_values(sales) -> None:  # type: ignore[no-untyped-def]
    res = sales("metrics", "--json", "--seed", "1")
    assert res.code == 0, res.err
    doc = json.loads(res.out)
    assert set(doc) >= SPEC_KEYS
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
