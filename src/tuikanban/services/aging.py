"""The one aging function (see docs/RULES.md, Aging), used by the card badges, the aging panel and the CLI alike.

Everything is computed with SQL aggregates over the `stay` and `event` tables and one Core select of the open
deals; no event row is loaded into Python but those of the few deals whose latest event is an undo, a redo or a
reorder (not activity, so their last touch is replayed). Nothing is cached, so a new `expected_days` applies at
once.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import String, and_, func, literal_column, select, true, type_coerce
from sqlmodel import Session

from tuikanban.domain import clock
from tuikanban.domain.aging import (
    HISTORY_WINDOW_DAYS,
    AgingItem,
    AgingSnapshot,
    Baseline,
    StageAging,
    choose_baseline,
    level,
    risk_signals,
    severity,
    sort_key,
)
from tuikanban.domain.filters import DealFilter
from tuikanban.domain.undo import NOT_ACTIVITY, LoggedEvent, last_touch
from tuikanban.services.common import resolve_pipeline
from tuikanban.services.tasks import has_open_task
from tuikanban.store.engine import Database
from tuikanban.store.queries import awake, not_deleted
from tuikanban.store.sqlfuncs import at_literal, days_between, greatest
from tuikanban.store.tables import Deal, DealType, Event, Pipeline, Stage, Stay

_D = Deal.__table__.c  # type: ignore[attr-defined]
_E = Event.__table__.c  # type: ignore[attr-defined]
_S = Stage.__table__.c  # type: ignore[attr-defined]
_T = DealType.__table__.c  # type: ignore[attr-defined]
_Y = Stay.__table__.c  # type: ignore[attr-defined]


# -- baselines ------------------------------------------------------------------------------------------


def _history(session: Session, pipeline_id: int, stage_ids: list[int], now: datetime
             ) -> dict[int, tuple[float, int]]:
    """stage id -> (average days, number of stays) over stays that ended in the last 180 days.

    Filtered by stage (not pipeline) so SQLite reads only the covering index ix_stay_stage_span; the stays of
    deleted deals are left out.
    """
    if not stage_ids:
        return {}
    since = now - timedelta(days=HISTORY_WINDOW_DAYS)
    avg_days = func.avg(days_between(_Y.entered_at, _Y.left_at))
    q = (
        select(_Y.stage_id, avg_days, func.count())
        .where(_Y.stage_id.in_(stage_ids), _Y.left_at >= since, _Y.left_at <= now,
               *not_deleted(_Y.deal_id, session, pipeline_id))
        .group_by(_Y.stage_id)
    )
    return {int(r[0]): (float(r[1]), int(r[2])) for r in session.connection().execute(q) if r[1] is not None}


def _stage_rows(session: Session, pipeline_id: int) -> list[Any]:
    q = (
        select(_S.id, _S.name, _S.position, _S.expected_days, _S.archived)
        .where(_S.pipeline_id == pipeline_id)
        .order_by(_S.position, _S.id)
    )
    return list(session.connection().execute(q))


def _baselines(session: Session, pipeline_id: int, now: datetime) -> tuple[list[Any], dict[int, Baseline]]:
    rows = _stage_rows(session, pipeline_id)
    # The history only matters for stages without expected days (reading it is the costly part of the report).
    history = _history(session, pipeline_id, [r.id for r in rows if not r.expected_days], now)
    out: dict[int, Baseline] = {}
    for r in rows:
        avg, n = history.get(r.id, (None, 0))
        out[r.id] = choose_baseline(r.expected_days, avg, n)
    return rows, out


def session_baselines(session: Session, pipeline_id: int, now: datetime) -> dict[int, Baseline]:
    """stage id -> baseline, inside a read the caller already holds (the Today queue reads several pipelines)."""
    return _baselines(session, pipeline_id, now)[1]


def stage_baselines(db: Database, pipeline: str | int | None, *, now: datetime | None = None) -> dict[int, Baseline]:
    """stage id -> its baseline: expected days, else the 180-day average over >= 3 stays, else 7 days."""
    at = clock.as_utc(now) if now is not None else clock.now()
    with db.read() as s:
        p = resolve_pipeline(s, pipeline)
        assert p.id is not None
        return _baselines(s, p.id, at)[1]


# -- the report -----------------------------------------------------------------------------------------


# Literal SQL (not bound parameters) so that SQLite matches the partial index ix_event_close_edit.
_CLOSE_EDIT = and_(_E.kind == literal_column("'edit'"), _E.field == literal_column("'close'"))


def _close_pushes(session: Session) -> dict[int, int]:
    """deal id -> how many times its close date was moved later (a null old date is no push).

    Read from the small partial index of close-date edits alone; the caller keeps the open deals' counts.
    """
    q = (
        select(_E.deal_id, func.count())
        .where(_CLOSE_EDIT, _E.old_value.is_not(None), _E.new_value.is_not(None), _E.new_value > _E.old_value)
        .group_by(_E.deal_id)
    )
    return {int(r[0]): int(r[1]) for r in session.connection().execute(q) if r[0] is not None}


def _latest_event_column() -> Any:
    """The latest event time of the outer deal row, as stored text (an index-only max per deal)."""
    return (
        select(type_coerce(func.max(_E.at), String)).where(_E.deal_id == _D.id).scalar_subquery()
    )


def _latest_kind_column() -> Any:
    """The kind of the outer deal row's latest event (one table lookup per deal, walking ix_event_deal_at)."""
    return (
        select(_E.kind).where(_E.deal_id == _D.id).order_by(_E.at.desc(), _E.id.desc()).limit(1).scalar_subquery()
    )


def _touch_days(conn: Any, deal_ids: list[int], at: datetime) -> dict[int, float]:
    """Days since the last touch of deals whose latest event is not activity (an undo, a redo, a reorder):
    their events are read and replayed (domain.undo), so an undone change is no touch either. Few deals."""
    out: dict[int, float] = {}
    for start in range(0, len(deal_ids), 500):
        ids = deal_ids[start:start + 500]
        logs: dict[int, list[LoggedEvent]] = {i: [] for i in ids}
        for deal_id, event_id, kind, ev_at, ref_id in conn.execute(
            select(_E.deal_id, _E.id, _E.kind, _E.at, _E.ref_id).where(_E.deal_id.in_(ids))
        ):
            logs[deal_id].append(LoggedEvent(event_id, kind, clock.as_utc(ev_at), ref_id))
        for deal_id, activity, created in conn.execute(
            select(_D.id, _D.last_activity_at, _D.created_at).where(_D.id.in_(ids))
        ):
            base = clock.as_utc(created)
            touched = max(clock.as_utc(activity) if activity is not None else base, last_touch(logs[deal_id]) or base)
            out[deal_id] = round((at - touched).total_seconds() / 86400, 6)
    return out


def aging_snapshot(
    db: Database,
    pipeline: str | int | None,
    *,
    now: datetime | None = None,
    deal_filter: DealFilter | None = None,
    deal_ids: Collection[int] | None = None,
) -> AgingSnapshot:
    """Stages with their baselines and every open deal (matching the filter; with `deal_ids`, only those deals)
    with level and signals. Snoozed deals are left out until their date."""
    at = clock.as_utc(now) if now is not None else clock.now()
    today = at.date()
    with db.read() as s:
        p: Pipeline = resolve_pipeline(s, pipeline)
        assert p.id is not None
        stage_rows, baselines = _baselines(s, p.id, at)
        stages = {r.id: r for r in stage_rows}
        conn = s.connection()
        types = {r.id: r.name for r in conn.execute(select(_T.id, _T.name).where(_T.pipeline_id == p.id))}
        pushes_by_deal = _close_pushes(s)
        # Days are computed in SQL (store.sqlfuncs, exact to the millisecond on SQLite) rather than by parsing
        # 30,000 timestamps in Python.
        now_at = at_literal(at)
        last_touch = greatest(func.coalesce(_D.last_activity_at, _D.created_at),
                              func.coalesce(_latest_event_column(), _D.created_at))
        query = select(
            _D.id, _D.title, _D.company, _D.contact, _D.owner, _D.type_id, _D.stage_id, _D.value_minor,
            _D.currency, type_coerce(_D.expected_close, String),
            days_between(_D.stage_entered_at, now_at),
            days_between(last_touch, now_at),
            has_open_task(_D.id) if p.next_step_signal else true(),
            _latest_kind_column(),
        ).where(_D.pipeline_id == p.id, _D.status == "open", awake(_D, today))
        if deal_ids is not None:  # the board refreshing the cards a write touched
            query = query.where(_D.id.in_(list(deal_ids)))
        items: list[AgingItem] = []
        active = deal_filter is not None and deal_filter.active
        stale_days = p.stale_days
        today_iso = today.isoformat()
        fallback = choose_baseline(None, None, 0)

        def add(row: Any, touched: float | None) -> None:
            (deal_id, title, company, contact, owner, type_id, stage_id, value_minor, currency, close_raw,
             days_raw, since_touch, has_step, _kind) = row
            type_name = types.get(type_id) if type_id is not None else None
            if active and deal_filter is not None and not deal_filter.matches_fields(
                title, company, contact, owner, type_name
            ):
                return
            pushes = pushes_by_deal.get(deal_id, 0)
            # rounded to 1e-6 days (0.09 s): float noise must not decide a level or the order of equal severities
            days = max(round(float(days_raw), 6), 0.0) if days_raw is not None else 0.0
            if touched is not None:
                since_touch = touched
            elif since_touch is not None:
                since_touch = round(float(since_touch), 6)
            base = baselines.get(stage_id, fallback)
            signals = risk_signals(
                days_since_touch=since_touch, stale_days=stale_days,
                past_close=close_raw is not None and str(close_raw)[:10] < today_iso, close_pushes=pushes,
                value_minor=value_minor, has_next_step=bool(has_step),
            )
            st = stages.get(stage_id)
            items.append(AgingItem(
                id=deal_id, title=title, stage=st.name if st is not None else "?", stage_id=stage_id, owner=owner,
                type_name=type_name, company=company, value_minor=value_minor, currency=currency,
                days_in_stage=days, baseline_days=base.baseline_days, level=level(days, base.baseline_days),
                signals=signals, severity=severity(days, base.baseline_days), baseline_source=base.source,
                stage_position=st.position if st is not None else 0, days_since_touch=since_touch,
                close_pushes=pushes, contact=contact,
            ))

        # The rows are streamed (never all held: 100,000 rows as objects took about 60 MB); the few deals whose
        # latest event is an undo, a redo or a reorder (not customer activity, docs/RULES.md, Undo) are replayed
        # once the read is done.
        replay: list[tuple[Any, ...]] = []
        for row in conn.execute(query):
            if row[-1] in NOT_ACTIVITY:
                replay.append(tuple(row))
            else:
                add(row, None)
        touches = _touch_days(conn, [r[0] for r in replay], at)
        for held in replay:
            add(held, touches.get(held[0]))
        items.sort(key=sort_key)
        occupied = {i.stage_id for i in items}
        shown = [StageAging(r.id, r.name, r.position, baselines[r.id]) for r in stage_rows
                 if not r.archived or r.id in occupied]
        return AgingSnapshot(p.id, p.name, p.stale_days, shown, items)


def aging_report(
    db: Database,
    pipeline: str | int | None,
    *,
    now: datetime | None = None,
    deal_filter: DealFilter | None = None,
) -> list[AgingItem]:
    """Every open deal of the pipeline with days in stage, baseline, level and signals, most severe first."""
    return aging_snapshot(db, pipeline, now=now, deal_filter=deal_filter).items

