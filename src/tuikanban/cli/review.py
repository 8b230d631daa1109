"""`tuikanban changes` and `tuikanban digest`: what changed in a pipeline between two moments (the weekly review).

`changes` run without --until, for yourself (no --owner, or --owner naming you) and without --no-mark records
"now" as your last review of the pipeline, which `--since last-review` reads next time. `digest` never records
one (it is meant for scheduled jobs); it records when it last ran, for `doctor`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import typer
from rich.text import Text

from tuikanban.cli.common import State, cell, emit_json, out, state, table
from tuikanban.cli.root import app
from tuikanban.domain import clock
from tuikanban.domain.metrics import plural
from tuikanban.domain.money import format_money
from tuikanban.domain.text import name_key

PipelineOpt = Annotated[str | None, typer.Option("--pipeline", "-p", help="Pipeline name (optional with one).")]
OwnerOpt = Annotated[str | None, typer.Option("--owner", help="Only deals owned by this person (at --until).")]
IdleOpt = Annotated[int, typer.Option("--idle-days", help="Open deals with no event or activity this long.")]

BUCKET_LABELS = {
    "created": ("+", "created"), "reopened": ("+", "reopened"), "pulled_in": ("+", "pulled in"),
    "increased": ("+", "value increased"), "decreased": ("-", "value decreased"), "won": ("-", "won"),
    "lost": ("-", "lost"), "deleted": ("-", "deleted"), "pushed_out": ("-", "pushed out"),
}


def _resolve_since(st: State, pipeline: str | None, since: str, now: datetime) -> datetime:
    from tuikanban.domain.periods import LAST_REVIEW, parse_when
    from tuikanban.services.reviews import last_review

    mark = last_review(st.db(), pipeline, st.user) if since.strip().lower() == LAST_REVIEW else None
    return parse_when(since, now=now, last_review=mark)


def build_report(st: State, pipeline: str | None, since: str, until: str | None, owner: str | None,
                 closing: str | None, idle_days: int) -> Any:
    from tuikanban.domain.periods import parse_period, parse_when
    from tuikanban.services.changes import compute_changes

    now = clock.now()
    start = _resolve_since(st, pipeline, since, now)
    end = parse_when(until, now=now, what="--until") if until else None
    period = parse_period(closing, today=(end or now).date()) if closing else None
    return compute_changes(st.db(), pipeline, since=start, until=end, owner=owner, closing=period,
                           idle_days=idle_days)


@app.command("changes")
def changes(
    ctx: typer.Context,
    since: Annotated[str, typer.Option("--since", help="From: a date, an ISO time, 7d, last-monday, last-review.")],
    until: Annotated[str | None, typer.Option("--until", help="To (default now); same forms as --since.")] = None,
    pipeline: PipelineOpt = None,
    owner: OwnerOpt = None,
    closing: Annotated[str | None, typer.Option(
        "--closing", help="Only deals expected to close in this period: this-quarter, 2027-Q1, 2027-03.")] = None,
    idle_days: IdleOpt = 14,
    no_mark: Annotated[bool, typer.Option("--no-mark", help="Do not record this as your last review.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
) -> None:
    """What changed: the pipeline-value bridge, moves, pushed close dates, new, idle and closing-soon deals."""
    from tuikanban.services.changes import changes_json
    from tuikanban.services.reviews import record_review

    st = state(ctx)
    pipe = pipeline if pipeline is not None else st.pipeline
    report = build_report(st, pipe, since, until, owner, closing, idle_days)
    if until is None and not no_mark and (owner is None or name_key(owner) == name_key(st.user)):
        record_review(st.db(), report.pipeline.id, st.user, report.until)
    if as_json:
        emit_json(changes_json(report))
        return
    for i, part in enumerate(render_changes(report)):
        if i:
            out.print()
        out.print(part)


def render_changes(r: Any) -> list[Any]:
    """The report as Rich renderables: the bridge, then one table per list."""
    def money(minor: int | None) -> str:
        return format_money(minor, r.currency)

    head = Text.assemble(Text(r.pipeline.name, style="bold"),
                         f": changes from {r.since:%Y-%m-%d %H:%M} to {r.until:%Y-%m-%d %H:%M} UTC")
    if r.owner:
        head.append(", owner ")
        head.append(cell(r.owner))
    if r.closing:
        head.append(f", closing {r.closing[0]:%Y-%m-%d} to {r.closing[1]:%Y-%m-%d}")
    parts: list[Any] = [head]
    t = table("Bridge", "Value", "Deals", title="Open value")
    t.add_row("open at the start", money(r.start_value_minor), "")
    for key, b in r.bridge.items():
        if b.deals or key not in ("pulled_in", "pushed_out", "deleted"):
            sign, label = BUCKET_LABELS[key]
            t.add_row(f"{sign} {label}", money(b.value_minor), _ids(b.deals))
    t.add_row(Text("open at the end", style="bold"), Text(money(r.end_value_minor), style="bold"), "")
    parts.append(t)
    lists = (
        ("New deals", r.new, ("Status", lambda x: x.detail["status"])),
        ("Moved", r.moved, ("Move", lambda x: f"{x.detail['from_stage']} → {x.detail['to_stage']} "
                                             f"({x.detail['direction']}, {plural(x.detail['moves'], 'move')})")),
        ("Close date pushed", r.pushed, ("Pushed", lambda x: f"{x.detail['pushes']}x: {_d(x.detail['close_before'])}"
                                                            f" → {_d(x.detail['close_after'])}")),
        (f"Idle {r.idle_days}+ days", r.idle, ("Idle", lambda x: "never touched" if x.detail["idle_days"] is None
                                               else f"{x.detail['idle_days']} days")),
        ("Closing in the next 30 days", r.closing_soon, ("Close", lambda x: _d(x.detail["expected_close"]))),
    )
    for title, rows, (what, fn) in lists:
        lt = table("Id", "Title", "Owner", "Stage", "Value", what, title=f"{title}: {len(rows)}")
        for x in rows:
            lt.add_row(str(x.id), cell(x.title, 40, one_line=True), cell(x.owner, 16), cell(x.stage, 24),
                       format_money(x.value_minor, r.currency), cell(fn(x), 80))
        parts.append(lt if rows else Text(f"{title}: none", style="dim"))
    return parts


@app.command("digest")
def digest(
    ctx: typer.Context,
    since: Annotated[str, typer.Option("--since", help="From: a date, an ISO time, 7d, last-monday.")] = "7d",
    pipeline: PipelineOpt = None,
    owner: OwnerOpt = None,
    idle_days: IdleOpt = 14,
    fmt: Annotated[str, typer.Option("--format", help="text, markdown or json.")] = "text",
) -> None:
    """The review in a form a scheduled job can mail (never recorded as anyone's last review)."""
    from tuikanban.domain.errors import ValidationError
    from tuikanban.services.changes import changes_json
    from tuikanban.services.runs import record_run

    kind = fmt.strip().lower()
    if kind not in ("text", "markdown", "json"):
        raise ValidationError(f"--format takes text, markdown or json, not '{fmt}'.")
    st = state(ctx)
    report = build_report(st, pipeline if pipeline is not None else st.pipeline, since, None, owner, None, idle_days)
    if kind == "json":
        emit_json(changes_json(report))
    elif kind == "markdown":
        out.print(Text(digest_markdown(report)), soft_wrap=True)
    else:
        for i, part in enumerate(render_changes(report)):
            if i:
                out.print()
            out.print(part)
    record_run(st.db(), "digest")  # for doctor (a read-only database is not marked)


_MD_SPECIAL = set("\\`*_[]<>#|!")  # user text never starts a line, so -, + and . stay plain


def _md(text: str) -> str:
    """User text made literal in Markdown (one line, special characters escaped)."""
    from tuikanban.domain.text import display

    return "".join("\\" + ch if ch in _MD_SPECIAL else ch for ch in display(text, max_length=120))


def digest_markdown(r: Any) -> str:
    def money(minor: int | None) -> str:
        return format_money(minor, r.currency)

    lines = [f"# {_md(r.pipeline.name)}: changes from {r.since:%Y-%m-%d %H:%M} to {r.until:%Y-%m-%d %H:%M} UTC",
             ""]
    if r.owner:
        lines += [f"Owner: {_md(r.owner)}", ""]
    lines += ["| | value | deals |", "|---|---:|---|", f"| open at the start | {money(r.start_value_minor)} | |"]
    for key, b in r.bridge.items():
        if b.deals or key not in ("pulled_in", "pushed_out", "deleted"):
            sign, label = BUCKET_LABELS[key]
            lines.append(f"| {sign} {label} | {money(b.value_minor)} | {_ids(b.deals)} |")
    lines += [f"| **open at the end** | **{money(r.end_value_minor)}** | |", ""]
    sections = (
        ("New deals", r.new, lambda x: x.detail["status"]),
        ("Moved", r.moved, lambda x: f"{_md(x.detail['from_stage'])} → {_md(x.detail['to_stage'])} "
                                     f"({x.detail['direction']})"),
        ("Close date pushed", r.pushed, lambda x: f"{plural(x.detail['pushes'], 'push', 'pushes')}, now "
                                                 f"{_d(x.detail['close_after'])}"),
        (f"Idle {r.idle_days}+ days", r.idle, lambda x: "never touched" if x.detail["idle_days"] is None
         else f"{x.detail['idle_days']} days"),
        ("Closing in the next 30 days", r.closing_soon, lambda x: _d(x.detail["expected_close"])),
    )
    for title, rows, fn in sections:
        lines.append(f"## {title}: {len(rows)}")
        lines += [f"- #{x.id} {_md(x.title)} ({_md(x.owner)}, {_md(x.stage)}, {money(x.value_minor)}): {fn(x)}"
                  for x in rows]
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _ids(ids: tuple[int, ...], limit: int = 12) -> str:
    shown = ", ".join(str(i) for i in ids[:limit])
    return shown + (f" … (+{len(ids) - limit})" if len(ids) > limit else "")


def _d(value: Any) -> str:
    return value.isoformat() if value is not None else "none"


__all__ = ["build_report", "changes", "digest", "digest_markdown", "render_changes"]
