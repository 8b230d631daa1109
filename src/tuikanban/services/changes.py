"""What changed in a pipeline between two moments: the review itself is `services.review_core` (plain SQL on a
`store.uow.Unit`, so that `changes` reads without the ORM; the rules of the rewind and of the value bridge are in
the docstring of `services.review_bridge`), re-exported here. This module keeps the same rules as SQLAlchemy
expressions (`_OPENS`, `_CLOSES`, `_first`, ...) for the forecast's backtest (`services.forecast_backtest`) and
`states_at`, a deal's state at many moments (the rewind of `review_bridge`, one GROUP BY per deal and slice
between two moments).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, String, and_, case, cast, exists, func, literal, or_, select, text, true
from sqlalchemy.sql.expression import ColumnElement

from tuikanban.services.review_bridge import (
    BUCKETS,
    CLOSED,
    CLOSING,
    ENTERING,
    OPENING,
    Bucket,
    DealLine,
    DealState,
    _current,
    _rewind,
)
from tuikanban.services.review_core import (
    CLOSING_SOON_DAYS,
    IDLE_DAYS,
    ChangesReport,
    add_idle,
    changes_in,
    changes_json,
    compute_changes,
)
from tuikanban.services.review_reads import _MOMENT, _at
from tuikanban.services.review_reads import _payload as _payload  # (the backtest reads first payloads with it)
from tuikanban.store.sqlfuncs import sortable_at
from tuikanban.store.tables import NOT_VALUE_CHANGE, Deal, Event

_DEAL = Deal.__table__  # type: ignore[attr-defined]
_EVENT = Event.__table__  # type: ignore[attr-defined]
_D = _DEAL.c
_E = _EVENT.c


# -- reading the log ---------------------------------------------------------------------------------

# Every event kind that changes a field the rewind reads (docs/RULES.md, Event log and Undo): an undo or a redo of
# an edit is a field change like the edit (`field`, `old_value` the text before, `new_value` the text after); the
# undo of a close (`old_value` won/lost) or of a delete (`new_value` the status set back) and a restore
# (`new_value`) open a deal again; a redo of a close (a stage, no status) or of a delete of an open deal
# (`old_value` open) closes it; a delete closes only an open deal (`old_value` the status before).
_STATUSES = ("open", "won", "lost")
_UNDO_CLOSE = and_(_E.kind == "undo", _E.old_value.in_(("won", "lost")))
_UNDO_DELETE = and_(_E.kind == "undo", _E.field.is_(None), _E.old_value.is_(None), _E.new_value.in_(_STATUSES))
_OPENS = or_(_E.kind.in_(OPENING), _UNDO_CLOSE,
             and_(or_(_UNDO_DELETE, _E.kind == "restored"), _E.new_value == "open"))
_REDO_CLOSE = and_(_E.kind == "redo", _E.field.is_(None), _E.to_stage_id.is_(None), _E.from_stage_id.is_not(None))
# The status a deal had before an event that changes it from a closed one (a reopening, a restore, a delete or its
# redo of a won or lost deal): the first such event after a moment says what a deal closed then was. (Only these:
# a deal closed at a moment has one of them as its first change of status since; fewer texts to build.)
_FROM_CLOSED = or_(_E.kind.in_(("reopen", "restored")), _UNDO_CLOSE, _UNDO_DELETE,
                   and_(_E.kind.in_(("deleted", "redo")), _E.field.is_(None), _E.old_value.in_(("won", "lost"))))
_BEFORE = case((_E.kind.in_(("restored", "undo")) & _E.old_value.is_(None), literal("deleted")), else_=_E.old_value)
_CLOSES = or_(_E.kind.in_(("won", "lost")),
              and_(_E.kind == "deleted", func.coalesce(_E.old_value, "open") == "open"),
              and_(_REDO_CLOSE, func.coalesce(_E.old_value, "open") == "open"))
_STAGE_LEFT = or_(_E.kind.in_(("move", "won", "lost")),
                  and_(_E.kind.in_(("undo", "redo")), _E.from_stage_id.is_not(None)))
_KINDS = ("create", "reopen", "won", "lost", "deleted", "restored", "undo", "redo", "move", "edit")


def _edit(field_name: str) -> ColumnElement[bool]:
    """A change of one field: an edit (one deal or a bulk edit) or the undo or redo of one."""
    return and_(_E.kind.in_(("edit", "undo", "redo")), _E.field == field_name)


def _count(cond: ColumnElement[bool]) -> Any:
    return func.sum(case((cond, 1), else_=0))


def _first(cond: ColumnElement[bool], payload: Any) -> Any:
    """The payload of the earliest event matching `cond`, as `sortable_at(at)|payload` (None without one)."""
    return func.min(case((cond, sortable_at(_E.at) + "|" + func.coalesce(payload, "")), else_=None))


def _moment_columns(after: ColumnElement[bool], tag: str) -> list[Any]:
    """What rewinds a deal to a moment: the events after it (`after`) counted, summed or taken first."""
    def as_int(c: Any) -> Any:
        return func.coalesce(cast(c, BigInteger), 0)

    return [
        _count(and_(after, _E.kind == "create")).label(f"created_{tag}"),
        _count(and_(after, _OPENS)).label(f"opened_{tag}"),
        _count(and_(after, _CLOSES)).label(f"closed_{tag}"),
        func.sum(case((and_(after, _edit("value")), as_int(_E.new_value) - as_int(_E.old_value)), else_=0))
        .label(f"dvalue_{tag}"),
        _first(and_(after, _edit("close")), _E.old_value).label(f"close_{tag}"),
        _first(and_(after, _edit("owner")), _E.old_value).label(f"owner_{tag}"),
        _first(and_(after, _STAGE_LEFT), cast(_E.from_stage_id, String)).label(f"stage_{tag}"),
        _first(and_(after, _FROM_CLOSED), _BEFORE).label(f"before_{tag}"),
        _first(and_(after, _edit("currency")), _E.old_value).label(f"currency_{tag}"),
    ]


def states_at(conn: Any, pipeline_id: int, moments: Sequence[datetime], currency: str
              ) -> dict[int, list[DealState]]:
    """deal id -> its state at each of `moments` (ascending), for every deal open at one of them or now.

    The events after the first moment are grouped per deal and per slice between two moments (one CASE per event,
    not one per event and moment); each moment's aggregates are then the slices after it, added up in Python."""
    n = len(moments)
    whens = [(_E.at > moments[i], i) for i in range(n - 1, 0, -1)]
    bucket = (case(*whens, else_=0) if whens else literal(0)).label("bucket")  # CASE needs one WHEN
    agg = (select(_E.deal_id, bucket, *_moment_columns(true(), "b"),
                  func.max(case((_E.kind == "create", _E.to_stage_id), else_=None)))
           .where(_E.pipeline_id == pipeline_id, _E.at > moments[0], _E.kind.in_(_KINDS))
           .group_by(_E.deal_id, bucket))
    slices: dict[int, dict[int, tuple[Any, ...]]] = {}
    for row in conn.execute(agg):
        slices.setdefault(row[0], {})[row[1]] = tuple(row[2:])
    deal_cols = (_D.id, _D.title, _D.owner, _D.value_minor, _D.currency, _D.expected_close, _D.stage_id,
                 _D.status)
    # a deal with any event after the first moment: its value changes and its other events, each a seek per deal
    # in a covering partial index (ix_event_value, ix_event_deal_state) instead of the range of the whole log
    touched = [exists().where(_E.deal_id == _D.id, _E.at > moments[0], _E.pipeline_id == pipeline_id, part)
               for part in (_E.field == "value", text(f"({NOT_VALUE_CHANGE})"))]
    q = select(*deal_cols).where(_D.pipeline_id == pipeline_id, or_(_D.status == "open", *touched))
    out: dict[int, list[DealState]] = {}
    for r in conn.execute(q):
        now_state = _current(tuple(r), currency)
        by_slice = slices.get(r[0])
        if by_slice is None:
            out[r[0]] = [now_state] * n
            continue
        out[r[0]] = _states_from_slices(now_state, tuple(r), by_slice, n, currency)
    return out


def _states_from_slices(now_state: DealState, r: tuple[Any, ...], by_slice: dict[int, tuple[Any, ...]], n: int,
                        currency: str) -> list[DealState]:
    """The deal's state at each of n moments from its per-slice aggregates. Moment i is rewound by the slices >= i
    (counts and sums added, the first event taken from the earliest slice that has one); a moment whose slice has
    no event has the state of the next moment, so a deal is rewound once per slice with events, not once per
    moment (the backtest's 12 points: about 2 rewinds a deal instead of 12)."""
    create_stage = max((x[-1] or 0) for x in by_slice.values()) or None
    acc: tuple[Any, ...] = (0, 0, 0, 0, *([None] * (_MOMENT - 4)))
    states = [now_state] * n
    state = now_state
    for i in range(n - 1, -1, -1):
        b = by_slice.get(i)
        if b is not None:
            acc = (*(int(b[k] or 0) + int(acc[k] or 0) for k in range(4)),
                   *(b[k] if b[k] is not None else acc[k] for k in range(4, _MOMENT)))
            state = _rewind(now_state, (*r, r[0], *acc, create_stage, 0, 0), _at(0), currency)
        states[i] = state
    return states


__all__ = [
    "BUCKETS", "CLOSED", "CLOSING", "CLOSING_SOON_DAYS", "ENTERING", "IDLE_DAYS", "OPENING", "Bucket",
    "ChangesReport", "DealLine", "DealState", "add_idle", "changes_in", "changes_json", "compute_changes",
    "states_at",
]
