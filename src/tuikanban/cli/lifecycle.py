"""Snooze, wake, delete and restore deals; archive and merge deal types (issue 14)."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from tuikanban.cli.common import cell, say, state
from tuikanban.cli.core import PipelineOpt, _pipeline, deal_app, type_app
from tuikanban.domain.dates import HELP as DATE_HELP
from tuikanban.domain.errors import ValidationError

IdArg = Annotated[int, typer.Argument(metavar="ID")]


@deal_app.command("snooze")
def deal_snooze(
    ctx: typer.Context,
    deal_id: IdArg,
    until: Annotated[str, typer.Option("--until", help=f"Back on this date: {DATE_HELP}.")],
    reason: Annotated[str | None, typer.Option("--reason", help="Why it waits (logged).")] = None,
) -> None:
    """Take an open deal off the board, the aging list and the Today queue until a date."""
    from tuikanban.services.lifecycle import snooze_deal

    st = state(ctx)
    d = snooze_deal(st.db(), deal_id, until, user=st.user, reason=reason)
    say(f"Deal {d.id} is snoozed until {d.snoozed_until.isoformat() if d.snoozed_until else '?'}: ", cell(d.title),
        ".")


@deal_app.command("wake")
def deal_wake(ctx: typer.Context, deal_id: IdArg) -> None:
    """Bring a snoozed deal back now."""
    from tuikanban.services.lifecycle import wake_deal

    st = state(ctx)
    d = wake_deal(st.db(), deal_id, user=st.user)
    say(f"Deal {d.id} is back: ", cell(d.title), ".")


@deal_app.command("delete")
def deal_delete(
    ctx: typer.Context,
    deal_id: IdArg,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask.")] = False,
) -> None:
    """Delete a deal made by mistake (left out of every list and metric; 'deal restore' brings it back)."""
    from tuikanban.services.deals import get_deal
    from tuikanban.services.lifecycle import delete_deal

    st = state(ctx)
    db = st.db()
    if not yes:
        if not sys.stdin.isatty():
            raise ValidationError("Deleting needs a confirmation: run it on a terminal, or add --yes.")
        d = get_deal(db, deal_id)
        if not typer.confirm(f"Delete deal {d.id} '{d.title}' ({d.status})?", default=False):
            raise typer.Abort()
    d = delete_deal(db, deal_id, user=st.user)
    say(f"Deleted deal {d.id}: ", cell(d.title), f". Bring it back with 'tuikanban deal restore {d.id}'.")


@deal_app.command("restore")
def deal_restore(ctx: typer.Context, deal_id: IdArg) -> None:
    """Bring a deleted deal back with the status it had."""
    from tuikanban.services.lifecycle import restore_deal

    st = state(ctx)
    d = restore_deal(st.db(), deal_id, user=st.user)
    say(f"Restored deal {d.id}: ", cell(d.title), f" ({d.status}, in ", cell(d.stage_name), ").")


@type_app.command("archive")
def type_archive(ctx: typer.Context, name: str, pipeline: PipelineOpt = None) -> None:
    """Archive a deal type: no longer offered and no swimlane; closed deals keep it."""
    from tuikanban.services.dealtypes import set_type_archived

    t = set_type_archived(state(ctx).db(), _pipeline(ctx, pipeline), name, True)
    say("Archived deal type ", cell(t.name), ".")


@type_app.command("unarchive")
def type_unarchive(ctx: typer.Context, name: str, pipeline: PipelineOpt = None) -> None:
    """Offer an archived deal type again."""
    from tuikanban.services.dealtypes import set_type_archived

    t = set_type_archived(state(ctx).db(), _pipeline(ctx, pipeline), name, False)
    say("Deal type ", cell(t.name), " is offered again.")


@type_app.command("merge")
def type_merge(ctx: typer.Context, source: Annotated[str, typer.Argument(metavar="FROM")],
               target: Annotated[str, typer.Argument(metavar="INTO")], pipeline: PipelineOpt = None) -> None:
    """Give every deal of type FROM the type INTO (each change logged) and archive FROM."""
    from tuikanban.services.dealtypes import merge_types

    st = state(ctx)
    t, n = merge_types(st.db(), _pipeline(ctx, pipeline), source, target, user=st.user)
    say("Merged into ", cell(t.name), f": {n} deal{'s' if n != 1 else ''} changed type.")
