"""Presence (issue 12) on either engine: who has the board open, seats that join, beat, leave and expire, a board
killed on this host dropping out at once, `who`, and a read-only board's inactive seat. (That a heartbeat wakes
no other board's reload is SQLite's data_version in tests/test_team.py, and NOTIFY's in tests/test_feed.py.)"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from engines import rows
from tuikanban.services import presence
from tuikanban.store.engine import open_database

pytestmark = pytest.mark.engines  # on SQLite and on PostgreSQL


def _at(monkeypatch: pytest.MonkeyPatch, moment: datetime) -> None:
    monkeypatch.setenv("TUIKANBAN_NOW", moment.isoformat())


def test_presence_join_heartbeat_leave_and_expiry(db_target: str, monkeypatch: pytest.MonkeyPatch) -> None:
    t0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
    _at(monkeypatch, t0)
    db = open_database(db_target)
    try:
        alice = presence.join(db, "alice", "shared-host", 4242)
        bob = presence.join(db, "bob", "shared-host", 4343)
        assert [(h.user, h.host, h.pid) for h in presence.who(db)] == [("alice", "shared-host", 4242),
                                                                       ("bob", "shared-host", 4343)]
        assert [h.user for h in presence.others(alice)] == ["bob"]
        presence.viewing(bob, 7)
        presence.editing(alice, 7)
        assert [(h.user, h.viewing, h.editing) for h in presence.who(db, deal_id=7)] == [
            ("alice", None, 7), ("bob", 7, None)]
        assert [h.user for h in presence.others(alice, deal_id=7)] == ["bob"]
        # bob's board is killed (-9): no leave, no more heartbeats; alice keeps beating
        _at(monkeypatch, t0 + timedelta(seconds=20))
        presence.heartbeat(alice)
        assert [h.user for h in presence.who(db)] == ["alice", "bob"]  # 20 s: not stale yet
        _at(monkeypatch, t0 + timedelta(seconds=presence.STALE_SECONDS + 1))
        assert [h.user for h in presence.who(db)] == ["alice"]  # bob's row is 31 s old: gone
        presence.heartbeat(alice)  # a write prunes stale rows from the table
        assert rows(db_target, 'SELECT "user" FROM presence') == [("alice",)]
        presence.leave(alice)
        assert presence.who(db) == []
        assert rows(db_target, "SELECT count(*) FROM presence") == [(0,)]
        presence.heartbeat(alice)  # a board that was stopped past the expiry comes back with its next beat
        assert [h.user for h in presence.who(db)] == ["alice"]
    finally:
        db.close()


def test_a_killed_board_on_this_host_drops_out_at_once(db_target: str) -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    db = open_database(db_target)
    try:
        presence.join(db, "carol", None, child.pid)  # this host's name, the child's pid
        assert [h.user for h in presence.who(db)] == ["carol"]
        child.kill()
        child.wait()
        assert presence.who(db) == []
    finally:
        child.kill()
        db.close()


def test_who_lists_the_boards_open_now(cli: Any, db_target: str, fixed_now: str) -> None:
    db = open_database(db_target)
    try:
        r = cli("who")
        assert (r.code, r.out.strip()) == (0, "Nobody has the board open.")
        seat = presence.join(db, "bob\x1b]52;c;ZXZpbA==\x07", "shared-host", 99)
        presence.editing(seat, 3)
        r = cli("who", "--json")
        assert r.code == 0, r.err
        assert json.loads(r.out) == {"here": [{
            "user": "bob", "host": "shared-host", "pid": 99, "since": "2026-03-02T12:00:00+00:00",
            "seen": "2026-03-02T12:00:00+00:00", "viewing": None, "editing": 3}]}
        r = cli("who")
        assert "bob" in r.out and "deal 3 (editing)" in r.out and "\x1b" not in r.out
    finally:
        db.close()


def test_a_read_only_board_has_an_inactive_seat(db_target: str) -> None:
    open_database(db_target).close()
    db = open_database(db_target, readonly=True)
    try:
        seat = presence.join(db, "dana")
        presence.heartbeat(seat)
        presence.leave(seat)
        assert not seat.active and presence.who(db) == []
        assert rows(db_target, "SELECT count(*) FROM presence") == [(0,)]
    finally:
        db.close()
