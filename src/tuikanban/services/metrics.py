"""The metrics of one pipeline (see docs/RULES.md, Metrics), computed with SQL aggregates over the deal rows and
the stays.

Nothing loads every row into Python: each query groups in the database and returns a few dozen rows at most
(stages x owners x types). The formulas live in `tuikanban.domain.metrics`; this module only gathers sums and
counts. The one database-specific piece, the length of a time interval, is `store.sqlfuncs.seconds_between`.

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

import math
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from fractions import Fraction
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.sql.expression import ColumnElement
from sqlmodel import Session, col
from sqlmodel import select as sm_select

from tuikanban.domain import clock
from tuikanban.domain import metrics as fm
from tuikanban.domain.errors import NotFoundError, ValidationError
from tuikanban.domain.models import PipelineInfo
from tuikanban.domain.money import to_json_number
from tuikanban.domain.text import display, name_key
from tuikanban.services.common import pipeline_info, resolve_pipeline, resolve_type
from tuikanban.services.forecast import HISTORY_DAYS, HORIZON_DAYS, TRIALS, Forecast, forecast_from_days
from tuikanban.store.engine import Database
from tuikanban.store.lean import lean_cache
from tuikanban.store.queries import not_deleted
from tuikanban.store.sqlfuncs import at_literal, seconds_between
from tuikanban.store.tables import Deal, DealType, Event, Stage, Stay

MAX_WINDOW_DAYS = 3650
MAX_WEEKS = 52

_D = Deal.__table__.c  # type: ignore[attr-defined]
_Y = Stay.__table__.c  # type: ignore[attr-defined]
_E = Event.__table__.c  # type: ignore[attr-defined]


# -- the report --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StageMetrics:
    stage_id: int
    name: str
    position: int
    probability: int
    archived: bool
    open_deals: int
    open_value_minor: int
    weighted_value_minor: int
    stays_ended: int  # sample size of the two figures below
    advanced: int
    dropped: int
    avg_days_in_stage: Fraction | None
    conversion_rate: Fraction | None


@dataclass(frozen=True, slots=True)
class Bottleneck:
    stage_id: int
    stage: str
    avg_days_in_stage: Fraction
    median_days: Fraction | None  # median of the stages' averages
    ratio: Fraction | None  # avg_days_in_stage / median_days
    stays_ended: int
    stages_compared: int
    reason: str


@dataclass(frozen=True, slots=True)
class Breakdown:
    """One owner's or one deal type's figures (key None = deals without a type)."""

    key: str | None
    open_deals: int
    open_value_minor: int
    won_deals: int
    lost_deals: int
    won_value_minor: int
    win_rate: Fraction | None
    avg_deal_size_minor: int | None


@dataclass(frozen=True, slots=True)
class LostReason:
    reason: str
    count: int


@dataclass(frozen=True, slots=True)
class WeekPoint:
    start: date  # the first UTC date of the week (the last week ends today)
    won_deals: int
    won_value_minor: int


@dataclass(frozen=True, slots=True)
class MetricsReport:
    pipeline: PipelineInfo
    window_days: int
    now: datetime
    window_start: datetime
    owner: str | None
    type_name: str | None
    open_deals: int
    open_value_minor: int
    weighted_value_minor: int
    won_deals: int
    lost_deals: int
    won_value_minor: int
    won_with_value: int  # sample size of avg_deal_size
    win_rate: Fraction | None
    avg_deal_size_minor: int | None
    avg_deal_size_exact: Fraction | None
    avg_cycle_days: Fraction | None
    velocity_per_day_minor: int | None
    coverage_ratio: Fraction | None
    stages: tuple[StageMetrics, ...]
    bottleneck: Bottleneck | None
    lost_reasons: tuple[LostReason, ...]
    by_owner: tuple[Breakdown, ...]
    by_type: tuple[Breakdown, ...]
    weekly: tuple[WeekPoint, ...]
    forecast: Forecast
    stays_ended: int = 0
    types_defined: int = 0
    other_currency_deals: int = 0  # open or closed-in-window deals whose value is in another currency

    @property
    def currency(self) -> str:
        return self.pipeline.currency

    @property
    def closed_deals(self) -> int:
        return self.won_deals + self.lost_deals


# -- computing ---------------------------------------------------------------------------------------


class _Acc:
    """Sums for one owner / type / stage while merging grouped rows."""

    __slots__ = ("cycle_s", "lost", "open_n", "open_v", "won", "won_v", "won_valued")

    def __init__(self) -> None:
        self.open_n = self.open_v = self.won = self.won_v = self.won_valued = self.lost = self.cycle_s = 0

    def breakdown(self, key: str | None) -> Breakdown:
        mean = fm.mean_minor(self.won_v, self.won_valued)
        return Breakdown(
            key=key, open_deals=self.open_n, open_value_minor=self.open_v, won_deals=self.won,
            lost_deals=self.lost, won_value_minor=self.won_v, win_rate=fm.win_rate(self.won, self.lost),
            avg_deal_size_minor=fm.round_minor(mean) if mean is not None else None,
        )

    @property
    def empty(self) -> bool:
        return not (self.open_n or self.won or self.lost)


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
    if not 1 <= window_days <= MAX_WINDOW_DAYS:
        raise ValidationError(f"The window must be between 1 and {MAX_WINDOW_DAYS} days, not {window_days}.")
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
        by_stage: dict[int, list[int]] = {}
        owners_acc: dict[str, _Acc] = {}
        types_acc: dict[int | None, _Acc] = {}
        other_currency = 0
        for stage_id, who, type_id, n, value, other in conn.execute(open_q):
            other_currency += int(other)
            slot = by_stage.setdefault(stage_id, [0, 0])
            slot[0] += n
            slot[1] += int(value)
            for acc in (owners_acc.setdefault(who, _Acc()), types_acc.setdefault(type_id, _Acc())):
                acc.open_n += n
                acc.open_v += int(value)
        total = _Acc()
        reasons: dict[str, int] = {}
        for status, who, type_id, reason, n, n_valued, value, cycle_s, other in conn.execute(closed_q):
            other_currency += int(other)
            if status == "lost":
                label = reason or "(no reason)"
                reasons[label] = reasons.get(label, 0) + n
            for acc in (total, owners_acc.setdefault(who, _Acc()), types_acc.setdefault(type_id, _Acc())):
                if status == "won":
                    acc.won += n
                    acc.won_valued += n_valued
                    acc.won_v += int(value)
                    acc.cycle_s += int(cycle_s)
                else:
                    acc.lost += n
        lost_reasons = tuple(
            LostReason(reason, n) for reason, n in sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))
        )

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
        stays: dict[int, tuple[int, int, int, int]] = {
            sid: (int(n), int(secs), int(adv), int(drop)) for sid, n, secs, adv, drop in conn.execute(stay_q)
        } if stage_ids else {}

        # 4. won deals per day, counted two ways in one grouped query: for the forecast, the last HISTORY_DAYS
        # periods of 24 hours back from now (day 0 = the last 24 hours); for the weekly trend, UTC calendar dates
        # back from today (date 0 = today, so week w is dates 7w..7w+6 back and starts on a whole date).
        weeks = min(MAX_WEEKS, max(1, math.ceil(window_days / 7)))
        first = conn.execute(select(func.min(_E.at)).where(_E.pipeline_id == p.id)).scalar()
        first_week = datetime.combine(at.date() - timedelta(days=7 * weeks - 1), time(0), tzinfo=UTC)
        tomorrow = datetime.combine(at.date() + timedelta(days=1), time(0), tzinfo=UTC)
        since = min(at - timedelta(days=HISTORY_DAYS), first_week)
        day_idx = (seconds_between(_D.closed_at, at_literal(at)) // fm.SECONDS_PER_DAY).label("d")
        # whole seconds to tomorrow 00:00, less one, so a win at 00:00:00 today is on date 0
        date_idx = ((seconds_between(_D.closed_at, at_literal(tomorrow)) - 1) // fm.SECONDS_PER_DAY).label("c")
        won_q = (
            select(day_idx, date_idx, func.count(), func.coalesce(func.sum(money), 0))
            .where(_D.pipeline_id == p.id, _D.status == "won", _D.closed_at >= since, _D.closed_at <= at,
                   *filters)
            .group_by(day_idx, date_idx)
        )
        daily = [(0, 0)] * HISTORY_DAYS
        by_date = [(0, 0)] * (7 * weeks)
        for d, c, n, value in conn.execute(won_q):
            i, j = max(0, int(d)), max(0, int(c))
            if i < HISTORY_DAYS:
                daily[i] = (daily[i][0] + int(n), daily[i][1] + int(value))
            if j < len(by_date):
                by_date[j] = (by_date[j][0] + int(n), by_date[j][1] + int(value))

    today = at.date()
    weekly = tuple(
        WeekPoint(today - timedelta(days=7 * w + 6), sum(c for c, _v in by_date[7 * w: 7 * w + 7]),
                  sum(v for _c, v in by_date[7 * w: 7 * w + 7]))
        for w in reversed(range(weeks))
    )
    forecast = forecast_from_days(daily, horizon_days=HORIZON_DAYS, trials=TRIALS, seed=seed,
                                  days_since_first_event=_days_since_first_event(first, at))
    report = _assemble(info, window_days, at, start, owner_name, type_name, stage_rows, type_rows, by_stage,
                       stays, total, owners_acc, types_acc, lost_reasons, weekly, forecast)
    return replace(report, other_currency_deals=other_currency)


def _days_since_first_event(first: datetime | None, at: datetime) -> int | None:
    """Whole days (rounded up) since the pipeline's first event when under HISTORY_DAYS, else None.

    Only for the reader: the forecast samples all HISTORY_DAYS days whatever the pipeline's age.
    """
    if first is None:
        return None
    first = clock.as_utc(first)
    if first > at:
        return None
    days = max(1, math.ceil(clock.days_between(first, at)))
    return days if days < HISTORY_DAYS else None


def _assemble(
    info: PipelineInfo, window_days: int, at: datetime, start: datetime, owner_name: str | None,
    type_name: str | None, stage_rows: list[Stage], type_rows: list[DealType], by_stage: dict[int, list[int]],
    stays: dict[int, tuple[int, int, int, int]], total: _Acc, owners_acc: dict[str, _Acc],
    types_acc: dict[int | None, _Acc], lost_reasons: tuple[LostReason, ...], weekly: tuple[WeekPoint, ...],
    forecast: Forecast,
) -> MetricsReport:
    stages: list[StageMetrics] = []
    weighted_exact = Fraction(0)
    for st in stage_rows:
        assert st.id is not None
        n_open, v_open = by_stage.get(st.id, [0, 0])
        n_stays, secs, adv, drop = stays.get(st.id, (0, 0, 0, 0))
        if st.archived and not (n_open or n_stays):
            continue
        w = fm.weighted_minor(v_open, st.probability)
        weighted_exact += w
        stages.append(StageMetrics(
            stage_id=st.id, name=st.name, position=st.position, probability=st.probability,
            archived=bool(st.archived), open_deals=n_open, open_value_minor=v_open,
            weighted_value_minor=fm.round_minor(w), stays_ended=n_stays, advanced=adv, dropped=drop,
            avg_days_in_stage=fm.mean_days(secs, n_stays), conversion_rate=fm.conversion_rate(adv, drop),
        ))

    bottleneck = _bottleneck(stages)
    open_deals = sum(x.open_deals for x in stages)
    open_value = sum(x.open_value_minor for x in stages)
    win = fm.win_rate(total.won, total.lost)
    avg_size = fm.mean_minor(total.won_v, total.won_valued)
    cycle = fm.mean_days(total.cycle_s, total.won)
    velocity = fm.velocity_per_day(open_deals, avg_size, win, cycle)

    by_owner = tuple(
        acc.breakdown(who) for who, acc in sorted(owners_acc.items(), key=lambda kv: (name_key(kv[0]), kv[0]))
        if not acc.empty
    )
    by_type: list[Breakdown] = []
    for t in type_rows:
        if type_name is not None and t.name != type_name:
            continue
        by_type.append(types_acc.get(t.id, _Acc()).breakdown(t.name))
    untyped = types_acc.get(None)
    if untyped is not None and not untyped.empty:
        by_type.append(untyped.breakdown(None))

    return MetricsReport(
        pipeline=info, window_days=window_days, now=at, window_start=start, owner=owner_name, type_name=type_name,
        open_deals=open_deals, open_value_minor=open_value, weighted_value_minor=fm.round_minor(weighted_exact),
        won_deals=total.won, lost_deals=total.lost, won_value_minor=total.won_v, won_with_value=total.won_valued,
        win_rate=win, avg_deal_size_minor=fm.round_minor(avg_size) if avg_size is not None else None,
        avg_deal_size_exact=avg_size, avg_cycle_days=cycle,
        velocity_per_day_minor=fm.round_minor(velocity) if velocity is not None else None,
        coverage_ratio=fm.coverage_ratio(open_value, info.target_minor), stages=tuple(stages),
        bottleneck=bottleneck, lost_reasons=lost_reasons, by_owner=by_owner, by_type=tuple(by_type),
        weekly=weekly, forecast=forecast, stays_ended=sum(x.stays_ended for x in stages),
        types_defined=len(type_rows),
    )


def _bottleneck(stages: list[StageMetrics]) -> Bottleneck | None:
    candidates = {x.stage_id: x for x in stages if not x.archived and x.avg_days_in_stage is not None}
    key = fm.pick_bottleneck({sid: x.avg_days_in_stage for sid, x in candidates.items()})
    if key is None:
        return None
    worst = candidates[key]
    assert worst.avg_days_in_stage is not None
    med = fm.median(x.avg_days_in_stage for x in candidates.values() if x.avg_days_in_stage is not None)
    return Bottleneck(
        stage_id=worst.stage_id, stage=worst.name, avg_days_in_stage=worst.avg_days_in_stage, median_days=med,
        ratio=fm.ratio(worst.avg_days_in_stage, med) if med is not None else None,
        stays_ended=worst.stays_ended, stages_compared=len(candidates),
        reason=fm.bottleneck_reason(display(worst.name), worst.avg_days_in_stage, med, len(candidates)),
    )


# -- JSON --------------------------------------------------------------------------------------------


def _breakdown_json(b: Breakdown, key_name: str, currency: str) -> dict[str, Any]:
    return {
        key_name: b.key, "open_deals": b.open_deals, "open_value": to_json_number(b.open_value_minor, currency),
        "won_deals": b.won_deals, "lost_deals": b.lost_deals, "closed_deals": b.won_deals + b.lost_deals,
        "won_value": to_json_number(b.won_value_minor, currency), "win_rate": fm.json_rate(b.win_rate),
        "avg_deal_size": to_json_number(b.avg_deal_size_minor, currency),
    }


def forecast_json(f: Forecast, currency: str) -> dict[str, Any]:
    return {
        "horizon_days": f.horizon_days, "history_days": f.history_days, "trials": f.trials, "seed": f.seed,
        "days_since_first_event": f.days_since_first_event,
        "won_deals_in_history": f.won_deals_in_history,
        "won_value_in_history": to_json_number(f.won_value_in_history_minor, currency),
        "days_with_wins": f.days_with_wins,
        "levels": [
            {"confidence": lv.confidence, "deals": lv.deals, "value": to_json_number(lv.value_minor, currency)}
            for lv in f.levels
        ] if f.levels else None,
        "reason": f.reason,
    }


def metrics_json(report: MetricsReport) -> dict[str, Any]:
    """The metrics document of `tuikanban metrics --json` (names as in docs/RULES.md, JSON documents; rates as
    fractions)."""
    cur = report.currency
    r = report
    b = r.bottleneck
    return {
        "pipeline": r.pipeline.name,
        "currency": cur,
        "window_days": r.window_days,
        "window_start": r.window_start.isoformat(),
        "now": r.now.isoformat(),
        "filters": {"owner": r.owner, "type": r.type_name},
        "open_deals": r.open_deals,
        "open_value": to_json_number(r.open_value_minor, cur),
        "weighted_value": to_json_number(r.weighted_value_minor, cur),
        "won_deals": r.won_deals,
        "lost_deals": r.lost_deals,
        "won_value": to_json_number(r.won_value_minor, cur),
        "win_rate": fm.json_rate(r.win_rate),
        "avg_deal_size": to_json_number(r.avg_deal_size_minor, cur),
        "avg_cycle_days": fm.json_days(r.avg_cycle_days),
        "velocity_per_day": to_json_number(r.velocity_per_day_minor, cur),
        "target": to_json_number(r.pipeline.target_minor, cur),
        "coverage_ratio": fm.json_rate(r.coverage_ratio),
        "sample_sizes": {
            "open_deals": r.open_deals, "closed_deals": r.closed_deals, "won_deals": r.won_deals,
            "lost_deals": r.lost_deals, "won_with_value": r.won_with_value, "stays_ended": r.stays_ended,
            "other_currency_deals": r.other_currency_deals,
        },
        "stages": [
            {
                "name": st.name, "position": st.position, "probability": st.probability, "archived": st.archived,
                "open_deals": st.open_deals, "open_value": to_json_number(st.open_value_minor, cur),
                "weighted_value": to_json_number(st.weighted_value_minor, cur),
                "avg_days_in_stage": fm.json_days(st.avg_days_in_stage),
                "conversion_rate": fm.json_rate(st.conversion_rate),
                "stays_ended": st.stays_ended, "advanced": st.advanced, "dropped": st.dropped,
                "bottleneck": b is not None and b.stage_id == st.stage_id,
            }
            for st in r.stages
        ],
        "bottleneck": None if b is None else {
            "stage": b.stage, "avg_days_in_stage": fm.json_days(b.avg_days_in_stage),
            "median_days": fm.json_days(b.median_days), "ratio": fm.json_rate(b.ratio, 2),
            "stays_ended": b.stays_ended, "stages_compared": b.stages_compared, "reason": b.reason,
        },
        "lost_reasons": [{"reason": x.reason, "count": x.count} for x in r.lost_reasons],
        "by_owner": [_breakdown_json(x, "owner", cur) for x in r.by_owner],
        "by_type": [_breakdown_json(x, "type", cur) for x in r.by_type],
        "weekly_won": [
            {"week_start": w.start.isoformat(), "won_deals": w.won_deals,
             "won_value": to_json_number(w.won_value_minor, cur)}
            for w in r.weekly
        ],
        "forecast": forecast_json(r.forecast, cur),
    }


__all__ = [
    "Bottleneck", "Breakdown", "LostReason", "MetricsReport", "StageMetrics", "WeekPoint", "compute_metrics",
    "forecast_json", "metrics_json", "seconds_between",
]
