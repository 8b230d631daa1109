"""Putting a backup's content into the live database file, safely while boards have it open.

Copying a backup over the live file (`cp`, `mv`) while other processes have it open damages it: they keep
writing into their own view of the old file through its `-wal` and `-shm`. SQLite's online backup API can
instead write INTO the live database, page by page, inside one write transaction on the live file's own locks:
other connections see the old content until that transaction commits and the new content after it, exactly as
with any other commit (see docs/RULES.md, "Backup and restore").
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tuikanban.domain.errors import DatabaseError
from tuikanban.store.engine import (
    BUSY_TIMEOUT_MS,
    _inspect_existing,
    describe_db_error,
    lock_timeout,
    open_log_first,
    sqlite_uri,
)


def check_backup(path: Path) -> int:
    """The schema version of a backup file, after checking it is a sound tuikanban database (one sentence if not).

    Unlike opening a board, which checks only small files quickly, a restore checks every page of the backup:
    restoring a damaged copy would replace good data with bad."""
    if not path.exists():
        raise DatabaseError(f"There is no backup file at {path}.")
    if path.is_dir():
        raise DatabaseError(f"{path} is a folder; give the backup file to restore from.")
    try:
        version, _ = _inspect_existing(path)
    except DatabaseError as exc:
        if " is damaged" in str(exc):
            raise DatabaseError(_damaged(path)) from None
        raise
    if version is None:
        raise DatabaseError(f"The file {path} is an empty database, not a tuikanban backup; nothing was restored.")
    con = sqlite3.connect(sqlite_uri(path, mode="ro", immutable="1"), uri=True)
    try:
        verdict = [str(r[0]) for r in con.execute("PRAGMA integrity_check(5)").fetchall()]
    except sqlite3.DatabaseError:
        raise DatabaseError(_damaged(path)) from None
    finally:
        con.close()
    if verdict != ["ok"]:
        raise DatabaseError(_damaged(path))
    return version


def _damaged(path: Path) -> str:
    return f"The backup {path} is damaged (it fails SQLite's integrity check); nothing was restored."


def write_into(live: Path, backup: Path) -> None:
    """Replace the content of the live database `live` with `backup`'s, in one transaction on the live file."""
    src = sqlite3.connect(sqlite_uri(backup, mode="ro", immutable="1"), uri=True)
    try:
        dst = sqlite3.connect(str(live), timeout=max(lock_timeout(), BUSY_TIMEOUT_MS / 1000), isolation_level=None)
        try:
            open_log_first(dst.cursor())  # (joins the log the open boards use, rather than wait for them to go)
            dst.execute("PRAGMA journal_mode=WAL")  # the backup's header says DELETE; the live board stays in WAL
            src.backup(dst)  # one step: the whole copy is one write transaction on the live file
            dst.execute("PRAGMA journal_mode=WAL")
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc).lower() or "busy" in str(exc).lower():
                raise DatabaseError(f"The database {live} stayed locked by another process for over "
                                    f"{lock_timeout():.0f} seconds; nothing was restored.") from None
            raise DatabaseError(describe_db_error(exc, live)) from None
        finally:
            dst.close()
    finally:
        src.close()
