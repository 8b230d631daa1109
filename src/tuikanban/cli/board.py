"""Opening the board from the command line."""

from __future__ import annotations

from tuikanban.cli.common import State


def open_board(state: State) -> None:
    from tuikanban.ui.launch import run_board

    run_board(db_path=state.db_path, user=state.user, theme=state.theme, pipeline=state.pipeline)
