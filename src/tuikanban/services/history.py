"""The event log and the stays, as every writer records them (see docs/RULES.md, Event log and Stays).

Deal transactions write through the ORM (`log_event`, `close_stay`, `start_stay`); the bulk writers (demo data,
imports) insert plain rows built by `event_row`, so both produce the same columns.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlmodel import Session, col, select

from tuikanban.domain import clock
from tuikanban.domain.stays import Outcome
from tuikanban.store.tables import Deal, Event, Stay

_EVENT_DEFAULTS: dict[str, Any] = {
    "from_stage_id": None, "to_stage_id": None, "field": None, "old_value": None, "new_value": None,
    "reason": None, "ref_id": None,
}


def event_row(pipeline_id: int, deal_id: int, kind: str, at: datetime | None, user: str,
              **fields: Any) -> dict[str, Any]:
    """One `event` row for a bulk insert: every column present, so rows of different kinds insert together."""
    return {"pipeline_id": pipeline_id, "deal_id": deal_id, "kind": kind, "at": at, "user": user,
            **_EVENT_DEFAULTS, **fields}


def event_text(value: Any) -> str | None:
    """A field's value as an edit event stores it (`old_value` / `new_value`): dates in ISO form, None kept."""
    if value is None:
        return None
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def log_event(s: Session, deal: Deal, kind: str, at: datetime, user: str, **fields: Any) -> Event:
    ev = Event(pipeline_id=deal.pipeline_id, deal_id=deal.id, kind=kind, at=at, user=user, **fields)
    s.add(ev)
    return ev


def close_stay(s: Session, deal: Deal, at: datetime, outcome: Outcome) -> None:
    """End the deal's current stay at `at` (never before it began) with `outcome`."""
    stay = s.exec(
        select(Stay).where(Stay.deal_id == deal.id, Stay.left_at == None)  # noqa: E711
        .order_by(col(Stay.id).desc()).limit(1)
    ).first()
    if stay is not None:
        end_stay(s, stay, at, outcome)


def end_stay(s: Session, stay: Stay, at: datetime, outcome: Outcome) -> None:
    stay.left_at = max(at, clock.as_utc(stay.entered_at))
    stay.outcome = outcome
    s.add(stay)


def open_stays(s: Session, deal_ids: list[int]) -> dict[int, Stay]:
    """The current (latest open) stay of each of many deals, in one query (bulk actions)."""
    rows = s.exec(select(Stay).where(col(Stay.deal_id).in_(deal_ids), Stay.left_at == None)  # noqa: E711
                  .order_by(col(Stay.id))).all()
    return {stay.deal_id: stay for stay in rows}  # the latest wins, as close_stay picks it


def start_stay(s: Session, deal: Deal, stage_id: int, at: datetime) -> None:
    assert deal.id is not None
    s.add(Stay(pipeline_id=deal.pipeline_id, deal_id=deal.id, stage_id=stage_id, entered_at=at))
