"""What changed in a pipeline between two moments, reconstructed from the event log (the manager's weekly review).

Each deal's state at a moment (does it exist, open/won/lost, value, expected close, owner, stage) is its row as it
is now, rewound by the first event of each kind after that moment: a value edit's `old_value` is the value before
it, a `won` event means the deal was open before it, a `reopen` means it was closed, a `create` means it did not
exist, a move's `from_stage_id` is the stage it left. So only the events after `since` are read, with one window
query (`ROW_NUMBER` per deal and kind of change), and deals without such events are taken as they are now.

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

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.sql.expression import ColumnElement
from sqlmodel import Session

from tuikanban.domain import clock
from tuikanban.domain.errors import NotFoundError, ValidationError
from tuikanban.domain.models import PipelineInfo
from tuikanban.domain.money import to_json_number
from tuikanban.domain.text import display, name_key
from tuikanban.services.common import pipeline_info, resolve_pipeline
from tuikanban.store.engine import Database
from tuikanban.store.tables import Activity, Deal, Event, Stage

_D = Deal.__table__.c  # type: ignore[attr-defined]
_E = Event.__table__.c  # type: ignore[attr-defined]
_A = Activity.__table__.c  # type: ignore[attr-defined]
_S = Stage.__table__.c  # type: ignore[attr-defined]

OPENING = ("create", "reopen")
CLOSING = ("won", "lost", "deleted")  # `deleted`: a deal removed from the pipeline leaves through its own bucket
BUCKETS = ("created", "reopened", "pulled_in", "increased", "decreased", "won", "lost", "deleted", "pushed_out")
ENTERING = {"absent": "created", "closed": "reopened", "open": "pulled_in"}
IDLE_DAYS = 14
CLOSING_SOON_DAYS = 30
_CHUNK = 500


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


@dataclass(frozen=True, slots=True)
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

    @property
    def currency(self) -> str:
        return self.pipeline.currency


# -- reading the log ---------------------------------------------------------------------------------


def _category() -> ColumnElement[Any]:
    """Which part of a deal's state an event changes (None: nothing the review reconstructs)."""
    return case(
        (_E.kind.in_(OPENING + CLOSING), "status"),
        (and_(_E.kind == "undo", _E.old_value.in_(("won", "lost"))), "status"),
        (_E.kind == "move", "stage"),
        (and_(_E.kind == "undo", _E.from_stage_id.is_not(None)), "stage"),
        (and_(_E.kind == "edit", _E.field.in_(("value", "close", "owner"))), _E.field),
        else_=None,
    )


def _first_after(conn: Any, pipeline_id: int, moment: datetime) -> dict[int, dict[str, Any]]:
    """deal id -> category -> the first event of that category after `moment` (one window query)."""
    cat = _category().label("cat")
    rn = func.row_number().over(partition_by=(_E.deal_id, cat), order_by=(_E.at, _E.id)).label("rn")
    inner = (
        select(_E.deal_id, cat, _E.kind, _E.at, _E.id, _E.from_stage_id, _E.to_stage_id, _E.old_value, rn)
        .where(_E.pipeline_id == pipeline_id, _E.at > moment, _E.deal_id.is_not(None), _category().is_not(None))
        .subquery()
    )
    out: dict[int, dict[str, Any]] = {}
    for row in conn.execute(select(inner).where(inner.c.rn == 1)):
        out.setdefault(row.deal_id, {})[row.cat] = row
    return out


def _rewind(now_state: DealState, first: dict[str, Any] | None, currency_ok: bool) -> DealState:
    """The state before the first events in `first` (the state at the moment they were read after)."""
    if not first:
        return now_state
    st = replace(now_state)
    ev = first.get("status")
    if ev is not None:
        if ev.kind == "create":
            st.status = "absent"
        elif ev.kind in CLOSING:
            st.status = "open"
        else:  # reopen, or the undo of a close: closed before it, as recorded in old_value
            st.status = ev.old_value if ev.old_value in ("won", "lost") else "won"
    ev = first.get("value")
    if ev is not None:
        st.value = _int(ev.old_value) if currency_ok else 0
    ev = first.get("close")
    if ev is not None:
        st.close = date.fromisoformat(ev.old_value) if ev.old_value else None
    ev = first.get("owner")
    if ev is not None:
        st.owner = ev.old_value or ""
    stage_ev = first.get("stage")
    status_ev = first.get("status")
    if status_ev is not None and status_ev.kind in ("won", "lost") and (
        stage_ev is None or (status_ev.at, status_ev.id) < (stage_ev.at, stage_ev.id)
    ):
        stage_ev = status_ev
    if stage_ev is not None and stage_ev.from_stage_id is not None:
        st.stage_id = stage_ev.from_stage_id
    elif status_ev is not None and status_ev.kind == "create" and status_ev.to_stage_id is not None:
        st.stage_id = status_ev.to_stage_id  # for a deal created later: the stage it was created in
    return st


def _int(raw: str | None) -> int:
    try:
        return int(raw) if raw else 0
    except ValueError:
        return 0


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
) -> ChangesReport:
    """The value bridge and the review lists of one pipeline between `since` and `until` (default now)."""
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
        after_since = _first_after(conn, p.id, start)
        after_until = _first_after(conn, p.id, end) if end < now else {}
        rows = _deal_rows(conn, p.id, start)
        counts = _window_counts(conn, p.id, start, end)
        states: dict[int, tuple[DealState, DealState]] = {}
        for r in rows:
            ok = r.currency == info.currency
            current = DealState(r.status, (r.value_minor or 0) if ok else 0, r.expected_close, r.owner, r.stage_id)
            at_end = _rewind(current, after_until.get(r.id), ok)
            if owner_key is not None and name_key(at_end.owner) != owner_key:
                continue
            states[r.id] = (_rewind(current, after_since.get(r.id), ok), at_end)
        by_id = {r.id: r for r in rows}
        open_at_end = [i for i, (_s, e) in states.items() if e.status == "open"]
        idle = _idle(conn, p.id, open_at_end, end, idle_days)

    def line(deal_id: int, st: DealState, **detail: Any) -> DealLine:
        r = by_id[deal_id]
        return DealLine(deal_id, r.title, st.owner, stages.get(st.stage_id, ("?", 0))[0],
                        r.value_minor if r.currency == info.currency else None, detail)

    in_period = _period_test(closing)
    bridge, start_value, end_value = _bridge(states, in_period)
    soon_end = end.date() + timedelta(days=CLOSING_SOON_DAYS)
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
        if b.status == "open" and b.close is not None and end.date() <= b.close <= soon_end:
            soon.append(line(deal_id, b, expected_close=b.close))
    idle_lines = [line(i, states[i][1], idle_days=int(clock.days_between(last, end)) if last else None,
                       last_touch=last) for i, last in idle]
    return ChangesReport(
        pipeline=info, since=start, until=end, owner=owner if owner_key is not None else None, closing=closing,
        idle_days=idle_days, start_value_minor=start_value, end_value_minor=end_value, bridge=bridge,
        new=tuple(sorted(new, key=lambda x: x.id)),
        moved=tuple(sorted(moved, key=lambda x: (x.detail["direction"] != "forward", x.id))),
        pushed=tuple(sorted(pushed, key=lambda x: (-x.detail["pushes"], x.id))),
        idle=tuple(sorted(idle_lines, key=lambda x: (-(x.detail["idle_days"] or 10**6), x.id))),
        closing_soon=tuple(sorted(soon, key=lambda x: (x.detail["expected_close"], x.id))),
    )


def _owner_key(s: Session, pipeline_id: int, owner: str | None) -> str | None:
    if owner is None or not owner.strip():
        return None
    key = name_key(owner)
    stored = s.connection().execute(select(_D.owner).where(_D.pipeline_id == pipeline_id).distinct())
    if not any(name_key(o) == key for (o,) in stored):
        raise NotFoundError(f"No deal in this pipeline is owned by '{display(owner)}'.")
    return key


def _deal_rows(conn: Any, pipeline_id: int, since: datetime) -> list[Any]:
    """The deals open now and those changed since `since` (every other deal is closed at both moments)."""
    changed = select(_E.deal_id).where(_E.pipeline_id == pipeline_id, _E.at > since, _category().is_not(None))
    q = select(_D.id, _D.title, _D.owner, _D.value_minor, _D.currency, _D.expected_close, _D.stage_id,
               _D.status).where(_D.pipeline_id == pipeline_id, or_(_D.status == "open", _D.id.in_(changed)))
    return list(conn.execute(q))


def _window_counts(conn: Any, pipeline_id: int, since: datetime, until: datetime) -> dict[int, tuple[int, int]]:
    """deal id -> (stage moves, close dates pushed later) between the two moments."""
    is_close = and_(_E.kind == "edit", _E.field == "close")
    push = and_(is_close, _E.old_value.is_not(None), _E.old_value != "", _E.new_value.is_not(None),
                _E.new_value > _E.old_value)  # ISO dates compare as text
    q = (
        select(_E.deal_id, func.sum(case((_E.kind == "move", 1), else_=0)), func.sum(case((push, 1), else_=0)))
        .where(_E.pipeline_id == pipeline_id, _E.at > since, _E.at <= until, or_(_E.kind == "move", is_close))
        .group_by(_E.deal_id)
    )
    return {d: (int(m or 0), int(pu or 0)) for d, m, pu in conn.execute(q)}


def _chunks(ids: list[int]) -> Iterable[list[int]]:
    for i in range(0, len(ids), _CHUNK):
        yield ids[i:i + _CHUNK]


def _idle(conn: Any, pipeline_id: int, open_ids: list[int], until: datetime, days: int
          ) -> list[tuple[int, datetime | None]]:
    """(deal id, last event or activity up to `until`) of the open deals with neither in the last `days` days."""
    cutoff = until - timedelta(days=days)
    active = {d for (d,) in conn.execute(select(_E.deal_id).where(
        _E.pipeline_id == pipeline_id, _E.at > cutoff, _E.at <= until, _E.kind != "reorder").distinct())}
    active |= {d for (d,) in conn.execute(select(_A.deal_id).where(
        _A.pipeline_id == pipeline_id, _A.at > cutoff, _A.at <= until).distinct())}
    idle_ids = [i for i in open_ids if i not in active]
    last: dict[int, datetime] = {}
    for chunk in _chunks(idle_ids):
        for table, kind_ok in ((_E, _E.kind != "reorder"), (_A, True)):
            q = (select(table.deal_id, func.max(table.at)).where(table.deal_id.in_(chunk), table.at <= until,
                                                                  kind_ok).group_by(table.deal_id))
            for d, at in conn.execute(q):
                if at is not None:
                    at = clock.as_utc(at)
                    last[d] = max(last.get(d, at), at)
    return [(i, last.get(i)) for i in idle_ids]


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
            if not (counted_b or (closes and a.status != "won" and a.status != "lost")):
                continue
            add(ENTERING["closed" if a.status in ("won", "lost") else a.status], deal_id, b.value)
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
    "BUCKETS", "Bucket", "ChangesReport", "DealLine", "DealState", "changes_json", "compute_changes",
]
