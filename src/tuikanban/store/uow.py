"""The DB-API unit of work: one write transaction on a plain sqlite3 or psycopg connection, without the ORM.

Why: importing SQLAlchemy and SQLModel costs about 0.3 s, more than the whole of a small command
(docs/PERFORMANCE.md, Commands). The deal actions that commands run most (`deal add`, `deal move`) are written
once, in `services.deal_actions`, against the small `Unit` below; they run

- inside an ORM write transaction (`of_session`: the session's own DB-API connection, so the board, the forms and
  every Typer command keep calling `services.deals` as before), or
- on a connection opened here (`open_writer`), for the command line's fast path.

Either way the transaction is the same: BEGIN IMMEDIATE on SQLite (retried while the file is locked, up to the
lock timeout, then the "stayed locked" sentence), the advisory write lock on PostgreSQL (whose triggers send the
change feed's NOTIFY inside it), all or nothing. `open_writer` returns None for anything unusual (no file, another
schema, a file in rollback-journal mode, a file it may not write, a damaged small file, no server): the caller then
takes the ORM path, which creates, migrates or refuses it with its own sentence.
"""

from __future__ import annotations

import os
import random
import sqlite3
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Protocol, TypeVar

from tuikanban.domain.errors import DatabaseError
from tuikanban.domain.targets import Target
from tuikanban.store import fastread
from tuikanban.store.walowner import fold_log, foreign_log, read_header

T = TypeVar("T")

ENV_LOCK_TIMEOUT = "TUIKANBAN_LOCK_TIMEOUT"
WRITE_DEADLINE_S = 15.0
# The one advisory lock every PostgreSQL write takes (any constant works; this one spells "tkwrite" in ASCII).
WRITE_LOCK_KEY = 0x746B7772697465
# store.engine checks files up to this size with `PRAGMA quick_check` when it opens them (a test keeps them equal).
QUICK_CHECK_MAX_BYTES = 32 * 1024 * 1024


def lock_timeout() -> float:
    """Seconds a write waits for another process's lock: TUIKANBAN_LOCK_TIMEOUT, else 15."""
    raw = os.environ.get(ENV_LOCK_TIMEOUT, "").strip()
    try:
        value = float(raw) if raw else WRITE_DEADLINE_S
    except ValueError:
        value = WRITE_DEADLINE_S
    return value if value > 0 else WRITE_DEADLINE_S


MS_PER_DAY = "86400000.0"  # (SQL: a float literal)


def days_between_sql(start: str, end: str, *, postgres: bool) -> str:
    """SQL: fractional days from `start` to `end` (`Unit.days_between`; `store.sqlfuncs.days_between`, the ORM's
    spelling, compiles to this same text, so both give the same float)."""
    if postgres:  # (float8, as SQLite's: numeric would be read as Decimal, for no gain)
        return (f"((EXTRACT(EPOCH FROM (date_trunc('milliseconds', {end}) - date_trunc('milliseconds', {start})))"
                f" * 1000)::float8 / {MS_PER_DAY})")
    return (f"(round((julianday(substr({end}, 1, 23)) - julianday(substr({start}, 1, 23))) * {MS_PER_DAY})"
            f" / {MS_PER_DAY})")


class Unit:
    """One open write transaction: SQL with `?` placeholders, and the values as the ORM stores them.

    Timestamps are naive UTC (on SQLite the text SQLAlchemy writes, `2026-03-01 14:30:00.000000`), dates ISO
    text on SQLite, booleans as the driver binds Python's."""

    def __init__(self, con: Any, *, postgres: bool, twin: Unit | None = None) -> None:
        self._con = con
        self.postgres = postgres
        # a unit on a second connection reading the same snapshot, for reads run beside this one's (store.twin);
        # None: every read runs here
        self.twin = twin
        # psycopg's connection: a list binds as one array parameter, rows may come in binary (`store.libpq` binds
        # only plain values and reads text)
        self.arrays = False

    def in_list(self, column: str, values: list[Any]) -> tuple[str, tuple[Any, ...]]:
        """SQL `column IN (values)` and its parameters: one array (`= ANY(?)`) where lists bind as arrays, so that
        a few hundred ids are not adapted one by one; else one placeholder a value. `values` must not be empty."""
        if self.arrays:
            return f"{column} = ANY(?)", (list(values),)
        return f"{column} IN ({', '.join('?' for _ in values)})", tuple(values)

    def rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
        return list(self.execute(sql, params).fetchall())

    def one(self, sql: str, params: tuple[Any, ...] = ()) -> Any:
        return self.execute(sql, params).fetchone()

    def scalar(self, sql: str, params: tuple[Any, ...] = ()) -> Any:
        row = self.one(sql, params)
        return None if row is None else row[0]

    def run(self, sql: str, params: tuple[Any, ...] = ()) -> None:
        self.execute(sql, params)

    def insert(self, table: str, row: dict[str, Any]) -> int:
        """Insert one row; returns its new id."""
        columns = ", ".join(f'"{c}"' for c in row)
        marks = ", ".join("?" for _ in row)
        new_id = self.scalar(f"INSERT INTO {table} ({columns}) VALUES ({marks}) RETURNING id", tuple(row.values()))
        return int(new_id)

    def execute(self, sql: str, params: Any = (), *, binary: bool = False) -> Any:
        """The driver's cursor for `sql` (so a unit is also a `store.fastread.Connection`). `binary`: on
        psycopg (`arrays`) the rows come in binary (the same values, without parsing numbers and times from text:
        cheaper for many rows); SQLite and `store.libpq` have only the one form."""
        if self.postgres:
            if binary and self.arrays:
                return self._con.execute(sql.replace("?", "%s"), params, binary=True)
            return self._con.execute(sql.replace("?", "%s"), params)
        return self._con.execute(sql, params)

    def close(self) -> None:
        """A unit borrows its connection: whoever opened it closes it."""

    # -- the dialect's SQL (store.sqlfuncs says the same in SQLAlchemy's terms) ---------------------------------
    def days_between(self, start: str, end: str) -> str:
        """SQL: fractional days from `start` to `end`, the same float on both engines: both times truncated to the
        millisecond, their difference a whole number of milliseconds, divided by the milliseconds of a day.

        (SQLite's julianday rounds a time to the millisecond, through a float; PostgreSQL kept the microseconds:
        a time with sub-millisecond digits gave days that differed in the 6th decimal.) SQLite's stored text is
        cut after the milliseconds and the difference of the two julian days rounded to whole milliseconds (their
        float error is below 0.05 ms); PostgreSQL's EXTRACT of the difference is exact (numeric)."""
        return days_between_sql(start, end, postgres=self.postgres)

    def greatest(self, a: str, b: str) -> str:
        """SQL: the larger of two non-NULL values."""
        return f"GREATEST({a}, {b})" if self.postgres else f"max({a}, {b})"

    # -- values as stored -----------------------------------------------------------------------------------
    def instant(self, value: datetime | None) -> Any:
        if value is None:
            return None
        naive = value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo is not None else value
        if self.postgres:
            return naive
        return f"{naive:%Y-%m-%d %H:%M:%S}.{naive.microsecond:06d}"

    def day(self, value: date | None) -> Any:
        if value is None or self.postgres:
            return value
        return value.isoformat()

    @staticmethod
    def read_instant(raw: Any) -> datetime | None:
        return fastread._instant(raw)

    @staticmethod
    def read_day(raw: Any) -> date | None:
        return fastread._day(raw)


def of_session(session: Any) -> Unit:
    """The unit of an ORM transaction: the DB-API connection the session holds, inside the transaction it began
    (`Database.write`: BEGIN IMMEDIATE, or the advisory lock on PostgreSQL; `Database.read`: its snapshot)."""
    return _SessionUnit(session.connection())


class _SessionUnit(Unit):
    """A unit on an ORM session's connection. Driver errors are raised as SQLAlchemy raises its own statements'
    (`DBAPIError` and its subclasses), so that `Database.write` and `read` retry a locked file and turn a failure
    into their one sentence, as for any other write."""

    def __init__(self, conn: Any) -> None:
        super().__init__(conn.connection.driver_connection, postgres=conn.dialect.name == "postgresql")
        self._dialect = conn.dialect
        self.arrays = self.postgres  # (the ORM's PostgreSQL driver is psycopg)

    def execute(self, sql: str, params: Any = (), *, binary: bool = False) -> Any:
        driver_error = self._dialect.loaded_dbapi.Error
        try:
            return super().execute(sql, params, binary=binary)
        except driver_error as exc:
            from sqlalchemy.exc import DBAPIError

            raise DBAPIError.instance(sql, params, exc, driver_error, dialect=self._dialect) from exc


class Writer(Protocol):
    def __call__(self, fn: Callable[[Unit], T]) -> T: ...

    def close(self) -> None: ...


def open_writer(target: Path | str | None) -> Writer | None:
    """A writer for the database `target` names (as `store.engine.open_database` reads it), or None when the
    ORM path must open it (see the module's docstring)."""
    from tuikanban.store.reads import target_of

    where = target_of(target)
    return SqliteWriter.open(where.path) if where.path is not None else PgWriter.open(where)


# -- SQLite ---------------------------------------------------------------------------------------------------


class SqliteWriter:
    """Write transactions on one sqlite3 connection: the pragmas and BEGIN IMMEDIATE of `store.engine`."""

    def __init__(self, path: Path, con: sqlite3.Connection) -> None:
        self.path = path
        self._con = con

    @classmethod
    def open(cls, path: Path) -> SqliteWriter | None:
        try:
            header = read_header(path)  # (never closes a descriptor SQLite holds its locks through)
        except OSError:
            return None
        is_wal = len(header) >= 20 and header[18] == 2 and header[19] == 2
        if not header.startswith(b"SQLite format 3\x00") or not is_wal or not fastread.writable(path):
            return None
        if (Path(f"{path}-wal").exists() or Path(f"{path}-shm").exists()) and foreign_log(path) is not None:
            return None  # the log beside it is another file's: open_database refuses in a sentence
        busy_ms = max(1, min(5000, int(lock_timeout() * 1000)))
        try:
            con = sqlite3.connect(fastread._uri(path, mode="rw"), uri=True, timeout=busy_ms / 1000,
                                  isolation_level=None)
        except sqlite3.Error:
            return None
        try:
            for pragma in (f"busy_timeout={busy_ms}", "foreign_keys=ON", "synchronous=NORMAL"):
                con.execute(f"PRAGMA {pragma}")
            usable = fastread.probe(con)
            if usable and path.stat().st_size <= QUICK_CHECK_MAX_BYTES:
                verdict = con.execute("PRAGMA quick_check(1)").fetchone()
                usable = verdict is not None and verdict[0] == "ok"
        except (sqlite3.Error, OSError):
            usable = False
        if not usable:
            con.close()
            return None
        return cls(path, con)

    def __call__(self, fn: Callable[[Unit], T]) -> T:
        """Run `fn` in one IMMEDIATE transaction, retrying with backoff while the file is locked; all or nothing."""
        con = self._con
        deadline = time.monotonic() + lock_timeout()
        delay = 0.02
        while True:
            try:
                con.execute("BEGIN IMMEDIATE")
                try:
                    result = fn(Unit(con, postgres=False))
                    con.execute("COMMIT")
                    return result
                except BaseException:
                    if con.in_transaction:
                        con.execute("ROLLBACK")
                    raise
            except sqlite3.OperationalError as exc:
                msg = str(exc).lower()
                if ("locked" in msg or "busy" in msg) and time.monotonic() < deadline:
                    time.sleep(delay * (0.5 + random.random()))
                    delay = min(delay * 2, 0.5)
                    continue
                raise self._sentence(exc) from None
            except sqlite3.Error as exc:
                raise self._sentence(exc) from None

    def _sentence(self, exc: BaseException) -> DatabaseError:
        from tuikanban.store.engine import describe_db_error  # (imports the ORM: only on a failure)

        return DatabaseError(describe_db_error(exc, self.path))

    def close(self) -> None:
        """Empty the write-ahead log once (never waiting for readers), as the ORM path does when a command closes
        (docs/RULES.md, "Replaced files and the write-ahead log"), then close."""
        try:
            self._con.execute("PRAGMA busy_timeout=0")
            fold_log(self._con)
        except sqlite3.Error:
            pass  # busy (a reader in the log): a later writer empties it
        self._con.close()


# -- PostgreSQL -----------------------------------------------------------------------------------------------


class PgWriter:
    """Write transactions on one PostgreSQL connection (libpq through store.libpq, or psycopg: store.pgconn):
    READ COMMITTED, the advisory write lock first (as `store.pg.PgDatabase.write`); the tables' triggers send the
    NOTIFY of the change feed."""

    def __init__(self, target: Target, con: Any) -> None:
        self.target = target
        self._con = con

    @classmethod
    def open(cls, target: Target) -> PgWriter | None:
        import importlib.util

        if importlib.util.find_spec("psycopg") is None:
            return None
        from tuikanban.store import pgconn
        from tuikanban.store.version import SCHEMA_VERSION

        error, _lost = pgconn.errors()
        options = f"{pgconn.base_options(target)} -c lock_timeout={int(lock_timeout() * 1000)}"
        try:
            con = pgconn.connect(target, options=options, application_name="tuikanban")
        except error:
            return None
        try:
            # one round trip: the schema's marker and version, the NOTIFY triggers, the right to insert (no
            # tk_meta or deal table at all fails the statement: the ORM path then sets the database up)
            row = con.execute(
                "SELECT (SELECT value FROM tk_meta WHERE key = 'app'), "
                "(SELECT value FROM tk_meta WHERE key = 'schema_version'), "
                "(SELECT count(*) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                " WHERE t.tgname = 'tk_notify' AND c.relnamespace = current_schema()::regnamespace), "
                "has_table_privilege('deal', 'INSERT')").fetchone()
            usable = (row is not None and row[0] == "tuikanban" and row[1] == str(SCHEMA_VERSION)
                      and int(row[2] or 0) > 0 and bool(row[3]))
        except error:
            usable = False
        if not usable:
            con.close()
            return None
        return cls(target, con)

    def __call__(self, fn: Callable[[Unit], T]) -> T:
        from tuikanban.store import pgconn

        con = self._con
        try:
            with con.transaction():
                con.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK_KEY,))
                return fn(Unit(con, postgres=True))
        except pgconn.errors()[0] as exc:
            from tuikanban.store.pg import describe_pg_error  # (imports the ORM: only on a failure)

            raise DatabaseError(describe_pg_error(exc, self.target)) from None

    def close(self) -> None:
        self._con.close()


__all__ = ["QUICK_CHECK_MAX_BYTES", "WRITE_LOCK_KEY", "PgWriter", "SqliteWriter", "Unit", "Writer",
           "days_between_sql", "lock_timeout", "of_session", "open_writer"]
