"""Opening the board from the command line."""

from __future__ import annotations

import gc
import sys

from tuikanban.cli.common import State
from tuikanban.domain.errors import ValidationError

NO_TERMINAL = ("The board needs a terminal: connect with 'ssh -t', or run a command such as "
               "'tuikanban deal list'.")


def has_terminal() -> bool:
    """Whether the board has a terminal on both ends (not ssh without -t, cron or a pipe)."""
    return sys.stdin.isatty() and sys.stdout.isatty()


def open_board(state: State) -> None:
    from tuikanban.domain.targets import parse_target

    target = parse_target(state.db_path) if state.db_path is not None else None  # a bad URL: one sentence
    theme = None
    if state.theme:
        from tuikanban.ui.themes import find_theme

        theme = find_theme(state.theme)  # the canonical spelling, as `config theme` accepts it
    # Checked before Textual is imported: without a terminal on both ends the app would spin on a dead input.
    if not has_terminal():
        raise ValidationError(NO_TERMINAL)
    # No cyclic garbage collection until the first paint (the app turns it back on): importing Textual and the
    # board creates objects by the hundred thousand, and the collector's passes over them cost about a tenth of the
    # CPU time to the first paint (docs/PERFORMANCE.md, Start-up); what cycles start-up leaves are collected after.
    gc.disable()
    # The first screen is read on a thread while Textual and the board are imported: the read waits on SQLite's C
    # code or on the server, the imports on the interpreter (ui/first_read.py).
    from tuikanban.ui.first_read import FirstRead

    first = FirstRead(target, state.user, state.pipeline).start()
    from tuikanban.ui.launch import run_board

    run_board(db_path=target, user=state.user, theme=theme, pipeline=state.pipeline, first=first)
