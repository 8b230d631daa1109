"""The PostgreSQL engine: the same guarantees as the SQLite file, by the server's own means.

- every write transaction (READ COMMITTED) first takes one transaction-scoped advisory lock, the analogue of
  SQLite's BEGIN IMMEDIATE: a WIP check and the write that depends on it cannot interleave with another
  process on any host; waiting longer than the lock timeout is the same "stayed locked" sentence as on SQLite;
- reads run in REPEATABLE READ READ ONLY, one consistent view per read session (board, aging, metrics);
- an idle-in-transaction timeout on every connection, so a hung client cannot hold the lock for the team;
- ids come from identity columns, re-synchronised after inserts with explicit ids (imports, copies);
- a trigger on every table sends `NOTIFY tuikanban, '<pipeline id>'` inside the writing transaction (store.feed);
- schema creation and migrations run under the write lock, so two first starts do not both create tables.

The DDL differences (BIGINT for every integer, identity ids, "C" collation for text) live in store.pgddl.
"""

from __future__ import annotations

import contextlib
import importlib.util
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import create_engine, event, inspect, text
from sqlalchemy.engine import URL, Engine
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

from tuikanban.domain.errors import DatabaseError, ReadOnlyError
from tuikanban.domain.targets import INSTALL_HINT, Target
from tuikanban.store import pgddl
from tuikanban.store.engine import Database, lock_timeout, setup_schema
from tuikanban.store.pgconn import CONNECT_TIMEOUT_S, IDLE_IN_TRANSACTION_MS, base_options, make_conninfo
from tuikanban.store.tables import SCHEMA_VERSION
from tuikanban.store.uow import WRITE_LOCK_KEY as WRITE_LOCK_KEY

T = TypeVar("T")

pgddl.attach_partial_predicates()  # (the PostgreSQL predicates of the event indexes: before any DDL on this engine)

APP_MARKER = "tuikanban"
EXPLICIT_IDS = "tuikanban_explicit_ids"  # connection.info flag set by _note_explicit_ids


def sqlalchemy_url(target: Target) -> URL:
    """The SQLAlchemy URL for a PostgreSQL target (psycopg 3), with the password if the target has one."""
    query = {k: v for k, v in target.query if k not in ("options", "password")}
    return URL.create("postgresql+psycopg", username=target.user, password=target.password, host=target.host,
                      port=target.port, database=target.database, query=query)


def connect_options(target: Target) -> str:
    """libpq `options`: the user's own, the idle-in-transaction timeout (store.pgconn) and the lock timeout (the
    longest a write waits for the write lock; nothing else waits for locks, since writes take turns)."""
    return f"{base_options(target)} -c lock_timeout={int(lock_timeout() * 1000)}"


def conninfo(target: Target, *, application_name: str = "tuikanban") -> str:
    """A libpq connection string for psycopg used directly (the change feed, operations)."""
    return make_conninfo(target, options=connect_options(target), application_name=application_name)


def require_psycopg() -> None:
    if importlib.util.find_spec("psycopg") is None:
        raise DatabaseError(f"PostgreSQL support is not installed; install it with: {INSTALL_HINT}")


def describe_pg_error(exc: BaseException, target: Target) -> str:
    """One sentence for a PostgreSQL failure a user can meet; never the password."""
    orig = getattr(exc, "orig", exc)
    code = getattr(getattr(orig, "diag", None), "sqlstate", None) or getattr(orig, "sqlstate", None)
    raw = target.redact(str(orig or exc).strip())
    msg = raw.lower()
    where = target.display
    if code == "55P03" or "lock timeout" in msg:
        return (f"The database {where} stayed locked by another process for over {_seconds(lock_timeout())}; "
                "nothing was changed, try again.")
    if code == "28P01" or "password authentication failed" in msg or "no password supplied" in msg:
        return (f"PostgreSQL refused the login to {where} (check the user, and the password in ~/.pgpass or "
                "PGPASSWORD); nothing was changed.")
    if code == "3D000" or ("database" in msg and "does not exist" in msg):
        return f"The database {where} does not exist on the server; create it first (createdb), or check the URL."
    if code == "28000" or ("role" in msg and "does not exist" in msg) or "no pg_hba.conf entry" in msg:
        return f"PostgreSQL does not let this user log in to {where} (ask the administrator for access)."
    if "connection refused" in msg or "could not connect" in msg or "no such file or directory" in msg \
            or "timeout expired" in msg or "could not translate host name" in msg or "connection failed" in msg:
        return f"The PostgreSQL server for {where} cannot be reached (is it running?); nothing was changed."
    if code == "42501" or "permission denied" in msg:
        return f"Your PostgreSQL role may not do this in {where} (permission denied); nothing was changed."
    if code == "25006" or "read-only transaction" in msg:
        return f"The database {where} is open read-only, so nothing can be changed."
    if code == "22003" or "out of range" in msg:
        return "A number is too large to store; nothing was changed."
    if code == "25P03" or "idle-in-transaction" in msg or "server closed the connection" in msg \
            or "terminating connection" in msg or "consuming input failed" in msg:
        return f"The connection to {where} was closed by the server; nothing was changed, try again."
    first = raw.splitlines()[0] if raw else type(orig).__name__
    return f"The database {where} could not be used: {first}."


def _seconds(value: float) -> str:
    shown = f"{value:g}"
    return f"{shown} second" if shown == "1" else f"{shown} seconds"


@dataclass
class PgDatabase(Database):
    """A tuikanban database on a PostgreSQL server. `path` is only a label here: use `target`."""

    pg_target: Target = field(kw_only=True)
    _read_engine: Engine | None = field(default=None, repr=False, kw_only=True)
    _changes: Any = field(default=None, repr=False, kw_only=True)

    @property
    def target(self) -> Target:
        return self.pg_target

    @contextlib.contextmanager
    def read(self) -> Iterator[Session]:
        """One REPEATABLE READ READ ONLY transaction: every query in it sees the same committed state."""
        if self._read_engine is None:
            self._read_engine = self.engine.execution_options(isolation_level="REPEATABLE READ",
                                                              postgresql_readonly=True)
        try:
            with Session(self._read_engine, expire_on_commit=False) as session:
                yield session
        except DBAPIError as exc:
            raise DatabaseError(describe_pg_error(exc, self.pg_target)) from None

    def write(self, fn: Callable[[Session], T]) -> T:
        """Run `fn` in one READ COMMITTED transaction that first takes the write lock; all or nothing."""
        if self.readonly:
            raise ReadOnlyError(
                f"The database {self.pg_target} is open read-only{self.readonly_reason}, so nothing can be changed."
            )
        try:
            with Session(self.engine, expire_on_commit=False) as session:
                take_write_lock(session.connection())
                result = fn(session)
                session.flush()
                if session.connection().info.pop(EXPLICIT_IDS, False):
                    pgddl.sync_identities(session.connection())
                session.commit()
                return result
        except DBAPIError as exc:
            raise DatabaseError(describe_pg_error(exc, self.pg_target)) from None

    def analyze(self, tables: Iterable[str]) -> None:
        """ANALYZE `tables` after the transaction that filled them committed (a copy, a restore, a big import): the
        planner has statistics at once, not only when autovacuum comes by (never, where it is off). Best effort:
        the rows are stored whatever happens here, so a failure changes nothing the user must hear about."""
        names = ", ".join(dict.fromkeys(tables))
        if not names or self.readonly:
            return
        try:
            with self.engine.connect() as conn:
                conn.exec_driver_sql(f"ANALYZE {names}")
                conn.commit()
        except DBAPIError:
            pass

    def data_version(self) -> int:
        """A number that changes whenever anyone commits to this database (counted from NOTIFY, store.feed)."""
        if self._changes is None:
            from tuikanban.store.feed import PostgresFeed

            self._changes = PostgresFeed(self.pg_target)
        return int(self._changes.version())

    def integrity_check(self) -> list[str]:
        raise DatabaseError(f"The database {self.pg_target} is on PostgreSQL; its integrity is the server's job.")

    def close(self) -> None:
        if self._changes is not None:
            self._changes.close()
            self._changes = None
        self.engine.dispose()


def take_write_lock(conn: Any) -> None:
    """The write lock (held until the transaction ends), waiting at most the lock timeout (a connection option)."""
    conn.exec_driver_sql("SELECT pg_advisory_xact_lock(%(key)s)", {"key": WRITE_LOCK_KEY})


def make_engine(target: Target) -> Engine:
    require_psycopg()
    engine = create_engine(
        sqlalchemy_url(target), isolation_level="READ COMMITTED", pool_pre_ping=True,
        connect_args={"connect_timeout": CONNECT_TIMEOUT_S, "options": connect_options(target),
                      "application_name": "tuikanban"},
    )
    event.listen(engine, "before_cursor_execute", _note_explicit_ids)
    return engine


def _note_explicit_ids(conn: Any, _cursor: Any, statement: str, _params: Any, _context: Any, _many: bool) -> None:
    """Mark the connection when an INSERT names the id column: the id sequences must then move past those ids.

    (SQLAlchemy leaves `id` out of an INSERT whenever the database is to choose it.)"""
    if statement.startswith("INSERT INTO "):
        columns = statement[statement.find("(") + 1:statement.find(")")]
        if "id" in (c.strip().strip('"') for c in columns.split(",")):
            conn.info[EXPLICIT_IDS] = True


def open_postgres(target: Target, *, create: bool = True, readonly: bool = False) -> PgDatabase:
    """Open (and if needed set up or migrate, under the write lock) a tuikanban database on PostgreSQL."""
    engine = make_engine(target)
    db = PgDatabase(path=_label(target), engine=engine, readonly=readonly, pg_target=target)
    try:
        version, can_write = _inspect(db)
        if version is None and not create:
            raise DatabaseError(f"There is no tuikanban database at {target}.")
        if not readonly and not can_write:
            db.readonly, db.readonly_reason = True, " (your PostgreSQL role cannot write to it)"
        if db.readonly and version != SCHEMA_VERSION:
            raise DatabaseError(f"The database {target} needs setting up or an upgrade to schema {SCHEMA_VERSION} "
                                "but is open read-only.")
        if version != SCHEMA_VERSION or not _has_notify(db):
            db.write(_setup)
    except DatabaseError:
        engine.dispose()
        raise
    except DBAPIError as exc:
        engine.dispose()
        raise DatabaseError(describe_pg_error(exc, target)) from None
    return db


def _label(target: Target) -> Any:
    from pathlib import PurePosixPath

    return PurePosixPath(target.display)


def _inspect(db: PgDatabase) -> tuple[int | None, bool]:
    """(schema version or None for an empty schema, whether this role may write). Refuses what is not ours."""
    target = db.pg_target
    with db.engine.connect() as conn:
        names = set(inspect(conn).get_table_names())
        if not names:
            if conn.exec_driver_sql("SELECT current_schema()").scalar() is None:  # search_path names no schema there
                schema = _schema_of(target) or "of the search_path"
                raise DatabaseError(f"The database {target} has no schema {schema}; create it first "
                                    f"(CREATE SCHEMA {schema}), or check the URL.")
            privilege = "SELECT has_schema_privilege(current_schema(), 'CREATE')"
            return None, bool(conn.exec_driver_sql(privilege).scalar())
        if "tk_meta" not in names:
            raise DatabaseError(f"The database {target} holds other tables but no tuikanban data; it was left "
                                "untouched (give an empty database or schema).")
        meta: dict[str, str] = {str(k): str(v) for k, v in conn.execute(text("SELECT key, value FROM tk_meta")).all()}
        can_write = bool(conn.exec_driver_sql("SELECT has_table_privilege('deal', 'INSERT')").scalar())
    if meta.get("app") != APP_MARKER:
        raise DatabaseError(f"The database {target} holds tables of another program; it was left untouched.")
    try:
        version = int(meta.get("schema_version", "0"))
    except ValueError:
        raise DatabaseError(f"The database {target} is damaged (its schema version is unreadable).") from None
    if version > SCHEMA_VERSION:
        raise DatabaseError(
            f"The database {target} was written by a newer tuikanban (schema {version}, this one knows "
            f"{SCHEMA_VERSION}); upgrade tuikanban to open it. It was left untouched."
        )
    return version, can_write


def _has_notify(db: PgDatabase) -> bool:
    with db.engine.connect() as conn:
        return pgddl.notify_installed(conn)


def _setup(session: Session) -> None:
    setup_schema(session)
    pgddl.install_notify(session.connection())


__all__ = ["IDLE_IN_TRANSACTION_MS", "WRITE_LOCK_KEY", "PgDatabase", "connect_options", "conninfo", "describe_pg_error",
           "make_engine", "open_postgres", "require_psycopg", "sqlalchemy_url", "take_write_lock"]


# -- operations: pg_dump, server facts -------------------------------------------------------------------------


def _schema_of(target: Target) -> str | None:
    """The schema a target's URL selects with `options=-csearch_path=NAME`, if any."""
    options = dict(target.query).get("options", "")
    for part in options.replace("-c ", "-c").split():
        if part.startswith("-csearch_path="):
            return part.split("=", 1)[1].split(",")[0].strip('"') or None
    return None


def pg_dump_version() -> tuple[int, int] | None:
    """(major, minor) of the pg_dump on PATH, or None when there is none."""
    import re
    import shutil
    import subprocess

    exe = shutil.which("pg_dump")
    if exe is None:
        return None
    out = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=30).stdout
    found = re.search(r"(\d+)(?:\.(\d+))?", out)
    return (int(found.group(1)), int(found.group(2) or 0)) if found else None


def dump(target: Target, file: str) -> None:
    """`pg_dump --format=custom` of the target into `file`: one consistent snapshot that never blocks writers.

    The password goes through the environment (PGPASSWORD), never the command line, where any user of the host
    could read it.
    """
    import os
    import shutil
    import subprocess

    exe = shutil.which("pg_dump")
    if exe is None:
        raise DatabaseError("pg_dump is not installed; install the PostgreSQL client tools (for example "
                            "'apt install postgresql-client') to back up a PostgreSQL board.")
    env = dict(os.environ)
    if target.password:
        env["PGPASSWORD"] = target.password
    env["PGCONNECT_TIMEOUT"] = str(CONNECT_TIMEOUT_S)
    args = [exe, "--format=custom", "--no-password", f"--file={file}", f"--dbname={target.database}"]
    args += [f"--host={target.host}"] if target.host else []
    args += [f"--port={target.port}"] if target.port else []
    args += [f"--username={target.user}"] if target.user else []
    schema = _schema_of(target)
    args += [f"--schema={schema}"] if schema else []
    # the dump holds the whole board: readable by its owner only (pg_dump keeps the mode of a file it truncates)
    try:
        os.close(os.open(file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600))
        os.chmod(file, 0o600)
    except OSError as exc:
        folder = os.path.dirname(os.path.abspath(file))
        raise DatabaseError(f"pg_dump could not back up {target}: nothing can be written in {folder} "
                            f"({exc.strerror or exc}).") from None
    done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=3600)
    if done.returncode != 0:
        lines = [ln for ln in target.redact(done.stderr).splitlines() if ln.strip()]
        why = lines[-1].removeprefix("pg_dump: error: ").strip() if lines else f"exit code {done.returncode}"
        raise DatabaseError(f"pg_dump could not back up {target}: {why}.")


def server_facts(db: PgDatabase) -> dict[str, Any]:
    """What the doctor reports: server version, this role, and whether it may read and write the board."""
    with db.engine.connect() as conn:
        row = conn.exec_driver_sql(
            "SELECT current_setting('server_version'), current_setting('server_version_num')::int, current_user, "
            "has_table_privilege('deal', 'SELECT'), has_table_privilege('deal', 'INSERT,UPDATE,DELETE'), "
            "has_table_privilege('event', 'INSERT'), current_setting('idle_in_transaction_session_timeout')"
        ).one()
    return {"version": row[0], "version_num": row[1], "user": row[2], "can_read": row[3],
            "can_write": bool(row[4] and row[5]), "idle_timeout": row[6]}
