"""The board's state, in one place each: what the user chose to see (`BoardState`, held by the screen as one
reactive attribute and handed down to the model, the view, the header and the aging panel), and who works on
which database (`BoardSession`, and `PendingDatabase`: that database while it opens)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar, cast

from tuikanban.domain.errors import DatabaseError
from tuikanban.domain.filters import DealFilter, parse_filter
from tuikanban.domain.targets import Target
from tuikanban.domain.text import display, name_key

if TYPE_CHECKING:
    from tuikanban.store.engine import Database
    from tuikanban.store.uow import Unit

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class BoardState:
    """The filter (and the text it was typed as) and whether swimlanes by deal type are on."""

    filter: DealFilter = field(default_factory=DealFilter)
    query: str = ""
    lanes_on: bool = True
    sort: str = "rank"  # the order within a column (ui/board/sorting.py)

    def with_query(self, query: str, *, me: str = "") -> BoardState:
        """`me` is the user (`owner:me`)."""
        return BoardState(parse_filter(query, me=me), query, self.lanes_on, self.sort)

    def with_lanes(self, on: bool) -> BoardState:
        return BoardState(self.filter, self.query, on, self.sort)

    def with_sort(self, sort: str) -> BoardState:
        return BoardState(self.filter, self.query, self.lanes_on, sort)


@dataclass(eq=False)
class BoardSession:
    """The database (a file or a PostgreSQL target), the user, the database once open for writing (None before:
    the first paint reads without the ORM), and whether writes are refused."""

    target: Target
    user: str
    db: Database | None = None
    readonly: bool = False
    gone: str = ""  # the file at `path` is no longer this board (ui.board.file_watch): the sentence saying so
    # set once the first opening is over (opened, failed, or the board closed first), for `PendingDatabase`
    _settled: threading.Event = field(default_factory=threading.Event, repr=False)
    _failure: BaseException | None = field(default=None, repr=False)

    def opened(self, db: Database) -> None:
        self.db = db
        self.gone = ""
        self.readonly = db.readonly
        self._settled.set()

    def open_failed(self, error: BaseException) -> None:
        """The database could not be opened for writing: what waits for it gets `error`."""
        if self.db is None:
            self._failure = error
            self._settled.set()

    def closing(self) -> None:
        """The board is closing: nothing waits any more for a database that may never open."""
        self.open_failed(DatabaseError("The board closed before its database was open."))

    def database(self) -> Database:
        """The database, or (before it is open) a `PendingDatabase` standing in for it: a screen opened in the
        first second after the first paint gets it and paints at once, its reads waiting on the lanes."""
        return self.db if self.db is not None else cast("Database", PendingDatabase(self))

    def wait_open(self) -> Database:
        """The open database, waited for (on a lane: never on the UI thread, which opens it)."""
        self._settled.wait()
        if self.db is None:
            raise self._failure or DatabaseError(f"The database {self.target} is not open.")
        return self.db

    def not_open_sentence(self) -> str:
        """Why there is no database yet: still opening, or the opening failed (the file went away meanwhile)."""
        if self.gone:
            return self.gone
        if self._failure is not None:
            return str(self._failure)
        return "The board is still opening its database; try again in a moment."

    def readonly_sentence(self) -> str:
        if self.gone:
            return self.gone
        reason = self.db.readonly_reason if self.db is not None else ""
        return f"The database {self.target} is open read-only{reason}, so nothing can be changed."


class PendingDatabase:
    """The board's database while it opens (the ORM is imported on the writes lane after the first paint, about
    0.35 s): what a screen opened meanwhile holds, so that its key never waits for that import (docs/PERFORMANCE.md,
    Start-up). Its target is known at once; anything else is the open database's. A screen's jobs run on the lanes:
    those on the writes lane come after the opening anyway, those on the reads lane wait here for it. On the UI
    thread, before the opening, it refuses with `DatabaseError` rather than wait (the screens' few calls there, a
    data_version poll, take that as "look again at the next tick")."""

    def __init__(self, session: BoardSession) -> None:
        self._session = session
        self._ui_thread = threading.get_ident()  # (made by the board, on the UI thread)

    @property
    def target(self) -> Target:
        return self._session.target

    @property
    def readonly(self) -> bool:
        return self._session.readonly

    def read_plain(self, read: Callable[[Unit], T]) -> T:
        """`Database.read_plain`, before the opening too: on a driver connection of its own (no ORM, so a screen
        opened in the first second is filled without waiting for the ORM's import and the opening). Such a read
        runs ahead of the opening (`jobs.EARLY`), so it never waits for it: a database that cannot be read this
        way meanwhile (replaced by another file since the first paint) is refused with a sentence."""
        session = self._session
        if session.db is None:
            from tuikanban.store import screenreads

            done = screenreads.run(session.target, read)
            if done is not None:
                return done
            if session.db is None:
                raise DatabaseError(session.not_open_sentence())
        assert session.db is not None
        return session.db.read_plain(read)

    def __getattr__(self, name: str) -> Any:
        session = self._session
        if session.db is None and threading.get_ident() == self._ui_thread:
            raise DatabaseError(session.not_open_sentence())
        return getattr(session.db if session.db is not None else session.wait_open(), name)


def unknown_type_sentence(wanted: str | None, type_names: list[str]) -> str | None:
    """A `type:` term that names no deal type of the pipeline matches nothing: the sentence that says which types
    there are (None when the term is fine or absent)."""
    if not wanted or any(name_key(n).startswith(name_key(wanted)) for n in type_names):
        return None
    if type_names:
        known = ", ".join(display(n) for n in type_names)
        return f"No deal type '{display(wanted)}' in this pipeline, so no card matches (types: {known})."
    return f"This pipeline has no deal types, so type:{display(wanted)} matches no card."
