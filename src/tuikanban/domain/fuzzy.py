"""Fuzzy matching for pickers (jump to a deal, move to stage): the letters typed must appear in order; a match
that starts words, runs on without gaps and comes early scores higher. An exact id (`42` or `#42`) wins."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Candidate:
    key: int  # what the picker returns (a deal or stage id)
    label: str  # what it shows
    text: str  # what is searched (title, company, ...)


def score(query: str, text: str) -> int | None:
    """How well `query` matches `text` (higher is better), or None when its letters are not all in order."""
    q = "".join(query.casefold().split())
    t = text.casefold()
    if not q:
        return 0
    total, at, run = 0, -1, 0
    for ch in q:
        found = t.find(ch, at + 1)
        if found < 0:
            return None
        run = run + 1 if found == at + 1 else 0
        starts_word = found == 0 or not t[found - 1].isalnum()
        total += 1 + 3 * run + (5 if starts_word else 0) - min(found - at - 1, 5)
        at = found
    return total * 4 - at // 8  # earlier matches win ties


def rank(query: str, candidates: Sequence[Candidate], limit: int = 50) -> list[Candidate]:
    """The candidates matching `query`, best first (stable for equal scores); an exact id first of all."""
    wanted = query.strip().lstrip("#")
    exact = [c for c in candidates if wanted.isdigit() and c.key == int(wanted)]
    scored = []
    for i, c in enumerate(candidates):
        s = score(query, c.text)
        if s is not None and c not in exact:
            scored.append((-s, i, c))
    scored.sort(key=lambda row: (row[0], row[1]))
    return (exact + [c for _s, _i, c in scored])[:limit]


__all__ = ["Candidate", "rank", "score"]
