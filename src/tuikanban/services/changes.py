"""What changed in a pipeline between two moments, reconstructed from the event log (the manager's weekly review).

Each deal's state at a moment (does it exist, open/won/lost, value, expected close, owner, stage) is its row as it
is now, rewound by every event after that moment that changes what the review reads: a `create` after it means
the deal did not exist; it was open if it is open now less the openings (create, reopen, the undo of a close or of
a delete, a restore into open) plus the closings (won, lost, the delete of an open deal, the redo of a close or of
such a delete) since; its value is today's less the value changes since (new - old of every edit, bulk edit, undo
and redo of one), counted when its currency then (the first currency change's `old_value`) is the pipeline's; its
close date, owner and stage are the `old_value` (or `from_stage_id`) of the first such change since (edits, undos
and redos alike; moves, closes, and the undo or redo of a move); a closed deal's outcome is what its first
reopening says it was.
So only the events after `since` are read, in one GROUP BY per deal over a covering index (the earliest event of a
kind is found as MIN of its fixed-width time followed by its payload), and deals without such events are taken as
they are now.

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
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import BigInteger, String, and_, case, cast, func, literal, or_, select, true
from sqlalchemy.sql.expression import ColumnElement
from sqlmodel import Session

from tuikanban.domain import clock
from tuikanban.domain.errors import NotFoundError, ValidationError
from tuikanban.domain.filters import closes_within, is_idle
from tuikanban.domain.models import PipelineInfo
from tuikanban.domain.money import to_json_number
from tuikanban.domain.text import display, name_key
from tuikanban.services.common import pipeline_info, resolve_pipeline
from tuikanban.services.review_lists import last_touches
from tuikanban.store.engine import Database
from tuikanban.store.sqlfuncs import SORTABLE_AT_WIDTH, sortable_at, unindexed
from tuikanban.store.tables import Activity, Deal, Event, Stage

_DEAL = Deal.__table__  # type: ignore[attr-defined]
_EVENT = Event.__table__  # type: ignore[attr-defined]
_D = _DEAL.c
_E = _EVENT.c
_A = Activity.__table__.c  # type: ignore[attr-defined]
_S = Stage.__table__.c  # type: ignore[attr-defined]

OPENING = ("create", "reopen")
CLOSING = ("won", "lost", "deleted")  # `deleted`: a deal removed from the pipeline leaves through its own bucket
BUCKETS = ("created", "reopened", "pulled_in", "increased", "decreased", "won", "lost", "deleted", "pushed_out")
CLOSED = ("won", "lost", "deleted")
ENTERING = {"absent": "created", "closed": "reopened", "open": "pulled_in"}
IDLE_DAYS = 14
CLOSING_SOON_DAYS = 30


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


@dataclass(frozen=True, slots=True)
class ChangesReport:
    pipeline: PipelineInfo
    since: datetime
    until: datetime
    owner: str | None
    closing: tuple[date, date] | None
    idle_days: int
    start_value_minor: int
    end_value_minor: int
    bridge: dict[str, Bucket]
    new: tuple[DealLine, ...]
    moved: tuple[DealLine, ...]
    pushed: tuple[DealLine, ...]
    idle: tuple[DealLine, ...]
    closing_soon: tuple[DealLine, ...]
    idle_pending: bool = False  # computed without the idle list (`with_idle=False`): `idle` is empty, not known
    open_at_end: tuple[DealLine, ...] = ()  # while `idle_pending`: the deals open at `until`, for `add_idle`

    @property
    def currency(self) -> str:
        return self.pipeline.currency


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


def _read_deals(conn: Any, pipeline_id: int, moments: Sequence[datetime], until: datetime) -> list[Any]:
    """One row per deal open now or changed since the first of `moments` (ascending): its row now and, from one
    GROUP BY over the events after that moment (SQLite's planner reads them from the covering index
    ix_event_review; the dialect drops SELECT hints, so none is given), what rewinds it to each moment; stage moves
    and close-date pushes are counted up to `until`."""
    is_close = and_(_edit("close"), _E.at <= until, _E.old_value.is_not(None), _E.old_value != "",
                    _E.new_value.is_not(None), _E.new_value != "")
    # a push moves the date later (an edit, or the redo of one); the undo of a push (it moves the date back
    # earlier) takes it back, so a push undone counts as if it never happened. ISO dates compare as text.
    push = case((and_(is_close, _E.kind != "undo", _E.new_value > _E.old_value), 1),
                (and_(is_close, _E.kind == "undo", _E.new_value < _E.old_value), -1), else_=0)
    deal = unindexed(_E.deal_id)  # the period's range of the covering index, not the whole log in deal order
    columns = [
        deal.label("deal_id"),
        *(c for i, m in enumerate(moments) for c in _moment_columns(true() if i == 0 else _E.at > m, f"m{i}")),
        func.max(case((_E.kind == "create", _E.to_stage_id), else_=None)).label("create_stage"),
        func.sum(case((and_(_E.at <= until, _E.from_stage_id.is_not(None), _E.to_stage_id.is_not(None)),
                      case((_E.kind.in_(("move", "redo")), 1), (_E.kind == "undo", -1), else_=0)), else_=0))
        .label("moves"),  # a move, or the redo of one; the undo of a move takes it back
        func.sum(push).label("pushes"),
    ]
    agg = (select(*columns).where(_E.pipeline_id == pipeline_id, _E.at > moments[0], _E.kind.in_(_KINDS))
           .group_by(deal).subquery())
    deal_cols = (_D.id, _D.title, _D.owner, _D.value_minor, _D.currency, _D.expected_close, _D.stage_id,
                 _D.status)
    rows = {r[0]: tuple(r) for r in conn.execute(
        select(*deal_cols, agg).join_from(agg, _DEAL, _D.id == agg.c.deal_id))}
    for r in conn.execute(select(*deal_cols).where(_D.pipeline_id == pipeline_id, _D.status == "open")):
        rows.setdefault(r[0], tuple(r))
    return list(rows.values())


# positions in a row of _read_deals: the deal's columns, then (when it changed) the event aggregates
_ID, _TITLE, _OWNER, _VALUE, _CUR, _CLOSE, _STAGE, _STATUS, _AGG = range(9)
_MOMENT = 9  # columns per moment in _moment_columns


def _at(i: int) -> int:
    """Where the aggregates of moment i start in a row of _read_deals."""
    return _AGG + 1 + i * _MOMENT


def _current(r: tuple[Any, ...], currency: str) -> DealState:
    ok = r[_CUR] == currency
    return DealState(r[_STATUS], (r[_VALUE] or 0) if ok else 0, r[_CLOSE], r[_OWNER], r[_STAGE])


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
    touched = select(_E.deal_id).where(_E.pipeline_id == pipeline_id, _E.at > moments[0])
    q = select(*deal_cols).where(_D.pipeline_id == pipeline_id, or_(_D.status == "open", _D.id.in_(touched)))
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


def _payload(first: str | None) -> str | None:
    return None if first is None else first[SORTABLE_AT_WIDTH + 1:]


def _rewind(now_state: DealState, r: tuple[Any, ...], at: int, currency: str) -> DealState:
    """The deal's state at a moment from its state now and the aggregates of the events after it (at `r[at:]`);
    its value counts when its currency then is the pipeline's `currency`."""
    if len(r) <= _AGG:  # no event since
        return now_state
    created, opened, closed, dvalue, close, owner, stage, before, cur = r[at:at + _MOMENT]
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


# -- the report --------------------------------------------------------------------------------------


def compute_changes(
    db: Database,
    pipeline: str | int | None,
    *,
    since: datetime,
    until: datetime | None = None,
    owner: str | None = None,
    closing: tuple[date, date] | None = None,
    idle_days: int = IDLE_DAYS,
    with_idle: bool = True,
) -> ChangesReport:
    """The value bridge and the review lists of one pipeline between `since` and `until` (default now); without
    the idle list (`idle_pending`) when not `with_idle`, the one list that reads every open deal's last touch."""
    now = clock.now()
    end = clock.as_utc(until) if until is not None else now
    start = clock.as_utc(since)
    if start > end:
        raise ValidationError(f"--since ({start:%Y-%m-%d %H:%M}) must not be after --until ({end:%Y-%m-%d %H:%M}).")
    if end > now + timedelta(minutes=5):
        raise ValidationError(f"--until ({end:%Y-%m-%d %H:%M}) is in the future.")
    if idle_days < 1:
        raise ValidationError("--idle-days must be at least 1.")
    with db.read() as s:
        p = resolve_pipeline(s, pipeline)
        assert p.id is not None
        info = pipeline_info(p)
        conn = s.connection()
        owner_key = _owner_key(s, p.id, owner)
        stages = {r.id: (r.name, r.position) for r in conn.execute(
            select(_S.id, _S.name, _S.position).where(_S.pipeline_id == p.id))}
        rows = _read_deals(conn, p.id, [start, end] if end < now else [start], end)
        states: dict[int, tuple[DealState, DealState]] = {}
        counts: dict[int, tuple[int, int]] = {}
        owner_keys: dict[str, str] = {}
        rewound_end = end < now
        for r in rows:
            current = _current(r, info.currency)
            if len(r) <= _AGG:  # no event since `since`: the same state at both moments
                at_start = at_end = current
            else:
                at_end = _rewind(current, r, _at(1), info.currency) if rewound_end else current
                at_start = _rewind(current, r, _at(0), info.currency)
                counts[r[_ID]] = (max(0, int(r[-2] or 0)), max(0, int(r[-1] or 0)))  # (undone from before `since`)
            if owner_key is not None:
                key = owner_keys.get(at_end.owner)
                if key is None:
                    key = owner_keys[at_end.owner] = name_key(at_end.owner)
                if key != owner_key:
                    continue
            states[r[_ID]] = (at_start, at_end)
        by_id = {r[_ID]: r for r in rows}
        open_at_end = [i for i, (_s, e) in states.items() if e.status == "open"]
        idle = _idle(conn, open_at_end, end, idle_days) if with_idle else []

    def line(deal_id: int, st: DealState, **detail: Any) -> DealLine:
        r = by_id[deal_id]
        return DealLine(deal_id, r[_TITLE], st.owner, stages.get(st.stage_id, ("?", 0))[0],
                        r[_VALUE] if r[_CUR] == info.currency else None, detail)

    in_period = _period_test(closing)
    bridge, start_value, end_value = _bridge(states, in_period)
    moved, pushed, new, soon = [], [], [], []
    for deal_id, (a, b) in states.items():
        moves, pushes = counts.get(deal_id, (0, 0))
        if b.status == "absent":
            continue
        if a.status == "absent":
            new.append(line(deal_id, b, status=b.status))
        if a.status in ("open", "absent") and b.status == "open" and moves and a.stage_id != b.stage_id:
            before, after = stages.get(a.stage_id, ("?", 0)), stages.get(b.stage_id, ("?", 0))
            moved.append(line(deal_id, b, from_stage=before[0], to_stage=after[0], moves=moves,
                              direction="forward" if after[1] > before[1] else "back"))
        if pushes:
            pushed.append(line(deal_id, b, pushes=pushes, close_before=a.close, close_after=b.close))
        if b.status == "open" and closes_within(b.close, end.date(), CLOSING_SOON_DAYS):
            soon.append(line(deal_id, b, expected_close=b.close))
    idle_lines = [line(i, states[i][1], **_idle_detail(last, end)) for i, last in idle]
    open_lines = () if with_idle else tuple(line(i, states[i][1]) for i in open_at_end)
    return ChangesReport(
        pipeline=info, since=start, until=end, owner=owner if owner_key is not None else None, closing=closing,
        idle_days=idle_days, start_value_minor=start_value, end_value_minor=end_value, bridge=bridge,
        new=tuple(sorted(new, key=lambda x: x.id)),
        moved=tuple(sorted(moved, key=lambda x: (x.detail["direction"] != "forward", x.id))),
        pushed=tuple(sorted(pushed, key=lambda x: (-x.detail["pushes"], x.id))),
        idle=_idle_order(idle_lines),
        closing_soon=tuple(sorted(soon, key=lambda x: (x.detail["expected_close"], x.id))),
        idle_pending=not with_idle,
        open_at_end=open_lines,
    )


def _idle_detail(last: datetime | None, end: datetime) -> dict[str, Any]:
    return {"idle_days": int(clock.days_between(last, end)) if last else None, "last_touch": last}


def _idle_order(lines: list[DealLine]) -> tuple[DealLine, ...]:
    return tuple(sorted(lines, key=lambda x: (-(x.detail["idle_days"] or 10**6), x.id)))


def add_idle(db: Database, report: ChangesReport) -> ChangesReport:
    """A report computed without its idle list (`with_idle=False`) completed with it: the same list, for the same
    moments, as `compute_changes` would have given, read for the deals open at `until` alone."""
    if not report.idle_pending:
        return report
    by_id = {x.id: x for x in report.open_at_end}
    with db.read() as s:
        idle = _idle(s.connection(), list(by_id), report.until, report.idle_days)
    lines = [DealLine(i, by_id[i].title, by_id[i].owner, by_id[i].stage, by_id[i].value_minor,
                      _idle_detail(last, report.until)) for i, last in idle]
    return replace(report, idle=_idle_order(lines), idle_pending=False, open_at_end=())


def _owner_key(s: Session, pipeline_id: int, owner: str | None) -> str | None:
    if owner is None or not owner.strip():
        return None
    key = name_key(owner)
    stored = s.connection().execute(select(_D.owner).where(_D.pipeline_id == pipeline_id).distinct())
    if not any(name_key(o) == key for (o,) in stored):
        raise NotFoundError(f"No deal in this pipeline is owned by '{display(owner)}'.")
    return key


def _idle(conn: Any, open_ids: list[int], until: datetime, days: int) -> list[tuple[int, datetime | None]]:
    """(deal id, last event or activity up to `until`) of the open deals with neither in the last `days` days."""
    last = last_touches(conn, open_ids, until)
    return [(i, last.get(i)) for i in open_ids if is_idle(last.get(i), until, days)]


def _period_test(closing: tuple[date, date] | None) -> Any:
    if closing is None:
        return lambda _d: True
    first, last = closing
    return lambda d: d is not None and first <= d <= last


def _bridge(states: dict[int, tuple[DealState, DealState]], in_period: Any) -> tuple[dict[str, Bucket], int, int]:
    sums = dict.fromkeys(BUCKETS, 0)
    deals: dict[str, list[int]] = {b: [] for b in BUCKETS}
    start_value = end_value = 0

    def add(bucket: str, deal_id: int, amount: int) -> None:
        sums[bucket] += amount
        deals[bucket].append(deal_id)

    for deal_id, (a, b) in sorted(states.items()):
        counted_a = a.status == "open" and in_period(a.close)
        counted_b = b.status == "open" and in_period(b.close)
        start_value += a.value if counted_a else 0
        end_value += b.value if counted_b else 0
        closes = b.status in CLOSING and in_period(b.close)
        if not counted_a:
            if not (counted_b or (closes and a.status in ("open", "absent"))):
                continue
            add(ENTERING["closed" if a.status in CLOSING else a.status], deal_id, b.value)
            if counted_b:
                continue
        elif b.value != a.value:
            add("increased" if b.value > a.value else "decreased", deal_id, abs(b.value - a.value))
        if not counted_b:
            add(b.status if b.status in CLOSING else "pushed_out", deal_id, b.value)
    bridge = {k: Bucket(sums[k], tuple(deals[k])) for k in BUCKETS}
    return bridge, start_value, end_value


# -- JSON ----------------------------------------------------------------------------------------------


def _line_json(x: DealLine, currency: str) -> dict[str, Any]:
    doc: dict[str, Any] = {"id": x.id, "title": x.title, "owner": x.owner, "stage": x.stage,
                           "value": to_json_number(x.value_minor, currency)}
    for k, v in x.detail.items():
        doc[k] = v.isoformat() if isinstance(v, date | datetime) else v
    return doc


def changes_json(r: ChangesReport) -> dict[str, Any]:
    cur = r.currency
    return {
        "pipeline": r.pipeline.name,
        "since": r.since.isoformat(),
        "until": r.until.isoformat(),
        "owner": r.owner,
        "closing": None if r.closing is None else {"from": r.closing[0].isoformat(), "to": r.closing[1].isoformat()},
        "start_value": to_json_number(r.start_value_minor, cur),
        "end_value": to_json_number(r.end_value_minor, cur),
        "bridge": {k: {"value": to_json_number(b.value_minor, cur), "deals": list(b.deals)}
                   for k, b in r.bridge.items()},
        "new": [_line_json(x, cur) for x in r.new],
        "moved": [_line_json(x, cur) for x in r.moved],
        "pushed": [_line_json(x, cur) for x in r.pushed],
        "idle_days": r.idle_days,
        "idle": [_line_json(x, cur) for x in r.idle],
        "closing_soon": [_line_json(x, cur) for x in r.closing_soon],
    }


__all__ = [
    "BUCKETS", "Bucket", "ChangesReport", "DealLine", "DealState", "add_idle", "changes_json", "compute_changes",
    "states_at",
]
