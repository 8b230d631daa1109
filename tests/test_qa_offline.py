"""A database server that goes away under an open board: the board says so once (and `offline` in its header)
instead of showing what it last read as if it were live, and catches up when the server is back."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from board_helpers import settle
from test_board import record_notifications
from tuikanban.services import deals as ds
from tuikanban.services import pipelines as ps
from tuikanban.store.engine import Database
from tuikanban.store.feed import Change, ChangeFeed
from tuikanban.ui.app import TuikanbanApp
from tuikanban.ui.board import live

pytestmark = pytest.mark.engines  # the tests that use a database run on SQLite and on PostgreSQL


class FlakyFeed(ChangeFeed):
    """A feed whose server can be taken away (`up`), as PostgresFeed's connection drops and comes back."""

    def __init__(self) -> None:
        super().__init__()
        self.up = threading.Event()
        self.up.set()
        self.back = False

    @property
    def reachable(self) -> bool:
        return self.up.is_set()

    def wait(self, timeout: float) -> Change | None:
        threading.Event().wait(min(timeout, 0.05))
        if self.up.is_set() and self.back:
            self.back = False
            return Change(None)  # (PostgresFeed after a reconnect: re-check everything)
        return None

    def close(self) -> None:
        pass


async def wait_for(pilot: Any, test: Any) -> None:
    for _ in range(200):
        await pilot.pause()
        if test():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("timed out")


async def test_the_board_says_once_when_its_server_went_away_and_catches_up_when_it_is_back(
    db: Database, fixed_now: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    p = ps.create_pipeline(db, "Sales", ["Lead", "Qualified"])
    deal = ds.create_deal(db, p.id, "Acme", user="bob").id
    feed = FlakyFeed()
    monkeypatch.setattr(live, "open_feed", lambda _target: feed)
    app = TuikanbanApp(db, "tester")
    said = record_notifications(app)
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        header = app.board_screen.header
        assert not header.offline and " offline " not in header.render().plain
        feed.up.clear()  # the server stops
        await wait_for(pilot, lambda: header.offline)
        assert " offline " in header.render().plain
        lost = [text for text, *_ in said if text.startswith("Lost the connection to")]
        assert len(lost) == 1 and "catches up by itself when the server is back" in lost[0]
        ds.move_deal(db, deal, "Qualified", user="bob")  # (a commit the feed could not hear)
        await asyncio.sleep(0.3)
        await settle(pilot)
        assert len([text for text, *_ in said if text.startswith("Lost the connection")]) == 1  # said once
        feed.back = True
        feed.up.set()  # back
        await wait_for(pilot, lambda: not header.offline)
        await wait_for(pilot, lambda: app.board_screen.model is not None and any(
            c.title == "Acme" and c.stage_id != app.board_screen.model.stages[0].id
            for c in app.board_screen.model.by_id.values()))
        assert " offline " not in header.render().plain
