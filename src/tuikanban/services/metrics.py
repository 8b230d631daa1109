"""The metrics of one pipeline (see docs/RULES.md, Metrics), computed with SQL aggregates over the deal rows and
the stays.

Nothing loads every row into Python: each query groups in the database and returns a few dozen rows at most
(stages x owners x types). The formulas live in `tuikanban.domain.metrics`; this module only gathers sums and
counts. The one database-specific piece, the length of a time interval, is `store.sqlfuncs.seconds_between`.
The report's types, the merging of the rows and the figures are `services.metrics_report`'s (no ORM there);
`services.metrics_plain` spells the same reads in plain SQL for the metrics screen (a test compares the two).

Definitions (window = the last `window_days` days ending now):
- open figures are the deals open now; closed figures are deals whose won/lost time falls in the window;
- per stage, `avg_days_in_stage` and `conversion_rate` cover the stays that ended in the window
  (advanced = moved to a later stage or won; dropped = lost or moved back);
- the forecast samples the daily won throughput of the last 90 days, every one of them: zero days included, also
  the days before a young pipeline's first event (docs/RULES.md, Forecast), so one win on a pipeline's first day is one
  winning day in 90, not a win every day;
- the weekly trend counts calendar weeks (UTC dates) ending today: `week_start` is a date.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import case, func, select
from sqlalchemy.sql.expression import ColumnElement
from sqlmodel import Session, col
from sqlmodel import select as sm_select

from tuikanban.domain import clock
from tuikanban.domain import metrics as fm
from tuikanban.domain.errors import NotFoundError
from tuikanban.domain.text import display, name_key
from tuikanban.services.common import pipeline_info, resolve_pipeline, resolve_type
from tuikanban.services.metrics_report import (
    MAX_WEEKS,
    MAX_WINDOW_DAYS,
    Bottleneck,
    Breakdown,
    LostReason,
    MetricsReport,
    StageMetrics,
    Sums,
    WeekPoint,
    WonSpan,
    check_window,
    forecast_json,
    metrics_json,
)
from tuikanban.store.engine import Database
from tuikanban.store.lean import lean_cache
from tuikanban.store.queries import not_deleted
from tuikanban.store.sqlfuncs import at_literal, seconds_between
from tuikanban.store.tables import Deal, DealType, Event, Stage, Stay

_D = Deal.__table__.c  # type: ignore[attr-defined]
_Y = Stay.__table__.c  # type: ignore[attr-defined]
_E = Event.__table__.c  # type: ignore[attr-defined]


def _owners_matching(s: Session, pipeline_id: int, owner: str) -> list[str]:
    conn = s.connection()
    stored = [r[0] for r in conn.execute(select(_D.owner).where(_D.pipeline_id == pipeline_id).distinct())]
    return [o for o in stored if name_key(o) == name_key(owner)]


def compute_metrics(
    db: Database,
    pipeline: str | int | None,
    *,
    window_days: int = 90,
    owner: str | None = None,
    deal_type: str | int | None = None,
    now: datetime | None = None,
    seed: int | None = None,
) -> MetricsReport:
    """Every figure of docs/RULES.md, Metrics, for one pipeline, a window and optional owner / deal-type filters."""
    check_window(window_days)
    at = clock.as_utc(now) if now is not None else clock.now()
    start = at - timedelta(days=window_days)
    with db.read() as s, lean_cache(s.connection()):  # (its sums go through the window's rows once: store/lean.py)
        p = resolve_pipeline(s, pipeline)
        assert p.id is not None
        info = pipeline_info(p)
        conn = s.connection()

        # filters
        filters: list[ColumnElement[bool]] = []
        owner_name: str | None = None
        if owner is not None and owner.strip():
            owners = _owners_matching(s, p.id, owner)
            if not owners:
                raise NotFoundError(f"No deal in pipeline {p.name} is owned by '{display(owner)}'.")
            owner_name = owners[0]
            filters.append(_D.owner.in_(owners))
        type_name: str | None = None
        if deal_type is not None and str(deal_type).strip():
            t = resolve_type(s, p, deal_type)
            type_name = t.name
            filters.append(_D.type_id == t.id)

        stage_rows = list(s.exec(sm_select(Stage).where(Stage.pipeline_id == p.id)
                                 .order_by(col(Stage.position), col(Stage.id))))
        type_rows = list(s.exec(sm_select(DealType).where(DealType.pipeline_id == p.id)
                                .order_by(col(DealType.position), col(DealType.id))))

        # Money is summed in the pipeline's currency only; deals in another currency count as deals but not
        # as value (reported as `other_currency_deals`).
        money = case((_D.currency == info.currency, _D.value_minor), else_=None)
        other_cur = func.coalesce(func.sum(case((_D.currency != info.currency, 1), else_=0)), 0)

        # 1. open deals by stage, owner and type
        open_q = (
            select(_D.stage_id, _D.owner, _D.type_id, func.count(), func.coalesce(func.sum(money), 0), other_cur)
            .where(_D.pipeline_id == p.id, _D.status == "open", *filters)
            .group_by(_D.stage_id, _D.owner, _D.type_id)
        )
        # 2. deals closed in the window by outcome, owner, type and (for lost deals) reason
        reason_key = case((_D.status == "lost", _D.lost_reason), else_=None)
        closed_q = (
            select(
                _D.status, _D.owner, _D.type_id, reason_key, func.count(), func.count(money),
                func.coalesce(func.sum(money), 0),
                func.coalesce(func.sum(seconds_between(_D.created_at, _D.closed_at)), 0), other_cur,
            )
            .where(_D.pipeline_id == p.id, _D.status.in_(("won", "lost")), _D.closed_at >= start,
                   _D.closed_at <= at, *filters)
            .group_by(_D.status, _D.owner, _D.type_id, reason_key)
        )
        span = WonSpan.of(at, window_days)
        sums = Sums(span)
        sums.open_rows(conn.execute(open_q))
        sums.closed_rows(conn.execute(closed_q))

        # 3. stays that ended in the window, by stage (stage_id first: the covering index ix_stay_stage_span)
        stage_ids = [st.id for st in stage_rows]
        # deleted deals are left out of every figure, their past stays too
        stay_filter: list[ColumnElement[bool]] = not_deleted(_Y.deal_id, s, p.id)
        if filters:  # a semi-join: one pass over the pipeline's deals instead of a lookup per stay
            stay_filter.append(_Y.deal_id.in_(select(_D.id).where(_D.pipeline_id == p.id, *filters)))
        stay_q = (
            select(
                _Y.stage_id, func.count(),
                func.coalesce(func.sum(seconds_between(_Y.entered_at, _Y.left_at)), 0),
                func.coalesce(func.sum(case((_Y.outcome == "advanced", 1), else_=0)), 0),
                func.coalesce(func.sum(case((_Y.outcome == "dropped", 1), else_=0)), 0),
            )
            .where(_Y.stage_id.in_(stage_ids), _Y.left_at >= start, _Y.left_at <= at, *stay_filter)
            .group_by(_Y.stage_id)
        )
        if stage_ids:
            sums.stay_rows(conn.execute(stay_q))

        # 4. won deals per day, counted two ways in one grouped query: for the forecast, the last HISTORY_DAYS
        # periods of 24 hours back from now (day 0 = the last 24 hours); for the weekly trend, UTC calendar dates
        # back from today (date 0 = today, so week w is dates 7w..7w+6 back and starts on a whole date).
        first = conn.execute(select(func.min(_E.at)).where(_E.pipeline_id == p.id)).scalar()
        since, tomorrow = span.since, span.tomorrow
        day_idx = (seconds_between(_D.closed_at, at_literal(at)) // fm.SECONDS_PER_DAY).label("d")
        # whole seconds to tomorrow 00:00, less one, so a win at 00:00:00 today is on date 0
        date_idx = ((seconds_between(_D.closed_at, at_literal(tomorrow)) - 1) // fm.SECONDS_PER_DAY).label("c")
        won_q = (
            select(day_idx, date_idx, func.count(), func.coalesce(func.sum(money), 0))
            .where(_D.pipeline_id == p.id, _D.status == "won", _D.closed_at >= since, _D.closed_at <= at,
                   *filters)
            .group_by(day_idx, date_idx)
        )
        sums.won_rows(conn.execute(won_q))

    return sums.report(info, window_days, at, start, owner_name, type_name, stage_rows, type_rows, first, seed)


__all__ = [
    "MAX_WEEKS", "MAX_WINDOW_DAYS", "Bottleneck", "Breakdown", "LostReason", "MetricsReport", "StageMetrics",
    "WeekPoint", "compute_metrics", "forecast_json", "metrics_json", "seconds_between",
]
