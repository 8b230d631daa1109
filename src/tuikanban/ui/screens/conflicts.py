"""Edit conflicts in a form: the other rep's value shown beside each field both changed, and a choice per field.

A form saves with `base=` (what it loaded). When someone else saved a field this user changed too, the service
refuses with `EditConflictError`; the form keeps what the user typed, and `ConflictBook` takes the other values
as the new base, so saving again keeps the user's value for a field unless they take the other one (ctrl+t).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from textual.binding import Binding

from tuikanban.domain.merge import EditConflictError, FieldConflict
from tuikanban.domain.text import display

TAKE_THEIRS = "ctrl+t"
KEEP_MINE = "ctrl+o"

#: the keys every form with conflicts binds (priority: they work from inside a field)
CONFLICT_BINDINGS = [
    Binding(TAKE_THEIRS, "take_theirs", "Take theirs", priority=True, show=False),
    Binding(KEEP_MINE, "keep_mine", "Keep mine", priority=True, show=False),
]


def conflict_line(conflict: FieldConflict, shown: str) -> str:
    """`bob saved: 15000 · ctrl+t take theirs · ctrl+o keep mine` under the field (their value shown literally)."""
    who = conflict.by or "someone else"
    value = display(shown, max_length=60) or "(empty)"
    return f"{who} saved: {value}  ·  {TAKE_THEIRS} take theirs  ·  {KEEP_MINE} keep mine"


@dataclass(slots=True)
class ConflictBook:
    """The base a form saves against, and the conflicting fields still waiting for the user's choice."""

    base: dict[str, Any]
    waiting: dict[str, FieldConflict] = field(default_factory=dict)

    def arrived(self, error: EditConflictError) -> list[FieldConflict]:
        """Take the stored values as the new base (saving again keeps the user's values), and wait for choices."""
        for conflict in error.conflicts:
            self.base[conflict.field] = conflict.theirs
            self.waiting[conflict.field] = conflict
        return list(error.conflicts)

    def choose(self, focused: str | None) -> FieldConflict | None:
        """The conflict a choice key answers: the focused field's, else the first one still waiting."""
        name = focused if focused in self.waiting else next(iter(self.waiting), None)
        return self.waiting.pop(name) if name is not None else None

    def rebase(self, base: Mapping[str, Any]) -> None:
        """A fresh base (the form saved, or re-read the record): nothing waits any more."""
        self.base = dict(base)
        self.waiting.clear()


__all__ = ["CONFLICT_BINDINGS", "KEEP_MINE", "TAKE_THEIRS", "ConflictBook", "conflict_line"]
