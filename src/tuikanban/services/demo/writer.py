"""Writing planned demo deals: the rows the deal services would write for the same history, in bulk."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert, update
from sqlmodel import Session

from tuikanban.domain.stays import visit_outcomes
from tuikanban.services.demo.planner import Plan
from tuikanban.services.history import event_row, event_text
from tuikanban.store.tables import Activity, Deal, Event, Pipeline, Stay


def write_plans(s: Session, pipeline_id: int, currency: str, stage_ids: list[int], type_ids: list[int],
                plans: list[Plan], started: datetime) -> dict[str, int]:
    """Insert the planned deals with the rows the deal services would write for the same history."""
    conn = s.connection()
    deal_t, event_t, stay_t, act_t = (getattr(m, "__table__") for m in (Deal, Event, Stay, Activity))  # noqa: B009
    conn.execute(update(getattr(Pipeline, "__table__")).where(  # noqa: B009
        getattr(Pipeline, "__table__").c.id == pipeline_id).values(created_at=started))  # noqa: B009
    events: list[tuple[datetime, int, int, dict[str, Any]]] = []
    stays: list[dict[str, Any]] = []
    acts: list[dict[str, Any]] = []
    counts = {"open": 0, "won": 0, "lost": 0, "events": 0, "activities": 0}
    open_by_stage: dict[int, list[tuple[datetime, int]]] = {}
    seq = 0
    for plan in plans:
        value = plan.value
        close = plan.close
        for _at, fld, _old, new in plan.edits:  # the row holds the latest values; the edits hold the earlier ones
            if fld == "value":
                value = new
            elif fld == "close":
                close = new
        last = plan.visits[-1]
        last_activity = max((a[0] for a in plan.activities), default=None)
        version = 1 + (len(plan.visits) - 1) + len(plan.edits) + (0 if plan.status == "open" else 1)
        row = {
            "pipeline_id": pipeline_id, "title": plan.title, "company": plan.company, "contact": plan.contact,
            "value_minor": None if value is None else value * 100, "currency": currency, "owner": plan.owner,
            "type_id": type_ids[plan.type_index], "expected_close": close, "notes": plan.notes,
            "stage_id": stage_ids[last.stage], "status": plan.status, "lost_reason": plan.lost_reason,
            "created_at": plan.created, "stage_entered_at": last.entered, "closed_at": plan.closed_at,
            "last_activity_at": last_activity, "rank": 0, "version": version,
        }
        key = conn.execute(insert(deal_t).values(**row)).inserted_primary_key
        assert key is not None
        deal_id = int(key[0])
        counts[plan.status] += 1
        if plan.status == "open":
            open_by_stage.setdefault(stage_ids[last.stage], []).append((last.entered, deal_id))

        def ev(at: datetime, kind: str, deal_id: int = deal_id, user: str = plan.owner, **fields: Any) -> None:
            nonlocal seq
            seq += 1
            events.append((at, seq, deal_id, event_row(pipeline_id, deal_id, kind, at, user, **fields)))

        first = plan.visits[0]
        ev(first.entered, "create", to_stage_id=stage_ids[first.stage])
        for prev, nxt in zip(plan.visits, plan.visits[1:], strict=False):
            ev(nxt.entered, "move", from_stage_id=stage_ids[prev.stage], to_stage_id=stage_ids[nxt.stage])
        for at, fld, old, new in plan.edits:
            if fld == "value":
                ev(at, "edit", field="value", old_value=event_text(None if old is None else old * 100),
                   new_value=event_text(None if new is None else new * 100))
            else:
                ev(at, "edit", field=fld, old_value=event_text(old), new_value=event_text(new))
        if plan.status == "won":
            ev(plan.closed_at or last.entered, "won", from_stage_id=stage_ids[last.stage])
        elif plan.status == "lost":
            ev(plan.closed_at or last.entered, "lost", from_stage_id=stage_ids[last.stage], reason=plan.lost_reason)
        outcomes = visit_outcomes([v.stage for v in plan.visits], plan.status)
        for v, outcome in zip(plan.visits, outcomes, strict=True):
            stays.append({"pipeline_id": pipeline_id, "deal_id": deal_id, "stage_id": stage_ids[v.stage],
                          "entered_at": v.entered, "left_at": v.left, "outcome": outcome})
        for at, kind, subject, due, done in plan.activities:
            acts.append({"deal_id": deal_id, "pipeline_id": pipeline_id, "kind": kind, "subject": subject, "at": at,
                         "user": plan.owner, "due": due, "done": done})
    # board order: the deal that entered a column last sits on top (as move_deal/create_deal rank them)
    for entries in open_by_stage.values():
        entries.sort()
        for n, (_at, deal_id) in enumerate(entries):
            conn.execute(update(deal_t).where(deal_t.c.id == deal_id).values(rank=-n))
    events.sort(key=lambda e: (e[0], e[1]))
    if events:
        conn.execute(insert(event_t), [e[3] for e in events])
    stays.sort(key=lambda r: (r["entered_at"], r["deal_id"]))
    if stays:
        conn.execute(insert(stay_t), stays)
    acts.sort(key=lambda r: (r["at"], r["deal_id"]))
    if acts:
        conn.execute(insert(act_t), acts)
    counts["events"] = len(events)
    counts["activities"] = len(acts)
    return counts
