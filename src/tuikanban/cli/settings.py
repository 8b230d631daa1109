"""Pipeline settings from the command line: what the board's settings screen (`,`) changes, for scripts.

`pipeline set`, `stage rename|move|archive` and `type rename` call the same services as the settings screen,
so a refusal (a duplicate name, a stage that still holds deals, a currency change under deals) is the same
sentence in both places.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from tuikanban.cli.common import cell, say, state
from tuikanban.cli.core import PipelineOpt, pipeline_app, stage_app, type_app
from tuikanban.domain.money import format_money


def _pipeline(ctx: typer.Context, explicit: str | None) -> str | None:
    return explicit if explicit is not None else state(ctx).pipeline


@pipeline_app.command("set")
def pipeline_set(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Argument(help="The pipeline to change (optional with one).")] = None,
    new_name: Annotated[str | None, typer.Option("--name", help="A new name.")] = None,
    currency: Annotated[str | None, typer.Option(
        "--currency", help="ISO currency code (only while no deal counts in the old one).")] = None,
    target: Annotated[str | None, typer.Option("--target", help="Revenue target; 'none' removes it.")] = None,
    stale_days: Annotated[int | None, typer.Option(
        "--stale-days", help="Days without activity before a deal is flagged.", min=1, max=3650)] = None,
    default: Annotated[bool | None, typer.Option("--default/--not-default", help="The default pipeline.")] = None,
    next_step_signal: Annotated[str | None, typer.Option(
        "--next-step-signal", metavar="on|off",
        help="Flag open deals that have no open follow-up task (no_next_step).")] = None,
) -> None:
    """Rename a pipeline or change its currency, target, stale days, default flag or next-step signal."""
    from tuikanban.domain.errors import ValidationError
    from tuikanban.services.pipelines import UNSET, update_pipeline

    signal: bool | None = None
    if next_step_signal is not None:
        signal = {"on": True, "off": False}.get(next_step_signal.strip().lower())
        if signal is None:
            raise ValidationError(f"--next-step-signal takes on or off, not '{next_step_signal}'.")
    settings: dict[str, Any] = {"name": new_name, "currency": currency, "stale_days": stale_days,
                                "make_default": default, "next_step_signal": signal}
    if target is not None:
        settings["target"] = None if target.strip().lower() == "none" else target
    else:
        settings["target"] = UNSET
    p = update_pipeline(state(ctx).db(), _pipeline(ctx, name), **settings)
    shown_target = format_money(p.target_minor, p.currency) if p.target_minor is not None else "none"
    default_note = ", the default" if p.is_default else ""
    signal_note = "on" if p.next_step_signal else "off"
    say("Pipeline ", cell(p.name), f": {p.currency}, target {shown_target}, stale after {p.stale_days} days"
        f"{default_note}, no_next_step signal {signal_note}.")


@stage_app.command("rename")
def stage_rename(ctx: typer.Context, stage: str, new_name: str, pipeline: PipelineOpt = None) -> None:
    """Rename a stage (its deals and history stay with it)."""
    from tuikanban.services.pipelines import rename_stage

    st = rename_stage(state(ctx).db(), _pipeline(ctx, pipeline), stage, new_name)
    say("Renamed the stage to ", cell(st.name), ".")


@stage_app.command("move")
def stage_move(
    ctx: typer.Context,
    stage: str,
    by: Annotated[int, typer.Option("--by", help="Places to move: negative is left, positive right.",
                                    min=-1000, max=1000)],
    pipeline: PipelineOpt = None,
) -> None:
    """Move a stage left or right among the columns."""
    from tuikanban.services.pipelines import move_stage

    stages = move_stage(state(ctx).db(), _pipeline(ctx, pipeline), stage, by)
    say("Stages: ", cell(", ".join(s.name for s in stages), 200), ".")


@stage_app.command("archive")
def stage_archive(ctx: typer.Context, stage: str, pipeline: PipelineOpt = None) -> None:
    """Archive an empty stage: it leaves the board, its history stays in the metrics."""
    from tuikanban.services.pipelines import archive_stage

    st = archive_stage(state(ctx).db(), _pipeline(ctx, pipeline), stage)
    say("Archived the stage ", cell(st.name), ".")


@type_app.command("rename")
def type_rename(ctx: typer.Context, dtype: Annotated[str, typer.Argument(metavar="TYPE")], new_name: str,
                pipeline: PipelineOpt = None) -> None:
    """Rename a deal type (its swimlane)."""
    from tuikanban.services.pipelines import rename_type

    t = rename_type(state(ctx).db(), _pipeline(ctx, pipeline), dtype, new_name)
    say("Renamed the deal type to ", cell(t.name), ".")
