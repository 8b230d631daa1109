"""Four real processes move deals into a WIP-limited stage at the same moment (docs/RULES.md, WIP limits: the check
and the write happen in one IMMEDIATE transaction). Afterwards the event log, replayed in commit order, never shows the
stage over its limit; every refusal was exit code 1 with the WIP sentence; nobody saw "database is locked"; and the
log agrees with the deal and stay rows."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from typing import Any

import pytest

from engines import rows as read_rows
from tuikanban.services.deals import create_deal
from tuikanban.services.pipelines import create_pipeline, set_stage
from tuikanban.store.engine import Database

WORKERS = 4
DEALS_PER_WORKER = 3
CHURN_ROUNDS = 2
LIMIT = 2

pytestmark = pytest.mark.engines  # the race runs on SQLite and on PostgreSQL

# Each worker runs the real command line in-process once per action (each call opens the database afresh, as a
# separate `tuikanban deal move` would), after waiting for a common start time so that they all collide.
_WORKER = r"""
import contextlib, io, json, sys, time
from tuikanban.cli import main

ids, start, rounds = json.loads(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])

def run(*args):
    out, err = io.StringIO(), io.StringIO()
    code = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main(list(args))
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
    return {"args": list(args), "code": code, "out": out.getvalue(), "err": err.getvalue()}

while time.time() < start:
    time.sleep(0.002)
log = []
for _ in range(rounds):          # churn: get in, and when in, make room again
    for deal_id in ids:
        r = run("deal", "move", str(deal_id), "Proposal")
        log.append(r)
        if r["code"] == 0:
            log.append(run("deal", "move", str(deal_id), "Lead"))
for deal_id in ids:              # fill: everyone tries to get in and stay
    log.append(run("deal", "move", str(deal_id), "Proposal"))
print(json.dumps(log))
"""


@pytest.mark.slow
def test_four_processes_never_exceed_the_limit(db: Database, db_target: str) -> None:
    create_pipeline(db, "Sales", "Lead,Proposal")
    set_stage(db, "Sales", "Proposal", wip_max=LIMIT)
    ids = [create_deal(db, "Sales", f"Deal {i}", user="setup").id for i in range(WORKERS * DEALS_PER_WORKER)]
    db.close()

    start = time.time() + 1.5  # time for every interpreter to start before the common moment
    procs = []
    for w in range(WORKERS):
        mine = ids[w::WORKERS]
        env = {**os.environ, "TUIKANBAN_USER": f"rep{w}", "TUIKANBAN_DB": db_target}
        procs.append(subprocess.Popen(
            [sys.executable, "-c", _WORKER, json.dumps(mine), repr(start), str(CHURN_ROUNDS)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        ))
    logs: dict[str, list[dict[str, Any]]] = {}
    for w, proc in enumerate(procs):
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        assert "Traceback" not in err, err
        logs[f"rep{w}"] = json.loads(out.strip().splitlines()[-1])

    # -- what the users saw ---------------------------------------------------------------------------
    wip_refusal = re.compile(
        rf"^Proposal is at its WIP limit \({LIMIT}/{LIMIT}\); add --force --reason TEXT to override it$"
    )
    successes: dict[str, int] = {}
    refusals = 0
    for user, log in logs.items():
        for r in log:
            err = str(r["err"])
            assert "locked" not in err.lower() and "busy" not in err.lower(), err
            assert "Traceback" not in err
            if r["code"] == 0:
                successes[user] = successes.get(user, 0) + 1
                assert str(r["out"]).startswith("Moved deal ")
            else:
                assert r["code"] == 1, r
                assert r["args"][-1] == "Proposal", r  # moving out of the limited stage is never refused
                assert wip_refusal.match(err.strip()), err
                refusals += 1
    assert refusals > 0  # the limit was really contended

    # -- what the database holds ----------------------------------------------------------------------
    def q(sql: str) -> list[tuple[Any, ...]]:
        return read_rows(db_target, sql)

    stage_id = {name: sid for sid, name in q("SELECT id, name FROM stage")}
    proposal = stage_id["Proposal"]
    events = q('SELECT id, deal_id, kind, "user", from_stage_id, to_stage_id FROM event ORDER BY id')
    where: dict[int, int] = {}
    in_proposal = 0
    highest = 0
    moves_by_user: dict[str, int] = {}
    for _id, deal_id, kind, user, from_id, to_id in events:
        assert kind in ("create", "move"), kind  # no override was ever written
        if kind == "create":
            where[deal_id] = to_id
        else:
            assert where[deal_id] == from_id  # each move starts where the previous one ended
            where[deal_id] = to_id
            moves_by_user[user] = moves_by_user.get(user, 0) + 1
        in_proposal = sum(1 for s in where.values() if s == proposal)
        highest = max(highest, in_proposal)
        assert in_proposal <= LIMIT, f"event {_id} left Proposal at {in_proposal}/{LIMIT}"
    assert highest == LIMIT
    assert in_proposal == LIMIT  # the fill round filled it exactly
    assert moves_by_user == successes  # one event per successful command, with that user's name

    rows = dict(q("SELECT id, stage_id FROM deal WHERE status = 'open'"))
    assert rows == where  # the log replays to the deal rows
    open_stays = dict(q("SELECT deal_id, stage_id FROM stay WHERE left_at IS NULL"))
    assert open_stays == rows
    per_deal = q("SELECT deal_id, count(*) FROM stay WHERE left_at IS NULL GROUP BY deal_id")
    assert all(n == 1 for _d, n in per_deal)
    versions = dict(q("SELECT id, version FROM deal"))
    moves_per_deal = dict(q("SELECT deal_id, count(*) FROM event WHERE kind='move' GROUP BY deal_id"))
    assert all(versions[d] == 1 + moves_per_deal.get(d, 0) for d in versions)

