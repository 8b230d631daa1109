"""The open-deal forecast in `metrics --json`: learned stage probabilities, expected value won by horizon, the
Monte Carlo over deals, and the backtest whose "actual" is the wins of each past period. Clock fixed at
2026-03-02 12:00 UTC; every number worked out by hand in the comments."""

from __future__ import annotations

import json
from fractions import Fraction
from typing import Any

import pytest

from tuikanban.services.forecast_open import monte_carlo

pytestmark = pytest.mark.engines  # the tests that use a database run on SQLite and on PostgreSQL


def ok(cli: Any, *args: str) -> str:
    r = cli(*args)
    assert r.code == 0, (args, r.err)
    return str(r.out)


@pytest.fixture
def doc(cli: Any, fixed_now: str) -> dict[str, Any]:
    """Lead 10 %, Proposal 50 %.

    d1 10k (12k from 02-01), d2 20k, d3 5k: Lead 01-05 -> Proposal 01-10, close 02-15; d1, d2 won and d3 lost 02-01
    d4 1k lost in Lead 01-12; d5 2k won in Lead 01-12
    d6 8k: Lead 01-05 -> Proposal 01-10, close 03-20, open
    d7 4k: Lead 02-15, close 04-20, open;  d8 100k: Lead 01-05, no close date, open
    """
    ok(cli, "pipeline", "create", "Sales", "--stages", "Lead,Proposal")
    ok(cli, "stage", "set", "Lead", "--probability", "10")
    ok(cli, "stage", "set", "Proposal", "--probability", "50")
    for title, value, close in (("d1", "10k", "2026-02-15"), ("d2", "20k", "2026-02-15"), ("d3", "5k", "2026-02-15"),
                                ("d4", "1k", ""), ("d5", "2k", ""), ("d6", "8k", "2026-03-20")):
        ok(cli, "deal", "add", title, "--value", value, *(("--close", close) if close else ()), "--at", "2026-01-05")
    ok(cli, "deal", "add", "d7", "--value", "4k", "--close", "2026-04-20", "--at", "2026-02-15")
    ok(cli, "deal", "add", "d8", "--value", "100k", "--at", "2026-01-05")
    for d in ("1", "2", "3", "6"):
        ok(cli, "deal", "move", d, "Proposal", "--at", "2026-01-10")
    ok(cli, "deal", "lost", "4", "--reason", "Price", "--at", "2026-01-12")
    ok(cli, "deal", "won", "5", "--at", "2026-01-12")
    ok(cli, "deal", "edit", "1", "--value", "12k", "--at", "2026-02-01")
    ok(cli, "deal", "won", "1", "--at", "2026-02-01T10:00")
    ok(cli, "deal", "won", "2", "--at", "2026-02-01T10:00")
    ok(cli, "deal", "lost", "3", "--reason", "Price", "--at", "2026-02-01T10:00")
    return dict(json.loads(ok(cli, "metrics", "--json", "--seed", "3", "--backtest")))


def test_learned_probabilities(doc: dict[str, Any]) -> None:
    lead, proposal = doc["stage_win_probabilities"]
    # left Lead in the window: d1, d2, d3, d6 (moved), d4 (lost), d5 (won); closed: d1 d2 d5 won, d3 d4 lost
    assert lead == {"stage": "Lead", "configured": 0.1, "learned": 0.6, "won": 3, "resolved": 5, "unresolved": 1,
                    "used_by_learned": "learned"}
    # left Proposal: d1, d2 won, d3 lost: 2/3, but 3 < 5 resolved deals, so the learned method keeps 50 %
    assert proposal == {"stage": "Proposal", "configured": 0.5, "learned": 0.6667, "won": 2, "resolved": 3,
                        "unresolved": 0, "used_by_learned": "configured"}
    assert "forecast" in doc and "win_rate" in doc  # the existing keys stay


def test_open_forecast_expected_values(doc: dict[str, Any]) -> None:
    methods = doc["open_forecast"]["methods"]
    by = {m: {h["days"]: (h["deals"], h["expected"]) for h in methods[m]} for m in ("configured", "learned")}
    # 30 days (to 04-01): d6 8,000 x 50 % = 4,000; 60 and 90 days add d7 (04-20): 4,000 x 10 % = 400
    assert by["configured"] == {30: (1, 4000), 60: (2, 4400), 90: (2, 4400)}
    # learned: Lead 60 %, so d7 adds 2,400; d8 never counts (no close date)
    assert by["learned"] == {30: (1, 4000), 60: (2, 6400), 90: (2, 6400)}
    levels = {lv["confidence"]: lv["value"] for lv in methods["configured"][0]["levels"]}
    assert set(levels.values()) <= {0, 8000} and levels[0.95] == 0  # d6 is won in about half the trials


def test_backtest_actual_is_the_wins_of_each_period(doc: dict[str, Any]) -> None:
    points = doc["forecast_backtest"]["points"]
    assert len(points) == 12
    last, before = points[-1], points[-2]
    assert last["at"] == "2026-01-31T12:00:00+00:00" and before["at"] == "2026-01-01T12:00:00+00:00"
    # (01-31 12:00, 03-02 12:00]: d1 12,000 + d2 20,000;  (01-01 12:00, 01-31 12:00]: d5 2,000
    assert (last["actual_deals"], last["actual"]) == (2, 32000)
    assert (before["actual_deals"], before["actual"]) == (1, 2000)
    assert all(p["actual"] == 0 for p in points[:-2])
    # at 01-31 12:00, open with a close date by 03-02: d1 (10,000 then), d2, d3 in Proposal at 50 % = 17,500;
    # learned = configured: only 2 deals that left Lead had closed by then (d4, d5)
    assert (last["configured"], last["learned"]) == (17500, 17500)
    # throughput: 2,000 won in the 90 days before 01-31 (d5) / 90 x 30 = 666.67
    assert last["throughput"] == 666.67
    # at 01-01 12:00 no deal existed yet (all created from 01-05): nothing forecast, 2,000 won
    assert (before["configured"], before["throughput"]) == (0, 0)
    # mean absolute error over the 12 points: |17,500 - 32,000| + |0 - 2,000| = 16,500, / 12 = 1,375
    assert doc["forecast_backtest"]["mean_abs_error"]["configured"] == 1375


def test_monte_carlo_levels() -> None:
    sure = [(100, Fraction(1)), (50, Fraction(1))]
    assert monte_carlo(sure, trials=1000, seed=1) == (150, 150, 150)
    assert monte_carlo([(100, Fraction(0))], trials=1000, seed=1) == (0, 0, 0)
    # won 90 % of the time: about 1,000 of 10,000 trials are 0, so the 15th and 50th percentiles are 100 and
    # the 5th is 0
    assert monte_carlo([(100, Fraction(9, 10))], trials=10_000, seed=7) == (100, 100, 0)


def test_normal_levels_for_large_pipelines() -> None:
    from tuikanban.services.forecast_open import _trials, normal_levels

    # four deals of 100 at 50 %: mean 200, sd sqrt(4 x 100^2 x 0.25) = 100; z(0.15) = -1.0364, z(0.05) = -1.6449
    assert normal_levels([(100, Fraction(1, 2))] * 4) == (200, 96, 36)
    assert _trials(100) == 10_000 and _trials(1_000) == 1_000 and _trials(2_001) == 0


def test_backtest_only_on_request(cli: Any, doc: dict[str, Any]) -> None:
    plain = dict(json.loads(ok(cli, "metrics", "--json", "--seed", "3")))
    # the key stays, empty: rebuilding 12 past months is left to --backtest; the rest of the document is the same
    assert plain["forecast_backtest"] is None
    assert {k: v for k, v in plain.items() if k != "forecast_backtest"} == {
        k: v for k, v in doc.items() if k != "forecast_backtest"}
    r = cli("metrics", "--backtest")
    assert r.code == 1 and r.err.strip() == "--backtest goes with --json."
