"""The flow charts of the metrics screen, as plain data: the cumulative flow diagram, the cycle-time scatter of won
deals with its percentiles, and the throughput per week. Computed from the stays and the deals when asked.

- Cumulative flow: at each weekly point of the window (the window's start, then every 7 days, ending at now), the
  open deals in each stage: the stays that had begun at that moment and not yet ended (`entered_at <= t` and
  `left_at` null or after `t`). Deleted deals are left out.
- Cycle time: each deal won in the window (`closed_at` in (now - window, now]), with the days from its creation to
  its win. Percentiles by nearest rank: the p-th percentile of n sorted values is the value at rank ceil(p * n / 100)
  (so the 50th of 1, 2, 3, 4 is 2).
- Throughput: deals won in each 7-day span ending at now, oldest first (a span is (end - 7 days, end]).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from fractions import Fraction
from math import ceil

from sqlalchemy import and_, or_, select

from tuikanban.domain import clock
from tuikanban.domain.metrics import PERCENTILES
from tuikanban.services.common import resolve_pipeline
from tuikanban.store.engine import Database
from tuikanban.store.tables import DELETED, Deal, Stage, Stay

_D = Deal.__table__.c  # type: ignore[attr-defined]
_S = Stage.__table__.c  # type: ignore[attr-defined]
_Y = Stay.__table__.c  # type: ignore[attr-defined]

WEEK = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class CfdPoint:
    at: datetime
    counts: tuple[int, ...]  # open deals per stage, in the stages' order


@dataclass(frozen=True, slots=True)
class CycleDot:
    deal_id: int
    won_at: datetime
    days: Fraction


@dataclass(frozen=True, slots=True)
class WeekCount:
    end: datetime  # the span is (end - 7 days, end]
    won: int


@dataclass(frozen=True, slots=True)
class FlowReport:
    window_days: int
    now: datetime
    stages: tuple[str, ...]
    cfd: tuple[CfdPoint, ...]
    cycle: tuple[CycleDot, ...]
    percentiles: dict[int, Fraction | None]
    throughput: tuple[WeekCount, ...]


def percentile(sorted_values: list[Fraction], p: int) -> Fraction | None:
    """Nearest rank: the value at rank ceil(p * n / 100) of the n sorted values (None without values)."""
    if not sorted_values:
        return None
    rank = max(1, ceil(Fraction(p * len(sorted_values), 100)))
    return sorted_values[rank - 1]


def weekly_points(now: datetime, window_days: int) -> list[datetime]:
    """now, now - 7 days, ... back to the window's start, oldest first."""
    n = window_days // 7
    return [now - WEEK * k for k in range(n, -1, -1)]


def flow_report(db: Database, pipeline: str | int | None, *, window_days: int = 90,
                now: datetime | None = None) -> FlowReport:
    at = clock.as_utc(now) if now is not None else clock.now()
    start = at - timedelta(days=window_days)
    points = weekly_points(at, window_days)
    with db.read() as s:
        p = resolve_pipeline(s, pipeline)
        assert p.id is not None
        conn = s.connection()
        stages = list(conn.execute(select(_S.id, _S.name).where(_S.pipeline_id == p.id, _S.archived.is_(False))
                                   .order_by(_S.position)))
        stays = list(conn.execute(
            select(_Y.stage_id, _Y.entered_at, _Y.left_at).join(Deal.__table__, _D.id == _Y.deal_id)  # type: ignore[attr-defined]
            .where(_Y.pipeline_id == p.id, _D.status != DELETED, _Y.entered_at <= at,
                   or_(_Y.left_at.is_(None), _Y.left_at > points[0]))))
        won = list(conn.execute(select(_D.id, _D.created_at, _D.closed_at).where(
            _D.pipeline_id == p.id, _D.status == "won", and_(_D.closed_at > start, _D.closed_at <= at))))
    pos = {sid: i for i, (sid, _n) in enumerate(stages)}
    cfd = []
    for t in points:
        counts = [0] * len(stages)
        for sid, entered, left in stays:
            if sid in pos and clock.as_utc(entered) <= t and (left is None or clock.as_utc(left) > t):
                counts[pos[sid]] += 1
        cfd.append(CfdPoint(t, tuple(counts)))
    dots = sorted((CycleDot(i, clock.as_utc(closed), Fraction(int((clock.as_utc(closed) - clock.as_utc(created))
                                                                     .total_seconds()), 86400))
                   for i, created, closed in won), key=lambda d: (d.won_at, d.deal_id))
    days = sorted(d.days for d in dots)
    ends = points[1:] if len(points) > 1 else points
    weeks = tuple(WeekCount(e, sum(1 for d in dots if e - WEEK < d.won_at <= e)) for e in ends)
    return FlowReport(window_days, at, tuple(n for _i, n in stages), tuple(cfd), tuple(dots),
                      {q: percentile(days, q) for q in PERCENTILES}, weeks)


__all__ = ["PERCENTILES", "CfdPoint", "CycleDot", "FlowReport", "WeekCount", "flow_report", "percentile",
           "weekly_points"]
