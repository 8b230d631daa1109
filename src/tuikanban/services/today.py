"""The Today queue (issue 14): what a rep does today, across every pipeline, from four SQL reads.

Order: overdue tasks (oldest due first), tasks due today, then the rep's open deals with no next step, then their
stalled and aging deals (most severe first). A deal is listed at most once among the deal kinds (no next step
comes before stalled and aging); its tasks are listed whatever its deal kind. Snoozed deals stay out until their
date, deleted and closed deals always. A pipeline with the no_next_step signal turned off adds no such lines.

Speed: the tasks come from the partial index of open tasks, the deals without one from an anti-join on it, and
stuck deals are picked in SQL with a per-stage cut-off time (now minus 1.5 x the stage's baseline), so only the
lines of the queue are ever loaded; the level of each is then confirmed with the one aging rule.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, true
from sqlmodel import Session

from tuikanban.domain import clock
from tuikanban.domain.aging import AGING_FACTOR, Baseline, Level, level, severity
from tuikanban.domain.tasks import AGING, DUE_TODAY, NO_NEXT_STEP, OVERDUE, STALLED, TodayItem
from tuikanban.services.aging import session_baselines
from tuikanban.services.tasks import OPEN_TASK
from tuikanban.store.engine import Database
from tuikanban.store.queries import awake
from tuikanban.store.sqlfuncs import at_literal, days_between
from tuikanban.store.tables import Activity, Deal, Pipeline, Stage

_A = Activity.__table__.c  # type: ignore[attr-defined]
_D = Deal.__table__.c  # type: ignore[attr-defined]
_P = Pipeline.__table__.c  # type: ignore[attr-defined]
_S = Stage.__table__.c  # type: ignore[attr-defined]
# A little slack on the SQL cut-off: the exact level is decided by domain.aging.level afterwards.
_SLACK = timedelta(seconds=1)
# The deals that have an open task, from the partial index ix_activity_open_task.
_WITH_TASK = select(_A.deal_id).where(OPEN_TASK)


@dataclass(slots=True)
class TodayQueue:
    """The queue's lines (with `limit`, at most that many of each deal kind) and how many of each kind there are."""

    items: list[TodayItem]
    totals: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class _Names:
    stages: dict[int, str]
    pipelines: dict[int, str]
    signal_on: list[int]  # pipelines whose no_next_step signal is on


def today_queue(db: Database, *, owner: str | None, now: datetime | None = None,
                limit: int | None = None) -> TodayQueue:
    """The queue of `owner` (None: everyone's), as of `now` (default: the clock). With `limit`, at most that many
    lines of each deal kind (the tasks are always all listed); `totals` counts every line all the same."""
    at = clock.as_utc(now) if now is not None else clock.now()
    day = at.date()
    with db.read() as s:
        conn = s.connection()
        names = _Names(dict(conn.execute(select(_S.id, _S.name)).all()),
                       dict(conn.execute(select(_P.id, _P.name)).all()),
                       [r[0] for r in conn.execute(select(_P.id).where(_P.next_step_signal == true()))])
        scope = [_D.status == "open", awake(_D, day)]
        if owner is not None:
            scope.append(_D.owner == owner)
        tasks = _tasks(s, scope, day, names)
        missing, n_missing = _no_next_step(s, scope, names, limit)
        stuck = _stuck(s, scope, at, names)
    stalled = [i for i in stuck if i.kind == STALLED]
    aging = [i for i in stuck if i.kind == AGING]
    overdue = sum(1 for i in tasks if i.kind == OVERDUE)
    totals = {OVERDUE: overdue, DUE_TODAY: len(tasks) - overdue, NO_NEXT_STEP: n_missing, STALLED: len(stalled),
              AGING: len(aging)}
    if limit is not None:
        stalled, aging = stalled[:limit], aging[:limit]
    return TodayQueue(tasks + missing + stalled + aging, totals)


def _item(kind: str, names: _Names, deal_id: int, title: str, stage_id: int, pipeline_id: int, owner: str,
          **extra: Any) -> TodayItem:
    return TodayItem(kind, deal_id, title, names.stages.get(stage_id, "?"), names.pipelines.get(pipeline_id, "?"),
                     owner, **extra)


def _tasks(s: Session, scope: list[Any], day: date, names: _Names) -> list[TodayItem]:
    """Open tasks due today or earlier, oldest due first: read from the small open-task index, then their deals."""
    conn = s.connection()
    tasks = conn.execute(
        select(_A.id, _A.deal_id, _A.subject, _A.due).where(OPEN_TASK, _A.due <= day).order_by(_A.due, _A.id)
    ).all()
    if not tasks:
        return []
    deals = {r[0]: r for r in conn.execute(
        select(_D.id, _D.title, _D.stage_id, _D.pipeline_id, _D.owner)
        .where(_D.id.in_({t[1] for t in tasks}), *scope))}
    out: list[TodayItem] = []
    for task_id, deal_id, text, due_raw, in tasks:
        deal = deals.get(deal_id)
        if deal is None:  # someone else's, closed, deleted or snoozed
            continue
        due = due_raw if isinstance(due_raw, date) else date.fromisoformat(str(due_raw)[:10])
        late = (day - due).days
        out.append(_item(OVERDUE if late > 0 else DUE_TODAY, names, *deal, task_id=task_id, text=text, due=due,
                         days_overdue=max(late, 0)))
    return out


def _missing(scope: list[Any], names: _Names) -> list[Any]:
    # NOT IN a list read once from the open-task index (not a lookup per deal); activity.deal_id is never null
    return [*scope, _D.pipeline_id.in_(names.signal_on), _D.id.not_in(_WITH_TASK)]


def _count(s: Session, where: list[Any]) -> int:
    return int(s.connection().execute(
        select(func.count()).select_from(Deal.__table__).where(*where)).scalar_one())  # type: ignore[attr-defined]


def _no_next_step(s: Session, scope: list[Any], names: _Names, limit: int | None) -> tuple[list[TodayItem], int]:
    """Deals without an open task, the longest waiting first (in their stage the longest)."""
    q = (select(_D.id, _D.title, _D.stage_id, _D.pipeline_id, _D.owner).where(*_missing(scope, names))
         .order_by(_D.stage_entered_at, _D.id))
    if limit is not None:
        q = q.limit(limit)
    items = [_item(NO_NEXT_STEP, names, *r) for r in s.connection().execute(q)]
    if limit is None or len(items) < limit:
        return items, len(items)
    return items, _count(s, _missing(scope, names))


def _candidates(names: _Names) -> list[Any]:
    """Where stalled and aging deals can be: in a pipeline with the signal on, only deals with an open task (the
    others are listed as having no next step), read through the open-task index; elsewhere, every deal."""
    off = [p for p in names.pipelines if p not in names.signal_on]
    parts = [and_(_D.pipeline_id.in_(names.signal_on), _D.id.in_(_WITH_TASK))] if names.signal_on else []
    return parts + ([_D.pipeline_id.in_(off)] if off else [])


def _stuck(s: Session, scope: list[Any], at: datetime, names: _Names) -> list[TodayItem]:
    """Stalled, then aging deals (each by severity), that are not already listed for having no next step."""
    baselines: dict[int, Baseline] = {}
    for pid in names.pipelines:
        baselines.update(session_baselines(s, pid, at))
    if not baselines:
        return []
    # stage by stage: in it since before now - 1.5 x its baseline
    cuts = {sid: at - timedelta(days=AGING_FACTOR * b.baseline_days) + _SLACK for sid, b in baselines.items()}
    # the loosest cut-off as a term of its own lets SQLite range-scan ix_deal_waiting when no task list drives it
    late = and_(_D.stage_entered_at <= max(cuts.values()),
                or_(*(and_(_D.stage_id == sid, _D.stage_entered_at <= cut) for sid, cut in cuts.items())))
    in_stage = days_between(_D.stage_entered_at, at_literal(at))
    columns = (_D.id, _D.title, _D.stage_id, _D.pipeline_id, _D.owner, in_stage)
    conn = s.connection()
    rows = [r for where in _candidates(names) for r in conn.execute(select(*columns).where(*scope, late, where))]
    stalled: list[TodayItem] = []
    aging: list[TodayItem] = []
    for deal_id, title, stage_id, pipeline_id, who, days_raw in rows:
        days = max(round(float(days_raw), 6), 0.0)
        base = baselines[stage_id].baseline_days
        lvl = level(days, base)
        if lvl is Level.OK:
            continue
        item = _item(STALLED if lvl is Level.STALLED else AGING, names, deal_id, title, stage_id, pipeline_id, who,
                     days_in_stage=days, severity=severity(days, base))
        (stalled if lvl is Level.STALLED else aging).append(item)
    for group in (stalled, aging):
        group.sort(key=lambda i: (-i.severity, i.deal_id))
    return stalled + aging
