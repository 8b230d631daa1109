"""`tuikanban restore`: a backup's content put into the live file while other processes have it open."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from tuikanban.services import presence
from tuikanban.services.restore import open_by_sentence
from tuikanban.store.engine import open_database
from tuikanban.store.tables import SCHEMA_VERSION

pytestmark = pytest.mark.sqlite_only  # restoring a backup file into the live file; PostgreSQL: test_postgres_restore.py

# A stand-in for an open board: a process that keeps one connection to the file (as the board's live-update
# watcher does), reads the open deals' titles whenever asked on stdin, and writes one deal when asked.
HOLDER = textwrap.dedent("""
    import sys
    from tuikanban.store.engine import open_database
    from tuikanban.services.deals import create_deal, list_deals
    db = open_database(sys.argv[1])
    print("ready", flush=True)
    for line in sys.stdin:
        if line.startswith("add "):
            create_deal(db, "Sales", line[4:].strip(), user="holder")
        titles = sorted(d.title for d in list_deals(db, "Sales"))
        print("|".join(titles), flush=True)
""")


def _titles(path: Path) -> list[str]:
    con = sqlite3.connect(path)
    try:
        return sorted(r[0] for r in con.execute("SELECT title FROM deal WHERE status = 'open'"))
    finally:
        con.close()


@pytest.fixture
def board(cli: Any, db_path: Path, tmp_path: Path) -> Path:
    assert cli("pipeline", "create", "Sales", "--stages", "Lead,Won it").code == 0
    for title in ("Acme", "Globex"):
        assert cli("deal", "add", title).code == 0
    backup = tmp_path / "backups" / "board-1.db"
    backup.parent.mkdir()
    assert cli("backup", str(backup)).code == 0
    assert cli("deal", "add", "Initech").code == 0  # after the backup: the restore takes it away
    return backup


def _ask(proc: subprocess.Popen[str], line: str) -> str:
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(line + "\n")
    proc.stdin.flush()
    return proc.stdout.readline().strip()


def test_restore_under_two_open_boards(cli: Any, db_path: Path, board: Path) -> None:
    holders = [subprocess.Popen([sys.executable, "-c", HOLDER, str(db_path)], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, text=True) for _ in range(2)]
    try:
        for proc in holders:
            assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
            assert _ask(proc, "read") == "Acme|Globex|Initech"
        result = cli("--user", "alice", "restore", str(board))
        assert result.code == 0, result.err
        saved = next(db_path.parent.glob("board-before-restore-*.db"))
        assert result.out.strip() == (f"Restored {db_path} from {board}. What it held before is kept in {saved}.")
        # both open processes see the restored content on their next read, and can go on writing into it
        assert _ask(holders[0], "read") == "Acme|Globex"
        assert _ask(holders[1], "add Umbrella") == "Acme|Globex|Umbrella"
        assert _ask(holders[0], "read") == "Acme|Globex|Umbrella"
    finally:
        for proc in holders:
            assert proc.stdin is not None
            proc.stdin.close()
            proc.wait(10)
    con = sqlite3.connect(db_path)
    assert con.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    assert con.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    meta = dict(con.execute("SELECT key, value FROM tk_meta").fetchall())
    con.close()
    assert '"by": "alice"' in meta["restored"] and '"from": "board-1.db"' in meta["restored"]
    assert _titles(saved) == ["Acme", "Globex", "Initech"]  # what the restore replaced is kept
    # the kept copy is itself a backup: restoring it brings Initech back (at once: the copy this second restore
    # keeps gets a name of its own, never the file being restored from)
    assert cli("restore", str(saved)).code == 0
    assert _titles(db_path) == ["Acme", "Globex", "Initech"]
    kept = sorted(db_path.parent.glob("board-before-restore-*.db"))
    assert len(kept) == 2 and _titles(saved) == ["Acme", "Globex", "Initech"]


def _damage(path: Path) -> None:
    con = sqlite3.connect(path)
    page_size = con.execute("PRAGMA page_size").fetchone()[0]
    root = con.execute("SELECT rootpage FROM sqlite_master WHERE name='deal'").fetchone()[0]
    con.close()
    with path.open("r+b") as fh:
        fh.seek((root - 1) * page_size)
        fh.write(bytes((i * 37 + 11) % 256 for i in range(page_size)))


@pytest.mark.parametrize("case", ["not sqlite", "not ours", "newer", "damaged", "missing", "empty"])
def test_restore_refuses_a_bad_backup_in_one_sentence(cli: Any, db_path: Path, board: Path, tmp_path: Path,
                                                      case: str) -> None:
    bad = tmp_path / "bad.db"
    if case == "not sqlite":
        bad.write_text("title,value\nAcme,5\n")
        expected = f"The file {bad} is not a tuikanban database (not an SQLite file); it was left untouched."
    elif case == "not ours":
        con = sqlite3.connect(bad)
        con.execute("CREATE TABLE notes (x)")
        con.close()
        expected = f"The file {bad} is an SQLite database but not a tuikanban one; it was left untouched."
    elif case == "newer":
        bad.write_bytes(board.read_bytes())
        con = sqlite3.connect(bad)
        con.execute("UPDATE tk_meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION + 1),))
        con.commit()
        con.close()
        expected = (f"The database {bad} was written by a newer tuikanban (schema {SCHEMA_VERSION + 1}, this one "
                    f"knows {SCHEMA_VERSION}); upgrade tuikanban to open it. It was left untouched.")
    elif case == "damaged":
        bad.write_bytes(board.read_bytes())
        _damage(bad)
        expected = f"The backup {bad} is damaged (it fails SQLite's integrity check); nothing was restored."
    elif case == "missing":
        expected = f"There is no backup file at {bad}."
    else:
        con = sqlite3.connect(bad)
        con.close()
        bad.write_bytes(b"")
        expected = f"The file {bad} is an empty database, not a tuikanban backup; nothing was restored."
    before = db_path.read_bytes()
    result = cli("restore", str(bad))
    assert result.code == 1
    assert result.err.strip() == expected
    assert "Traceback" not in result.err
    assert db_path.read_bytes() == before
    assert list(db_path.parent.glob("board-before-restore-*")) == []


def test_restore_names_who_has_the_board_open(cli: Any, db_path: Path, board: Path) -> None:
    db = open_database(db_path, create=False)
    try:
        seats = [presence.join(db, name) for name in ("alice", "bob", "alice")]  # alice has two boards open
        result = cli("restore", str(board))
        assert result.code == 0, result.err
        assert result.err.strip() == "Warning: alice and bob have the board open; their boards reload."
        for seat in seats:
            presence.leave(seat)
        presence.leave(presence.join(db, "carol"))  # (a board that came and went says nothing)
        result = cli("restore", str(board))
        assert (result.code, result.err.strip()) == (0, "")
    finally:
        db.close()


def test_restore_names_a_single_rep_once() -> None:
    assert open_by_sentence(("bob",)) == "bob has the board open; their board reloads."
    assert open_by_sentence(("a", "b", "c")) == "a, b and c have the board open; their boards reload."
    assert open_by_sentence(()) == ""


def test_an_upgrade_names_who_still_has_the_board_open(cli: Any, db_path: Path, board: Path) -> None:
    db = open_database(db_path, create=False)
    seat = presence.join(db, "bob")  # bob's board, with the older tuikanban
    db.close()
    con = sqlite3.connect(db_path)
    con.execute("UPDATE tk_meta SET value = '4' WHERE key = 'schema_version'")  # as the older program left it
    con.commit()
    con.close()
    result = cli("deal", "list")
    assert result.code == 0, result.err
    assert result.err.strip() == (f"Upgraded {db_path} from schema 4 to {SCHEMA_VERSION}. bob has the board open "
                                  "with an older tuikanban: restart it to keep working.")
    assert cli("deal", "list").err == ""  # said once: the board is upgraded now
    presence.leave(seat)


def test_a_backup_holds_nobodys_seat(cli: Any, db_path: Path, tmp_path: Path) -> None:
    """Presence rows say who has the board open, not its copy: `who` on a backup named the board's reps until
    their rows went stale."""
    assert cli("pipeline", "create", "Sales", "--stages", "Lead,Won it").code == 0
    db = open_database(db_path, create=False)
    try:
        seat = presence.join(db, "alice")  # a board open now (this process: alive)
        backup = tmp_path / "monday.db"
        assert cli("backup", str(backup)).code == 0
        assert [h.user for h in presence.who(db)] == ["alice"]  # the board keeps its seat
        copy = open_database(backup, create=False)
        try:
            assert presence.who(copy) == []
        finally:
            copy.close()
        assert cli("--db", str(backup), "who").out.strip() == "Nobody has the board open."
        presence.leave(seat)
    finally:
        db.close()


def test_a_restore_brings_no_seat_of_the_copys_source(cli: Any, db_path: Path, tmp_path: Path) -> None:
    """A copy made another way (cp, or a backup of an older tuikanban) carries the seats of the board it was
    taken from; restoring it brings none of them into the live board."""
    source = tmp_path / "source.db"
    db = open_database(source, create=True)
    try:
        seat = presence.join(db, "bob")  # bob has the source open (this process: alive)
        copy = tmp_path / "copy.db"
        con, out = sqlite3.connect(source), sqlite3.connect(copy)
        con.backup(out)  # a copy as it is, seat and all
        con.close()
        out.close()
        assert cli("pipeline", "create", "Sales", "--stages", "Lead,Won it").code == 0
        result = cli("restore", str(copy))
        assert result.code == 0, result.err
        live = open_database(db_path, create=False)
        try:
            assert presence.who(live) == []
        finally:
            live.close()
        presence.leave(seat)
    finally:
        db.close()
