"""What `tuikanban aging` prints, without Typer: the Typer command (`cli/aging.py`) and the fast path
(`cli/fast.py`) both call `report`, so the two paths print the same bytes.

The report is read without the ORM when the database allows it (`store.fastread.connect_target`: a file or a
PostgreSQL database of the known schema), and through the ORM otherwise (a missing, older or foreign database gets
the ORM path's own sentence); `services.aging` computes it the same way on both.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text

from tuikanban.cli.common import State, cell, emit_json, fitted_table, out, say
from tuikanban.domain import clock
from tuikanban.domain.aging import (
    HISTORY_WINDOW_DAYS,
    MIN_HISTORY_BASELINE_DAYS,
    SIGNAL_LEGEND,
    SIGNALS,
    AgingItem,
    AgingSnapshot,
    Level,
    StageAging,
    format_days,
    signal_meaning,
)
from tuikanban.domain.metrics import format_duration, plural
from tuikanban.domain.money import format_money, to_json_number
from tuikanban.domain.text import display

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


def _snapshot(st: State, pipeline: str | None) -> AgingSnapshot:
    """The report, read in one snapshot on a connection of its own when the database allows it, else through the
    ORM database (`State.read_plain`)."""
    from tuikanban.services.aging import snapshot_in

    snap = st.read_plain(lambda u: snapshot_in(u, pipeline))
    if snap is not None:
        return snap
    from tuikanban.services.aging import aging_snapshot

    return aging_snapshot(st.db(), pipeline)


def report(st: State, pipeline: str | None, as_json: bool, flagged: bool, limit: int) -> None:
    """`aging`: open deals by severity, as a table with notes or as one JSON document."""
    snap = _snapshot(st, pipeline)
    items = snap.flagged if flagged else snap.items
    if as_json:
        emit_json({
            "pipeline": snap.pipeline_name,
            "as_of": clock.now().isoformat(),
            "stale_days": snap.stale_days,
            "stages": [_stage_json(stage) for stage in snap.stages],
            "deals": [aging_json(i) for i in items],
        })
        return
    if not items:
        say("No open deals" + (" need attention" if flagged else "") + " in ", cell(snap.pipeline_name), ".")
        return
    shown = items if limit == 0 else items[:limit]
    rows = [
        [str(i.id), cell(i.title, 40), cell(i.stage, 20), _duration(i.days_in_stage),
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
    notes = [f"Baseline in days: * history (180-day average, at least {plural(round(MIN_HISTORY_BASELINE_DAYS), 'day')}"
             "), ~ default 7 days, plain = the stage's expected days."]
    shown_stages = {i.stage_id for i in shown}
    for stage in snap.stages:
        b = stage.baseline
        if stage.id in shown_stages and b.learned_days is not None:
            notes.append(f"{display(stage.name)}: its {plural(b.sample_size, 'stay')} that ended in the last "
                         f"{HISTORY_WINDOW_DAYS} days averaged {format_duration(b.learned_days)}, so its baseline "
                         f"is the {format_days(b.baseline_days)}-day floor.")
    notes += [f"{s}: {signal_meaning(s, snap.stale_days)} ({SIGNAL_LEGEND[s][0]})." for s in used]
    for note in notes:
        out.print(Text(note, style="dim"))


def _stage_json(st: StageAging) -> dict[str, Any]:
    b = st.baseline
    learned = b.learned_days if b.learned_days is not None else (
        b.baseline_days if b.source.value == "history" else None)
    return {"name": st.name, "baseline_days": round(b.baseline_days, 2), "baseline_source": b.source.value,
            "sample_size": b.sample_size,
            # the history's own average (6 decimals) and whether the 1-day floor raised it
            "history_avg_days": None if learned is None else round(learned, 6), "floored": b.floored}


def _duration(days: float) -> str:
    """The Days column: days as the baseline reads them ("12.3"); under a day in hours or minutes, with the unit
    ("5.2 h", "42 min")."""
    return format_days(days) if days >= 1 else format_duration(days)


def _source_mark(item: AgingItem) -> str:
    return {"history": "*", "default": "~"}.get(item.baseline_source.value, "")
