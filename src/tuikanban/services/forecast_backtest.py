"""The forecast's backtest: what each method would have said at 12 points in the past, against what was won.

At 12 points 30 days apart back from now, each method's forecast of the value won in the 30 days after the point,
from the deals as they were then, against the deals actually won in those 30 days (see `services.forecast_open`
for the methods). The deals "as they were then" follow `services.changes`: a deal's state at a moment is its row
now rewound by its events after the moment. Only what the forecast needs is rebuilt: was the deal open, its value,
expected close date and stage.

How it stays fast on a large log (docs/PERFORMANCE.md, The review and the forecast's backtest, and The
backtest's speed):
- the events after the first point other than value changes are read once, one GROUP BY per slice between two
  points (a sort of one month's events at a time, not of the year's; five aggregates, not the review's nine), so
  each deal has a few slices with events and its state changes only there;
- a deal's state holds over the run of points between two of its slices; within a run, the points whose
  horizon reaches its close date are a tail of the run (the horizons grow): those are the points at which it
  counts. A deal whose close date never changed and is past every horizon counts nowhere and is skipped;
- the value changes (60 % of a typical log) are read only for the deals that count at some point, and a deal's
  value at a point is its value now less its changes since;
- the learned probabilities of all 12 windows come from one read of the stays (`learned_stages_at`).
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from fractions import Fraction
from typing import Any

from sqlalchemy import BigInteger, String, case, cast, func, literal, or_, select, text

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
from tuikanban.store.tables import NOT_VALUE_CHANGE, Deal, Event

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


# Deal ids per query (far under every engine's limit of bound values). Each IN list of another length is a
# statement of its own that SQLite keeps prepared in the connection's cache, with a slot per bound value, and a
# chunk's slices are held while it is read: at 5,000 the backtest's job kept 1.9 MB more of SQLite's memory after
# it and peaked 5 MB higher at 100,000 open deals, for the same CPU (docs/PERFORMANCE.md, Memory of the screens).
_VALUE_CHUNK = 1_000
BY_DEAL_SHARE = 8  # a lookup by deal costs a table read per change, several times an entry of a time range


def _slice_columns() -> tuple[Any, ...]:
    """closings - openings, created, first close change, first stage left, first currency change (of a group)."""
    return (
        # a move (a third of these events) neither opens nor closes: said first, it skips the longer tests
        func.sum(case((_E.kind == "move", 0), (_CLOSES, 1), (_OPENS, -1), else_=0)),
        func.max(case((_E.kind == "create", 1), else_=0)),
        _first(_edit("close"), _E.old_value),
        _first(_STAGE_LEFT, cast(_E.from_stage_id, String)),
        _first(_edit("currency"), _E.old_value),
    )


_NOT_VALUE = or_(_E.field.is_(None), _E.field != "value", _E.kind.not_in(_FIELD_KINDS))


class _Slices:
    """deal id -> [(slice k, closings - openings, created, first close change, first stage left, first currency
    change)] of its events in slice k = (points[k], points[k + 1]] (the last slice: everything after the last
    point), value changes left out, in ascending k. A list per deal, not a dict: 88 bytes instead of 224 for each
    deal (docs/PERFORMANCE.md, Memory of the screens); the stage left is kept as its payload (the stage id as text;
    the time before it only orders events within a slice), a few distinct values shared."""

    def __init__(self) -> None:
        self.by_deal: dict[int, list[tuple[Any, ...]]] = {}
        self.close_changed: set[int] = set()  # the deals with a close-date change in one of the slices
        self._shared: dict[str | None, str | None] = {}

    def add(self, deal_id: int, k: int, net: Any, created: Any, close: Any, stage: Any, cur: Any) -> None:
        stage_left = _payload(stage)
        entry = (k, net, created, close, self._shared.setdefault(stage_left, stage_left), cur)
        held = self.by_deal.get(deal_id)
        if held is None:
            self.by_deal[deal_id] = [entry]
        else:
            held.append(entry)
        if close is not None:
            self.close_changed.add(deal_id)


def _slice_rows(conn: Any, pipeline_id: int, points: Sequence[datetime], wanted: set[int]) -> _Slices:
    """The slices of the `wanted` deals of the pipeline with events after the first point: one GROUP BY per slice
    over the covering index's time range (a sort of one month's events at a time). The other deals' groups are
    dropped as they come: only the wanted deals' slices are ever read (`_deal_runs`), and every deal's held 8 MB
    at 100,000 deals (docs/PERFORMANCE.md, Memory of the screens)."""
    deal = unindexed(_E.deal_id)  # read the time range from the covering index, not the log in deal order
    columns = (deal, *_slice_columns())
    out = _Slices()
    for k, lo in enumerate(points):
        q = select(*columns).where(_E.pipeline_id == pipeline_id, _E.at > lo, _E.kind.in_(_KINDS), _NOT_VALUE)
        if k + 1 < len(points):
            q = q.where(_E.at <= points[k + 1])
        for deal_id, *rest in conn.execute(q.group_by(deal)):
            if deal_id in wanted:
                out.add(deal_id, k, *rest)
    return out


def _slice_bucket(points: Sequence[datetime]) -> Any:
    """The slice k of an event after points[0], as SQL: the last point before its time."""
    whens = [(_E.at > points[i], i) for i in range(len(points) - 1, 0, -1)]
    return case(*whens, else_=0) if whens else literal(0)  # CASE needs one WHEN


def _slice_rows_by_deal(conn: Any, pipeline_id: int, points: Sequence[datetime], deal_ids: Sequence[int]
                        ) -> _Slices:
    """The slices of `deal_ids` only, through ix_event_deal_state (each deal's events other than value changes in
    time order, read from the index alone: a seek per deal, no table lookup). Its predicate is spelled as the
    index's (NOT_VALUE_CHANGE) so that SQLite uses it; it is the same set of events as `_NOT_VALUE`. The pipeline
    is a column of that index, kept out of the planner's choice (`unindexed`: else the review's index, led by the
    pipeline and the time, reads the whole log's range)."""
    bucket = _slice_bucket(points)
    out = _Slices()
    for start in range(0, len(deal_ids), _VALUE_CHUNK):
        q = (select(_E.deal_id, bucket, *_slice_columns())
             .where(_E.deal_id.in_(deal_ids[start:start + _VALUE_CHUNK]), _E.at > points[0], _E.kind.in_(_KINDS),
                    unindexed(_E.pipeline_id) == pipeline_id, text(f"({NOT_VALUE_CHANGE})"))
             .group_by(_E.deal_id, bucket).order_by(_E.deal_id, bucket))
        for deal_id, k, *rest in conn.execute(q):
            out.add(deal_id, int(k), *rest)
    return out


def _close_edited(conn: Any) -> set[int]:
    """Every deal with a close-date change ever (an edit, or the undo or redo of one), from the two small partial
    indexes of those events alone (ix_event_close_edit, ix_event_close_undo; their predicates spelled as theirs):
    a superset of the deals whose close date changed after a point."""
    out: set[int] = set()
    for predicate in ("kind = 'edit' AND field = 'close'", "kind IN ('undo', 'redo') AND field = 'close'"):
        out.update(r[0] for r in conn.execute(select(_E.deal_id).where(text(predicate)).distinct())
                   if r[0] is not None)
    return out


def _value_changes(conn: Any, pipeline_id: int, points: Sequence[datetime], deal_ids: Sequence[int],
                   deals_read: int, *, by_deal: bool | None = None) -> dict[int, dict[int, int]]:
    """deal id -> {slice k: the sum of new - old of its value changes in slice k} for `deal_ids` (of the
    `deals_read` deals of the pipeline).

    A few deals (at most one in BY_DEAL_SHARE): their changes through the deals' (deal_id, at) index, a table
    lookup per change; more: one GROUP BY per slice over the covering index's time range, as the slices are read,
    kept for those deals. `by_deal` forces one of the two (the tests compare them)."""
    def as_int(c: Any) -> Any:
        return func.coalesce(cast(c, BigInteger), 0)

    if by_deal is None:
        by_deal = len(deal_ids) * BY_DEAL_SHARE <= deals_read
    dvalue = func.sum(as_int(_E.new_value) - as_int(_E.old_value))
    is_value = (_E.pipeline_id == pipeline_id, _E.kind.in_(_FIELD_KINDS), _E.field == "value")
    out: dict[int, dict[int, int]] = {}
    if by_deal:
        bucket = _slice_bucket(points)
        for start in range(0, len(deal_ids), _VALUE_CHUNK):
            q = (select(_E.deal_id, bucket, dvalue)
                 .where(_E.deal_id.in_(deal_ids[start:start + _VALUE_CHUNK]), _E.at > points[0], *is_value)
                 .group_by(_E.deal_id, bucket))
            for deal_id, k, change in conn.execute(q):
                out.setdefault(deal_id, {})[int(k)] = int(change or 0)
        return out
    wanted = set(deal_ids)
    deal = unindexed(_E.deal_id)  # the time range of the covering index, as in _slice_rows
    for k, lo in enumerate(points):
        q = select(deal, dvalue).where(_E.at > lo, *is_value)
        if k + 1 < len(points):
            q = q.where(_E.at <= points[k + 1])
        for deal_id, change in conn.execute(q.group_by(deal)):
            if deal_id in wanted:
                out.setdefault(deal_id, {})[k] = int(change or 0)
    return out


class _Deals:
    """The deals that can count, as columns of a few bytes a deal (id, flags, value, close date, stage now): a
    tuple a deal held 38,000 deals in about 6 MB at 100,000 open deals, these in about 1.3 MB
    (docs/PERFORMANCE.md, Memory of the screens). The close date is its ordinal (0: none); the flags say open now
    (OPEN) and in the pipeline's currency now (IN_CURRENCY)."""

    OPEN = 1
    IN_CURRENCY = 2

    def __init__(self) -> None:
        self.ids = array("q")
        self.flags = bytearray()
        self.values = array("q")
        self.closes = array("l")
        self.stages = array("q")

    def __len__(self) -> int:
        return len(self.ids)

    def add_rows(self, rows: Any, currency: str) -> None:
        ids, flags, values, closes, stages = self.ids, self.flags, self.values, self.closes, self.stages
        for deal_id, status, value, cur, close, stage in rows:
            ids.append(deal_id)
            flags.append((self.OPEN if status == "open" else 0) | (self.IN_CURRENCY if cur == currency else 0))
            values.append(value or 0)
            closes.append(close.toordinal() if close is not None else 0)
            stages.append(stage)

    def sorted_by_id(self) -> _Deals:
        ids = self.ids
        if all(ids[j] < ids[j + 1] for j in range(len(ids) - 1)):
            return self
        out = _Deals()
        for i in sorted(range(len(self.ids)), key=self.ids.__getitem__):
            out.ids.append(self.ids[i])
            out.flags.append(self.flags[i])
            out.values.append(self.values[i])
            out.closes.append(self.closes[i])
            out.stages.append(self.stages[i])
        return out

    def rows(self, start: int = 0, stop: int | None = None) -> Any:
        """(id, flags, value, close ordinal, stage) of the deals start..stop."""
        stop = len(self.ids) if stop is None else stop
        return zip(self.ids[start:stop], self.flags[start:stop], self.values[start:stop],
                   self.closes[start:stop], self.stages[start:stop], strict=True)


class _Runs:
    """Runs of points first..hi at which a deal counts (open, close date within the horizon, its currency then the
    pipeline's): in `stage`, at its value now (`base`) less its value changes after each point. Five columns of 8
    bytes a run (a frozen dataclass a run cost about 150 bytes)."""

    def __init__(self) -> None:
        self.deal_ids = array("q")
        self.firsts = array("q")
        self.his = array("q")
        self.stages = array("q")
        self.bases = array("q")

    def __len__(self) -> int:
        return len(self.deal_ids)

    def append(self, deal_id: int, first: int, hi: int, stage: int, base: int) -> None:
        self.deal_ids.append(deal_id)
        self.firsts.append(first)
        self.his.append(hi)
        self.stages.append(stage)
        self.bases.append(base)

    def __iter__(self) -> Iterator[tuple[int, int, int, int, int]]:
        return zip(self.deal_ids, self.firsts, self.his, self.stages, self.bases, strict=True)


STATE_SHARE = 3  # ix_event_deal_state: a seek per deal against a scan of the whole log's range


def _runs(conn: Any, pipeline_id: int, points: Sequence[datetime], currency: str, horizons: Sequence[date], *,
          by_deal: bool | None = None) -> tuple[_Runs, int]:
    """Every run of points at which a deal counts, from its row now rewound by its events other than value
    changes (as services.changes._rewind does, for what the forecast reads); and how many deals were read.

    Only a deal whose close date now is within the last horizon, or that had a close-date change, can count at a
    point (a deal's close date at a point is today's unless it changed since). When those are a few (at most one
    in STATE_SHARE of the deals), only their events are read, deal by deal (`_slice_rows_by_deal`); otherwise
    the slices of every deal, over the log's time range (`_slice_rows`). `by_deal` forces one (the tests)."""
    n = len(points)
    last_horizon = horizons[-1]
    # the deals that can count somewhere (a few of a large log's), chosen by the database: their close date now is
    # within the last horizon, or (any other) they had a close-date change; streamed into columns
    columns = (_D.id, _D.status, _D.value_minor, _D.currency, _D.expected_close, _D.stage_id)
    in_pipeline = _D.pipeline_id == pipeline_id
    soon = _D.expected_close <= last_horizon
    deals = _Deals()
    deals.add_rows(conn.execute(select(*columns).where(in_pipeline, soon)), currency)
    edited = sorted(_close_edited(conn))
    for start in range(0, len(edited), _VALUE_CHUNK):
        deals.add_rows(conn.execute(select(*columns).where(
            in_pipeline, _D.id.in_(edited[start:start + _VALUE_CHUNK]), or_(_D.expected_close.is_(None), ~soon))),
            currency)
    read = int(conn.execute(select(func.count()).select_from(Deal).where(in_pipeline)).scalar_one())
    if by_deal is None:
        by_deal = len(deals) * STATE_SHARE <= read
    runs = _Runs()
    if by_deal:  # a chunk of deals at a time: only one chunk's slices are held (docs/PERFORMANCE.md)
        deals = deals.sorted_by_id()
        for start in range(0, len(deals), _VALUE_CHUNK):
            stop = start + _VALUE_CHUNK
            _deal_runs(runs, deals.rows(start, stop),
                       _slice_rows_by_deal(conn, pipeline_id, points, deals.ids[start:stop].tolist()), n, currency,
                       horizons)
    else:
        _deal_runs(runs, deals.rows(), _slice_rows(conn, pipeline_id, points, set(deals.ids)), n, currency,
                   horizons)
    return runs, read


def _deal_runs(runs: _Runs, deals: Any, slices: _Slices, n: int, currency: str, horizons: Sequence[date]) -> None:
    """The runs of `deals` ((id, flags, value, close ordinal, stage) now, `_Deals.rows`) from their slices."""
    ends = [h.toordinal() for h in horizons]  # a close date is compared as its ordinal (0: none)
    last_horizon = ends[-1]
    close_changed = slices.close_changed

    def add(deal_id: int, is_open: bool, ok: bool, close: int, stage: int, lo: int, hi: int, base: int) -> None:
        if not is_open or not ok or not close:
            return
        first = max(lo, bisect_left(ends, close))  # the points of the run whose horizon reaches the close
        if first <= hi:
            runs.append(deal_id, first, hi, stage, base)

    for deal_id, flags, base, close_now, stage_now in deals:
        if deal_id not in close_changed and (not close_now or close_now > last_horizon):
            continue  # today's close date all along, past every horizon (or none): it counts at no point
        by_slice = slices.by_deal.get(deal_id)
        open_now = bool(flags & _Deals.OPEN)
        in_currency = bool(flags & _Deals.IN_CURRENCY)
        if by_slice is None:
            add(deal_id, open_now, in_currency, close_now, stage_now, 0, n - 1, base)
            continue
        net = 0
        created = False
        first_close: str | None = None
        first_stage: str | None = None
        first_cur: str | None = None
        state = (open_now, in_currency, close_now, stage_now)
        hi = n - 1
        for k, b_net, b_created, b_close, b_stage, b_cur in reversed(by_slice):  # the latest slice first
            if k < hi:
                add(deal_id, *state, k + 1, hi, base)
            hi = k
            net += int(b_net or 0)
            created = created or bool(b_created)
            first_close = b_close if b_close is not None else first_close
            first_stage = b_stage if b_stage is not None else first_stage
            first_cur = b_cur if b_cur is not None else first_cur
            close = close_now
            if first_close is not None:
                close_text = _payload(first_close)
                close = date.fromisoformat(close_text).toordinal() if close_text else 0
            stage_text = first_stage  # already the payload (_Slices)
            then_ok = _payload(first_cur) == currency if first_cur is not None else in_currency
            state = (not created and int(open_now) + net > 0, then_ok, close,
                     int(stage_text) if stage_text else stage_now)
        add(deal_id, *state, 0, hi, base)


def open_value_by_stage(conn: Any, pipeline_id: int, points: Sequence[datetime], currency: str,
                        horizon_days: int, *, by_deal: bool | None = None, slices_by_deal: bool | None = None
                        ) -> list[dict[int, int]]:
    """For each of `points` (ascending): stage id -> the value (in `currency`; other currencies count 0) of the
    deals open then whose expected close date then falls on or before the point's horizon's last day.

    First the runs of points at which each deal counts, from every event but the value changes; then the value
    changes of those deals only (a deal's value at a point is its value now less its changes since). `by_deal`:
    see `_value_changes`; `slices_by_deal`: see `_runs`."""
    n = len(points)
    if not n:
        return []
    horizons = [(t + timedelta(days=horizon_days)).date() for t in points]
    runs, read = _runs(conn, pipeline_id, points, currency, horizons, by_deal=slices_by_deal)
    changes = _value_changes(conn, pipeline_id, points, sorted(set(runs.deal_ids)), read, by_deal=by_deal)
    sums: dict[int, list[int]] = {}
    for deal_id, first, hi, stage, base in runs:
        by_stage = sums.get(stage)
        if by_stage is None:
            by_stage = sums[stage] = [0] * n
        dv = changes.get(deal_id)
        for i in range(first, hi + 1):
            by_stage[i] += base - (sum(v for k, v in dv.items() if k >= i) if dv else 0)
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
