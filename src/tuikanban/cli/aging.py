"""`tuikanban aging`: open deals by severity (days in stage over the stage's baseline), with risk signals.

The command's body is `cli/aging_report.py` (the fast path runs it without Typer)."""

from __future__ import annotations

from typing import Annotated

import typer

from tuikanban.cli.aging_report import DEFAULT_LIMIT, report
from tuikanban.cli.common import state
from tuikanban.cli.root import app


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
    st = state(ctx)
    report(st, pipeline if pipeline is not None else st.pipeline, as_json, flagged, limit)
