"""`tuikanban copy --to TARGET`: the whole board into another (empty) database, all or nothing."""

from __future__ import annotations

from typing import Annotated

import typer

from tuikanban.cli.common import say, state
from tuikanban.cli.root import app


@app.command("copy")
def copy_command(
    ctx: typer.Context,
    to: Annotated[str, typer.Option(
        "--to", metavar="FILE|URL", help="The empty database to copy into: a file, or postgresql://user@host/db.")],
) -> None:
    """Copy every pipeline, deal, event, stay and activity into an empty database (SQLite or PostgreSQL).

    All or nothing: if anything fails, the target is left as it was. The source is only read.
    """
    from tuikanban.services.transfer import copy_board
    from tuikanban.store.engine import open_database

    source = state(ctx).db()
    target = open_database(to)
    try:
        result = copy_board(source, target)
    finally:
        target.close()
    n = result.rows
    say(f"Copied {n['pipeline']} pipeline{'s' if n['pipeline'] != 1 else ''}, {n['deal']:,} deals, "
        f"{n['event']:,} events and {n['activity']:,} activities from {result.source} to {result.target}.")
