"""Opening the board from the command line."""

from __future__ import annotations

import sys

from tuikanban.cli.common import State
from tuikanban.domain.errors import ValidationError

NO_TERMINAL = ("The board needs a terminal: connect with 'ssh -t', or run a command such as "
               "'tuikanban deal list'.")


def open_board(state: State) -> None:
    # Checked before Textual is imported: without a terminal on both ends (ssh without -t, cron, a pipe) the
    # app would spin on a dead input forever.
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise ValidationError(NO_TERMINAL)
    from tuikanban.ui.app import run_board

    theme = None
    if state.theme:
        from tuikanban.ui.themes import find_theme

        theme = find_theme(state.theme)  # the canonical spelling, as `config theme` accepts it
    run_board(db_path=state.db_path, user=state.user, theme=theme, pipeline=state.pipeline)
