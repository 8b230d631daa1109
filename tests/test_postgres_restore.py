"""`tuikanban restore` on PostgreSQL: a pg_dump backup (or an SQLite board) taken back all or nothing, what it
replaced kept beside the backup, one sentence for a file that is not ours or is newer, and open boards told."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from board_helpers import settle
from engines import rows
from test_board import SIZE, record_notifications, sales  # noqa: F401 - sales is a fixture
from test_board_safety import wait_for
from tuikanban.domain.targets import parse_target
from tuikanban.services import deals as ds
from tuikanban.store.engine import Database, open_database
from tuikanban.store.pg import WRITE_LOCK_KEY, dump
from tuikanban.store.tables import SCHEMA_VERSION
from tuikanban.ui.app import TuikanbanApp

pytestmark = pytest.mark.postgres_only


def _execute(target: str, sql: str) -> None:
    """One committed statement (rows() reads, and rolls back)."""
    import psycopg

    from tuikanban.store.pg import conninfo

    with psycopg.connect(conninfo(parse_target(target)), autocommit=True) as conn:
        conn.execute(sql)


def _open_titles(target: str) -> list[str]:
    return sorted(str(r[0]) for r in rows(target, "SELECT title FROM deal WHERE status = 'open'"))


@pytest.fixture
def backed_up(cli: Any, db_target: str, tmp_path: Path) -> Path:
    """A board with Acme and Globex, backed up; Initech added after the backup (the restore takes it away)."""
    assert cli("pipeline", "create", "Sales", "--stages", "Lead,Won it").code == 0
    for title in ("Acme", "Globex"):
        assert cli("deal", "add", title).code == 0
    folder = tmp_path / "backups"
    folder.mkdir()
    assert cli("backup", str(folder / "monday.dump")).code == 0
    assert cli("deal", "add", "Initech").code == 0
    return folder / "monday.dump"


def test_a_pg_dump_backup_round_trips_and_what_it_replaced_is_kept(cli: Any, db_target: str,
                                                                    backed_up: Path) -> None:
    result = cli("--user", "alice", "restore", str(backed_up))
    assert result.code == 0, result.err
    saved = next(backed_up.parent.glob("*-before-restore-*.dump"))
    shown = parse_target(db_target)
    assert result.out.strip() == f"Restored {shown} from {backed_up}. What it held before is kept in {saved}."
    assert _open_titles(db_target) == ["Acme", "Globex"]
    mark = json.loads(rows(db_target, "SELECT value FROM tk_meta WHERE key = 'restored'")[0][0])
    assert (mark["from"], mark["by"]) == ("monday.dump", "alice")
    # ids go on after the restored ones: the next deal gets a new id, not one the backup holds
    ids = {int(r[0]) for r in rows(db_target, "SELECT id FROM deal")}
    added = cli("deal", "add", "Umbrella")
    assert added.code == 0, added.err
    assert rows(db_target, "SELECT id FROM deal WHERE title = 'Umbrella'")[0][0] > max(ids)
    # the kept copy is itself a backup: restoring it brings Initech back (and keeps a copy of its own)
    again = cli("restore", str(saved))
    assert again.code == 0, again.err
    assert _open_titles(db_target) == ["Acme", "Globex", "Initech"]
    assert len(list(backed_up.parent.glob("*-before-restore-*.dump"))) == 2


def test_pg_dump_backups_are_readable_by_their_owner_only(cli: Any, db_target: str, tmp_path: Path) -> None:
    """A dump holds the whole board: under the usual umask (022) it must not be readable by every user of the
    host, neither the backup nor the copy a restore keeps of what it replaced (an SQLite backup of a private
    board is 0600 too)."""
    import os

    old = os.umask(0o022)
    try:
        assert cli("pipeline", "create", "Sales", "--stages", "Lead,Won it").code == 0
        assert cli("deal", "add", "Acme").code == 0
        backup = tmp_path / "monday.dump"
        assert cli("backup", str(backup)).code == 0
        assert cli("restore", str(backup)).code == 0
    finally:
        os.umask(old)
    saved = next(tmp_path.glob("*-before-restore-*.dump"))
    assert {p.name: oct(p.stat().st_mode & 0o777) for p in (backup, saved)} == {
        backup.name: oct(0o600), saved.name: oct(0o600)}


def test_a_file_that_is_not_a_tuikanban_backup_is_one_sentence_and_nothing_changes(
        cli: Any, db_target: str, backed_up: Path, tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("not a backup\n")
    result = cli("restore", str(text))
    assert (result.code, result.out) == (1, "")
    assert result.err.strip() == (f"The file {text} is not a tuikanban backup (neither a PostgreSQL backup made by "
                                  "'tuikanban backup' nor an SQLite board); nothing was restored.")
    fake = tmp_path / "fake.dump"
    fake.write_bytes(b"PGDMP" + bytes(200))
    damaged = cli("restore", str(fake))
    assert damaged.code == 1 and damaged.err.count("\n") == 1 and "nothing was restored" in damaged.err
    assert "Traceback" not in damaged.err
    assert _open_titles(db_target) == ["Acme", "Globex", "Initech"]
    assert not list(backed_up.parent.glob("*-before-restore-*"))


def test_a_backup_from_a_newer_tuikanban_is_refused(cli: Any, db_target: str, backed_up: Path,
                                                    tmp_path: Path) -> None:
    newer = SCHEMA_VERSION + 1
    _execute(db_target, f"UPDATE tk_meta SET value = '{newer}' WHERE key = 'schema_version'")
    try:
        dump(parse_target(db_target), str(tmp_path / "newer.dump"))
    finally:
        _execute(db_target, f"UPDATE tk_meta SET value = '{SCHEMA_VERSION}' WHERE key = 'schema_version'")
    result = cli("restore", str(tmp_path / "newer.dump"))
    assert result.code == 1
    assert result.err.strip() == (f"The backup {tmp_path / 'newer.dump'} was written by a newer tuikanban (schema "
                                  f"{newer}, this one knows {SCHEMA_VERSION}); upgrade tuikanban to restore it. "
                                  "Nothing was restored.")
    assert _open_titles(db_target) == ["Acme", "Globex", "Initech"]


def test_a_restore_waits_for_the_write_lock_and_changes_nothing_when_it_stays_taken(
        cli: Any, db_target: str, backed_up: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import psycopg

    from tuikanban.store.pg import conninfo

    monkeypatch.setenv("TUIKANBAN_LOCK_TIMEOUT", "1")
    with psycopg.connect(conninfo(parse_target(db_target))) as holder:  # another rep mid-write
        holder.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK_KEY,))
        result = cli("restore", str(backed_up))
    assert result.code == 1
    assert result.err.strip() == (f"The database {parse_target(db_target)} stayed locked by another process for "
                                  "over 1 seconds; nothing was restored.")
    assert _open_titles(db_target) == ["Acme", "Globex", "Initech"]
    assert rows(db_target, "SELECT count(*) FROM tk_meta WHERE key = 'restored'") == [(0,)]


def test_a_pg_dump_restore_leaves_the_tables_analyzed(cli: Any, db_target: str, backed_up: Path) -> None:
    """pg_restore brings no statistics: the restore analyzes the tables it filled."""
    from test_postgres import analyzed_tables

    assert analyzed_tables(db_target) == set()
    assert cli("restore", str(backed_up)).code == 0
    assert {"pipeline", "stage", "deal", "event", "stay"} <= analyzed_tables(db_target)


def test_an_sqlite_board_restored_into_postgres_leaves_the_tables_analyzed(cli: Any, db_target: str,
                                                                          tmp_path: Path) -> None:
    from test_postgres import analyzed_tables

    sqlite_board = tmp_path / "laptop.db"
    assert cli("--db", str(sqlite_board), "pipeline", "create", "Field", "--stages", "Call,Visit").code == 0
    assert cli("--db", str(sqlite_board), "deal", "add", "Hooli").code == 0
    assert cli("pipeline", "create", "Sales", "--stages", "Lead,Won").code == 0
    assert analyzed_tables(db_target) == set()
    assert cli("restore", str(sqlite_board)).code == 0
    assert {"pipeline", "stage", "deal", "event", "stay"} <= analyzed_tables(db_target)


def test_an_sqlite_board_restores_into_postgres_and_a_pg_dump_into_sqlite_is_one_sentence(
        cli: Any, db_target: str, backed_up: Path, tmp_path: Path) -> None:
    sqlite_board = tmp_path / "laptop.db"
    assert cli("--db", str(sqlite_board), "pipeline", "create", "Field", "--stages", "Call,Visit").code == 0
    assert cli("--db", str(sqlite_board), "deal", "add", "Hooli", "--value", "1200").code == 0
    before = cli("--db", str(sqlite_board), "deal", "list", "--json").out
    result = cli("restore", str(sqlite_board))
    assert result.code == 0, result.err
    assert cli("deal", "list", "--json").out == before  # the same deals, ids and numbers
    assert rows(db_target, "SELECT name FROM pipeline") == [("Field",)]
    assert cli("deal", "add", "Pied Piper").code == 0  # ids go on after the restored ones
    refused = cli("--db", str(sqlite_board), "restore", str(backed_up))
    assert refused.code == 1
    assert refused.err.strip() == (
        f"{backed_up} is a backup of a PostgreSQL board; restore it into a PostgreSQL database (tuikanban --db "
        "postgresql://... restore), or restore it there and then 'tuikanban copy --to' this file. Nothing was "
        "restored.")


async def test_an_open_board_on_postgres_reloads_and_says_who_restored_it(
        db: Database, db_target: str, sales: dict[str, int], tmp_path: Path) -> None:  # noqa: F811
    from tuikanban.services.restore import restore_target

    dump(parse_target(db_target), str(tmp_path / "monday.dump"))
    backed_up = len(_open_titles(db_target))
    ds.create_deal(db, sales["pipeline"], "Late deal", user="tester")
    app = TuikanbanApp(open_database(db_target), "tester")
    said = record_notifications(app)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.board_screen.model is not None and app.board_screen.model.open_total == backed_up + 1
        await asyncio.to_thread(restore_target, parse_target(db_target), tmp_path / "monday.dump", user="bob")
        sentence = "The board was restored from monday.dump by bob."
        await wait_for(pilot, lambda: any(text == sentence for text, *_ in said))
        await settle(pilot)
        assert app.board_screen.model is not None and app.board_screen.model.open_total == backed_up
        assert not app.board_screen.session.readonly
        await asyncio.sleep(0.3)
        await settle(pilot)
        assert [text for text, *_ in said].count(sentence) == 1  # said once


def test_a_restored_dump_brings_no_seat(cli: Any, db_target: str, tmp_path: Path) -> None:
    """The dump holds the presence rows of the board it was taken from; after a restore nobody's seat is left
    from them (the boards open here take theirs again with their next heartbeat)."""
    from tuikanban.services import presence
    from tuikanban.store.engine import open_database

    assert cli("pipeline", "create", "Sales", "--stages", "Lead,Won it").code == 0
    db = open_database(db_target)
    try:
        seat = presence.join(db, "alice")
        dump = tmp_path / "monday.dump"
        assert cli("backup", str(dump)).code == 0
        result = cli("restore", str(dump))
        assert result.code == 0, result.err
        assert presence.who(db) == []
        presence.heartbeat(seat)  # alice's board beats: its seat is back
        assert [h.user for h in presence.who(db)] == ["alice"]
    finally:
        db.close()
