"""The metrics report of one pipeline (docs/RULES.md, Metrics): its value types, the sums its reads gather and
the figures made of them, and its JSON. Nothing here reads the database or imports the ORM.

The reads are written twice, in the same SQL: as SQLAlchemy Core selects (`services.metrics.compute_metrics`: the
command line, the backtest's neighbours) and in plain SQL on a `store.uow.Unit` (`services.metrics_plain`: the
metrics screen, which must not wait for the ORM's import: docs/PERFORMANCE.md, The metrics screen at once). Both
hand their rows to one `Sums`, so every figure is computed by the same code; a test compares both on both engines.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from fractions import Fraction
from typing import Any

from tuikanban.domain import clock
from tuikanban.domain import metrics as fm
from tuikanban.domain.errors import ValidationError
from tuikanban.domain.models import PipelineInfo
from tuikanban.domain.money import to_json_number
from tuikanban.domain.text import display, name_key
from tuikanban.services.forecast import HISTORY_DAYS, HORIZON_DAYS, TRIALS, Forecast, forecast_from_days

MAX_WINDOW_DAYS = 3650
MAX_WEEKS = 52


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


def check_window(window_days: int) -> None:
    if not 1 <= window_days <= MAX_WINDOW_DAYS:
        raise ValidationError(f"The window must be between 1 and {MAX_WINDOW_DAYS} days, not {window_days}.")


@dataclass(frozen=True, slots=True)
class WonSpan:
    """What the won-per-day read covers: `weeks` calendar weeks ending today (the trend) and the HISTORY_DAYS
    periods of 24 hours back from now (the forecast), from `since`; dates are counted back from `tomorrow`
    00:00 UTC (date 0 = today)."""

    weeks: int
    since: datetime
    tomorrow: datetime

    @classmethod
    def of(cls, at: datetime, window_days: int) -> WonSpan:
        weeks = min(MAX_WEEKS, max(1, math.ceil(window_days / 7)))
        first_week = datetime.combine(at.date() - timedelta(days=7 * weeks - 1), time(0), tzinfo=UTC)
        tomorrow = datetime.combine(at.date() + timedelta(days=1), time(0), tzinfo=UTC)
        return cls(weeks, min(at - timedelta(days=HISTORY_DAYS), first_week), tomorrow)


class Sums:
    """The rows of one computation's grouped reads, merged (the same rows from either spelling of the reads)."""

    def __init__(self, span: WonSpan) -> None:
        self.span = span
        self.by_stage: dict[int, list[int]] = {}
        self.owners: dict[str, _Acc] = {}
        self.types: dict[int | None, _Acc] = {}
        self.total = _Acc()
        self.reasons: dict[str, int] = {}
        self.other_currency = 0
        self.stays: dict[int, tuple[int, int, int, int]] = {}
        self.daily = [(0, 0)] * HISTORY_DAYS
        self.by_date = [(0, 0)] * (7 * span.weeks)

    def open_rows(self, rows: Iterable[Any]) -> None:
        """(stage id, owner, type id, deals, value in the pipeline's currency, deals in another currency)"""
        for stage_id, who, type_id, n, value, other in rows:
            self.other_currency += int(other)
            slot = self.by_stage.setdefault(stage_id, [0, 0])
            slot[0] += n
            slot[1] += int(value)
            for acc in (self.owners.setdefault(who, _Acc()), self.types.setdefault(type_id, _Acc())):
                acc.open_n += n
                acc.open_v += int(value)

    def closed_rows(self, rows: Iterable[Any]) -> None:
        """(status, owner, type id, lost reason, deals, deals valued, value, seconds created to closed, other)"""
        for status, who, type_id, reason, n, n_valued, value, cycle_s, other in rows:
            self.other_currency += int(other)
            if status == "lost":
                label = reason or "(no reason)"
                self.reasons[label] = self.reasons.get(label, 0) + n
            for acc in (self.total, self.owners.setdefault(who, _Acc()), self.types.setdefault(type_id, _Acc())):
                if status == "won":
                    acc.won += n
                    acc.won_valued += n_valued
                    acc.won_v += int(value)
                    acc.cycle_s += int(cycle_s)
                else:
                    acc.lost += n

    def stay_rows(self, rows: Iterable[Any]) -> None:
        """(stage id, stays ended, their seconds, advanced, dropped)"""
        self.stays = {sid: (int(n), int(secs), int(adv), int(drop)) for sid, n, secs, adv, drop in rows}

    def won_rows(self, rows: Iterable[Any]) -> None:
        """(24-hour periods back from now, dates back from today, deals won, their value)"""
        daily, by_date = self.daily, self.by_date
        for d, c, n, value in rows:
            i, j = max(0, int(d)), max(0, int(c))
            if i < HISTORY_DAYS:
                daily[i] = (daily[i][0] + int(n), daily[i][1] + int(value))
            if j < len(by_date):
                by_date[j] = (by_date[j][0] + int(n), by_date[j][1] + int(value))

    def report(self, info: PipelineInfo, window_days: int, at: datetime, start: datetime, owner_name: str | None,
               type_name: str | None, stage_rows: Sequence[Any], type_rows: Sequence[Any],
               first_event: datetime | None, seed: int | None) -> MetricsReport:
        """The figures (`stage_rows` / `type_rows`: the pipeline's stages and types, ORM rows or their infos)."""
        today = at.date()
        by_date = self.by_date
        weekly = tuple(
            WeekPoint(today - timedelta(days=7 * w + 6), sum(c for c, _v in by_date[7 * w: 7 * w + 7]),
                      sum(v for _c, v in by_date[7 * w: 7 * w + 7]))
            for w in reversed(range(self.span.weeks))
        )
        forecast = forecast_from_days(self.daily, horizon_days=HORIZON_DAYS, trials=TRIALS, seed=seed,
                                      days_since_first_event=_days_since_first_event(first_event, at))
        lost_reasons = tuple(
            LostReason(reason, n) for reason, n in sorted(self.reasons.items(), key=lambda kv: (-kv[1], kv[0]))
        )
        report = _assemble(info, window_days, at, start, owner_name, type_name, stage_rows, type_rows,
                           self.by_stage, self.stays, self.total, self.owners, self.types, lost_reasons, weekly,
                           forecast)
        return replace(report, other_currency_deals=self.other_currency)


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
    type_name: str | None, stage_rows: Sequence[Any], type_rows: Sequence[Any], by_stage: dict[int, list[int]],
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
    "MAX_WEEKS", "MAX_WINDOW_DAYS", "Bottleneck", "Breakdown", "LostReason", "MetricsReport", "StageMetrics", "Sums",
    "WeekPoint", "WonSpan", "check_window", "forecast_json", "metrics_json",
]
