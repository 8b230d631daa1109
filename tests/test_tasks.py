"""Follow-up tasks and next steps (issue 14): services and CLI, with the clock fixed at Monday 2026-03-02 12:00."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
from sqlmodel import select

from tuikanban.domain.errors import NotFoundError, ValidationError
from tuikanban.domain.tasks import StepState
from tuikanban.services.aging import aging_report
from tuikanban.services.deals import create_deal, deal_history, get_deal, list_activities, win_deal
from tuikanban.services.pipelines import create_pipeline, get_pipeline, update_pipeline
from tuikanban.services.tasks import (
    add_task,
    complete_task,
    get_next_step,
    list_tasks,
    log_activity,
    next_steps,
    snooze_task,
)
from tuikanban.store.engine import Database
from tuikanban.store.tables import Activity

pytestmark = pytest.mark.engines  # the tests that use a database run on SQLite and on PostgreSQL


@pytest.fixture
def sales(db: Database, fixed_now: str) -> Database:
    create_pipeline(db, "Sales", "Lead,Proposal")
    for title, owner in (("Acme", "ann"), ("Globex", "bob"), ("Initech", "ann")):
        create_deal(db, "Sales", title, user="ann", owner=owner, value="100", at="2026-03-01T12:00")
    return db


def test_next_step_is_the_earliest_open_task(sales: Database) -> None:
    add_task(sales, 1, "Later", "2026-03-20", user="ann")
    add_task(sales, 1, "Sooner", "fri", user="ann")  # Friday 2026-03-06
    late = add_task(sales, 2, "Overdue call", "2026-02-25", user="bob")
    today = add_task(sales, 3, "Today", "today", user="ann")
    done_one = add_task(sales, 3, "Already done, earlier", "2026-02-01", user="ann")
    complete_task(sales, done_one.id, user="ann")
    steps = next_steps(sales, [1, 2, 3])
    assert (steps[1].state, steps[1].text, steps[1].due) == (StepState.PLANNED, "Sooner", date(2026, 3, 6))
    # 25 Feb -> 28 Feb is 3 days, -> 2 Mar 2 more: 5 days overdue
    assert (steps[2].state, steps[2].days_overdue, steps[2].task_id) == (StepState.OVERDUE, 5, late.id)
    assert (steps[3].state, steps[3].task_id) == (StepState.DUE_TODAY, today.id)  # the done task does not count
    win_deal(sales, 1, user="ann")
    create_deal(sales, "Sales", "Hooli", user="ann")
    assert get_next_step(sales, 4).state is StepState.MISSING
    with pytest.raises(NotFoundError):
        get_next_step(sales, 99)
    # more ids than one statement takes: read in slices, unknown ids are simply missing
    many = next_steps(sales, [2, *range(100, 40_100)])
    assert len(many) == 40_001 and many[2].task_id == late.id and many[39_999].state is StepState.MISSING


def test_log_with_next_step_is_one_transaction(sales: Database) -> None:
    logged, task = log_activity(sales, 1, "call", "Spoke to the CFO", user="ann", next_due="+3d",
                                next_text="Send the proposal")
    assert (logged.kind, logged.subject, logged.user) == ("call", "Spoke to the CFO", "ann")
    assert task is not None and (task.kind, task.due, task.done) == ("task", date(2026, 3, 5), False)  # 2 + 3
    assert get_deal(sales, 1).last_activity_at is not None
    # a bad next step refuses the whole log: nothing is written
    before = len(list_activities(sales, 1))
    with pytest.raises(ValidationError, match="not a next-step date"):
        log_activity(sales, 1, "email", "Sent", user="ann", next_due="someday", next_text="x")
    with pytest.raises(ValidationError, match="needs a due date"):
        log_activity(sales, 1, "email", "Sent", user="ann", next_text="x")
    with pytest.raises(ValidationError, match="not something to log"):
        log_activity(sales, 1, "task", "Sent", user="ann")
    assert len(list_activities(sales, 1)) == before


def test_done_with_outcome_and_next_step(sales: Database) -> None:
    first = add_task(sales, 1, "Call back", "2026-02-27", user="ann")
    done, nxt = complete_task(sales, first.id, user="ann", note="They want a demo", next_due="eow",
                              next_text="Demo")
    assert done.done and nxt is not None and nxt.due == date(2026, 3, 6)  # the week ends Friday 6 March
    kinds = [(a.kind, a.subject, a.done) for a in list_activities(sales, 1)]
    assert sorted(kinds) == [("note", "They want a demo", False), ("task", "Call back", True),
                             ("task", "Demo", False)]
    assert get_next_step(sales, 1).text == "Demo"
    last = deal_history(sales, 1)[-1]  # a changed row, so an event tells boards and the history
    assert (last.kind, last.field, last.new_value, last.reason, last.user) == (
        "task", "task_done", str(first.id), "Call back", "ann")
    with pytest.raises(ValidationError, match="already done"):
        complete_task(sales, first.id, user="ann")
    # a refused next step leaves the task open
    second = add_task(sales, 2, "Ping", "today", user="bob")
    with pytest.raises(ValidationError):
        complete_task(sales, second.id, user="bob", note="ok", next_due="2026-13-01", next_text="x")
    assert [t.id for t in list_tasks(sales, owner="bob")] == [second.id]


def test_snooze_a_task(sales: Database) -> None:
    task = add_task(sales, 1, "Call", "2026-02-27", user="ann")
    assert snooze_task(sales, task.id, "mon", user="bob").due == date(2026, 3, 9)
    last = deal_history(sales, 1)[-1]
    assert (last.kind, last.field, last.old_value, last.new_value, last.user) == (
        "task", "task_due", "2026-02-27", "2026-03-09", "bob")
    assert get_next_step(sales, 1).state is StepState.PLANNED
    with pytest.raises(ValidationError, match="already passed"):
        snooze_task(sales, task.id, "2026-03-01", user="ann")
    with pytest.raises(NotFoundError):
        snooze_task(sales, 999, "mon", user="ann")


def test_task_list_by_owner_and_order(sales: Database) -> None:
    add_task(sales, 1, "B", "2026-03-04", user="ann")
    add_task(sales, 3, "A", "2026-03-03", user="ann")
    add_task(sales, 2, "C", "2026-03-01", user="bob")
    assert [t.text for t in list_tasks(sales, owner="ann")] == ["A", "B"]
    assert [t.text for t in list_tasks(sales)] == ["C", "A", "B"]
    win_deal(sales, 2, user="bob")  # a closed deal's tasks leave the list
    assert [t.text for t in list_tasks(sales)] == ["A", "B"]


def test_task_list_leaves_out_snoozed_deals_until_they_come_back(sales: Database) -> None:
    """A snoozed deal is off the board, the aging list and Today; its tasks are off the task list too, unless asked."""
    from tuikanban.services.lifecycle import snooze_deal, wake_deal

    add_task(sales, 1, "Call Acme", "2026-03-03", user="ann")
    add_task(sales, 3, "Call Initech", "2026-03-04", user="ann")
    snooze_deal(sales, 1, "fri", user="ann")  # until Friday 2026-03-06
    assert [(t.text, t.snoozed_until) for t in list_tasks(sales, owner="ann")] == [("Call Initech", None)]
    both = list_tasks(sales, owner="ann", include_snoozed=True)
    assert [(t.text, t.snoozed_until) for t in both] == [
        ("Call Acme", date(2026, 3, 6)), ("Call Initech", None)]
    # back by itself on Friday: listed, and no longer marked
    friday = list_tasks(sales, owner="ann", today=date(2026, 3, 6))
    assert [(t.text, t.snoozed_until) for t in friday] == [("Call Acme", None), ("Call Initech", None)]
    wake_deal(sales, 1, user="ann")
    assert [t.text for t in list_tasks(sales, owner="ann")] == ["Call Acme", "Call Initech"]


def test_no_next_step_signal_and_its_switch(sales: Database) -> None:
    add_task(sales, 1, "Call", "mon", user="ann")
    done = add_task(sales, 2, "Done already", "mon", user="bob")
    complete_task(sales, done.id, user="bob")
    signals = {i.id: i.signals for i in aging_report(sales, "Sales")}
    assert signals == {1: (), 2: ("no_next_step",), 3: ("no_next_step",)}
    assert update_pipeline(sales, "Sales", next_step_signal=False).next_step_signal is False
    assert get_pipeline(sales, "Sales").next_step_signal is False
    assert {i.id: i.signals for i in aging_report(sales, "Sales")} == {1: (), 2: (), 3: ()}


@pytest.mark.sqlite_only  # SQLite's query plan (EXPLAIN QUERY PLAN)
def test_the_open_task_index_is_used(sales: Database) -> None:
    """Next steps read the partial index of open tasks, not every activity."""
    import sqlite3

    from sqlalchemy import event

    add_task(sales, 1, "Call", "mon", user="ann")
    seen: list[tuple[str, Any]] = []

    def capture(_c: Any, _cur: Any, statement: str, params: Any, _ctx: Any, _many: bool) -> None:
        seen.append((statement, params))

    event.listen(sales.engine, "before_cursor_execute", capture)
    try:
        next_steps(sales, [1, 2])
    finally:
        event.remove(sales.engine, "before_cursor_execute", capture)
    con = sqlite3.connect(f"file:{sales.path}?mode=ro", uri=True)
    try:
        plans = [" | ".join(r[3] for r in con.execute("EXPLAIN QUERY PLAN " + sql, params)) for sql, params in seen]
    finally:
        con.close()
    assert any("ix_activity_open_task" in p for p in plans), plans


def test_text_is_cleaned_and_required(sales: Database) -> None:
    with pytest.raises(ValidationError, match="empty"):
        add_task(sales, 1, "   ", "mon", user="ann")
    task = add_task(sales, 1, "Call \x1b[31mnow", "mon", user="ann")
    with sales.read() as s:
        row = s.exec(select(Activity).where(Activity.id == task.id)).one()
    assert "\x1b" not in row.subject


# -- the command line --------------------------------------------------------------------------------------


@pytest.fixture
def board(cli, fixed_now: str):  # type: ignore[no-untyped-def]
    def ok(*args: str) -> str:
        r = cli(*args)
        assert r.code == 0, r.err
        return r.out

    ok("pipeline", "create", "Sales", "--stages", "Lead,Proposal")
    ok("deal", "add", "Acme", "--value", "10k", "--at", "2026-03-01T12:00")  # owner tester (conftest)
    ok("deal", "add", "Globex", "--owner", "bob", "--at", "2026-03-01T12:00")
    return ok


def test_cli_log_task_done_snooze_and_show(board: Any, cli: Any) -> None:
    out = board("deal", "log", "1", "call", "Spoke to CFO", "--next", "+3d", "Send proposal")
    assert out.splitlines() == ["Logged call 1 on deal 1.", "Next step (task 2) due 2026-03-05: Send proposal"]
    assert board("deal", "task", "2", "Call Bob", "--due", "2026-02-27").strip() == (
        "Added task 3 to deal 2, due 2026-02-27.")
    mine = json.loads(board("task", "list", "--json"))
    assert [(t["id"], t["state"]) for t in mine["tasks"]] == [(2, "planned")] and mine["owner"] == "tester"
    everyone = json.loads(board("task", "list", "--all", "--json"))
    assert [(t["id"], t["due"], t["state"]) for t in everyone["tasks"]] == [
        (3, "2026-02-27", "overdue"), (2, "2026-03-05", "planned")]
    assert [t["id"] for t in json.loads(board("task", "list", "--owner", "bob", "--json"))["tasks"]] == [3]
    assert "3 d overdue" in board("task", "list", "--all")  # 27 Feb -> 2 Mar
    out = board("task", "done", "2", "--note", "Sent it", "--next", "eom", "Chase signature")
    assert out.splitlines() == ["Task 2 on deal 1 is done.", "Next step (task 5) due 2026-03-31: Chase signature"]
    assert board("task", "snooze", "3", "--until", "tomorrow").strip() == "Task 3 is now due 2026-03-03."
    doc = json.loads(board("deal", "show", "1", "--json"))
    # both logged at the fixed 12:00, so compare them as a set
    assert sorted((a["kind"], a["text"], a["user"], a["at"]) for a in doc["activities"]) == [
        ("call", "Spoke to CFO", "tester", "2026-03-02T12:00:00+00:00"),
        ("note", "Sent it", "tester", "2026-03-02T12:00:00+00:00")]
    assert doc["tasks"] == [{"id": 2, "text": "Send proposal", "due": "2026-03-05", "done": True},
                            {"id": 5, "text": "Chase signature", "due": "2026-03-31", "done": False}]
    text = board("deal", "show", "1")
    assert "Open tasks" in text and "Chase signature" in text and "Spoke to CFO" in text
    assert "task done: Send proposal" in text  # in the history; the open tasks list has only open ones
    open_list = text[text.index("Open tasks"):text.index("Activities")]
    assert "Chase signature" in open_list and "Send proposal" not in open_list


def test_cli_task_list_hides_snoozed_deals_tasks_like_today(board: Any) -> None:
    board("deal", "task", "1", "Send proposal", "--due", "today")
    board("deal", "task", "1", "Chase", "--due", "2026-03-20")
    board("deal", "add", "Hooli", "--at", "2026-03-01T12:00")
    board("deal", "task", "3", "Demo", "--due", "tomorrow")
    board("deal", "snooze", "1", "--until", "mon")  # Monday 2026-03-09
    assert [i["deal_id"] for i in json.loads(board("today", "--json"))["items"]] == []  # Hooli's task is planned
    doc = json.loads(board("task", "list", "--json"))
    assert [(t["text"], t["snoozed_until"]) for t in doc["tasks"]] == [("Demo", None)]
    doc = json.loads(board("task", "list", "--json", "--include-snoozed"))
    assert [(t["text"], t["deal_id"], t["snoozed_until"]) for t in doc["tasks"]] == [
        ("Send proposal", 1, "2026-03-09"), ("Demo", 3, None), ("Chase", 1, "2026-03-09")]
    text = board("task", "list")
    assert "Demo" in text and "Send proposal" not in text
    assert "2 tasks of snoozed deals left out (--include-snoozed lists them)." in text
    text = board("task", "list", "--include-snoozed")
    assert "Send proposal" in text and "(snoozed until 2026-03-09)" in text and "left out" not in text
    board("deal", "snooze", "3", "--until", "mon")
    assert board("task", "list").splitlines() == [
        "No open tasks of tester. 3 tasks of snoozed deals left out (--include-snoozed lists them)."]


@pytest.mark.parametrize(("args", "message"), [
    (("deal", "log", "1", "fax", "x"), "'fax' is not something to log; use one of call, email, meeting, note."),
    (("deal", "task", "1", "x", "--due", "soon"), "'soon' is not a due date I know;"),
    (("task", "done", "1"), "There is no task with id 1."),
    (("task", "list", "--owner", "x", "--all"), "Give --owner NAME or --all, not both."),
    (("pipeline", "set", "Sales", "--next-step-signal", "maybe"), "--next-step-signal takes on or off, not 'maybe'."),
    (("deal", "task", "9", "x", "--due", "mon"), "There is no deal with id 9."),
])
def test_cli_mistakes_are_one_sentence(board: Any, cli: Any, args: tuple[str, ...], message: str) -> None:
    r = cli(*args)
    assert r.code == 1 and r.err.strip().startswith(message) and "Traceback" not in r.err
    assert "\n" not in r.err.strip()


def test_cli_pipeline_set_turns_the_signal_off(board: Any) -> None:
    deals = json.loads(board("aging", "--json"))["deals"]
    assert all("no_next_step" in d["signals"] for d in deals)
    assert board("pipeline", "set", "--next-step-signal", "off").strip() == (
        "Pipeline Sales: USD, target none, stale after 10 days, no_next_step signal off.")
    deals = json.loads(board("aging", "--json"))["deals"]
    assert not any("no_next_step" in d["signals"] for d in deals)


def test_a_schema_1_database_gets_the_new_settings_with_their_defaults(tmp_path: Any) -> None:
    """Upgraded to schema 5: the no_next_step signal is on, no deal is snoozed, no type archived, no task open."""
    from test_migrations import make_v1
    from tuikanban.services.pipelines import list_types
    from tuikanban.store.engine import open_database

    db = open_database(make_v1(tmp_path / "v1.db"))
    try:
        assert get_pipeline(db, "Sales").next_step_signal is True
        assert get_deal(db, 1).snoozed_until is None
        assert [t.archived for t in list_types(db, "Sales")] == [False]
        assert get_next_step(db, 1).state is StepState.MISSING
        assert [i.id for i in aging_report(db, "Sales")] == [1]
    finally:
        db.close()
