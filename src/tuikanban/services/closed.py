"""The closed-deals screen's read: the latest won and lost deals of a pipeline that match a search, a page at a time.

A pipeline can hold a hundred thousand closed deals; the screen lists the latest `limit` that match. Reading every
deal of the pipeline to pick them (as the screen once did) cost about 180 MB at that size. Here the database counts
and orders; with a search, the closed deals' text columns are read in chunks of CHUNK rows (by id) and matched as the
screen always matched them (every word of the search in the title, company, contact, owner, lost reason, last
stage or deal type, case-folded), keeping only the latest `limit` matches' ids; their full rows are read last.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from tuikanban.domain.errors import ValidationError
from tuikanban.domain.models import DealView
from tuikanban.store.lean import lean_cache
from tuikanban.store.queries import deal_views
from tuikanban.store.tables import Deal, DealType, Stage

if TYPE_CHECKING:
    from tuikanban.store.engine import Database

_DEALS: Any = Deal.__table__  # type: ignore[attr-defined]
_D = _DEALS.c
_S = Stage.__table__.c  # type: ignore[attr-defined]
_T = DealType.__table__.c  # type: ignore[attr-defined]

PAGE = 500  # closed deals listed at most
CHUNK = 2000  # rows of text read at a time while searching
STATUSES = ("all", "won", "lost")


@dataclass(frozen=True, slots=True)
class ClosedPage:
    deals: list[DealView]  # the latest `limit` matching, latest closed first
    matching: int  # closed deals matching the status and the search
    total: int  # closed deals of the pipeline


def matches(needle: str, *fields: str | None) -> bool:
    """Every word of `needle` (already case-folded) is in one of the fields, case-folded."""
    if not needle:
        return True
    hay = " ".join(f or "" for f in fields).casefold()
    return all(word in hay for word in needle.split())


def _when(closed_at: datetime | None, created_at: datetime) -> datetime:
    value = closed_at or created_at
    return value.replace(tzinfo=None) if value.tzinfo is not None else value  # (as stored: naive UTC)


def closed_page(db: Database, pipeline_id: int, *, status: str = "all", needle: str = "",
                limit: int = PAGE) -> ClosedPage:
    """The latest `limit` closed deals (won, lost or both) of the pipeline whose text holds every word of `needle`,
    latest closed first (then the higher id), with how many match and how many are closed."""
    if status not in STATUSES:
        raise ValidationError(f"'{status}' is not a closed status; use won, lost or all.")
    needle = needle.strip().casefold()
    wanted = ("won", "lost") if status == "all" else (status,)
    with db.read() as s, lean_cache(s.connection()):  # (a search reads every closed deal's text once: store/lean.py)
        conn = s.connection()
        closed = (_D.pipeline_id == pipeline_id, _D.status.in_(("won", "lost")))
        total = int(conn.execute(select(func.count()).select_from(_DEALS).where(*closed)).scalar() or 0)
        where = (_D.pipeline_id == pipeline_id, _D.status.in_(wanted))
        when = func.coalesce(_D.closed_at, _D.created_at)
        if not needle:
            matching = total if status == "all" else int(conn.execute(
                select(func.count()).select_from(_DEALS).where(*where)).scalar() or 0)
            ids = [int(r[0]) for r in conn.execute(
                select(_D.id).where(*where).order_by(when.desc(), _D.id.desc()).limit(limit))]
        else:
            stages: dict[int, str] = dict(conn.execute(
                select(_S.id, _S.name).where(_S.pipeline_id == pipeline_id)).all())
            types: dict[int, str] = dict(conn.execute(
                select(_T.id, _T.name).where(_T.pipeline_id == pipeline_id)).all())
            latest: list[tuple[datetime, int]] = []  # a heap of the latest `limit` matches (oldest on top)
            matching = 0
            after = 0
            columns = (_D.id, _D.title, _D.company, _D.contact, _D.owner, _D.lost_reason, _D.stage_id, _D.type_id,
                       _D.closed_at, _D.created_at)
            while True:
                rows: Any = conn.execute(
                    select(*columns).where(*where, _D.id > after).order_by(_D.id).limit(CHUNK)).all()
                for (deal_id, title, company, contact, owner, reason, stage_id, type_id, closed_at,
                     created_at) in rows:
                    if not matches(needle, title, company, contact, owner, reason, stages.get(stage_id, "?"),
                                   types.get(type_id) if type_id else None):
                        continue
                    matching += 1
                    entry = (_when(closed_at, created_at), int(deal_id))
                    if len(latest) < limit:
                        heapq.heappush(latest, entry)
                    elif entry > latest[0]:
                        heapq.heapreplace(latest, entry)
                if len(rows) < CHUNK:
                    break
                after = int(rows[-1][0])
            ids = [deal_id for _when_, deal_id in sorted(latest, reverse=True)]
        order = {deal_id: i for i, deal_id in enumerate(ids)}
        views = deal_views(s, pipeline_id, None, ids=ids) if ids else []
    views.sort(key=lambda d: order[d.id])
    return ClosedPage(views, matching, total)


__all__ = ["PAGE", "ClosedPage", "closed_page", "matches"]
