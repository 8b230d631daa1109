"""`mv other.db board.db` and `cp backup.db board.db` under an open board: nothing is lost silently and nothing is
damaged. SQLite finds a database's write-ahead log by name (`board.db-wal`, `-shm`), so the log of the file that
was there before must never be read into the new one (see docs/RULES.md, "Shared boards"). Real processes: a
holder process or a board, and the command line."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from board_helpers import press, settle, wait_until
from tuikanban.domain.errors import ReadOnlyError
from tuikanban.services import deals as ds
from tuikanban.services import pipelines as ps
from tuikanban.store.engine import backup_file, integrity_report, open_database
from tuikanban.ui.app import TuikanbanApp
from tuikanban.ui.board import file_watch

pytestmark = pytest.mark.sqlite_only  # a file moved or copied over the open board, and its write-ahead log

SIZE = (160, 45)

HOLDER = """
import sys
from tuikanban.store.engine import open_database
from tuikanban.services.deals import create_deal

db = open_database(sys.argv[1])
create_deal(db, "Sales", "Written by the holder", user="alice")
print("ready", flush=True)
sys.stdin.readline()
db.close()
"""


def make_board(path: Path, pipeline: str, titles: list[str]) -> None:
    db = open_database(path)
    try:
        p = ps.create_pipeline(db, pipeline, ["Start", "End"])
        for title in titles:
            ds.create_deal(db, p.id, title, user="dana")
    finally:
        db.close()


def run_cli(path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TUIKANBAN_USER": "carol"}
    env.pop("TUIKANBAN_DB", None)
    return subprocess.run([sys.executable, "-m", "tuikanban", "--db", str(path), *args], capture_output=True,
                          text=True, timeout=60, env=env)


def titles_by_cli(path: Path) -> list[str]:
    out = run_cli(path, "deal", "list", "--json")
    assert out.returncode == 0, out.stderr
    return sorted(d["title"] for d in json.loads(out.stdout)["deals"])


def test_the_command_line_refuses_the_log_of_the_file_moved_away(tmp_path: Path) -> None:
    board, other = tmp_path / "board.db", tmp_path / "other.db"
    make_board(board, "Sales", ["Acme"])
    make_board(other, "Other", ["Stark upgrade"])
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(board)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        os.replace(other, board)  # mv other.db board.db while the holder has the old file open
        sentence = (
            f"The write-ahead log beside {board} belongs to the file that was there before (process {holder.pid} "
            "still has that file open, a board perhaps); opening board.db now would read that file's changes into "
            "it, so it was left untouched: close that board (or press r in it), then try again.")
        # a read, and the two writes that skip the ORM (deal add, deal move), are each refused with the sentence
        for args in (("deal", "list"), ("deal", "add", "Typed meanwhile"), ("deal", "move", "1", "End")):
            refused = run_cli(board, *args)
            assert refused.returncode == 1 and "Traceback" not in refused.stderr, args
            assert refused.stderr.strip() == sentence, args
    finally:
        assert holder.stdin is not None
        holder.stdin.write("\n")
        holder.stdin.flush()
        holder.wait(timeout=30)
    # the holder closed: its log was empty (folded in after its write), so the new file is read as it is
    assert titles_by_cli(board) == ["Stark upgrade"]
    assert integrity_report(board) == ["ok"]


def test_another_users_process_is_judged_by_its_lock_when_its_open_files_cannot_be_listed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tuikanban.store import walowner

    monkeypatch.setattr(walowner, "_has_open", lambda pid, device, inode: None)  # /proc/PID/fd not readable
    board, other = tmp_path / "board.db", tmp_path / "other.db"
    make_board(board, "Sales", ["Acme"])
    make_board(other, "Other", ["Stark upgrade"])
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(board)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        assert walowner.foreign_log(board) is None  # it holds its lock on this very file
        os.replace(other, board)
        refused = walowner.foreign_log(board)
        assert refused is not None and f"process {holder.pid} still has that file open" in refused
    finally:
        assert holder.stdin is not None
        holder.stdin.write("\n")
        holder.stdin.flush()
        holder.wait(timeout=30)
    assert walowner.foreign_log(board) is None


def test_a_write_through_a_file_moved_over_it_is_refused_and_writes_nothing(tmp_path: Path) -> None:
    board = tmp_path / "board.db"
    make_board(board, "Sales", ["Acme"])
    make_board(tmp_path / "other.db", "Other", ["Stark upgrade"])
    db = open_database(board)
    try:
        ds.create_deal(db, None, "Before", user="alice")
        os.replace(tmp_path / "other.db", board)
        replaced = board.read_bytes()
        with pytest.raises(ReadOnlyError, match="was replaced by another file; nothing was written to either"):
            ds.create_deal(db, None, "After the change", user="alice")
        assert board.read_bytes() == replaced  # refused before anything was written
    finally:
        db.close()
    assert integrity_report(board) == ["ok"]
    assert titles_by_cli(board) == ["Stark upgrade"]


def test_opening_the_file_again_in_a_process_keeps_the_locks_its_open_connections_hold(tmp_path: Path) -> None:
    """POSIX locks are per process: reading the header by opening and closing the file would release the locks
    SQLite holds through its own descriptor. Then the process looks absent to others, and the next command to close
    folds and deletes the write-ahead log from under it (its later commits go into a deleted log). The check for a
    foreign log looks at open files, so it does not mistake such a process for one on another file either."""
    board = tmp_path / "board.db"
    make_board(board, "Sales", ["Acme"])
    first = open_database(board)
    try:
        ds.create_deal(first, None, "Beta", user="alice")  # `first` has connections open now
        second = open_database(board)  # reads the header while `first` has the file open
        second.close()
        added = run_cli(board, "deal", "add", "Gamma")  # another process writes and closes
        assert added.returncode == 0, added.stderr
        assert Path(f"{board}-shm").exists() and Path(f"{board}-wal").exists()  # still `first`'s: not taken away
        ds.create_deal(first, None, "Delta", user="alice")
        assert titles_by_cli(board) == ["Acme", "Beta", "Delta", "Gamma"]
    finally:
        first.close()
    assert integrity_report(board) == ["ok"]


@pytest.mark.parametrize("how", ["mv", "cp"])
async def test_a_board_lets_go_of_its_replaced_file_and_nothing_is_damaged(
    how: str, tmp_path: Path, fixed_now: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(file_watch, "WATCH_SECONDS", 0.1)
    board = tmp_path / "board.db"
    make_board(board, "Sales", ["Acme", "Initech"])
    replacement = tmp_path / "new.db"
    if how == "cp":
        backup_file(board, replacement)  # this morning's backup: Acme and Initech
    else:
        make_board(replacement, "Other", ["Stark upgrade"])
    expected = titles_by_cli(replacement)
    app = TuikanbanApp(db_path=board, user="alice")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "L")  # a write: the board's log had the old file's pages in it
        await settle(pilot)
        assert [d.stage_name for d in ds.list_deals(app.board_screen.session.db, None)].count("End") == 1  # type: ignore[arg-type]
        if how == "cp":
            shutil.copyfile(replacement, board)
        else:
            os.replace(replacement, board)
        screen = app.board_screen
        await wait_until(pilot, lambda: screen.files.gone is not None)
        await settle(pilot)
        assert screen.session.readonly
        # the board let go of the old file at once: the command line opens the new one, whose content is intact
        assert titles_by_cli(board) == expected
        assert integrity_report(board) == ["ok"]
        await press(pilot, "r")  # reopen the file at that path
        await wait_until(pilot, lambda: screen.model is not None and not screen.session.readonly)
        await settle(pilot)
        assert screen.model is not None
        assert sorted(c.title for c in screen.model.by_id.values()) == expected
    assert integrity_report(board) == ["ok"]
    assert titles_by_cli(board) == expected


def test_an_untouched_file_is_not_opened_again_at_each_tick(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The watch's tick (every WATCH_SECONDS on each open board) looks into the file (two connections, a few reads)
    only when a `stat` of the file or its log changed: a write, a copy over it, a move."""
    path, other_path = tmp_path / "board.db", tmp_path / "other.db"
    db = open_database(path)
    ps.create_pipeline(db, "Sales", ["Lead", "Won"])
    other = open_database(other_path)
    ps.create_pipeline(other, "Other", ["Lead", "Won"])
    ds.create_deal(other, "Other", "Elsewhere", user="rep", at="2020-01-01T00:00:00Z")
    other.close()
    seen = file_watch.check_job(path, None).seen
    looks: list[Path] = []
    real_look = file_watch.look
    monkeypatch.setattr(file_watch, "look", lambda p: (looks.append(p), real_look(p))[1])
    try:
        for _ in range(3):
            checked = file_watch.check_job(path, seen)
            assert (checked.gone, checked.restored) == (None, None)
            seen = checked.seen
        assert looks == []
        ds.create_deal(db, "Sales", "Acme", user="rep")
        checked = file_watch.check_job(path, seen)
        assert looks == [path] and (checked.gone, checked.restored) == (None, None)
        seen = checked.seen
        assert file_watch.check_job(path, seen).gone is None and looks == [path]
        shutil.copyfile(other_path, path)  # another board's file copied over this one (the same inode)
        checked = file_watch.check_job(path, seen)
        assert looks == [path, path]
        assert checked.gone is not None and "overwritten by another board's file" in checked.gone
    finally:
        db.close()


@pytest.mark.sqlite_only  # the file's write-ahead log
def test_a_fold_waits_out_a_reader_a_moment_in_the_log(tmp_path: Path) -> None:
    """A change feed reads right as the write it woke on is folded: the fold tries again for a moment instead of
    leaving the log beside the file until the next write (a file moved over the board would read it in)."""
    import sqlite3
    import threading

    from tuikanban.store.walowner import fold_log

    path = tmp_path / "log.db"
    writer = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    writer.execute("PRAGMA journal_mode=WAL")
    writer.execute("CREATE TABLE t (x)")
    writer.execute("INSERT INTO t VALUES (1)")
    reader = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    reader.execute("BEGIN")
    assert reader.execute("SELECT count(*) FROM t").fetchone() == (1,)  # a snapshot in the log
    done = threading.Timer(0.03, lambda: reader.execute("COMMIT"))
    done.start()
    writer.execute("PRAGMA busy_timeout=0")
    try:
        assert fold_log(writer) is True
        assert Path(f"{path}-wal").stat().st_size == 0  # emptied
    finally:
        done.join()
        reader.close()
        writer.close()


def app_with_notices(board: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[TuikanbanApp, list[str]]:
    """A board app on `board` as alice, and the list its notifications are copied into."""
    app = TuikanbanApp(db_path=board, user="alice")
    said: list[str] = []
    notify = app.notify
    monkeypatch.setattr(app, "notify", lambda message, **kw: (said.append(message), notify(message, **kw))[1])
    return app, said


async def test_after_r_on_a_replaced_file_the_board_takes_a_seat_in_the_new_one_and_says_nothing_more(
    tmp_path: Path, fixed_now: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The presence link kept the seat in the old file's database, which had let go and refused with 'The board
    file ... was replaced': after r that sentence came back as an error for 6 s, and the board sat nowhere."""
    from tuikanban.services.presence import who
    from tuikanban.store.walowner import foreign_log
    from tuikanban.ui.board.base import BoardBase
    from tuikanban.ui.presence import presence_of

    monkeypatch.setattr(file_watch, "WATCH_SECONDS", 0.1)
    board, other = tmp_path / "board.db", tmp_path / "other.db"
    make_board(board, "Sales", ["Acme"])
    make_board(other, "Other", ["Stark upgrade"])
    beats: list[object] = []
    set_interval = BoardBase.set_interval

    def counting(self: BoardBase, interval: float, callback: Any = None, **kw: Any) -> Any:
        if callback == presence_of(self).heartbeat:
            beats.append(callback)
        return set_interval(self, interval, callback, **kw)

    monkeypatch.setattr(BoardBase, "set_interval", counting)
    app, said = app_with_notices(board, monkeypatch)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        os.replace(other, board)  # mv other.db board.db
        screen = app.board_screen
        await wait_until(pilot, lambda: screen.files.gone is not None)
        await settle(pilot)
        assert said and "was replaced" in said[-1]
        said.clear()
        # (as the rep reading the notification: r once nothing of the board holds the old file any more)
        await wait_until(pilot, lambda: foreign_log(board) is None)
        await press(pilot, "r")
        await wait_until(pilot, lambda: screen.model is not None and not screen.session.readonly)
        await settle(pilot)
        assert said == []
        assert screen.session.db is not None
        assert [h.user for h in who(screen.session.db)] == ["alice"]
        assert len(beats) == 1  # one heartbeat timer, not a second one for the reopened file



async def test_r_pressed_right_after_the_notice_reopens_the_file_at_once(
    tmp_path: Path, fixed_now: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`r` within a moment of "Board file changed": the change feed's thread was still inside its wait on the old
    file (its connection open on the old log), so the reopen was refused. The board lets go of the feed too
    before it reopens. Here the feed's wait is a plain 2-second sleep, and the file is replaced just after one
    began, so r is pressed while the feed's thread is surely inside it."""
    import asyncio
    import threading

    from tuikanban.store.feed import SqliteFeed
    from tuikanban.ui.board import live

    monkeypatch.setattr(file_watch, "WATCH_SECONDS", 0.1)
    monkeypatch.setattr(live, "WAIT_SLICE_S", 2.0)
    began = threading.Event()

    def sleeping_wait(self: SqliteFeed, timeout: float) -> None:
        began.set()
        time.sleep(timeout)

    monkeypatch.setattr(SqliteFeed, "wait", sleeping_wait)
    board, other = tmp_path / "board.db", tmp_path / "other.db"
    make_board(board, "Sales", ["Acme"])
    make_board(other, "Other", ["Stark upgrade"])
    app, said = app_with_notices(board, monkeypatch)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = app.board_screen
        began.clear()
        await asyncio.to_thread(began.wait, 5)  # a wait of the feed has just begun
        os.replace(other, board)  # mv other.db board.db
        await wait_until(pilot, lambda: screen.files.gone is not None)
        assert said and "was replaced" in said[-1]
        said.clear()
        await pilot.press("r")  # at once
        await wait_until(pilot, lambda: screen.model is not None and not screen.session.readonly)
        await settle(pilot)
        assert said == []
        assert screen.model is not None
        assert sorted(c.title for c in screen.model.by_id.values()) == ["Stark upgrade"]
