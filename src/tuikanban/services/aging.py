"""The one aging function (see docs/RULES.md, Aging), used by the card badges, the aging panel and the CLI alike.

Everything is computed with SQL aggregates over the `stay` and `event` tables and one select of the open deals; no
event row is loaded into Python but those of the few deals whose latest event is an undo, a redo or a reorder (not
activity, so their last touch is replayed). Nothing is cached, so a new `expected_days` applies at once.

The SQL is plain DB-API SQL on a `store.uow.Unit` (the two dialect-specific expressions come from the unit), so
that `aging --json` reads without importing the ORM (`snapshot_in` on a connection of its own, cli/aging_report.py)
while the board and the panel read the same way inside an ORM read session (`aging_snapshot`).
"""

from __future__ import annotations

from array import array
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, NamedTuple

from tuikanban.domain import clock
from tuikanban.domain.aging import (
    AGING_FACTOR,
    HISTORY_WINDOW_DAYS,
    MIN_BASELINE_DAYS,
    STALLED_FACTOR,
    AgingItem,
    AgingSnapshot,
    Baseline,
    StageAging,
    choose_baseline,
    level,
    risk_signals,
    severity,
    sort_key,
)
from tuikanban.domain.filters import DealFilter
from tuikanban.domain.undo import NOT_ACTIVITY, LoggedEvent, last_touch
from tuikanban.services.deal_actions import resolve_pipeline
from tuikanban.store.lean import lean_cache
from tuikanban.store.uow import Unit, of_session

if TYPE_CHECKING:  # (the ORM is not imported at run time: `aging --json` reads without it)
    from sqlmodel import Session

    from tuikanban.store.engine import Database

DELETED = "deleted"  # store.tables.DELETED (which imports the ORM)


class _StageRow(NamedTuple):
    id: int
    name: str
    position: int
    expected_days: int | None
    archived: bool


def _marks(n: int) -> str:
    return ", ".join("?" for _ in range(n))


# -- baselines ------------------------------------------------------------------------------------------


def _history(u: Unit, pipeline_id: int, stage_ids: list[int], now: datetime) -> dict[int, tuple[float, int]]:
    """stage id -> (average days, number of stays) over stays that ended in the last 180 days.

    Filtered by stage (not pipeline) so SQLite reads only the covering index ix_stay_stage_span; the stays of
    deleted deals are left out (their ids read first: usually none, and then no term is added).
    """
    if not stage_ids:
        return {}
    since = now - timedelta(days=HISTORY_WINDOW_DAYS)
    deleted = [r[0] for r in u.rows("SELECT id FROM deal WHERE pipeline_id = ? AND status = ?",
                                    (pipeline_id, DELETED))]
    sql = (f"SELECT stay.stage_id, avg({u.days_between('stay.entered_at', 'stay.left_at')}), count(*) FROM stay "
           f"WHERE stay.stage_id IN ({_marks(len(stage_ids))}) AND stay.left_at >= ? AND stay.left_at <= ?")
    args: list[Any] = [*stage_ids, u.instant(since), u.instant(now)]
    if deleted:
        sql += f" AND stay.deal_id NOT IN ({_marks(len(deleted))})"
        args += deleted
    rows = u.rows(sql + " GROUP BY stay.stage_id", tuple(args))
    return {int(r[0]): (float(r[1]), int(r[2])) for r in rows if r[1] is not None}


def _stage_rows(u: Unit, pipeline_id: int) -> list[_StageRow]:
    rows = u.rows("SELECT id, name, position, expected_days, archived FROM stage WHERE pipeline_id = ? "
                  "ORDER BY position, id", (pipeline_id,))
    return [_StageRow(int(r[0]), r[1], int(r[2]), r[3], bool(r[4])) for r in rows]


def _baselines(u: Unit, pipeline_id: int, now: datetime) -> tuple[list[_StageRow], dict[int, Baseline]]:
    rows = _stage_rows(u, pipeline_id)
    # The history only matters for stages without expected days (reading it is the costly part of the report).
    history = _history(u, pipeline_id, [r.id for r in rows if not r.expected_days], now)
    out: dict[int, Baseline] = {}
    for r in rows:
        avg, n = history.get(r.id, (None, 0))
        out[r.id] = choose_baseline(r.expected_days, avg, n)
    return rows, out


def session_baselines(session: Session, pipeline_id: int, now: datetime) -> dict[int, Baseline]:
    """stage id -> baseline, inside a read the caller already holds (the Today queue reads several pipelines)."""
    return _baselines(of_session(session), pipeline_id, now)[1]


def stage_baselines(db: Database, pipeline: str | int | None, *, now: datetime | None = None) -> dict[int, Baseline]:
    """stage id -> its baseline: expected days, else the 180-day average over >= 3 stays, else 7 days."""
    at = clock.as_utc(now) if now is not None else clock.now()
    with db.read() as s:
        u = of_session(s)
        return _baselines(u, resolve_pipeline(u, pipeline).id, at)[1]


# -- the report -----------------------------------------------------------------------------------------

# Literal SQL (not bound parameters) so that SQLite matches the partial indexes ix_event_close_edit and
# ix_event_close_undo. The redo of an edit carries the edit's old and new dates, the undo of one the other way
# round (docs/RULES.md, What changed: a deal at a past moment): a redone push counts again, an undone push (its
# date moved earlier) is taken back; the undo of a pull (its date moved later) is no push. ISO dates compare as
# text.
_CLOSE_PUSHES = (
    "SELECT deal_id, sum(n) FROM ("
    "SELECT event.deal_id AS deal_id, 1 AS n FROM event WHERE event.kind = 'edit' AND event.field = 'close' "
    "AND event.old_value IS NOT NULL AND event.new_value IS NOT NULL AND event.new_value > event.old_value{ids} "
    "UNION ALL "
    "SELECT event.deal_id AS deal_id, CASE WHEN event.kind = 'redo' AND event.new_value > event.old_value THEN 1 "
    "WHEN event.kind = 'undo' AND event.new_value < event.old_value THEN -1 ELSE 0 END AS n FROM event "
    "WHERE event.kind IN ('undo', 'redo') AND event.field = 'close' "
    "AND event.old_value IS NOT NULL AND event.new_value IS NOT NULL{ids}) AS pushes GROUP BY deal_id")


# Past this many deals their close-date changes are read all at once, as with no ids (a statement takes at most
# 32,766 parameters on SQLite, and the ids are given twice).
_PUSHES_BY_ID_MAX = 2000


def _close_pushes(u: Unit, deal_ids: list[int] | None = None) -> dict[int, int]:
    """deal id -> how many times its close date was moved later and still stands so (a null old date is no push):
    the pushing edits and redos less the undos of a push.

    Read from the two small partial indexes of close-date changes alone (both lead with the deal id); the caller
    keeps the open deals' counts. With `deal_ids` (a page of the aging panel, the cards a write touched), only
    those deals' changes are read, not every deal's in the database (up to _PUSHES_BY_ID_MAX of them).
    """
    args: tuple[int, ...] = ()
    if deal_ids is None or len(deal_ids) > _PUSHES_BY_ID_MAX:
        sql = _CLOSE_PUSHES.format(ids="")
    elif not deal_ids:
        return {}
    else:
        where, some = u.in_list("event.deal_id", deal_ids)
        sql = _CLOSE_PUSHES.format(ids=f" AND {where}")
        args = (*some, *some)
    return {int(r[0]): max(0, int(r[1])) for r in u.rows(sql, args) if r[0] is not None}


# The latest event time of the outer deal row (an index-only max per deal), and its kind (one table lookup per
# deal, walking ix_event_deal_at).
_LATEST_AT = "(SELECT max(event.at) FROM event WHERE event.deal_id = deal.id)"
_LATEST_KIND = ("(SELECT event.kind FROM event WHERE event.deal_id = deal.id ORDER BY event.at DESC, event.id DESC "
                "LIMIT 1)")


class _Known(NamedTuple):
    pipeline: Any  # services.pipeline_ref.PipelineInfo
    stage_rows: list[_StageRow]
    baselines: dict[int, Baseline]


def _known(u: Unit, pipeline: str | int | None, at: datetime) -> _Known:
    p = resolve_pipeline(u, pipeline)
    return _Known(p, *_baselines(u, p.id, at))


def _open_deals_sql(u: Unit, next_step_signal: bool, ids: list[int] | None) -> tuple[str, tuple[Any, ...]]:
    """The open deals' read, and the parameters of its `ids` term (none without ids)."""
    last_touch_sql = u.greatest("coalesce(deal.last_activity_at, deal.created_at)",
                                f"coalesce({_LATEST_AT}, deal.created_at)")
    false, true = ("false", "true") if u.postgres else ("0", "1")
    # literal `kind` and `done`, so that SQLite matches the partial index ix_activity_open_task
    has_task = (f"EXISTS (SELECT * FROM activity WHERE activity.deal_id = deal.id AND activity.kind = 'task' "
                f"AND activity.done = {false})") if next_step_signal else true
    sql = ("SELECT deal.id, deal.title, deal.company, deal.contact, deal.owner, deal.type_id, deal.stage_id, "
           "deal.value_minor, deal.currency, deal.expected_close, "
           f"{u.days_between('deal.stage_entered_at', '?')}, {u.days_between(last_touch_sql, '?')}, "
           f"{has_task}, {_LATEST_KIND} FROM deal WHERE deal.pipeline_id = ? AND deal.status = 'open' "
           "AND (deal.snoozed_until IS NULL OR deal.snoozed_until <= ?)")
    if ids is None:
        return sql, ()
    if not ids:
        return sql + " AND 1 = 0", ()
    where, args = u.in_list("deal.id", ids)
    return f"{sql} AND {where}", args


def _touch_days(u: Unit, deal_ids: list[int], at: datetime) -> dict[int, float]:
    """Days since the last touch of deals whose latest event is not activity (an undo, a redo, a reorder):
    their events are read and replayed (domain.undo), so an undone change is no touch either. Few deals."""
    out: dict[int, float] = {}
    for start in range(0, len(deal_ids), 500):
        ids = deal_ids[start:start + 500]
        logs: dict[int, list[LoggedEvent]] = {i: [] for i in ids}
        for deal_id, event_id, kind, ev_at, ref_id in u.rows(
            f"SELECT deal_id, id, kind, at, ref_id FROM event WHERE deal_id IN ({_marks(len(ids))})", tuple(ids)
        ):
            logs[deal_id].append(LoggedEvent(event_id, kind, u.read_instant(ev_at), ref_id))  # type: ignore[arg-type]
        for deal_id, activity, created in u.rows(
            f"SELECT id, last_activity_at, created_at FROM deal WHERE id IN ({_marks(len(ids))})", tuple(ids)
        ):
            base = u.read_instant(created)
            assert base is not None
            touched = max(u.read_instant(activity) or base, last_touch(logs[deal_id]) or base)
            out[deal_id] = round((at - touched).total_seconds() / 86400, 6)
    return out


def aging_snapshot(
    db: Database,
    pipeline: str | int | None,
    *,
    now: datetime | None = None,
    deal_filter: DealFilter | None = None,
    deal_ids: Collection[int] | None = None,
) -> AgingSnapshot:
    """Stages with their baselines and every open deal (matching the filter; with `deal_ids`, only those deals)
    with level and signals. Snoozed deals are left out until their date."""
    with db.read() as s:
        return snapshot_in(of_session(s), pipeline, now=now, deal_filter=deal_filter, deal_ids=deal_ids)


def snapshot_in(
    u: Unit,
    pipeline: str | int | None,
    *,
    now: datetime | None = None,
    deal_filter: DealFilter | None = None,
    deal_ids: Collection[int] | None = None,
    known: _Known | None = None,
) -> AgingSnapshot:
    """`aging_snapshot` inside a read the caller holds (one consistent snapshot). `known`: the pipeline, its
    stages and their baselines, as the caller read them in the same snapshot at the same `now` (the aging panel's
    page), so that they are not read twice (the baselines from history are the costly part)."""
    at = clock.as_utc(now) if now is not None else clock.now()
    today = at.date()
    p, stage_rows, baselines = known if known is not None else _known(u, pipeline, at)
    stages = {r.id: r for r in stage_rows}
    types = dict(u.rows("SELECT id, name FROM deal_type WHERE pipeline_id = ?", (p.id,)))
    # Days are computed in SQL (to the millisecond, the same float on both engines: `Unit.days_between`) rather
    # than by parsing 30,000 timestamps in Python.
    now_at = u.instant(at)
    ids = list(deal_ids) if deal_ids is not None else None  # the board refreshing the cards a write touched
    pushes_by_deal = _close_pushes(u, ids)
    sql, id_args = _open_deals_sql(u, p.next_step_signal, ids)
    deals = u.rows(sql, (now_at, now_at, p.id, u.day(today), *id_args))
    # An undo, a redo or a reorder is not customer activity (docs/RULES.md, Undo): those deals are replayed.
    touches = _touch_days(u, [r[0] for r in deals if r[-1] in NOT_ACTIVITY], at)
    items: list[AgingItem] = []
    active = deal_filter is not None and deal_filter.active
    stale_days = p.stale_days
    today_iso = today.isoformat()
    fallback = choose_baseline(None, None, 0)
    for (deal_id, title, company, contact, owner, type_id, stage_id, value_minor, currency, close_raw,
         days_raw, since_touch, has_step, _kind) in deals:
        type_name = types.get(type_id) if type_id is not None else None
        if active and deal_filter is not None and not deal_filter.matches_fields(
            title, company, contact, owner, type_name
        ):
            continue
        pushes = pushes_by_deal.get(deal_id, 0)
        # rounded to 1e-6 days (0.09 s): float noise must not decide a level or the order of equal severities
        days = max(round(float(days_raw), 6), 0.0) if days_raw is not None else 0.0
        if deal_id in touches:
            since_touch = touches[deal_id]
        elif since_touch is not None:
            since_touch = round(float(since_touch), 6)
        base = baselines.get(stage_id, fallback)
        signals = risk_signals(
            days_since_touch=since_touch, stale_days=stale_days,
            past_close=close_raw is not None and str(close_raw)[:10] < today_iso, close_pushes=pushes,
            value_minor=value_minor, has_next_step=bool(has_step),
        )
        st = stages.get(stage_id)
        items.append(AgingItem(
            id=deal_id, title=title, stage=st.name if st is not None else "?", stage_id=stage_id, owner=owner,
            type_name=type_name, company=company, value_minor=value_minor, currency=currency,
            days_in_stage=days, baseline_days=base.baseline_days, level=level(days, base.baseline_days),
            signals=signals, severity=severity(days, base.baseline_days), baseline_source=base.source,
            stage_position=st.position if st is not None else 0, days_since_touch=since_touch,
            close_pushes=pushes, contact=contact,
        ))
    items.sort(key=sort_key)
    occupied = {i.stage_id for i in items}
    shown = [StageAging(r.id, r.name, r.position, baselines[r.id]) for r in stage_rows
             if not r.archived or r.id in occupied]
    return AgingSnapshot(p.id, p.name, p.stale_days, shown, items)


def aging_report(
    db: Database,
    pipeline: str | int | None,
    *,
    now: datetime | None = None,
    deal_filter: DealFilter | None = None,
) -> list[AgingItem]:
    """Every open deal of the pipeline with days in stage, baseline, level and signals, most severe first."""
    return aging_snapshot(db, pipeline, now=now, deal_filter=deal_filter).items



# -- the aging panel of a big pipeline ------------------------------------------------------------------
# (docs/PERFORMANCE.md, The board at 100,000 deals: the panel reads what it shows)

_EPS = 1e-6  # domain.aging's tolerance: a deal exactly at 1.5 x is aging whatever the float noise


@dataclass(slots=True)
class PanelPage:
    """The aging panel's read of a pipeline too big to hold every deal's item: the `items` of the most severe
    open deals (ranks 0 to len(items), flagged or not, most severe first) and, for every open deal, only its days
    in stage (`days`: stage id -> ascending days, what the chart and the level counts need)."""

    pipeline_id: int
    pipeline_name: str
    stale_days: int
    stages: list[StageAging]
    items: list[AgingItem]
    total: int  # open deals (awake) of the pipeline
    days: dict[int, array[float]] = field(default_factory=dict)

    @property
    def more(self) -> bool:
        """Deals less severe than the last item are still unread."""
        return len(self.items) < self.total

    @property
    def flagged(self) -> list[AgingItem]:
        return [i for i in self.items if i.flagged]

    def level_counts(self) -> tuple[int, int]:
        """(stalled, aging) over every open deal, from the days and each stage's baseline."""
        from bisect import bisect_left

        stalled = aging = 0
        for stage in self.stages:
            days = self.days.get(stage.id)
            if not days:
                continue
            base = max(stage.baseline.baseline_days, MIN_BASELINE_DAYS)
            over_stalled = len(days) - bisect_left(days, STALLED_FACTOR * base - _EPS)
            over_aging = len(days) - bisect_left(days, AGING_FACTOR * base - _EPS)
            stalled += over_stalled
            aging += over_aging - over_stalled
        return stalled, aging


# the open deals of a pipeline that are not snoozed (parameters: pipeline id, today)
_AWAKE_OPEN = ("deal.pipeline_id = ? AND deal.status = 'open' "
               "AND (deal.snoozed_until IS NULL OR deal.snoozed_until <= ?)")


def _ranked_ids(u: Unit, pipeline_id: int, baselines: dict[int, Baseline], now_at: Any, today: Any, *,
                limit: int, offset: int) -> list[int]:
    """The ids of open deals ranked by severity (days in stage over the stage's baseline), most severe first,
    `limit` of them from `offset`: SQLite keeps only the top rows while it scans (no item built for the rest).

    Ties in severity go to the older deal, then the lower id; `domain.aging.sort_key` also puts more signals first
    among exact ties, which the caller's sort of each page applies (a tie across a page boundary keeps this order).
    """
    days = u.days_between("deal.stage_entered_at", "?")
    sql = (f"SELECT deal.id FROM deal WHERE {_AWAKE_OPEN} "
           f"ORDER BY {_severity_order(days, 'deal.stage_id', baselines)}, deal.stage_entered_at ASC, deal.id ASC "
           "LIMIT ? OFFSET ?")
    return [int(r[0]) for r in u.rows(sql, (pipeline_id, today, now_at, limit, offset))]


def _severity_order(days: str, stage_id: str, baselines: dict[int, Baseline]) -> str:
    """SQL: `days` over the stage's baseline (the floor applied), most severe first."""
    fallback = choose_baseline(None, None, 0).baseline_days
    # the baselines are our own floats and the stage ids integers: written into the SQL, so that PostgreSQL has
    # no untyped parameter to guess in the division
    whens = " ".join(f"WHEN {int(sid)} THEN {max(b.baseline_days, MIN_BASELINE_DAYS)!r}"
                     for sid, b in baselines.items())
    base_sql = f"(CASE {stage_id} {whens} ELSE {fallback!r} END)" if whens else repr(fallback)
    return f"{days} / {base_sql} DESC"


def _ranked_ids_and_days(u: Unit, pipeline_id: int, baselines: dict[int, Baseline], now_at: Any, today: Any, *,
                         limit: int, offset: int) -> tuple[list[int], tuple[int, dict[int, array[float]]]]:
    """`_ranked_ids` and `_stage_days` in one statement, for PostgreSQL: the open deals are scanned and their days
    in stage computed once (EXTRACT of an interval is numeric arithmetic there, most of the server's work for this
    page), the ranked ids follow the days. The same values as the two statements: the ranking divides the very
    float the days column holds, in the same order with the same ties. The rows come in binary (no float parsed
    from text)."""
    days = u.days_between("deal.stage_entered_at", "?")
    sql = (f"WITH o AS MATERIALIZED (SELECT deal.id, deal.stage_id, deal.stage_entered_at, {days} AS days "
           f"FROM deal WHERE {_AWAKE_OPEN}) "
           "SELECT o.stage_id, o.days, NULL FROM o UNION ALL "
           f"(SELECT NULL, NULL, o.id FROM o ORDER BY {_severity_order('o.days', 'o.stage_id', baselines)}, "
           "o.stage_entered_at ASC, o.id ASC LIMIT ? OFFSET ?)")
    # (the ids' order does not matter: snapshot_in sorts the page's items)
    cur = u.execute(sql, (now_at, pipeline_id, today, limit, offset), binary=True)
    ids: list[int] = []
    lists: dict[int, list[float]] = {}
    total = 0
    while batch := cur.fetchmany(5000):  # streamed: the rows are never all held at once
        for stage_id, raw, deal_id in batch:
            if deal_id is not None:
                ids.append(int(deal_id))
                continue
            lists.setdefault(stage_id, []).append(max(round(float(raw), 6), 0.0) if raw is not None else 0.0)
            total += 1
    return ids, (total, _sorted_days(lists))


def _stage_days(u: Unit, pipeline_id: int, now_at: Any, today: Any) -> tuple[int, dict[int, array[float]]]:
    """(open deals, stage id -> the days in stage of its open deals, ascending): one number a deal, no item.
    Sorted here, not in SQL: SQLite's sorter over 100,000 rows cost more than Python's sort of each stage's
    floats."""
    days = u.days_between("deal.stage_entered_at", "?")
    lists: dict[int, list[float]] = {}
    total = 0
    cur = u.execute(f"SELECT deal.stage_id, {days} FROM deal WHERE {_AWAKE_OPEN}", (now_at, pipeline_id, today))
    while batch := cur.fetchmany(5000):  # streamed: the rows are never all held at once
        for stage_id, raw in batch:
            lists.setdefault(stage_id, []).append(max(round(float(raw), 6), 0.0) if raw is not None else 0.0)
        total += len(batch)
    return total, _sorted_days(lists)


def _sorted_days(lists: dict[int, list[float]]) -> dict[int, array[float]]:
    out: dict[int, array[float]] = {}
    for stage_id, values in lists.items():
        values.sort()
        out[int(stage_id)] = array("d", values)
    return out


def panel_page(db: Database, pipeline_id: int, *, limit: int, offset: int = 0, with_days: bool = True,
               now: datetime | None = None) -> PanelPage:
    """The aging panel's read of a big pipeline (one snapshot): the items of the open deals ranked `offset` to
    `offset + limit` by severity, and (`with_days`) every open deal's days in stage for the chart and the counts.
    Snoozed deals are left out until their date, as in `aging_snapshot`."""
    at = clock.as_utc(now) if now is not None else clock.now()
    with db.read() as s, lean_cache(s.connection()):  # (its ranking goes through every open deal once: store/lean.py)
        u = of_session(s)
        known = _known(u, pipeline_id, at)
        p, stage_rows, baselines = known
        now_at, today = u.instant(at), u.day(at.date())
        if with_days and u.postgres:  # one scan for both (see _ranked_ids_and_days)
            ids, (total, days) = _ranked_ids_and_days(u, p.id, baselines, now_at, today, limit=limit,
                                                      offset=offset)
        else:
            ids = _ranked_ids(u, p.id, baselines, now_at, today, limit=limit, offset=offset)
            total, days = _stage_days(u, p.id, now_at, today) if with_days else (0, {})
        items = snapshot_in(u, p.id, now=at, deal_ids=ids, known=known).items if ids else []
    occupied = set(days) | {i.stage_id for i in items}
    stages = [StageAging(r.id, r.name, r.position, baselines[r.id]) for r in stage_rows
              if not r.archived or r.id in occupied]
    return PanelPage(p.id, p.name, p.stale_days, stages, items, total, days)
