"""The flow charts of the metrics screen, as plain data: the cumulative flow diagram, the cycle-time scatter of won
deals with its percentiles, and the throughput per week. Computed from the stays and the deals when asked. The
types and the figures are here; `services.flow` reads them through the ORM's Core selects, `services.flow_plain`
in plain SQL on a `store.uow.Unit` (no SQLAlchemy: this module imports none), both ending in `assemble`.

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
from typing import TypeVar, overload

from tuikanban.domain.metrics import PERCENTILES

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


def assemble(window_days: int, at: datetime, stages: list[tuple[int, str]], columns: list[list[int]],
             dots: CycleDots) -> FlowReport:
    """The report from what was read: the open deals per stage at each weekly point (`columns`, in `stages`'
    order), and the won deals of the window (`dots`, in any order)."""
    points = weekly_points(at, window_days)
    dots = dots.in_order()
    cfd = [CfdPoint(t, tuple(counts)) for t, counts in zip(points, columns, strict=True)]
    seconds = sorted(dots.seconds)  # (a cycle time is its seconds / 86400: the same order)
    ends = points[1:] if len(points) > 1 else points
    won = dots.won_micros
    weeks = tuple(WeekCount(e, bisect_right(won, _micros(e)) - bisect_right(won, _micros(e - WEEK))) for e in ends)
    percentiles = {q: None if (v := percentile(seconds, q)) is None else Fraction(v, 86400) for q in PERCENTILES}
    return FlowReport(window_days, at, tuple(n for _i, n in stages), tuple(cfd), dots, percentiles, weeks)


__all__ = ["CFD_CHUNK", "PERCENTILES", "WEEK", "CfdPoint", "CycleDot", "CycleDots", "FlowReport", "WeekCount",
           "assemble", "percentile", "weekly_points"]
