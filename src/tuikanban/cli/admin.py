"""`tuikanban backup PATH` and `tuikanban doctor`."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from tuikanban.cli.common import emit_json, out, say, state
from tuikanban.cli.root import app
from tuikanban.domain.text import clean_text


@app.command("backup")
def backup_command(
    ctx: typer.Context,
    # a str, not a Path: a trailing '/' ("into this folder") must survive
    path: Annotated[str, typer.Argument(metavar="PATH", help="Backup file, or a folder to hold a dated copy.")],
    force: Annotated[bool, typer.Option("--force", help="Replace PATH if it exists.")] = False,
    keep: Annotated[int | None, typer.Option("--keep", metavar="N",
                                             help="Into a folder: keep only the newest N dated copies.")] = None,
) -> None:
    """Copy the database (SQLite's online backup API, or pg_dump on PostgreSQL), safe while others use the board.

    PATH ending in '/' (or an existing folder) gets a dated copy, for example board-20260302-120000.db.
    """
    from tuikanban.services.health import backup
    from tuikanban.services.runs import record_run

    st = state(ctx)
    result = backup(st.db_path, path, force=force, keep=keep)
    record_run(st.db(), "backup")  # for doctor (a read-only database is not marked)
    size = result.size / 1024
    shown = f"{size / 1024:.1f} MB" if size >= 1024 else f"{size:.0f} KB"
    say(f"Backed up {result.source} to {result.target} ({shown}).")


_STYLES = {"ok": "green", "note": "yellow", "problem": "bold red"}


@app.command("doctor")
def doctor_command(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
) -> None:
    """Check the database (integrity, schema, WAL, history) and the permissions that sharing needs.

    Exits with code 1 when something is wrong; each finding says how to fix it.
    """
    from tuikanban.services.health import chosen_target, doctor, exit_code, resolve_db_path

    target = chosen_target(state(ctx).db_path)
    if target.is_postgres:
        from tuikanban.services.pghealth import doctor_postgres

        path: object = target
        checks = doctor_postgres(target)
    else:
        path = resolve_db_path(state(ctx).db_path)
        checks = doctor(path)
    code = exit_code(checks)
    if as_json:
        emit_json({"database": str(path), "ok": code == 0, "checks": [
            {"name": c.name, "level": c.level, "message": c.message, "fix": c.fix or None} for c in checks]})
        raise typer.Exit(code)
    t = Table(show_header=False, show_edge=False, pad_edge=False, box=None)
    t.add_column(no_wrap=True)
    t.add_column(no_wrap=True)
    t.add_column(overflow="fold")
    for c in checks:
        body = Text(clean_text(c.message))
        if c.fix:
            body.append("\nFix: ", style="bold")
            body.append(clean_text(c.fix))
        t.add_row(Text(c.level, style=_STYLES.get(c.level, "")), Text(c.name), body)
    out.print(t)
    problems = sum(1 for c in checks if c.level == "problem")
    if problems:
        say(f"{problems} problem{'s' if problems != 1 else ''} found.")
    else:
        say("No problems found.")
    raise typer.Exit(code)
