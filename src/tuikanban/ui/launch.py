"""Starting the board (`tuikanban` with no command): find the database, read the first screen without the ORM
before the app starts (`store.fastread`: the SQLite or PostgreSQL driver itself, through `ui.first_read`, which the
command line starts on a thread before Textual is imported), then run the app."""

from __future__ import annotations

from pathlib import Path

from tuikanban.domain.errors import TuikanbanError
from tuikanban.domain.targets import Target
from tuikanban.ui.app import TuikanbanApp
from tuikanban.ui.board.gateway import BoardGateway
from tuikanban.ui.board.state import BoardState
from tuikanban.ui.first_read import FirstRead


def run_board(*, db_path: Path | Target | None, user: str, theme: str | None, pipeline: str | None,
              first: FirstRead | None = None) -> None:
    """Open the board (`db_path`: a file or a PostgreSQL target; `first`: its first read, started already for the
    same arguments). User mistakes raise TuikanbanError before the screen is taken over, so the CLI prints them as
    one sentence."""
    first = (first or FirstRead(db_path, user, pipeline)).result()
    target, con, pipeline = first.target, first.con, first.pipeline
    assert target is not None
    db = None
    if con is None:  # a new, older or unusual database: the full path creates, migrates or refuses it
        from tuikanban.store.engine import open_database

        db = open_database(db_path)  # (None: TUIKANBAN_DB or the private default file, as it decides)
        target = db.target
        if pipeline:
            from tuikanban.services.pipelines import get_pipeline

            get_pipeline(db, pipeline)
    gateway = BoardGateway(path=target, user=user, db=db, con=con, owns_db=True,
                           first_file=first.file_id if con is not None else None)
    try:
        # The first screen, read before the app starts: only as many cards per cell as the terminal can show.
        initial = gateway.load(pipeline, BoardState(), window=first.window, read=first.read)
        app = TuikanbanApp(db, user, pipeline, theme, db_path=target, gateway=gateway, initial=initial)
    except TuikanbanError:
        gateway.close()
        raise
    app.run()
    app.lanes.join(2.0)  # let the lanes finish their jobs and close the database
