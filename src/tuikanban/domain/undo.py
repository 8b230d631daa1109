"""Which events of a deal's log still stand after undo and redo, and which of them are activity (see
docs/RULES.md, Undo). Pure rules: the services and the JSON import feed them rows.

An `undo` points at the event it reverses, a `redo` at the undo it cancels, and an undo may point at a redo.
So an event is in force when the chain of undo/redo events pointing at it, one after the other, has an even
length (none, or undone and redone).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import NamedTuple

# Not customer activity, so not a touch of the deal for the no-activity signal: undo and redo (bookkeeping of
# the user's own mistakes), the note that an undo was skipped, and reordering (arranging one's own board).
NOT_ACTIVITY = ("undo", "redo", "undo_skipped", "reorder")
REVERSING = ("undo", "redo")
# The `new_value` of a won or lost event that a CSV import logged for a deal that arrived closed (a close made in
# the app leaves it empty): history brought in, not an action of the importing user, so never on the undo stack.
IMPORTED = "import"
IMPORTED_KINDS = ("won", "lost")


class LoggedEvent(NamedTuple):
    id: int
    kind: str
    at: datetime
    ref_id: int | None


def reversed_ids(events: Iterable[LoggedEvent]) -> set[int]:
    """The ids of the events that an odd chain of undo/redo events has reversed (undone and not redone)."""
    rows = list(events)
    pointed_by = {e.ref_id: e.id for e in rows if e.kind in REVERSING and e.ref_id is not None}
    out: set[int] = set()
    for e in rows:
        length, current = 0, e.id
        while current in pointed_by and length <= len(rows):
            current, length = pointed_by[current], length + 1
        if length % 2:
            out.add(e.id)
    return out


def last_touch(events: Iterable[LoggedEvent]) -> datetime | None:
    """The time of the latest event that still stands and is activity (None: none is)."""
    rows = list(events)
    gone = reversed_ids(rows)
    times = [e.at for e in rows if e.kind not in NOT_ACTIVITY and e.id not in gone]
    return max(times) if times else None


__all__ = ["IMPORTED", "IMPORTED_KINDS", "NOT_ACTIVITY", "LoggedEvent", "last_touch", "reversed_ids"]
