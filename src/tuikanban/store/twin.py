"""Two SQLite connections on one snapshot, and reads run beside the caller on the second (the review's: its SQL
on both cores; docs/PERFORMANCE.md, The review's speed; and the JSON export's ranges of rows, Big files).

`paired_snapshot` opens the first connection's read transaction as `store.fastread.snapshot` does, and a second
connection's on the same committed state, checked rather than assumed: the second connection notes its
`PRAGMA data_version` before the first one's snapshot starts, and again inside its own transaction once that has
started. The pragma changes on a connection exactly when another connection committed in between, so equal
values mean no commit fell between the two starts (the first one's start lies between the two notes) and both
read the same state. When they differ (a write landed in that moment), there is no second connection: every read
runs on the first, one after the other, as before.

`Beside` runs reads in order on a thread of its own through the unit's twin (`Unit.twin`), while the caller reads
on the unit; SQLite releases the GIL while a query runs. Without a twin (PostgreSQL, an ORM session, a write in
between) each read runs on the unit itself when its result is first asked for, so the results are the same either
way.
"""

from __future__ import annotations

import json
import os
import queue
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import TYPE_CHECKING, Any, Generic, TypeVar

if TYPE_CHECKING:
    from tuikanban.store.uow import Unit

T = TypeVar("T")



def second_core_free() -> bool:
    """Whether the last minute's load leaves a core idle besides the one this process runs on. Reads beside each
    other (the review's, the JSON export's two ranges) gain wall time only then; with every core busy they cost
    CPU and the threads wait on each other for the GIL (docs/PERFORMANCE.md, The review's speed and Big files)."""
    try:
        load = os.getloadavg()[0]
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    except OSError:
        return False
    return cores >= 2 and load <= cores - 1


_FIRST_READ = "SELECT count(*) FROM pipeline"  # a read of the file: a transaction's snapshot starts here


def _start(con: sqlite3.Connection) -> None:
    """Start the snapshot of `con`'s read transaction (begun, not read yet)."""
    con.execute(_FIRST_READ).fetchone()


def _begin(con: sqlite3.Connection) -> None:
    """Start `con`'s read transaction and its snapshot."""
    con.execute("BEGIN")
    _start(con)


def _version(con: sqlite3.Connection) -> int:
    return int(con.execute("PRAGMA data_version").fetchone()[0])


@contextmanager
def paired_snapshot(con: sqlite3.Connection, open_twin: Callable[[], sqlite3.Connection | None], *,
                    begun: bool = False) -> Iterator[sqlite3.Connection | None]:
    """`con` inside one read transaction (as `fastread.snapshot`), and a second connection from `open_twin` inside
    one on the same snapshot, or None (it could not be opened, or a commit fell between the two starts). With
    `begun`, `con` is already inside a read transaction that has not read yet (an ORM session's, as the JSON
    export's): its snapshot starts here, and ending the transaction is left to its owner."""
    twin: sqlite3.Connection | None = None
    try:
        twin = open_twin()
        before = _version(twin) if twin is not None else None
    except sqlite3.Error:
        if twin is not None:
            twin.close()
        twin = before = None
    try:
        if begun:
            _start(con)
        else:
            _begin(con)
        try:
            if twin is not None and not _same_start(twin, before):
                twin.close()
                twin = None
            yield twin
        finally:
            if not begun:
                con.execute("COMMIT")
    finally:
        if twin is not None:
            twin.close()  # (its read transaction ends with it)


def _same_start(twin: sqlite3.Connection, before: int | None) -> bool:
    """Start `twin`'s snapshot; whether nobody committed since it read `before` (its data version)."""
    try:
        _begin(twin)
        return _version(twin) == before
    except sqlite3.Error:
        return False


def rows_at_once(u: Unit, columns: list[str], tail: str, params: tuple[Any, ...]) -> list[Any]:
    """`SELECT columns tail` (`tail`: FROM, WHERE, GROUP BY...), its rows as sequences of values. On SQLite the
    rows come as one JSON array built by the engine, so the whole query is one step of it, run without the GIL:
    read row by row, each row takes the GIL back, and while another thread runs Python that is a wait of up to the
    interpreter's switch interval (5 ms) a row. Values are the driver's (integers, text, NULL; no blobs or reals
    among the columns asked for). Row by row on PostgreSQL, or where SQLite lacks its JSON functions."""
    if not u.postgres:
        try:
            inner = ", ".join(f"{c} AS c{i}" for i, c in enumerate(columns))
            outer = ", ".join(f"c{i}" for i in range(len(columns)))
            (text,) = u.execute(f"SELECT json_group_array(json_array({outer})) FROM (SELECT {inner} {tail})",
                                params).fetchone()
        except sqlite3.OperationalError:  # (an SQLite built without JSON functions)
            pass
        else:
            rows: list[Any] = json.loads(text)
            return rows
    return list(u.execute(f"SELECT {', '.join(columns)} {tail}", params).fetchall())


class Pending(Generic[T]):
    """The result of a read handed to `Beside.submit`."""

    __slots__ = ("_done", "_error", "_fn", "_inline", "_value")

    def __init__(self, fn: Callable[[Unit], T], inline: Unit | None) -> None:
        self._fn: Callable[[Unit], T] | None = fn
        self._inline = inline  # the unit to run it on when asked, without a thread
        self._done = threading.Event()
        self._value: Any = None
        self._error: BaseException | None = None

    def _run(self, u: Unit) -> None:
        fn, self._fn = self._fn, None
        try:
            if fn is not None:
                self._value = fn(u)
        except BaseException as exc:  # handed to whoever asks for the result
            self._error = exc
        finally:
            self._done.set()

    def result(self) -> T:
        if self._inline is not None and not self._done.is_set():
            self._run(self._inline)
        self._done.wait()
        if self._error is not None:
            raise self._error
        value: T = self._value
        return value


class Beside:
    """Reads run one after the other on a thread through `u.twin`, or on `u` when asked for (no twin). Use as a
    context manager: leaving it waits for the read in progress and drops the ones not started."""

    def __init__(self, u: Unit) -> None:
        self._u = u
        self._twin: Unit | None = u.twin
        self._jobs: queue.SimpleQueue[Pending[Any] | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._stop = False

    @property
    def parallel(self) -> bool:
        """Whether the reads run on a thread of their own (a twin on the same snapshot)."""
        return self._twin is not None

    def submit(self, fn: Callable[[Unit], T]) -> Pending[T]:
        if self._twin is None:
            return Pending(fn, self._u)
        job: Pending[T] = Pending(fn, None)
        self._jobs.put(job)
        if self._thread is None:
            self._thread = threading.Thread(target=self._work, name="tuikanban-beside", daemon=True)
            self._thread.start()
        return job

    def _work(self) -> None:
        twin = self._twin
        assert twin is not None
        while True:
            job = self._jobs.get()
            if job is None:
                return
            if self._stop:
                job._done.set()  # (nobody waits for it: the caller left)
                continue
            job._run(twin)

    def __enter__(self) -> Beside:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._thread is not None:
            self._stop = True  # the reads not started yet are not waited for
            self._jobs.put(None)
            self._thread.join()


# How much of the file a long read maps into memory (`PRAGMA mmap_size`): SQLite then reads its pages in place
# instead of copying each one through its page cache with a system call (docs/PERFORMANCE.md, The review's speed)
READ_MMAP_BYTES = 1 << 30


def mapped(con: sqlite3.Connection | None) -> sqlite3.Connection | None:
    """`con` (a read-only connection for one long read: the review's) reading the file through memory mapping;
    a build of SQLite without it, or a refusal, leaves it reading as before."""
    if con is not None:
        with suppress(sqlite3.Error):
            con.execute(f"PRAGMA mmap_size={READ_MMAP_BYTES}").fetchall()
    return con


def read_apart(db_path: Any, read: Callable[[Unit], T], *, twin: bool = False) -> T | None:
    """`read` run in one snapshot on a driver connection of its own (no ORM), or None when the database does not
    allow it or the read fails in the driver (the caller then reads through the ORM's database, which refuses a
    database with one sentence). With `twin`, a file's unit carries a second connection on the same snapshot
    (`paired_snapshot`) when one can be had and a core is free for it."""
    from tuikanban.domain.errors import DatabaseError
    from tuikanban.store import fastread
    from tuikanban.store.reads import target_of
    from tuikanban.store.uow import Unit

    target = target_of(db_path)
    con = fastread.connect_target(target)
    if con is None:
        return None
    try:
        path = target.path
        if twin and isinstance(con, sqlite3.Connection):
            mapped(con)
        if twin and path is not None and isinstance(con, sqlite3.Connection) and second_core_free():
            with paired_snapshot(con, lambda: mapped(fastread.connect(path))) as second:
                pair = Unit(second, postgres=False) if second is not None else None
                return read(Unit(con, postgres=False, twin=pair))
        with fastread.snapshot(con):
            return read(Unit(con, postgres=target.is_postgres))
    except (sqlite3.Error, DatabaseError):
        return None
    finally:
        con.close()


__all__ = ["READ_MMAP_BYTES", "Beside", "Pending", "mapped", "paired_snapshot", "read_apart", "rows_at_once",
           "second_core_free"]
