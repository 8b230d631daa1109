"""What a team ran into sharing one board: two reps on the same deal at the same moment, and dialogs that took
what their own placeholder suggested. By hand, on Monday 2026-03-02 12:00 UTC (the `fixed_now` clock)."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from textual.widgets import Input

from board_helpers import gated_acme, open_gate, press, settle
from tuikanban.services import deals as D
from tuikanban.services.activities import list_activities
from tuikanban.services.gates import set_gate
from tuikanban.services.lifecycle import snooze_deal
from tuikanban.services.pipelines import create_pipeline
from tuikanban.services.tasks import add_task, complete_task, list_tasks
from tuikanban.store.engine import Database
from tuikanban.ui.app import TuikanbanApp
from tuikanban.ui.dialogs.ask import AskScreen
from tuikanban.ui.dialogs.gate import GateScreen
from tuikanban.ui.dialogs.task_done import TaskDoneScreen
from tuikanban.ui.screens.today import TodayScreen

pytestmark = pytest.mark.engines  # the tests that use a database run on SQLite and on PostgreSQL

SRC = Path(__file__).resolve().parent.parent / "src"
U = "ann"
SIZE = (140, 45)


def _type(app: TuikanbanApp, widget_id: str, text: str) -> None:
    app.screen.query_one(f"#{widget_id}", Input).value = text


async def test_the_gate_dialog_takes_the_close_date_shortcuts_its_placeholder_shows(
        db: Database, fixed_now: str) -> None:
    """The close field says 'YYYY-MM-DD, +30d, eom' (as the deal form's does); '+30d' was refused after the dialog
    closed as 'not a valid close date'. It is 30 days from today now; a date that is none is said in the dialog."""
    deal = gated_acme(db, "close,contact", U)
    app = TuikanbanApp(db, U, "Sales")
    async with app.run_test(size=SIZE) as pilot:
        await open_gate(pilot)
        _type(app, "gate-close", "someday")
        _type(app, "gate-contact", "Carl")
        await press(pilot, "ctrl+s")
        assert isinstance(app.screen, GateScreen)  # said in the dialog, which keeps both fields
        assert "'someday' is not a date" in str(app.screen.query_one("#gate-error").render())
        assert app.screen.query_one("#gate-contact", Input).value == "Carl"
        assert app.screen.focused is app.screen.query_one("#gate-close", Input)
        _type(app, "gate-close", "+30d")
        await press(pilot, "ctrl+s")
        await settle(pilot)
        assert app.screen is app.board_screen
    view = D.get_deal(db, deal)
    assert view.stage_name == "Proposal" and view.expected_close == date(2026, 4, 1) and view.contact == "Carl"


async def test_the_gate_dialog_focuses_the_field_it_says_is_empty(db: Database, fixed_now: str) -> None:
    create_pipeline(db, "Sales", "Lead,Proposal")
    set_gate(db, "Sales", "Proposal", require="company,contact")
    D.create_deal(db, "Sales", "Acme", user=U)
    app = TuikanbanApp(db, U, "Sales")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "L")
        _type(app, "gate-company", "Acme Inc")
        await press(pilot, "ctrl+s")
        assert "Contact is still empty." in str(app.screen.query_one("#gate-error").render())
        assert app.screen.focused is app.screen.query_one("#gate-contact", Input)


async def test_a_snooze_typed_while_another_rep_snoozed_the_deal_says_who_and_saves_on_enter_again(
        db: Database, fixed_now: str) -> None:
    """bob snoozes the deal while ann's snooze dialog is open. ann's enter used to answer 'it has been reloaded,
    check it and try again' every time, and nothing she typed could ever be saved. Now it names bob and his date,
    keeps her line, and her next enter snoozes it as she typed."""
    create_pipeline(db, "Sales", "Lead,Proposal")
    deal = D.create_deal(db, "Sales", "Acme", user=U).id
    app = TuikanbanApp(db, U, "Sales")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "z")
        assert isinstance(app.screen, AskScreen)
        _type(app, "ask-input", "+1w budget")
        snooze_deal(db, deal, "2026-03-16", user="bob", reason="holiday")
        await press(pilot, "enter")
        await settle(pilot)
        assert isinstance(app.screen, AskScreen)
        said = str(app.screen.query_one("#ask-error").render())
        assert "'Acme' was snoozed by bob" in said and "2026-03-16" in said and "enter again" in said
        assert app.screen.query_one("#ask-input", Input).value == "+1w budget"
        assert D.get_deal(db, deal).snoozed_until == date(2026, 3, 16)  # bob's, untouched so far
        await press(pilot, "enter")
        await settle(pilot)
        assert app.screen is app.board_screen
    assert D.get_deal(db, deal).snoozed_until == date(2026, 3, 9)


async def test_a_snooze_typed_while_another_rep_won_the_deal_says_it_cannot_be_snoozed(
        db: Database, fixed_now: str) -> None:
    create_pipeline(db, "Sales", "Lead,Proposal")
    deal = D.create_deal(db, "Sales", "Acme", user=U).id
    app = TuikanbanApp(db, U, "Sales")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "z")
        _type(app, "ask-input", "+1w budget")
        D.win_deal(db, deal, user="bob")
        await press(pilot, "enter")
        await settle(pilot)
        assert isinstance(app.screen, AskScreen)
        said = str(app.screen.query_one("#ask-error").render())
        assert "'Acme' was moved to Won by bob" in said and "cannot be snoozed" in said
    assert D.get_deal(db, deal).status == "won" and D.get_deal(db, deal).snoozed_until is None


def _piped(args: list[str], data: bytes) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(SRC), TUIKANBAN_USER=U)
    proc = subprocess.run([sys.executable, "-m", "tuikanban", *args], input=data, capture_output=True, env=env,
                          timeout=120)
    return subprocess.CompletedProcess(proc.args, proc.returncode, proc.stdout.decode(), proc.stderr.decode())


def test_an_import_piped_in_reads_every_row(db: Database, db_target: str) -> None:
    """`... | tuikanban import /dev/stdin`: the import read the start of the pipe to tell JSON from CSV, then found
    the rest and said 'The file is empty'. A CSV and a JSON export both arrive whole, and a bad pipe's sentence
    names /dev/stdin, not a temporary copy."""
    create_pipeline(db, "Sales", "Lead,Proposal")
    done = _piped(["import", "/dev/stdin", "-p", "Sales"], b"title,value\nAcme,12k\nGlobex,3k\n")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "Imported 2 deals into Sales (2 open, 0 won, 0 lost)."
    assert sorted(d.title for d in D.list_deals(db, "Sales")) == ["Acme", "Globex"]
    exported = subprocess.run([sys.executable, "-m", "tuikanban", "export", "-p", "Sales", "--format", "json"],
                              capture_output=True, env=dict(os.environ, PYTHONPATH=str(SRC)), timeout=120)
    assert exported.returncode == 0
    done = _piped(["import", "/dev/stdin", "-p", "Copy"], exported.stdout)
    assert done.returncode == 0, done.stderr
    assert sorted(d.title for d in D.list_deals(db, "Copy")) == ["Acme", "Globex"]
    bad = _piped(["import", "/dev/stdin", "-p", "Sales"], b"\xff\xfe")
    assert bad.returncode == 1 and bad.stdout == ""
    assert bad.stderr.startswith("/dev/stdin is not UTF-8 text (line 1);") and "Traceback" not in bad.stderr


async def test_an_outcome_typed_for_a_task_another_rep_finished_is_kept_on_the_deal(
        db: Database, fixed_now: str) -> None:
    """ann and bob both press `d` on the same task in Today. bob saves first; ann's save used to answer 'Task N is
    already done.' on every ctrl+s, so her outcome and next step could only be thrown away. Now the sentence says
    who finished it, and ctrl+s again keeps her outcome as a note and her next step as a task on the deal."""
    create_pipeline(db, "Sales", "Lead,Proposal")
    deal = D.create_deal(db, "Sales", "Acme", user=U).id
    task = add_task(db, deal, "Send the quote", "2026-03-02", user=U).id
    app = TuikanbanApp(db, U, "Sales")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "t")
        assert isinstance(app.screen, TodayScreen)
        await press(pilot, "d")
        assert isinstance(app.screen, TaskDoneScreen)
        _type(app, "td-note", "Quote sent by mail")
        _type(app, "td-next-due", "2026-03-05")
        _type(app, "td-next-text", "Call about the quote")
        complete_task(db, task, user="bob", note="Sent it")  # bob, meanwhile
        await press(pilot, "ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, TaskDoneScreen)
        said = str(app.screen.query_one("#td-error").render())
        assert "bob finished it a moment ago" in said and "ctrl+s saves your outcome" in said
        assert app.screen.query_one("#td-note", Input).value == "Quote sent by mail"
        await press(pilot, "ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, TodayScreen)
    notes = sorted((a.subject, a.user) for a in list_activities(db, deal) if a.kind == "note")
    assert notes == [("Quote sent by mail", U), ("Sent it", "bob")]
    assert [(t.text, t.due) for t in list_tasks(db, deal_id=deal)] == [("Call about the quote", date(2026, 3, 5))]
