"""The tuikanban command line (Typer). `tuikanban` with no command opens the board."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from typer._click import exceptions as click_exc

from tuikanban.cli.common import State, current_user, err, fail
from tuikanban.domain.errors import TuikanbanError

app = typer.Typer(
    name="tuikanban",
    help="A keyboard-driven terminal Kanban board for sales pipelines.",
    add_completion=False,
    no_args_is_help=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)


@app.callback(invoke_without_command=True)
def root(
    ctx: typer.Context,
    db: Annotated[Path | None, typer.Option("--db", envvar="TUIKANBAN_DB",
                                            help="Database file (default: <user data dir>/tuikanban.db).")] = None,
    user: Annotated[str | None, typer.Option("--user", envvar="TUIKANBAN_USER",
                                             help="Who you are (default: your login name).")] = None,
    theme: Annotated[str | None, typer.Option("--theme", help="Board theme by name (see themes/).")] = None,
    pipeline: Annotated[str | None, typer.Option("--pipeline", "-p", help="Pipeline to open.")] = None,
) -> None:
    """Open the board, or run a command."""
    ctx.obj = State(db_path=db, user=current_user(user), theme=theme, pipeline=pipeline)
    ctx.call_on_close(ctx.obj.close)
    if ctx.invoked_subcommand is None:
        from tuikanban.cli.board import open_board

        open_board(ctx.obj)


def _register() -> None:
    from tuikanban.cli import core

    app.add_typer(core.pipeline_app, name="pipeline")
    app.add_typer(core.stage_app, name="stage")
    app.add_typer(core.type_app, name="type")
    app.add_typer(core.deal_app, name="deal")
    import importlib

    # Optional command modules (each registers its commands on `app`).
    for name in ("aging", "metrics", "io", "admin", "demo", "config"):
        try:
            importlib.import_module(f"tuikanban.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"tuikanban.cli.{name}":
                raise


def main(argv: list[str] | None = None) -> None:
    """Entry point: user mistakes become one sentence on stderr and exit code 1, never a traceback."""
    _register()
    command = typer.main.get_command(app)
    try:
        command.main(args=argv if argv is not None else sys.argv[1:], prog_name="tuikanban", standalone_mode=False)
    except TuikanbanError as exc:
        err.print(str(exc), markup=False, highlight=False)
        sys.exit(1)
    except click_exc.NoArgsIsHelpError as exc:
        print(exc.ctx.get_help() if exc.ctx else "")
        sys.exit(0)
    except click_exc.UsageError as exc:
        hint = f" (see '{exc.ctx.command_path} --help')" if exc.ctx else ""
        msg = exc.format_message().rstrip(".")
        err.print(f"{msg}{hint}.", markup=False, highlight=False)
        sys.exit(1)
    except typer.Abort:
        err.print("Aborted.", markup=False)
        sys.exit(1)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except click_exc.ClickException as exc:
        err.print(exc.format_message(), markup=False, highlight=False)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(0)


__all__ = ["app", "fail", "main"]
