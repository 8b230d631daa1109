"""The board's filter: free text plus `owner:NAME`, `type:NAME`, `closing:<30d` (expected to close within 30 days)
and `idle:>14d` (no event or activity for over 14 days) terms, and `snoozed:yes` (only the snoozed deals).
Shared by the board, the aging panel and `deal list`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from tuikanban.domain.models import DealView
from tuikanban.domain.text import name_key

_CLOSING = re.compile(r"^closing:<=?(\d{1,4})d?$", re.IGNORECASE)
_IDLE = re.compile(r"^idle:>=?(\d{1,4})d?$", re.IGNORECASE)
SNOOZED_TERMS = frozenset({"snoozed:yes", "snoozed:y", "snoozed:true", "snoozed:1"})


def is_snoozed(snoozed_until: date | None, today: date) -> bool:
    """Snoozed on `today`: the deal comes back on its date (services.lifecycle says the same of a deal row)."""
    return snoozed_until is not None and snoozed_until > today


def closes_within(expected_close: date | None, today: date, days: int) -> bool:
    """Expected to close from today to `days` days ahead, both included (an overdue date is not "closing")."""
    return expected_close is not None and today <= expected_close <= today + timedelta(days=days)


def is_idle(last_touch: datetime | None, now: datetime, days: int) -> bool:
    """No event or activity for `days` days: the last touch is at or before now minus `days` (or never)."""
    return last_touch is None or last_touch <= now - timedelta(days=days)


@dataclass(frozen=True, slots=True)
class DealFilter:
    text: str = ""
    owner: str = ""
    type_name: str = ""
    closing_within: int | None = None  # closing:<30d
    idle_over: int | None = None  # idle:>14d
    snoozed: bool = False  # snoozed:yes: the snoozed deals (the board reads them only then)
    more_owners: tuple[str, ...] = ()  # owner:bob owner:carol: bob's or carol's (`owner` holds the first)
    more_types: tuple[str, ...] = ()

    @property
    def owners(self) -> tuple[str, ...]:
        return (self.owner, *self.more_owners) if self.owner else self.more_owners

    @property
    def types(self) -> tuple[str, ...]:
        return (self.type_name, *self.more_types) if self.type_name else self.more_types

    @property
    def active(self) -> bool:
        return bool(self.text or self.owner or self.type_name or self.closing_within is not None
                    or self.idle_over is not None or self.snoozed)

    def describe(self) -> str:
        parts = []
        if self.text:
            parts.append(f'"{self.text}"')
        parts += [f"owner:{o}" for o in self.owners] + [f"type:{t}" for t in self.types]
        if self.closing_within is not None:
            parts.append(f"closing:<{self.closing_within}d")
        if self.idle_over is not None:
            parts.append(f"idle:>{self.idle_over}d")
        if self.snoozed:
            parts.append("snoozed:yes")
        return " ".join(parts)

    def matches(self, deal: DealView, *, now: datetime | None = None, last_touch: datetime | None = None) -> bool:
        """`last_touch` is the deal's last event or activity; without it, the later of entering its stage and its
        last activity."""
        if not self.matches_fields(deal.title, deal.company, deal.contact, deal.owner, deal.type_name):
            return False
        if now is None or (self.closing_within is None and self.idle_over is None):
            return True
        touch = last_touch or max(t for t in (deal.stage_entered_at, deal.last_activity_at) if t is not None)
        return self.matches_review(deal.expected_close, touch, now)

    def matches_review(self, expected_close: date | None, last_touch: datetime | None, now: datetime) -> bool:
        """The `closing:` and `idle:` terms (True when neither is set)."""
        if self.closing_within is not None and not closes_within(expected_close, now.date(), self.closing_within):
            return False
        return self.idle_over is None or is_idle(last_touch, now, self.idle_over)

    def matches_fields(self, title: str, company: str, contact: str, owner: str, type_name: str | None) -> bool:
        if self.owner and not _any_prefix(self.owners, owner):
            return False
        if self.type_name and not _any_prefix(self.types, type_name or ""):
            return False
        if self.text:
            needle = self.text.casefold()
            hay = f"{title}\n{company}\n{contact}\n{owner}".casefold()
            return all(word in hay for word in needle.split())
        return True


def _any_prefix(wanted: tuple[str, ...], name: str) -> bool:
    """`name` starts with one of `wanted` (case and spacing aside): owner:al matches Alice and Alan."""
    key = name_key(name)
    return any(key.startswith(name_key(w)) for w in wanted)


def parse_filter(query: str, *, me: str = "") -> DealFilter:
    """`acme owner:alice type:"new business" closing:<30d idle:>14d` -> DealFilter(text="acme", owner="alice",
    type_name="new business", closing_within=30, idle_over=14). A malformed `closing:`/`idle:` term is free text.

    `owner:` and `type:` match names that start with what is typed; quotes keep a name with spaces whole
    (`owner:"Ann Lee"`); a key given twice means either (`owner:bob owner:carol`); `owner:me` is the user `me`."""
    import shlex  # (a filter is typed after the board's first paint, which need not import it)

    try:
        tokens = shlex.split(query)
    except ValueError:  # an unbalanced quote: take the words as typed
        tokens = query.replace('"', " ").replace("'", " ").split()
    words: list[str] = []
    owners: list[str] = []
    types: list[str] = []
    closing: int | None = None
    idle: int | None = None
    snoozed = False
    for tok in tokens:
        low = tok.lower()
        if low in SNOOZED_TERMS:
            snoozed = True
        elif (m := _CLOSING.match(tok)) is not None:
            closing = int(m.group(1))
        elif (m := _IDLE.match(tok)) is not None:
            idle = int(m.group(1))
        elif low.startswith("owner:") and tok[6:].strip():
            name = tok[6:].strip()
            owners.append(me if me and name.lower() == "me" else name)
        elif low.startswith("type:") and tok[5:].strip():
            types.append(tok[5:].strip())
        elif not low.startswith(("owner:", "type:")):
            words.append(tok)
    return DealFilter(" ".join(words).strip(), owners[0] if owners else "", types[0] if types else "", closing, idle,
                      snoozed, tuple(owners[1:]), tuple(types[1:]))
