"""Backups and the doctor: is this database sound, and is it set up so that a team can share it?

Nothing here writes to the database file. The backup reads it through SQLite's online backup API (a consistent
snapshot, safe while other reps write) into a temporary file beside the target, checks the copy, then moves it
into place, so a failed backup never leaves a half-written file under the target's name.

The doctor's sharing checks follow what SQLite's WAL mode needs: every user of the board must be able to create
and write the `-wal` and `-shm` files beside the database, so the folder must be writable by the group the reps
share, the database file must be group-writable, and the folder should carry the setgid bit so that files created
in it get that group rather than the creating user's own group.
"""

from __future__ import annotations

import grp
import os
import pwd
import re
import stat
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path

from sqlalchemy import func, select

from tuikanban.domain import clock
from tuikanban.domain.errors import DatabaseError, DuplicateError, ValidationError
from tuikanban.domain.targets import Target, parse_target
from tuikanban.store.engine import (
    ENV_DB,
    Database,
    _inspect_existing,
    _writable,
    backup_file,
    default_db_path,
    integrity_report,
    open_database,
    permission_problem,
)
from tuikanban.store.tables import SCHEMA_VERSION, Deal, Event, Stay

OK = "ok"
NOTE = "note"
PROBLEM = "problem"
LOW_SPACE_BYTES = 50 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Check:
    """One finding: `level` is ok, note (worth knowing) or problem (exit 1); `fix` says what to do."""

    name: str
    level: str
    message: str
    fix: str = ""


@dataclass(frozen=True, slots=True)
class BackupResult:
    source: Path | str  # a file, or a PostgreSQL target's display form
    target: Path
    size: int


def chosen_target(path: Path | str | None) -> Target:
    """The database a command means: --db, else TUIKANBAN_DB, else the default file."""
    return parse_target(path if path is not None else (os.environ.get(ENV_DB) or default_db_path()))


def resolve_db_path(path: Path | str | None) -> Path:
    """The database file a command means: --db, else TUIKANBAN_DB, else the default file.

    A PostgreSQL target is refused here with one sentence: these whole-file operations are SQLite's.
    """
    target = chosen_target(path)
    if target.path is None:
        raise DatabaseError(f"The database {target} is on PostgreSQL; this command works on SQLite files only "
                            "(back up PostgreSQL with pg_dump --format=custom).")
    return target.path


# -- backup -----------------------------------------------------------------------------------------


def backup(source: Path | str | None, target: Path | str, *, force: bool = False,
           keep: int | None = None) -> BackupResult:
    """Copy the database to `target` (a file, or a folder to hold a dated copy) without disturbing other users.

    With `keep`, the target must be a folder, and only the newest `keep` dated copies of this board stay in it.
    """
    parsed = chosen_target(source)
    if parsed.is_postgres:
        from tuikanban.services.pghealth import backup_postgres

        return backup_postgres(parsed, target, force=force)
    src = resolve_db_path(source)
    problem = permission_problem(src)
    if problem:
        raise DatabaseError(problem)
    if not src.exists():
        raise DatabaseError(f"There is no database at {src} to back up.")
    _inspect_existing(src)  # refuses a file that is not ours, is damaged or is newer, before anything is written
    dest = Path(target).expanduser()
    into_folder = dest.is_dir() or str(target).endswith("/")
    if into_folder and not dest.is_dir():
        raise ValidationError(f"The folder {dest} does not exist; create it or choose another backup path.")
    if keep is not None and (not into_folder or keep < 1):
        raise ValidationError("--keep needs a folder to back up into and a number of at least 1 "
                              "(for example: tuikanban backup /srv/tuikanban/backups/ --keep 48).")
    if into_folder:
        stamp = clock.now().astimezone(UTC).strftime("%Y%m%d-%H%M%S")
        dest = dest / f"{src.stem}-{stamp}{src.suffix or '.db'}"
    if not dest.parent.is_dir():
        raise ValidationError(f"The folder {dest.parent} does not exist; create it or choose another backup path.")
    if dest.exists() or dest.is_symlink():
        if _same_file(src, dest):
            raise ValidationError(f"{dest} is the database itself; choose another backup path.")
        if not force:
            raise DuplicateError(f"{dest} already exists; choose another name, or add --force to replace it.")
    partial = dest.parent / f".{dest.name}.partial-{os.getpid()}"
    try:
        partial.unlink(missing_ok=True)
        backup_file(src, partial)
        os.chmod(partial, backup_mode(src))
        if force:
            os.replace(partial, dest)
        else:
            _place_without_overwriting(partial, dest)
        if keep is not None:
            prune_backups(dest.parent, src, keep)
    except PermissionError:
        raise ValidationError(f"Cannot write the backup to {dest.parent} (permission denied).") from None
    except OSError as exc:
        if exc.errno == 28:  # ENOSPC
            raise DatabaseError(f"The disk holding {dest.parent} is full; no backup was written.") from None
        raise ValidationError(f"Cannot write the backup to {dest} ({exc.strerror or exc}).") from None
    finally:
        partial.unlink(missing_ok=True)
    return BackupResult(src, dest, dest.stat().st_size)


def backup_mode(source: Path) -> int:
    """A backup of a private board is private (0600); of a shared one, readable by the board's group (0640)."""
    return 0o640 if source.stat().st_mode & (stat.S_IRGRP | stat.S_IWGRP) else 0o600


def prune_backups(folder: Path, source: Path, keep: int) -> list[Path]:
    """Remove all but the newest `keep` dated copies of `source` in `folder` (other files are never touched)."""
    dated = re.compile(re.escape(source.stem) + r"-\d{8}-\d{6}" + re.escape(source.suffix or ".db"))
    copies = sorted(p for p in folder.iterdir() if dated.fullmatch(p.name) and p.is_file())
    removed = copies[:-keep] if len(copies) > keep else []
    for path in removed:
        path.unlink(missing_ok=True)
    return removed


def _place_without_overwriting(partial: Path, dest: Path) -> None:
    try:
        os.link(partial, dest)  # atomic, and fails if someone created `dest` meanwhile
    except FileExistsError:
        raise DuplicateError(f"{dest} already exists; choose another name, or add --force to replace it.") from None
    except OSError:  # a file system without hard links
        if dest.exists():
            raise DuplicateError(
                f"{dest} already exists; choose another name, or add --force to replace it.") from None
        os.replace(partial, dest)


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.samefile(b)
    except OSError:
        return False


# -- doctor -----------------------------------------------------------------------------------------


def doctor(path: Path | str | None) -> list[Check]:
    """Every check, in the order a person would want to read them. Nothing is written to the database."""
    db_path = resolve_db_path(path)
    problem = permission_problem(db_path)
    if problem:
        return [Check("access", PROBLEM, problem, "Run 'id' to see your groups in this login.")]
    checks: list[Check] = []
    if not db_path.exists():
        checks.append(Check("database", PROBLEM, f"There is no database at {db_path}.",
                            "Check --db / TUIKANBAN_DB, or run 'tuikanban' once to create it."))
        checks.extend(_folder_checks(db_path, None))
        return checks
    # Look at the permissions first: SQLite, run as root, gives -wal and -shm files the database's owner and
    # group when it opens them, which would hide what the other reps would meet.
    folder_checks = _folder_checks(db_path, db_path)
    version: int | None = None
    usable = False
    try:
        version, is_wal = _inspect_existing(db_path)
        usable = version is not None
        if version is None:
            checks.append(Check("database", NOTE, f"{db_path} is an empty SQLite file; tuikanban will set it up "
                                "the first time it opens it."))
        elif version < SCHEMA_VERSION:
            checks.append(Check("database", NOTE, f"{db_path} is a tuikanban database of schema {version}; it is "
                                f"upgraded to schema {SCHEMA_VERSION} the next time tuikanban writes to it.",
                                "Make a backup first: tuikanban backup PATH."))
        else:
            checks.append(Check("database", OK, f"{db_path} is a tuikanban database, schema {version} (current)."))
        if version is not None:
            checks.append(Check("journal", OK, "WAL mode: readers never wait for writers.") if is_wal else Check(
                "journal", NOTE, "The database is not in WAL mode yet (a backup copy is not); tuikanban switches "
                "it to WAL the first time it opens it with write access.",
                "Open it once with tuikanban from an account that can write to it."))
    except DatabaseError as exc:
        fix = "Restore the latest backup ('tuikanban backup PATH' makes one)."
        if "newer" in str(exc):
            fix = "Upgrade tuikanban on this host (every rep must use the same or a newer version)."
        elif "not a tuikanban" in str(exc) or "not an SQLite" in str(exc):
            fix = "Point --db / TUIKANBAN_DB at the board's database file."
        checks.append(Check("database", PROBLEM, str(exc), fix))
    if _is_sqlite(db_path):
        findings = integrity_report(db_path)
        if findings == ["ok"]:
            checks.append(Check("integrity", OK, "PRAGMA integrity_check found no damage."))
        else:
            lines = [ln.strip() for f in findings for ln in f.splitlines() if ln.strip() and "***" not in ln]
            shown = "; ".join(lines[:3])
            more = f" (and {len(lines) - 3} more findings)" if len(lines) > 3 else ""
            checks.append(Check("integrity", PROBLEM, f"The database is damaged: {shown}{more}.",
                                "Stop using it, restore the latest backup, or salvage it with "
                                f"'sqlite3 {db_path} .recover | sqlite3 recovered.db'."))
    if usable and version == SCHEMA_VERSION and all(c.level != PROBLEM for c in checks):
        checks.append(_history_check(db_path))
        checks.append(_runs_check(db_path))
    checks.extend(folder_checks)
    return checks


def _is_sqlite(path: Path) -> bool:
    from tuikanban.store.walowner import read_header

    try:
        return read_header(path, 16) == b"SQLite format 3\x00"  # (never drops SQLite's locks: see read_header)
    except OSError:
        return False


def _on_database(path: Path, name: str, check: Callable[[Database], Check]) -> Check:
    """`check` on the database at `path`, opened for the moment; a file that cannot be opened is the check's problem."""
    try:
        # only read, but opened for writing where allowed: a read-only connection leaves -wal/-shm files behind
        db = open_database(path, readonly=not _writable(path))
    except DatabaseError as exc:
        return Check(name, PROBLEM, str(exc))
    try:
        return check(db)
    finally:
        db.close()


def _history_check(path: Path) -> Check:
    return _on_database(path, "history", history_check)


def _runs_check(path: Path) -> Check:
    return _on_database(path, "schedule", runs_check)


def runs_check(db: Database) -> Check:
    """When the digest and the backup last ran (the README suggests scheduling both)."""
    from tuikanban.services.runs import describe, last_runs, overdue

    runs = last_runs(db)
    if not overdue(runs, clock.now()):
        return Check("schedule", OK, describe(runs))
    return Check("schedule", NOTE, describe(runs), "Schedule them with cron (README: The weekly review, "
                 "Scheduling): a daily 'tuikanban backup DIR/ --keep 14' and a weekly 'tuikanban digest'.")


def history_check(db: Database) -> Check:
    """The event log and stays agree with the deal rows: every deal was created, and open deals have exactly one
    open stay, in their current stage; closed deals have none."""
    deal_t = Deal.__table__  # type: ignore[attr-defined]
    d, y, e = deal_t.c, Stay.__table__.c, Event.__table__.c  # type: ignore[attr-defined]
    try:
        with db.read() as s:
            conn = s.connection()
            total = int(conn.execute(select(func.count()).select_from(deal_t)).scalar_one())
            open_stays = (select(y.deal_id, func.count().label("n"), func.max(y.stage_id).label("stage"))
                          .where(y.left_at.is_(None)).group_by(y.deal_id).subquery())
            bad_open = [r[0] for r in conn.execute(
                select(d.id).select_from(deal_t.outerjoin(open_stays, open_stays.c.deal_id == d.id))
                .where(d.status == "open")
                .where((open_stays.c.n.is_(None)) | (open_stays.c.n != 1) | (open_stays.c.stage != d.stage_id))
                .limit(20))]
            bad_closed = [r[0] for r in conn.execute(
                select(d.id).select_from(deal_t.join(open_stays, open_stays.c.deal_id == d.id))
                .where(d.status.in_(("won", "lost"))).limit(20))]  # a deleted deal keeps its stay for restore
            creates = select(e.deal_id).where(e.kind == "create")
            no_create = [r[0] for r in conn.execute(select(d.id).where(d.id.not_in(creates)).limit(20))]
    except DatabaseError as exc:
        return Check("history", PROBLEM, str(exc))
    bad = sorted(set(bad_open) | set(bad_closed) | set(no_create))
    if not bad:
        agree = {0: "each other (no deals yet)", 1: "the one deal"}.get(total, f"all {total:,} deals")
        return Check("history", OK, f"The event log and stays agree with {agree}.")
    ids = ", ".join(str(i) for i in bad[:10])
    return Check("history", PROBLEM, f"The history of some deals does not match their rows (deals {ids}).",
                 "This happens only when the file is edited outside tuikanban; restore a backup if unsure.")


def _mode(m: int) -> str:
    return f"{stat.S_IMODE(m):04o}"


def _group(gid: int) -> str:
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)


def _user(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def _folder_checks(db_path: Path, existing: Path | None) -> list[Check]:
    """Permissions: can you write, and could your teammates (when the board looks shared)?"""
    checks: list[Check] = []
    folder = db_path.absolute().parent
    try:
        fst = folder.stat()
    except OSError:
        return [Check("folder", PROBLEM, f"The folder {folder} does not exist or cannot be read.",
                      f"Create it: mkdir -p {folder}")]
    if not os.access(folder, os.W_OK | os.X_OK):
        checks.append(Check("folder", PROBLEM, f"You cannot write to the folder {folder}, so you can only read the "
                            "board (SQLite needs to create its -wal and -shm files there).",
                            f"Ask its owner ({_user(fst.st_uid)}) to add you to the group {_group(fst.st_gid)} "
                            f"and run: chmod g+w {folder}"))
    if existing is not None:
        if not os.access(existing, os.R_OK):
            checks.append(Check("file", PROBLEM, f"You cannot read {existing}.",
                                f"Ask its owner to run: chmod g+r {existing}"))
        elif not os.access(existing, os.W_OK):
            checks.append(Check("file", PROBLEM, f"You can read {existing} but not write to it, so the board opens "
                                "read-only for you.", f"Ask its owner to run: chmod g+rw {existing}"))
    try:
        free = os.statvfs(folder)
        space = free.f_bavail * free.f_frsize
        if space < 64 * 1024:
            checks.append(Check("disk", PROBLEM, f"The disk holding {folder} is full; nothing can be saved.",
                                "Free some space."))
        elif space < LOW_SPACE_BYTES:
            checks.append(Check("disk", NOTE, f"Only {space // (1024 * 1024)} MB are free on the disk holding "
                                f"{folder}.", "Free some space before it fills up."))
    except OSError:
        pass
    checks.extend(_sharing_checks(folder, fst, existing))
    if not any(c.level == PROBLEM for c in checks if c.name in ("folder", "file")):
        checks.insert(0, Check("access", OK, f"You can read and write {existing or db_path} and its folder."))
    return checks


def _sharing_checks(folder: Path, fst: os.stat_result, existing: Path | None) -> list[Check]:
    fmode = fst.st_mode
    file_st = existing.stat() if existing is not None else None
    if fmode & stat.S_ISVTX and fmode & stat.S_IWOTH:
        # /tmp, /var/tmp, /dev/shm: its group bits do not mean sharing, and its mode is not the rep's to change
        found = [Check("sharing", NOTE, f"{folder} is a system folder everyone on this host can create files in "
                       f"(mode {_mode(fmode)}), not one to share a board from: to share the board, move it into a "
                       "folder of its own (see 'Sharing a board over SSH' in the README).")]
        if file_st is not None and file_st.st_mode & stat.S_IROTH:
            found.append(Check("privacy", NOTE, f"Everyone on this host can read {existing} "
                               f"(mode {_mode(file_st.st_mode)}).", f"chmod o-rwx {existing} if that is not meant"))
        return found
    # Sharing is meant when the folder or the file lets a group write (or the folder hands its group on).
    shared = bool(fmode & (stat.S_IWGRP | stat.S_ISGID)) or (file_st is not None and bool(
        file_st.st_mode & stat.S_IWGRP))
    if not shared:
        what = f"{existing} ({_mode(file_st.st_mode)})" if file_st else "the board"
        found = [Check("sharing", OK, f"Not shared: only {_user(fst.st_uid)} can write {what} in its "
                       f"{_mode(fmode)} folder. To share the board, see 'Sharing a board over SSH' in the README.")]
        if file_st is not None and file_st.st_mode & stat.S_IROTH and fmode & stat.S_IXOTH:
            found.append(Check("privacy", NOTE, f"Everyone on this host can read {existing} "
                               f"(mode {_mode(file_st.st_mode)}).", f"chmod o-rwx {existing} if that is not meant"))
        return found
    group = _group(fst.st_gid)
    checks: list[Check] = []
    if not fmode & stat.S_IWGRP:
        checks.append(Check("sharing", PROBLEM, f"The folder {folder} is not writable by its group {group}: other "
                            "reps cannot create the -wal and -shm files that writing needs.",
                            f"chmod g+w {folder}"))
    if not fmode & stat.S_ISGID:
        checks.append(Check("sharing", PROBLEM, f"The folder {folder} has no setgid bit, so files SQLite creates in "
                            f"it (-wal, -shm) get the creating user's group instead of {group}.",
                            f"chmod g+s {folder}"))
    if fmode & stat.S_IWOTH and not fmode & stat.S_ISVTX:
        checks.append(Check("sharing", PROBLEM, f"Anyone on this host can create or delete files in {folder}.",
                            f"chmod o-w {folder}"))
    elif fmode & stat.S_IRWXO:
        checks.append(Check("privacy", NOTE, f"Users outside the group {group} can look into {folder} (mode "
                            f"{_mode(fmode)}).", f"chmod o-rwx {folder}"))
    backups = folder / "backups"
    if not backups.is_dir():
        checks.append(Check("backups", NOTE, f"There is no backups folder {backups}.",
                            f"sudo tuikanban share --group {group} --dir {folder} --db "
                            f"{existing.name if existing else 'board.db'} (creates it and prints the cron line for "
                            "hourly backups)"))
    names = [existing] if existing is not None else []
    names += [p for p in (Path(f"{existing}-wal"), Path(f"{existing}-shm")) if existing is not None and p.exists()]
    for p in names:
        try:
            pst = p.stat()
        except OSError:
            continue
        if pst.st_gid != fst.st_gid:
            checks.append(Check("sharing", PROBLEM, f"{p} belongs to the group {_group(pst.st_gid)}, not the "
                                f"folder's group {group}; reps outside that group cannot write to it.",
                                f"chgrp {group} {p}"))
        if not pst.st_mode & stat.S_IWGRP or not pst.st_mode & stat.S_IRGRP:
            checks.append(Check("sharing", PROBLEM, f"{p} is not readable and writable by the group {group} "
                                f"(mode {_mode(pst.st_mode)}).", f"chmod g+rw {p}"))
        if pst.st_mode & stat.S_IWOTH:
            checks.append(Check("sharing", PROBLEM, f"Anyone on this host can change {p}.", f"chmod o-w {p}"))
    mask = os.umask(0)
    os.umask(mask)
    if mask & stat.S_IWGRP:
        checks.append(Check("umask", NOTE, f"Your umask {mask:03o} makes new files (a new board, backups, exports) "
                            "unwritable by your group.", "Add 'umask 002' to your shell profile."))
    if not any(c.level == PROBLEM for c in checks):
        checks.insert(0, Check("sharing", OK, f"Shared with the group {group}: the folder is group-writable with "
                               "setgid and the database is group-writable."))
    return checks


def exit_code(checks: list[Check]) -> int:
    return 1 if any(c.level == PROBLEM for c in checks) else 0


__all__ = ["NOTE", "OK", "PROBLEM", "BackupResult", "Check", "backup", "chosen_target", "doctor", "exit_code",
           "history_check", "resolve_db_path"]
