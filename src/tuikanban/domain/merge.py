"""Three-way merge of a form's fields: what the user typed, what they started from, and what is stored now.

Two reps edit one deal (or one pipeline's settings): the second to save must neither throw away the first one's
changes nor lose their own typing. A field counts as changed by the user when what they submit differs from what
their form loaded (`base`). Such a field is saved when the stored value is still the base (nobody else touched it)
or already equals the user's. It is a conflict only when someone else changed the same field to something else:
then nothing is saved and the user chooses per field (see docs/RULES.md, "Concurrent edits").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tuikanban.domain.errors import TuikanbanError


@dataclass(frozen=True, slots=True)
class FieldConflict:
    """One field both users changed: the user's value, the stored one, and who stored it when (if known)."""

    field: str
    mine: Any
    theirs: Any
    by: str = ""
    at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Merge:
    apply: dict[str, Any] = field(default_factory=dict)  # the user's changes to save
    conflicts: list[str] = field(default_factory=list)  # fields changed by both, to different values


def merge_fields(base: Mapping[str, Any], mine: Mapping[str, Any], theirs: Mapping[str, Any]) -> Merge:
    """Split the user's values (`mine`) into changes to save and conflicts (field order kept)."""
    result = Merge()
    for name, new in mine.items():
        if name not in base or new == base[name]:
            continue  # not changed by this user: whatever is stored now stays
        stored = theirs[name]
        if stored == base[name]:
            result.apply[name] = new
        elif stored != new:
            result.conflicts.append(name)
    return result


class EditConflictError(TuikanbanError):
    """Someone else changed fields this user changed too; nothing was saved. `conflicts` lists them."""

    def __init__(self, message: str, conflicts: list[FieldConflict]) -> None:
        super().__init__(message)
        self.conflicts = conflicts


def conflict_sentence(conflicts: list[FieldConflict], labels: Mapping[str, str]) -> str:
    """`bob changed the value and the close date while you were editing; ...` for the form and the CLI."""
    names = [labels.get(c.field, c.field) for c in conflicts]
    fields = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    who = sorted({c.by for c in conflicts if c.by})
    by = " and ".join(who) if who else "Someone else"
    return (f"{by} changed the {fields} while you were editing; nothing was saved. For each, keep yours or take "
            "theirs, then save again.")
