"""`tuikanban changes` and `tuikanban digest`: what changed in a pipeline between two moments (the weekly review).

`changes` run without --until, for yourself (no --owner, or --owner naming you) and without --no-mark records
"now" as your last review of the pipeline, which `--since last-review` reads next time. `digest` never records
one (it is meant for scheduled jobs); it records when it last ran, for `doctor`.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.text import Text

from tuikanban.cli import review_report
from tuikanban.cli.common import emit_json, out, state
from tuikanban.cli.review_report import BUCKET_LABELS, build_report, render_changes
from tuikanban.cli.review_report import day as _d
from tuikanban.cli.review_report import ids_text as _ids
from tuikanban.cli.root import app
from tuikanban.domain.metrics import plural
from tuikanban.domain.money import format_money

PipelineOpt = Annotated[str | None, typer.Option("--pipeline", "-p", help="Pipeline name (optional with one).")]
OwnerOpt = Annotated[str | None, typer.Option("--owner", help="Only deals owned by this person (at --until).")]
IdleOpt = Annotated[int, typer.Option("--idle-days", help="Open deals with no event or activity this long.")]


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
    st = state(ctx)
    review_report.changes(st, pipeline if pipeline is not None else st.pipeline, since, until, owner, closing,
                          idle_days, no_mark, as_json)


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
        review_report.print_changes(report)
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


__all__ = ["build_report", "changes", "digest", "digest_markdown", "render_changes"]
