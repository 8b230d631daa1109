"""Each user's last review of each pipeline ("since I last looked"): read by `--since last-review`."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from tuikanban.domain import clock
from tuikanban.services.common import resolve_pipeline
from tuikanban.store.engine import Database
from tuikanban.store.tables import Activity, Deal, Event, ReviewMark

_CHUNK = 500  # ids per IN (...)


def last_review(db: Database, pipeline: str | int | None, user: str) -> datetime | None:
    with db.read() as s:
        p = resolve_pipeline(s, pipeline)
        mark = s.exec(select(ReviewMark).where(ReviewMark.pipeline_id == p.id, ReviewMark.user == user)).first()
        return clock.as_utc(mark.at) if mark is not None else None


def record_review(db: Database, pipeline: str | int | None, user: str, at: datetime) -> None:
    """Remember that `user` reviewed the pipeline up to `at` (one row per user and pipeline, replaced)."""

    def work(s: Session) -> None:
        p = resolve_pipeline(s, pipeline)
        assert p.id is not None
        mark = s.exec(select(ReviewMark).where(ReviewMark.pipeline_id == p.id, ReviewMark.user == user)).first()
        if mark is None:
            mark = ReviewMark(pipeline_id=p.id, user=user, at=at)
        mark.at = at
        s.add(mark)

    db.write(work)


def deal_titles(db: Database, ids: list[int]) -> dict[int, str]:
    """deal id -> title, for the deals a review lists by id (the bridge's buckets)."""
    out: dict[int, str] = {}
    with db.read() as s:
        for i in range(0, len(ids), _CHUNK):
            chunk = ids[i:i + _CHUNK]
            out.update((d, t) for d, t in s.exec(select(Deal.id, Deal.title).where(col(Deal.id).in_(chunk)))
                       if d is not None)
    return out


def changed_since(db: Database, pipeline_id: int, user: str) -> tuple[datetime | None, frozenset[int]]:
    """The user's last review of the pipeline and the deals with an event or activity after it, by anyone (a
    reorder is no change): what the board marks as "changed since you last looked". Nothing before a first review."""
    mark = last_review(db, pipeline_id, user)
    if mark is None:
        return None, frozenset()
    with db.read() as s:
        events = s.exec(select(Event.deal_id).where(Event.pipeline_id == pipeline_id, Event.at > mark,
                                                    Event.kind != "reorder").distinct())
        ids = {i for i in events if i is not None}
        ids.update(s.exec(select(Activity.deal_id).where(Activity.pipeline_id == pipeline_id, Activity.at > mark)
                          .distinct()))
    return mark, frozenset(ids)


__all__ = ["changed_since", "deal_titles", "last_review", "record_review"]
