"""The "changed since you last looked" marks: the deals with an event or activity after the user's last review
of the pipeline (`services.reviews.changed_since`), read on the reads lane after each board read and after the
review screen closes (which moves the review mark to "now"). Before a first review nothing is marked.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from textual.message import Message

if TYPE_CHECKING:
    from tuikanban.store.engine import Database

CHANGED_MARK = "•"  # drawn first in the card's mark area (before the risk marks and the days badge)


class ChangedSince(Message):
    """The deals of `pipeline_id` changed since the user's last review at `mark` (None: never reviewed)."""

    def __init__(self, pipeline_id: int, mark: datetime | None, ids: frozenset[int]) -> None:
        super().__init__()
        self.pipeline_id = pipeline_id
        self.mark = mark
        self.ids = ids


def changed_job(db: Database, pipeline_id: int, user: str) -> ChangedSince:
    from tuikanban.services.reviews import changed_since  # (the ORM: never before the first paint)

    mark, ids = changed_since(db, pipeline_id, user)
    return ChangedSince(pipeline_id, mark, ids)


__all__ = ["CHANGED_MARK", "ChangedSince", "changed_job"]
