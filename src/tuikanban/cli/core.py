"""Commands for pipelines, stages, deal types and deals (see docs/RULES.md, Command line)."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.text import Text

from tuikanban.cli import deals
from tuikanban.cli.common import cell, emit_json, out, say, state, table
from tuikanban.domain import clock
from tuikanban.domain.money import format_money, to_json_number
from tuikanban.domain.text import clean_text
from tuikanban.domain.wip import counter_text

pipeline_app = typer.Typer(help="Create and list pipelines.", no_args_is_help=True)
stage_app = typer.Typer(help="Add, configure and list the stages (columns) of a pipeline.", no_args_is_help=True)
type_app = typer.Typer(help="Deal types: one swimlane each.", no_args_is_help=True)
deal_app = typer.Typer(help="Add, edit, move, close and list deals.", no_args_is_help=True)

PipelineOpt = Annotated[str | None, typer.Option("--pipeline", "-p", help="Pipeline name (optional with one).")]
AtOpt = Annotated[str | None, typer.Option("--at", help="Record the change at this past time (ISO 8601).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]


def _pipeline(ctx: typer.Context, explicit: str | None) -> str | None:
    return explicit if explicit is not None else state(ctx).pipeline


# -- pipeline ---------------------------------------------------------------------------------------


@pipeline_app.command("create")
def pipeline_create(
    ctx: typer.Context,
    name: str,
    stages: Annotated[str, typer.Option("--stages", help='Comma-separated stage names, e.g. "Lead,Proposal".')],
    currency: Annotated[str, typer.Option("--currency", help="ISO currency code.")] = "USD",
    target: Annotated[str | None, typer.Option("--target", help="Revenue target, for the coverage ratio.")] = None,
    stale_days: Annotated[
        int, typer.Option("--stale-days", help="Days without activity before a deal is flagged.")
    ] = 10,
    types: Annotated[str | None, typer.Option("--types", help='Comma-separated deal types (swimlanes).')] = None,
    default: Annotated[bool, typer.Option("--default", help="Make it the default pipeline.")] = False,
) -> None:
    """Create a pipeline with its stages."""
    from tuikanban.services.pipelines import create_pipeline

    type_names = [t for t in (types or "").split(",") if t.strip()]
    p = create_pipeline(state(ctx).db(create=True), name, stages, currency=currency, target=target,
                        stale_days=stale_days,
                        types=type_names, make_default=default)
    say(f"Created pipeline {p.id}: ", cell(p.name))


@pipeline_app.command("list")
def pipeline_list(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """List pipelines."""
    from tuikanban.services.pipelines import list_pipelines, list_stages

    db = state(ctx).db()
    pipes = list_pipelines(db)
    if as_json:
        emit_json({"pipelines": [
            {"id": p.id, "name": p.name, "currency": p.currency, "target": to_json_number(p.target_minor, p.currency),
             "stale_days": p.stale_days, "default": p.is_default,
             "stages": [s.name for s in list_stages(db, p.id)]} for p in pipes]})
        return
    if not pipes:
        say("No pipelines yet. Create one: tuikanban pipeline create Sales --stages \"Lead,Qualified,Proposal\"")
        return
    t = table("Id", "Name", "Currency", "Target", "Stages")
    for p in pipes:
        t.add_row(str(p.id), cell(p.name + (" (default)" if p.is_default else "")), p.currency,
                  format_money(p.target_minor, p.currency) if p.target_minor is not None else "",
                  cell(", ".join(s.name for s in list_stages(db, p.id)), 80))
    out.print(t)


# -- stage ------------------------------------------------------------------------------------------


def _limit(value: int | None, clear: bool) -> Any:
    from tuikanban.services.pipelines import UNSET

    if clear:
        return None
    return UNSET if value is None else value


@stage_app.command("set")
def stage_set(
    ctx: typer.Context,
    stage: str,
    pipeline: PipelineOpt = None,
    wip_max: Annotated[int | None, typer.Option("--wip-max", help="Most open deals the stage may hold.")] = None,
    wip_min: Annotated[int | None, typer.Option("--wip-min", help="Fewest open deals it should hold.")] = None,
    rep_wip_max: Annotated[int | None, typer.Option("--rep-wip-max", help="Most open deals per owner.")] = None,
    expected_days: Annotated[int | None, typer.Option("--expected-days", help="Aging baseline in days.")] = None,
    probability: Annotated[int | None, typer.Option("--probability", help="Win probability 0-100.")] = None,
    exit_criteria: Annotated[str | None, typer.Option("--exit-criteria", help="Shown when a deal enters.")] = None,
    clear: Annotated[list[str] | None, typer.Option(
        "--clear", help="Remove a setting: wip-max, wip-min, rep-wip-max, expected-days.")] = None,
    require: Annotated[str | None, typer.Option(
        "--require", help="Fields a deal needs to enter: value,close,company,contact,owner,next_step (none clears).")]
    = None,
    checklist: Annotated[str | None, typer.Option(
        "--checklist", help='Exit-criteria checklist, items separated by ";" ("" clears).')] = None,
) -> None:
    """Set a stage's WIP limits, aging baseline, probability, exit criteria, gate and checklist."""
    from tuikanban.domain.errors import ValidationError
    from tuikanban.services.pipelines import UNSET, set_stage

    cleared = {c.strip().lower() for c in clear or []}
    bad = cleared - {"wip-max", "wip-min", "rep-wip-max", "expected-days"}
    if bad:
        raise ValidationError(f"--clear takes wip-max, wip-min, rep-wip-max or expected-days, not {', '.join(bad)}.")
    settings = {
        "wip_max": _limit(wip_max, "wip-max" in cleared),
        "wip_min": _limit(wip_min, "wip-min" in cleared),
        "rep_wip_max": _limit(rep_wip_max, "rep-wip-max" in cleared),
        "expected_days": _limit(expected_days, "expected-days" in cleared),
        "probability": UNSET if probability is None else probability,
        "exit_criteria": UNSET if exit_criteria is None else exit_criteria,
    }
    st = set_stage(state(ctx).db(), _pipeline(ctx, pipeline), stage, **settings)
    gate_note = _set_gate(ctx, pipeline, stage, require, checklist)
    parts = [
        f"WIP max {_none(st.wip_max)}", f"WIP min {_none(st.wip_min)}", f"per-rep max {_none(st.rep_wip_max)}",
        f"expected days {_none(st.expected_days)}", f"probability {st.probability}%",
    ]
    say("Stage ", cell(st.name), ": " + ", ".join(parts) + "." + gate_note)


def _set_gate(ctx: typer.Context, pipeline: str | None, stage: str, require: str | None,
              checklist: str | None) -> str:
    """Apply --require / --checklist; returns what the stage now requires and lists, for the confirmation."""
    if require is None and checklist is None:
        return ""
    from tuikanban.services.gates import set_gate

    g = set_gate(state(ctx).db(), _pipeline(ctx, pipeline), stage, require=require, checklist=checklist)
    return (f" Requires {', '.join(g.requires) or 'nothing'}; checklist: "
            f"{'; '.join(g.checklist) or 'none'}.")


@stage_app.command("add")
def stage_add(
    ctx: typer.Context,
    name: str,
    pipeline: PipelineOpt = None,
    position: Annotated[int | None, typer.Option("--position", help="1-based column position (default: last).")] = None,
    wip_max: Annotated[int | None, typer.Option("--wip-max")] = None,
    probability: Annotated[int | None, typer.Option("--probability")] = None,
) -> None:
    """Add a stage (a column)."""
    from tuikanban.services.pipelines import UNSET, add_stage

    st = add_stage(state(ctx).db(), _pipeline(ctx, pipeline), name,
                   position=None if position is None else position - 1,
                   wip_max=UNSET if wip_max is None else wip_max,
                   probability=UNSET if probability is None else probability)
    say("Added stage ", cell(st.name), f" at position {st.position + 1}.")


@stage_app.command("list")
def stage_list(ctx: typer.Context, pipeline: PipelineOpt = None, as_json: JsonOpt = False) -> None:
    """List the stages with their limits and live counts."""
    from tuikanban.domain.wip import wip_state
    from tuikanban.services.gates import stage_gates
    from tuikanban.services.pipelines import stage_rows

    p, rows = stage_rows(state(ctx).db(), _pipeline(ctx, pipeline))
    gates = stage_gates(state(ctx).db(), p.id)
    if as_json:
        emit_json({"pipeline": p.name, "stages": [
            {"name": r.stage.name, "position": r.stage.position + 1, "open_deals": r.open_deals,
             "open_value": to_json_number(r.open_value_minor, p.currency), "wip_max": r.stage.wip_max,
             "wip_min": r.stage.wip_min, "rep_wip_max": r.stage.rep_wip_max,
             "expected_days": r.stage.expected_days, "probability": r.stage.probability,
             "exit_criteria": r.stage.exit_criteria, "requires": list(gates[r.stage.id].requires),
             "checklist": list(gates[r.stage.id].checklist),
             "wip_state": wip_state(r.open_deals, r.stage.wip_max, r.stage.wip_min).value} for r in rows]})
        return
    gated = any(g.requires or g.checklist for g in gates.values())
    t = table("#", "Stage", "WIP", "Min", "Per rep", "Value", "Expected days", "Prob",
              *(("Requires", "Checklist") if gated else ()))
    styles = {"at_limit": "bold red", "over": "bold reverse red", "under": "yellow", "ok": ""}
    for r in rows:
        st = wip_state(r.open_deals, r.stage.wip_max, r.stage.wip_min)
        t.add_row(str(r.stage.position + 1), cell(r.stage.name),
                  typer_text(counter_text(r.open_deals, r.stage.wip_max), styles[st.value]),
                  _dash(r.stage.wip_min), _dash(r.stage.rep_wip_max), format_money(r.open_value_minor, p.currency),
                  _dash(r.stage.expected_days), f"{r.stage.probability}%",
                  *((", ".join(gates[r.stage.id].requires) or "-", cell("; ".join(gates[r.stage.id].checklist) or "-"))
                    if gated else ()))
    out.print(t)


def typer_text(value: str, style: str) -> Any:
    from rich.text import Text

    return Text(value, style=style)


def _dash(value: int | None) -> str:
    return "-" if value is None else str(value)


def _none(value: int | None) -> str:
    return "none" if value is None else str(value)


# -- type -------------------------------------------------------------------------------------------


@type_app.command("add")
def type_add(ctx: typer.Context, name: str, pipeline: PipelineOpt = None) -> None:
    """Add a deal type (a swimlane)."""
    from tuikanban.services.pipelines import add_type

    t = add_type(state(ctx).db(), _pipeline(ctx, pipeline), name)
    say("Added deal type ", cell(t.name), ".")


@type_app.command("list")
def type_list(ctx: typer.Context, pipeline: PipelineOpt = None, as_json: JsonOpt = False) -> None:
    """List deal types."""
    from tuikanban.services.pipelines import list_types

    types = list_types(state(ctx).db(), _pipeline(ctx, pipeline))
    if as_json:
        emit_json({"types": [{"id": t.id, "name": t.name, "archived": t.archived} for t in types]})
        return
    if not types:
        say("No deal types yet (one lane for all deals); add one with 'tuikanban type add NAME'.")
        return
    for t in types:
        out.print(Text.assemble(cell(t.name), " (archived)" if t.archived else ""))


# -- deal -------------------------------------------------------------------------------------------


@deal_app.command("add")
def deal_add(
    ctx: typer.Context,
    title: str,
    pipeline: PipelineOpt = None,
    stage: Annotated[str | None, typer.Option("--stage", help="Stage (default: the first).")] = None,
    value: Annotated[str | None, typer.Option("--value", help='Amount: 12500, "12,500.50", 12.5k, $1.2M.')] = None,
    currency: Annotated[str | None, typer.Option("--currency", help="Default: the pipeline's.")] = None,
    company: Annotated[str | None, typer.Option("--company")] = None,
    contact: Annotated[str | None, typer.Option("--contact")] = None,
    owner: Annotated[str | None, typer.Option("--owner", help="Default: you.")] = None,
    dtype: Annotated[str | None, typer.Option("--type", help="Deal type (swimlane).")] = None,
    close: Annotated[str | None, typer.Option("--close", help="Expected close date YYYY-MM-DD.")] = None,
    notes: Annotated[str | None, typer.Option("--notes")] = None,
    at: AtOpt = None,
    force: Annotated[bool, typer.Option("--force", help="Override a WIP limit (needs --reason).")] = False,
    reason: Annotated[str | None, typer.Option("--reason", help="Why the WIP limit is overridden.")] = None,
) -> None:
    """Add a deal; prints its id."""
    deals.add(state(ctx), title, _pipeline(ctx, pipeline), stage=stage, value=value, currency=currency,
              company=company, contact=contact, owner=owner, dtype=dtype, close=close, notes=notes, at=at,
              force=force, reason=reason)


@deal_app.command("move")
def deal_move(
    ctx: typer.Context,
    deal_id: Annotated[int, typer.Argument(metavar="ID")],
    stage: str,
    at: AtOpt = None,
    force: Annotated[bool, typer.Option("--force", help="Override a WIP limit (needs --reason).")] = False,
    reason: Annotated[str | None, typer.Option("--reason", help="Why the WIP limit is overridden.")] = None,
) -> None:
    """Move a deal to another stage; refused (exit 1) at a WIP limit unless forced."""
    deals.move(state(ctx), deal_id, stage, at=at, force=force, reason=reason)


@deal_app.command("edit")
def deal_edit(
    ctx: typer.Context,
    deal_id: Annotated[int, typer.Argument(metavar="ID")],
    title: Annotated[str | None, typer.Option("--title")] = None,
    value: Annotated[str | None, typer.Option("--value")] = None,
    company: Annotated[str | None, typer.Option("--company")] = None,
    contact: Annotated[str | None, typer.Option("--contact")] = None,
    owner: Annotated[str | None, typer.Option("--owner")] = None,
    dtype: Annotated[str | None, typer.Option("--type")] = None,
    close: Annotated[str | None, typer.Option("--close", help="YYYY-MM-DD, or '' to clear.")] = None,
    notes: Annotated[str | None, typer.Option("--notes")] = None,
    at: AtOpt = None,
) -> None:
    """Change a deal's fields; each change is logged as an event."""
    from tuikanban.domain.errors import ValidationError
    from tuikanban.services.deals import edit_deal

    changes = {k: v for k, v in {"title": title, "value": value, "company": company, "contact": contact,
                                 "owner": owner, "type": dtype, "close": close, "notes": notes}.items()
               if v is not None}
    if not changes:
        raise ValidationError("Nothing to change; give at least one option such as --value or --close.")
    st = state(ctx)
    _deal, changed = edit_deal(st.db(), deal_id, changes, user=st.user, at=at)
    say(f"Deal {deal_id}: " + (f"changed {', '.join(changed)}." if changed else "nothing changed."))


@deal_app.command("won")
def deal_won(ctx: typer.Context, deal_id: Annotated[int, typer.Argument(metavar="ID")], at: AtOpt = None) -> None:
    """Mark a deal won."""
    from tuikanban.services.deals import win_deal

    st = state(ctx)
    d = win_deal(st.db(), deal_id, user=st.user, at=at)
    value = f" ({format_money(d.value_minor, d.currency)})" if d.value_minor is not None else ""
    say(f"Deal {d.id} won: ", cell(d.title), f"{value}.")


@deal_app.command("lost")
def deal_lost(
    ctx: typer.Context,
    deal_id: Annotated[int, typer.Argument(metavar="ID")],
    reason: Annotated[str, typer.Option("--reason", help="Why it was lost.")],
    at: AtOpt = None,
) -> None:
    """Mark a deal lost with a reason."""
    from tuikanban.services.deals import lose_deal

    st = state(ctx)
    d = lose_deal(st.db(), deal_id, reason, user=st.user, at=at)
    say(f"Deal {d.id} lost: ", cell(d.title), " (", cell(d.lost_reason), ").")


@deal_app.command("reopen")
def deal_reopen(
    ctx: typer.Context,
    deal_id: Annotated[int, typer.Argument(metavar="ID")],
    stage: str,
    at: AtOpt = None,
    force: Annotated[bool, typer.Option("--force")] = False,
    reason: Annotated[str | None, typer.Option("--reason")] = None,
) -> None:
    """Reopen a won or lost deal into a stage (subject to WIP limits)."""
    from tuikanban.services.deals import reopen_deal

    st = state(ctx)
    d = reopen_deal(st.db(), deal_id, stage, user=st.user, at=at, force_reason=deals.force_reason(force, reason))
    say(f"Deal {d.id} reopened in ", cell(d.stage_name), ".")


@deal_app.command("list")
def deal_list(
    ctx: typer.Context,
    pipeline: PipelineOpt = None,
    status: Annotated[str, typer.Option("--status", help="open, won, lost or all.")] = "open",
    owner: Annotated[str | None, typer.Option("--owner", help="Only this owner's deals.")] = None,
    stage: Annotated[str | None, typer.Option("--stage", help="Only deals in this stage.")] = None,
    dtype: Annotated[str | None, typer.Option("--type", help="Only this deal type.")] = None,
    closing_within: Annotated[int | None, typer.Option(
        "--closing-within", help="Expected to close within DAYS from today.", metavar="DAYS")] = None,
    idle_days: Annotated[int | None, typer.Option(
        "--idle-days", help="No event or activity for N days.", metavar="N")] = None,
    created_since: Annotated[str | None, typer.Option(
        "--created-since", help="Created since WHEN: a date, an ISO time, 7d, last-monday.", metavar="WHEN")] = None,
    sort: Annotated[str, typer.Option("--sort", help="value, close, age or created (default: board order).")]
    = "board",
    limit: Annotated[int | None, typer.Option("--limit", help="At most this many deals.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """List deals, filtered and sorted for a review."""
    deals.list_(state(ctx), _pipeline(ctx, pipeline), status, as_json, review={
        "owner": owner, "stage": stage, "dtype": dtype, "closing_within": closing_within, "idle_days": idle_days,
        "created_since": created_since, "sort": sort, "limit": limit})


def _event_value(field: str | None, raw: str | None, currency: str, type_names: dict[int, str]) -> Any:
    """An edit event's old or new value as people read it: money in major units, deal types by name."""
    if raw is None or raw == "":
        return None
    if field == "value":
        try:
            return to_json_number(int(raw), currency)
        except ValueError:
            return raw
    if field == "type":
        try:
            return type_names.get(int(raw), raw)
        except ValueError:
            return raw
    return raw


def _event_text(e: Any, currency: str, type_names: dict[int, str]) -> str:
    """One line of a deal's history."""
    if e.kind == "create":
        return f"created in {e.to_stage}" if e.to_stage else "created"
    if e.kind == "move":
        forced = " (past the WIP limit)" if e.reason else ""
        return f"moved {e.from_stage} → {e.to_stage}{forced}"
    if e.kind == "reorder":
        return f"reordered {e.new_value}" if e.new_value else "reordered"
    if e.kind == "won":
        return f"won in {e.from_stage}" if e.from_stage else "won"
    if e.kind == "lost":
        return f"lost in {e.from_stage}: {e.reason}" if e.from_stage else f"lost: {e.reason}"
    if e.kind == "reopen":
        return f"reopened in {e.to_stage}" if e.to_stage else "reopened"
    if e.kind == "wip_override":
        return f"WIP limit of {e.to_stage} overridden: {e.reason}"
    if e.kind == "gate_override":
        missing = f" (missing {e.new_value.replace(',', ', ')})" if e.new_value else ""
        return f"stage gate of {e.to_stage} overridden{missing}: {e.reason}"
    if e.kind == "check":
        return f"ticked {e.new_value}" if e.new_value else f"unticked {e.old_value}"
    if e.kind == "undo":
        return f"undo: back in {e.to_stage}" if e.to_stage else "undo"
    if e.kind == "task":
        return f"task done: {e.reason}" if e.field == "task_done" else f"task moved to {e.new_value}: {e.reason}"
    if e.kind == "snoozed":
        return f"snoozed until {e.new_value}" + (f": {e.reason}" if e.reason else "")
    if e.kind == "edit":
        if e.field == "notes":
            return "notes changed"

        def show(raw: str | None) -> str:
            if raw is None or raw == "":
                return "(none)"
            if e.field == "value":
                try:
                    return format_money(int(raw), currency)
                except ValueError:
                    return raw
            value = _event_value(e.field, raw, currency, type_names)
            return str(value)

        return f"{e.field}: {show(e.old_value)} → {show(e.new_value)}"
    return f"{e.kind}: {e.reason}" if e.reason else str(e.kind)


@deal_app.command("show")
def deal_show(
    ctx: typer.Context, deal_id: Annotated[int, typer.Argument(metavar="ID")], as_json: JsonOpt = False
) -> None:
    """Show one deal with its history."""
    from rich.table import Table

    from tuikanban.services.deals import deal_history, get_deal, list_activities
    from tuikanban.services.gates import deal_gate, gate_json
    from tuikanban.services.pipelines import list_types

    db = state(ctx).db()
    d = get_deal(db, deal_id)
    history = deal_history(db, deal_id)
    logged = list_activities(db, deal_id)
    tasks = sorted((a for a in logged if a.kind == "task"), key=lambda a: (a.due or a.at.date(), a.id))
    type_names = {t.id: t.name for t in list_types(db, d.pipeline_id)}
    gate = deal_gate(db, deal_id)
    if as_json:
        doc = deals.deal_json(d, clock.now())
        doc["notes"] = d.notes
        doc["gate"] = gate_json(gate)
        doc["events"] = [{"kind": e.kind, "at": e.at.isoformat(), "user": e.user, "from": e.from_stage,
                          "to": e.to_stage, "field": e.field,
                          # a move's old_value is the card's previous rank (for undo), not a user-facing value
                          "old": None if e.kind == "move" else _event_value(e.field, e.old_value, d.currency,
                                                                             type_names),
                          "new": None if e.kind == "move" else _event_value(e.field, e.new_value, d.currency,
                                                                             type_names),
                          "reason": e.reason} for e in history]
        doc["activities"] = [{"kind": a.kind, "text": a.subject, "at": a.at.isoformat(), "user": a.user}
                             for a in logged if a.kind != "task"]
        doc["tasks"] = [{"id": a.id, "text": a.subject, "due": a.due.isoformat() if a.due else None,
                         "done": a.done} for a in tasks]
        emit_json(doc)
        return
    say(f"Deal {d.id}: ", cell(d.title, 200))
    facts = Table.grid(padding=(0, 2))
    facts.add_column(style="bold")
    facts.add_column()
    if d.status == "open":
        since = d.stage_entered_at.strftime("%Y-%m-%d")
        facts.add_row("Status", Text.assemble("open, in ", cell(d.stage_name), f" since {since}"))
    else:
        closed = f" on {d.closed_at:%Y-%m-%d}" if d.closed_at else ""
        facts.add_row("Status", Text.assemble(f"{d.status}{closed} in ", cell(d.stage_name)))
    if d.lost_reason:
        facts.add_row("Lost reason", cell(d.lost_reason, 200))
    facts.add_row("Value", format_money(d.value_minor, d.currency))
    for label, value in (("Owner", d.owner), ("Company", d.company), ("Contact", d.contact),
                         ("Type", d.type_name)):
        if value:
            facts.add_row(label, cell(value))
    if d.expected_close:
        facts.add_row("Expected close", d.expected_close.isoformat())
    if d.notes:
        facts.add_row("Notes", Text(clean_text(d.notes, multiline=True).strip()))
    if gate.requires:
        facts.add_row("Gate", Text(f"{gate.stage} requires {', '.join(gate.requires)}; "
                                   + (f"missing {', '.join(gate.missing)}" if gate.missing else "all present")))
    for item, done in gate.checklist:
        facts.add_row("Checklist", Text.assemble("[x] " if done else "[ ] ", cell(item, 200)))
    out.print(facts)
    t = table("When", "Who", "What", title="History")
    for e in history:
        t.add_row(e.at.strftime("%Y-%m-%d %H:%M"), cell(e.user, one_line=True),
                  cell(_event_text(e, d.currency, type_names), 120))
    out.print(t)
    _show_activities(logged, tasks)


def _show_activities(logged: list[Any], tasks: list[Any]) -> None:
    """A deal's open tasks (its next step first) and its logged calls, emails, meetings and notes."""
    from tuikanban.cli.tasks import due_text

    open_tasks = [a for a in tasks if not a.done]
    if open_tasks:
        t = table("Id", "Due", "Task", title="Open tasks")
        for a in open_tasks:
            t.add_row(str(a.id), due_text(a.due), cell(a.subject, 120))
        out.print(t)
    done = [a for a in logged if a.kind != "task"]
    if done:
        t = table("When", "Who", "Kind", "Text", title="Activities")
        for a in done:
            t.add_row(a.at.strftime("%Y-%m-%d %H:%M"), cell(a.user, one_line=True), a.kind, cell(a.subject, 120))
        out.print(t)


@deal_app.command("check")
def deal_check(
    ctx: typer.Context,
    deal_id: Annotated[int, typer.Argument(metavar="ID")],
    item: Annotated[str, typer.Argument(help="The checklist item (its text or number).")],
    undo: Annotated[bool, typer.Option("--undo", help="Untick the item.")] = False,
    at: AtOpt = None,
) -> None:
    """Tick (or --undo untick) an exit-criteria item of the deal's current stage."""
    from tuikanban.services.gates import tick

    st = state(ctx)
    name, changed = tick(st.db(), deal_id, item, user=st.user, undo=undo, at=at)
    verb = "unticked" if undo else "ticked"
    say(f"Deal {deal_id}: ", cell(name), f" {verb}." if changed else f" was already {verb}.")
