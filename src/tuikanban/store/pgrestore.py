"""Restoring a PostgreSQL board from a `pg_dump --format=custom` backup, all or nothing.

`pg_restore` turns the backup into an SQL script (no owners, no privileges: the restoring role owns what it
creates) and `psql` runs it in ONE transaction that first takes the board's write lock (store.pg's advisory
lock, so no rep's write interleaves) and drops every tuikanban table of the board's schema (tables a newer
schema added, which the backup does not hold, go too). Any failure rolls the whole transaction back: the board
is then exactly as it was. Other boards see the old content until the commit and the restored one after it.

The password goes to the tools through the environment (PGPASSWORD), never the command line.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tuikanban.domain.errors import DatabaseError
from tuikanban.domain.targets import Target
from tuikanban.store.feed import EVERYTHING
from tuikanban.store.pg import APP_MARKER, WRITE_LOCK_KEY, _schema_of
from tuikanban.store.pgconn import CONNECT_TIMEOUT_S, IDLE_IN_TRANSACTION_MS
from tuikanban.store.pgddl import NOTIFY_CHANNEL
from tuikanban.store.tables import SCHEMA_VERSION

DUMP_MAGIC = b"PGDMP"
SQLITE_MAGIC = b"SQLite format 3\x00"
RESTORED_KEY = "restored"  # (services.restore.RESTORED_KEY)
TOOLS_HINT = "install the PostgreSQL client tools (for example 'apt install postgresql-client')"


@dataclass(frozen=True, slots=True)
class DumpFacts:
    """What a backup made by `tuikanban backup` on PostgreSQL holds: the schema its tables were in and the
    tuikanban schema version it was written at."""

    schema: str
    version: int


def file_kind(path: Path) -> str:
    """"pg_dump", "sqlite" or "other", from the file's first bytes (one sentence if it cannot be read)."""
    if not path.exists():
        raise DatabaseError(f"There is no backup file at {path}.")
    if path.is_dir():
        raise DatabaseError(f"{path} is a folder; give the backup file to restore from.")
    try:
        with path.open("rb") as fh:
            head = fh.read(len(SQLITE_MAGIC))
    except OSError as exc:
        raise DatabaseError(f"The backup {path} cannot be read ({exc.strerror or exc}).") from None
    if head.startswith(DUMP_MAGIC):
        return "pg_dump"
    if head == SQLITE_MAGIC:
        return "sqlite"
    return "other"


def _tool(name: str) -> str:
    exe = shutil.which(name)
    if exe is None:
        raise DatabaseError(f"{name} is not installed; {TOOLS_HINT} to restore a PostgreSQL board.")
    return exe


def _not_ours(path: Path) -> DatabaseError:
    return DatabaseError(f"The file {path} is not a tuikanban backup (no board in it); nothing was restored.")


def _run_pg_restore(path: Path, *args: str) -> bytes:
    done = subprocess.run([_tool("pg_restore"), *args, "-f", "-", str(path)], capture_output=True, timeout=3600)
    if done.returncode != 0:
        why = done.stderr.decode(errors="replace").strip().splitlines()
        last = why[-1].removeprefix("pg_restore: error: ") if why else f"exit code {done.returncode}"
        if "unsupported version" in last:
            raise DatabaseError(f"The backup {path} is damaged or was written by a newer pg_dump than this "
                                "pg_restore (newer PostgreSQL client tools may read it); nothing was restored.")
        raise DatabaseError(f"The backup {path} cannot be read by pg_restore ({last}); nothing was restored.")
    return done.stdout


def inspect_dump(path: Path) -> DumpFacts:
    """Check that `path` is a tuikanban board dumped by pg_dump, not written by a newer tuikanban."""
    if file_kind(path) != "pg_dump":
        raise _not_ours(path)
    _tool("psql")  # (the restore runs pg_restore's script through psql: both are needed, checked before anything)
    listing = _run_pg_restore(path, "--list").decode(errors="replace")
    schemas = [line.split()[5] for line in listing.splitlines()
               if not line.startswith(";") and " TABLE DATA " in line and line.split()[6:7] == ["tk_meta"]]
    if len(schemas) != 1:
        raise _not_ours(path)
    script = _run_pg_restore(path, "--data-only", "--table=tk_meta").decode(errors="replace")
    meta = _copy_rows(script)
    if meta.get("app") != APP_MARKER:
        raise _not_ours(path)
    try:
        version = int(meta.get("schema_version", ""))
    except ValueError:
        raise DatabaseError(f"The backup {path} is damaged (its schema version is unreadable); nothing was "
                            "restored.") from None
    if version > SCHEMA_VERSION:
        raise DatabaseError(f"The backup {path} was written by a newer tuikanban (schema {version}, this one knows "
                            f"{SCHEMA_VERSION}); upgrade tuikanban to restore it. Nothing was restored.")
    return DumpFacts(schemas[0], version)


def _copy_rows(script: str) -> dict[str, str]:
    """The key/value rows of the one `COPY ... FROM stdin` block in a data-only script."""
    rows: dict[str, str] = {}
    inside = False
    for line in script.splitlines():
        if inside:
            if line == "\\.":
                break
            key, _, value = line.partition("\t")
            rows[key] = value
        elif line.startswith("COPY ") and line.endswith("FROM stdin;"):
            inside = True
    return rows


def live_schema(target: Target) -> str:
    """The schema the target's tables are in (the URL's search_path, else the role's first, usually public)."""
    named = _schema_of(target)
    if named:
        return named
    import psycopg

    from tuikanban.store.pg import conninfo

    with psycopg.connect(conninfo(target, application_name="tuikanban-restore")) as conn:
        return str(conn.execute("SELECT current_schema()").fetchone()[0])  # type: ignore[index]


def restore_dump(target: Target, path: Path, facts: DumpFacts, lock_timeout_s: float, *, note: str) -> None:
    """Replace the board's tables in `facts.schema` with the backup's, in one transaction under the write lock,
    and in the same transaction set the `restored` mark to `note` (what open boards say when they re-read)."""
    from sqlmodel import SQLModel

    script = _run_pg_restore(path, "--clean", "--if-exists", "--no-owner", "--no-privileges")
    # The script turns lock waits off; ours wait at most the lock timeout, like every other write.
    script = script.replace(b"\nSET lock_timeout = 0;\n", b"\n", 1)
    quoted = '"' + facts.schema.replace('"', '""') + '"'
    drops = "".join(f'DROP TABLE IF EXISTS {quoted}."{name}" CASCADE; ' for name in SQLModel.metadata.tables)
    first = f"SET lock_timeout = '{int(lock_timeout_s * 1000)}ms'; SELECT pg_advisory_xact_lock({WRITE_LOCK_KEY}); "
    mark = note.replace("'", "''")
    last = (f"INSERT INTO {quoted}.tk_meta (key, value) VALUES ('{RESTORED_KEY}', '{mark}') "
            "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value; "
            f"SELECT pg_notify('{NOTIFY_CHANNEL}', '{EVERYTHING}');")  # every board re-reads everything (store.feed)
    env = dict(os.environ)
    if target.password:
        env["PGPASSWORD"] = target.password
    env["PGCONNECT_TIMEOUT"] = str(CONNECT_TIMEOUT_S)
    env["PGOPTIONS"] = f"-c idle_in_transaction_session_timeout={IDLE_IN_TRANSACTION_MS}"
    env["PGAPPNAME"] = "tuikanban-restore"
    args = [_tool("psql"), "-X", "-q", "--no-password", "-v", "ON_ERROR_STOP=1", "--single-transaction",
            "-c", first + drops, "-f", "-", "-c", last, f"--dbname={target.database}"]
    args += [f"--host={target.host}"] if target.host else []
    args += [f"--port={target.port}"] if target.port else []
    args += [f"--username={target.user}"] if target.user else []
    done = subprocess.run(args, input=script, env=env, capture_output=True, timeout=3600)
    if done.returncode != 0:
        lines = [ln for ln in target.redact(done.stderr.decode(errors="replace")).splitlines() if ln.strip()]
        errors = [ln for ln in lines if "ERROR:" in ln or "FATAL:" in ln or "error:" in ln] or lines
        why = errors[-1].split("ERROR:", 1)[-1].split("FATAL:", 1)[-1].strip() if errors else "psql failed"
        if "lock timeout" in why:
            raise DatabaseError(f"The database {target} stayed locked by another process for over "
                                f"{lock_timeout_s:g} seconds; nothing was restored.")
        raise DatabaseError(f"The backup could not be restored into {target} ({why.rstrip('.')}); nothing was "
                            "changed.")


def drop_board(target: Target) -> None:
    """Drop every tuikanban table of the target's schema, in one transaction under the write lock (a demo
    rebuilt from scratch; the caller has checked that the database holds nothing else of value)."""
    from sqlmodel import SQLModel

    from tuikanban.store.pg import describe_pg_error, make_engine, take_write_lock

    engine = make_engine(target)
    try:
        with engine.begin() as conn:
            take_write_lock(conn)
            for table in reversed(SQLModel.metadata.sorted_tables):
                conn.exec_driver_sql(f'DROP TABLE IF EXISTS "{table.name}" CASCADE')
            conn.exec_driver_sql("DROP FUNCTION IF EXISTS tk_notify()")
            announce_everything(conn)
    except Exception as exc:
        if isinstance(exc, DatabaseError):
            raise
        raise DatabaseError(describe_pg_error(exc, target)) from None
    finally:
        engine.dispose()


def announce_everything(conn: Any) -> None:
    """Tell every open board, when the caller's transaction commits, that anything may have changed."""
    conn.exec_driver_sql(f"SELECT pg_notify('{NOTIFY_CHANNEL}', '{EVERYTHING}')")


__all__ = ["DumpFacts", "announce_everything", "drop_board", "file_kind", "inspect_dump", "live_schema", "restore_dump"]
