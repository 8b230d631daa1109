"""`tuikanban demo`: build a demo database (three pipelines, six months of history) and open it."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from tuikanban.cli.common import say, state
from tuikanban.cli.root import app
from tuikanban.domain.targets import parse_target


@app.command("demo")
def demo(
    ctx: typer.Context,
    seed: Annotated[int, typer.Option("--seed", help="Random seed: the same seed and clock give the same data.")] = 7,
    no_open: Annotated[
        bool, typer.Option("--no-open", help="Only create the database; do not open the board.")
    ] = False,
    fresh: Annotated[bool, typer.Option(
        "--fresh", "--force",
        help="Rebuild an existing demo database from scratch (only ever a database that demo built).")] = False,
    db: Annotated[str | None, typer.Option(
        "--db", help="Where to write it (default: the global --db / TUIKANBAN_DB, else demo.db beside the default "
                     "database).")] = None,
) -> None:
    """Create a demo database with several pipelines and months of history, then open it.

    It is written to --db / TUIKANBAN_DB when given (a file, or a postgresql:// database or schema), else to
    demo.db beside your default database. It never writes into a database that holds other data. Running it
    again opens the existing demo; --fresh rebuilds it.
    """
    from tuikanban.services.demo import build_demo

    st = state(ctx)
    target = db if db is not None else st.db_path
    parsed = parse_target(target) if target is not None else None
    result = build_demo(parsed, seed=seed, fresh=fresh)
    where = Text(str(result.path))
    if result.built:
        say("Demo database written to ", where,
            f" (seed {result.seed}, {result.deals} deals, {result.events} events, {result.activities} activities, "
            f"{result.seconds:.1f} s):")
        width = max(len(p.name) for p in result.pipelines)
        for p in result.pipelines:
            say(f"  {p.name:<{width}}  {p.open:>3} open, {p.won:>3} won, {p.lost:>3} lost")
    else:
        note = f" (built with seed {result.existing_seed})" if result.existing_seed else ""
        hint = "--fresh rebuilds it" + (f" with seed {seed}" if result.existing_seed != str(seed) else "")
        say("A demo database already exists at ", where, f"{note}; it was kept as it is ({hint}).")
    say("Open it any time with: tuikanban --db ", where)
    if no_open:
        return
    from tuikanban.cli.board import open_board

    st.close()
    # (a PostgreSQL target is opened by the URL as given: its display form leaves the password out)
    open_board(replace(st, target=result.path if isinstance(result.path, Path) else target, refused=None, _db=None))
