"""Activities on a deal: calls, emails, meetings, notes and follow-up tasks. Logging one moves the deal's last
activity forward (see docs/RULES.md, Domain)."""

from __future__ import annotations

from datetime import date, datetime

from sqlmodel import Session, col, select

from tuikanban.domain import clock
from tuikanban.domain.errors import ValidationError
from tuikanban.domain.records import ActivityView
from tuikanban.services.common import get_deal_row, when
from tuikanban.services.fields import clean_field, close_date
from tuikanban.store.engine import Database
from tuikanban.store.tables import ACTIVITY_KINDS, Activity, Deal


def add_activity(
    db: Database,
    deal_id: int,
    kind: str,
    subject: str,
    *,
    user: str,
    due: str | date | None = None,
    at: datetime | str | None = None,
    done: bool = False,
) -> ActivityView:
    if kind not in ACTIVITY_KINDS:
        raise ValidationError(f"'{kind}' is not an activity; use one of {', '.join(ACTIVITY_KINDS)}.")
    text = clean_field(subject, "activity text", 2000, multiline=True)
    if not text:
        raise ValidationError("An activity needs some text.")
    due_date = close_date(due) if kind == "task" else None
    if kind == "task" and due_date is None:
        raise ValidationError("A follow-up task needs a due date (YYYY-MM-DD).")
    ts = when(at)

    def work(s: Session) -> ActivityView:
        return insert_activity(s, get_deal_row(s, deal_id), kind, text, ts, user, due_date, done)

    return db.write(work)


def insert_activity(s: Session, deal: Deal, kind: str, text: str, at: datetime, user: str,
                    due: date | None = None, done: bool = False) -> ActivityView:
    """Add a checked activity to a deal inside the caller's transaction (also used by services.tasks)."""
    assert deal.id is not None
    act = Activity(deal_id=deal.id, pipeline_id=deal.pipeline_id, kind=kind, subject=text, at=at, user=user,
                   due=due, done=done)
    s.add(act)
    deal.last_activity_at = at if deal.last_activity_at is None else max(clock.as_utc(deal.last_activity_at), at)
    s.add(deal)
    s.flush()
    assert act.id is not None
    return ActivityView(act.id, deal.id, kind, text, at, user, due, done)


def set_task_done(db: Database, activity_id: int, done: bool = True, *, user: str) -> ActivityView:
    def work(s: Session) -> ActivityView:
        act = s.get(Activity, activity_id)
        if act is None:
            raise ValidationError(f"There is no activity with id {activity_id}.")
        act.done = done
        s.add(act)
        deal = s.get(Deal, act.deal_id)
        if deal is not None:
            deal.last_activity_at = when(None)
            s.add(deal)
        assert act.id is not None
        return ActivityView(act.id, act.deal_id, act.kind, act.subject, act.at, act.user, act.due, act.done)

    return db.write(work)


def list_activities(db: Database, deal_id: int) -> list[ActivityView]:
    with db.read() as s:
        get_deal_row(s, deal_id)
        # newest first; of two at the same instant, the later written first (services.screen_reads says the same)
        rows = s.exec(select(Activity).where(Activity.deal_id == deal_id)
                      .order_by(col(Activity.at).desc(), col(Activity.id).desc()))
        return [ActivityView(a.id, a.deal_id, a.kind, a.subject, a.at, a.user, a.due, a.done)  # type: ignore[arg-type]
                for a in rows]
