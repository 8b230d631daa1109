"""Opening the board from the command line."""

from __future__ import annotations

from tuikanban.cli.common import State
from tuikanban.domain.errors import DatabaseError


def open_board(state: State) -> None:
    from tuikanban.store.targets import parse_target

    target = parse_target(state.db_path) if state.db_path is not None else None
    if target is not None and target.path is None:
        raise DatabaseError(f"The board cannot open {target} yet (PostgreSQL works from the command line for now; "
                            "the board comes next).")
    from tuikanban.ui.app import run_board

    run_board(db_path=target.path if target is not None else None, user=state.user, theme=state.theme,
              pipeline=state.pipeline)
