"""Archiving and merging deal types (issue 14): a type that closed deals still use can leave the board.

Archived: no longer offered for deals and no swimlane on the board; deals that have it keep it (and metrics by
type still name it). Merged: every deal of one type gets the other, each change logged as an `edit` event of the
field `type` like a hand edit, and the merged type is archived (kept, so that old events still read by name).
"""

from __future__ import annotations

from sqlmodel import Session, col, func, select

from tuikanban.domain.errors import ValidationError
from tuikanban.domain.models import DealTypeInfo
from tuikanban.services.common import resolve_pipeline, resolve_type, type_info, when
from tuikanban.services.history import log_event
from tuikanban.store.engine import Database
from tuikanban.store.tables import Deal


def set_type_archived(db: Database, pipeline: str | int | None, dtype: str | int, archived: bool = True
                      ) -> DealTypeInfo:
    """Archive a type no open deal uses (or bring an archived one back)."""

    def work(s: Session) -> DealTypeInfo:
        p = resolve_pipeline(s, pipeline)
        t = resolve_type(s, p, dtype)
        if archived:
            n = s.exec(select(func.count()).select_from(Deal).where(Deal.type_id == t.id, Deal.status == "open")).one()
            if n:
                have = "1 open deal has" if n == 1 else f"{n} open deals have"
                raise ValidationError(f"{have} the type {t.name}; merge it into another type "
                                      f"('tuikanban type merge \"{t.name}\" OTHER') or change them first.")
        t.archived = archived
        s.add(t)
        return type_info(t)

    return db.write(work)


def merge_types(db: Database, pipeline: str | int | None, source: str | int, target: str | int, *,
                user: str) -> tuple[DealTypeInfo, int]:
    """Give every deal of `source` the type `target` (one logged edit each) and archive `source`.

    Returns the target and the number of deals changed."""
    ts = when(None)

    def work(s: Session) -> tuple[DealTypeInfo, int]:
        p = resolve_pipeline(s, pipeline)
        old, new = resolve_type(s, p, source), resolve_type(s, p, target, to_use=True)
        if old.id == new.id:
            raise ValidationError(f"A deal type cannot be merged into itself ({old.name}).")
        deals = list(s.exec(select(Deal).where(Deal.type_id == old.id).order_by(col(Deal.id))))
        for deal in deals:
            log_event(s, deal, "edit", ts, user, field="type", old_value=str(old.id), new_value=str(new.id),
                 reason=f"merged {old.name} into {new.name}")
            deal.type_id = new.id
            deal.version += 1
            s.add(deal)
        old.archived = True
        s.add(old)
        s.flush()
        return type_info(new), len(deals)

    return db.write(work)
