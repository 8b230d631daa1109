"""Is the file at a board's path still the database the board opened?

An open board holds its database by file descriptor. When the file at its path is deleted, moved away, replaced
(`mv other.db board.db`, `cp backup.db board.db`, `demo --fresh`) or upgraded by a newer tuikanban, whatever the
board writes afterwards goes into a deleted inode or over another board's pages, and is silently lost. So the
board takes the file's identity when it opens and compares it on every live-update tick (a `stat` and one small
read): when it changed, the board stops writing and says what happened in one sentence (see docs/RULES.md,
"Shared boards").
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from tuikanban.store.engine import sqlite_uri
from tuikanban.store.tables import SCHEMA_VERSION
from tuikanban.store.walowner import lock_holders


@dataclass(frozen=True, slots=True)
class FileIdentity:
    device: int
    inode: int
    schema: int  # the schema version written in the file
    max_event: int  # the newest event id: a file that goes back in time was replaced by an older copy
    born: str = ""  # the time of the first event ("" before there is one): another board's file was copied over


def identity(path: Path) -> FileIdentity | None:
    """The identity of the database at `path`, or None when there is no readable tuikanban database there."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    try:
        con = sqlite3.connect(sqlite_uri(path, mode="ro"), uri=True, timeout=1.0)
    except sqlite3.Error:
        return None
    try:
        row = con.execute("SELECT value FROM tk_meta WHERE key = 'schema_version'").fetchone()
        top = con.execute("SELECT COALESCE(MAX(id), 0) FROM event").fetchone()
        first = con.execute("SELECT at FROM event ORDER BY id LIMIT 1").fetchone()
    except sqlite3.Error:
        return None
    finally:
        con.close()
    try:
        schema = int(row[0]) if row else 0
    except ValueError:
        schema = 0
    return FileIdentity(st.st_dev, st.st_ino, schema, int(top[0]), str(first[0]) if first else "")


def what_changed(path: Path, opened: FileIdentity, now: FileIdentity | None) -> str | None:
    """One sentence when the file at `path` is no longer the database the board opened (None when it still is)."""
    if now is None:
        if not path.exists():
            return f"The board file {path} was deleted or moved away; nothing more is written to it."
        return f"The board file {path} can no longer be read as a board; nothing more is written to it."
    if (now.device, now.inode) != (opened.device, opened.inode):
        return f"The board file {path} was replaced by another file; nothing more is written to the old one."
    if now.schema > SCHEMA_VERSION:
        return (f"The board file {path} was upgraded by a newer tuikanban (schema {now.schema}); this board stops "
                "writing to it.")
    if opened.born and now.born and now.born != opened.born:
        return (f"The board file {path} was overwritten by another board's file; nothing more is written to it "
                "until it is reopened.")
    if now.max_event < opened.max_event:
        return (f"The board file {path} was overwritten by an older copy; nothing more is written to it until it "
                "is reopened.")
    return None


def leftover_log(path: Path) -> str | None:
    """One sentence when a write-ahead log with content lies beside `path` and no process uses it, after the board's
    file was replaced: the next opener would read it into the file as its own. (Tuikanban empties the log after
    each write, so the log of a replaced file is empty unless a write was under way; a crash leaves one too, which
    is why only a board that saw its file replaced refuses it.)"""
    wal = Path(f"{path}-wal")
    try:
        size = wal.stat().st_size
    except OSError:
        return None
    shm = Path(f"{path}-shm")
    if size == 0 or (shm.exists() and lock_holders(shm)):
        return None
    return (f"The replaced board's write log {wal} still holds changes and opening the new file would read them in; "
            f"move {wal.name} and {shm.name} away (they belong to the old file), then press r again.")
