"""Each user's last review of each pipeline ("since I last looked"): read by `--since last-review`.

The mark is read and written in plain SQL on a `store.uow.Unit` (`last_review_in`, `record_review_in`), so that
`changes` needs no ORM (docs/PERFORMANCE.md, The review's speed); `last_review` and `record_review` run the same
SQL inside the ORM's read or write transaction (the board, the review screen, the Typer path).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from tuikanban.services.pipeline_ref import resolve_pipeline
from tuikanban.store.uow import Unit, of_session

if TYPE_CHECKING:  # (the ORM is not imported at run time by the fast `changes`)
    from sqlmodel import Session

    from tuikanban.store.engine import Database

_CHUNK = 500  # ids per IN (...)


def last_review_in(u: Unit, pipeline_id: int, user: str) -> datetime | None:
    """The user's last review of the pipeline, inside a read the caller holds."""
    at = u.scalar('SELECT at FROM review_mark WHERE pipeline_id = ? AND "user" = ?', (pipeline_id, user))
    return u.read_instant(at)


def record_review_in(u: Unit, pipeline_id: int, user: str, at: datetime) -> None:
    """Remember that `user` reviewed the pipeline up to `at` (one row per user and pipeline, replaced), inside the
    write transaction the caller holds."""
    mark = u.scalar('SELECT id FROM review_mark WHERE pipeline_id = ? AND "user" = ?', (pipeline_id, user))
    if mark is None:
        u.insert("review_mark", {"pipeline_id": pipeline_id, "user": user, "at": u.instant(at)})
    else:
        u.run("UPDATE review_mark SET at = ? WHERE id = ?", (u.instant(at), mark))


def newest_event_in(u: Unit, pipeline_id: int) -> int:
    """The id of the pipeline's newest event (0: none): where "changes since the review was computed" start."""
    return int(u.scalar("SELECT COALESCE(MAX(id), 0) FROM event WHERE pipeline_id = ?", (pipeline_id,)) or 0)


def events_after_in(u: Unit, pipeline_id: int, event_id: int) -> int:
    """How many events of the pipeline came after `event_id` (a range of the primary key, from its end)."""
    return int(u.scalar("SELECT COUNT(*) FROM event WHERE id > ? AND pipeline_id = ?", (event_id, pipeline_id)) or 0)


def last_review(db: Database, pipeline: str | int | None, user: str) -> datetime | None:
    with db.read() as s:
        u = of_session(s)
        return last_review_in(u, resolve_pipeline(u, pipeline).id, user)


def record_review(db: Database, pipeline: str | int | None, user: str, at: datetime) -> None:
    """Remember that `user` reviewed the pipeline up to `at` (one row per user and pipeline, replaced)."""

    def work(s: Session) -> None:
        u = of_session(s)
        record_review_in(u, resolve_pipeline(u, pipeline).id, user, at)

    db.write(work)


def deal_titles(db: Database, ids: list[int]) -> dict[int, str]:
    """deal id -> title, for the deals a review lists by id (the bridge's buckets)."""
    out: dict[int, str] = {}
    with db.read() as s:
        u = of_session(s)
        for i in range(0, len(ids), _CHUNK):
            chunk = ids[i:i + _CHUNK]
            marks = ", ".join("?" for _ in chunk)
            out.update((d, t) for d, t in u.rows(f"SELECT id, title FROM deal WHERE id IN ({marks})", tuple(chunk)))
    return out


def changed_since(db: Database, pipeline_id: int, user: str) -> tuple[datetime | None, frozenset[int]]:
    """The user's last review of the pipeline and the deals with an event or activity after it, by anyone (a
    reorder is no change): what the board marks as "changed since you last looked". Nothing before a first review."""
    mark = last_review(db, pipeline_id, user)
    if mark is None:
        return None, frozenset()
    with db.read() as s:
        u = of_session(s)
        at = u.instant(mark)
        ids = {i for (i,) in u.rows("SELECT DISTINCT deal_id FROM event WHERE pipeline_id = ? AND at > ?"
                                    " AND kind != 'reorder'", (pipeline_id, at)) if i is not None}
        ids.update(i for (i,) in u.rows("SELECT DISTINCT deal_id FROM activity WHERE pipeline_id = ? AND at > ?",
                                        (pipeline_id, at)))
    return mark, frozenset(ids)


__all__ = ["changed_since", "deal_titles", "last_review", "last_review_in", "record_review", "record_review_in"]
