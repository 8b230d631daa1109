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
from typing import Any

from sqlalchemy import and_, case, func, or_, select

from tuikanban.domain import clock
from tuikanban.domain.metrics import PERCENTILES
from tuikanban.services.common import resolve_pipeline
from tuikanban.store.engine import Database
from tuikanban.store.tables import DELETED, Deal, Stage, Stay

_D = Deal.__table__.c  # type: ignore[attr-defined]
_S = Stage.__table__.c  # type: ignore[attr-defined]
_Y = Stay.__table__.c  # type: ignore[attr-defined]

WEEK = timedelta(days=7)
CFD_CHUNK = 64  # points per statement (one sum column each)


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


def _cfd_counts(conn: Any, pipeline_id: int, pos: dict[int, int], points: list[datetime]) -> list[list[int]]:
    """Open deals per stage (in `pos` order) at each point, counted in the database: one sum per point over the
    stays, grouped by stage, so a few rows come back instead of every open stay (100,000 open deals held 25 MB
    of rows and timestamps; docs/PERFORMANCE.md, Memory of the screens). Points go CFD_CHUNK to a statement so
    a ten-year window (522 points) stays far below the engines' column limits."""
    counts = [[0] * len(pos) for _ in points]
    base = (select(_Y.stage_id).join(Deal.__table__, _D.id == _Y.deal_id)  # type: ignore[attr-defined]
            .where(_Y.pipeline_id == pipeline_id, _D.status != DELETED, _Y.entered_at <= points[-1],
                   or_(_Y.left_at.is_(None), _Y.left_at > points[0]))
            .group_by(_Y.stage_id))
    for first in range(0, len(points), CFD_CHUNK):
        chunk = points[first:first + CFD_CHUNK]
        sums = [func.sum(case((and_(_Y.entered_at <= t, or_(_Y.left_at.is_(None), _Y.left_at > t)), 1), else_=0))
                for t in chunk]
        for sid, *row in conn.execute(base.add_columns(*sums)):
            if sid in pos:  # a stay in an archived stage is not drawn
                for k, n in enumerate(row):
                    counts[first + k][pos[sid]] += int(n or 0)
    return counts


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
        pos = {sid: i for i, (sid, _n) in enumerate(stages)}
        columns = _cfd_counts(conn, p.id, pos, points)
        won = list(conn.execute(select(_D.id, _D.created_at, _D.closed_at).where(
            _D.pipeline_id == p.id, _D.status == "won", and_(_D.closed_at > start, _D.closed_at <= at))))
    cfd = [CfdPoint(t, tuple(counts)) for t, counts in zip(points, columns, strict=True)]
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
