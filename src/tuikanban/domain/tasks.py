"""A deal's next step: its earliest open follow-up task, and how that task stands against today.

Pure rules and value types; the queries live in `tuikanban.services.tasks`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum


class StepState(StrEnum):
    OVERDUE = "overdue"  # due before today
    DUE_TODAY = "due_today"
    PLANNED = "planned"  # due after today
    MISSING = "missing"  # no open task at all


@dataclass(frozen=True, slots=True)
class NextStep:
    """What a card shows about a deal's next step. Without a task, only `deal_id` and `state` (missing) are set."""

    deal_id: int
    state: StepState
    task_id: int | None = None
    text: str = ""
    due: date | None = None
    days_overdue: int = 0  # whole days past the due date (overdue only)


def step_state(due: date, today: date) -> StepState:
    if due < today:
        return StepState.OVERDUE
    if due == today:
        return StepState.DUE_TODAY
    return StepState.PLANNED


def next_step(deal_id: int, task_id: int | None, text: str, due: date | None, today: date) -> NextStep:
    """The next step from the deal's earliest open task (None values: the deal has none)."""
    if task_id is None or due is None:
        return NextStep(deal_id, StepState.MISSING)
    state = step_state(due, today)
    late = (today - due).days if state is StepState.OVERDUE else 0
    return NextStep(deal_id, state, task_id, text, due, late)


@dataclass(frozen=True, slots=True)
class TaskView:
    """An open or done follow-up task with the deal it belongs to (for task lists and the Today queue)."""

    id: int
    deal_id: int
    deal_title: str
    stage: str
    owner: str
    text: str
    due: date | None
    done: bool
    pipeline: str = ""
    snoozed_until: date | None = None  # the deal's snooze date, when it is snoozed (listed only when asked for)


# -- the Today queue -----------------------------------------------------------------------------------------

# The queue's kinds, in the order a rep works through them.
OVERDUE = "overdue"
DUE_TODAY = "due_today"
NO_NEXT_STEP = "no_next_step"
STALLED = "stalled"
AGING = "aging"
TODAY_KINDS = (OVERDUE, DUE_TODAY, NO_NEXT_STEP, STALLED, AGING)


@dataclass(frozen=True, slots=True)
class TodayItem:
    """One line of the Today queue: a task due (overdue or today), or a deal that needs a next step or is stuck."""

    kind: str  # one of TODAY_KINDS
    deal_id: int
    title: str
    stage: str
    pipeline: str
    owner: str
    task_id: int | None = None  # tasks only
    text: str = ""
    due: date | None = None
    days_overdue: int = 0
    days_in_stage: float | None = None  # stalled and aging only
    severity: float = 0.0  # days in stage over the stage's baseline (stalled and aging only)


# -- the one-line log bar ------------------------------------------------------------------------------------

NEXT_MARK = ">>"
DEFAULT_NEXT_TEXT = "Follow up"
LOG_HINT = "what happened   >> +3d next step (optional)"


def split_log_line(line: str) -> tuple[str, str | None, str | None]:
    """`Talked to Ann >> fri send the quote` -> ("Talked to Ann", "fri", "send the quote"): the log text, then after
    `>>` an optional next step (a date shortcut, then its text; "Follow up" when only the date is given)."""
    body, mark, rest = line.partition(NEXT_MARK)
    if not mark or not rest.strip():
        return body.strip(), None, None
    when, _sp, text = rest.strip().partition(" ")
    return body.strip(), when, text.strip() or DEFAULT_NEXT_TEXT


def split_date_line(line: str) -> tuple[str, str | None]:
    """`fri waiting for budget` -> ("fri", "waiting for budget"): a date shortcut, then optional text."""
    when, _sp, text = line.strip().partition(" ")
    return when, text.strip() or None
