"""Opening the board from the command line."""

from __future__ import annotations

from tuikanban.cli.common import State


def open_board(state: State) -> None:
    from tuikanban.ui.app import run_board

    theme = None
    if state.theme:
        from tuikanban.ui.themes import find_theme

        theme = find_theme(state.theme)  # the canonical spelling, as `config theme` accepts it
    run_board(db_path=state.db_path, user=state.user, theme=theme, pipeline=state.pipeline)
