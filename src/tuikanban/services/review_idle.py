"""The review's idle list (`services.review_core`): the deals open at a review's end held compactly (`OpenDeals`),
their last touches read by deal, and the longest idle first, or only the first lines of the list (`_Top`)."""

from __future__ import annotations

from array import array
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from tuikanban.domain import clock
from tuikanban.services.review_bridge import DealLine
from tuikanban.services.review_reads import _CHUNK, _chunks, _marks
from tuikanban.store.twin import rows_at_once
from tuikanban.store.uow import Unit


class OpenDeals:
    """The deals open at a review's end, for its idle list: id, owner, stage and value in arrays (a few bytes a
    deal, not a tuple or a line: 100,000 of them on a busy board); titles only when `titled` (else read with the
    lines built)."""

    __slots__ = ("_names", "_owners", "_stage_names", "ids", "owner", "stage", "title", "value")
    NO_VALUE = -(2**63)

    def __init__(self, stage_names: dict[int, str], *, titled: bool) -> None:
        self.ids = array("q")
        self.owner = array("I")  # (an index into the owners: 4 bytes a deal)
        self.stage = array("q")
        self.value = array("q")
        self.title: list[str] | None = [] if titled else None
        self._owners: dict[str, int] = {}
        self._names: list[str] = []
        self._stage_names = stage_names

    def add(self, deal_id: int, title: str, owner: str, stage_id: int, value: int | None) -> None:
        self.ids.append(deal_id)
        self.owner.append(self._owners.setdefault(owner, len(self._owners)))
        self.stage.append(stage_id)
        self.value.append(self.NO_VALUE if value is None else value)
        if self.title is not None:
            self.title.append(title)

    def __len__(self) -> int:
        return len(self.ids)

    def line(self, k: int, title: str, detail: dict[str, Any]) -> DealLine:
        """The k-th deal's line (title given when not `titled`)."""
        if len(self._names) != len(self._owners):
            self._names = list(self._owners)
        value = self.value[k]
        return DealLine(self.ids[k], self.title[k] if self.title is not None else title, self._names[self.owner[k]],
                        self._stage_names.get(self.stage[k], "?"), None if value == self.NO_VALUE else value, detail)


class _Top:
    """The first `keep` items by key of many added (all of them when `keep` is None), and how many were added;
    never more than a few times `keep` held."""

    __slots__ = ("count", "items", "keep")

    def __init__(self, keep: int | None) -> None:
        self.keep = keep
        self.items: list[tuple[Any, Any]] = []
        self.count = 0

    def add(self, key: Any, item: Any) -> None:
        self.count += 1
        self.items.append((key, item))
        if self.keep is not None and len(self.items) >= 4 * self.keep + 64:
            self.items.sort(key=_first)
            del self.items[self.keep:]

    def sorted(self) -> list[Any]:
        self.items.sort(key=_first)
        return [item for _k, item in self.items[:self.keep]]


def _first(pair: tuple[Any, Any]) -> Any:
    return pair[0]



def _idle_lines(u: Unit, opened: OpenDeals, until: datetime, days: int, keep: int | None,
                touched: dict[int, datetime | None] | None = None) -> tuple[tuple[DealLine, ...], int]:
    """The idle list of the deals open at `until` (neither an event nor an activity in the last `days` days),
    longest idle first (never touched first), and its length; its first `keep` lines only when `keep` is given
    (each deal's last touch is streamed, never held for all of them). `touched`: the last touches up to `until`
    read already (`open_touches`), of some or all of the deals; the others are read here."""
    top = _Top(keep)
    end = clock.as_utc(until)
    cutoff = until - timedelta(days=days)  # (`domain.filters.is_idle`'s test, its bound computed once)
    for first in range(0, len(opened), _CHUNK):
        at = {d: first + j for j, d in enumerate(opened.ids[first:first + _CHUNK])}
        for deal_id, last in _touches_of(u, list(at), until, touched):
            if last is None:
                top.add((-10**6, deal_id), (at[deal_id], last, None))
            elif last <= cutoff:
                # `clock.days_between(last, until)`: `last` is read as aware UTC already
                idle_days = int((end - last).total_seconds() / 86400.0)
                top.add((-(idle_days or 10**6), deal_id), (at[deal_id], last, idle_days))
    chosen = top.sorted()
    titles: dict[int, str] = {}
    if opened.title is None:
        ids = [opened.ids[k] for k, _last, _days in chosen]
        for chunk in _chunks(ids):
            titles.update(u.execute(f"SELECT id, title FROM deal WHERE id IN ({_marks(len(chunk))})", tuple(chunk)))
    lines = tuple(opened.line(k, titles.get(opened.ids[k], "?"), {"idle_days": idle_days, "last_touch": last})
                  for k, last, idle_days in chosen)
    return lines, top.count


def last_touches(u: Unit, ids: list[int], until: datetime) -> dict[int, datetime]:
    """deal id -> its last event (a reorder is no touch) or activity up to `until`, whichever is later.

    One query per chunk of ids, each deal's last event and last activity found by a correlated subquery that
    seeks its (deal_id, at) index from `until` backwards: a few index steps a deal, however long its history
    (10,000 deals in about 20 ms of SQL, where one GROUP BY over the pipeline's events took 0.4 s)."""
    return {d: last for d, last in _touches(u, ids, until) if last is not None}


def open_touches(u: Unit, pipeline_id: int, until: datetime) -> dict[int, datetime | None]:
    """deal id -> its last touch up to `until` (as `last_touches`, None when never touched) of every deal of the
    pipeline open now, in one query (one step of SQLite: `store.twin.rows_at_once`): the idle list's reads when the
    review ends now, made before the review knows which of them it lists (on a second connection beside the
    review's other reads: store.twin)."""
    at = u.instant(until)
    read = u.read_instant
    tail = (f"FROM (SELECT deal.id AS id, {_LAST_EVENT} AS e, {_LAST_ACTIVITY} AS a"
            " FROM deal WHERE deal.pipeline_id = ? AND deal.status = 'open') AS touches")
    return {d: read(last) for d, last in rows_at_once(u, ["id", _later(u)], tail, (at, at, pipeline_id))}


def _touches_of(u: Unit, ids: list[int], until: datetime, touched: dict[int, datetime | None] | None
                ) -> Iterator[tuple[int, datetime | None]]:
    """`_touches` of `ids`, those in `touched` taken from it."""
    if touched is None:
        yield from _touches(u, ids, until)
        return
    missing = []
    for d in ids:
        if d in touched:
            yield d, touched[d]
        else:
            missing.append(d)
    if missing:
        yield from _touches(u, missing, until)


# each deal's last event (a reorder is no touch) and last activity up to a time, seeking its (deal_id, at) index
# backwards: a few index steps a deal, however long its history
_LAST_EVENT = ("(SELECT event.at FROM event WHERE event.deal_id = deal.id AND event.at <= ?"
               " AND event.kind != 'reorder' ORDER BY event.at DESC LIMIT 1)")
_LAST_ACTIVITY = "(SELECT max(activity.at) FROM activity WHERE activity.deal_id = deal.id AND activity.at <= ?)"


def _later(u: Unit) -> str:
    """The later of a deal's last event `e` and last activity `a` in SQL (times compare as stored on both
    engines), so one time is read a deal."""
    return u.greatest("coalesce(e, a)", "coalesce(a, e)")


def _touches(u: Unit, ids: list[int], until: datetime) -> Iterator[tuple[int, datetime | None]]:
    """(deal id, its last touch up to `until` or None) of each of `ids` (`last_touches`), a chunk at a time."""
    at = u.instant(until)
    read = u.read_instant
    later = _later(u)
    for chunk in _chunks(ids):
        sql = (f"SELECT id, {later} FROM (SELECT deal.id AS id, {_LAST_EVENT} AS e, {_LAST_ACTIVITY} AS a"
               f" FROM deal WHERE deal.id IN ({_marks(len(chunk))})) AS touches")
        for d, last in u.execute(sql, (at, at, *chunk)):
            yield d, read(last)


__all__ = ["OpenDeals", "last_touches", "open_touches"]
