"""Logging and follow-up tasks: `deal log`, `deal task`, `task list|done|snooze`, and `pipeline set` (issue 14).

Dates take the shortcuts of `tuikanban.domain.dates` (`+3d`, `mon`, `eow`, `eom`, YYYY-MM-DD).
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.text import Text

from tuikanban.cli.common import cell, emit_json, fitted_table, out, say, state
from tuikanban.cli.core import JsonOpt, deal_app
from tuikanban.cli.root import app
from tuikanban.domain import clock
from tuikanban.domain.dates import HELP as DATE_HELP
from tuikanban.domain.errors import ValidationError
from tuikanban.domain.records import ActivityView
from tuikanban.domain.tasks import StepState, TaskView, step_state

task_app = typer.Typer(help="Follow-up tasks: list, finish with an outcome, snooze.", no_args_is_help=True)
app.add_typer(task_app, name="task")

IdArg = Annotated[int, typer.Argument(metavar="ID")]
NextOpt = Annotated[tuple[str, str] | None, typer.Option(
    "--next", metavar="DATE TEXT", help=f"Also set the next step: a date ({DATE_HELP}) and its text.")]
OwnerOpt = Annotated[str | None, typer.Option("--owner", help="Another rep's (default: yours).")]
AllOpt = Annotated[bool, typer.Option("--all", help="Everyone's.")]


def owner_choice(ctx: typer.Context, owner: str | None, everyone: bool) -> str | None:
    """The owner a personal list is for: --owner, none with --all, else the current user."""
    if owner is not None and everyone:
        raise ValidationError("Give --owner NAME or --all, not both.")
    if everyone:
        return None
    return owner.strip() if owner is not None else state(ctx).user


def _split(step: tuple[str, str] | None) -> tuple[str | None, str | None]:
    return (step[0], step[1]) if step is not None else (None, None)


def _say_next(task: ActivityView | None) -> None:
    if task is not None and task.due is not None:
        say(f"Next step (task {task.id}) due {task.due.isoformat()}: ", cell(task.subject, 200))


@deal_app.command("log")
def deal_log(
    ctx: typer.Context,
    deal_id: IdArg,
    kind: Annotated[str, typer.Argument(metavar="call|email|meeting|note")],
    text: str,
    step: NextOpt = None,
) -> None:
    """Log a call, email, meeting or note on a deal (and its next step, in the same transaction)."""
    from tuikanban.services.tasks import log_activity

    st = state(ctx)
    next_due, next_text = _split(step)
    logged, task = log_activity(st.db(), deal_id, kind.strip().lower(), text, user=st.user, next_due=next_due,
                                next_text=next_text)
    say(f"Logged {logged.kind} {logged.id} on deal {deal_id}.")
    _say_next(task)


@deal_app.command("task")
def deal_task(
    ctx: typer.Context,
    deal_id: IdArg,
    text: str,
    due: Annotated[str, typer.Option("--due", help=f"When: {DATE_HELP}.")],
) -> None:
    """Add a follow-up task (a next step) to a deal."""
    from tuikanban.services.tasks import add_task

    st = state(ctx)
    task = add_task(st.db(), deal_id, text, due, user=st.user)
    say(f"Added task {task.id} to deal {deal_id}, due {task.due.isoformat() if task.due else '?'}.")


def task_json(t: TaskView) -> dict[str, Any]:
    state_ = step_state(t.due, clock.today()) if t.due is not None and not t.done else None
    return {"id": t.id, "deal_id": t.deal_id, "title": t.deal_title, "stage": t.stage, "pipeline": t.pipeline,
            "owner": t.owner, "text": t.text, "due": t.due.isoformat() if t.due else None, "done": t.done,
            "state": state_.value if state_ else None,
            "snoozed_until": t.snoozed_until.isoformat() if t.snoozed_until else None}


def due_text(due: Any) -> Text:
    """A due date as a rep reads it: `3 d overdue` in red, `today` in bold, else the date."""
    if due is None:
        return Text("")
    today = clock.today()
    st = step_state(due, today)
    if st is StepState.OVERDUE:
        return Text(f"{(today - due).days} d overdue", style="bold red")
    if st is StepState.DUE_TODAY:
        return Text("today", style="bold")
    return Text(due.isoformat())


@task_app.command("list")
def task_list(
    ctx: typer.Context,
    owner: OwnerOpt = None,
    everyone: AllOpt = False,
    include_snoozed: Annotated[bool, typer.Option(
        "--include-snoozed", help="Also the tasks of snoozed deals, marked with the date the deal comes back.",
    )] = False,
    as_json: JsonOpt = False,
) -> None:
    """Open tasks of open deals, earliest due first (yours unless --owner or --all). Snoozed deals' tasks are
    left out until the deal comes back, as on the board and in `today`, unless --include-snoozed."""
    from tuikanban.services.tasks import list_tasks

    who = owner_choice(ctx, owner, everyone)
    # the snoozed deals' tasks are read either way: the table says how many it leaves out
    every = list_tasks(state(ctx).db(), owner=who, include_snoozed=True)
    tasks = every if include_snoozed else [t for t in every if t.snoozed_until is None]
    if as_json:
        emit_json({"owner": who, "tasks": [task_json(t) for t in tasks]})
        return
    hidden = len(every) - len(tasks)
    if not tasks:
        say("No open tasks" + (" of " if who else "") + (who or "") + "." + _hidden_note(hidden))
        return
    rows = [[str(t.id), due_text(t.due), cell(t.text, 60, one_line=True), str(t.deal_id),
             _title(t), cell(t.stage, one_line=True), cell(t.owner, 16, one_line=True)]
            for t in tasks]
    out.print(fitted_table(["Id", "Due", "Task", "Deal", "Title", "Stage", "Owner"], rows,
                           optional=("Owner", "Stage")))
    if hidden:
        say(_hidden_note(hidden).strip())


def _title(t: TaskView) -> Text:
    """The deal's title, marked `(snoozed until DATE)` when the deal is snoozed."""
    title = cell(t.deal_title, 40, one_line=True)
    if t.snoozed_until is not None:
        title.append(f" (snoozed until {t.snoozed_until.isoformat()})", style="dim")
    return title


def _hidden_note(hidden: int) -> str:
    if not hidden:
        return ""
    tasks = "task" if hidden == 1 else "tasks"
    return f" {hidden} {tasks} of snoozed deals left out (--include-snoozed lists them)."


@task_app.command("done")
def task_done(
    ctx: typer.Context,
    task_id: IdArg,
    note: Annotated[str | None, typer.Option("--note", help="The outcome, logged as a note on the deal.")] = None,
    step: NextOpt = None,
) -> None:
    """Mark a task done, with an outcome note and the next step, in one transaction."""
    from tuikanban.services.tasks import complete_task

    st = state(ctx)
    next_due, next_text = _split(step)
    done, task = complete_task(st.db(), task_id, user=st.user, note=note, next_due=next_due, next_text=next_text)
    say(f"Task {done.id} on deal {done.deal_id} is done.")
    _say_next(task)


@task_app.command("snooze")
def task_snooze(
    ctx: typer.Context,
    task_id: IdArg,
    until: Annotated[str, typer.Option("--until", help=f"The new due date: {DATE_HELP}.")],
) -> None:
    """Move an open task to a later due date."""
    from tuikanban.services.tasks import snooze_task

    st = state(ctx)
    task = snooze_task(st.db(), task_id, until, user=st.user)
    say(f"Task {task.id} is now due {task.due.isoformat() if task.due else '?'}.")


__all__ = ["due_text", "owner_choice", "task_app"]
