"""The Typer application: the root options, every command group, and turning click's errors into one sentence.

`tuikanban.cli.main` comes here for any command the fast path (`cli/fast.py`) does not take."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from tuikanban.cli import print_error, version_line
from tuikanban.cli.click_seam import ClickException, NoArgsIsHelpError, UsageError
from tuikanban.cli.common import State, current_user, db_choice, err, fail

app = typer.Typer(
    name="tuikanban",
    help="A keyboard-driven terminal Kanban board for sales pipelines.",
    add_completion=False,
    no_args_is_help=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        print(version_line())
        raise typer.Exit()


@app.callback(invoke_without_command=True)
def root(
    ctx: typer.Context,
    db: Annotated[str | None, typer.Option(
        "--db", envvar="TUIKANBAN_DB", metavar="FILE|URL",
        help="Database file or postgresql://user@host/dbname URL (default: the config file's db, else "
             "<user data dir>/tuikanban.db).")] = None,
    user: Annotated[str | None, typer.Option("--user", envvar="TUIKANBAN_USER",
                                             help="Who you are (default: your login name).")] = None,
    theme: Annotated[str | None, typer.Option("--theme", help="Board theme by name (see themes/).")] = None,
    pipeline: Annotated[str | None, typer.Option("--pipeline", "-p", help="Pipeline to open.")] = None,
    version: Annotated[bool, typer.Option("--version", is_eager=True, callback=_version,
                                          help="Print the version and exit.")] = False,
) -> None:
    """Open the board, or run a command."""
    strict = ctx.invoked_subcommand != "config"  # the config commands show (and fix) a refused config file
    target, refused = db_choice(db, strict=strict)  # a refused config file: said when a command needs the database
    ctx.obj = State(target, current_user(user), theme, pipeline, refused=refused)
    ctx.call_on_close(ctx.obj.close)
    if ctx.invoked_subcommand is None:
        from tuikanban.cli.board import open_board

        open_board(ctx.obj)


_registered = False


def _register() -> None:
    global _registered
    if _registered:  # main() may run many times in one process (tests): add each group once
        return
    _registered = True
    from tuikanban.cli import core

    app.add_typer(core.pipeline_app, name="pipeline")
    app.add_typer(core.stage_app, name="stage")
    app.add_typer(core.type_app, name="type")
    app.add_typer(core.deal_app, name="deal")
    # Each command module registers its commands on `app` when imported.
    from tuikanban.cli import (  # noqa: F401
        admin,
        aging,
        batch,
        config,
        copy,
        demo,
        io,
        lifecycle,
        metrics,
        restore,
        review,
        settings,
        tasks,
        team,
        today,
        undo,
    )


_command: Any = None


def run_typer(args: list[str]) -> int:
    """Run a command line through Typer; returns its exit code. Click's usage errors become one sentence on
    stderr; user mistakes (TuikanbanError) go up to `cli.guarded`."""
    global _command
    _register()
    if _command is None:  # built once per process: a batch runs many lines
        _command = typer.main.get_command(app)
    try:
        # With standalone_mode=False, click returns the code of a `typer.Exit` instead of raising it.
        code = _command.main(args=args, prog_name="tuikanban", standalone_mode=False)
    except NoArgsIsHelpError as exc:
        print(exc.ctx.get_help() if exc.ctx else "")
        return 0
    except UsageError as exc:
        hint = f" (see '{exc.ctx.command_path} --help')" if exc.ctx else ""
        msg = exc.format_message().rstrip(".").replace(
            "Input should be a valid integer, unable to parse string as an integer", "it must be a whole number"
        )
        print_error(f"{msg}{hint}.")
        return 1
    except typer.Abort:
        err.print("Aborted.", markup=False)
        return 1
    except typer.Exit as exc:
        return int(exc.exit_code)
    except ClickException as exc:
        print_error(exc.format_message())
        return 1
    return code if isinstance(code, int) else 0


__all__ = ["app", "fail", "run_typer"]
