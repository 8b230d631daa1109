"""The board's filter: free text plus `owner:NAME` and `type:NAME` terms. Shared by the board and the aging panel."""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from tuikanban.domain.models import DealView
from tuikanban.domain.text import name_key


@dataclass(frozen=True, slots=True)
class DealFilter:
    text: str = ""
    owner: str = ""
    type_name: str = ""

    @property
    def active(self) -> bool:
        return bool(self.text or self.owner or self.type_name)

    def describe(self) -> str:
        parts = []
        if self.text:
            parts.append(f'"{self.text}"')
        if self.owner:
            parts.append(f"owner:{self.owner}")
        if self.type_name:
            parts.append(f"type:{self.type_name}")
        return " ".join(parts)

    def matches(self, deal: DealView) -> bool:
        return self.matches_fields(deal.title, deal.company, deal.contact, deal.owner, deal.type_name)

    def matches_fields(self, title: str, company: str, contact: str, owner: str, type_name: str | None) -> bool:
        if self.owner and name_key(owner) != name_key(self.owner):
            return False
        if self.type_name and name_key(type_name or "") != name_key(self.type_name):
            return False
        if self.text:
            needle = self.text.casefold()
            hay = f"{title}\n{company}\n{contact}\n{owner}".casefold()
            return all(word in hay for word in needle.split())
        return True


def parse_filter(query: str) -> DealFilter:
    """`acme owner:alice type:"new business"` -> DealFilter(text="acme", owner="alice", type_name="new business")."""
    try:
        tokens = shlex.split(query)
    except ValueError:  # an unbalanced quote: take the words as typed
        tokens = query.replace('"', " ").replace("'", " ").split()
    words: list[str] = []
    owner = type_name = ""
    for tok in tokens:
        low = tok.lower()
        if low.startswith("owner:"):
            owner = tok[6:].strip()
        elif low.startswith("type:"):
            type_name = tok[5:].strip()
        else:
            words.append(tok)
    return DealFilter(" ".join(words).strip(), owner, type_name)
