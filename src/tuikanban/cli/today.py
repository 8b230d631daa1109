"""`tuikanban today`: the rep's day (overdue tasks, tasks due today, deals with no next step, stuck deals)."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.text import Text

from tuikanban.cli.common import cell, emit_json, fitted_table, out, say, state
from tuikanban.cli.root import app
from tuikanban.cli.tasks import AllOpt, OwnerOpt, owner_choice
from tuikanban.domain.aging import format_days
from tuikanban.domain.tasks import DUE_TODAY, NO_NEXT_STEP, OVERDUE, STALLED, TodayItem

_STYLE = {OVERDUE: "bold red", DUE_TODAY: "bold", NO_NEXT_STEP: "yellow", STALLED: "red", "aging": "yellow"}


def item_json(i: TodayItem) -> dict[str, Any]:
    doc: dict[str, Any] = {"kind": i.kind, "deal_id": i.deal_id, "title": i.title, "stage": i.stage,
                           "pipeline": i.pipeline, "owner": i.owner}
    if i.task_id is not None:
        doc.update(task_id=i.task_id, text=i.text, due=i.due.isoformat() if i.due else None,
                   days_overdue=i.days_overdue)
    if i.days_in_stage is not None:
        doc.update(days_in_stage=round(i.days_in_stage, 1), severity=round(i.severity, 2))
    return doc


def _what(i: TodayItem) -> Text:
    if i.kind == OVERDUE:
        label = f"overdue {i.days_overdue} d"
    elif i.kind == DUE_TODAY:
        label = "due today"
    elif i.kind == NO_NEXT_STEP:
        label = "no next step"
    else:
        label = f"{i.kind} {format_days(i.days_in_stage or 0.0)} d"
    return Text(label, style=_STYLE.get(i.kind, ""))


@app.command("today")
def today(
    ctx: typer.Context,
    owner: OwnerOpt = None,
    everyone: AllOpt = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
    limit: Annotated[int, typer.Option(
        "--limit", min=0, help="Deals of each kind in the table (0: all; tasks are all shown, JSON has all).")] = 50,
) -> None:
    """Your day: overdue tasks, tasks due today, deals with no next step, then stalled and aging deals."""
    from tuikanban.services.today import today_queue

    who = owner_choice(ctx, owner, everyone)
    queue = today_queue(state(ctx).db(), owner=who, limit=None if as_json or limit == 0 else limit)
    items = queue.items
    if as_json:
        emit_json({"owner": who, "items": [item_json(i) for i in items]})
        return
    if not items:
        say("Nothing due today" + (f" for {who}" if who else "") + ": no overdue task, every deal has a next step "
            "and none is stuck.")
        return
    rows = [[_what(i), str(i.deal_id), cell(i.title, 40, one_line=True), cell(i.stage, 20, one_line=True),
             cell(f"task {i.task_id}: {i.text}" if i.task_id is not None else "", 60, one_line=True),
             cell(i.owner, 16, one_line=True)]
            for i in items]
    out.print(fitted_table(["What", "Deal", "Title", "Stage", "Task", "Owner"], rows, optional=("Owner", "Stage")))
    cut = [f"{n - shown} more {kind.replace('_', ' ')}" for kind, n in queue.totals.items()
           if n > (shown := sum(1 for i in items if i.kind == kind))]
    if cut:
        out.print(Text(f"And {', '.join(cut)}; --limit 0 shows all.", style="dim"))
