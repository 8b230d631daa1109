"""Read queries on hot paths, written as SQLAlchemy Core selects: no ORM objects, which are about 5x slower
(see docs/PERFORMANCE.md, SQLite reads)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import case, func, or_, select
from sqlmodel import Session

from tuikanban.domain.models import DealView
from tuikanban.store.tables import DELETED, Deal, DealType, Pipeline, Stage

_D = Deal.__table__.c  # type: ignore[attr-defined]
_S = Stage.__table__.c  # type: ignore[attr-defined]
_T = DealType.__table__.c  # type: ignore[attr-defined]

_CARD_COLUMNS = (
    _D.id, _D.pipeline_id, _D.title, _D.company, _D.contact, _D.value_minor, _D.currency, _D.owner, _D.type_id,
    _D.expected_close, _D.notes, _D.stage_id, _D.status, _D.lost_reason, _D.created_at, _D.stage_entered_at,
    _D.closed_at, _D.last_activity_at, _D.rank, _D.version, _D.snoozed_until,
)


def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def deal_views(
    session: Session, pipeline_id: int, status: str | None = "open", *, stage_id: int | None = None,
    awake_on: date | None = None, ids: Collection[int] | None = None,
) -> list[DealView]:
    """Deals of a pipeline (status None = every status but deleted) in board order: stage position, rank, id.

    With `awake_on`, deals snoozed on that day are left out; with `ids`, only those deals are read."""
    conn = session.connection()
    stages = {r.id: (r.name, r.position) for r in conn.execute(
        select(_S.id, _S.name, _S.position).where(_S.pipeline_id == pipeline_id))}
    types = {r.id: r.name for r in conn.execute(select(_T.id, _T.name).where(_T.pipeline_id == pipeline_id))}
    q = select(*_CARD_COLUMNS).where(_D.pipeline_id == pipeline_id)
    q = q.where(_D.status == status) if status is not None else q.where(_D.status != DELETED)
    if awake_on is not None:
        q = q.where(awake(_D, awake_on))
    if stage_id is not None:
        q = q.where(_D.stage_id == stage_id)
    if ids is not None:
        q = q.where(_D.id.in_(list(ids)))
    q = q.order_by(_D.stage_id, _D.rank, _D.id)
    out: list[DealView] = []
    for r in conn.execute(q):
        stage_name, _pos = stages.get(r.stage_id, ("?", 0))
        out.append(DealView(
            id=r.id, pipeline_id=r.pipeline_id, title=r.title, company=r.company, contact=r.contact,
            value_minor=r.value_minor, currency=r.currency, owner=r.owner, type_id=r.type_id,
            type_name=types.get(r.type_id) if r.type_id else None,
            expected_close=r.expected_close if isinstance(r.expected_close, date) or r.expected_close is None
            else date.fromisoformat(str(r.expected_close)),
            notes=r.notes, stage_id=r.stage_id, stage_name=stage_name, status=r.status, lost_reason=r.lost_reason,
            created_at=_aware(r.created_at), stage_entered_at=_aware(r.stage_entered_at),  # type: ignore[arg-type]
            closed_at=_aware(r.closed_at), last_activity_at=_aware(r.last_activity_at), rank=r.rank,
            version=r.version, snoozed_until=_day(r.snoozed_until),
        ))
    out.sort(key=lambda d: (stages.get(d.stage_id, ("", 0))[1], d.rank, d.id))
    return out


def _day(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def not_deleted(stay_deal_id: Any, session: Session, pipeline_id: int) -> list[Any]:
    """SQL terms leaving out the stays (or other rows, by their deal id column) of the pipeline's deleted deals.

    Deleted deals are few (deals made by mistake): their ids are read first and, when there are none (the usual
    case), no term is added, so that stay reads stay on their covering index."""
    ids = [r[0] for r in session.connection().execute(
        select(_D.id).where(_D.pipeline_id == pipeline_id, _D.status == DELETED))]
    return [stay_deal_id.not_in(ids)] if ids else []


def awake(deals: Any, today: date) -> Any:
    """SQL: the deal is not snoozed on `today` (never snoozed, or its snooze date has come).

    `deals` is the deal table's columns (`Deal.__table__.c`, or an alias's)."""
    return or_(deals.snoozed_until.is_(None), deals.snoozed_until <= today)


def stage_totals(session: Session, pipeline_id: int) -> dict[int, tuple[int, int]]:
    """stage id -> (open deals, their value in the pipeline's currency), whatever filter the board shows.

    A deal valued in another currency counts as a deal but not in the sum (deals are never converted)."""
    conn = session.connection()
    own = select(Pipeline.__table__.c.currency).where(  # type: ignore[attr-defined]
        Pipeline.__table__.c.id == pipeline_id).scalar_subquery()  # type: ignore[attr-defined]
    value = func.coalesce(func.sum(case((_D.currency == own, _D.value_minor), else_=0)), 0)
    rows: Any = conn.execute(
        select(_D.stage_id, func.count(), value)
        .where(_D.pipeline_id == pipeline_id, _D.status == "open")
        .group_by(_D.stage_id)
    )
    return {r[0]: (int(r[1]), int(r[2])) for r in rows}
