"""What changed in a pipeline between two moments, reconstructed from the event log (the manager's weekly review),
in plain SQL on a `store.uow.Unit`, so that `changes` reads without importing the ORM (docs/PERFORMANCE.md, The
review's speed). `services.changes` re-exports it (and keeps the SQLAlchemy expressions of the same rules that the
forecast's backtest and `states_at` build on).

The rules of the rewind and of the value bridge are in `services.review_bridge`, the reads of the log in
`services.review_reads`, the idle list in `services.review_idle`; this module builds the report from them and
writes its JSON.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, Any, TypedDict

from tuikanban.domain import clock
from tuikanban.domain.errors import NotFoundError, ValidationError
from tuikanban.domain.filters import closes_within
from tuikanban.domain.models import PipelineInfo
from tuikanban.domain.money import exponent, to_json_number
from tuikanban.domain.text import display, name_key
from tuikanban.services.pipeline_ref import resolve_pipeline
from tuikanban.services.review_bridge import (
    _ALWAYS,
    BUCKETS,
    CLOSING,
    Bucket,
    ChangedDeals,
    DealLine,
    DealState,
    _bridge,
    _current,
    _period_test,
    _rewind,
)
from tuikanban.services.review_idle import OpenDeals, _idle_lines, _Top, open_touches
from tuikanban.services.review_reads import (
    _CLOSE,
    _CUR,
    _ID,
    _OWNER,
    _STAGE,
    _STATUS,
    _TITLE,
    _VALUE,
    FRESH_WIDTH,
    _at,
    _read_deals,
)
from tuikanban.store.lean import lean_cache
from tuikanban.store.twin import Beside
from tuikanban.store.uow import Unit, of_session

if TYPE_CHECKING:  # (the ORM is not imported at run time: `changes` reads without it)
    from typing_extensions import Unpack

    from tuikanban.store.engine import Database

IDLE_DAYS = 14
CLOSING_SOON_DAYS = 30


@dataclass(frozen=True, slots=True)
class ChangesReport:
    pipeline: PipelineInfo
    since: datetime
    until: datetime
    owner: str | None
    closing: tuple[date, date] | None
    idle_days: int
    start_value_minor: int
    end_value_minor: int
    bridge: dict[str, Bucket]
    new: tuple[DealLine, ...]
    moved: tuple[DealLine, ...]
    pushed: tuple[DealLine, ...]
    idle: tuple[DealLine, ...]
    closing_soon: tuple[DealLine, ...]
    idle_pending: bool = False  # computed without the idle list (`with_idle=False`): `idle` is empty, not known
    # while `idle_pending`: the deals open at `until`, for `add_idle` (`OpenDeals`: ids and a few numbers)
    open_at_end: Any = ()
    # `keep` (the review screen, which shows the first lines of each list): every list (new, moved forward and
    # moved back, each its first `keep`, pushed, idle, closing soon) holds its first `keep` lines only, and `totals`
    # their full lengths ("moved_forward", "moved_back" too); None: every line (the command)
    keep: int | None = None
    totals: dict[str, int] = field(default_factory=dict)

    @property
    def currency(self) -> str:
        return self.pipeline.currency

    def count(self, name: str) -> int:
        """How many deals the list `name` ("idle", "new", ...) has, when it holds only its first lines too."""
        return self.totals.get(name, len(getattr(self, name)))



class _Lists:
    """The report's new, moved (forward and back apart) and pushed lists, each its first `keep` lines in the
    report's order (all of them when `keep` is None) and how many deals it has (`_Top`)."""

    __slots__ = ("back", "forward", "new", "pushed")

    def __init__(self, keep: int | None) -> None:
        self.new, self.forward, self.back, self.pushed = _Top(keep), _Top(keep), _Top(keep), _Top(keep)

    def moved(self, forward: bool) -> _Top:
        return self.forward if forward else self.back

    def totals(self) -> dict[str, int]:
        return {"new": self.new.count, "moved": self.forward.count + self.back.count,
                "moved_forward": self.forward.count, "moved_back": self.back.count, "pushed": self.pushed.count}


# -- the report --------------------------------------------------------------------------------------


class ReviewOptions(TypedDict, total=False):
    """What a review asks besides the pipeline and `since` (`_changes_in` holds the defaults): `until` (default
    now), `owner`, `closing` (a closing period's first and last day), `idle_days` (IDLE_DAYS), `with_idle` and
    `keep` (each list's first lines only, and their lengths: `ChangesReport.count`)."""

    until: datetime | None
    owner: str | None
    closing: tuple[date, date] | None
    idle_days: int
    with_idle: bool
    keep: int | None


def compute_changes(db: Database, pipeline: str | int | None, *, since: datetime,
                    **options: Unpack[ReviewOptions]) -> ChangesReport:
    """The value bridge and the review lists of one pipeline between `since` and `until` (default now); without
    the idle list (`idle_pending`) when not `with_idle`, the one list that reads every open deal's last touch."""
    with db.read() as s, lean_cache(s.connection()):  # (its reads go through the period's log once: store/lean.py)
        return changes_in(of_session(s), pipeline, since=since, **options)


def changes_in(u: Unit, pipeline: str | int | None, *, since: datetime,
               **options: Unpack[ReviewOptions]) -> ChangesReport:
    """`compute_changes` inside a read the caller holds (one consistent snapshot)."""
    with collector_paused():
        return _changes_in(u, pipeline, since=since, **options)


@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector paused for a block that allocates many objects and frees them at once
    (the review: a row, two states and a line per deal, 40,000 deals on a busy board). None of them form cycles,
    but each collection of the oldest generation walks them all: about a quarter of the review's CPU time before
    (docs/PERFORMANCE.md, The review's speed). Restored as it was (the board starts with it paused)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _changes_in(
    u: Unit,
    pipeline: str | int | None,
    *,
    since: datetime,
    until: datetime | None = None,
    owner: str | None = None,
    closing: tuple[date, date] | None = None,
    idle_days: int = IDLE_DAYS,
    with_idle: bool = True,
    keep: int | None = None,
) -> ChangesReport:
    now = clock.now()
    end = clock.as_utc(until) if until is not None else now
    start = clock.as_utc(since)
    if start > end:
        raise ValidationError(f"--since ({start:%Y-%m-%d %H:%M}) must not be after --until ({end:%Y-%m-%d %H:%M}).")
    if end > now + timedelta(minutes=5):
        raise ValidationError(f"--until ({end:%Y-%m-%d %H:%M}) is in the future.")
    if idle_days < 1:
        raise ValidationError("--idle-days must be at least 1.")
    info = resolve_pipeline(u, pipeline)
    stages = {r[0]: (r[1], r[2]) for r in u.rows("SELECT id, name, position FROM stage WHERE pipeline_id = ?",
                                                  (info.id,))}
    with Beside(u) as side:  # (`created`: the deals created since `since` when the end is now, held by _report only)
        return _report(u, side, info, owner, stages, start, end, now, closing, idle_days, with_idle, keep,
                       [] if end >= now else None)


def _report(u: Unit, side: Beside, info: PipelineInfo, owner: str | None, stages: dict[int, tuple[str, int]],
            start: datetime, end: datetime, now: datetime, closing: tuple[date, date] | None, idle_days: int,
            with_idle: bool, keep: int | None, created: list[Sequence[Any]] | None) -> ChangesReport:
    """`_changes_in` once its arguments are checked: the reads (some of them beside the others, on a second
    connection when the unit has one: `store.twin`), then the bridge and the lists."""
    owner_key = _owner_key(u, info.id, owner)
    # the idle list's last touches of every deal open now, in one read (when the review ends now: the deals open
    # at its end are among them), first on the second connection when there is one; one read costs less than one
    # per 500 deals (docs/PERFORMANCE.md, The review's speed). With an owner and without a second connection,
    # only the listed deals' are read.
    touched = (side.submit(lambda t: open_touches(t, info.id, end))
               if with_idle and created is not None and (side.parallel or owner_key is None) else None)
    stage_names = {k: v[0] for k, v in stages.items()}
    in_period = _period_test(closing)
    soon_from = end.date()
    currency = info.currency
    opened = OpenDeals(stage_names, titled=with_idle)
    soon = _Top(keep)
    steady_value = 0
    owner_keys: dict[str, str] = {}

    def steady(r: tuple[Any, ...]) -> None:
        """An open deal without events in the period: the same at both moments, so in no bucket of the bridge;
        its value counts at both ends, it may close soon and be idle (the loop below, for one deal)."""
        nonlocal steady_value
        if owner_key is not None:
            key = owner_keys.get(r[_OWNER])
            if key is None:
                key = owner_keys[r[_OWNER]] = name_key(r[_OWNER])
            if key != owner_key:
                return
        ok = r[_CUR] == currency
        if ok and in_period(r[_CLOSE]):
            steady_value += r[_VALUE] or 0
        value = r[_VALUE] if ok else None
        if closes_within(r[_CLOSE], soon_from, CLOSING_SOON_DAYS):
            soon.add((r[_CLOSE], r[_ID]), DealLine(r[_ID], r[_TITLE], r[_OWNER], stage_names.get(r[_STAGE], "?"),
                                                   value, {"expected_close": r[_CLOSE]}))
        opened.add(r[_ID], r[_TITLE], r[_OWNER], r[_STAGE], value)

    # each changed deal's two states and what its lines show, one array per field (not its row)
    changed = ChangedDeals(currency, owner_key, rewound_end=end < now)
    _read_deals(u, info.id, [start, end] if end < now else [start], end, steady, created, side=side,
                changed=changed.add)

    def line(k: int, st: DealState, **detail: Any) -> DealLine:
        return DealLine(changed.ids[k], changed.title[k], st.owner, stages.get(st.stage_id, ("?", 0))[0],
                        changed.value_shown(k), detail)

    bridge, start_value, end_value = _bridge(changed.by_id(), in_period)
    # with `keep`, each list holds its first lines only (the screen's), never a line per changed deal
    lists = _Lists(keep)
    new, pushed = lists.new, lists.pushed
    for k in range(len(changed)):
        deal_id = changed.ids[k]
        a, b = changed.pair(k)
        moves, pushes = changed.moves[k], changed.pushes[k]
        if b.status == "absent":
            continue
        if b.status == "open":
            opened.add(deal_id, changed.title[k], b.owner, b.stage_id, changed.value_shown(k))
        if a.status == "absent":
            new.add(deal_id, line(k, b, status=b.status))
        if a.status in ("open", "absent") and b.status == "open" and moves and a.stage_id != b.stage_id:
            before, after = stages.get(a.stage_id, ("?", 0)), stages.get(b.stage_id, ("?", 0))
            forward = after[1] > before[1]
            lists.moved(forward).add(deal_id, line(k, b, from_stage=before[0], to_stage=after[0], moves=moves,
                                                   direction="forward" if forward else "back"))
        if pushes:
            pushed.add((-pushes, deal_id), line(k, b, pushes=pushes, close_before=a.close, close_after=b.close))
        if b.status == "open" and closes_within(b.close, soon_from, CLOSING_SOON_DAYS):
            soon.add((b.close, deal_id), line(k, b, expected_close=b.close))
    if created:
        end_value += _new_deals(created, info, stages, owner_key, owner_keys, in_period, soon_from, bridge, opened,
                                soon, lists, lru_cache(maxsize=None)(u.read_day))
    created = None  # (the new deals' rows: let go before the idle list is read)
    totals = {"closing_soon": soon.count, **lists.totals()} if keep is not None else {}
    idle: tuple[DealLine, ...] = ()
    if with_idle:
        idle, total = _idle_lines(u, opened, end, idle_days, keep, touched.result() if touched is not None else None)
        if keep is not None:
            totals["idle"] = total
    return ChangesReport(
        pipeline=info, since=start, until=end, owner=owner if owner_key is not None else None, closing=closing,
        idle_days=idle_days, start_value_minor=start_value + steady_value, end_value_minor=end_value + steady_value,
        bridge=bridge,
        new=tuple(new.sorted()),
        moved=(*lists.forward.sorted(), *lists.back.sorted()),
        pushed=tuple(pushed.sorted()),
        idle=idle,
        closing_soon=tuple(soon.sorted()),
        idle_pending=not with_idle,
        open_at_end=() if with_idle else opened,
        keep=keep,
        totals=totals,
    )



def _new_deals(rows: list[Sequence[Any]], info: PipelineInfo, stages: dict[int, tuple[str, int]],
               owner_key: str | None, owner_keys: dict[str, str], in_period: Any, soon_from: date,
               bridge: dict[str, Bucket], opened: OpenDeals, soon: _Top, lists: _Lists, day: Any) -> int:
    """The deals created since `since` when the end is now (`_read_deals`' `new_deals`: most of the period's
    deals on a busy board), in one pass: what `_states`, `_bridge` and the report's loop make of a deal absent at
    `since` and at the end as it is now, without its two states. Their bridge entries are added to `bridge` (each
    bucket's deals kept in id order); returns their part of the open value at the end. A row is either one of
    `_read_deals` or, for a deal no read of its events named (`review_reads.FRESH_WIDTH` values), its row as read,
    whose close date `day` reads."""
    currency = info.currency
    every = in_period is _ALWAYS
    sums = dict.fromkeys(BUCKETS, 0)
    ids: dict[str, list[int]] = {b: [] for b in BUCKETS}
    end_value = 0
    owners: dict[str, str] = {}  # (one string per owner)
    for r in rows:
        owner = r[_OWNER]
        if owner_key is not None:
            key = owner_keys.get(owner)
            if key is None:
                key = owner_keys[owner] = name_key(owner)
            if key != owner_key:
                continue
        deal_id, status, close, stage_id = r[_ID], r[_STATUS], r[_CLOSE], r[_STAGE]
        whole = len(r) != FRESH_WIDTH  # (else the row as read: no moves or pushes, its close date as stored)
        if not whole:
            owner = owners.setdefault(owner, owner)
            close = day(close)
        ok = r[_CUR] == currency
        value = (r[_VALUE] or 0) if ok else 0
        shown = r[_VALUE] if ok else None
        if status == "open":
            if every or in_period(close):  # counted at the end, not at `since`: it entered as created
                end_value += value
                sums["created"] += value
                ids["created"].append(deal_id)
            opened.add(deal_id, r[_TITLE], owner, stage_id, shown)
        elif status in CLOSING and (every or in_period(close)):  # entered and left in the period
            sums["created"] += value
            ids["created"].append(deal_id)
            sums[status] += value
            ids[status].append(deal_id)
        stage = stages.get(stage_id, ("?", 0))
        lists.new.add(deal_id, DealLine(deal_id, r[_TITLE], owner, stage[0], shown, {"status": status}))
        moves, pushes = (r[-2], r[-1]) if whole else (0, 0)
        if moves or pushes:
            moves, pushes = max(0, int(moves or 0)), max(0, int(pushes or 0))
            then = _rewind(_current(r, currency), r, _at(0), currency)  # (its stage and close date at `since`)
            if status == "open" and moves and then.stage_id != stage_id:
                before = stages.get(then.stage_id, ("?", 0))
                forward = stage[1] > before[1]
                lists.moved(forward).add(deal_id, DealLine(deal_id, r[_TITLE], owner, stage[0], shown, {
                    "from_stage": before[0], "to_stage": stage[0], "moves": moves,
                    "direction": "forward" if forward else "back"}))
            if pushes:
                lists.pushed.add((-pushes, deal_id), DealLine(deal_id, r[_TITLE], owner, stage[0], shown, {
                    "pushes": pushes, "close_before": then.close, "close_after": close}))
        if status == "open" and closes_within(close, soon_from, CLOSING_SOON_DAYS):
            soon.add((close, deal_id), DealLine(deal_id, r[_TITLE], owner, stage[0], shown,
                                                {"expected_close": close}))
    for k in BUCKETS:
        if ids[k]:
            b = bridge[k]
            bridge[k] = Bucket(b.value_minor + sums[k], tuple(sorted((*b.deals, *ids[k]))))
    return end_value


def add_idle(db: Database, report: ChangesReport) -> ChangesReport:
    """A report computed without its idle list (`with_idle=False`) completed with it: the same list, for the same
    moments, as `compute_changes` would have given, read for the deals open at `until` alone."""
    if not report.idle_pending:
        return report
    with db.read() as s, lean_cache(s.connection()), collector_paused():
        idle, total = _idle_lines(of_session(s), report.open_at_end, report.until, report.idle_days, report.keep)
    totals = {**report.totals, "idle": total} if report.keep is not None else report.totals
    return replace(report, idle=idle, idle_pending=False, open_at_end=(), totals=totals)


def _owner_key(u: Unit, pipeline_id: int, owner: str | None) -> str | None:
    if owner is None or not owner.strip():
        return None
    key = name_key(owner)
    stored = u.rows("SELECT DISTINCT owner FROM deal WHERE pipeline_id = ?", (pipeline_id,))
    if not any(name_key(o) == key for (o,) in stored):
        raise NotFoundError(f"No deal in this pipeline is owned by '{display(owner)}'.")
    return key



# -- JSON ----------------------------------------------------------------------------------------------


def money_json(currency: str) -> Any:
    """`to_json_number` for one currency, with a whole amount answered without Decimal (most values: 39,000 lines
    on a busy board)."""
    unit: int = 10 ** exponent(currency)

    def number(minor: int | None) -> int | float | None:
        if minor is not None and minor % unit == 0:
            return int(minor) // unit
        return to_json_number(minor, currency)

    return number


def _line_json(x: DealLine, money: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {"id": x.id, "title": x.title, "owner": x.owner, "stage": x.stage,
                           "value": money(x.value_minor)}
    for k, v in x.detail.items():
        doc[k] = v.isoformat() if isinstance(v, date | datetime) else v
    return doc


def _lines_json(lines: tuple[DealLine, ...], money: Any, *, dated: bool = True) -> list[dict[str, Any]]:
    """`_line_json` of each line; `dated=False` for a list whose details hold no date or time (the new and moved
    deals': a status, stage names, a count and a direction), which are then taken as they are (39,000 lines)."""
    if dated:
        return [_line_json(x, money) for x in lines]
    out = []
    for x in lines:
        doc: dict[str, Any] = {"id": x.id, "title": x.title, "owner": x.owner, "stage": x.stage,
                               "value": money(x.value_minor)}
        doc.update(x.detail)
        out.append(doc)
    return out


def changes_json(r: ChangesReport, *, lines: bool = True) -> dict[str, Any]:
    """The report as the JSON document of `changes --json` (README: the stable keys). `lines=False`: the lists of
    deals left as the report's `DealLine`s (`cli.review_report.changes_text` writes them column by column)."""
    cur = money_json(r.currency)
    if not lines:
        return {**changes_json(replace(r, new=(), moved=(), pushed=(), idle=(), closing_soon=())),
                "new": r.new, "moved": r.moved, "pushed": r.pushed, "idle": r.idle, "closing_soon": r.closing_soon}
    return {
        "pipeline": r.pipeline.name,
        "since": r.since.isoformat(),
        "until": r.until.isoformat(),
        "owner": r.owner,
        "closing": None if r.closing is None else {"from": r.closing[0].isoformat(), "to": r.closing[1].isoformat()},
        "start_value": cur(r.start_value_minor),
        "end_value": cur(r.end_value_minor),
        "bridge": {k: {"value": cur(b.value_minor), "deals": list(b.deals)}
                   for k, b in r.bridge.items()},
        "new": _lines_json(r.new, cur, dated=False),
        "moved": _lines_json(r.moved, cur, dated=False),
        "pushed": _lines_json(r.pushed, cur),
        "idle_days": r.idle_days,
        "idle": _lines_json(r.idle, cur),
        "closing_soon": _lines_json(r.closing_soon, cur),
    }


__all__ = [
    "CLOSING_SOON_DAYS", "IDLE_DAYS", "ChangesReport", "ReviewOptions", "add_idle", "changes_in", "changes_json",
    "collector_paused", "compute_changes", "money_json",
]
