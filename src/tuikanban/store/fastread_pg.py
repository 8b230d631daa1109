"""The board's read path on PostgreSQL: the queries of `store.fastread`, without the ORM (libpq through
`store.libpq`, or psycopg when libpq cannot be loaded: `store.pgconn.connect`).

Why: the first paint must not wait for SQLAlchemy and SQLModel (docs/PERFORMANCE.md, Start-up), on PostgreSQL as
on SQLite. `PgConnection` gives fastread's functions the few calls they make of an sqlite3 connection (`execute`
with `?` placeholders, `close`), and makes each of fastread's snapshots one REPEATABLE READ READ ONLY
transaction, so a board is read from one consistent state. Between snapshots the connection is in autocommit:
it never holds a transaction open while the board waits for a key.

A connection the server dropped (a restart, a network cut) is opened again at the next read, so a board whose
change feed reconnects can read the changes it missed.
"""

from __future__ import annotations

import sys
from typing import Any

from tuikanban.domain.errors import DatabaseError
from tuikanban.domain.targets import Target
from tuikanban.store import pgconn
from tuikanban.store.version import SCHEMA_VERSION

APP_MARKER = "tuikanban"
APPLICATION_NAME = "tuikanban-board"
# The board's reads are short and answer a key: JIT compiling a plan whose estimated cost passes jit_above_cost
# (the counts of 100,000 open deals) took longer than the query saved (docs/PERFORMANCE.md, The board on
# PostgreSQL). A setting of this connection only, sent with it (no SET statement).
NO_JIT = "-c jit=off"


class PgConnection:
    """A PostgreSQL connection that answers fastread's sqlite3-style calls. Failures are one sentence."""

    begin_sql = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"

    def __init__(self, target: Target) -> None:
        self.target = target
        self._conn: Any = None
        self._in_snapshot = False
        self._libpq_ok = True
        self._psycopg_then = False

    def _connect(self) -> Any:
        if self._conn is None or self._conn.closed:
            self._conn = pgconn.connect(self.target, options=f"{pgconn.base_options(self.target)} {NO_JIT}",
                                        application_name=APPLICATION_NAME, libpq_ok=self._libpq_ok)
            self._psycopg_then = "psycopg" in sys.modules  # (true whenever the connection is psycopg's)
        return self._conn

    def _outgrown(self) -> bool:
        """Whether this is a libpq connection (store.libpq) and psycopg was imported since it was opened (the ORM
        after the first paint, the change feed). psycopg's loaders read rows about ten times faster than libpq's
        ctypes calls (docs/PERFORMANCE.md, The board on PostgreSQL), so the board's later reads, bigger than the
        first screen, are better done with it: the connection is opened again with psycopg between two
        transactions, once."""
        return self._libpq_ok and not self._psycopg_then and "psycopg" in sys.modules

    def execute(self, sql: str, params: Any = ()) -> Any:
        """Run `sql` (with sqlite3's `?` placeholders, which fastread's SQL uses only as placeholders)."""
        error, lost = pgconn.errors()
        try:
            return self._run(sql, params)
        except lost:
            if self._in_snapshot or self._conn is None or not self._conn.broken:
                raise self._sentence() from None
            self._conn = None  # dropped between reads: open it again and run the statement once more
            try:
                return self._run(sql, params)
            except error:
                raise self._sentence() from None
        except error:
            raise self._sentence() from None

    def _run(self, sql: str, params: Any) -> Any:
        if not self._in_snapshot and self._conn is not None and self._outgrown():
            self.close()
            self._libpq_ok = False
        conn = self._connect()
        if sql == self.begin_sql:
            self._in_snapshot = True
        elif sql == "COMMIT":
            self._in_snapshot = False
        return conn.execute(sql.replace("?", "%s"), params)

    def _sentence(self) -> DatabaseError:
        from tuikanban.store.pg import describe_pg_error  # (imports the ORM: only on a failure)

        self._in_snapshot = False
        exc = sys.exc_info()[1]
        return DatabaseError(describe_pg_error(exc or RuntimeError(), self.target))

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def probe(con: PgConnection) -> bool:
    """Whether the target's schema holds a tuikanban database of the schema this reader knows."""
    if con.execute("SELECT to_regclass('tk_meta')").fetchone()[0] is None:
        return False
    meta = dict(con.execute("SELECT key, value FROM tk_meta").fetchall())
    return meta.get("app") == APP_MARKER and meta.get("schema_version") == str(SCHEMA_VERSION)


def connect(target: Target) -> PgConnection | None:
    """A connection for the first read, else None: no server, no database, an empty schema, another version
    (the full path, store.pg.open_postgres, then sets it up, migrates it or says what is wrong in one sentence)."""
    con = PgConnection(target)
    try:
        if probe(con):
            return con
    except DatabaseError:
        pass
    con.close()
    return None


def connect_live(target: Target) -> PgConnection:
    """A connection for the board's reads once the database is open (it connects at its first read)."""
    return PgConnection(target)


__all__ = ["PgConnection", "connect", "connect_live", "probe"]
