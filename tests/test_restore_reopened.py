"""`restore` while boards use the write-ahead log of a file whose header still says "rollback journal" (a backup
copied over the board, then the boards reopened it with r): the restore joins the log they use instead of waiting
for the lock timeout to switch the file to WAL mode (see docs/RULES.md, "Replaced files and the write-ahead log").
Real processes: a holder with a connection open, and the command line."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tuikanban.services import deals as ds
from tuikanban.services import pipelines as ps
from tuikanban.store.engine import backup_file, integrity_report, open_database

pytestmark = pytest.mark.sqlite_only  # restore into a file whose header still says rollback journal (WAL)

# A board reopened (r) on a backup copied over its file, while a log with content lay beside it (another board's,
# here one with no valid frame): SQLite opens the file in WAL mode because that log exists, without writing the
# header, which keeps saying "rollback journal"; the board writes, and folds and empties the log.
HOLDER = """
import sys
from tuikanban.services.deals import create_deal
from tuikanban.store.engine import open_database

with open(sys.argv[1] + "-wal", "wb") as log:
    log.write(bytes(32))
db = open_database(sys.argv[1])
create_deal(db, "Sales", "Written by a reopened board", user="alice")
print("ready", flush=True)
sys.stdin.readline()
db.close()
"""


def _titles(path: Path) -> list[str]:
    db = open_database(path, create=False)
    try:
        return sorted(d.title for d in ds.list_deals(db, None))
    finally:
        db.close()


def test_restore_joins_the_log_boards_use_on_a_file_whose_header_says_rollback(tmp_path: Path) -> None:
    board = tmp_path / "board.db"
    db = open_database(board)
    try:
        ps.create_pipeline(db, "Sales", ["Lead", "Won"])
        ds.create_deal(db, "Sales", "Acme pilot", user="dana")
    finally:
        db.close()
    backup_file(board, tmp_path / "monday.db")
    db = open_database(board)
    try:
        ds.create_deal(db, "Sales", "Initech renewal", user="dana")
    finally:
        db.close()
    backup_file(board, tmp_path / "tuesday.db")
    shutil.copyfile(tmp_path / "monday.db", board)  # the header now says rollback journal
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(board)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        env = {**os.environ, "TUIKANBAN_USER": "carol", "TUIKANBAN_LOCK_TIMEOUT": "3"}
        env.pop("TUIKANBAN_DB", None)
        out = subprocess.run([sys.executable, "-m", "tuikanban", "--db", str(board), "restore",
                              str(tmp_path / "tuesday.db")], capture_output=True, text=True, timeout=60, env=env)
        assert out.returncode == 0, out.stderr
        assert "stayed locked" not in out.stderr
        assert board.read_bytes()[18:20] == b"\x02\x02"  # the file is in WAL mode on disk
    finally:
        assert holder.stdin is not None
        holder.stdin.write("\n")
        holder.stdin.flush()
        holder.wait(timeout=30)
    assert _titles(board) == ["Acme pilot", "Initech renewal"]
    assert integrity_report(board) == ["ok"]
