"""Every way a database can be unusable gets one clear sentence (exit 1) and leaves the file untouched
(docs/RULES.md, Database safety): not ours, damaged, read-only, locked, newer, full disk; and SIGKILL mid-write
loses nothing that was committed and breaks nothing."""

from __future__ import annotations

import hashlib
import importlib
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.pool import Pool

from tuikanban.cli.common import State
from tuikanban.services import deals, pipelines
from tuikanban.store import uow
from tuikanban.store.engine import open_database
from tuikanban.store.tables import SCHEMA_VERSION

pytestmark = pytest.mark.sqlite_only  # files that are not boards, damaged pages, locks, full disks, SIGKILL mid-write

FIXTURES = Path(__file__).parent / "fixtures"
if str(FIXTURES) not in sys.path:
    sys.path.insert(0, str(FIXTURES))
tk_checks: Any = importlib.import_module("tk_checks")
STAGES = "Lead,Qualified,Proposal,Negotiation"


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def side_files(path: Path) -> list[str]:
    return sorted(p.name for p in (Path(f"{path}-wal"), Path(f"{path}-shm"), Path(f"{path}-journal")) if p.exists())


def one_sentence(text: str) -> str:
    line = text.strip()
    assert line and "\n" not in line and line.endswith("."), text
    assert "Traceback" not in text
    return line


def make_board(path: Path, deals_count: int = 40, notes: int = 3000) -> None:
    """A real board, closed cleanly (no -wal or -shm files left)."""
    db = open_database(path)
    pipelines.create_pipeline(db, "Sales", STAGES)
    for i in range(deals_count):
        deals.create_deal(db, "Sales", f"Deal {i}", user="setup", stage="Lead", notes="n" * notes,
                          company=f"Company {i}")
    db.close()
    assert side_files(path) == []


# -- files that are not tuikanban databases ----------------------------------------------------------


@pytest.mark.parametrize("kind", ["text", "binary", "other-sqlite"])
def test_a_file_that_is_not_a_tuikanban_database(cli: Any, tmp_path: Path, kind: str) -> None:
    path = tmp_path / "notes.db"
    if kind == "text":
        path.write_text("title,value\nAcme,100\n")
    elif kind == "binary":
        path.write_bytes(bytes(range(256)) * 64)
    else:
        con = sqlite3.connect(path)
        con.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total INTEGER)")
        con.execute("INSERT INTO invoices (total) VALUES (12)")
        con.commit()
        con.close()
    before = digest(path)
    for args in (["deal", "list"], ["deal", "add", "Acme"], ["pipeline", "create", "X", "--stages", "A"]):
        r = cli("--db", str(path), *args)
        assert r.code == 1
        message = one_sentence(r.err)
        assert str(path) in message and "not a tuikanban" in message and "left untouched" in message
    assert digest(path) == before
    assert side_files(path) == []


def test_a_folder_given_as_the_database(cli: Any, tmp_path: Path) -> None:
    r = cli("--db", str(tmp_path), "deal", "list")
    assert r.code == 1
    message = one_sentence(r.err)
    assert str(tmp_path) in message and "is a folder, not a database file" in message


# -- damaged databases -------------------------------------------------------------------------------


def _corrupt(path: Path, how: str) -> None:
    con = sqlite3.connect(path)
    page_size = con.execute("PRAGMA page_size").fetchone()[0]
    pages = con.execute("PRAGMA page_count").fetchone()[0]
    deal_root = con.execute("SELECT rootpage FROM sqlite_master WHERE name='deal'").fetchone()[0]
    con.close()
    garbage = bytes((i * 37 + 11) % 256 for i in range(page_size))
    with path.open("r+b") as fh:
        if how == "schema page":
            fh.seek(100)
            fh.write(garbage[100:])
        elif how == "deal table root":
            fh.seek((deal_root - 1) * page_size)
            fh.write(garbage)
        elif how == "data pages":  # the last third of the file: leaves and overflow pages of the deals
            for page in range(pages - pages // 3, pages + 1):
                fh.seek((page - 1) * page_size)
                fh.write(garbage)
        elif how == "truncated":
            fh.truncate(pages * page_size // 2)


@pytest.mark.parametrize("how", ["schema page", "deal table root", "data pages", "truncated"])
def test_a_damaged_database_is_refused_and_left_alone(cli: Any, db_path: Path, how: str) -> None:
    make_board(db_path)
    _corrupt(db_path, how)
    before = digest(db_path)
    expected = (f"The database {db_path} is damaged; it was left untouched (restore a backup, or run "
                "'tuikanban doctor').")
    for args in (["deal", "list"], ["deal", "add", "Acme"], ["deal", "move", "1", "Qualified"]):
        r = cli(*args)
        assert r.code == 1
        assert one_sentence(r.err) == expected
    doctor = cli("doctor")
    assert doctor.code == 1
    assert "damaged" in doctor.out
    assert digest(db_path) == before


# -- read-only file and folder -----------------------------------------------------------------------


@pytest.fixture
def make_readonly() -> Iterator[Any]:
    """Make a path read-only for this process: chmod as a normal user; as root (where chmod does not stop
    writes) the file system's immutable flag (chattr +i), which stops root too. Undone after the test."""
    undo: list[Any] = []

    def protect(path: Path) -> None:
        if os.geteuid() != 0:
            old = path.stat().st_mode
            path.chmod(0o555 if path.is_dir() else 0o444)
            undo.append(lambda: path.chmod(old))
            return
        if shutil.which("chattr") is None:
            pytest.skip("running as root without chattr: cannot make a file read-only for root")
        r = subprocess.run(["chattr", "+i", str(path)], capture_output=True, text=True)
        if r.returncode != 0:
            pytest.skip(f"running as root and this file system has no immutable flag: {r.stderr.strip()}")
        undo.append(lambda: subprocess.run(["chattr", "-i", str(path)], check=True))
        assert not os.access(path, os.W_OK)

    yield protect
    for fn in reversed(undo):
        fn()


@pytest.mark.parametrize("what", ["file", "folder", "both"])
def test_read_only_database_can_be_read_but_not_changed(cli: Any, tmp_path: Path, make_readonly: Any,
                                                        what: str) -> None:
    folder = tmp_path / "shared"
    folder.mkdir()
    path = folder / "board.db"
    make_board(path, deals_count=3, notes=10)
    before = digest(path)
    if what in ("file", "both"):
        make_readonly(path)
    if what in ("folder", "both"):
        make_readonly(folder)
    listed = cli("--db", str(path), "deal", "list")
    assert listed.code == 0, listed.err
    assert "Deal 2" in listed.out
    expected = (f"The database {path} is open read-only (you cannot write to the file or its folder), so "
                "nothing can be changed.")
    for args in (["deal", "add", "Acme"], ["deal", "move", "1", "Qualified"], ["stage", "set", "Lead",
                                                                                  "--wip-max", "2"]):
        r = cli("--db", str(path), *args)
        assert r.code == 1
        assert one_sentence(r.err) == expected
    assert digest(path) == before


async def test_board_on_a_read_only_folder_reads_again_without_an_error(tmp_path: Path, make_readonly: Any) -> None:
    """The board's background reads of a board in a folder the rep cannot write (no -shm there) read the file as
    it is, as the first read does: before, every read after the first failed with SQLite's 'unable to open
    database file' as "Something went wrong"."""
    from board_helpers import press, settle
    from tuikanban.ui.app import TuikanbanApp

    folder = tmp_path / "shared"
    folder.mkdir()
    path = folder / "board.db"
    make_board(path, deals_count=3, notes=10)
    make_readonly(folder)
    ro = open_database(path, readonly=True)
    try:
        app = TuikanbanApp(ro, "carol")
        said: list[str] = []
        original = app.notify

        def notify(message: str, **kw: Any) -> None:
            said.append(message)
            original(message, **kw)

        app.notify = notify  # type: ignore[method-assign]
        async with app.run_test(size=(120, 30)) as pilot:
            await settle(pilot)
            await press(pilot, "r")  # read the board again
            await settle(pilot)
            assert "read-only" in str(app.board_screen.header.render())
            assert not [m for m in said if "went wrong" in m], said
    finally:
        ro.close()
    assert side_files(path) == []


def test_changes_on_a_read_only_database_show_the_changes_without_the_review_mark(
        cli: Any, tmp_path: Path, make_readonly: Any) -> None:
    """`changes` reads; on a board the rep can only read it lists the changes (table and JSON) and says the review
    was not recorded, instead of refusing the whole command because the mark cannot be written."""
    folder = tmp_path / "shared"
    folder.mkdir()
    path = folder / "board.db"
    make_board(path, deals_count=3, notes=10)
    before = digest(path)
    make_readonly(path)
    make_readonly(folder)
    for extra in ([], ["--json"]):
        r = cli("--db", str(path), "changes", "--since", "7d", *extra)
        assert r.code == 0, r.err
        assert "Deal 2" in r.out
        assert one_sentence(r.err) == "This was not recorded as your last review: the database is open read-only."
    r = cli("--db", str(path), "changes", "--since", "7d", "--no-mark")
    assert (r.code, r.err) == (0, "")
    assert digest(path) == before


# -- a lock held by another process beyond the timeout -----------------------------------------------


HOLDER = textwrap.dedent("""
    import sqlite3, sys, time
    con = sqlite3.connect(sys.argv[1], isolation_level=None)
    con.execute("BEGIN IMMEDIATE")
    con.execute("UPDATE deal SET title = 'half-done' WHERE id = 1")
    print("locked", flush=True)
    sys.stdin.readline()
    con.execute("ROLLBACK")
""")


@pytest.mark.slow
def test_a_lock_held_beyond_the_timeout(cli: Any, db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_board(db_path, deals_count=2, notes=10)
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(db_path)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        monkeypatch.setenv("TUIKANBAN_LOCK_TIMEOUT", "1")
        listed = cli("deal", "list")  # WAL: readers never wait for the writer
        assert listed.code == 0 and "Deal 1" in listed.out and "half-done" not in listed.out
        added = cli("deal", "add", "Acme")
        assert added.code == 1
        assert one_sentence(added.err) == (
            f"The database {db_path} stayed locked by another process for over 1 second; nothing was changed, "
            "try again.")
    finally:
        holder.communicate("\n", timeout=30)
    con = sqlite3.connect(db_path)
    assert con.execute("SELECT count(*) FROM deal").fetchone() == (2,)  # nothing half-done
    assert con.execute("SELECT count(*) FROM event WHERE kind='create'").fetchone() == (2,)
    con.close()
    assert cli("deal", "add", "Acme").code == 0  # and it works once the lock is gone


@pytest.mark.slow
def test_a_short_lock_is_waited_for(cli: Any, db_path: Path, tmp_path: Path) -> None:
    """A lock shorter than the timeout: the write waits (retrying with backoff) and then succeeds."""
    make_board(db_path, deals_count=1, notes=10)
    released = tmp_path / "released"
    holder = subprocess.Popen([sys.executable, "-c", SHORT_HOLDER, str(db_path), str(released)],
                              stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
    assert not released.exists()  # the write below starts while the lock is held
    added = cli("deal", "add", "Acme")
    holder.wait(timeout=30)
    assert released.exists()
    assert added.code == 0, added.err
    assert added.err == ""


SHORT_HOLDER = textwrap.dedent("""
    import pathlib, sqlite3, sys, time
    con = sqlite3.connect(sys.argv[1], isolation_level=None)
    con.execute("BEGIN IMMEDIATE")
    print("locked", flush=True)
    time.sleep(2.0)
    con.execute("ROLLBACK")
    pathlib.Path(sys.argv[2]).write_text("released")
""")


# -- a database written by a newer tuikanban ---------------------------------------------------------


def test_a_database_from_a_newer_version(cli: Any, db_path: Path) -> None:
    make_board(db_path, deals_count=1, notes=10)
    con = sqlite3.connect(db_path)
    con.execute("UPDATE tk_meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION + 1),))
    con.commit()
    con.close()
    assert side_files(db_path) == []
    before = digest(db_path)
    expected = (f"The database {db_path} was written by a newer tuikanban (schema {SCHEMA_VERSION + 1}, this one "
                f"knows {SCHEMA_VERSION}); upgrade tuikanban to open it. It was left untouched.")
    for args in (["deal", "list"], ["deal", "add", "Acme"]):
        r = cli(*args)
        assert r.code == 1
        assert r.err.strip() == expected
    assert digest(db_path) == before
    assert side_files(db_path) == []


# -- a full disk -------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["fast", "orm"])
def test_a_full_database_is_refused_with_a_sentence(cli: Any, db_path: Path, path: str,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """SQLite's own size cap (PRAGMA max_page_count) on every connection: the file may not grow any more. The same
    sentence whether `deal add` writes through the ORM or on its own connection (store.uow)."""
    make_board(db_path, deals_count=2, notes=10)
    before = digest(db_path)

    def cap(dbapi_conn: Any, _record: Any = None) -> None:
        pages = dbapi_conn.execute("PRAGMA page_count").fetchone()[0]
        dbapi_conn.execute(f"PRAGMA max_page_count = {pages}")

    if path == "orm":
        monkeypatch.setattr(State, "writer", lambda _self: None)
    connect = sqlite3.connect

    def capped(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        con = connect(*args, **kwargs)
        cap(con)
        return con

    monkeypatch.setattr(uow.sqlite3, "connect", capped)  # the fast path's own connection
    event.listen(Pool, "connect", cap)
    try:
        r = cli("deal", "add", "Acme", "--notes", "n" * 19_000)
        listed = cli("deal", "list")
    finally:
        event.remove(Pool, "connect", cap)
    assert r.code == 1
    assert one_sentence(r.err) == (f"The disk holding {db_path} is full; nothing was changed, free some space "
                                   "and try again.")
    assert listed.code == 0 and "Acme" not in listed.out
    assert digest(db_path) == before
    assert tk_checks.integrity(db_path) == ["ok"]


FULL_DISK = textwrap.dedent("""
    import hashlib, json, os, shutil, subprocess, sys, tempfile
    src, exe = sys.argv[1], sys.argv[2]
    mnt = tempfile.mkdtemp()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", mnt], check=True)
    db = os.path.join(mnt, "board.db")
    shutil.copy(src, db)
    fd = os.open(os.path.join(mnt, "filler"), os.O_WRONLY | os.O_CREAT)
    for size in (65536, 4096, 512, 1):
        try:
            while True:
                os.write(fd, b"x" * size)
        except OSError:
            pass
    os.close(fd)
    digest = lambda: hashlib.sha256(open(db, "rb").read()).hexdigest()
    before = digest()
    run = lambda *a: subprocess.run([exe, "--db", db, *a], capture_output=True, text=True)
    full = run("deal", "add", "Acme")
    after = digest()
    os.remove(os.path.join(mnt, "filler"))
    again = run("deal", "add", "Acme")
    print(json.dumps({"db": db, "same": before == after, "code": full.returncode, "err": full.stderr,
                      "again": again.returncode, "again_err": again.stderr}))
""")


def test_a_really_full_disk(db_path: Path) -> None:
    """A 1 MB tmpfs filled to the last byte, mounted in a private mount namespace (needs root or user
    namespaces; skipped where neither is available)."""
    unshare = shutil.which("unshare")
    if unshare is None:
        pytest.skip("no unshare command to mount a tiny file system")
    flags = ["-m"] if os.geteuid() == 0 else ["-r", "-m"]
    probe = subprocess.run([unshare, *flags, "true"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip(f"cannot make a private mount namespace here: {probe.stderr.decode().strip()}")
    make_board(db_path, deals_count=3, notes=10)
    exe = str(Path(sys.executable).parent / "tuikanban")
    r = subprocess.run([unshare, *flags, sys.executable, "-c", FULL_DISK, str(db_path), exe],
                       capture_output=True, text=True, timeout=120)
    if r.returncode != 0 and "mount" in r.stderr:
        pytest.skip(f"cannot mount a tmpfs here: {r.stderr.strip()[-300:]}")
    assert r.returncode == 0, r.stderr[-2000:]
    import json

    result = json.loads(r.stdout)
    assert result["code"] == 1
    assert one_sentence(result["err"]) == (f"The disk holding {result['db']} is full; nothing was changed, free "
                                           "some space and try again.")
    assert result["same"] is True
    assert result["again"] == 0, result["again_err"]


# -- SIGKILL in the middle of a burst of writes ------------------------------------------------------


@pytest.mark.slow
def test_sigkill_in_the_middle_of_writes_loses_nothing_committed(db_path: Path) -> None:
    db = open_database(db_path)
    pipelines.create_pipeline(db, "Sales", STAGES)
    pipelines.set_stage(db, "Sales", "Proposal", wip_max=4)
    for i in range(8):
        deals.create_deal(db, "Sales", f"Seed {i}", user="setup", stage="Lead")
    db.close()
    env = {k: v for k, v in os.environ.items() if k != "TUIKANBAN_NOW"}
    for round_ in range(2):
        procs = [subprocess.Popen([sys.executable, str(FIXTURES / "burst_worker.py"), str(db_path), f"rep{i}",
                                   str(round_ * 10 + i)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
                 for i in range(2)]
        for p in procs:  # wait until both are in full swing
            assert p.stdout is not None
            while True:
                line = p.stdout.readline()
                if not line:
                    _o, err = p.communicate()
                    pytest.fail(f"a burst worker stopped: {err.decode(errors='replace')[-2000:]}")
                if int(line) >= 15 + round_ * 5:
                    break
        for p in procs:
            p.send_signal(signal.SIGKILL)
        for p in procs:
            p.communicate(timeout=30)
            assert p.returncode == -signal.SIGKILL
    assert Path(f"{db_path}-wal").exists()  # killed without a clean close
    assert tk_checks.integrity(db_path) == ["ok"]
    replay, problems = tk_checks.check_database(db_path)
    assert problems == []
    stage = dict(sqlite3.connect(db_path).execute("SELECT name, id FROM stage"))
    assert replay.peak.get(stage["Proposal"], 0) <= 4
    db = open_database(db_path)  # and it opens and works as before
    try:
        assert deals.create_deal(db, "Sales", "After", user="tester").title == "After"
    finally:
        db.close()
