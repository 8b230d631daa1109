"""`tuikanban aging`: open deals by severity (days in stage over the stage's baseline), with risk signals."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.text import Text

from tuikanban.cli import app
from tuikanban.cli.common import cell, emit_json, fitted_table, out, say, state
from tuikanban.domain import clock
from tuikanban.domain.aging import SIGNAL_LEGEND, SIGNALS, AgingItem, Level, format_days, signal_meaning
from tuikanban.domain.money import format_money, to_json_number

DEFAULT_LIMIT = 100
_LEVEL_STYLE = {Level.OK: "", Level.AGING: "yellow", Level.STALLED: "bold red"}


def aging_json(item: AgingItem) -> dict[str, Any]:
    return {
        "id": item.id,
        "title": item.title,
        "stage": item.stage,
        "days_in_stage": round(item.days_in_stage, 1),
        "baseline_days": round(item.baseline_days, 2),
        "baseline_source": item.baseline_source.value,
        "level": item.level.value,
        "signals": list(item.signals),
        "severity": round(item.severity, 2),
        "owner": item.owner,
        "type": item.type_name,
        "company": item.company,
        "value": to_json_number(item.value_minor, item.currency),
        "currency": item.currency,
        "days_since_activity": None if item.days_since_touch is None else round(item.days_since_touch, 1),
    }


@app.command("aging")
def aging(
    ctx: typer.Context,
    pipeline: Annotated[str | None, typer.Option("--pipeline", "-p", help="Pipeline name (optional with one).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
    flagged: Annotated[
        bool, typer.Option("--flagged", help="Only deals that are aging, stalled or carry a risk signal.")
    ] = False,
    limit: Annotated[
        int, typer.Option("--limit", min=0, help="Rows in the table, most severe first (0: all; JSON has all).")
    ] = DEFAULT_LIMIT,
) -> None:
    """Open deals sorted by severity: days in stage against the stage's baseline, and risk signals."""
    from tuikanban.services.aging import aging_snapshot

    snap = aging_snapshot(state(ctx).db(), pipeline if pipeline is not None else state(ctx).pipeline)
    items = snap.flagged if flagged else snap.items
    if as_json:
        emit_json({
            "pipeline": snap.pipeline_name,
            "as_of": clock.now().isoformat(),
            "stale_days": snap.stale_days,
            "stages": [{"name": st.name, "baseline_days": round(st.baseline.baseline_days, 2),
                        "baseline_source": st.baseline.source.value, "sample_size": st.baseline.sample_size}
                       for st in snap.stages],
            "deals": [aging_json(i) for i in items],
        })
        return
    if not items:
        say("No open deals" + (" need attention" if flagged else "") + " in ", cell(snap.pipeline_name), ".")
        return
    shown = items if limit == 0 else items[:limit]
    rows = [
        [str(i.id), cell(i.title, 40), cell(i.stage, 20), format_days(i.days_in_stage),
         format_days(i.baseline_days) + _source_mark(i), Text(i.level.value, style=_LEVEL_STYLE[i.level]),
         Text("\n".join(i.signals), style="yellow"), cell(i.owner, 16),
         format_money(i.value_minor, i.currency) if i.value_minor is not None else ""]
        for i in shown
    ]
    t = fitted_table(["Id", "Title", "Stage", "Days", "Baseline", "Level", "Signals", "Owner", "Value"], rows,
                     optional=("Value", "Owner"), title=Text.assemble("Aging: ", cell(snap.pipeline_name, 80)))
    out.print(t)
    if len(shown) < len(items):
        out.print(Text(f"The {len(shown)} most severe of {len(items)} deals; --limit 0 shows all.", style="dim"))
    used = [s for s in SIGNALS if any(s in i.signals for i in shown)]
    notes = ["Baseline: * history (180-day average), ~ default 7 days, plain = the stage's expected days."]
    notes += [f"{s}: {signal_meaning(s, snap.stale_days)} ({SIGNAL_LEGEND[s][0]})." for s in used]
    for note in notes:
        out.print(Text(note, style="dim"))


def _source_mark(item: AgingItem) -> str:
    return {"history": "*", "default": "~"}.get(item.baseline_source.value, "")
