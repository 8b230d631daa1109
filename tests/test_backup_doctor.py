"""`tuikanban backup PATH` and `tuikanban doctor` (see the README, Backups)."""

from __future__ import annotations

import grp
import hashlib
import importlib
import json
import os
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tuikanban.services import deals, pipelines
from tuikanban.store.engine import open_database
from tuikanban.store.tables import SCHEMA_VERSION

pytestmark = pytest.mark.sqlite_only  # backup and doctor of the file (modes, groups); PostgreSQL: test_postgres_restore

FIXTURES = Path(__file__).parent / "fixtures"
if str(FIXTURES) not in sys.path:
    sys.path.insert(0, str(FIXTURES))
tk_checks: Any = importlib.import_module("tk_checks")
STAGES = "Lead,Qualified,Proposal,Negotiation"


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def contents(path: Path) -> dict[str, list[Any]]:
    """Every table's rows but tk_meta's (where a backup records when it last ran)."""
    con = sqlite3.connect(path)
    try:
        names = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {n: con.execute(f'SELECT * FROM "{n}" ORDER BY 1').fetchall() for n in names if n != "tk_meta"}
    finally:
        con.close()


def make_board(path: Path, n: int = 5) -> None:
    db = open_database(path)
    pipelines.create_pipeline(db, "Sales", STAGES)
    for i in range(n):
        deals.create_deal(db, "Sales", f"Deal {i}", user="setup", stage="Lead", value=str(100 * (i + 1)))
    db.close()


def deal_titles(path: Path) -> list[str]:
    con = sqlite3.connect(path)
    try:
        return [r[0] for r in con.execute("SELECT title FROM deal ORDER BY id")]
    finally:
        con.close()


# -- backup ------------------------------------------------------------------------------------------


def test_backup_copies_the_board(cli: Any, db_path: Path, tmp_path: Path) -> None:
    make_board(db_path)
    before = contents(db_path)
    target = tmp_path / "copy.db"
    r = cli("backup", str(target))
    assert r.code == 0, r.err
    assert r.out.startswith(f"Backed up {db_path} to {target} (")
    assert contents(db_path) == before  # the source is only read, but for the record of this backup
    con = sqlite3.connect(db_path)
    assert con.execute("SELECT value FROM tk_meta WHERE key = 'last_backup'").fetchone() is not None
    con.close()
    assert tk_checks.integrity(target) == ["ok"]
    assert deal_titles(target) == [f"Deal {i}" for i in range(5)]
    assert stat.S_IMODE(db_path.stat().st_mode) & stat.S_IRGRP  # the board is group-readable (umask 022) ...
    assert stat.S_IMODE(target.stat().st_mode) == 0o640  # ... so its backup is too, but never world-readable
    assert [p.name for p in tmp_path.iterdir() if ".partial" in p.name] == []
    listed = cli("--db", str(target), "deal", "list", "--json")  # the copy is a working board
    assert [d["title"] for d in json.loads(listed.out)["deals"]] == [f"Deal {i}" for i in range(5)][::-1]


def test_backup_refuses_to_overwrite_unless_forced(cli: Any, db_path: Path, tmp_path: Path) -> None:
    make_board(db_path)
    target = tmp_path / "copy.db"
    target.write_text("yesterday's backup")
    r = cli("backup", str(target))
    assert r.code == 1
    assert r.err.strip() == f"{target} already exists; choose another name, or add --force to replace it."
    assert target.read_text() == "yesterday's backup"
    r = cli("backup", str(target), "--force")
    assert r.code == 0, r.err
    assert deal_titles(target) == [f"Deal {i}" for i in range(5)]
    r = cli("backup", str(db_path), "--force")
    assert r.code == 1
    assert r.err.strip() == f"{db_path} is the database itself; choose another backup path."


def test_backup_into_a_folder_gets_a_dated_name(cli: Any, db_path: Path, tmp_path: Path, fixed_now: str) -> None:
    make_board(db_path)
    folder = tmp_path / "backups"
    folder.mkdir()
    r = cli("backup", str(folder))
    assert r.code == 0, r.err
    assert [p.name for p in folder.iterdir()] == ["board-20260302-120000.db"]
    r = cli("backup", str(tmp_path / "missing" / "x.db"))
    assert r.code == 1
    assert r.err.strip() == (f"The folder {tmp_path / 'missing'} does not exist; create it or choose another "
                             "backup path.")


def test_backup_of_something_unusable_writes_nothing(cli: Any, tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.db"
    bogus.write_text("not a database")
    target = tmp_path / "copy.db"
    r = cli("--db", str(bogus), "backup", str(target))
    assert r.code == 1
    assert "not a tuikanban database" in r.err and r.err.strip().count("\n") == 0
    assert not target.exists()
    r = cli("--db", str(tmp_path / "none.db"), "backup", str(target))
    assert r.code == 1
    assert r.err.strip() == f"There is no database at {tmp_path / 'none.db'} to back up."


@pytest.mark.slow
def test_backups_while_another_process_writes_are_consistent(cli: Any, db_path: Path, tmp_path: Path) -> None:
    make_board(db_path, n=8)
    env = {k: v for k, v in os.environ.items() if k != "TUIKANBAN_NOW"}
    writer = subprocess.Popen([sys.executable, str(FIXTURES / "burst_worker.py"), str(db_path), "writer", "3"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    sizes = []
    try:
        assert writer.stdout is not None
        for _ in range(10):  # wait until it is writing
            writer.stdout.readline()
        for i in range(3):
            target = tmp_path / f"copy{i}.db"
            r = cli("backup", str(target))
            assert r.code == 0, r.err
            assert tk_checks.integrity(target) == ["ok"]
            _replay, problems = tk_checks.check_database(target)
            assert problems == []  # a consistent snapshot: the log matches the deal rows in every copy
            sizes.append(len(deal_titles(target)))
            for _ in range(5):
                writer.stdout.readline()
        assert writer.poll() is None  # the writer was never stopped by the backups
    finally:
        writer.kill()
        writer.communicate(timeout=30)
    assert sizes == sorted(sizes) and sizes[0] >= 8


# -- doctor ------------------------------------------------------------------------------------------


def doctor_json(cli: Any, *args: str) -> tuple[int, dict[str, Any]]:
    r = cli(*args, "doctor", "--json")
    return r.code, json.loads(r.out)


def levels(doc: dict[str, Any]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for c in doc["checks"]:
        found.setdefault(c["name"], []).append(c["level"])
    return found


def test_doctor_on_a_healthy_private_board(cli: Any, db_path: Path) -> None:
    make_board(db_path)
    db_path.chmod(0o600)
    db_path.parent.chmod(0o700)
    before = digest(db_path)
    code, doc = doctor_json(cli)
    assert code == 0
    assert doc["ok"] is True
    found = levels(doc)
    for name in ("database", "journal", "integrity", "history", "access", "sharing"):
        assert found[name] == ["ok"], (name, doc)
    messages = {c["name"]: c["message"] for c in doc["checks"]}
    assert messages["database"] == f"{db_path} is a tuikanban database, schema {SCHEMA_VERSION} (current)."
    assert messages["history"] == "The event log and stays agree with all 5 deals."
    assert messages["sharing"].startswith("Not shared")
    text = cli("doctor")
    assert text.code == 0 and text.out.strip().endswith("No problems found.")
    assert digest(db_path) == before
    assert not Path(f"{db_path}-wal").exists() and not Path(f"{db_path}-shm").exists()


def test_doctor_finds_damage_and_says_how_to_fix_it(cli: Any, db_path: Path) -> None:
    make_board(db_path, n=30)
    con = sqlite3.connect(db_path)
    root = con.execute("SELECT rootpage FROM sqlite_master WHERE name = 'event'").fetchone()[0]
    page_size = con.execute("PRAGMA page_size").fetchone()[0]
    con.close()
    with db_path.open("r+b") as fh:
        fh.seek((root - 1) * page_size)
        fh.write(b"\xff" * page_size)
    before = digest(db_path)
    code, doc = doctor_json(cli)
    assert code == 1
    integrity = next(c for c in doc["checks"] if c["name"] == "integrity")
    assert integrity["level"] == "problem"
    assert integrity["message"].startswith("The database is damaged: ")
    assert "restore the latest backup" in integrity["fix"]
    assert digest(db_path) == before


def test_doctor_without_a_database(cli: Any, tmp_path: Path) -> None:
    code, doc = doctor_json(cli, "--db", str(tmp_path / "none.db"))
    assert code == 1
    assert doc["checks"][0] == {"name": "database", "level": "problem",
                                "message": f"There is no database at {tmp_path / 'none.db'}.",
                                "fix": "Check --db / TUIKANBAN_DB, or run 'tuikanban' once to create it."}


def test_doctor_on_a_newer_database(cli: Any, db_path: Path) -> None:
    make_board(db_path)
    con = sqlite3.connect(db_path)
    con.execute("UPDATE tk_meta SET value = '99' WHERE key = 'schema_version'")
    con.commit()
    con.close()
    code, doc = doctor_json(cli)
    assert code == 1
    first = doc["checks"][0]
    assert first["level"] == "problem" and "newer tuikanban" in first["message"]
    assert first["fix"] == "Upgrade tuikanban on this host (every rep must use the same or a newer version)."


def test_doctor_notices_a_history_that_does_not_match(cli: Any, db_path: Path) -> None:
    make_board(db_path)
    con = sqlite3.connect(db_path)
    stage = con.execute("SELECT id FROM stage WHERE name = 'Proposal'").fetchone()[0]
    con.execute("UPDATE deal SET stage_id = ? WHERE id = 2", (stage,))  # moved behind the log's back
    con.commit()
    con.close()
    code, doc = doctor_json(cli)
    assert code == 1
    history = next(c for c in doc["checks"] if c["name"] == "history")
    assert history["level"] == "problem"
    assert history["message"] == "The history of some deals does not match their rows (deals 2)."


def _group_names() -> tuple[str, str]:
    own = grp.getgrgid(os.getgid()).gr_name
    others = [g.gr_name for g in grp.getgrall() if g.gr_gid != os.getgid()]
    return own, others[0] if others else ""


def test_doctor_checks_what_sharing_needs(cli: Any, tmp_path: Path) -> None:
    folder = tmp_path / "crm"
    folder.mkdir()
    path = folder / "board.db"
    make_board(path)
    group, _other = _group_names()

    # half-shared: the folder lets the group in but not write, no setgid, the file is group-writable
    folder.chmod(0o750)
    path.chmod(0o660)
    code, doc = doctor_json(cli, "--db", str(path))
    assert code == 1
    sharing = [c for c in doc["checks"] if c["name"] == "sharing"]
    assert [(c["level"], c["fix"]) for c in sharing] == [
        ("problem", f"chmod g+w {folder}"),
        ("problem", f"chmod g+s {folder}"),
    ]
    assert sharing[0]["message"] == (f"The folder {folder} is not writable by its group {group}: other reps cannot "
                                     "create the -wal and -shm files that writing needs.")

    # set up as the README's "Sharing a board over SSH" says: a group-writable folder with setgid, a group-writable file
    folder.chmod(0o2770)
    code, doc = doctor_json(cli, "--db", str(path))
    assert code == 0, doc
    sharing = [c for c in doc["checks"] if c["name"] == "sharing"]
    assert sharing == [{"name": "sharing", "level": "ok", "fix": None,
                        "message": f"Shared with the group {group}: the folder is group-writable with setgid and "
                                   "the database is group-writable."}]

    # a file that lost its group write bit
    path.chmod(0o640)
    code, doc = doctor_json(cli, "--db", str(path))
    assert code == 1
    assert [c["fix"] for c in doc["checks"] if c["level"] == "problem"] == [f"chmod g+rw {path}"]


def test_doctor_never_advises_changing_a_system_folder_like_tmp(cli: Any, tmp_path: Path) -> None:
    """A board in /tmp (sticky and world-writable): the doctor suggested 'chmod g+s /tmp', 'chmod o-rwx /tmp' and
    'share --dir /tmp'. It says to move the board into a folder of its own to share it, in one sentence."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    folder.chmod(0o1777)
    path = folder / "board.db"
    make_board(path)
    path.chmod(0o600)
    code, doc = doctor_json(cli, "--db", str(path))
    assert code == 0, doc
    assert [c for c in doc["checks"] if str(folder) in (c["fix"] or "")] == []
    assert [c for c in doc["checks"] if c["name"] in ("sharing", "privacy", "backups", "umask")] == [
        {"name": "sharing", "level": "note", "fix": None,
         "message": f"{folder} is a system folder everyone on this host can create files in (mode 1777), not one to "
                    "share a board from: to share the board, move it into a folder of its own (see 'Sharing a board "
                    "over SSH' in the README)."}]


def test_doctor_finds_a_wal_file_of_the_wrong_group(cli: Any, tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("changing a file's group to one we are not in needs root")
    group, other = _group_names()
    if not other:
        pytest.skip("no second group on this host")
    folder = tmp_path / "crm"
    folder.mkdir(mode=0o2770)
    folder.chmod(0o2770)
    path = folder / "board.db"
    make_board(path)
    path.chmod(0o660)
    db = open_database(path)  # a rep has the board open: -wal and -shm exist
    try:
        deals.create_deal(db, "Sales", "Open now", user="ann")
        wal = Path(f"{path}-wal")
        assert wal.exists()
        os.chown(wal, -1, grp.getgrnam(other).gr_gid)
        code, doc = doctor_json(cli, "--db", str(path))
    finally:
        db.close()
    assert code == 1
    problems = [c for c in doc["checks"] if c["level"] == "problem"]
    assert [(c["message"], c["fix"]) for c in problems] == [
        (f"{wal} belongs to the group {other}, not the folder's group {group}; reps outside that group cannot "
         "write to it.", f"chgrp {group} {wal}")]


def test_doctor_on_a_read_only_board(cli: Any, tmp_path: Path) -> None:
    folder = tmp_path / "crm"
    folder.mkdir()
    path = folder / "board.db"
    make_board(path)
    if os.geteuid() == 0:
        r = subprocess.run(["chattr", "+i", str(path)], capture_output=True, text=True)
        if r.returncode != 0:
            pytest.skip(f"running as root without an immutable flag: {r.stderr.strip()}")
    else:
        path.chmod(0o444)
    try:
        code, doc = doctor_json(cli, "--db", str(path))
    finally:
        if os.geteuid() == 0:
            subprocess.run(["chattr", "-i", str(path)], check=True)
    assert code == 1
    problem = next(c for c in doc["checks"] if c["name"] == "file")
    assert problem["message"] == (f"You can read {path} but not write to it, so the board opens read-only for "
                                  "you.")
    assert next(c for c in doc["checks"] if c["name"] == "history")["level"] == "ok"


def test_doctor_says_when_the_digest_and_the_backup_last_ran(cli: Any, db_path: Path, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    make_board(db_path)

    def schedule() -> dict[str, Any]:
        r = cli("doctor", "--json")
        return next(c for c in json.loads(r.out)["checks"] if c["name"] == "schedule")

    first = schedule()
    assert first["level"] == "note" and first["message"] == "Last backup: never; last digest: never."
    assert "cron" in first["fix"]
    monkeypatch.setenv("TUIKANBAN_NOW", "2026-03-02T12:00:00+00:00")
    assert cli("digest").code == 0
    assert cli("backup", str(tmp_path / "b.db")).code == 0
    ran = schedule()
    assert ran["level"] == "ok"
    assert ran["message"] == "Last backup: 2026-03-02 12:00 UTC; last digest: 2026-03-02 12:00 UTC."
    assert cli("restore", str(tmp_path / "b.db")).code == 0  # the backup was taken before its run was recorded
    assert schedule()["message"] == ran["message"]  # the restored board still knows when the jobs last ran
    monkeypatch.setenv("TUIKANBAN_NOW", "2026-03-05T12:00:00+00:00")  # 3 days on: the backup is late (2 allowed)
    assert schedule()["level"] == "note"
