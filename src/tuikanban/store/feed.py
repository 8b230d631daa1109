"""The change feed: how a board learns that someone else committed, on either engine.

One interface, `ChangeFeed`, two implementations:

- `SqliteFeed` polls `PRAGMA data_version` on a connection of its own (a few microseconds a poll; the number
  changes when any other connection commits to the file);
- `PostgresFeed` holds one connection that LISTENs on the `tuikanban` channel; every write's transaction sends
  `NOTIFY tuikanban, '<pipeline id>'` (store.pgddl's triggers; '*' from a restore: anything may have changed),
  delivered when it commits. After a dropped connection it reconnects and reports "anything may have changed"
  (a re-check), since notifications sent while it was away are lost.

Use: one feed per board, `wait(timeout)` on a background lane in a loop; `version()` for code that polls.
Both see every commit, this process's own included (the feed has its own connection). Importing this module
does not import SQLAlchemy or psycopg (the board's first paint comes first).
"""

from __future__ import annotations

import sqlite3
import threading
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from tuikanban.domain.targets import Target, parse_target

SQLITE_POLL_S = 0.05
RECONNECT_DELAY_S = 0.5
EVERYTHING = "*"  # the NOTIFY payload of a commit that may have changed anything (a restore)
PRESENCE = "presence"  # the NOTIFY payload of someone joining, leaving or opening a deal: no pipeline changed


@dataclass(frozen=True, slots=True)
class Change:
    """Someone committed. `pipeline_ids`: the pipelines touched, or None when the feed cannot tell (SQLite, or
    after a reconnect): then re-read whatever is shown. `presence`: someone came, went or opened a deal (said on
    PostgreSQL only; on SQLite every commit is a Change(None), after which a board reads presence anyway)."""

    pipeline_ids: frozenset[int] | None
    presence: bool = False

    def touches(self, pipeline_id: int) -> bool:
        return self.pipeline_ids is None or pipeline_id in self.pipeline_ids


class ChangeFeed(ABC):
    """Commits by anyone to one database, as they happen."""

    def __init__(self) -> None:
        self._version = 0
        self._lock = threading.Lock()

    @abstractmethod
    def wait(self, timeout: float) -> Change | None:
        """Block up to `timeout` seconds for commits made since the previous call; None when there were none.

        Several commits that arrive together come as one Change (their pipelines merged)."""

    def version(self) -> int:
        """A number that grows whenever someone commits (non-blocking: checks once, never waits)."""
        with self._lock:
            if self.wait(0) is not None:
                self._version += 1
            return self._version

    @property
    def reachable(self) -> bool:
        """Whether the feed is connected now (a PostgreSQL server that went down: False until it is back)."""
        return True

    @abstractmethod
    def close(self) -> None:
        """Release the feed's connection."""


class SqliteFeed(ChangeFeed):
    def __init__(self, path: Path) -> None:
        super().__init__()
        uri = "file:" + quote(str(path.absolute()), safe="/") + "?mode=ro"
        self._con = sqlite3.connect(uri, uri=True, check_same_thread=False,
                                    isolation_level=None)
        self._seen = self._data_version()

    def _data_version(self) -> int:
        return int(self._con.execute("PRAGMA data_version").fetchone()[0])

    def wait(self, timeout: float) -> Change | None:
        deadline = time.monotonic() + max(0.0, timeout)
        while True:
            now = self._data_version()
            if now != self._seen:
                self._seen = now
                return Change(None)
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            time.sleep(min(SQLITE_POLL_S, left))

    def close(self) -> None:
        self._con.close()


class PostgresFeed(ChangeFeed):
    def __init__(self, target: Target) -> None:
        super().__init__()
        self._target = target
        self._conn: Any = None
        self._connect()

    def _connect(self) -> None:
        import psycopg

        from tuikanban.store.pg import conninfo
        from tuikanban.store.pgddl import NOTIFY_CHANNEL

        self._conn = psycopg.connect(conninfo(self._target, application_name="tuikanban-feed"), autocommit=True)
        self._conn.execute(f"LISTEN {NOTIFY_CHANNEL}")

    def wait(self, timeout: float) -> Change | None:
        import psycopg

        try:
            if self._conn is None:
                self._connect()
                return Change(None)  # back after a drop: what was sent meanwhile is lost, so re-check everything
            return self._collect(timeout)
        except psycopg.Error:
            self._drop()
            time.sleep(min(RECONNECT_DELAY_S, max(0.0, timeout)))
            return None

    @property
    def reachable(self) -> bool:
        return self._conn is not None

    def _collect(self, timeout: float) -> Change | None:
        payloads = [n.payload for n in self._conn.notifies(timeout=max(0.0, timeout), stop_after=1)]
        if not payloads:
            return None
        payloads += [n.payload for n in self._conn.notifies(timeout=0)]  # the rest of the same burst
        if EVERYTHING in payloads:  # a restore replaced every table: re-read whatever is shown
            return Change(None)
        ids = frozenset(int(p) for p in payloads if p.isdigit())
        return Change(ids, presence=PRESENCE in payloads)

    def _drop(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            finally:
                self._conn = None

    def close(self) -> None:
        self._drop()


def open_feed(target: Target | Path | str) -> ChangeFeed:
    """The feed for a database target (a path, a URL, or a parsed Target)."""
    parsed = target if isinstance(target, Target) else parse_target(target)
    if parsed.path is not None:
        return SqliteFeed(parsed.path)
    return PostgresFeed(parsed)


__all__ = ["EVERYTHING", "PRESENCE", "Change", "ChangeFeed", "PostgresFeed", "SqliteFeed", "open_feed"]
