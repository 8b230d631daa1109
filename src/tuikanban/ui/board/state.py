"""The board's state, in one place each: what the user chose to see (`BoardState`, held by the screen as one
reactive attribute and handed down to the model, the view, the header and the aging panel), and who works on
which database (`BoardSession`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from tuikanban.domain.filters import DealFilter, parse_filter
from tuikanban.domain.targets import Target
from tuikanban.domain.text import display, name_key

if TYPE_CHECKING:
    from tuikanban.store.engine import Database


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


@dataclass
class BoardSession:
    """The database (a file or a PostgreSQL target), the user, the database once open for writing (None before:
    the first paint reads without the ORM), and whether writes are refused."""

    target: Target
    user: str
    db: Database | None = None
    readonly: bool = False
    gone: str = ""  # the file at `path` is no longer this board (ui.board.file_watch): the sentence saying so

    def opened(self, db: Database) -> None:
        self.db = db
        self.gone = ""
        self.readonly = db.readonly

    def readonly_sentence(self) -> str:
        if self.gone:
            return self.gone
        reason = self.db.readonly_reason if self.db is not None else ""
        return f"The database {self.target} is open read-only{reason}, so nothing can be changed."


def unknown_type_sentence(wanted: str | None, type_names: list[str]) -> str | None:
    """A `type:` term that names no deal type of the pipeline matches nothing: the sentence that says which types
    there are (None when the term is fine or absent)."""
    if not wanted or any(name_key(n).startswith(name_key(wanted)) for n in type_names):
        return None
    if type_names:
        known = ", ".join(display(n) for n in type_names)
        return f"No deal type '{display(wanted)}' in this pipeline, so no card matches (types: {known})."
    return f"This pipeline has no deal types, so type:{display(wanted)} matches no card."
