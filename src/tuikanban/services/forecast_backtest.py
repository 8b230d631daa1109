"""The forecast's backtest: what each method would have said at 12 points in the past, against what was won.

At 12 points 30 days apart back from now, each method's forecast of the value won in the 30 days after the point,
from the deals as they were then, against the deals actually won in those 30 days (see `services.forecast_open`
for the methods). The deals "as they were then" follow `services.changes`: a deal's state at a moment is its row
now rewound by its events after the moment. Only what the forecast needs is rebuilt: was the deal open, its value,
expected close date and stage.

How it stays fast on a large log (docs/PERFORMANCE.md, The review and the forecast's backtest):
- the events after the first point are read once, one GROUP BY per slice between two points (a sort of one
  month's events at a time, not of the year's; five aggregates, not the review's nine), so each deal has a few
  slices with events and its state changes only there;
- a deal's state holds over the run of points between two of its slices; within a run, the points whose
  horizon reaches its close date are a tail of the run (the horizons grow), so the deal's value is added to its
  stage's sum for that tail with two entries of a difference array: no work per deal and point;
- the learned probabilities of all 12 windows come from one read of the stays (`learned_stages_at`).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from fractions import Fraction
from typing import Any

from sqlalchemy import BigInteger, String, case, cast, func, literal, or_, select

from tuikanban.domain.money import to_json_number
from tuikanban.services.changes import _CLOSES, _KINDS, _OPENS, _STAGE_LEFT, _edit, _first, _payload
from tuikanban.services.forecast_open import (
    BACKTEST_POINTS,
    BACKTEST_STEP_DAYS,
    METHODS,
    THROUGHPUT_DAYS,
    _expected,
    learned_stages_at,
    probabilities,
)
from tuikanban.store.sqlfuncs import unindexed
from tuikanban.store.tables import Deal, Event

_D = Deal.__table__.c  # type: ignore[attr-defined]
_E = Event.__table__.c  # type: ignore[attr-defined]
_FIELD_KINDS = ("edit", "undo", "redo")  # the kinds that carry a field change (services.changes._edit)


@dataclass(frozen=True, slots=True)
class BacktestPoint:
    at: datetime
    throughput: int
    configured: int
    learned: int
    actual_deals: int
    actual_value: int


_VALUE_CHUNK = 5_000  # deal ids per query for the value changes (under every engine's limit of bound values)


def _slice_rows(conn: Any, pipeline_id: int, points: Sequence[datetime]) -> dict[int, dict[int, tuple[Any, ...]]]:
    """deal id -> {slice k: (closings - openings, created, first close change, first stage left, first currency
    change)} of its events in slice k = (points[k], points[k + 1]] (the last slice: everything after the last
    point), value changes left out (they are most of the log: `_value_changes` reads them for the deals that
    need them)."""
    deal = unindexed(_E.deal_id)  # read the time range from the covering index, not the log in deal order
    columns = (
        deal,
        # a move (a third of these events) neither opens nor closes: said first, it skips the longer tests
        func.sum(case((_E.kind == "move", 0), (_CLOSES, 1), (_OPENS, -1), else_=0)),
        func.max(case((_E.kind == "create", 1), else_=0)),
        _first(_edit("close"), _E.old_value),
        _first(_STAGE_LEFT, cast(_E.from_stage_id, String)),
        _first(_edit("currency"), _E.old_value),
    )
    not_value = or_(_E.field.is_(None), _E.field != "value", _E.kind.not_in(_FIELD_KINDS))
    out: dict[int, dict[int, tuple[Any, ...]]] = {}
    for k, lo in enumerate(points):
        q = select(*columns).where(_E.pipeline_id == pipeline_id, _E.at > lo, _E.kind.in_(_KINDS), not_value)
        if k + 1 < len(points):
            q = q.where(_E.at <= points[k + 1])
        for row in conn.execute(q.group_by(deal)):
            out.setdefault(row[0], {})[k] = tuple(row[1:])
    return out


def _value_changes(conn: Any, pipeline_id: int, points: Sequence[datetime], deal_ids: Sequence[int]
                   ) -> dict[int, dict[int, int]]:
    """deal id -> {slice k: the sum of new - old of its value changes in slice k} for `deal_ids`, through the
    deals' (deal_id, at) index: only the deals that count at some point are read."""
    def as_int(c: Any) -> Any:
        return func.coalesce(cast(c, BigInteger), 0)

    whens = [(_E.at > points[i], i) for i in range(len(points) - 1, 0, -1)]
    bucket = case(*whens, else_=0) if whens else literal(0)  # CASE needs one WHEN
    out: dict[int, dict[int, int]] = {}
    for start in range(0, len(deal_ids), _VALUE_CHUNK):
        chunk = deal_ids[start:start + _VALUE_CHUNK]
        q = (select(_E.deal_id, bucket, func.sum(as_int(_E.new_value) - as_int(_E.old_value)))
             .where(_E.deal_id.in_(chunk), _E.at > points[0], _E.pipeline_id == pipeline_id,
                    _E.kind.in_(_FIELD_KINDS), _E.field == "value")
             .group_by(_E.deal_id, bucket))
        for deal_id, k, dvalue in conn.execute(q):
            out.setdefault(deal_id, {})[int(k)] = int(dvalue or 0)
    return out


@dataclass(frozen=True, slots=True)
class _Run:
    """Points first..hi at which a deal counts (open, close date within the horizon, its currency then the
    pipeline's): in `stage`, at its value now (`base`) less its value changes after each point."""

    deal_id: int
    first: int
    hi: int
    stage: int
    base: int


def _runs(conn: Any, pipeline_id: int, points: Sequence[datetime], currency: str, horizons: Sequence[date]
          ) -> list[_Run]:
    """Every run of points at which a deal counts, from its row now rewound by its events other than value
    changes (as services.changes._rewind does, for what the forecast reads)."""
    n = len(points)
    slices = _slice_rows(conn, pipeline_id, points)
    runs: list[_Run] = []

    def add(deal_id: int, is_open: bool, ok: bool, close: date | None, stage: int, lo: int, hi: int,
            base: int) -> None:
        if not is_open or not ok or close is None:
            return
        first = max(lo, bisect_left(horizons, close))  # the points of the run whose horizon reaches the close
        if first <= hi:
            runs.append(_Run(deal_id, first, hi, stage, base))

    q = select(_D.id, _D.status, _D.value_minor, _D.currency, _D.expected_close, _D.stage_id).where(
        _D.pipeline_id == pipeline_id)
    for deal_id, status, value, cur, close_now, stage_now in conn.execute(q):
        by_slice = slices.get(deal_id)
        open_now = status == "open"
        base = value or 0
        if by_slice is None:
            add(deal_id, open_now, cur == currency, close_now, stage_now, 0, n - 1, base)
            continue
        net = 0
        created = False
        first_close: str | None = None
        first_stage: str | None = None
        first_cur: str | None = None
        state = (open_now, cur == currency, close_now, stage_now)
        hi = n - 1
        for k in sorted(by_slice, reverse=True):
            if k < hi:
                add(deal_id, *state, k + 1, hi, base)
            hi = k
            b_net, b_created, b_close, b_stage, b_cur = by_slice[k]
            net += int(b_net or 0)
            created = created or bool(b_created)
            first_close = b_close if b_close is not None else first_close
            first_stage = b_stage if b_stage is not None else first_stage
            first_cur = b_cur if b_cur is not None else first_cur
            close = close_now
            if first_close is not None:
                text = _payload(first_close)
                close = date.fromisoformat(text) if text else None
            stage_text = _payload(first_stage)
            cur_then = _payload(first_cur) if first_cur is not None else cur
            state = (not created and int(open_now) + net > 0, cur_then == currency, close,
                     int(stage_text) if stage_text else stage_now)
        add(deal_id, *state, 0, hi, base)
    return runs


def open_value_by_stage(conn: Any, pipeline_id: int, points: Sequence[datetime], currency: str,
                        horizon_days: int) -> list[dict[int, int]]:
    """For each of `points` (ascending): stage id -> the value (in `currency`; other currencies count 0) of the
    deals open then whose expected close date then falls on or before the point's horizon's last day.

    First the runs of points at which each deal counts, from every event but the value changes; then the value
    changes of those deals only (a deal's value at a point is its value now less its changes since)."""
    n = len(points)
    horizons = [(t + timedelta(days=horizon_days)).date() for t in points]
    runs = _runs(conn, pipeline_id, points, currency, horizons)
    changes = _value_changes(conn, pipeline_id, points, sorted({r.deal_id for r in runs}))
    sums: dict[int, list[int]] = {}
    for r in runs:
        by_stage = sums.get(r.stage)
        if by_stage is None:
            by_stage = sums[r.stage] = [0] * n
        dv = changes.get(r.deal_id)
        for i in range(r.first, r.hi + 1):
            by_stage[i] += r.base - (sum(v for k, v in dv.items() if k >= i) if dv else 0)
    out: list[dict[int, int]] = [{} for _ in points]
    for stage, totals in sums.items():
        for i, total in enumerate(totals):
            if total:
                out[i][stage] = total
    return out


def backtest_points(conn: Any, pipeline_id: int, currency: str, now: datetime, window_days: int
                    ) -> list[BacktestPoint]:
    points = [now - timedelta(days=BACKTEST_STEP_DAYS * k) for k in range(BACKTEST_POINTS, 0, -1)]
    open_by_stage = open_value_by_stage(conn, pipeline_id, points, currency, BACKTEST_STEP_DAYS)
    learned_by_point = learned_stages_at(conn, pipeline_id, points, timedelta(days=window_days))
    money = func.coalesce(func.sum(_D.value_minor), 0)
    won_q = select(func.count(), money).where(_D.pipeline_id == pipeline_id, _D.status == "won",
                                              _D.currency == currency)
    out = []
    for i, t in enumerate(points):
        horizon_end = t + timedelta(days=BACKTEST_STEP_DAYS)
        n, value = conn.execute(won_q.where(_D.closed_at > t, _D.closed_at <= horizon_end)).one()
        _n, before = conn.execute(won_q.where(_D.closed_at > t - timedelta(days=THROUGHPUT_DAYS),
                                              _D.closed_at <= t)).one()
        by_method = {}
        for method in METHODS:
            probs = probabilities(learned_by_point[i], method)
            by_method[method] = _expected([(v, probs.get(sid, Fraction(0))) for sid, v in open_by_stage[i].items()])
        throughput = round(Fraction(int(before), THROUGHPUT_DAYS) * BACKTEST_STEP_DAYS)
        out.append(BacktestPoint(t, throughput, by_method["configured"], by_method["learned"], int(n), int(value)))
    return out


def backtest_json(points: Sequence[BacktestPoint], currency: str) -> dict[str, Any]:
    def mae(attr: str) -> int | float | None:
        if not points:
            return None
        err = sum(abs(getattr(x, attr) - x.actual_value) for x in points)
        return to_json_number(round(Fraction(err, len(points))), currency)

    return {
        "horizon_days": BACKTEST_STEP_DAYS,
        "points": [
            {"at": x.at.isoformat(), "throughput": to_json_number(x.throughput, currency),
             "configured": to_json_number(x.configured, currency), "learned": to_json_number(x.learned, currency),
             "actual_deals": x.actual_deals, "actual": to_json_number(x.actual_value, currency)}
            for x in points
        ],
        "mean_abs_error": {m: mae(m) for m in ("throughput", *METHODS)},
    }


__all__ = ["BacktestPoint", "backtest_json", "backtest_points", "open_value_by_stage"]
