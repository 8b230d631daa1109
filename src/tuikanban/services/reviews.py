"""Each user's last review of each pipeline ("since I last looked"): read by `--since last-review`."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, select

from tuikanban.domain import clock
from tuikanban.services.common import resolve_pipeline
from tuikanban.store.engine import Database
from tuikanban.store.tables import ReviewMark


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


__all__ = ["last_review", "record_review"]
