"""`demo --fresh` refuses while a board has the demo open (naming who), and the files made from a private board
(exports, backups) are private too, from the moment they exist."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import pytest

from tuikanban.services.demo import build_demo
from tuikanban.services.presence import join, leave
from tuikanban.store.engine import open_database

pytestmark = pytest.mark.sqlite_only  # file modes of exports and backups of a private board file


def test_demo_fresh_refuses_while_a_board_has_it_open(tmp_path: Path, fixed_now: str, cli: Any) -> None:
    path = tmp_path / "demo.db"
    build_demo(path, seed=5)
    before = path.stat().st_ino
    db = open_database(path)
    seat = join(db, "alice")  # a board open on the demo
    r = cli("demo", "--db", str(path), "--no-open", "--fresh")
    assert (r.code, r.err.strip()) == (
        1, f"The demo database {path} is open in a board (alice); close it there, then run 'tuikanban demo "
           "--fresh' again.")
    assert path.stat().st_ino == before  # not removed under the board
    leave(seat)
    db.close()
    again = cli("demo", "--db", str(path), "--no-open", "--fresh")
    assert again.code == 0, again.err
    assert "Demo database written to" in again.out


@pytest.fixture
def umask_022() -> Any:
    old = os.umask(0o022)
    yield
    os.umask(old)


def _board(cli: Any, tmp_path: Path, mode: int) -> list[str]:
    db = tmp_path / "board.db"
    args = ["--db", str(db)]
    assert cli(*args, "pipeline", "create", "Sales", "--stages", "Lead,Won").code == 0
    assert cli(*args, "deal", "add", "Acme").code == 0
    db.chmod(mode)
    return args


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_an_export_of_a_private_board_is_private(cli: Any, tmp_path: Path, umask_022: Any, fmt: str) -> None:
    args = _board(cli, tmp_path, 0o600)
    out = tmp_path / f"deals.{fmt}"
    r = cli(*args, "export", "-o", str(out))
    assert r.code == 0, r.err
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert "Acme" in out.read_text(encoding="utf-8")
    replaced = cli(*args, "export", "-o", str(out), "--force")  # replacing keeps it private
    assert replaced.code == 0 and stat.S_IMODE(out.stat().st_mode) == 0o600


def test_an_export_of_a_readable_board_follows_the_umask(cli: Any, tmp_path: Path, umask_022: Any) -> None:
    args = _board(cli, tmp_path, 0o644)
    out = tmp_path / "deals.csv"
    assert cli(*args, "export", "-o", str(out)).code == 0
    assert stat.S_IMODE(out.stat().st_mode) == 0o644  # 0666 less the umask 022


def test_a_backup_of_a_private_board_is_private(cli: Any, tmp_path: Path, umask_022: Any) -> None:
    args = _board(cli, tmp_path, 0o600)
    target = tmp_path / "copy.db"
    r = cli(*args, "backup", str(target))
    assert r.code == 0, r.err
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
