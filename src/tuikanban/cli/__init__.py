"""The tuikanban command line. `tuikanban` with no command opens the board.

Start-up is most of a command's time (docs/PERFORMANCE.md, Commands), so this module imports neither Typer nor
Rich: the board's options and the most common commands are parsed by hand (`cli/fast.py`), and everything else
goes through the Typer application (`cli/root.py`, built only then). Both paths share the commands' bodies and the
error handling below, so they print the same bytes and exit with the same codes.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.text import Text


def main(argv: list[str] | None = None) -> None:
    """Entry point: user mistakes become one sentence on stderr and exit code 1, never a traceback."""
    code = run(list(argv if argv is not None else sys.argv[1:]))
    if code:
        sys.exit(code)


def run(args: list[str]) -> int:
    """Run one command line in this process; returns its exit code (errors are printed on stderr)."""
    if args == ["--version"]:  # before any import (with root options too, Typer's eager --version says the same)
        print(version_line())
        return 0

    def go() -> int:
        if "changes" in args:  # its report's reads start now, beside the imports of what prints it
            from tuikanban.cli import review_early

            review_early.start(args)
        from tuikanban.cli import fast

        code = fast.dispatch(args)
        if code is not None:
            return code
        from tuikanban.cli.root import run_typer

        return run_typer(args)

    return guarded(go, args)


def version_line() -> str:
    """`tuikanban VERSION`: the installed package's version, else (run from a source tree) the package's own
    `__version__`, which a test keeps equal to pyproject.toml's."""
    found = _installed_version()
    if found is None:
        from tuikanban import __version__ as found
    return f"tuikanban {found}"


def _installed_version() -> str | None:
    """The version in the name of the first `tuikanban-VERSION.dist-info` folder on the import path, as
    importlib.metadata finds it. Looked up by hand: importing importlib.metadata costs about 35 ms of CPU, six
    times the rest of `--version`."""
    import os

    for entry in sys.path:
        try:
            names = os.listdir(entry or ".")
        except OSError:  # not a folder (a zip file), or gone
            continue
        for name in names:
            if name.startswith("tuikanban-") and name.endswith(".dist-info"):
                return name[len("tuikanban-"):-len(".dist-info")]
    return None


def guarded(work: Callable[[], int], args: list[str]) -> int:
    """Run `work`, turning a user mistake into one sentence on stderr and exit code 1 (interrupted: 130)."""
    from tuikanban.domain.errors import GateError, TuikanbanError, WipLimitError

    try:
        return work()
    except TuikanbanError as exc:
        message = str(exc)
        if isinstance(exc, WipLimitError | GateError) and "--force" not in args and _forceable(args):
            message += "; add --force --reason TEXT to override it"
        print_error(message)  # messages may quote user text: never raw control sequences
        return 1
    except KeyboardInterrupt:
        return 130
    except PermissionError as exc:  # a backstop: the database's own checks name the group and the fix
        print_error(f"You may not use {exc.filename or 'a file this command needs'} (permission denied); "
                    "'ls -ld' shows its group and 'id' shows yours.")
        return 1
    except BrokenPipeError:
        return 0


def _forceable(args: list[str]) -> bool:
    """Whether the command line is one of the deal commands that take --force (add, move, reopen)."""
    return "deal" in args and any(a in ("add", "move", "reopen") for a in args[args.index("deal") + 1:][:1])


def print_error(message: str) -> None:
    from tuikanban.cli.common import err

    err.print(safe(message), highlight=False)


def safe(message: str) -> Text:
    """An error message as literal text without escape or control sequences (no markup, no emoji codes)."""
    from rich.text import Text

    from tuikanban.domain.text import clean_text

    return Text(clean_text(message, multiline=True))


def __getattr__(name: str) -> Any:
    """`app` and `fail` come from the Typer application, built only when asked for."""
    if name == "app":
        from tuikanban.cli.root import app

        return app
    if name == "fail":
        from tuikanban.cli.common import fail

        return fail
    raise AttributeError(name)


__all__ = ["app", "fail", "main", "run", "version_line"]
