"""The board as `run_board` starts it, on PostgreSQL and SQLite: the first read without the ORM, live updates from
other writers (by NOTIFY on PostgreSQL), a feed that reconnects, a WIP race between two boards.

Tests marked `engines` run on both engines (SQLite too: the change feed replaced the board's polling there); the
`postgres_only` one is about the feed's LISTEN connection. The board's key paths run on both engines in
tests/test_board.py itself.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from board_helpers import press, settle
from engines import rows
from test_board import SIZE, focused_title, record_notifications, sales, screen_text  # noqa: F401
from tuikanban.domain.targets import parse_target
from tuikanban.services import deals as ds
from tuikanban.services import pipelines as ps
from tuikanban.store import fastread
from tuikanban.store.engine import Database, open_database
from tuikanban.ui.app import TuikanbanApp
from tuikanban.ui.board.gateway import BoardGateway
from tuikanban.ui.board.state import BoardState


def fast_app(url: str, user: str = "tester") -> TuikanbanApp:
    """The app as `run_board` starts it: the first screen read without the ORM, the database opened after."""
    target = parse_target(url)
    con, pipeline = fastread.first_read(target, None, None)
    assert con is not None, "the fast path should read a current database"
    gateway = BoardGateway(path=target, user=user, db=None, con=con, owns_db=True)
    initial = gateway.load(pipeline, BoardState(), window=8)
    return TuikanbanApp(None, user, pipeline, None, db_path=target, gateway=gateway, initial=initial)


def with_password(url: str, password: str) -> str:
    """`url` with a password for its user (the local test server trusts root, so any password logs in)."""
    t = parse_target(url)
    user = t.user or "root"
    rest = url.split("://", 1)[1]
    rest = rest.split("@", 1)[1] if "@" in rest else rest
    return f"postgresql://{user}:{password}@{rest}"


@pytest.mark.engines
async def test_first_read_without_the_orm_paints_and_the_header_shows_the_target(
        db_target: str, sales: dict[str, int], engine: str) -> None:  # noqa: F811
    url = with_password(db_target, "s3cr3t-pw") if engine == "postgresql" else db_target
    app = fast_app(url)
    assert app.board_screen.session.db is None  # painted before the database is opened for writing
    async with app.run_test(size=SIZE) as pilot:
        assert "Umbrella deal" in screen_text(app)
        await settle(pilot)
        header = app.board_screen.header.render().plain
        assert str(parse_target(url)) in header and "s3cr3t" not in header
        assert app.board_screen.session.db is not None and not app.board_screen.session.readonly
        await press(pilot, "shift+right")  # Initech rollout (Lead, newest on top) to Qualified
        assert rows(db_target, "SELECT s.name FROM deal d JOIN stage s ON s.id = d.stage_id WHERE d.id = :i",
                    i=sales["initech"]) == [("Qualified",)]


async def shows(pilot: Any, app: TuikanbanApp, text: str, within: float) -> float | None:
    """Seconds until `text` is on the board (None if it is not there within `within` seconds); no key pressed."""
    start = time.monotonic()
    while time.monotonic() - start < within:
        await pilot.pause()
        if text in screen_text(app):
            return time.monotonic() - start
        await asyncio.sleep(0.01)
    return None


@pytest.mark.engines
async def test_a_commit_by_another_writer_repaints_within_a_second_keeping_focus(
        db: Database, db_target: str, sales: dict[str, int]) -> None:  # noqa: F811
    app = fast_app(db_target)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "down")
        assert focused_title(app) == "Acme pilot"
        other = open_database(db_target)  # another rep's process
        try:
            ds.create_deal(other, sales["pipeline"], "Stark upgrade", user="dana", stage="Lead", dtype="New")
        finally:
            other.close()
        took = await shows(pilot, app, "Stark upgrade", within=1.0)
        assert took is not None, "another rep's new deal did not show within a second"
        await settle(pilot)
        assert focused_title(app) == "Acme pilot"


@pytest.mark.postgres_only
async def test_after_a_dropped_connection_the_feed_reconnects_and_the_board_catches_up(
        db: Database, db_target: str, sales: dict[str, int]) -> None:  # noqa: F811
    app = fast_app(db_target)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await asyncio.sleep(0.3)  # the feed is listening
        cut = rows(db_target, "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE "
                              "application_name IN ('tuikanban-feed', 'tuikanban-board') AND pid <> pg_backend_pid() "
                              "AND datname = current_database()")  # (this test's database only)
        assert cut[0][0] >= 1  # the board's feed (and its read connection, when open)
        ds.create_deal(db, sales["pipeline"], "Written while the feed was away", user="dana", stage="Lead")
        assert await shows(pilot, app, "Written while the feed was away", within=5.0) is not None
        ds.create_deal(db, sales["pipeline"], "Heard after the reconnect", user="dana", stage="Lead")
        took = await shows(pilot, app, "Heard after the reconnect", within=1.0)
        assert took is not None


@pytest.mark.engines
async def test_two_boards_racing_for_the_last_place_in_a_stage(
        db: Database, db_target: str, sales: dict[str, int]) -> None:  # noqa: F811
    ps.set_stage(db, sales["pipeline"], "Proposal", wip_max=2)  # Umbrella is there: one place left
    ds.move_deal(db, sales["initech"], "Qualified", user="tester")  # Qualified: Initech, Hooli (both New)
    a, b = fast_app(db_target, "ana"), fast_app(db_target, "ben")
    async with a.run_test(size=SIZE) as pa, b.run_test(size=SIZE) as pb:
        await settle(pa)
        await settle(pb)
        await press(pa, "l")
        await press(pb, "l", "down")
        assert {focused_title(a), focused_title(b)} == {"Initech rollout", "Hooli expansion"}
        notes_a, notes_b = record_notifications(a), record_notifications(b)
        await asyncio.gather(pa.press("shift+right"), pb.press("shift+right"))
        await settle(pa)
        await settle(pb)
        in_proposal = rows(db_target, "SELECT count(*) FROM deal d JOIN stage s ON s.id = d.stage_id "
                                      "WHERE s.name = 'Proposal' AND d.status = 'open'")
        assert in_proposal == [(2,)]  # never 3: one of the two moves was refused
        refusals = [n for n in notes_a + notes_b if "WIP limit (2/2)" in n[0]]
        assert len(refusals) == 1, notes_a + notes_b
        for app, pilot in ((a, pa), (b, pb)):  # and both boards show the winner, by live update
            for _ in range(100):
                model = app.board_screen.model
                assert model is not None
                proposal = next(s.id for s in model.stages if s.name == "Proposal")
                if model.count(proposal) == 2:
                    break
                await asyncio.sleep(0.02)
                await pilot.pause()
            assert model.count(proposal) == 2


@pytest.mark.engines
async def test_a_closed_board_leaves_no_feed_behind(db_target: str, sales: dict[str, int], engine: str) -> None:  # noqa: F811
    import threading

    def feeds() -> list[str]:
        return [t.name for t in threading.enumerate() if t.name == "tuikanban-feed"]

    app = fast_app(db_target)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert feeds() == ["tuikanban-feed"]
    for _ in range(100):  # the wait returns within a quarter of a second of the board closing
        if not feeds():
            break
        await asyncio.sleep(0.01)
    assert feeds() == []
    if engine == "postgresql":
        listening = rows(db_target, "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'tuikanban-feed' "
                                    "AND datname = current_database()")
        assert listening == [(0,)]
