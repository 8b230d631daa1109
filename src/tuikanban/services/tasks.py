"""Follow-up tasks and next steps (issue 14): logging a call with its next step, finishing a task with an
outcome and the next one, snoozing a task, and a deal's next step (its earliest open task).

A task is an `activity` row of kind `task` with a due date; `done` marks it finished. Each action is one
transaction: a logged call and the next step it sets are written together or not at all. Finishing a task and
moving its due date change an existing row, so each also logs a `task` event (field `task_done` or `task_due`):
the history shows it, and boards watching the event log see the change.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date
from typing import Any

from sqlalchemy import and_, exists, false, func, literal_column, select
from sqlmodel import Session

from tuikanban.domain import clock
from tuikanban.domain.dates import parse_due
from tuikanban.domain.errors import NotFoundError, TaskDoneError, ValidationError
from tuikanban.domain.records import ActivityView
from tuikanban.domain.tasks import NextStep, TaskView, next_step
from tuikanban.services.activities import insert_activity
from tuikanban.services.common import get_deal_row, when
from tuikanban.services.fields import clean_field
from tuikanban.services.history import log_event
from tuikanban.store.engine import Database
from tuikanban.store.queries import awake
from tuikanban.store.tables import Activity, Deal, Event, Pipeline, Stage

_A = Activity.__table__.c  # type: ignore[attr-defined]
_D = Deal.__table__.c  # type: ignore[attr-defined]
_P = Pipeline.__table__.c  # type: ignore[attr-defined]
_S = Stage.__table__.c  # type: ignore[attr-defined]

LOG_KINDS = ("call", "email", "meeting", "note")
_SLICE = 10_000
MAX_TEXT = 2000

# Literal SQL (not bound parameters) so that SQLite matches the partial index ix_activity_open_task.
OPEN_TASK = and_(_A.kind == literal_column("'task'"), _A.done == false())


def has_open_task(deal_id: Any) -> Any:
    """SQL: whether the deal (a column or an id) has an open task, i.e. a next step."""
    return exists().where(_A.deal_id == deal_id, OPEN_TASK)


def due_date(value: str | date, *, what: str = "due date") -> date:
    """A due date from a shortcut (`+3d`, `mon`, `eom`, ...) counted from the clock's today, or a date."""
    return value if isinstance(value, date) else parse_due(value, clock.today(), what=what)


def _text(value: str | None, what: str) -> str:
    text = clean_field(value, what, MAX_TEXT, multiline=True)
    if not text:
        raise ValidationError(f"The {what} is empty.")
    return text


def _open_deal(s: Session, deal_id: int) -> Deal:
    deal = get_deal_row(s, deal_id)
    if deal.status != "open":
        raise ValidationError(f"Deal {deal_id} is {deal.status}; only open deals take logs and next steps.")
    return deal


def _open_task(s: Session, task_id: int) -> Activity:
    act = s.get(Activity, task_id)
    if act is None or act.kind != "task":
        raise NotFoundError(f"There is no task with id {task_id}.")
    if act.done:
        raise TaskDoneError(f"Task {task_id} is already done{_done_by(s, act)}.", deal_id=act.deal_id)
    return act


def _done_by(s: Session, act: Activity) -> str:
    """' (ann finished it a moment ago)': who finished a task and when, from its `task_done` event."""
    from tuikanban.services.deal_actions import ago

    last = s.execute(select(Event.user, Event.at).where(  # type: ignore[call-overload]
        Event.deal_id == act.deal_id, Event.kind == "task", Event.field == "task_done",
        Event.new_value == str(act.id)).order_by(Event.id.desc()).limit(1)).first()  # type: ignore[union-attr]
    if last is None or not last[0]:
        return ""
    return f" ({last[0]} finished it {ago(clock.as_utc(last[1]))})"


def _next(next_due: str | date | None, next_text: str | None) -> tuple[date, str] | None:
    """A next step given together with a log or a finished task: both a date and a text, or neither."""
    if next_due is None and not next_text:
        return None
    if next_due is None or not str(next_due).strip():
        raise ValidationError("A next step needs a due date as well as its text.")
    return due_date(next_due, what="next-step date"), _text(next_text, "next-step text")


# -- writes ---------------------------------------------------------------------------------------------


def add_task(db: Database, deal_id: int, text: str, due: str | date, *, user: str) -> ActivityView:
    """A follow-up task with a due date (a date shortcut or YYYY-MM-DD)."""
    body, day = _text(text, "task text"), due_date(due)
    ts = when(None)
    return db.write(lambda s: insert_activity(s, _open_deal(s, deal_id), "task", body, ts, user, day))


def log_activity(
    db: Database, deal_id: int, kind: str, text: str, *, user: str,
    next_due: str | date | None = None, next_text: str | None = None,
) -> tuple[ActivityView, ActivityView | None]:
    """Log a call, email, meeting or note, and optionally the next step, in one transaction."""
    if kind not in LOG_KINDS:
        raise ValidationError(f"'{kind}' is not something to log; use one of {', '.join(LOG_KINDS)}.")
    body, step = _text(text, f"{kind} text"), _next(next_due, next_text)
    ts = when(None)

    def work(s: Session) -> tuple[ActivityView, ActivityView | None]:
        deal = _open_deal(s, deal_id)
        logged = insert_activity(s, deal, kind, body, ts, user)
        task = insert_activity(s, deal, "task", step[1], ts, user, step[0]) if step else None
        return logged, task

    return db.write(work)


def complete_task(
    db: Database, task_id: int, *, user: str, note: str | None = None,
    next_due: str | date | None = None, next_text: str | None = None,
) -> tuple[ActivityView, ActivityView | None]:
    """Mark a task done; its outcome becomes a note and the next step a new task, all in one transaction.

    Returns the finished task and the new one (None without a next step)."""
    outcome = _text(note, "outcome note") if note is not None else None
    step = _next(next_due, next_text)
    ts = when(None)

    def work(s: Session) -> tuple[ActivityView, ActivityView | None]:
        act = _open_task(s, task_id)
        deal = get_deal_row(s, act.deal_id)
        act.done = True
        s.add(act)
        log_event(s, deal, "task", ts, user, field="task_done", new_value=str(act.id), reason=act.subject)
        if outcome is not None:
            insert_activity(s, deal, "note", outcome, ts, user)
        else:  # finishing a task is activity on the deal even without a note
            deal.last_activity_at = ts
            s.add(deal)
        task = None
        if step is not None:
            if deal.status != "open":
                raise ValidationError(f"Deal {deal.id} is {deal.status}; it takes no next step.")
            task = insert_activity(s, deal, "task", step[1], ts, user, step[0])
        assert act.id is not None
        return ActivityView(act.id, act.deal_id, act.kind, act.subject, act.at, act.user, act.due, True), task

    return db.write(work)


def snooze_task(db: Database, task_id: int, until: str | date, *, user: str) -> ActivityView:
    """Move an open task's due date (never into the past)."""
    day = due_date(until, what="snooze date")
    if day < clock.today():
        raise ValidationError(f"The snooze date {day.isoformat()} has already passed; choose today or later.")

    ts = when(None)

    def work(s: Session) -> ActivityView:
        act = _open_task(s, task_id)
        log_event(s, get_deal_row(s, act.deal_id), "task", ts, user, field="task_due",
             old_value=act.due.isoformat() if act.due else None, new_value=day.isoformat(), reason=act.subject)
        act.due = day
        s.add(act)
        assert act.id is not None
        return ActivityView(act.id, act.deal_id, act.kind, act.subject, act.at, act.user, day, False)

    return db.write(work)


# -- reads ----------------------------------------------------------------------------------------------


def next_steps(db: Database, deal_ids: Collection[int], *, today: date | None = None) -> dict[int, NextStep]:
    """deal id -> its next step (state missing when it has no open task), for many deals in one query."""
    day = today or clock.today()
    ids = list(deal_ids)
    found: dict[int, NextStep] = {}
    rank = func.row_number().over(partition_by=_A.deal_id, order_by=(_A.due, _A.id)).label("rn")
    with db.read() as s:
        # in slices: a statement takes a bounded number of parameters (32,766 in SQLite)
        for start in range(0, len(ids), _SLICE):
            inner = (select(_A.id, _A.deal_id, _A.subject, _A.due, rank)
                     .where(OPEN_TASK, _A.deal_id.in_(ids[start:start + _SLICE])).subquery())
            q = select(inner.c.id, inner.c.deal_id, inner.c.subject, inner.c.due).where(inner.c.rn == 1)
            for task_id, deal_id, subject, due in s.connection().execute(q):
                found[deal_id] = next_step(deal_id, task_id, subject, _as_date(due), day)
    return {i: found.get(i) or next_step(i, None, "", None, day) for i in ids}


def get_next_step(db: Database, deal_id: int, *, today: date | None = None) -> NextStep:
    with db.read() as s:
        get_deal_row(s, deal_id)
    return next_steps(db, [deal_id], today=today)[deal_id]


def list_tasks(db: Database, *, owner: str | None = None, include_done: bool = False,
               deal_id: int | None = None, include_snoozed: bool = False,
               today: date | None = None) -> list[TaskView]:
    """Tasks of open deals (of one owner, or everyone's with None), earliest due first.

    The tasks of a deal snoozed on `today` (default: the clock's) are left out, as the board, the aging list and
    the Today queue leave the deal out, unless `include_snoozed`; then each carries the deal's snooze date."""
    day = today or clock.today()
    q = (
        select(_A.id, _A.deal_id, _D.title, _S.name, _D.owner, _A.subject, _A.due, _A.done, _P.name,
               _D.snoozed_until)
        .join(Deal.__table__, _D.id == _A.deal_id).join(Stage.__table__, _S.id == _D.stage_id)  # type: ignore[attr-defined]
        .join(Pipeline.__table__, _P.id == _D.pipeline_id)  # type: ignore[attr-defined]
        .where(_A.kind == literal_column("'task'"), _D.status == "open")
        .order_by(_A.due, _A.id)
    )
    if not include_done:
        q = q.where(OPEN_TASK)
    if not include_snoozed:
        q = q.where(awake(_D, day))
    if owner is not None:
        q = q.where(_D.owner == owner)
    if deal_id is not None:
        q = q.where(_A.deal_id == deal_id)
    with db.read() as s:
        return [TaskView(r[0], r[1], r[2], r[3], r[4], r[5], _as_date(r[6]), bool(r[7]), r[8],
                         _snoozed(_as_date(r[9]), day))
                for r in s.connection().execute(q)]


def _snoozed(until: date | None, day: date) -> date | None:
    """The snooze date while it has not come (the deal is snoozed), else None."""
    return until if until is not None and until > day else None


def _as_date(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])
