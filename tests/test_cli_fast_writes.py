"""`deal add` and `deal move` written without the ORM (store.uow, services.deal_actions), and `aging` read without
it, against the ORM path: the same command lines on two identical boards, one through the fast path (which must
not open the ORM database), one through Typer and the ORM's transactions; every output, error and exit code and,
at the end, every deal, event and stay row must be the same. On SQLite and on PostgreSQL."""

from __future__ import annotations

import io
import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

import pytest

from engines import drop_schema, new_schema, rows
from tuikanban.cli import fast, guarded
from tuikanban.cli.common import State
from tuikanban.cli.root import run_typer
from tuikanban.services import deal_actions
from tuikanban.services.deals import create_deal, move_deal, win_deal
from tuikanban.services.pipelines import create_pipeline, set_stage
from tuikanban.store import fastread, uow
from tuikanban.store.engine import open_database

pytestmark = pytest.mark.engines

AT = "2026-02-{:02d}T10:00:00+00:00"


def _build(target: str) -> None:
    """A board with a WIP limit, a per-rep limit, a gate and exit criteria, and a few deals with history."""
    db = open_database(target)
    try:
        create_pipeline(db, "Sales", "Lead,Qualified,Proposal,Closing", types=["New", "Renewal"], make_default=True)
        create_pipeline(db, "Partners", "Intro,Deal")
        set_stage(db, "Sales", "Qualified", wip_max=2, exit_criteria="Budget confirmed")
        set_stage(db, "Sales", "Closing", rep_wip_max=1)
        from tuikanban.services.gates import set_gate

        set_gate(db, "Sales", "Proposal", require="value,close")
        create_deal(db, "Sales", "Acme", user="ann", value="1200", at=AT.format(1))
        create_deal(db, "Sales", "Globex", user="ann", value="3400", close="2026-05-01", company="Globex",
                    at=AT.format(1))
        move_deal(db, 2, "Qualified", user="ann", at=AT.format(2))
        win_deal(db, 1, user="ann", at=AT.format(3))
    finally:
        db.close()


@pytest.fixture
def boards(db_target: str, engine: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[tuple[str, str]]:
    """(fast board, ORM board): two databases built the same way."""
    other = str(tmp_path / "orm.db") if engine == "sqlite" else new_schema(request.getfixturevalue("pg_database"))
    _build(db_target)
    _build(other)
    yield db_target, other
    if engine != "sqlite":
        drop_schema(other)


def _capture(work: Any, args: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = guarded(work, args)
    return code, out.getvalue(), err.getvalue()


def _fast(monkeypatch: pytest.MonkeyPatch, target: str, args: list[str]) -> tuple[int, str, str]:
    """The command through cli/fast.py, which must write with store.uow (opening the ORM database fails here)."""
    def no_orm(*_a: Any, **_k: Any) -> Any:
        raise AssertionError("the fast path opened the ORM database")

    line = ["--db", target, *args]
    with monkeypatch.context() as mp:
        mp.setattr(State, "db", no_orm)

        def quick() -> int:
            code = fast.dispatch(line)
            assert code is not None, f"the fast path did not take {args}"
            return code

        return _capture(quick, line)


def _orm(monkeypatch: pytest.MonkeyPatch, target: str, args: list[str]) -> tuple[int, str, str]:
    """The command through Typer, written in the ORM database's write transaction."""
    line = ["--db", target, *args]
    with monkeypatch.context() as mp:
        mp.setattr(State, "writer", lambda _self: None)
        mp.setattr(fastread, "connect_target", lambda _target: None)
        return _capture(lambda: run_typer(line), line)


COMMANDS = [
    ["deal", "add", "Initech", "--value", "2,500.50", "--currency", "EUR", "--company", "Initech",
     "--type", "Renewal", "--close", "2026-06-30", "--notes", "first call", "--at", AT.format(4)],
    ["deal", "add", "Umbrella", "--stage", "Qualified", "--owner", "bob", "--at", AT.format(4)],
    ["deal", "add", "Hooli", "--stage", "Qualified", "--at", AT.format(5)],  # WIP limit: refused
    ["deal", "add", "Hooli", "--stage", "Qualified", "--force", "--reason", "big one", "--at", AT.format(5)],
    ["deal", "add", "Soylent", "--stage", "Proposal", "--at", AT.format(5)],  # gate: refused
    ["deal", "add", "Soylent", "--stage", "Proposal", "--force", "--reason", "verbal", "--at", AT.format(5)],
    ["deal", "add", "   "], ["deal", "add", "X", "--value", "abc"], ["deal", "add", "X", "--type", "Nope"],
    ["deal", "add", "X", "--stage", "Nowhere"], ["deal", "add", "X", "-p", "Nope"], ["deal", "add", "X"],
    ["deal", "add", "Partner deal", "-p", "Partners", "--at", AT.format(6)],
    ["deal", "add", "X", "--at", "2099-01-01"], ["deal", "add", "X", "--reason", "why"],
    ["deal", "add", "X", "--force"],
    ["deal", "move", "3", "Qualified", "--at", AT.format(7)],  # WIP limit: refused
    ["deal", "move", "3", "Qualified", "--force", "--reason", "push", "--at", AT.format(7)],
    ["deal", "move", "3", "Proposal", "--at", AT.format(8)],
    ["deal", "move", "4", "Proposal", "--at", AT.format(8)],  # gate: refused (no value, no close)
    ["deal", "move", "4", "Proposal", "--force", "--reason", "trust me", "--at", AT.format(8)],
    ["deal", "move", "4", "Closing", "--at", AT.format(9)],
    ["deal", "add", "Stark", "--stage", "Closing", "--owner", "bob", "--at", AT.format(9)],  # per-rep limit
    ["deal", "move", "3", "Lead", "--at", AT.format(10)],  # back: the stay it leaves is dropped
    ["deal", "move", "3", "Lead"], ["deal", "move", "1", "Lead"], ["deal", "move", "99", "Lead"],
    ["deal", "move", "2", "Lead", "--at", "2026-01-01"], ["deal", "move", "2", "Nowhere"],
    ["deal", "move", "2", "Closing", "--at", AT.format(11)],
    ["deal", "move", "2", "Closing", "--at", AT.format(12)],
]


def test_adds_and_moves_match_the_orm_path_output_and_rows(boards: tuple[str, str], fixed_now: str,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    quick_db, orm_db = boards
    results = []
    for args in COMMANDS:
        quick, orm = _fast(monkeypatch, quick_db, args), _orm(monkeypatch, orm_db, args)
        assert quick == orm, args
        assert quick[1] or quick[2], args
        results.append(quick)
    assert [results[i][2] for i in (2, 4, 22)] == [
        "Qualified is at its WIP limit (2/2); add --force --reason TEXT to override it\n",
        "Proposal needs a value and an expected close date; add --force --reason TEXT to override it\n",
        "Closing is at its per-rep WIP limit for bob (1/1); add --force --reason TEXT to override it\n",
    ]
    assert results[17] == (0, "Moved deal 3 from Lead to Qualified (WIP limit overridden).\n"
                              "Exit criteria of Qualified: Budget confirmed\n", "")
    for table in ("deal", "event", "stay"):
        mine, theirs = rows(quick_db, f"SELECT * FROM {table} ORDER BY id"), rows(orm_db, f"SELECT * FROM {table} "
                                                                                      "ORDER BY id")
        assert mine == theirs, table
    kinds = [r[0] for r in rows(quick_db, "SELECT kind FROM event WHERE deal_id IN (5, 6) ORDER BY id")]
    assert kinds == ["wip_override", "create", "gate_override", "create"]
    # the forced gate entry names what was missing, and the move records the rank it left (for undo)
    assert rows(quick_db, "SELECT new_value, reason FROM event WHERE kind = 'gate_override' ORDER BY id")[0] == (
        "value,close", "verbal")


READS = [["aging", "--json"], ["aging"], ["aging", "--flagged", "--limit", "1"], ["aging", "--limit", "0"],
         ["aging", "-p", "Partners", "--json"], ["aging", "--pipeline", "Nope"], ["-p", "Partners", "aging"],
         ["deal", "list", "--json", "--status", "all"], ["deal", "list"], ["deal", "list", "-p", "Nope"]]


def test_aging_and_deal_list_read_what_the_orm_path_reads(boards: tuple[str, str], fixed_now: str,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    quick_db, orm_db = boards
    for args in COMMANDS[:6]:  # a few more deals: forced entries, a gate, a per-rep count
        _fast(monkeypatch, quick_db, args)
        _orm(monkeypatch, orm_db, args)
    for args in READS:
        quick, orm = _fast(monkeypatch, quick_db, args), _orm(monkeypatch, orm_db, args)
        assert quick == orm, args
        assert quick[1] or quick[2], args
    document = json.loads(_fast(monkeypatch, quick_db, ["aging", "--json"])[1])
    # most days in stage first (every stage has the 7-day default baseline): since Feb 2, Feb 4 (two), Feb 5 (two)
    assert [(d["title"], d["days_in_stage"]) for d in document["deals"]] == [
        ("Globex", 28.1), ("Umbrella", 26.1), ("Initech", 26.1), ("Hooli", 25.1), ("Soylent", 25.1)]


def test_a_failure_inside_the_fast_transaction_writes_nothing(boards: tuple[str, str], fixed_now: str,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    quick_db, _ = boards
    before = {t: rows(quick_db, f"SELECT * FROM {t} ORDER BY id") for t in ("deal", "event", "stay")}

    def boom(*_args: object) -> None:
        raise RuntimeError("simulated crash after the writes")

    monkeypatch.setattr(deal_actions, "deal_view", boom)
    for args in (["deal", "add", "Never"], ["deal", "move", "2", "Proposal"]):
        with pytest.raises(RuntimeError):
            fast.dispatch(["--db", quick_db, *args])
    monkeypatch.undo()
    assert {t: rows(quick_db, f"SELECT * FROM {t} ORDER BY id") for t in ("deal", "event", "stay")} == before


def _hold_write_lock(target: str, engine: str, release: threading.Event, held: threading.Event) -> None:
    if engine == "sqlite":
        con = sqlite3.connect(target, isolation_level=None)
        con.execute("BEGIN IMMEDIATE")
    else:
        import psycopg

        from tuikanban.domain.targets import parse_target
        from tuikanban.store.pg import conninfo

        con = psycopg.connect(conninfo(parse_target(target)))
        con.execute("SELECT pg_advisory_xact_lock(%s)", (uow.WRITE_LOCK_KEY,))
    held.set()
    release.wait(10)
    con.rollback()
    con.close()


def test_a_locked_database_is_the_same_sentence(boards: tuple[str, str], engine: str, fixed_now: str,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    quick_db, _ = boards
    monkeypatch.setenv("TUIKANBAN_LOCK_TIMEOUT", "0.3")
    release, held = threading.Event(), threading.Event()
    holder = threading.Thread(target=_hold_write_lock, args=(quick_db, engine, release, held))
    holder.start()
    try:
        assert held.wait(5)
        for args in (["deal", "add", "Blocked"], ["deal", "move", "2", "Proposal"]):
            started = time.monotonic()
            quick = _fast(monkeypatch, quick_db, args)
            assert time.monotonic() - started >= 0.25  # it waited for the lock before giving up
            assert quick == _orm(monkeypatch, quick_db, args)
            assert quick[0] == 1 and "stayed locked by another process for over 0.3 seconds" in quick[2]
    finally:
        release.set()
        holder.join()
    assert rows(quick_db, "SELECT count(*) FROM deal WHERE title = 'Blocked'") == [(0,)]


@pytest.mark.postgres_only
def test_a_fast_write_notifies_open_boards(boards: tuple[str, str], fixed_now: str,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    from tuikanban.store.feed import open_feed

    quick_db, _ = boards
    feed = open_feed(quick_db)
    try:
        first = feed.version()
        assert _fast(monkeypatch, quick_db, ["deal", "move", "2", "Proposal"])[0] == 0
        deadline = time.monotonic() + 2.0
        while feed.version() == first and time.monotonic() < deadline:
            time.sleep(0.01)
        assert feed.version() == first + 1  # one commit: one change reported
    finally:
        feed.close()


@pytest.mark.sqlite_only
def test_files_the_fast_path_cannot_write_go_to_the_orm_path(tmp_path: Path) -> None:
    missing = tmp_path / "none.db"
    assert uow.open_writer(missing) is None and not missing.exists()
    journal = tmp_path / "journal.db"
    con = sqlite3.connect(journal)
    con.execute("CREATE TABLE tk_meta (key TEXT PRIMARY KEY, value TEXT)")
    con.commit()
    con.close()
    assert uow.open_writer(journal) is None  # not ours (and not in WAL mode)
    foreign = tmp_path / "foreign.db"
    foreign.write_text("not a database")
    assert uow.open_writer(foreign) is None


@pytest.mark.sqlite_only
def test_the_quick_check_limit_is_the_engines() -> None:
    from tuikanban.store import engine

    assert uow.QUICK_CHECK_MAX_BYTES == engine.QUICK_CHECK_MAX_BYTES


def test_concurrent_fast_adds_never_pass_a_wip_limit(boards: tuple[str, str], fixed_now: str) -> None:
    """Four `deal add` processes at once into a stage with room for one more: the check and the insert are one
    transaction (BEGIN IMMEDIATE, or the write lock), so exactly one gets in."""
    import os
    import subprocess
    import sys

    quick_db, _ = boards
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent / "src"), "TUIKANBAN_USER": "tester"}
    line = [sys.executable, "-m", "tuikanban", "--db", quick_db, "deal", "add", "Rush", "--stage", "Qualified"]
    procs = [subprocess.Popen(line, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(4)]
    results = [(p.wait(60), p.stderr.read() if p.stderr else "") for p in procs]
    for p in procs:
        for stream in (p.stdout, p.stderr):
            if stream is not None:
                stream.close()
    assert sorted(code for code, _ in results) == [0, 1, 1, 1]
    assert all("Qualified is at its WIP limit (2/2)" in err for code, err in results if code)
    assert rows(quick_db, "SELECT count(*) FROM deal WHERE status = 'open' AND stage_id = "
                          "(SELECT id FROM stage WHERE name = 'Qualified' AND pipeline_id = 1)") == [(2,)]
