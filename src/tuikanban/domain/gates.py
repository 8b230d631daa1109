"""Stage gates: the fields a deal needs before it may enter a stage, and the stage's exit-criteria checklist.

Pure rules: parsing the settings, deciding what is missing from a deal's fields, and the one sentence that names
it (`Proposal needs a value and an expected close date`). The services check them in the same transaction as the
move, create or reopen they guard, as WIP limits are.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from tuikanban.domain.errors import GateError, ValidationError
from tuikanban.domain.text import clean_text

# Order = the order in which missing fields are named.
REQUIREMENTS = ("value", "close", "company", "contact", "owner", "next_step")
_ALIASES = {"expected_close": "close", "close_date": "close", "next-step": "next_step", "nextstep": "next_step",
            "task": "next_step"}
_PHRASES = {
    "value": "a value", "close": "an expected close date", "company": "a company", "contact": "a contact",
    "owner": "an owner", "next_step": "a next step (an open task with a due date)",
}
MAX_ITEMS = 20
MAX_ITEM = 200


@dataclass(frozen=True, slots=True)
class GateFields:
    """What a gate looks at on a deal (or on a deal about to be created)."""

    value_minor: int | None
    close: date | None
    company: str
    contact: str
    owner: str
    has_next_step: bool


def parse_requirements(text: str) -> tuple[str, ...]:
    """`value,close` -> ("value", "close") in the canonical order; `none` or "" -> ()."""
    names = [n.strip().lower() for n in text.replace(";", ",").split(",") if n.strip()]
    if names == ["none"]:
        return ()
    wanted = set()
    for name in names:
        name = _ALIASES.get(name, name)
        if name not in REQUIREMENTS:
            raise ValidationError(f"'{name}' is not a field a stage can require; use {', '.join(REQUIREMENTS)} "
                                  "or none.")
        wanted.add(name)
    return tuple(r for r in REQUIREMENTS if r in wanted)


def stored_requirements(stored: str) -> tuple[str, ...]:
    return tuple(r for r in (stored or "").split(",") if r in REQUIREMENTS)


def parse_checklist(text: str) -> tuple[str, ...]:
    """`Budget confirmed;Decision maker named` (or one item a line) -> the items, cleaned, without repeats."""
    items: list[str] = []
    for raw in text.replace("\n", ";").split(";"):
        item = clean_text(raw).strip()
        if not item or item.casefold() in (i.casefold() for i in items):
            continue
        if len(item) > MAX_ITEM:
            raise ValidationError(f"A checklist item is longer than {MAX_ITEM} characters ({len(item)}).")
        items.append(item)
    if len(items) > MAX_ITEMS:
        raise ValidationError(f"A checklist holds at most {MAX_ITEMS} items, not {len(items)}.")
    return tuple(items)


def stored_checklist(stored: str) -> tuple[str, ...]:
    return tuple(i for i in (stored or "").split("\n") if i.strip())


def missing(required: tuple[str, ...], f: GateFields) -> tuple[str, ...]:
    present = {
        "value": f.value_minor is not None and f.value_minor > 0, "close": f.close is not None,
        "company": bool(f.company.strip()), "contact": bool(f.contact.strip()), "owner": bool(f.owner.strip()),
        "next_step": f.has_next_step,
    }
    return tuple(r for r in required if not present[r])


def refusal(stage: str, absent: tuple[str, ...]) -> str:
    """`Proposal needs a value and an expected close date`."""
    phrases = [_PHRASES[a] for a in absent]
    listed = phrases[0] if len(phrases) == 1 else ", ".join(phrases[:-1]) + " and " + phrases[-1]
    return f"{stage} needs {listed}"


def check_entry(stage: str, stored_required: str, fields: GateFields, *, force_reason: str | None) -> bool:
    """Refuse a deal entering `stage` (its stored requirements) when it lacks a required field, unless forced with a
    reason; returns whether an override is used (the writer then logs a `gate_override` event)."""
    absent = missing(stored_requirements(stored_required), fields)
    if not absent:
        return False
    if force_reason is None:
        raise GateError(refusal(stage, absent), stage=stage, missing=absent)
    if not clean_text(force_reason).strip():
        raise ValidationError("A forced move past a stage gate needs a reason.")
    return True


def find_item(items: tuple[str, ...], ref: str) -> str:
    """A checklist item by its text (any case), its 1-based number or the start of its text when only one item
    starts so."""
    key = clean_text(ref).strip().casefold()
    for item in items:
        if item.casefold() == key:
            return item
    if key.isdigit() and 1 <= int(key) <= len(items):
        return items[int(key) - 1]
    starting = [item for item in items if key and item.casefold().startswith(key)]
    if len(starting) == 1:
        return starting[0]
    if not items:
        raise ValidationError("This stage has no exit-criteria checklist; set one with 'stage set STAGE --checklist'.")
    listed = "; ".join(f"{i}. {item}" for i, item in enumerate(items, 1))
    raise ValidationError(f"'{ref}' is not on the checklist ({listed}).")


__all__ = [
    "REQUIREMENTS", "GateFields", "check_entry", "find_item", "missing", "parse_checklist", "parse_requirements",
    "refusal", "stored_checklist", "stored_requirements",
]
