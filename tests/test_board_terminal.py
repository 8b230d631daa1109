"""A board whose terminal goes away ends within a few seconds, without spinning, and leaves its presence seat.

Real board processes on pseudo-terminals (`pty_board.PtyBoard`); the pty is closed under the running board. Marked
slow: they time processes and measure CPU."""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path

import pytest

from pty_board import PtyBoard
from tuikanban.services import pipelines as ps
from tuikanban.store.engine import open_database

pytestmark = [pytest.mark.slow, pytest.mark.sqlite_only]  # (sqlite_only: a real board process on a file of its own)
EXIT_SECONDS = 5.0


def _board_file(tmp_path: Path) -> Path:
    path = tmp_path / "board.db"
    db = open_database(path)
    ps.create_pipeline(db, "Sales", ["Lead", "Won over"])
    db.close()
    return path


def _seats(path: Path) -> list[str]:
    """Presence rows as stored (not `presence.who`, which also hides rows of processes that are gone)."""
    con = sqlite3.connect(path)
    try:
        return [u for (u,) in con.execute("select user from presence")]
    finally:
        con.close()


@pytest.mark.parametrize("controlling", [True, False], ids=["controlling-tty", "other-tty"])
def test_a_board_whose_terminal_closes_exits_without_spinning(tmp_path: Path, controlling: bool) -> None:
    path = _board_file(tmp_path)
    board = PtyBoard(path, user="dana", controlling=controlling)
    try:
        assert board.wait_for(lambda s: "Lead" in s and "Won over" in s, 30), board.text()
        end = time.monotonic() + 30
        while _seats(path) != ["dana"] and time.monotonic() < end:  # the seat is taken after the first paint
            board.pump(0.1)
        assert _seats(path) == ["dana"]
        board.pump(0.5)
        cpu_before = board.cpu_seconds()
        closed_at = time.monotonic()
        board.hang_up()
        _pid, status, usage = os.wait4(board.proc.pid, 0) if _waits(board, EXIT_SECONDS) else (0, -1, None)
        took = time.monotonic() - closed_at
        assert usage is not None, f"the board still runs {EXIT_SECONDS} s after its terminal closed"
        board.proc.returncode = os.waitstatus_to_exitcode(status)
        # it left its seat on the way out (a board killed without leaving would keep its row)
        assert _seats(path) == []
        # and did not spin while it went: at most half a core over the time it took, plus one second of CPU for
        # the way out itself (giving up its seat, closing the database, the interpreter's teardown)
        burnt = usage.ru_utime + usage.ru_stime - cpu_before
        assert burnt < 0.5 * took + 1.0, (burnt, took)
    finally:
        board.close()


def _waits(board: PtyBoard, seconds: float) -> bool:
    """Whether the board's process ends (becomes a zombie, not yet reaped) within `seconds`."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        state = Path(f"/proc/{board.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        if state == "Z":
            return True
        time.sleep(0.05)
    return False
