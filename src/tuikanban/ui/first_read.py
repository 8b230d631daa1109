"""The board's first read, started before Textual is imported (docs/PERFORMANCE.md, Start-up).

Importing Textual and the board's modules is most of a start's CPU time; the first read (connecting, the pipeline's
counts and sums, the top cards of each cell) waits mostly in SQLite's C code or on the PostgreSQL server, and both
let go of the interpreter meanwhile. So `cli.board.open_board` starts the read on a thread of its own before those
imports, and `launch.run_board` takes its result: on a 100,000-deal pipeline the counts alone are some 20 ms of
SQLite's time, on PostgreSQL the connection and the server's work more. This module imports neither Textual nor the
board's widgets, nor the ORM: a database that fastread cannot read (new, older, unusual) is left to `run_board`,
which opens it through the ORM as before.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import threading
from pathlib import Path

from tuikanban.domain.targets import Target, parse_target
from tuikanban.store import fastread
from tuikanban.ui.board.density import remembered_compact

ENV_DB = "TUIKANBAN_DB"


def board_target(explicit: Path | Target | None) -> Target:
    """Where open_database would look (without importing it): --db, else TUIKANBAN_DB, else the data dir."""
    if explicit is not None:
        return parse_target(explicit)
    env = os.environ.get(ENV_DB)
    if env:
        return parse_target(env)
    from platformdirs import user_data_dir

    return parse_target(Path(user_data_dir("tuikanban", appauthor=False)) / "tuikanban.db")


def remembered_pipeline(target: Target) -> str | None:
    """The pipeline shown last time on this database (tuikanban.settings), if any."""
    from tuikanban.settings import load_settings

    try:
        return load_settings().pipeline_for(target.path or target.display)
    except Exception:  # a broken settings file never stops the board
        return None


def first_window(user: str) -> int:
    """How many cards of each cell the first screen reads: as many as the terminal can show."""
    lines = shutil.get_terminal_size((160, 45)).lines
    return max(8, (lines if remembered_compact(user) else lines // 4) + 2)  # compact: a line per card


class FirstRead:
    """`FirstRead(db_path, user, pipeline)`; `start()` runs it on a thread, `result()` waits for it (or runs it
    there and then when it was not started) and raises what the read raised, as if it had run in the caller.

    After `result()`: `target`, `pipeline` (as asked, or the one remembered for this database), `window`, and `con`
    with `read` (the windowed first screen), or both None when fastread cannot read the database; `file_id`, the
    file read (the board opens it for writing after the first paint, and only if it is still that file)."""

    def __init__(self, db_path: Path | Target | None, user: str, pipeline: str | None) -> None:
        self.db_path = db_path
        self.user = user
        self.pipeline = pipeline
        self.target: Target | None = None
        self.window = 0
        self.con: fastread.Connection | None = None
        self.file_id: tuple[int, int] | None = None  # (device, inode) of the file read, when it is one
        self.read: fastread.BoardRead | None = None
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None
        self._ran = False

    def start(self) -> FirstRead:
        self._thread = threading.Thread(target=self._run, name="tuikanban-first-read", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        self._ran = True
        try:
            self.target = target = board_target(self.db_path)
            pipeline = self.pipeline
            if target.path is not None:
                with contextlib.suppress(OSError):
                    st = os.stat(target.path)  # (before the read: a file put there after it is not the one read)
                    self.file_id = (st.st_dev, st.st_ino)
            self.con, self.pipeline = fastread.first_read(
                target, pipeline, None if pipeline else remembered_pipeline(target))
            self.window = first_window(self.user)
            if self.con is not None:
                self.read = fastread.load_board(self.con, self.pipeline, window=self.window)
        except BaseException as exc:  # (raised again in the caller's thread, by `result`)
            self._error = exc
            if self.con is not None:
                self.con.close()
                self.con = None

    def result(self) -> FirstRead:
        if self._thread is not None:
            self._thread.join()
        elif not self._ran:
            self._run()
        if self._error is not None:
            raise self._error
        return self
