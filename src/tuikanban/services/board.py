"""The read model of the board: one call loads what the board paints for a pipeline."""

from __future__ import annotations

from sqlalchemy import or_
from sqlmodel import col, select

from tuikanban.domain import clock
from tuikanban.domain.models import BoardData
from tuikanban.services.common import active_stages, pipeline_info, resolve_pipeline, stage_info, type_info
from tuikanban.store.engine import Database
from tuikanban.store.queries import deal_views, stage_totals
from tuikanban.store.tables import Deal, DealType


def load_board(db: Database, pipeline: str | int | None, *, status: str = "open",
               snoozed: bool = False) -> BoardData:
    """The board's cards; snoozed deals only with `snoozed` (the counts and sums always include them: they are
    open and count towards WIP limits)."""
    with db.read() as s:
        p = resolve_pipeline(s, pipeline)
        assert p.id is not None
        stages = [stage_info(st) for st in active_stages(s, p)]
        # archived types are no swimlane, unless an open deal still has one (a reopened deal)
        in_use = select(Deal.type_id).where(Deal.pipeline_id == p.id, Deal.status == "open")
        types = [type_info(t) for t in s.exec(
            select(DealType).where(DealType.pipeline_id == p.id,
                                   or_(col(DealType.archived).is_(False), col(DealType.id).in_(in_use)))
            .order_by(col(DealType.position), col(DealType.id))
        )]
        totals = stage_totals(s, p.id)
        cards = deal_views(s, p.id, None if status == "all" else status,
                           awake_on=None if snoozed else clock.today())
        return BoardData(
            pipeline=pipeline_info(p), stages=stages, types=types, cards=cards,
            counts={sid: n for sid, (n, _v) in totals.items()}, sums={sid: v for sid, (_n, v) in totals.items()},
        )
