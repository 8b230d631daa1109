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

from collections.abc import Sequence
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


def _states(rows: list[tuple[Any, ...]], currency: str, owner_key: str | None, *, rewound_end: bool
            ) -> dict[int, tuple[DealState, DealState]]:
    """deal id -> its state at `since` and at `until` (the deals of `owner_key` at `until`); a deal's moves and
    pushes are read from its row (`_moves_pushes`)."""
    states: dict[int, tuple[DealState, DealState]] = {}
    owner_keys: dict[str, str] = {}
    for r in rows:
        current = _current(r, currency)
        if len(r) <= _AGG:  # no event since `since`: the same state at both moments
            at_start = at_end = current
        else:
            at_end = _rewind(current, r, _at(1), currency) if rewound_end else current
            at_start = _rewind(current, r, _at(0), currency)
        if owner_key is not None:
            key = owner_keys.get(at_end.owner)
            if key is None:
                key = owner_keys[at_end.owner] = name_key(at_end.owner)
            if key != owner_key:
                continue
        states[r[_ID]] = (at_start, at_end)
    return states


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


def _bridge(states: dict[int, tuple[DealState, DealState]], in_period: Any) -> tuple[dict[str, Bucket], int, int]:
    sums = dict.fromkeys(BUCKETS, 0)
    deals: dict[str, list[int]] = {b: [] for b in BUCKETS}
    start_value = end_value = 0
    every = in_period is _ALWAYS  # no closing period: every date is in it (the test left out, 80,000 calls)
    for deal_id in sorted(states):
        a, b = states[deal_id]
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



__all__ = ["BUCKETS", "CLOSED", "CLOSING", "ENTERING", "OPENING", "Bucket", "DealLine", "DealState"]
