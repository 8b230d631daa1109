"""A forecast from the open deals, with a track record (the whole pipeline; `--owner` / `--type` do not apply).

- Learned stage win probabilities: of the deals that left a stage in the window and are closed now (`resolved`),
  the share that was won. Deals that left and are still open are counted (`unresolved`) but not in the share.
  A stage with fewer than MIN_SAMPLE resolved deals keeps its configured probability in the "learned" method.
- Open-deal forecast: for the next 30, 60 and 90 days, the open deals whose expected close date falls on or before
  the horizon's last day (overdue ones included: they are still expected), each won with its stage's probability.
  `expected` is the exact sum of value x probability; `levels` come from a Monte Carlo over the deals as Bernoulli
  trials (seeded by --seed): at least this much won in 50 %, 85 % and 95 % of the trials. 10,000 trials, fewer
  when trials x deals would pass MAX_DRAWS; below 500 trials (over 2,000 deals) the levels come from the normal
  approximation of the sum instead, and `trials` is 0.
- Backtest: at 12 points 30 days apart back from now, what each method would have forecast for the 30 days after
  the point, from the deals as they were then (rebuilt from the event log), against what was actually won in those
  30 days (deals whose won time falls in them, as the metrics count wins). Methods: `throughput` (the daily won
  value of the 90 days before the point x 30, the mean of the throughput Monte Carlo), `configured` and `learned`
  (stage probabilities learned from what was known at the point). Configured probabilities are today's settings.
"""

from __future__ import annotations

import math
import random
from array import array
from bisect import bisect_left
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from fractions import Fraction
from itertools import accumulate
from statistics import NormalDist
from typing import Any

from sqlalchemy import case, distinct, func, literal, select

from tuikanban.domain import clock
from tuikanban.domain.money import to_json_number
from tuikanban.services.common import pipeline_info, resolve_pipeline
from tuikanban.services.forecast import CONFIDENCES, at_least
from tuikanban.store.engine import Database
from tuikanban.store.lean import lean_cache
from tuikanban.store.sqlfuncs import unindexed
from tuikanban.store.tables import Deal, Stage, Stay

_D = Deal.__table__.c  # type: ignore[attr-defined]
_Y = Stay.__table__.c  # type: ignore[attr-defined]
_S = Stage.__table__.c  # type: ignore[attr-defined]

HORIZONS = (30, 60, 90)
MIN_SAMPLE = 5
BACKTEST_POINTS = 12
BACKTEST_STEP_DAYS = 30
THROUGHPUT_DAYS = 90
TRIALS = 10_000
MAX_DRAWS = 1_000_000  # trials x deals: fewer trials for a large pipeline keeps each method under a second
MIN_TRIALS = 500
METHODS = ("configured", "learned")
_ZERO = Fraction(0)  # the probability of a stage not in the pipeline's list


@dataclass(frozen=True, slots=True)
class LearnedStage:
    stage_id: int
    name: str
    configured: Fraction
    learned: Fraction | None
    won: int
    resolved: int  # sample size: left the stage in the window and closed since
    unresolved: int


def _stages(conn: Any, pipeline_id: int) -> list[Any]:
    return list(conn.execute(select(_S.id, _S.name, _S.probability).where(_S.pipeline_id == pipeline_id)
                             .order_by(_S.position, _S.id)))


def _learned(stages: Sequence[Any], counts: dict[int, list[int]]) -> list[LearnedStage]:
    out = []
    for sid, name, prob in stages:
        won, lost, open_ = counts.get(sid, [0, 0, 0])
        resolved = won + lost
        out.append(LearnedStage(sid, name, Fraction(prob, 100), Fraction(won, resolved) if resolved else None,
                                won, resolved, open_))
    return out


def learned_stages(conn: Any, pipeline_id: int, start: datetime, end: datetime) -> list[LearnedStage]:
    """Per stage: deals that left it in (start, end], by their outcome as known at `end`.

    The stays are read by a scan of the table, not through an index on their end time: a 90-day window holds a
    quarter of the stays, and each found through the index costs a table lookup (0.13 s instead of 0.46 s for
    100,000 stays of 350,000; docs/PERFORMANCE.md)."""
    known = func.coalesce(_D.closed_at <= end, False)
    left, stage = unindexed(_Y.left_at), unindexed(_Y.stage_id)  # the stays in table order, deals by id
    q = (select(stage, _D.status, known, func.count(func.distinct(_Y.deal_id)))
         .join_from(Stay.__table__, Deal.__table__, _D.id == unindexed(_Y.deal_id))  # type: ignore[attr-defined]
         .where(_Y.pipeline_id == pipeline_id, left > start, left <= end)
         .group_by(stage, _D.status, known))
    counts: dict[int, list[int]] = {}
    for stage_id, status, is_known, n in conn.execute(q):
        slot = counts.setdefault(stage_id, [0, 0, 0])  # won, lost, unresolved
        if status in ("won", "lost") and is_known:
            slot[0 if status == "won" else 1] += int(n)
        else:
            slot[2] += int(n)
    return _learned(_stages(conn, pipeline_id), counts)


def learned_stages_at(conn: Any, pipeline_id: int, ends: Sequence[datetime], window: timedelta
                      ) -> list[list[LearnedStage]]:
    """`learned_stages(end - window, end)` for each of `ends` (ascending), from one read of the stays.

    The windows' bounds cut time into slices; each (stage, deal) pair gets the set of slices its stays left in
    (a bit mask: the sum of the distinct powers of two), each deal the last of `ends` before its close time; the
    pairs are then counted per (stage, mask, status, close slot), a few hundred rows. A window counts a pair when
    its mask meets the window's slices, once however many stays it has there, as COUNT(DISTINCT deal) does."""
    stages = _stages(conn, pipeline_id)
    if not ends:
        return []
    bounds = sorted({e - window for e in ends} | set(ends))
    left = unindexed(_Y.left_at)
    bit_of = case(*((left <= b, 1 << i) for i, b in enumerate(bounds[1:])), else_=0) \
        if len(bounds) > 1 else literal(0)  # the slice as a power of two (no shift operator on every engine)
    stays = (select(unindexed(_Y.stage_id).label("s"), unindexed(_Y.deal_id).label("d"), bit_of.label("bit"))
             .where(_Y.pipeline_id == pipeline_id, left > bounds[0], left <= bounds[-1]).subquery())
    pairs = (select(stays.c.s, stays.c.d, func.sum(distinct(stays.c.bit)).label("mask"))
             .group_by(stays.c.s, stays.c.d).subquery())
    closed_slot = case(*((_D.closed_at <= e, i) for i, e in enumerate(ends)), else_=len(ends))
    q = (select(pairs.c.s, _D.status, closed_slot, pairs.c.mask, func.count())
         .join_from(pairs, Deal.__table__, _D.id == unindexed(pairs.c.d))  # type: ignore[attr-defined]
         .group_by(pairs.c.s, _D.status, closed_slot, pairs.c.mask))
    rows = [(int(s), status, int(slot), int(mask), int(n)) for s, status, slot, mask, n in conn.execute(q)]
    out = []
    for k, end in enumerate(ends):
        start = end - window
        window_mask = sum(1 << i for i in range(len(bounds) - 1) if start <= bounds[i] and bounds[i + 1] <= end)
        counts: dict[int, list[int]] = {}
        for s, status, slot, mask, n in rows:
            if not mask & window_mask:
                continue
            c = counts.setdefault(s, [0, 0, 0])
            if status in ("won", "lost") and slot <= k:
                c[0 if status == "won" else 1] += n
            else:
                c[2] += n
        out.append(_learned(stages, counts))
    return out


class _Group(Sequence[tuple[int, Fraction]]):
    """The (value, probability) deals of one horizon, made as they are read from two arrays (value, stage id)."""

    def __init__(self, values: Any, sids: Any, probs: dict[int, Fraction]) -> None:
        self._values, self._sids, self._probs = values, sids, probs

    def __len__(self) -> int:
        return len(self._values)

    def __getitem__(self, k: Any) -> Any:
        if isinstance(k, slice):
            return [self[j] for j in range(*k.indices(len(self)))]
        return self._values[k], self._probs.get(self._sids[k], _ZERO)

    def __iter__(self) -> Iterator[tuple[int, Fraction]]:
        probs = self._probs
        for v, sid in zip(self._values, self._sids, strict=True):
            yield v, probs.get(sid, _ZERO)


class _Chain(Sequence[tuple[int, Fraction]]):
    """Groups one after the other, as one sequence that is iterated (never listed)."""

    def __init__(self, groups: Sequence[_Group]) -> None:
        self._groups = groups

    def __len__(self) -> int:
        return sum(len(g) for g in self._groups)

    def __getitem__(self, k: Any) -> Any:
        return list(self)[k]

    def __iter__(self) -> Iterator[tuple[int, Fraction]]:
        for g in self._groups:
            yield from g


def probabilities(stages: Sequence[LearnedStage], method: str) -> dict[int, Fraction]:
    return {
        st.stage_id: st.learned if method == "learned" and st.learned is not None and st.resolved >= MIN_SAMPLE
        else st.configured
        for st in stages
    }


def monte_carlo(deals: Sequence[tuple[int, Fraction]], *, trials: int, seed: int | None) -> tuple[int, ...]:
    """At-least levels (CONFIDENCES) of the won value when each (value, probability) deal is won independently."""
    return monte_carlo_nested([[d for d in deals]], trials=trials, seed=seed)[0]


def monte_carlo_nested(groups: Sequence[Sequence[tuple[int, Fraction]]], *, trials: int, seed: int | None
                       ) -> list[tuple[int, ...]]:
    """Levels for nested deal sets: result i covers groups[0..i] (the deals closing by each horizon), all from the
    same trials, so each deal is drawn once per trial."""
    rng = random.Random(seed)
    draw = rng.random
    pairs = [[(v, float(p)) for v, p in g if p > 0 and v > 0] for g in groups]
    sums: list[list[int]] = [[] for _ in groups]
    for _ in range(trials):
        total = 0
        for i, group in enumerate(pairs):
            total += sum([v for v, p in group if draw() < p])
            sums[i].append(total)
    return [tuple(at_least(sorted(x), c) for c in CONFIDENCES) if x else tuple(0 for _ in CONFIDENCES)
            for x in sums]


def normal_levels(deals: Sequence[tuple[int, Fraction]]) -> tuple[int, ...]:
    """The same levels from the normal approximation of a sum of many independent wins (mean sum(v p),
    variance sum(v^2 p (1 - p))), used when there are too many deals for the trials."""
    as_float = _float_of()
    mean = sum(v * as_float(p) for v, p in deals)  # (iterated twice, never listed: 100,000 deals on a big board)
    sd = math.sqrt(sum(v * v * f * (1 - f) for v, p in deals if (f := as_float(p)) is not None))
    dist = NormalDist(mean, sd) if sd > 0 else None
    return tuple(max(0, round(dist.inv_cdf(1 - c))) if dist is not None else round(mean) for c in CONFIDENCES)


def _trials(n: int) -> int:
    """Trials for n deals: 10,000, fewer for a large pipeline (at most MAX_DRAWS draws); 0 = too many deals for
    500 trials, use the normal approximation."""
    trials = min(TRIALS, MAX_DRAWS // max(n, 1))
    return trials if trials >= MIN_TRIALS else 0


def _float_of() -> Any:
    """float(p) of a probability, converted once per distinct one (keyed by (numerator, denominator): hashing a
    Fraction costs a modular inverse)."""
    cache: dict[tuple[int, int], float] = {}

    def as_float(p: Fraction) -> float:
        key = (p.numerator, p.denominator)
        f = cache.get(key)
        if f is None:
            f = cache[key] = float(p)
        return f

    return as_float


def _expected_nested(groups: Sequence[Sequence[tuple[int, Fraction]]]) -> list[int]:
    """`_expected` of groups[0..i] for each i: the values added per probability carry from one group to the
    next (whole numbers: the same sums)."""
    by_probability: dict[tuple[int, int], int] = {}
    out = []
    for group in groups:
        for v, p in group:
            key = (p.numerator, p.denominator)
            by_probability[key] = by_probability.get(key, 0) + v
        out.append(round(sum((Fraction(v * n, d) for (n, d), v in by_probability.items()), Fraction(0))))
    return out


def _expected(deals: Sequence[tuple[int, Fraction]]) -> int:
    """round(sum of value x probability), exactly: the values are added per probability first (a few stage
    probabilities), so there are a few Fraction products instead of one per deal."""
    by_probability: dict[tuple[int, int], int] = {}
    for v, p in deals:
        key = (p.numerator, p.denominator)  # hashing a Fraction costs a modular inverse
        by_probability[key] = by_probability.get(key, 0) + v
    return round(sum((Fraction(v * n, d) for (n, d), v in by_probability.items()), Fraction(0)))


def _open_reads(conn: Any, pipeline_id: int, cur: str, at: datetime, window_days: int, backtest: bool
                ) -> tuple[list[LearnedStage], list[tuple[array[int], array[int]]], list[Any] | None]:
    """The forecast's reads: the learned probabilities, each horizon's open deals, and the backtest's points."""
    from tuikanban.services.forecast_backtest import backtest_points  # it imports this module

    learned = learned_stages(conn, pipeline_id, at - timedelta(days=window_days), at)
    # each open deal in the pipeline's currency with a close date goes to the first horizon it falls in: the
    # same for every method, so placed once (in id order: the draw order). The rows are streamed, not listed:
    # 100,000 open deals held about 15 MB of rows and dates at once (docs/PERFORMANCE.md, Memory of the
    # screens), and the database leaves out the deals that can never be placed.
    ends = [at.date() + timedelta(days=d) for d in HORIZONS]
    open_rows = conn.execute(select(_D.value_minor, _D.currency, _D.expected_close, _D.stage_id)
                             .where(_D.pipeline_id == pipeline_id, _D.status == "open", _D.currency == cur,
                                    _D.expected_close.is_not(None), _D.expected_close <= ends[-1])
                             .order_by(_D.id))
    # each horizon's deals as two arrays (value, stage id), a few bytes a deal: a tuple a deal and another per
    # method held 100,000 open deals in about 16 MB (docs/PERFORMANCE.md, Memory of the screens)
    placed = [(array("q"), array("q")) for _ in HORIZONS]
    for v, c, close, sid in open_rows:
        if c == cur and close is not None and (i := bisect_left(ends, close)) < len(HORIZONS):
            placed[i][0].append(v or 0)
            placed[i][1].append(sid)
    points = backtest_points(conn, pipeline_id, cur, at, window_days) if backtest else None  # the module's own cost
    return learned, placed, points


def open_forecast(db: Database, pipeline: str | int | None, *, window_days: int = 90, seed: int | None = None,
                  now: datetime | None = None, backtest: bool = False) -> dict[str, Any]:
    """The three new `metrics --json` keys: stage_win_probabilities, open_forecast and forecast_backtest (None
    unless `backtest`: rebuilding the pipeline at 12 past points costs seconds on a large log, far more than the
    rest of the metrics; see docs/PERFORMANCE.md, The review and the forecast's backtest)."""
    from tuikanban.services.forecast_backtest import backtest_json  # it imports this module

    at = clock.as_utc(now) if now is not None else clock.now()
    with db.read() as s:
        p = resolve_pipeline(s, pipeline)
        assert p.id is not None
        info = pipeline_info(p)
        cur = info.currency
        conn = s.connection()
        with lean_cache(conn):  # (the backtest's grouped reads go through the log once: store/lean.py)
            learned, placed, points = _open_reads(conn, p.id, cur, at, window_days, backtest)

    def money(minor: int) -> int | float | None:
        return to_json_number(minor, cur)

    forecasts: dict[str, Any] = {}
    for method in METHODS:
        probs = probabilities(learned, method)
        groups = [_Group(values, sids, probs) for values, sids in placed]
        sizes = list(accumulate(len(g) for g in groups))
        trials = _trials(sizes[-1])
        # (the normal approximation sums each horizon's deals afresh: sum() adds floats its own way, which
        # differs between Python versions, and the levels must not depend on how they were grouped)
        levels = (monte_carlo_nested(groups, trials=trials, seed=seed) if trials
                  else [normal_levels(_Chain(groups[:i + 1])) for i in range(len(groups))])
        forecasts[method] = [
            {"days": days, "deals": n, "expected": money(expected), "trials": trials,
             "levels": [{"confidence": c, "value": money(v)} for c, v in zip(CONFIDENCES, lv, strict=True)]}
            for days, n, expected, lv in zip(HORIZONS, sizes, _expected_nested(groups), levels, strict=True)
        ]
    return {
        "stage_win_probabilities": [
            {"stage": st.name, "configured": float(st.configured),
             "learned": None if st.learned is None else round(float(st.learned), 4), "won": st.won,
             "resolved": st.resolved, "unresolved": st.unresolved,
             "used_by_learned": "learned" if st.learned is not None and st.resolved >= MIN_SAMPLE else "configured"}
            for st in learned
        ],
        "open_forecast": {"seed": seed, "min_sample": MIN_SAMPLE, "methods": forecasts},
        "forecast_backtest": backtest_json(points, cur) if points is not None else None,
    }


__all__ = ["LearnedStage", "learned_stages", "learned_stages_at", "monte_carlo", "open_forecast", "probabilities"]
