"""`tuikanban restore BACKUP`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from tuikanban.cli.common import err, say, state
from tuikanban.cli.root import app


@app.command("restore")
def restore_command(
    ctx: typer.Context,
    backup: Annotated[Path, typer.Argument(metavar="BACKUP", help="A backup file made by 'tuikanban backup'.")],
) -> None:
    """Replace the board's content with a backup's (safe while others have the board open).

    What it replaces is kept beside the database first (on PostgreSQL: a pg_dump beside the backup), so a
    restore can itself be undone. On PostgreSQL, BACKUP is a file made by 'tuikanban backup' there (pg_dump), or
    an SQLite board file.
    """
    from tuikanban.services.health import chosen_target
    from tuikanban.services.restore import open_by_sentence, restore_target

    st = state(ctx)
    result = restore_target(chosen_target(st.db_path), backup, user=st.user)
    say(f"Restored {result.live} from {result.backup}. What it held before is kept in {result.saved}.")
    if result.open_by:
        err.print(Text(f"Warning: {open_by_sentence(result.open_by)}"))
