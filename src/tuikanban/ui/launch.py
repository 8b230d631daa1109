"""Starting the board (`tuikanban` with no command): find the database, read the first screen without the ORM
before the app starts (`store.fastread`: the SQLite or PostgreSQL driver itself), then run the app."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from tuikanban.domain.errors import TuikanbanError
from tuikanban.domain.targets import Target, parse_target
from tuikanban.store import fastread
from tuikanban.ui.app import TuikanbanApp
from tuikanban.ui.board.density import remembered_compact
from tuikanban.ui.board.gateway import BoardGateway
from tuikanban.ui.board.state import BoardState

ENV_DB = "TUIKANBAN_DB"


def _target(explicit: Path | Target | None) -> Target:
    """Where open_database would look (without importing it): --db, else TUIKANBAN_DB, else the data dir."""
    if explicit is not None:
        return parse_target(explicit)
    env = os.environ.get(ENV_DB)
    if env:
        return parse_target(env)
    from platformdirs import user_data_dir

    return parse_target(Path(user_data_dir("tuikanban", appauthor=False)) / "tuikanban.db")


def _remembered_pipeline(target: Target) -> str | None:
    """The pipeline shown last time on this database (tuikanban.settings), if any."""
    from tuikanban.settings import load_settings

    try:
        return load_settings().pipeline_for(target.path or target.display)
    except Exception:  # a broken settings file never stops the board
        return None


def run_board(*, db_path: Path | Target | None, user: str, theme: str | None, pipeline: str | None) -> None:
    """Open the board (`db_path`: a file or a PostgreSQL target). User mistakes raise TuikanbanError before the
    screen is taken over, so the CLI prints them as one sentence."""
    target = _target(db_path)
    con, pipeline = fastread.first_read(target, pipeline, None if pipeline else _remembered_pipeline(target))
    db = None
    if con is None:  # a new, older or unusual database: the full path creates, migrates or refuses it
        from tuikanban.store.engine import open_database

        db = open_database(db_path)  # (None: TUIKANBAN_DB or the private default file, as it decides)
        target = db.target
        if pipeline:
            from tuikanban.services.pipelines import get_pipeline

            get_pipeline(db, pipeline)
    gateway = BoardGateway(path=target, user=user, db=db, con=con, owns_db=True)
    try:
        # The first screen, read before the app starts: only as many cards per cell as the terminal can show.
        lines = shutil.get_terminal_size((160, 45)).lines
        window = max(8, (lines if remembered_compact(user) else lines // 4) + 2)  # compact: a line per card
        initial = gateway.load(pipeline, BoardState(), window=window)
        app = TuikanbanApp(db, user, pipeline, theme, db_path=target, gateway=gateway, initial=initial)
    except TuikanbanError:
        gateway.close()
        raise
    app.run()
    app.lanes.join(2.0)  # let the lanes finish their jobs and close the database
