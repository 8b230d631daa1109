"""Bulk inserts for imports: each value converted once to the form SQLAlchemy stores on SQLite, then the
driver's own executemany.

Why: SQLAlchemy's executemany runs every value through its type processors and sets up the statement for every
chunk, about 13 µs a row: most of the time of an import of 100,000 deals (docs/PERFORMANCE.md, Big files). The
conversions below write what SQLAlchemy writes for these column types (times as naive UTC text with six decimals,
dates as ISO text, booleans as 0 and 1); a test reads rows inserted both ways and compares them. On PostgreSQL
`insert_values` writes through COPY on psycopg's connection (times as naive UTC, what `UTCDateTime` binds). Any
other database, or a column default this module does not handle, goes through SQLAlchemy as before.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Boolean, Date, DateTime, insert
from sqlalchemy.exc import DBAPIError

Convert = Callable[[Any], Any]


def _stamp(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.isoformat(" ", "microseconds")  # SQLAlchemy's "%04d-%02d-%02d %02d:%02d:%02d.%06d"


def _day(value: date | None) -> str | None:
    return None if value is None else f"{value.year:04d}-{value.month:02d}-{value.day:02d}"


def _flag(value: Any) -> int | None:
    return None if value is None else int(bool(value))


def _converter(column: Any) -> Convert | None:
    kind = getattr(column.type, "impl", column.type)  # UTCDateTime decorates DateTime
    if isinstance(kind, DateTime):
        return _stamp
    if isinstance(kind, Date):
        return _day
    if isinstance(kind, Boolean):
        return _flag
    return None


def insert_rows(conn: Any, table: Any, rows: Sequence[dict[str, Any]]) -> None:
    """INSERT every row (dicts with the same keys) in one executemany."""
    if not rows:
        return
    keys = list(rows[0])
    missing = [c for c in table.columns if c.name not in keys and c.default is not None]
    if conn.dialect.name != "sqlite" or missing or any(list(r) != keys for r in rows):
        conn.execute(insert(table), list(rows))
        return
    converters = [_converter(table.c[k]) for k in keys]
    names = ", ".join(f'"{k}"' for k in keys)
    marks = ", ".join("?" for _ in keys)
    pairs = list(zip(keys, converters, strict=True))
    values = [tuple(r[k] if f is None else f(r[k]) for k, f in pairs) for r in rows]
    conn.connection.driver_connection.executemany(f'INSERT INTO "{table.name}" ({names}) VALUES ({marks})', values)


# -- rows as tuples (imports of many rows) --------------------------------------------------------------------


def _stamp_utc(value: datetime | None) -> str | None:
    """`_stamp`, with a quicker way for the aware UTC times the clock and the parsers give."""
    if value is not None and value.tzinfo is UTC:
        return value.isoformat(" ", "microseconds")[:26]
    return _stamp(value)


def _same(value: Any) -> Any:
    return value


def _naive_utc(value: datetime | None) -> datetime | None:
    """What `UTCDateTime` binds on PostgreSQL (a timestamp without time zone, in UTC)."""
    if value is None or value.tzinfo is None:
        return value
    return value.astimezone(UTC).replace(tzinfo=None)


def value_converters(conn: Any) -> tuple[Convert, Convert, Convert]:
    """(time, date, flag): what `insert_values` wants for those columns on this connection. On SQLite the stored
    text and numbers (the caller converts each value once, however many rows and columns repeat it); on
    PostgreSQL times as naive UTC (what `UTCDateTime` binds, so that COPY takes them as they are), dates and flags
    as they are."""
    if conn.dialect.name != "sqlite":
        return (_naive_utc if conn.dialect.name == "postgresql" else _same), _same, _same
    return _stamp_utc, _day, _flag


def insert_values(conn: Any, table: Any, keys: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """INSERT rows given as tuples in the order of `keys`, their times, dates and flags converted with
    `value_converters(conn)`, in one executemany (no dict per row). On SQLite every column with a default must be
    in `keys` (there is no SQLAlchemy in the way to fill it in): a ValueError says which is not."""
    if not rows:
        return
    left_out = [c.name for c in table.columns if c.name not in keys and c.default is not None]
    if conn.dialect.name == "postgresql" and not left_out:
        _copy_rows(conn, table, keys, rows)
        return
    if conn.dialect.name != "sqlite":
        conn.execute(insert(table), [dict(zip(keys, r, strict=True)) for r in rows])
        return
    if left_out:
        raise ValueError(f"insert_values into {table.name} needs the columns {', '.join(left_out)}.")
    names = ", ".join(f'"{k}"' for k in keys)
    marks = ", ".join("?" for _ in keys)
    conn.connection.driver_connection.executemany(f'INSERT INTO "{table.name}" ({names}) VALUES ({marks})', rows)


def _copy_rows(conn: Any, table: Any, keys: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """The rows through PostgreSQL's COPY on psycopg's connection, in the transaction under way: about a tenth of
    the client's work of SQLAlchemy's executemany of dicts (docs/PERFORMANCE.md, Big files, round 6). A column
    left out takes its server default (the caller names every column with a client-side default).

    When the rows carry their pipeline's id, the table's row trigger is quiet for the COPY and the notifications
    it would have sent go once per pipeline after it (`pgddl.quiet_rows`, `notify_pipelines`): the boards hear
    the same, and the server does not run a trigger and a `pg_notify` for each row (docs/PERFORMANCE.md, Round 8)."""
    from tuikanban.store import pgddl  # (only on PostgreSQL: an SQLite process never imports these)
    from tuikanban.store.pg import EXPLICIT_IDS

    names = ", ".join(f'"{k}"' for k in keys)
    sql = f'COPY "{table.name}" ({names}) FROM STDIN'
    if "id" in keys:  # as an INSERT naming the ids: the write moves the id sequences past them before it commits
        conn.info[EXPLICIT_IDS] = True
    column = pgddl.NOTIFY_TABLES.get(table.name, "")
    at = list(keys).index(column) if column in keys else None
    driver_error = conn.dialect.loaded_dbapi.Error
    try:
        with conn.connection.driver_connection.cursor() as cur:
            if at is not None:
                pgddl.quiet_rows(cur, True)
            with cur.copy(sql) as copy:
                for row in rows:
                    copy.write_row(row)
            if at is not None:
                pgddl.quiet_rows(cur, False)
                pgddl.notify_pipelines(cur, {row[at] for row in rows})
    except driver_error as exc:  # as SQLAlchemy's execute raises it (IntegrityError, ...): the callers catch those
        raise DBAPIError.instance(sql, None, exc, driver_error) from exc


@dataclass(slots=True)
class _Call:
    fn: Callable[[Any], Any]
    done: Any  # a threading.Event, set when fn ran (or was skipped after an error)
    result: Any = None


_Job = tuple[Any, Sequence[str], Sequence[Sequence[Any]]] | _Call


class BackgroundInserts:
    """`insert_values` on a thread of its own, in the order given, so that the caller's Python work (checking the
    next rows) runs while SQLite inserts the last chunk (the driver lets go of the GIL while SQLite works). The
    caller must not use the connection until `finish()`, which waits for the last insert and raises what any of
    them raised. Use it as a context manager: leaving early (an exception) stops the thread without waiting for
    the queued chunks."""

    def __init__(self, conn: Any, depth: int = 3) -> None:
        import queue
        import threading

        self._conn = conn
        self._queue: queue.Queue[_Job | None] = queue.Queue(depth)
        self._error: BaseException | None = None
        self._stop = False
        self._thread = threading.Thread(target=self._run, name="tuikanban-inserts", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (item := self._queue.get()) is not None:
            if self._error is None and not self._stop:
                try:
                    if isinstance(item, _Call):
                        item.result = item.fn(self._conn)
                    else:
                        insert_values(self._conn, *item)
                except BaseException as exc:  # handed to the caller by put(), call() or finish()
                    self._error = exc
            if isinstance(item, _Call):
                item.done.set()

    def put(self, table: Any, keys: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        if self._error is not None:
            self.finish()
        if rows:
            self._queue.put((table, keys, rows))

    def call(self, fn: Callable[[Any], Any]) -> Any:
        """fn(connection) on the inserts' thread once what was queued before it is inserted; its result. The way to
        read through the connection while inserts are under way (the connection is used by one thread at a time)."""
        import threading

        if self._error is not None or not self._thread.is_alive():
            self.finish()
            return fn(self._conn)
        job = _Call(fn, threading.Event())
        self._queue.put(job)
        job.done.wait()
        if self._error is not None:
            self.finish()
        return job.result

    def finish(self) -> None:
        """Wait for every insert; raise the first error one of them met."""
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()
        if self._error is not None:
            raise self._error

    def __enter__(self) -> BackgroundInserts:
        return self

    def __exit__(self, kind: Any, *_rest: Any) -> None:
        if kind is not None:  # the caller failed: drop what is queued, wait for the insert under way, add nothing
            self._stop = True
            if self._thread.is_alive():
                self._queue.put(None)
                self._thread.join()
            return
        self.finish()


# -- indexes built once at the end (imports of many rows into tables that hold few) ---------------------------


@contextlib.contextmanager
def indexes_deferred(conn: Any, tables: Sequence[str], rows: int) -> Iterator[None]:
    """Inside the caller's write transaction on SQLite: the secondary indexes of those `tables` that hold at most
    `rows` rows (about what the import adds) are dropped for the block and created again at its end, once the
    block's inserts are done. Each insert no longer updates every index of its table at a random place (the events
    have ten; SQLite's small page cache made that read and write the same pages again and again): building an
    index from the finished table sorts it once. Unique indexes are kept (their check is the insert's).

    Leaving the block by an exception builds nothing: the caller's transaction is rolled back, and the rollback
    brings the indexes back as they were (SQLite's schema changes are part of the transaction). Elsewhere, or for a
    table that already holds more rows, nothing changes."""
    if conn.dialect.name != "sqlite":
        yield
        return
    cur = conn.connection.driver_connection
    saved: list[str] = []
    for table in tables:
        held = cur.execute(f'SELECT count(*) FROM (SELECT 1 FROM "{table}" LIMIT ?)', (rows + 1,)).fetchone()[0]
        if held > rows:
            continue
        for name, sql in cur.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? "
                                     "AND sql IS NOT NULL ORDER BY name", (table,)).fetchall():
            if not sql.lstrip().upper().startswith("CREATE UNIQUE"):
                saved.append(sql)
                cur.execute(f'DROP INDEX "{name}"')
    yield
    for sql in saved:
        cur.execute(sql)


# -- reading many rows back (the JSON import's history check) -------------------------------------------------


def plain_rows(conn: Any, query: Any, times: Sequence[int] = ()) -> Iterator[tuple[Any, ...]]:
    """The rows of a SELECT as plain tuples, the columns at `times` as aware UTC datetimes. On SQLite the driver's
    rows with the stored times parsed by `datetime.fromisoformat` (SQLAlchemy's result processing costs several
    times as much on hundreds of thousands of rows); elsewhere SQLAlchemy's rows, from a server-side cursor a few
    thousand at a time (psycopg's own cursor fetches the whole result before the first row)."""
    if conn.dialect.name != "sqlite":
        for row in conn.execute(query.execution_options(stream_results=True, max_row_buffer=5000)):
            yield tuple(row)
        return
    compiled = query.compile(dialect=conn.dialect)
    params = tuple(compiled.params[name] for name in (compiled.positiontup or ()))
    cursor = conn.connection.driver_connection.execute(str(compiled), params)
    parse = datetime.fromisoformat
    while chunk := cursor.fetchmany(1000):
        if not times:
            yield from chunk
            continue
        for row in chunk:
            values = list(row)
            for i in times:
                if values[i] is not None:
                    values[i] = parse(values[i]).replace(tzinfo=UTC)
            yield tuple(values)
