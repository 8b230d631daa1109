"""The JSON import's ids: the file's ids kept while they are free, else each section renumbered in file order.

The file's ids cannot all be seen before the first rows are written (the import streams), so a section whose id
turns out taken raises `Renumber`: the transaction is rolled back and the import starts again with that section
renumbered (docs/PERFORMANCE.md, Big files)."""

from __future__ import annotations

from array import array
from bisect import bisect_left
from typing import Any

from sqlalchemy import func, select

from tuikanban.services.io.common import (
    ACTIVITY_COLUMNS,
    DEAL_COLUMNS,
    EVENT_COLUMNS,
    STAGE_COLUMNS,
    STAY_COLUMNS,
    TYPE_COLUMNS,
)
from tuikanban.services.io.json_checks import MAX_INT, Checker
from tuikanban.store.bulk import BackgroundInserts

# each table's id column, by the table's name in `common.TABLES`
ID_COLUMNS = {"stage": STAGE_COLUMNS.id, "type": TYPE_COLUMNS.id, "deal": DEAL_COLUMNS.id, "event": EVENT_COLUMNS.id,
              "stay": STAY_COLUMNS.id, "activity": ACTIVITY_COLUMNS.id}


class Renumber(Exception):
    """A section's ids cannot be kept (one is taken, or not positive): the import starts again renumbering it."""

    def __init__(self, section: str) -> None:
        super().__init__(section)
        self.section = section


def taken(conn: Any) -> dict[str, tuple[int, int] | None]:
    """The lowest and highest id each table holds (None: it is empty), read before anything is inserted."""
    out: dict[str, tuple[int, int] | None] = {}
    for table, column in ID_COLUMNS.items():
        low, high = conn.execute(select(func.min(column), func.max(column))).one()
        out[table] = None if low is None else (int(low), int(high))
    return out


class Ids:
    """Old id -> new id for one section, decided item by item: the file's ids while `keep` (a taken one raises
    `Renumber` when it is written), else numbers from the table's highest id on, in file order. Memory holds the
    ids, not the rows.

    `compact` (the events and stays: a million of them on a big board) holds kept ids that come in ascending order,
    as every export writes them, in an array of 8 bytes an id instead of a dict (about 74 bytes an id); the first
    id out of order turns it into the dict. Look ids up with `has` and `get` then: `map` holds only the dict."""

    def __init__(self, section: str, table: str, taken: tuple[int, int] | None, *, keep: bool,
                 compact: bool = False) -> None:
        self.section = section
        self.table = table
        self.taken = taken  # the lowest and highest id the table held before the import (None: it was empty)
        self.keep = keep
        self.next = 1 if taken is None else taken[1] + 1
        self.map: dict[int, int] = {}
        self.renumbered = False
        self._repeated = False
        self._ascending: array[int] | None = array("q") if compact and keep else None

    def add(self, chk: Checker, index: int, item: dict[str, Any]) -> int | None:
        value = item.get("id")
        if isinstance(value, bool) or not isinstance(value, int):
            chk.bad(f"{self.section}[{index}]", "'id' must be a whole number.")
            return None
        if not -MAX_INT - 1 <= value <= MAX_INT:
            chk.bad(f"{self.section}[{index}]", f"'id' is out of range (at most {MAX_INT:,}).")
            return None
        if self._ascending is not None:
            if not self._ascending or value > self._ascending[-1]:
                if value <= 0 and not chk.problems:
                    raise Renumber(self.section)
                self._ascending.append(value)
                return value
            self.map = {old: old for old in self._ascending}  # out of order: the dict from here on
            self._ascending = None
        if value in self.map and not self._repeated:
            self._repeated = True
            chk.bad(self.section, "two items have the same id.")
        if self.keep:
            if value <= 0 and not chk.problems:
                raise Renumber(self.section)
            new = value
        else:
            new, self.next = self.next, self.next + 1
            self.renumbered = self.renumbered or new != value
        self.map[value] = new
        return new

    def has(self, old: int) -> bool:
        """Whether the file's id `old` was met so far."""
        if self._ascending is None:
            return old in self.map
        i = bisect_left(self._ascending, old)
        return i < len(self._ascending) and self._ascending[i] == old

    def get(self, old: int) -> int | None:
        """The new id of the file's id `old` (None: not met so far)."""
        if self._ascending is None:
            return self.map.get(old)
        return old if self.has(old) else None

    def check_free(self, chk: Checker, inserts: BackgroundInserts | None, new_ids: list[int]) -> None:
        """Before kept ids are written: one already taken means the section is renumbered from the start (looked up
        only for ids between the lowest and the highest taken, on the inserts' thread, after what it has queued)."""
        if not self.keep or self.taken is None or chk.problems or inserts is None:
            return
        low, high = self.taken
        maybe = [i for i in new_ids if low <= i <= high]
        column = ID_COLUMNS[self.table]
        if maybe and inserts.call(lambda c: c.execute(select(column).where(column.in_(maybe)).limit(1)).first()):
            raise Renumber(self.section)
