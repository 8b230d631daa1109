"""Real reps on a shared board (issue 12): a rep who can only read sees current data, and a rep outside the
group (or not yet in it in this login) gets one sentence, never a traceback. Run as root with real users."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from team_helpers import Team, as_user, open_tmp, rep_python, team
from tuikanban.services import deals, pipelines
from tuikanban.store.engine import Database, open_database

pytestmark = pytest.mark.sqlite_only  # real users sharing one file through a Unix group

__all__ = ["open_tmp", "rep_python", "team"]  # fixtures


@pytest.fixture
def board(team: Team, open_tmp: Path, rep_python: Path) -> Iterator[tuple[Team, Path, Path]]:
    """A board shared with the team's group by `tuikanban share`, and a Python the reps can run."""
    python = rep_python
    folder = open_tmp / "srv"
    r = subprocess.run([str(python), "-m", "tuikanban", "share", "--group", team.group, "--dir", str(folder),
                        "--wrapper", str(open_tmp / "tk-team")], capture_output=True, text=True, timeout=120)
    assert (r.returncode, r.stderr) == (0, "")  # no warning: the reps can run this Python
    db = open_database(folder / "board.db")
    pipelines.create_pipeline(db, "Sales", "Lead,Proposal,Won")
    deals.create_deal(db, "Sales", "Checkpointed", user="root", value="100")
    db.close()  # the last connection folds the WAL into the file
    yield team, folder / "board.db", python


def _uncheckpointed(path: Path) -> Database:
    """A writer that keeps the board open with a commit that lives only in the -wal (a command under way: boards
    fold the log after each write, commands when they close)."""
    db = open_database(path)
    db.fold_each_write = False
    deals.create_deal(db, "Sales", "Fresh in the WAL", user="root", value="250")
    assert Path(f"{path}-wal").stat().st_size > 0 and Path(f"{path}-shm").exists()
    return db


READS = [
    ("deal", "list", "--json"),
    ("deal", "list"),
    ("export", "--format", "json"),
    ("export", "--format", "csv"),
    ("aging", "--json"),
]


@pytest.mark.parametrize("folder_writable", [True, False])
def test_a_read_only_rep_sees_the_commits_in_the_wal(board: tuple[Team, Path, Path], folder_writable: bool) -> None:
    team, path, python = board
    rep = team.add(f"tkro{os.getpid() % 100000}")
    path.chmod(0o640)  # the group may read the board, not write it
    if not folder_writable:
        path.parent.chmod(0o2750)
    writer = _uncheckpointed(path)
    try:
        for args in READS:
            r = as_user(rep, [str(python), "-m", "tuikanban", "--db", str(path), *args])
            assert r.returncode == 0, (args, r.stderr)
            assert "Fresh in the WAL" in r.stdout, args  # an immutable open would miss it
        listed = as_user(rep, [str(python), "-m", "tuikanban", "--db", str(path), "deal", "list", "--json"])
        assert [d["title"] for d in json.loads(listed.stdout)["deals"]] == ["Fresh in the WAL", "Checkpointed"]
        metrics: Any = json.loads(as_user(rep, [str(python), "-m", "tuikanban", "--db", str(path), "metrics",
                                                "--json"]).stdout)
        assert metrics["open_deals"] == 2  # the checkpointed deal and the one only in the WAL
    finally:
        writer.close()


def test_a_wal_without_its_shm_in_a_read_only_folder_is_one_sentence(board: tuple[Team, Path, Path]) -> None:
    team, path, python = board
    rep = team.add(f"tkro{os.getpid() % 100000}")
    path.chmod(0o640)
    path.parent.chmod(0o2750)
    writer = _uncheckpointed(path)
    shm = Path(f"{path}-shm")
    aside = path.parent / "aside-shm"
    shm.rename(aside)  # the state a copied or half-cleaned folder leaves: commits in a -wal, no -shm
    try:
        for args in [*READS, ("metrics", "--json")]:
            r = as_user(rep, [str(python), "-m", "tuikanban", "--db", str(path), *args])
            assert r.returncode == 1, args
            assert r.stdout == ""
            assert r.stderr.strip() == (
                f"The latest changes to {path} are in {path}-wal, which you cannot read without a board.db-shm "
                f"file that only someone who can write to {path.parent} can create; ask a rep who can write there "
                "to open and close the board once (that folds the changes into the file), or ask the owner to "
                f"run: chmod g+w {path.parent}."), args
    finally:
        aside.rename(shm)
        writer.close()


def test_a_rep_outside_the_group_gets_a_sentence(board: tuple[Team, Path, Path]) -> None:
    team, path, python = board
    outsider = team.add(f"tkout{os.getpid() % 100000}", member=False)
    expected = (f"You cannot open {path}: {path.parent} belongs to the group {team.group} and you ({outsider}) are "
                f"not in it; ask the administrator to add you (usermod -aG {team.group} {outsider}), then log in "
                "again and check with 'id'.")
    for args in (["deal", "list"], ["deal", "add", "Sneaky"], ["backup", "/tmp/x.db"], ["who", "--json"]):
        r = as_user(outsider, [str(python), "-m", "tuikanban", "--db", str(path), *args])
        assert (r.returncode, r.stdout, r.stderr.strip()) == (1, "", expected), args
    r = as_user(outsider, [str(python), "-m", "tuikanban", "--db", str(path), "doctor", "--json"])
    assert r.returncode == 1
    assert json.loads(r.stdout)["checks"] == [{"name": "access", "level": "problem", "message": expected,
                                               "fix": "Run 'id' to see your groups in this login."}]


def test_a_rep_added_after_logging_in_is_told_to_log_in_again(board: tuple[Team, Path, Path]) -> None:
    team, path, python = board
    late = team.add(f"tklate{os.getpid() % 100000}")  # in /etc/group, but this "login" started before
    r = as_user(late, [str(python), "-m", "tuikanban", "--db", str(path), "deal", "list"], groups=False)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert r.stderr.strip() == (f"You cannot open {path}: {path.parent} belongs to the group {team.group}, which "
                                "you were added to after this login started; log out and in again (the command "
                                "'id' lists the groups of this login).")
    r = as_user(late, [str(python), "-m", "tuikanban", "--db", str(path), "deal", "list"])  # logged in again
    assert r.returncode == 0, r.stderr
    assert "Checkpointed" in r.stdout


def test_reps_in_the_group_share_the_board(board: tuple[Team, Path, Path]) -> None:
    team, path, _python = board
    ann, ben = team.add(f"tkann{os.getpid() % 100000}"), team.add(f"tkben{os.getpid() % 100000}")
    wrapper = str(path.parent.parent / "tk-team")
    r = as_user(ann, [wrapper, "deal", "add", "Ann's deal"])
    assert r.returncode == 0, r.stderr
    r = as_user(ben, [wrapper, "deal", "move", r.stdout.strip(), "Proposal"])
    assert r.returncode == 0, r.stderr
    r = as_user(ann, [wrapper, "doctor", "--json"])
    assert r.returncode == 0, r.stdout
    shown = json.loads(as_user(ben, [wrapper, "deal", "show", "2", "--json"]).stdout)
    assert [(e["user"], e["kind"]) for e in shown["events"]][:2] == [(ann, "create"), (ben, "move")]
