"""A board file deleted or replaced while a board starts: between the first screen (read before the app starts)
and the open for writing after the first paint, a second or more on a busy host."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from board_helpers import press, settle
from test_replaced_file import make_board, titles_by_cli, wait_until
from tuikanban.ui.app import TuikanbanApp
from tuikanban.ui.board.gateway import BoardGateway
from tuikanban.ui.board.state import BoardState
from tuikanban.ui.first_read import FirstRead

pytestmark = pytest.mark.sqlite_only  # a file deleted or moved under a starting board

SIZE = (140, 40)


def _started(board: Path, between: object) -> TuikanbanApp:
    """The board as `run_board` starts it, with `between()` run after its first read and before its app runs."""
    first = FirstRead(board, "alice", None).result()
    assert first.con is not None and first.target is not None
    between()  # type: ignore[operator]
    gateway = BoardGateway(path=first.target, user="alice", db=None, con=first.con, owns_db=True,
                           first_file=first.file_id)
    initial = gateway.load(first.pipeline, BoardState(), window=first.window, read=first.read)
    return TuikanbanApp(None, "alice", first.pipeline, db_path=first.target, gateway=gateway, initial=initial)


@pytest.mark.parametrize("how", ["rm", "mv"])
async def test_a_file_deleted_or_replaced_while_the_board_starts_is_said_and_never_created_anew(
        how: str, tmp_path: Path, fixed_now: str) -> None:
    """The open after the first paint used to create an empty board where the file had been deleted (and offer
    to set up a pipeline in it), or to open the file moved there in its place under the first screen's cards.
    Now the board says the file changed, writes nothing, and `r` opens what is at the path."""
    board, other = tmp_path / "board.db", tmp_path / "other.db"
    make_board(board, "Sales", ["Acme", "Initech"])
    make_board(other, "Other", ["Stark upgrade"])

    def between() -> None:
        if how == "rm":
            board.unlink()
        else:
            os.replace(other, board)

    app = _started(board, between)
    async with app.run_test(size=SIZE) as pilot:
        screen = app.board_screen
        await wait_until(pilot, lambda: screen.files.gone is not None)
        await settle(pilot, open_db=False)
        assert app.screen is screen  # no first-run dialog over it
        assert screen.session.readonly and screen.session.db is None
        said = "deleted or moved away" if how == "rm" else "replaced by another file"
        assert said in str(screen.files.gone)
        if how == "rm":
            assert not board.exists()  # nothing created at the path
            make_board(board, "Sales", ["Globex"])  # the file is put back
        else:
            assert titles_by_cli(board) == ["Stark upgrade"]
        await press(pilot, "r")
        await wait_until(pilot, lambda: screen.model is not None and not screen.session.readonly)
        await settle(pilot)
        assert screen.model is not None
        expected = ["Globex"] if how == "rm" else ["Stark upgrade"]
        assert sorted(c.title for c in screen.model.by_id.values()) == expected
