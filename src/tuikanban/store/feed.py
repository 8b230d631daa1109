"""The change feed: how a board learns that someone else committed, on either engine.

One interface, `ChangeFeed`, two implementations:

- `SqliteFeed` watches `PRAGMA data_version` on a connection of its own (the number changes when any other
  connection commits to the file). On Linux it sleeps in inotify until the file or its log is written (an idle
  board wakes for nothing), and looks at the number once at each `wait` besides; elsewhere it polls every
  SQLITE_POLL_S. A commit that changed nothing a board reads (a presence heartbeat: `presence.seen`) is not
  reported, one that changed only who is here is reported as presence alone (`Change(frozenset(), presence=True)`,
  as on PostgreSQL): ten boards on one file do not wake each other every second with their heartbeats;
- `PostgresFeed` holds one connection that LISTENs on the `tuikanban` channel; every write's transaction sends
  `NOTIFY tuikanban, '<pipeline id>'` (store.pgddl's triggers; '*' from a restore: anything may have changed),
  delivered when it commits. After a dropped connection it reconnects and reports "anything may have changed"
  (a re-check), since notifications sent while it was away are lost.

Use: one feed per board, `wait(timeout)` on a background lane in a loop; `version()` for code that polls.
Both see every commit that matters to a board, this process's own included (the feed has its own connection).
Importing this module does not import SQLAlchemy or psycopg (the board's first paint comes first).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import select
import sqlite3
import struct
import sys
import threading
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
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
    after a reconnect): then re-read whatever is shown. `presence`: someone came, went or opened a deal, and
    nothing else changed (`pipeline_ids` empty), or as well. `presence_known`: the feed can tell (`presence` False
    then says presence did not change, and a board need not read it); False after a reconnect or a restore."""

    pipeline_ids: frozenset[int] | None
    presence: bool = False
    presence_known: bool = field(default=False, compare=False)

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


# What a board reads, apart from the deals: a commit that changed none of it (a presence heartbeat, which moves
# `presence.seen` only) is not reported. Every change to a deal, its stays, checks and tasks writes an event or an
# activity in the same transaction (docs/ARCHITECTURE.md), so their newest ids stand for those tables.
_STATE_SQL = (
    "SELECT coalesce(max(id), 0) FROM event",
    "SELECT coalesce(max(id), 0) FROM activity",
    "SELECT * FROM pipeline ORDER BY id",
    "SELECT * FROM stage ORDER BY id",
    "SELECT * FROM deal_type ORDER BY id",
    "SELECT * FROM tk_meta ORDER BY key",
    "SELECT * FROM review_mark ORDER BY id",
)
_PRESENCE_SQL = "SELECT token, user, host, pid, since, viewing, editing FROM presence ORDER BY token"


class SqliteFeed(ChangeFeed):
    def __init__(self, path: Path) -> None:
        super().__init__()
        self._watch = _FileWatch.open(path)  # (before the first look: a commit after it wakes the wait)
        uri = "file:" + quote(str(path.absolute()), safe="/") + "?mode=ro"
        self._con = sqlite3.connect(uri, uri=True, check_same_thread=False,
                                    isolation_level=None)
        self._seen = self._data_version()
        self._state, self._here = self._read_state()

    def _data_version(self) -> int:
        return int(self._con.execute("PRAGMA data_version").fetchone()[0])

    def _read_state(self) -> tuple[object, object]:
        """(what a board reads but the deals, who is here); None for either when it cannot be read (an old schema,
        a file being replaced): then every commit counts."""
        con = self._con
        try:
            con.execute("BEGIN")
            try:
                state: object = tuple(tuple(con.execute(sql).fetchall()) for sql in _STATE_SQL)
                try:
                    here: object = tuple(con.execute(_PRESENCE_SQL).fetchall())
                except sqlite3.Error:
                    here = None
            finally:
                con.execute("COMMIT")
        except sqlite3.Error:
            return None, None
        return state, here

    def _classify(self) -> Change | None:
        """Someone committed: what a board should hear of it (None: nothing it reads changed)."""
        state, here = self._read_state()
        before_state, before_here = self._state, self._here
        self._state, self._here = state, here
        presence = here is None or here != before_here
        if state is None or state != before_state:
            return Change(None, presence=presence, presence_known=here is not None and before_here is not None)
        if presence:
            return Change(frozenset(), presence=True, presence_known=True)
        return None

    def wait(self, timeout: float) -> Change | None:
        deadline = time.monotonic() + max(0.0, timeout)
        while True:
            now = self._data_version()
            if now != self._seen:
                self._seen = now
                change = self._classify()
                if change is not None:
                    return change
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            if self._watch is not None:
                try:
                    if not self._watch.wait(left):
                        return None  # (nothing written: the next wait looks at the number first anyway)
                except OSError:  # the watch broke: poll from now on
                    self._watch.close()
                    self._watch = None
            else:
                time.sleep(min(SQLITE_POLL_S, left))

    def close(self) -> None:
        self._con.close()
        if self._watch is not None:
            self._watch.close()


class _FileWatch:
    """Linux inotify on the database file's directory: `wait` returns when the file or its log was written (a
    commit writes its log; a checkpoint, or a file without a log, the file), or at the timeout. Other files'
    events in the directory are read and passed over."""

    MASK = 0x2 | 0x40 | 0x80 | 0x100 | 0x200  # IN_MODIFY, IN_MOVED_FROM, IN_MOVED_TO, IN_CREATE, IN_DELETE
    OVERFLOW = 0x4000  # IN_Q_OVERFLOW: events were lost, look at the file
    _HEAD = struct.Struct("iIII")  # wd, mask, cookie, len (then len bytes of name)

    def __init__(self, fd: int, names: set[bytes]) -> None:
        self._fd = fd
        self._names = names
        self._poll = select.poll()
        self._poll.register(fd, select.POLLIN)

    @classmethod
    def open(cls, path: Path) -> _FileWatch | None:
        """None where inotify is not available (not Linux, no instance left): the feed polls instead."""
        if not sys.platform.startswith("linux"):
            return None
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            fd = libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        except (OSError, AttributeError):
            return None
        if fd < 0:
            return None
        real = Path(os.path.realpath(path))
        names = {os.fsencode(n + suffix) for n in {path.name, real.name} for suffix in ("", "-wal", "-journal")}
        if libc.inotify_add_watch(fd, os.fsencode(str(real.parent)), cls.MASK) < 0:
            os.close(fd)
            return None
        return cls(fd, names)

    def wait(self, timeout: float) -> bool:
        """Block until one of the board's files was written (True) or `timeout` seconds passed (False)."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not self._poll.poll(max(1, int(left * 1000) + 1)):
                return False
            if self._drain():
                return True

    def _drain(self) -> bool:
        hit = False
        while True:
            try:
                data = os.read(self._fd, 65536)
            except BlockingIOError:
                return hit
            if not data:
                raise OSError("the inotify watch was closed")
            at = 0
            while at + self._HEAD.size <= len(data):
                _wd, mask, _cookie, n = self._HEAD.unpack_from(data, at)
                start = at + self._HEAD.size
                hit = hit or bool(mask & self.OVERFLOW) or data[start:start + n].rstrip(b"\0") in self._names
                at = start + n

    def close(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self._fd)


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
        return Change(ids, presence=PRESENCE in payloads, presence_known=True)

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
