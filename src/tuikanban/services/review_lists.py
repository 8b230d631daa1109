"""`deal list` for a review: filtered by owner, stage, type, closing window, idleness and creation time, sorted and
cut in the database; the idle rule and the closing window are the board filter's (`domain.filters`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.sql.expression import ColumnElement

from tuikanban.domain import clock
from tuikanban.domain.errors import ValidationError
from tuikanban.domain.filters import closes_within, is_idle
from tuikanban.domain.models import DealView
from tuikanban.domain.text import name_key
from tuikanban.services.common import resolve_pipeline, resolve_stage, resolve_type
from tuikanban.store.engine import Database
from tuikanban.store.queries import deal_views
from tuikanban.store.tables import Activity, Deal, Event

_D = Deal.__table__.c  # type: ignore[attr-defined]
_E = Event.__table__.c  # type: ignore[attr-defined]
_A = Activity.__table__.c  # type: ignore[attr-defined]

_CHUNK = 500
_WIDE = 2_000  # more deals than this: one pass over the pipeline's events beats chunks of ids
SORTS = ("board", "value", "close", "age", "created")


@dataclass(frozen=True, slots=True)
class ReviewQuery:
    status: str = "open"
    owner: str | None = None
    stage: str | None = None
    dtype: str | None = None
    closing_within: int | None = None
    idle_days: int | None = None
    created_since: datetime | None = None
    sort: str = "board"
    limit: int | None = None


def _sort_key(sort: str, now: datetime) -> Any:
    far = datetime.max.replace(tzinfo=now.tzinfo).date()
    keys: dict[str, Any] = {
        "value": lambda d: (-(d.value_minor or 0), d.id),  # largest first
        "close": lambda d: (d.expected_close or far, d.id),  # soonest first, no date last
        "age": lambda d: (d.stage_entered_at, d.id),  # longest in its stage first
        "created": lambda d: (-d.created_at.timestamp(), -d.id),  # newest first
    }
    return keys[sort]


def last_touches(conn: Any, ids: list[int], until: datetime, *, pipeline_id: int | None = None
                 ) -> dict[int, datetime]:
    """deal id -> its last event (a reorder is no touch) or activity up to `until`, whichever is later.

    Read in chunks of ids through the (deal_id, at) indexes, so only the asked deals' rows are visited; for more
    than `_WIDE` deals of one pipeline (`pipeline_id` given), one GROUP BY over the pipeline's rows is cheaper."""
    out: dict[int, datetime] = {}
    wide = pipeline_id is not None and len(ids) > _WIDE
    wanted = set(ids) if wide else None
    chunks = [ids] if wide else [ids[i:i + _CHUNK] for i in range(0, len(ids), _CHUNK)]
    for chunk in chunks:
        for table, extra in ((_E, _E.kind != "reorder"), (_A, None)):
            conds: list[ColumnElement[bool]] = [table.pipeline_id == pipeline_id if wide else table.deal_id.in_(chunk),
                                                table.at <= until]
            if extra is not None:
                conds.append(extra)
            for d, at in conn.execute(select(table.deal_id, func.max(table.at)).where(*conds)
                                      .group_by(table.deal_id)):
                if at is not None and (wanted is None or d in wanted):
                    at = clock.as_utc(at)
                    out[d] = max(out.get(d, at), at)
    return out


def find_deals(db: Database, pipeline: str | int | None, query: ReviewQuery) -> list[DealView]:
    """The deals of a pipeline matching every given filter, in the asked order, at most `limit`."""
    if query.status not in ("open", "won", "lost", "all"):
        raise ValidationError(f"'{query.status}' is not a status; use open, won, lost or all.")
    if query.sort not in SORTS:
        raise ValidationError(f"--sort takes {', '.join(SORTS[1:])}, not '{query.sort}'.")
    for what, n in (("--closing-within", query.closing_within), ("--idle-days", query.idle_days),
                    ("--limit", query.limit)):
        if n is not None and n < (0 if what == "--closing-within" else 1):
            raise ValidationError(f"{what} must be {'zero' if what == '--closing-within' else 'one'} or more.")
    now = clock.now()
    with db.read() as s:
        p = resolve_pipeline(s, pipeline)
        assert p.id is not None
        stage_id = resolve_stage(s, p, query.stage).id if query.stage else None
        type_id = resolve_type(s, p, query.dtype).id if query.dtype else None
        deals = deal_views(s, p.id, None if query.status == "all" else query.status, stage_id=stage_id)
        if query.owner:
            deals = [d for d in deals if name_key(d.owner) == name_key(query.owner)]
        if type_id is not None:
            deals = [d for d in deals if d.type_id == type_id]
        if query.created_since is not None:
            deals = [d for d in deals if d.created_at >= query.created_since]
        if query.closing_within is not None:
            deals = [d for d in deals if closes_within(d.expected_close, now.date(), query.closing_within)]
        if query.idle_days is not None:
            touched = last_touches(s.connection(), [d.id for d in deals], now)
            deals = [d for d in deals if is_idle(touched.get(d.id), now, query.idle_days)]
    if query.sort != "board":
        deals.sort(key=_sort_key(query.sort, now))
    return deals[:query.limit] if query.limit is not None else deals


__all__ = ["SORTS", "ReviewQuery", "find_deals", "last_touches"]
