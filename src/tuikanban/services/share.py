"""`tuikanban share`: make a board shareable by a Unix group on one host, in one idempotent command.

What SQLite's WAL mode needs from a shared folder (see services.health): every rep must be able to create and
write the `-wal` and `-shm` files beside the database, so the folder is group-writable and setgid (files created
in it get the group, whoever creates them), the database and its side files are group-readable and writable, and
nobody outside the group can read any of it. The wrapper gives every way in (an SSH session, a forced-command
key, cron) the same umask and database, because none of them reads a rep's shell profile.

The plan is a list of steps, each with the sentence `--dry-run` prints; a step that finds its work done says so
and changes nothing, which is what makes running `share` twice harmless.
"""

from __future__ import annotations

import grp
import os
import shlex
import stat
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tuikanban.domain.errors import ValidationError
from tuikanban.store.engine import _inspect_existing, open_database
from tuikanban.store.version import SCHEMA_VERSION

FOLDER_MODE = 0o2770  # setgid, group-writable, nothing for others
FILE_MODE = 0o660
BACKUPS_MODE = 0o2750  # the group reads backups; only the owner (root's cron) writes or prunes them
WRAPPER_MODE = 0o755
BACKUP_KEEP = 48  # two days of hourly backups


@dataclass(frozen=True, slots=True)
class ShareOptions:
    group: str
    folder: Path
    db_name: str
    wrapper: Path

    @property
    def db(self) -> Path:
        return self.folder / self.db_name

    @property
    def backups(self) -> Path:
        return self.folder / "backups"


@dataclass(frozen=True, slots=True)
class Step:
    """One thing `share` makes true: `done` says whether it already is, `apply` makes it so."""

    describe: str
    done: bool
    apply: Callable[[], None]


def options(group: str, folder: Path, db_name: str, wrapper: Path) -> ShareOptions:
    """Checked options: the group must exist, paths are absolute, the database is a plain file name."""
    try:
        grp.getgrnam(group)
    except KeyError:
        raise ValidationError(f"There is no group named {group}; create it first (groupadd {group}) and add "
                              f"the reps to it (usermod -aG {group} NAME).") from None
    if not folder.is_absolute() or not wrapper.is_absolute():
        raise ValidationError("Give --dir and --wrapper as absolute paths (for example /srv/tuikanban).")
    if not db_name or "/" in db_name:
        raise ValidationError(f"--db takes a file name inside --dir, not a path: {db_name!r}.")
    return ShareOptions(group, folder, db_name, wrapper)


def _gid(group: str) -> int:
    return grp.getgrnam(group).gr_gid


def _has(path: Path, mode: int, gid: int) -> bool:
    try:
        st = path.stat()
    except OSError:
        return False
    return stat.S_IMODE(st.st_mode) == mode and st.st_gid == gid


def _own(path: Path, mode: int, gid: int) -> None:
    os.chown(path, -1, gid)
    os.chmod(path, mode)  # after chown: a chown clears the setgid bit on some systems


def _folder_step(path: Path, mode: int, gid: int, what: str) -> Step:
    def apply() -> None:
        path.mkdir(parents=True, exist_ok=True)
        _own(path, mode, gid)

    verb = "Set" if path.is_dir() else "Create"
    return Step(f"{verb} the {what} {path}: group {grp.getgrgid(gid).gr_name}, mode {mode:04o}.",
                _has(path, mode, gid), apply)


def _database_steps(opts: ShareOptions, gid: int) -> list[Step]:
    db = opts.db

    def create() -> None:
        old = os.umask(0o007)
        try:
            open_database(db).close()  # creates the schema (or migrates an older file) and switches to WAL
        finally:
            os.umask(old)

    if db.exists():  # adopt it: refused (with a sentence) unless it is a tuikanban database; upgraded if older
        version, _wal = _inspect_existing(db)
        steps = [Step(f"Set up the existing database {db} (schema {version or 'none'} to {SCHEMA_VERSION}).",
                      version == SCHEMA_VERSION, create)]
    else:
        steps = [Step(f"Create the database {db}.", False, create)]
    for path in (db, Path(f"{db}-wal"), Path(f"{db}-shm")):
        if path is db or path.exists():
            steps.append(Step(f"Give {path} the group {opts.group}, mode {FILE_MODE:04o}.",
                              _has(path, FILE_MODE, gid), _owner(path, gid)))
    return steps


def _owner(path: Path, gid: int) -> Callable[[], None]:
    def apply() -> None:
        if path.exists():  # a -wal or -shm goes away when the last connection closes
            _own(path, FILE_MODE, gid)

    return apply


def program() -> tuple[str, str | None]:
    """(the Python that runs this tuikanban, the PYTHONPATH it needs or None when tuikanban is installed in it)."""
    python = sys.executable
    import tuikanban

    source = str(Path(tuikanban.__file__).resolve().parent.parent)
    # -I ignores PYTHONPATH and the user's site: does this interpreter find tuikanban by itself?
    found = subprocess.run([python, "-I", "-c", "import tuikanban"], capture_output=True, cwd="/").returncode == 0
    return python, None if found else source


def private_paths() -> list[str]:
    """The folders of this tuikanban that other users cannot reach (an install under /root or a home folder)."""
    python, pythonpath = program()
    found = []
    for path in (python, str(Path(python).resolve()), pythonpath):
        if path and not _reachable_by_others(Path(path)):
            found.append(path)
    return found


def _reachable_by_others(path: Path) -> bool:
    try:
        return all(p.stat().st_mode & stat.S_IXOTH for p in path.parents) and bool(path.stat().st_mode & stat.S_IROTH)
    except OSError:
        return False


def wrapper_text(opts: ShareOptions) -> str:
    python, pythonpath = program()
    lines = [
        "#!/bin/sh",
        "# Written by 'tuikanban share': the team's board, with the same umask and database for every way in",
        "# (ssh -t, a forced-command key, cron), none of which reads a rep's shell profile.",
        "umask 002",
        f"TUIKANBAN_DB={shlex.quote(str(opts.db))}",
        "export TUIKANBAN_DB",
    ]
    if pythonpath:
        lines += [f"PYTHONPATH={shlex.quote(pythonpath)}", "export PYTHONPATH"]
    lines.append(f'exec {shlex.quote(python)} -m tuikanban "$@"')
    return "\n".join(lines) + "\n"


def _wrapper_step(opts: ShareOptions) -> Step:
    text = wrapper_text(opts)
    path = opts.wrapper

    def apply() -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.partial-{os.getpid()}")
        partial.write_text(text)
        os.chmod(partial, WRAPPER_MODE)
        os.replace(partial, path)

    try:
        done = path.read_text() == text and stat.S_IMODE(path.stat().st_mode) == WRAPPER_MODE
    except OSError:
        done = False
    return Step(f"Write the wrapper {path} (umask 002, TUIKANBAN_DB={opts.db}).", done, apply)


def plan(opts: ShareOptions) -> list[Step]:
    gid = _gid(opts.group)
    return [
        _folder_step(opts.folder, FOLDER_MODE, gid, "folder"),
        *_database_steps(opts, gid),
        _folder_step(opts.backups, BACKUPS_MODE, gid, "backups folder"),
        _wrapper_step(opts),
    ]


def cron_line(opts: ShareOptions, keep: int = BACKUP_KEEP) -> str:
    """A line for /etc/cron.d/tuikanban: an hourly backup as root, keeping the newest `keep`."""
    return (f"17 * * * * root {shlex.quote(str(opts.wrapper))} backup {shlex.quote(str(opts.backups))}/ "
            f"--keep {keep}")


def authorized_keys_line(opts: ShareOptions) -> str:
    """A line for a rep's authorized_keys that gives that key the board and nothing else."""
    return f'command="{opts.wrapper}",restrict,pty ssh-ed25519 AAAA... rep@laptop'


def run(opts: ShareOptions, *, dry_run: bool) -> list[Step]:
    """The steps that were (or with `dry_run` would be) applied; steps already done are skipped."""
    if not dry_run and os.geteuid() != 0:
        raise ValidationError("Run 'tuikanban share' as root (for example with sudo): it changes groups and "
                              "writes the wrapper.")
    todo: list[Step] = []
    for step in plan(opts):
        if step.done:
            continue
        todo.append(step)
        if not dry_run:
            step.apply()
    if not dry_run:
        for step in plan(opts):  # again: the database may have been created, or a -wal/-shm appeared meanwhile
            if not step.done:
                step.apply()
                todo.append(step)
    return todo


__all__ = [
    "ShareOptions", "Step", "authorized_keys_line", "cron_line", "options", "plan", "private_paths", "run",
    "wrapper_text",
]
