"""`tuikanban restore BACKUP` for a board on PostgreSQL.

Two kinds of backup are taken back:
- a `pg_dump --format=custom` file made by `tuikanban backup` on PostgreSQL: checked (a tuikanban board, not
  written by a newer tuikanban, from the board's schema), then restored by pg_restore and psql in one
  transaction under the write lock (store.pgrestore);
- an SQLite board file (a backup of an SQLite board, or the board itself): its rows replace the board's in one
  write transaction, as `copy --to` would write them into an empty database.

Before either, what the board held is dumped beside the backup (`<database>-before-restore-<time>.dump`), so a
restore can itself be undone with another restore. The `restored` mark (who, from what) is written in the
restoring transaction, and every open board is told to re-read everything and say so.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from datetime import UTC
from pathlib import Path
from typing import Any

from sqlalchemy import delete, insert, select
from sqlmodel import Session, SQLModel

from tuikanban.domain import clock
from tuikanban.domain.errors import DatabaseError
from tuikanban.domain.targets import Target
from tuikanban.store.engine import Database, backup_file, lock_timeout, open_database
from tuikanban.store.restore import check_backup
from tuikanban.store.tables import Meta, Presence

# Facts about the database itself, not about the board: its kind and schema, and when the scheduled jobs last ran
# on it (services.runs: a restore does not make the last backup "never").
KEEP_TARGET_META = ("app", "schema_version", "last_backup", "last_digest")
CHUNK = 2000


def restore_postgres(target: Target, backup: Path, *, user: str, note: str) -> tuple[Path, int, tuple[str, ...]]:
    """Restore the PostgreSQL board `target` from `backup`; returns (the copy of what it held, the backup's
    schema version, who had the board open)."""
    from tuikanban.store.pgrestore import file_kind, inspect_dump, live_schema, restore_dump

    kind = file_kind(backup)
    if kind == "other":
        raise DatabaseError(f"The file {backup} is not a tuikanban backup (neither a PostgreSQL backup made by "
                            "'tuikanban backup' nor an SQLite board); nothing was restored.")
    facts = inspect_dump(backup) if kind == "pg_dump" else None
    version = facts.version if facts is not None else check_backup(backup)
    db = open_database(target)  # a tuikanban board (an empty schema becomes one), or one sentence
    try:
        open_by = _open_by(db)
    finally:
        db.close()
    if facts is not None:
        schema = live_schema(target)
        if facts.schema != schema:
            raise DatabaseError(
                f"The backup {backup} holds a board of the schema {facts.schema}, but {target} uses the schema "
                f"{schema}; restore it with a URL for that schema (options=-csearch_path={facts.schema}). "
                "Nothing was restored.")
    saved = _keep_before(target, backup)
    if facts is not None:
        restore_dump(target, backup, facts, lock_timeout(), note=note)
        db = open_database(target)  # migrates a backup written by an older tuikanban
        try:
            # who had the dumped board open: nobody here (the boards open on this one take their seats again
            # with their next heartbeat)
            db.write(lambda session: session.execute(delete(Presence)))
            db.analyze(t.name for t in SQLModel.metadata.sorted_tables)  # (pg_restore leaves no statistics)
        finally:
            db.close()
    else:
        _replace_from_sqlite(target, backup, note)
    return saved, version, open_by


def _open_by(db: Database) -> tuple[str, ...]:
    from tuikanban.domain.text import display
    from tuikanban.services.presence import who

    return tuple(dict.fromkeys(display(h.user) or "someone" for h in who(db)))


def _keep_before(target: Target, backup: Path) -> Path:
    """pg_dump of the board as it is now, beside the backup, under a name that is never an existing file."""
    from tuikanban.store.pg import dump

    folder = backup.parent
    if not os.access(folder, os.W_OK | os.X_OK):
        raise DatabaseError(f"The board's current content is kept beside the backup before a restore, but the "
                            f"folder {folder} is not writable; copy the backup to a folder you can write to. "
                            "Nothing was restored.")
    stamp = clock.now().astimezone(UTC).strftime("%Y%m%d-%H%M%S")
    for n in range(1, 1000):
        saved = folder / f"{target.database}-before-restore-{stamp}{'' if n == 1 else f'-{n}'}.dump"
        if not saved.exists():
            break
    else:
        raise DatabaseError(f"Too many restores of {target} in one second; nothing was restored.")
    partial = folder / f".{saved.name}.partial-{os.getpid()}"
    try:
        dump(target, str(partial))
        os.replace(partial, saved)
    finally:
        partial.unlink(missing_ok=True)
    return saved


def _replace_from_sqlite(target: Target, backup: Path, note: str) -> None:
    """Every row of the SQLite board `backup` in place of the PostgreSQL board's, in one write transaction."""
    from tuikanban.services.restore import RESTORED_KEY
    from tuikanban.store.pgrestore import announce_everything

    with tempfile.TemporaryDirectory(prefix="tuikanban-restore-") as tmp:
        copy = Path(tmp) / "backup.db"
        backup_file(backup, copy)  # never migrate the backup itself: an older one is migrated in this copy
        source = open_database(copy)
        try:
            with source.read() as s:
                conn = s.connection()
                data = {t.name: [dict(r._mapping) for r in conn.execute(select(t))]
                        for t in SQLModel.metadata.sorted_tables}
        finally:
            source.close()
        shutil.rmtree(tmp, ignore_errors=True)
    data["tk_meta"] = [r for r in data["tk_meta"] if r["key"] not in (*KEEP_TARGET_META, RESTORED_KEY)]

    def write(session: Session) -> None:
        conn = session.connection()
        tables = SQLModel.metadata.sorted_tables  # parents before children
        for table in reversed(tables):
            if table.name == "tk_meta":
                conn.execute(delete(table).where(table.c.key.notin_(KEEP_TARGET_META)))
            else:
                conn.execute(delete(table))
        for table in tables:
            rows: list[dict[str, Any]] = data.get(table.name, [])
            for start in range(0, len(rows), CHUNK):
                conn.execute(insert(table), rows[start:start + CHUNK])
        session.add(Meta(key=RESTORED_KEY, value=note))
        announce_everything(conn)

    db = open_database(target)
    try:
        db.write(write)
        db.analyze(t.name for t in SQLModel.metadata.sorted_tables)
    finally:
        db.close()


__all__ = ["restore_postgres"]
