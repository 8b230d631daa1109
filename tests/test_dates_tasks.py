"""Date shortcuts (domain.dates) and next-step states (domain.tasks), counted by hand from Monday 2026-03-02."""

from __future__ import annotations

from datetime import date

import pytest

from tuikanban.domain.dates import parse_due
from tuikanban.domain.errors import ValidationError
from tuikanban.domain.tasks import StepState, next_step

MONDAY = date(2026, 3, 2)  # 2026-03-02 is a Monday
FRIDAY = date(2026, 3, 6)
SATURDAY = date(2026, 3, 7)


@pytest.mark.parametrize(("text", "expected"), [
    ("+3d", date(2026, 3, 5)),  # 2 + 3
    ("+2w", date(2026, 3, 16)),  # 2 + 14
    ("+0d", MONDAY),
    ("+30d", date(2026, 4, 1)),  # 29 days left in March (31 - 2), then 1 April
    ("today", MONDAY),
    ("Tomorrow", date(2026, 3, 3)),
    ("mon", date(2026, 3, 9)),  # the next Monday, never today
    ("tue", date(2026, 3, 3)),
    ("sun", date(2026, 3, 8)),
    ("friday", FRIDAY),
    ("eow", FRIDAY),
    ("eom", date(2026, 3, 31)),
    ("2026-05-04", date(2026, 5, 4)),
    (" 2026-02-27 ", date(2026, 2, 27)),
])
def test_shortcuts_from_a_monday(text: str, expected: date) -> None:
    assert parse_due(text, MONDAY) == expected


def test_end_of_week_on_friday_and_weekend() -> None:
    assert parse_due("eow", FRIDAY) == FRIDAY  # today is already the week's end
    assert parse_due("eow", SATURDAY) == date(2026, 3, 13)  # the weekend looks at next Friday
    assert parse_due("fri", FRIDAY) == date(2026, 3, 13)  # a weekday name is always ahead


def test_end_of_month_in_february_and_a_leap_year() -> None:
    assert parse_due("eom", date(2026, 2, 10)) == date(2026, 2, 28)
    assert parse_due("eom", date(2028, 2, 10)) == date(2028, 2, 29)
    assert parse_due("+1w", date(2026, 12, 28)) == date(2027, 1, 4)


@pytest.mark.parametrize("text", ["", "  ", "+3", "3d", "+3y", "next week", "2026-02-30", "monday2"])
def test_unknown_text_is_one_sentence(text: str) -> None:
    with pytest.raises(ValidationError) as info:
        parse_due(text, MONDAY, what="due date")
    message = str(info.value)
    assert "due date" in message and "+3d" in message and "\n" not in message


def test_next_step_states() -> None:
    overdue = next_step(7, 11, "Call back", date(2026, 2, 26), MONDAY)
    assert (overdue.state, overdue.days_overdue, overdue.task_id) == (StepState.OVERDUE, 4, 11)  # 26 Feb -> 2 Mar
    assert next_step(7, 12, "x", MONDAY, MONDAY).state is StepState.DUE_TODAY
    planned = next_step(7, 13, "x", FRIDAY, MONDAY)
    assert (planned.state, planned.days_overdue, planned.due) == (StepState.PLANNED, 0, FRIDAY)
    missing = next_step(7, None, "", None, MONDAY)
    assert (missing.state, missing.task_id, missing.deal_id) == (StepState.MISSING, None, 7)
