"""What the jump-to-deal picker searches: every open and closed deal of every pipeline (deleted ones left out), as
plain rows read in one Core select."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from tuikanban.store.engine import Database
from tuikanban.store.tables import DELETED, Deal, Pipeline, Stage

_D = Deal.__table__.c  # type: ignore[attr-defined]
_P_TABLE = Pipeline.__table__  # type: ignore[attr-defined]
_S_TABLE = Stage.__table__  # type: ignore[attr-defined]
_P, _S = _P_TABLE.c, _S_TABLE.c


@dataclass(frozen=True)
class DealRef:
    id: int
    title: str
    company: str
    pipeline_id: int
    pipeline: str
    stage: str
    status: str


def deal_refs(db: Database) -> list[DealRef]:
    """Open deals first (then won and lost), newest first within each."""
    q = (select(_D.id, _D.title, _D.company, _D.pipeline_id, _P.name, _S.name, _D.status)
         .join(_P_TABLE, _P.id == _D.pipeline_id).join(_S_TABLE, _S.id == _D.stage_id)
         .where(_D.status != DELETED).order_by(_D.status != "open", _D.id.desc()))
    with db.read() as s:
        return [DealRef(*row) for row in s.execute(q)]


__all__ = ["DealRef", "deal_refs"]
