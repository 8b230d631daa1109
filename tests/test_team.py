"""A team on one SSH host (issue 12): `tuikanban share`, dated backups with pruning, presence seen through the
file's data_version, and the board refusing to start without a terminal. (Presence and `who` on both engines:
tests/test_presence.py.)"""

from __future__ import annotations

import grp
import json
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tuikanban.services import deals, pipelines, presence
from tuikanban.services.share import BACKUPS_MODE, FILE_MODE, FOLDER_MODE
from tuikanban.store import fastread
from tuikanban.store.engine import open_database

pytestmark = pytest.mark.sqlite_only  # a team sharing one file through a Unix group

SRC = Path(__file__).resolve().parent.parent / "src"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def team_group() -> Iterator[str]:
    """A throwaway Unix group (root only), removed afterwards."""
    if os.geteuid() != 0:
        pytest.skip("creating a Unix group for the test needs root")
    name = f"tkt{os.getpid() % 100000}"
    subprocess.run(["groupadd", name], check=True, capture_output=True)
    try:
        yield name
    finally:
        subprocess.run(["groupdel", name], check=False, capture_output=True)


# -- share -----------------------------------------------------------------------------------------------


def test_share_dry_run_changes_nothing(cli: Any, tmp_path: Path, team_group: str) -> None:
    folder = tmp_path / "srv"
    wrapper = tmp_path / "bin" / "tk-team"
    r = cli("share", "--group", team_group, "--dir", str(folder), "--wrapper", str(wrapper), "--dry-run")
    assert r.code == 0, r.err
    assert f"Create the folder {folder}: group {team_group}, mode 2770." in r.out
    assert f"Create the database {folder / 'board.db'}." in r.out
    assert r.out.rstrip().endswith("Nothing was changed (--dry-run).")
    assert not folder.exists() and not wrapper.exists()


def test_share_sets_up_a_board_and_is_harmless_twice(cli: Any, tmp_path: Path, team_group: str) -> None:
    folder = tmp_path / "srv"
    wrapper = tmp_path / "bin" / "tk-team"
    args = ("share", "--group", team_group, "--dir", str(folder), "--db", "sales.db", "--wrapper", str(wrapper))
    r = cli(*args)
    assert r.code == 0, r.err
    gid = grp.getgrnam(team_group).gr_gid
    db = folder / "sales.db"
    assert (mode(folder), folder.stat().st_gid) == (FOLDER_MODE, gid) == (0o2770, gid)
    assert (mode(db), db.stat().st_gid) == (FILE_MODE, gid) == (0o660, gid)
    assert (mode(folder / "backups"), (folder / "backups").stat().st_gid) == (BACKUPS_MODE, gid) == (0o2750, gid)
    assert mode(wrapper) == 0o755
    text = wrapper.read_text()
    assert "umask 002\n" in text and f"TUIKANBAN_DB={db}\n" in text
    assert f"exec {sys.executable} -m tuikanban \"$@\"" in text
    cron = f"17 * * * * root {wrapper} backup {folder / 'backups'}/ --keep 48"
    assert cron in r.out
    assert f'command="{wrapper}",restrict,pty ssh-ed25519' in r.out
    before = {p: (p.stat().st_mtime_ns, mode(p)) for p in (db, wrapper, folder / "backups")}

    again = cli(*args)
    assert again.code == 0, again.err
    assert f"Nothing to do: {db} is already shared with the group {team_group}." in again.out
    assert {p: (p.stat().st_mtime_ns, mode(p)) for p in before} == before

    # the wrapper runs this tuikanban on that database, with the group's umask, from anywhere
    env = {k: v for k, v in os.environ.items() if k not in ("TUIKANBAN_DB", "PYTHONPATH")}
    made = subprocess.run([str(wrapper), "pipeline", "create", "Sales", "--stages", "Lead,Won"], env=env,
                          capture_output=True, text=True, cwd="/", timeout=60)
    assert made.returncode == 0, made.stderr
    assert made.stdout.strip() == "Created pipeline 1: Sales"
    doctor = subprocess.run([str(wrapper), "doctor", "--json"], env=env, capture_output=True, text=True,
                            cwd="/", timeout=60)
    assert doctor.returncode == 0, doctor.stdout
    assert all(c["level"] != "problem" for c in json.loads(doctor.stdout)["checks"])

    # the printed cron line, run in cron's bare environment, makes a group-readable dated backup
    command = cron.split(" root ", 1)[1]
    subprocess.run(["/bin/sh", "-c", command], env={"PATH": "/usr/bin:/bin", "HOME": "/"}, check=True,
                   capture_output=True, timeout=60)
    made_backups = list((folder / "backups").iterdir())
    assert len(made_backups) == 1 and made_backups[0].name.startswith("sales-")
    assert mode(made_backups[0]) == 0o640 and made_backups[0].stat().st_gid == gid


def test_share_adopts_an_existing_board_and_doctor_names_each_fix(cli: Any, tmp_path: Path,
                                                                  team_group: str) -> None:
    folder = tmp_path / "crm"
    folder.mkdir(mode=0o755)
    db_path = folder / "board.db"
    db = open_database(db_path)
    pipelines.create_pipeline(db, "Sales", "Lead,Won")
    db.close()
    db_path.chmod(0o644)
    folder.chmod(0o755)
    r = cli("--db", str(db_path), "doctor", "--json")
    doc = json.loads(r.out)
    assert r.code == 0  # a private board: nothing is wrong, but sharing is not set up
    assert [c["level"] for c in doc["checks"] if c["name"] == "sharing"] == ["ok"]
    folder.chmod(0o2775)  # looks shared, but the file is not group-writable and the folder is open to all
    r = cli("--db", str(db_path), "doctor", "--json")
    fixes = {c["fix"] for c in json.loads(r.out)["checks"] if c["fix"]}
    assert r.code == 1
    assert {f"chmod g+rw {db_path}", f"chmod o-rwx {folder}"} <= fixes
    r = cli("share", "--group", team_group, "--dir", str(folder), "--wrapper", str(tmp_path / "tk"))
    assert r.code == 0, r.err
    assert f"Give {db_path} the group {team_group}, mode 0660." in r.out
    assert "Set up the existing database" not in r.out  # it is a current tuikanban board: adopted as it is
    r = cli("--db", str(db_path), "doctor", "--json")
    assert r.code == 0, r.out
    assert json.loads(r.out)["checks"][0]["level"] == "ok"
    assert [p["name"] for p in json.loads(cli("--db", str(db_path), "pipeline", "list", "--json").out)
            ["pipelines"]] == ["Sales"]


def test_share_refuses_an_unknown_group(cli: Any, tmp_path: Path) -> None:
    r = cli("share", "--group", "no-such-group-tk", "--dir", str(tmp_path / "srv"), "--dry-run")
    assert r.code == 1
    assert r.err.strip() == ("There is no group named no-such-group-tk; create it first (groupadd no-such-group-tk) "
                             "and add the reps to it (usermod -aG no-such-group-tk NAME).")


# -- backups into a folder ------------------------------------------------------------------------------


def test_backup_into_a_folder_keeps_the_newest(cli: Any, db_path: Path, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    db = open_database(db_path)
    pipelines.create_pipeline(db, "Sales", "Lead,Won")
    db.close()
    db_path.chmod(0o600)
    folder = tmp_path / "backups"
    r = cli("backup", f"{folder}/")
    assert r.code == 1
    assert r.err.strip() == f"The folder {folder} does not exist; create it or choose another backup path."
    assert not folder.exists()
    folder.mkdir()
    (folder / "notes.txt").write_text("not a backup")
    for hour in ("09", "10", "11", "12"):
        monkeypatch.setenv("TUIKANBAN_NOW", f"2026-03-02T{hour}:00:00+00:00")
        r = cli("backup", f"{folder}/", "--keep", "2")
        assert r.code == 0, r.err
    assert sorted(p.name for p in folder.iterdir()) == [
        "board-20260302-110000.db", "board-20260302-120000.db", "notes.txt"]
    assert mode(folder / "board-20260302-120000.db") == 0o600  # a private board's backups are private
    r = cli("backup", str(tmp_path / "one.db"), "--keep", "2")
    assert r.code == 1 and "--keep needs a folder" in r.err


# -- presence (on both engines: tests/test_presence.py) -------------------------------------------------


def test_presence_writes_no_history_and_wakes_no_reload(db_path: Path, fixed_now: str) -> None:
    db = open_database(db_path)
    p = pipelines.create_pipeline(db, "Sales", "Lead,Won")
    deals.create_deal(db, "Sales", "Acme", user="alice")
    watcher = open_database(db_path)  # another board's poll connection
    con = fastread.connect(db_path)
    assert con is not None
    try:
        seen = fastread.signature(con, p.id)
        version = watcher.data_version()
        events = con.execute("SELECT count(*) FROM event").fetchone()[0]
        seat = presence.join(db, "alice")
        presence.heartbeat(seat)
        presence.editing(seat, 1)
        assert watcher.data_version() != version  # the other board's poll does notice a commit ...
        assert fastread.signature(con, p.id) == seen  # ... but its check finds nothing to reload
        assert con.execute("SELECT count(*) FROM event").fetchone()[0] == events
        deals.create_deal(db, "Sales", "Globex", user="bob")
        assert fastread.signature(con, p.id) != seen  # while a real change is seen
        presence.leave(seat)
    finally:
        con.close()
        watcher.close()
        db.close()


# -- no terminal, no spin ---------------------------------------------------------------------------


@pytest.mark.parametrize("stdin_tty", [False, True])
def test_the_board_without_a_terminal_says_so_at_once(tmp_path: Path, stdin_tty: bool) -> None:
    env = {**os.environ, "PYTHONPATH": str(SRC), "TUIKANBAN_DB": str(tmp_path / "b.db")}
    stdin: Any = subprocess.DEVNULL
    tty = None
    if stdin_tty:  # stdin is a terminal but the output goes into a pipe (tuikanban | cat)
        master, tty = os.openpty()
        os.close(master)
        stdin = tty
    # "At once": the refusal comes before the board's heavy imports (Textual, the ORM), which are what would keep
    # a rep waiting; the modules loaded by then are written out when the interpreter exits.
    loaded = tmp_path / "loaded.txt"
    probe = ("import atexit, runpy, sys\n"
             f"atexit.register(lambda: open({str(loaded)!r}, 'w').write(' '.join(sorted(sys.modules))))\n"
             "sys.argv = ['tuikanban']\n"
             "runpy.run_module('tuikanban', run_name='__main__', alter_sys=True)\n")
    r = subprocess.run([sys.executable, "-c", probe], stdin=stdin, capture_output=True, env=env, timeout=20)
    if tty is not None:
        os.close(tty)
    assert r.returncode == 1
    assert r.stdout == b""
    assert r.stderr.decode().strip() == ("The board needs a terminal: connect with 'ssh -t', or run a command such "
                                         "as 'tuikanban deal list'.")
    heavy = [m for m in loaded.read_text().split() if m.split('.')[0] in ('textual', 'sqlalchemy', 'sqlmodel')]
    assert heavy == []
    assert not (tmp_path / "b.db").exists()


def test_share_leaves_a_file_that_is_not_a_board_alone(cli: Any, tmp_path: Path, team_group: str) -> None:
    folder = tmp_path / "srv"
    folder.mkdir()
    (folder / "board.db").write_text("my notes")
    for extra in (("--dry-run",), ()):
        r = cli("share", "--group", team_group, "--dir", str(folder), "--wrapper", str(tmp_path / "tk"), *extra)
        assert r.code == 1
        assert r.err.strip() == (f"The file {folder / 'board.db'} is not a tuikanban database (not an SQLite file); "
                                 "it was left untouched.")
    assert (folder / "board.db").read_text() == "my notes"
    assert not (tmp_path / "tk").exists() and mode(folder) != FOLDER_MODE
