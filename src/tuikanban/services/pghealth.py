"""`backup` and `doctor` for a board on PostgreSQL (the SQLite file's versions are in services.health)."""

from __future__ import annotations

import os
from pathlib import Path

from tuikanban.domain import clock
from tuikanban.domain.errors import DatabaseError, DuplicateError, ValidationError
from tuikanban.domain.targets import Target
from tuikanban.services.health import NOTE, OK, PROBLEM, BackupResult, Check, history_check
from tuikanban.store.engine import open_database
from tuikanban.store.pg import PgDatabase, dump, pg_dump_version, server_facts
from tuikanban.store.tables import SCHEMA_VERSION


def backup_postgres(source: Target, target: Path | str, *, force: bool = False) -> BackupResult:
    """pg_dump (custom format) of the board into `target`, a file or a folder for a dated copy; never half a file."""
    dest = Path(target).expanduser()
    if dest.is_dir():
        stamp = clock.now().strftime("%Y%m%d-%H%M%S")
        dest = dest / f"{source.database}-{stamp}.dump"
    if not dest.parent.is_dir():
        raise ValidationError(f"The folder {dest.parent} does not exist; create it or choose another backup path.")
    if (dest.exists() or dest.is_symlink()) and not force:
        raise DuplicateError(f"{dest} already exists; choose another name, or add --force to replace it.")
    open_database(source, create=False).close()  # a tuikanban board of a known schema, before anything is written
    partial = dest.parent / f".{dest.name}.partial-{os.getpid()}"
    try:
        dump(source, str(partial))
        os.replace(partial, dest)
    finally:
        partial.unlink(missing_ok=True)
    return BackupResult(str(source), dest, dest.stat().st_size)


def doctor_postgres(target: Target) -> list[Check]:
    """Connectivity, server version, schema version, privileges, pg_dump, and the history's agreement."""
    try:
        db = open_database(target, create=False)
    except DatabaseError as exc:
        return [Check("database", PROBLEM, str(exc), "Check the URL, that the server runs, and ~/.pgpass.")]
    try:
        assert isinstance(db, PgDatabase)
        facts = server_facts(db)
        checks = [Check("server", OK, f"Connected to PostgreSQL {facts['version']} as {facts['user']}.")]
        version = db.schema_version()
        checks.append(Check("database", OK, f"{target} is a tuikanban database, schema {version} (current).")
                      if version == SCHEMA_VERSION else Check(
                          "database", NOTE, f"{target} is at schema {version}; it is upgraded on the next write."))
        if facts["can_write"]:
            checks.append(Check("access", OK, f"The role {facts['user']} can read and write the board."))
        else:
            checks.append(Check("access", PROBLEM, f"The role {facts['user']} cannot write the board (read-only).",
                                "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO the role."))
        checks.append(_dump_check(int(facts["version_num"]) // 10000))
        if facts["idle_timeout"] in ("0", "0ms"):
            checks.append(Check("timeout", NOTE, "The server has no idle_in_transaction_session_timeout; tuikanban "
                                "sets one per connection.", "A DBA may set it for every client (ALTER DATABASE)."))
        checks.append(history_check(db))
        return checks
    finally:
        db.close()


def _dump_check(server_major: int) -> Check:
    found = pg_dump_version()
    if found is None:
        return Check("backup", PROBLEM, "pg_dump is not installed, so 'tuikanban backup' cannot back up this board.",
                     "Install the PostgreSQL client tools (for example: apt install postgresql-client).")
    if found[0] < server_major:
        return Check("backup", PROBLEM, f"pg_dump {found[0]}.{found[1]} is older than the server ({server_major}); "
                     "it refuses to dump newer servers.", f"Install the PostgreSQL {server_major} client tools.")
    return Check("backup", OK, f"pg_dump {found[0]}.{found[1]} is installed for backups.")


__all__ = ["backup_postgres", "doctor_postgres"]
