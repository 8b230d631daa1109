"""Live updates: one change feed per board (`store.feed`), waited on by a lane of its own.

The feed is SQLite's `data_version` polling or PostgreSQL's LISTEN/NOTIFY; either way the board only hears
`BoardChanged` (the pipelines a commit touched, or None for "anything may have changed") and checks, on its
writes lane, whether what it shows changed (its own writes are absorbed there). The wait blocks its lane, never
the board's writes or reads, and returns within `WAIT_SLICE_S` of `stop()`.
"""

from __future__ import annotations

import threading

from textual.message import Message
from textual.message_pump import MessagePump

from tuikanban.domain.targets import Target
from tuikanban.store.feed import Change, ChangeFeed, open_feed
from tuikanban.ui.jobs import Lane

WAIT_SLICE_S = 0.25  # how long one wait blocks before it looks whether the board has closed
RETRY_S = 1.0  # after a feed could not be opened (the server is down, the file went away)


class BoardChanged(Message):
    """Someone committed: `change.touches(pipeline_id)` says whether the board should look."""

    def __init__(self, change: Change) -> None:
        super().__init__()
        self.change = change


class LiveFeed:
    """The board's change feed and the lane that waits on it. `listen(board)` waits for the next commit and posts
    `BoardChanged` to the board, which calls `listen` again once it has handled it."""

    def __init__(self, target: Target) -> None:
        self._target = target
        self._feed: ChangeFeed | None = None
        self._missed = False  # the feed was down for a while
        self._stopped = threading.Event()
        self._lane = Lane("tuikanban-feed", on_stop=self._close)

    def listen(self, board: MessagePump) -> None:
        if not self._stopped.is_set():
            self._lane.submit(board, self._wait_job, name="feed")

    def stop(self) -> None:
        self._stopped.set()
        self._lane.stop()

    def _wait_job(self) -> BoardChanged | None:
        while not self._stopped.is_set():
            change = self._next()
            if change is not None:
                return BoardChanged(change)
        return None

    def _next(self) -> Change | None:
        if self._feed is None:
            try:
                self._feed = open_feed(self._target)
            except Exception:  # not reachable now (the server is down, the file went away): try again shortly
                self._missed = True
                self._stopped.wait(RETRY_S)
                return None
            if self._missed:  # commits made while there was no feed were not heard: re-check
                self._missed = False
                return Change(None)
        try:
            return self._feed.wait(WAIT_SLICE_S)
        except Exception:  # (PostgreSQL's feed reconnects by itself; this is anything else breaking it)
            self._close()
            self._missed = True
            return None

    def _close(self) -> None:
        if self._feed is not None:
            feed, self._feed = self._feed, None
            feed.close()
