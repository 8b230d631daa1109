"""Presence on the board: the header names the other reps on it, the deal detail names who else has that deal
open, the edit form warns who else is editing it, and the board's own seat comes and goes with the board.

The other reps are seats taken with `services.presence` in this process (alive, so never pruned as dead)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from textual.pilot import Pilot

from board_helpers import press, settle
from tuikanban.services import deals as ds
from tuikanban.services import pipelines as ps
from tuikanban.services import presence
from tuikanban.store.engine import Database
from tuikanban.ui.app import TuikanbanApp
from tuikanban.ui.presence import HereLine, here_line, on_deal_line

pytestmark = pytest.mark.engines  # the tests that use a database run on SQLite and on PostgreSQL

SIZE = (160, 45)


def _board(db: Database) -> int:
    p = ps.create_pipeline(db, "Sales", ["Lead", "Won over"])
    return ds.create_deal(db, p.id, "Acme pilot", user="alice", stage="Lead", value="1000").id


def header_text(app: TuikanbanApp) -> str:
    return app.board_screen.header.render().plain


async def wait_for(pilot: Pilot[Any], check: Any, seconds: float) -> float:
    """Wait until `check()` is true; the time it took (fails after `seconds`)."""
    start = time.monotonic()
    while time.monotonic() - start < seconds:
        await pilot.pause()
        if check():
            return time.monotonic() - start
        await asyncio.sleep(0.02)
    raise AssertionError("not within the time allowed")


def _here(user: str, viewing: int | None = None, editing: int | None = None) -> presence.Here:
    t = presence.clock.now()
    return presence.Here(user, user, "h", 1, t, t, viewing, editing)


def test_here_line_is_compact_and_empty_alone() -> None:
    assert here_line([]) == ""
    assert here_line([_here("bob")]) == "bob here"
    assert here_line([_here("bob"), _here("carol"), _here("bob")]) == "bob, carol here"  # bob's two boards: once
    many = [_here(n) for n in ("bob", "carol", "dave", "erin", "frank")]
    assert here_line(many) == "bob, carol, dave +2 here"
    assert here_line([_here("\x1b]52;c;aGk=\x07eve\u202e")]) == "eve here"  # names are shown inert


def test_deal_line_names_editors_first() -> None:
    assert on_deal_line([_here("bob", editing=7)], 7, "editing") == "bob is editing this deal."
    assert on_deal_line([_here("bob", viewing=7)], 7, "viewing") == "Also open on bob's board."
    both = [_here("bob", viewing=7, editing=7), _here("carol", viewing=7), _here("dave", viewing=8)]
    assert on_deal_line(both, 7, "viewing") == "bob is editing this deal; carol has it open."
    assert on_deal_line(both, 8, "editing") == "dave has it open."
    assert on_deal_line(both, 9, "viewing") == ""
    two = [_here("carol", viewing=7), _here("dave", viewing=7)]
    assert on_deal_line(two, 7, "viewing") == "Also open on the boards of carol and dave."
    assert on_deal_line(two, 7, "editing") == "carol and dave have it open."


async def test_header_shows_others_within_a_second_and_nothing_alone(db: Database) -> None:
    _board(db)
    app = TuikanbanApp(db, "alice")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert " here" not in header_text(app)  # alone: nothing
        mine = [h for h in presence.who(db) if h.user == "alice"]
        assert len(mine) == 1  # the board took its seat once the database was open
        bob = presence.join(db, "bob")
        took = await wait_for(pilot, lambda: "bob here" in header_text(app), 2.0)
        assert took < 1.0
        carol = presence.join(db, "carol")
        await wait_for(pilot, lambda: "bob, carol here" in header_text(app), 1.0)
        presence.leave(bob)
        await wait_for(pilot, lambda: "carol here" in header_text(app) and "bob" not in header_text(app), 1.0)
        presence.leave(carol)
        await wait_for(pilot, lambda: " here" not in header_text(app), 1.0)
    # the board left at exit
    assert [h.user for h in presence.who(db)] == []


async def test_edit_form_warns_who_is_editing_and_the_seat_follows_the_screens(db: Database) -> None:
    deal_id = _board(db)
    bob = presence.join(db, "bob")
    presence.editing(bob, deal_id)
    app = TuikanbanApp(db, "alice")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert "bob here" in header_text(app)
        await press(pilot, "e")
        line = app.screen.query_one("#form-here", HereLine)
        assert line.display and str(line.render()) == "bob is editing this deal."
        alice = [h for h in presence.who(db) if h.user == "alice"]
        assert alice[0].editing == deal_id
        await press(pilot, "escape")
        assert [h.editing for h in presence.who(db) if h.user == "alice"] == [None]

        presence.editing(bob, None)
        presence.viewing(bob, deal_id)
        await wait_for(pilot, lambda: app.presence.others and app.presence.others[0].viewing == deal_id, 1.0)
        await press(pilot, "enter")
        detail = app.screen.query_one("#detail-here", HereLine)
        assert str(detail.render()) == "Also open on bob's board."
        assert [h.viewing for h in presence.who(db) if h.user == "alice"] == [deal_id]
        presence.leave(bob)
        await wait_for(pilot, lambda: not detail.display, 1.0)  # bob closed his board: the line goes
        await press(pilot, "escape")
        assert [h.viewing for h in presence.who(db) if h.user == "alice"] == [None]


async def test_a_lone_edit_form_says_nothing(db: Database) -> None:
    _board(db)
    app = TuikanbanApp(db, "alice")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "e")
        assert not app.screen.query_one("#form-here", HereLine).display


async def test_another_boards_heartbeats_make_the_board_read_nothing(db: Database, monkeypatch: pytest.MonkeyPatch
                                                                     ) -> None:
    """Ten boards on one file beat every HEARTBEAT_SECONDS each: a heartbeat (it moves `seen` only) must not make
    the others check their board or read presence again; a deal opened elsewhere makes them read presence only,
    and a move their board only."""
    from tuikanban.ui.board import base
    from tuikanban.ui.presence import PresenceLink

    deal_id = _board(db)
    checks: list[int] = []
    reads: list[int] = []
    real_catch_up, real_refresh = base.catch_up_job, PresenceLink.refresh
    monkeypatch.setattr(base, "catch_up_job", lambda *a: (checks.append(1), real_catch_up(*a))[1])
    monkeypatch.setattr(PresenceLink, "refresh", lambda self: (reads.append(1), real_refresh(self))[1])
    app = TuikanbanApp(db, "alice")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        bob = presence.join(db, "bob")
        await wait_for(pilot, lambda: "bob here" in header_text(app), 2.0)
        await settle(pilot)
        checks.clear()
        reads.clear()
        for _ in range(5):
            presence.heartbeat(bob)
            await asyncio.sleep(0.1)
        await asyncio.sleep(0.6)  # (more than the feed needs to hear a commit)
        await settle(pilot)
        assert (checks, reads) == ([], [])
        presence.viewing(bob, deal_id)
        await wait_for(pilot, lambda: bool(app.presence.others) and app.presence.others[0].viewing == deal_id, 1.0)
        await settle(pilot)
        assert checks == [] and reads
        reads.clear()
        ds.move_deal(db, deal_id, "Won over", user="bob")
        await wait_for(pilot, lambda: bool(checks), 1.0)
        await settle(pilot)
        assert reads == []  # (the feed says presence did not change)
        presence.leave(bob)
        await settle(pilot)
