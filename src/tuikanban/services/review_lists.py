"""`deal list` for a review: filtered by owner, stage, type, closing window, idleness and creation time, sorted and
cut in the database; the idle rule and the closing window are the board filter's (`domain.filters`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tuikanban.domain import clock
from tuikanban.domain.errors import ValidationError
from tuikanban.domain.filters import closes_within, is_idle
from tuikanban.domain.models import DealView
from tuikanban.domain.text import name_key
from tuikanban.services.common import resolve_pipeline, resolve_stage, resolve_type
from tuikanban.services.review_idle import last_touches
from tuikanban.store.engine import Database
from tuikanban.store.queries import deal_views
from tuikanban.store.uow import of_session

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
            touched = last_touches(of_session(s), [d.id for d in deals], now)
            deals = [d for d in deals if is_idle(touched.get(d.id), now, query.idle_days)]
    if query.sort != "board":
        deals.sort(key=_sort_key(query.sort, now))
    return deals[:query.limit] if query.limit is not None else deals


__all__ = ["SORTS", "ReviewQuery", "find_deals", "last_touches"]
