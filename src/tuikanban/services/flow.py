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

from array import array
from bisect import bisect_right
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from math import ceil
from typing import Any, TypeVar, overload

from sqlalchemy import and_, case, func, or_, select

from tuikanban.domain import clock
from tuikanban.domain.metrics import PERCENTILES
from tuikanban.services.common import resolve_pipeline
from tuikanban.store.engine import Database
from tuikanban.store.lean import lean_cache
from tuikanban.store.tables import DELETED, Deal, Stage, Stay

_D = Deal.__table__.c  # type: ignore[attr-defined]
_S = Stage.__table__.c  # type: ignore[attr-defined]
_Y = Stay.__table__.c  # type: ignore[attr-defined]

WEEK = timedelta(days=7)
T = TypeVar("T")
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


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def _micros(t: datetime) -> int:
    """An aware time as whole microseconds since 1970 (exact: the times compare as these do)."""
    return (t - _EPOCH) // _MICROSECOND


class CycleDots(Sequence[CycleDot]):
    """The cycle-time scatter's dots in (won time, deal id) order, as three columns (deal id, won time in
    microseconds, cycle seconds), each `CycleDot` made when asked: a dot object a won deal held 11,000 wins of a
    90-day window at 100,000 open deals in about 3 MB while the metrics screen was open, these in 0.3 MB
    (docs/PERFORMANCE.md, Memory of the screens)."""

    def __init__(self) -> None:
        self.deal_ids = array("q")
        self.won_micros = array("q")
        self.seconds = array("q")

    def __len__(self) -> int:
        return len(self.deal_ids)

    @overload
    def __getitem__(self, k: int) -> CycleDot: ...

    @overload
    def __getitem__(self, k: slice) -> list[CycleDot]: ...

    def __getitem__(self, k: int | slice) -> CycleDot | list[CycleDot]:
        if isinstance(k, slice):
            return [self[j] for j in range(*k.indices(len(self)))]
        return CycleDot(self.deal_ids[k], _EPOCH + self.won_micros[k] * _MICROSECOND,
                        Fraction(self.seconds[k], 86400))

    def __iter__(self) -> Iterator[CycleDot]:
        return (self[j] for j in range(len(self)))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sequence) and list(self) == list(other)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"CycleDots({list(self)!r})"

    def add(self, deal_id: int, won: datetime, seconds: int) -> None:
        self.deal_ids.append(deal_id)
        self.won_micros.append(_micros(won))
        self.seconds.append(seconds)

    def in_order(self) -> CycleDots:
        """The dots by (won time, deal id): itself when the database gave them so (its index does on SQLite)."""
        won, ids = self.won_micros, self.deal_ids
        if all((won[j], ids[j]) <= (won[j + 1], ids[j + 1]) for j in range(len(won) - 1)):
            return self
        out = CycleDots()
        for j in sorted(range(len(won)), key=lambda j: (won[j], ids[j])):
            out.deal_ids.append(self.deal_ids[j])
            out.won_micros.append(self.won_micros[j])
            out.seconds.append(self.seconds[j])
        return out


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
    cycle: Sequence[CycleDot]  # CycleDots
    percentiles: dict[int, Fraction | None]
    throughput: tuple[WeekCount, ...]


def percentile(sorted_values: Sequence[T], p: int) -> T | None:
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
        with lean_cache(conn):  # (the sums go through every stay of the window once: store/lean.py)
            columns = _cfd_counts(conn, p.id, pos, points)
        # the won deals streamed into columns, in (won time, id) order (the index's on SQLite)
        dots = CycleDots()
        for i, created, closed in conn.execute(select(_D.id, _D.created_at, _D.closed_at).where(
                _D.pipeline_id == p.id, _D.status == "won", and_(_D.closed_at > start, _D.closed_at <= at))
                .order_by(_D.closed_at, _D.id)):
            won_at = clock.as_utc(closed)
            dots.add(i, won_at, int((won_at - clock.as_utc(created)).total_seconds()))
    dots = dots.in_order()
    cfd = [CfdPoint(t, tuple(counts)) for t, counts in zip(points, columns, strict=True)]
    seconds = sorted(dots.seconds)  # (a cycle time is its seconds / 86400: the same order)
    ends = points[1:] if len(points) > 1 else points
    won = dots.won_micros
    weeks = tuple(WeekCount(e, bisect_right(won, _micros(e)) - bisect_right(won, _micros(e - WEEK))) for e in ends)
    percentiles = {q: None if (v := percentile(seconds, q)) is None else Fraction(v, 86400) for q in PERCENTILES}
    return FlowReport(window_days, at, tuple(n for _i, n in stages), tuple(cfd), dots, percentiles, weeks)


__all__ = ["PERCENTILES", "CfdPoint", "CycleDot", "CycleDots", "FlowReport", "WeekCount", "flow_report", "percentile",
           "weekly_points"]
