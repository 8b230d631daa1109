"""Several reps on one database file, each in their own process (docs/RULES.md, WIP limits and Database safety).

The processes are real: `python tests/fixtures/conc_worker.py ...` and `tuikanban ...` as subprocesses. The checks
afterwards read the database independently (tests/fixtures/tk_checks.py, tests/engines.py), not with the code
under test. The races run on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from engines import rows
from tuikanban.services import deals, pipelines
from tuikanban.store.engine import open_database

FIXTURES = Path(__file__).parent / "fixtures"
if str(FIXTURES) not in sys.path:
    sys.path.insert(0, str(FIXTURES))
tk_checks: Any = importlib.import_module("tk_checks")

STAGES = "Lead,Qualified,Proposal,Negotiation"
PROPOSAL_MAX = 3
NEGOTIATION_REP_MAX = 2

pytestmark = pytest.mark.engines


def _env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("TUIKANBAN_NOW", None)
    env.update(extra)
    return env


def _set_up(db_path: str) -> int:
    """The shared board: Proposal holds at most 3, Negotiation at most 2 per owner. Returns the contested deal."""
    db = open_database(db_path)
    try:
        pipelines.create_pipeline(db, "Sales", STAGES)
        pipelines.set_stage(db, "Sales", "Proposal", wip_max=PROPOSAL_MAX)
        pipelines.set_stage(db, "Sales", "Negotiation", rep_wip_max=NEGOTIATION_REP_MAX)
        contested = deals.create_deal(db, "Sales", "Contested", user="setup", stage="Lead").id
        for i in range(6):
            deals.create_deal(db, "Sales", f"Seed {i}", user="setup", stage="Lead", owner=["alice", "bob"][i % 2])
        for i in range(PROPOSAL_MAX):  # Proposal starts full
            deals.create_deal(db, "Sales", f"Full {i}", user="setup", stage="Proposal")
        return contested
    finally:
        db.close()


def _wait_for(paths: list[Path], procs: list[subprocess.Popen[bytes]], timeout: float = 90) -> None:
    end = time.monotonic() + timeout
    while not all(p.exists() for p in paths):
        for proc in procs:
            if proc.poll() is not None and proc.returncode != 0:
                _out, err = proc.communicate()
                pytest.fail(f"a worker died while starting: {err.decode(errors='replace')[-2000:]}")
        if time.monotonic() > end:
            pytest.fail("the worker processes did not start in time")
        time.sleep(0.01)


@pytest.mark.slow
def test_processes_at_once_keep_limits_versions_and_the_log(db_target: str, tmp_path: Path, engine: str) -> None:
    db_path = db_target
    contested = _set_up(db_path)
    go = tmp_path / "go"
    roles = [("creator", "carol"), ("mover", "erin"), ("mover", "frank"), ("editor", "gina"), ("editor", "hank")]
    ops = 30
    procs: list[subprocess.Popen[bytes]] = []
    for seed, (role, user) in enumerate(roles):
        procs.append(subprocess.Popen(
            [sys.executable, str(FIXTURES / "conc_worker.py"), str(db_path), role, user, str(seed), str(ops),
             str(go), str(tmp_path / f"{user}.jsonl"), str(contested)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_env()))
    _wait_for([Path(f"{go}.{user}") for _role, user in roles], procs)
    go.write_text("go")  # every process starts its burst at the same moment
    for proc in procs:
        _out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err.decode(errors="replace")[-2000:]
        assert err == b""
    outcomes = [json.loads(line) for _r, user in roles
                for line in (tmp_path / f"{user}.jsonl").read_text().splitlines() if line]

    # No rep ever saw "database is locked" or any other failure: every outcome is a success or a rule's refusal.
    assert [o for o in outcomes if o["result"] in ("error", "crash")] == []
    assert not any("locked" in str(o.get("message", "")).lower() for o in outcomes)
    wip_refusals = [o for o in outcomes if o["result"] == "wip"]
    assert wip_refusals, "the limited stage was never full: the test did not exercise the limit"
    for o in wip_refusals:
        assert re.fullmatch(rf"Proposal is at its WIP limit \({PROPOSAL_MAX}/{PROPOSAL_MAX}\)|Negotiation is at "
                            rf"its per-rep WIP limit for \w+ \({NEGOTIATION_REP_MAX}/{NEGOTIATION_REP_MAX}\)",
                            o["message"]), o["message"]
        assert o["count"] == o["limit"]  # refused exactly at the limit, never found over it

    # No stage over its limit: not at the end, and not at any moment of the replayed log.
    stage_ids = dict(rows(db_path, "SELECT name, id FROM stage"))
    open_now = Counter(r[0] for r in rows(db_path, "SELECT stage_id FROM deal WHERE status='open'"))
    per_owner = Counter(rows(db_path, "SELECT stage_id, owner FROM deal WHERE status='open'"))
    user_kinds = Counter(rows(db_path, 'SELECT "user", kind FROM event'))
    final_version = rows(db_path, "SELECT version FROM deal WHERE id=:d", d=contested)[0][0]
    edit_events = rows(db_path, "SELECT \"user\", field, new_value FROM event WHERE deal_id=:d AND kind='edit'",
                       d=contested)
    assert open_now[stage_ids["Proposal"]] <= PROPOSAL_MAX
    assert all(n <= NEGOTIATION_REP_MAX for (st, _owner), n in per_owner.items() if st == stage_ids["Negotiation"])
    replay, problems = tk_checks.check_database(db_path)
    assert problems == []  # the event log and the stays match the deal rows exactly
    assert replay.peak[stage_ids["Proposal"]] == PROPOSAL_MAX  # full at the start, never above
    assert max(n for (st, _o), n in replay.owner_peak.items() if st == stage_ids["Negotiation"]) \
        <= NEGOTIATION_REP_MAX
    if engine == "sqlite":
        assert tk_checks.integrity(db_path) == ["ok"]

    # Every success is in the log under its rep's name, and nothing else is: no update lost or invented.
    expected: Counter[tuple[str, str]] = Counter()
    for o in outcomes:
        if o["result"] != "ok":
            continue
        if o["op"] == "edit":
            for _field in o["changed"]:
                expected[(o["user"], "edit")] += 1
        else:
            expected[(o["user"], o["op"])] += 1
    expected[("setup", "create")] = 1 + 6 + PROPOSAL_MAX
    assert {k: v for k, v in user_kinds.items() if k[1] != "wip_override"} == dict(expected)
    for o in outcomes:
        if o["result"] == "ok" and o["op"] == "move":
            assert replay.kinds[o["deal"]]["move"] >= 1

    # The contested deal: each successful change produced the next version, so no two saves were based on the
    # same version (the stale ones were refused with StaleEditError and their authors were told).
    versions = sorted(o["version"] for o in outcomes if o["result"] == "ok" and o.get("deal") == contested)
    assert versions == list(range(2, final_version + 1))
    stale = [o for o in outcomes if o["result"] == "stale"]
    first_edits = [o for o in outcomes if o["op"] == "edit" and o["i"] == 0]
    assert len(first_edits) == 2 and sum(o["result"] == "ok" for o in first_edits) <= 1
    assert len(stale) >= 1
    for o in stale:
        assert o["message"] == (f"Deal {contested} was changed by someone else since you opened it; it has been "
                                "reloaded, check it and try again.")
    saved_values = {(o["user"], str(int(o["value"]) * 100)) for o in outcomes  # the log holds cents
                    if o["result"] == "ok" and o["op"] == "edit" and "value" in o["changed"]}
    logged_values = {(user, new) for user, fld, new in edit_events if fld == "value"}
    assert saved_values == logged_values


@pytest.mark.slow
def test_cli_processes_racing_into_a_full_stage(db_target: str, tmp_path: Path) -> None:
    db_path = db_target
    """Four reps press 'move to Proposal' at the same moment; the stage has room for two."""
    db = open_database(db_path)
    pipelines.create_pipeline(db, "Sales", STAGES)
    pipelines.set_stage(db, "Sales", "Proposal", wip_max=2)
    ids = [deals.create_deal(db, "Sales", f"Deal {i}", user="setup", stage="Lead").id for i in range(4)]
    db.close()
    exe = str(Path(sys.executable).parent / "tuikanban")
    procs = [subprocess.Popen([exe, "--db", db_path, "--user", f"rep{i}", "deal", "move", str(deal_id),
                               "Proposal"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_env())
             for i, deal_id in enumerate(ids)]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        results.append((proc.returncode, out.decode(), err.decode()))
    moved = [r for r in results if r[0] == 0]
    refused = [r for r in results if r[0] == 1]
    assert len(moved) == 2 and len(refused) == 2
    assert all(
        r[2].strip() == "Proposal is at its WIP limit (2/2); add --force --reason TEXT to override it" for r in refused
    )
    assert all(r[1].startswith("Moved deal ") and r[2] == "" for r in moved)
    assert rows(db_path, "SELECT count(*) FROM deal d JOIN stage s ON s.id=d.stage_id WHERE s.name='Proposal'"
                ) == [(2,)]
    movers = {r[0] for r in rows(db_path, "SELECT \"user\" FROM event WHERE kind='move'")}
    assert len(movers) == 2 and movers <= {f"rep{i}" for i in range(4)}
    _replay, problems = tk_checks.check_database(db_path)
    assert problems == []


# -- identity: --user, TUIKANBAN_USER, else the login name, on every event ---------------------------


def _event_users(cli: Any, deal_id: str) -> list[str]:
    shown = cli("deal", "show", deal_id, "--json")
    assert shown.code == 0, shown.err
    return [e["user"] for e in json.loads(shown.out)["events"]]


def test_user_option_beats_the_environment(cli: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TUIKANBAN_USER", "bob")
    assert cli("pipeline", "create", "Sales", "--stages", "Lead,Won").code == 0
    added = cli("--user", "alice", "deal", "add", "Acme")
    assert added.code == 0, added.err
    deal_id = added.out.strip()
    assert cli("deal", "move", deal_id, "Won").code == 0  # as bob, from the environment
    assert cli("--user", "carol", "deal", "edit", deal_id, "--value", "100").code == 0
    assert _event_users(cli, deal_id) == ["alice", "bob", "carol"]
    listed = json.loads(cli("deal", "list", "--json").out)["deals"]
    assert listed[0]["owner"] == "alice"  # the creator owns the deal by default


def test_login_name_when_nothing_else_is_given(cli: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TUIKANBAN_USER", raising=False)
    for name in ("USER", "LNAME", "USERNAME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LOGNAME", "dana")  # what getpass.getuser() reads first
    assert cli("pipeline", "create", "Sales", "--stages", "Lead,Won").code == 0
    added = cli("deal", "add", "Acme")
    assert _event_users(cli, added.out.strip()) == ["dana"]


def test_a_user_name_cannot_carry_terminal_sequences(cli: Any) -> None:
    assert cli("pipeline", "create", "Sales", "--stages", "Lead,Won").code == 0
    added = cli("--user", "ev\x1b[31mil\x1b]52;c;aGk=\x07", "deal", "add", "Acme")
    assert added.code == 0, added.err
    assert _event_users(cli, added.out.strip()) == ["evil"]
