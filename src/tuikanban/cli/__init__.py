"""The tuikanban command line (Typer). `tuikanban` with no command opens the board."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.text import Text

from tuikanban.cli.click_seam import ClickException, NoArgsIsHelpError, UsageError
from tuikanban.cli.common import State, current_user, db_target, err, fail
from tuikanban.domain.errors import GateError, TuikanbanError, WipLimitError

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
    db: Annotated[str | None, typer.Option(
        "--db", envvar="TUIKANBAN_DB", metavar="FILE|URL",
        help="Database file or postgresql://user@host/dbname URL (default: the config file's db, else "
             "<user data dir>/tuikanban.db).")] = None,
    user: Annotated[str | None, typer.Option("--user", envvar="TUIKANBAN_USER",
                                             help="Who you are (default: your login name).")] = None,
    theme: Annotated[str | None, typer.Option("--theme", help="Board theme by name (see themes/).")] = None,
    pipeline: Annotated[str | None, typer.Option("--pipeline", "-p", help="Pipeline to open.")] = None,
) -> None:
    """Open the board, or run a command."""
    ctx.obj = State(db_path=db_target(db), user=current_user(user), theme=theme, pipeline=pipeline)
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


def _open_board_fast(args: list[str]) -> bool:
    """`tuikanban [--db PATH] [--user NAME] [--theme NAME] [-p PIPELINE]` opens the board without Typer: Typer's
    option parsing imports pydantic (about 0.5 s, longer than the board takes to paint). Anything else
    (a command, --help, an unknown option) returns False and goes through Typer as usual."""
    opts: dict[str, str | None] = {"--db": None, "--user": None, "--theme": None, "--pipeline": None}
    i = 0
    while i < len(args):
        name, eq, value = args[i].partition("=")
        name = "--pipeline" if name == "-p" else name
        if name not in opts:
            return False
        if not eq:
            if i + 1 >= len(args) or args[i + 1].startswith("-"):
                return False
            i += 1
            value = args[i]
        opts[name] = value
        i += 1
    import os

    from tuikanban.cli import board

    db = opts["--db"] or os.environ.get("TUIKANBAN_DB") or None
    state = State(db_path=db_target(db), user=current_user(opts["--user"]), theme=opts["--theme"],
                  pipeline=opts["--pipeline"])
    try:
        board.open_board(state)
    except TuikanbanError as exc:
        err.print(_safe(str(exc)), highlight=False)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
    finally:
        state.close()
    return True


def _forceable(args: list[str]) -> bool:
    """Whether the command line is one of the deal commands that take --force (add, move, reopen)."""
    return "deal" in args and any(a in ("add", "move", "reopen") for a in args[args.index("deal") + 1:][:1])


def main(argv: list[str] | None = None) -> None:
    """Entry point: user mistakes become one sentence on stderr and exit code 1, never a traceback."""
    if _open_board_fast(list(argv if argv is not None else sys.argv[1:])):
        return
    _register()
    command = typer.main.get_command(app)
    code: object = None
    try:
        # With standalone_mode=False, click returns the code of a `typer.Exit` instead of raising it.
        code = command.main(args=argv if argv is not None else sys.argv[1:], prog_name="tuikanban",
                            standalone_mode=False)
    except TuikanbanError as exc:
        message = str(exc)
        args = argv if argv is not None else sys.argv[1:]
        if isinstance(exc, WipLimitError | GateError) and "--force" not in args and _forceable(args):
            message += "; add --force --reason TEXT to override it"
        err.print(_safe(message), highlight=False)  # messages may quote user text: never raw control sequences
        sys.exit(1)
    except NoArgsIsHelpError as exc:
        print(exc.ctx.get_help() if exc.ctx else "")
        sys.exit(0)
    except UsageError as exc:
        hint = f" (see '{exc.ctx.command_path} --help')" if exc.ctx else ""
        msg = exc.format_message().rstrip(".").replace(
            "Input should be a valid integer, unable to parse string as an integer", "it must be a whole number"
        )
        err.print(_safe(f"{msg}{hint}."), highlight=False)
        sys.exit(1)
    except typer.Abort:
        err.print("Aborted.", markup=False)
        sys.exit(1)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except ClickException as exc:
        err.print(_safe(exc.format_message()), highlight=False)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
    except PermissionError as exc:  # a backstop: the database's own checks name the group and the fix
        err.print(_safe(f"You may not use {exc.filename or 'a file this command needs'} (permission denied); "
                        "'ls -ld' shows its group and 'id' shows yours."), highlight=False)
        sys.exit(1)
    except BrokenPipeError:
        sys.exit(0)
    if isinstance(code, int) and code != 0:
        sys.exit(code)


def _safe(message: str) -> Text:
    """An error message as literal text without escape or control sequences (no markup, no emoji codes)."""
    from tuikanban.domain.text import clean_text

    return Text(clean_text(message, multiline=True))


__all__ = ["app", "fail", "main"]
