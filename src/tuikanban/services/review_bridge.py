"""The review's rules (`services.review_core`): a deal's state at a moment rewound from its row now and the
aggregates of its events after it (`services.review_reads`), and the value bridge between two moments.

Each deal's state at a moment (does it exist, open/won/lost, value, expected close, owner, stage) is its row as it
is now, rewound by every event after that moment that changes what the review reads: a `create` after it means
the deal did not exist; it was open if it is open now less the openings (create, reopen, the undo of a close or of
a delete, a restore into open) plus the closings (won, lost, the delete of an open deal, the redo of a close or of
such a delete) since; its value is today's less the value changes since (new - old of every edit, bulk edit, undo
and redo of one), counted when its currency then (the first currency change's `old_value`) is the pipeline's; its
close date, owner and stage are the `old_value` (or `from_stage_id`) of the first such change since (edits, undos
and redos alike; moves, closes, and the undo or redo of a move); a closed deal's outcome is what its first
reopening says it was.

The value bridge, per deal, from its state at `since` (S) to its state at `until` (E); a deal counts in the open
value at a moment when it is open then (and, with a closing period, its expected close date then falls in it):
- counted at S and at E: E's value minus S's value goes to `increased` or `decreased`;
- counted at S, not at E: it leaves at its value at E through `won`, `lost` or `deleted` (its status at E) or
  `pushed_out` (still open, close date moved out of the period); the change of value on the way goes to
  `increased` / `decreased`;
- counted at E, not at S: it enters at its value at E through `created` (did not exist at S), `reopened` (was
  closed at S) or `pulled_in` (open at S, close date outside the period);
- counted at neither, but created (or pulled in) during the period and closed by E (with its close date in the
  period): it enters and leaves at its value at E, so it shows in both buckets. A deal closed at both moments
  (reopened and closed again in between) is in no bucket.
So start + created + reopened + pulled_in + increased - decreased - won - lost - deleted - pushed_out = end, to
the minor unit. Money is summed in the pipeline's currency, as in the metrics.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from tuikanban.domain.text import name_key
from tuikanban.services.review_reads import (
    _AGG,
    _CLOSE,
    _CUR,
    _ID,
    _MOMENT,
    _OWNER,
    _STAGE,
    _STATUS,
    _TITLE,
    _VALUE,
    _at,
    _payload,
)

OPENING = ("create", "reopen")
CLOSING = ("won", "lost", "deleted")  # `deleted`: a deal removed from the pipeline leaves through its own bucket
BUCKETS = ("created", "reopened", "pulled_in", "increased", "decreased", "won", "lost", "deleted", "pushed_out")
CLOSED = ("won", "lost", "deleted")
ENTERING = {"absent": "created", "closed": "reopened", "open": "pulled_in"}


@dataclass(slots=True)
class DealState:
    """One deal at one moment; `status` is absent (not created yet), open, won, lost or deleted."""

    status: str
    value: int  # in the pipeline's currency; 0 for no value or another currency
    close: date | None
    owner: str
    stage_id: int


@dataclass(frozen=True, slots=True)
class Bucket:
    value_minor: int
    deals: tuple[int, ...]


@dataclass(slots=True)
class DealLine:
    """A deal in one of the review lists, with what the list is about in `detail`."""

    id: int
    title: str
    owner: str
    stage: str
    value_minor: int | None
    detail: dict[str, Any] = field(default_factory=dict)




def _current(r: Sequence[Any], currency: str) -> DealState:
    ok = r[_CUR] == currency
    return DealState(r[_STATUS], (r[_VALUE] or 0) if ok else 0, r[_CLOSE], r[_OWNER], r[_STAGE])



def _rewind(now_state: DealState, r: Sequence[Any], at: int, currency: str) -> DealState:
    """The deal's state at a moment from its state now and the aggregates of the events after it (at `r[at:]`);
    its value counts when its currency then is the pipeline's `currency`. The state now itself (not a copy) when
    nothing since changes it: states are never changed once made."""
    if len(r) <= _AGG:  # no event since
        return now_state
    created, opened, closed, dvalue, close, owner, stage, before, cur = r[at:at + _MOMENT]
    if (not (created or opened or closed or dvalue) and close is None and owner is None and stage is None
            and before is None and cur is None):
        return now_state  # nothing since that the review reads (a value change back and forth, a note): as now
    st = DealState(now_state.status, now_state.value, now_state.close, now_state.owner, now_state.stage_id)
    if created:
        st.status = "absent"
    elif (now_state.status == "open") - opened + closed > 0:
        st.status = "open"
    else:  # closed then: what the first change of status since says it was (won, lost or deleted)
        was = _payload(before)
        if was in CLOSED:
            st.status = was
        elif now_state.status == "open":
            st.status = "won"  # (a log without the status before its reopening)
        # else: closed now and at the moment, with no reopening since: as it is now
    if dvalue or cur is not None:
        then = _payload(cur) if cur is not None else r[_CUR]
        st.value = (int(r[_VALUE] or 0) - int(dvalue or 0)) if then == currency else 0
    if close is not None:
        text = _payload(close)
        st.close = date.fromisoformat(text) if text else None
    if owner is not None:
        st.owner = _payload(owner) or ""
    if stage is not None and _payload(stage):
        st.stage_id = int(_payload(stage) or 0)
    elif created and r[-3] is not None:
        st.stage_id = r[-3]  # a deal created later: the stage it was created in
    return st


def _pair(r: Sequence[Any], currency: str, rewound_end: bool) -> tuple[DealState, DealState]:
    """A deal's state at `since` and at `until` from its row (`until` is now unless `rewound_end`)."""
    current = _current(r, currency)
    if len(r) <= _AGG:  # no event since `since`: the same state at both moments
        return current, current
    at_end = _rewind(current, r, _at(1), currency) if rewound_end else current
    return _rewind(current, r, _at(0), currency), at_end


class _OwnerTest:
    """Is a state's owner `owner_key` (None: every owner passes)? Each owner's key computed once."""

    __slots__ = ("keys", "owner_key")

    def __init__(self, owner_key: str | None) -> None:
        self.owner_key = owner_key
        self.keys: dict[str, str] = {}

    def __call__(self, owner: str) -> bool:
        if self.owner_key is None:
            return True
        key = self.keys.get(owner)
        if key is None:
            key = self.keys[owner] = name_key(owner)
        return key == self.owner_key


def _states(rows: list[tuple[Any, ...]], currency: str, owner_key: str | None, *, rewound_end: bool
            ) -> dict[int, tuple[DealState, DealState]]:
    """deal id -> its state at `since` and at `until` (the deals of `owner_key` at `until`); a deal's moves and
    pushes are read from its row (`_moves_pushes`). (The report keeps them as `ChangedDeals` instead.)"""
    states: dict[int, tuple[DealState, DealState]] = {}
    owned = _OwnerTest(owner_key)
    for r in rows:
        at_start, at_end = _pair(r, currency, rewound_end)
        if owned(at_end.owner):
            states[r[_ID]] = (at_start, at_end)
    return states


class ChangedDeals:
    """The deals changed in a review's period (the deals of `owner_key` at `until`), one array per field: each
    deal's id, title, value as shown, moves and pushes (`_moves_pushes`) and its state at `since` and at `until`
    (status, value, close date as its ordinal, owner, stage), a few dozen bytes a deal instead of its row, a tuple
    of 30 values with their strings, and two `DealState`s (docs/PERFORMANCE.md, Memory of the screens). `add`
    takes a row of `review_reads._read_deals` as it is read; `pair(k)` makes the k-th deal's two states again."""

    NONE = -(2**63)  # (no value shown)

    def __init__(self, currency: str, owner_key: str | None, *, rewound_end: bool) -> None:
        self.currency = currency
        self.rewound_end = rewound_end
        self.owned = _OwnerTest(owner_key)
        self.ids = array("q")
        self.title: list[str] = []
        self.shown = array("q")  # the value shown in a line: now, in the pipeline's currency (NONE: none)
        self.moves = array("i")
        self.pushes = array("i")
        self._names: list[str] = []  # statuses and owners, each one string
        self._codes: dict[str, int] = {}
        # at `since` and at `until`: status and owner (codes), value, close date (its ordinal; 0: none), stage
        self.states = tuple(array(code) for code in ("I", "I", "q", "I", "q") * 2)

    def __len__(self) -> int:
        return len(self.ids)

    def _code(self, name: str) -> int:
        code = self._codes.get(name)
        if code is None:
            code = self._codes[name] = len(self._names)
            self._names.append(name)
        return code

    def add(self, r: Sequence[Any]) -> None:
        a, b = _pair(r, self.currency, self.rewound_end)
        if not self.owned(b.owner):
            return
        none = self.NONE
        self.ids.append(r[_ID])
        self.title.append(r[_TITLE])
        self.shown.append(none if r[_CUR] != self.currency or r[_VALUE] is None else r[_VALUE])
        moves, pushes = _moves_pushes(r)
        self.moves.append(moves)
        self.pushes.append(pushes)
        for i, st in ((0, a), (5, b)):
            self.states[i].append(self._code(st.status))
            self.states[i + 1].append(self._code(st.owner))
            self.states[i + 2].append(st.value)
            self.states[i + 3].append(0 if st.close is None else st.close.toordinal())
            self.states[i + 4].append(st.stage_id)

    def value_shown(self, k: int) -> int | None:
        v = self.shown[k]
        return None if v == self.NONE else v

    def _state(self, k: int, i: int) -> DealState:
        names, cols = self._names, self.states
        close = cols[i + 3][k]
        return DealState(names[cols[i][k]], cols[i + 2][k], date.fromordinal(close) if close else None,
                         names[cols[i + 1][k]], cols[i + 4][k])

    def pair(self, k: int) -> tuple[DealState, DealState]:
        """The k-th deal's state at `since` and at `until` (made again from the arrays)."""
        return self._state(k, 0), self._state(k, 5)

    def by_id(self) -> Iterator[tuple[int, DealState, DealState]]:
        """(deal id, its state at `since`, at `until`) of every deal, in id order (`_bridge`)."""
        ids = self.ids
        for k in sorted(range(len(ids)), key=ids.__getitem__):
            yield ids[k], *self.pair(k)


def _moves_pushes(r: Sequence[Any]) -> tuple[int, int]:
    """A deal's stage moves and close-date pushes in the period, from its row (undone ones taken back, never
    below zero; none for a deal without events since)."""
    if len(r) <= _AGG:
        return 0, 0
    return max(0, int(r[-2] or 0)), max(0, int(r[-1] or 0))


def _always(_d: date | None) -> bool:
    return True


_ALWAYS = _always


def _period_test(closing: tuple[date, date] | None) -> Any:
    if closing is None:
        return _ALWAYS
    first, last = closing
    return lambda d: d is not None and first <= d <= last


def _bridge(states: Iterable[tuple[int, DealState, DealState]], in_period: Any
            ) -> tuple[dict[str, Bucket], int, int]:
    """The value bridge of the deals' (id, state at `since`, state at `until`), given in id order."""
    sums = dict.fromkeys(BUCKETS, 0)
    deals: dict[str, list[int]] = {b: [] for b in BUCKETS}
    start_value = end_value = 0
    every = in_period is _ALWAYS  # no closing period: every date is in it (the test left out, 80,000 calls)
    for deal_id, a, b in states:
        counted_a = a.status == "open" and (every or in_period(a.close))
        counted_b = b.status == "open" and (every or in_period(b.close))
        if counted_a:
            start_value += a.value
        if counted_b:
            end_value += b.value
        if not counted_a:
            if not (counted_b or (b.status in CLOSING and a.status in ("open", "absent")
                                  and (every or in_period(b.close)))):
                continue
            bucket = ENTERING["closed" if a.status in CLOSING else a.status]
            sums[bucket] += b.value
            deals[bucket].append(deal_id)
            if counted_b:
                continue
        elif b.value != a.value:
            bucket = "increased" if b.value > a.value else "decreased"
            sums[bucket] += abs(b.value - a.value)
            deals[bucket].append(deal_id)
        if not counted_b:
            bucket = b.status if b.status in CLOSING else "pushed_out"
            sums[bucket] += b.value
            deals[bucket].append(deal_id)
    bridge = {k: Bucket(sums[k], tuple(deals[k])) for k in BUCKETS}
    return bridge, start_value, end_value



__all__ = ["BUCKETS", "CLOSED", "CLOSING", "ENTERING", "OPENING", "Bucket", "ChangedDeals", "DealLine", "DealState"]
