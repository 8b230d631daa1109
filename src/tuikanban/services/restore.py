"""`tuikanban restore BACKUP`: the board's content replaced by a backup's, safe while reps have it open.

Order of work, each step able to stop the restore with one sentence and nothing changed:
1. the backup is checked (a tuikanban database, not newer than this program, every page sound);
2. the live database is checked the same way as at every open, then copied aside with the online backup API
   (`<name>-before-restore-<time>.db` beside it), so the restore itself can be undone;
3. the backup's content is written into the live file in one transaction (store.restore.write_into);
4. an older backup is migrated to this program's schema, and the restore is recorded in `tk_meta`
   (`restored`: from which file, by whom, when) so that open boards can say what happened when they reload.
"""

from __future__ import annotations

import json
import os
import stat
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path

from sqlalchemy import delete
from sqlmodel import Session

from tuikanban.domain import clock
from tuikanban.domain.errors import DatabaseError
from tuikanban.domain.targets import Target
from tuikanban.domain.text import display
from tuikanban.store.engine import _inspect_existing, backup_file, open_database
from tuikanban.store.restore import check_backup, write_into
from tuikanban.store.tables import Meta, Presence

RESTORED_KEY = "restored"


@dataclass(frozen=True, slots=True)
class RestoreResult:
    live: Path | Target  # the board's file, or its PostgreSQL target
    backup: Path
    saved: Path  # the copy of what the restore replaced
    backup_schema: int
    open_by: tuple[str, ...] = ()  # who had the board open when it was restored (their boards reload)


def restore_target(target: Target, backup: Path, *, user: str) -> RestoreResult:
    """Restore the board at `target` (an SQLite file or a PostgreSQL database) from `backup`."""
    if target.path is not None:
        return restore(target.path, backup, user=user)
    from tuikanban.services.restore_pg import restore_postgres

    backup = backup.expanduser().absolute()
    saved, version, open_by = restore_postgres(target, backup, user=user, note=_note(backup, user))
    return RestoreResult(target, backup, saved, version, open_by)


def _note(backup: Path, user: str) -> str:
    """The `restored` mark: from which file, by whom, when."""
    return json.dumps({"from": backup.name, "by": user, "at": clock.now().astimezone(UTC).isoformat()})


def restore(live: Path, backup: Path, *, user: str) -> RestoreResult:
    backup = backup.expanduser()
    live = live.expanduser()
    from tuikanban.store.pgrestore import file_kind

    if backup.is_file() and file_kind(backup) == "pg_dump":
        raise DatabaseError(f"{backup} is a backup of a PostgreSQL board; restore it into a PostgreSQL database "
                            "(tuikanban --db postgresql://... restore), or restore it there and then 'tuikanban "
                            "copy --to' this file. Nothing was restored.")
    backup_version = check_backup(backup)
    if not live.exists():
        raise DatabaseError(f"There is no database at {live} to restore into; to start a board from the backup, "
                            f"copy it there instead (cp {backup} {live}).")
    try:
        if live.samefile(backup):
            raise DatabaseError(f"{backup} is the database itself; choose a backup file.")
    except OSError:
        pass
    if _inspect_existing(live)[0] is None:
        raise DatabaseError(f"The file {live} is empty, not a board; copy the backup there instead.")
    if not os.access(live, os.W_OK) or not os.access(live.parent, os.W_OK):
        raise DatabaseError(f"You cannot write to {live} or its folder, so it cannot be restored; run "
                            "'tuikanban doctor' to see the permissions.")
    open_by, runs = _open_by(live), _runs(live)
    stamp = clock.now().astimezone(UTC).strftime("%Y%m%d-%H%M%S")
    saved = _free_name(live, stamp)
    backup_file(live, saved)
    os.chmod(saved, stat.S_IMODE(live.stat().st_mode))  # as private (or shared) as the board
    write_into(live, backup)
    db = open_database(live)  # migrates a backup written by an older tuikanban
    try:
        note = _note(backup, user)

        def record(session: Session) -> None:
            row = session.get(Meta, RESTORED_KEY) or Meta(key=RESTORED_KEY)
            row.value = note
            session.add(row)
            for key, value in runs.items():  # when the jobs last ran on this file, not when they ran on the backup
                session.merge(Meta(key=key, value=value))
            # who had the backup's source open (a copy made with cp, a backup of an older tuikanban): nobody here;
            # the boards open on this file take their seats again with their next heartbeat
            session.execute(delete(Presence))

        db.write(record)
    finally:
        db.close()
    return RestoreResult(live, backup, saved, backup_version, open_by)


def _runs(live: Path) -> dict[str, str]:
    """The live board's `last_backup` and `last_digest` marks (services.runs), which the restore keeps: the backup
    was taken before its own run was recorded, so it would say the last backup never happened."""
    from tuikanban.services.restore_pg import KEEP_TARGET_META

    db = open_database(live, create=False)
    try:
        with db.read() as s:
            rows = (s.get(Meta, key) for key in KEEP_TARGET_META if key.startswith("last_"))
            return {row.key: row.value for row in rows if row is not None and row.value}
    finally:
        db.close()


def _open_by(live: Path) -> tuple[str, ...]:
    """The names of the reps with the board open now, each once (read before the backup's rows replace them)."""
    from tuikanban.services.presence import who

    db = open_database(live, create=False)
    try:
        return tuple(dict.fromkeys(display(h.user) or "someone" for h in who(db)))
    finally:
        db.close()


def open_by_sentence(names: tuple[str, ...]) -> str:
    """"alice and bob have the board open; their boards reload." ("" when nobody has)."""
    if not names:
        return ""
    if len(names) == 1:
        return f"{names[0]} has the board open; their board reloads."
    return f"{', '.join(names[:-1])} and {names[-1]} have the board open; their boards reload."


def _free_name(live: Path, stamp: str) -> Path:
    """`NAME-before-restore-TIME.db` beside the board, never an existing file (two restores in one second, or a
    restore from the very copy an earlier restore kept, must not write over it)."""
    suffix = live.suffix or ".db"
    for n in range(1, 1000):
        extra = "" if n == 1 else f"-{n}"
        candidate = live.with_name(f"{live.stem}-before-restore-{stamp}{extra}{suffix}")
        if not candidate.exists():
            return candidate
    raise DatabaseError(f"Too many restores of {live} in one second; nothing was restored.")


def last_restore(value: str | None) -> str | None:
    """The sentence an open board shows after a restore, from the `restored` meta value (None if there is none)."""
    if not value:
        return None
    try:
        info = json.loads(value)
        return f"The board was restored from {info['from']} by {info['by']}."
    except (ValueError, KeyError, TypeError):
        return None
