"""`tuikanban share` (make a board shareable by a Unix group) and `tuikanban who` (who has it open now)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from tuikanban.cli.common import cell, emit_json, err, fitted_table, out, say, state
from tuikanban.cli.root import app


@app.command("share")
def share_command(
    group: Annotated[str, typer.Option("--group", help="The Unix group of the reps who share the board.")],
    folder: Annotated[Path, typer.Option("--dir", help="Folder for the board.")] = Path("/srv/tuikanban"),
    db_name: Annotated[str, typer.Option("--db", help="Database file name inside --dir.")] = "board.db",
    wrapper: Annotated[Path, typer.Option("--wrapper", help="Command the reps run.")] = Path(
        "/usr/local/bin/tuikanban-team"),
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print what would be done; change nothing.")] = False,
) -> None:
    """Make a board shareable by a Unix group on this host (run as root; running it again is harmless).

    Creates the folder (setgid, group-writable, private to the group), creates or adopts the database, a backups
    folder and a wrapper command, then prints the cron line for hourly backups and an authorized_keys line.
    """
    from tuikanban.services import share

    opts = share.options(group, folder, db_name, wrapper)
    steps = share.run(opts, dry_run=dry_run)
    lead = "Would do:" if dry_run else "Done:"
    if steps:
        say(lead)
        for step in steps:
            say("  ", Text(step.describe))
    else:
        say(f"Nothing to do: {opts.db} is already shared with the group {group}.")
    say("")
    say("Reps run the board with: ssh -t HOST ", Text(str(opts.wrapper)))
    say("Hourly backups, keeping two days (put this line in /etc/cron.d/tuikanban):")
    say("  ", Text(share.cron_line(opts)))
    say("A key that gets only the board (a line in the rep's authorized_keys, with their public key):")
    say("  ", Text(share.authorized_keys_line(opts)))
    for path in share.private_paths():
        err.print(Text(f"Warning: other users cannot reach {path}, so the reps cannot run this tuikanban; install "
                       "it in a virtualenv every rep can read (see 'Sharing a board over SSH' in the README)."))
    if dry_run:
        say("Nothing was changed (--dry-run).")


@app.command("who")
def who_command(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
) -> None:
    """Who has the board open now (boards that stopped answering drop out within a minute)."""
    from tuikanban.services import presence

    here = presence.who(state(ctx).db())
    if as_json:
        emit_json({"here": [
            {"user": h.user, "host": h.host, "pid": h.pid, "since": h.since.isoformat(), "seen": h.seen.isoformat(),
             "viewing": h.viewing, "editing": h.editing} for h in here]})
        return
    if not here:
        say("Nobody has the board open.")
        return
    rows = [[cell(h.user), cell(h.host), h.since.strftime("%Y-%m-%d %H:%M"),
             f"deal {h.editing} (editing)" if h.editing else (f"deal {h.viewing}" if h.viewing else "")]
            for h in here]
    out.print(fitted_table(["user", "host", "since", "on"], rows))
