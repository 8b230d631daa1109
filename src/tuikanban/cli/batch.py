"""`tuikanban batch FILE`: many commands in one process, one per line, each in its own transaction.

Each line is what would follow `tuikanban` on a command line (shell-like quoting, `#` comments, blank lines
ignored), run exactly as a separate invocation would run it (`cli.run`): the same output, the same errors, with
`line N: ` before every line a command writes on stderr. The options given to `batch` itself (--db, --user, -p)
come first on every line, so a line may still give its own. The database is opened once for the whole batch.
"""

from __future__ import annotations

import shlex
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from tuikanban.cli import print_error, run
from tuikanban.cli.common import State, err, kept_open, state
from tuikanban.cli.root import app
from tuikanban.domain.errors import ValidationError

INTERRUPTED = 130


class LinePrefixer:
    """A stderr stream that starts every line it is given with `line N: `. It says it is no terminal, so a batch
    line never draws a progress bar between its messages."""

    def __init__(self, target: Any, prefix: str) -> None:
        self._target = target
        self._prefix = prefix
        self._at_start = True

    def write(self, text: str) -> int:
        parts = []
        for piece in text.splitlines(keepends=True):
            if self._at_start:
                parts.append(self._prefix)
            parts.append(piece)
            self._at_start = piece.endswith("\n")
        return int(self._target.write("".join(parts)))

    def flush(self) -> None:
        self._target.flush()

    def isatty(self) -> bool:
        return False


@contextmanager
def _errors_prefixed(prefix: str) -> Iterator[None]:
    saved = sys.stderr
    sys.stderr = LinePrefixer(saved, prefix)
    try:
        yield
    finally:
        sys.stderr = saved


def root_options(st: State) -> list[str]:
    """The options given to `batch`, in a form that applies them to each line (a line's own come after)."""
    options = [f"--db={st.db_path}"] if st.db_path is not None else []
    options.append(f"--user={st.user}")
    if st.pipeline is not None:
        options.append(f"--pipeline={st.pipeline}")
    return options


def _lines(file: str) -> Iterable[str]:
    """The lines of FILE, or of stdin for `-` (read as they come, so a batch can be fed by a pipe)."""
    if file == "-":
        return sys.stdin
    from tuikanban.services.io.files import read_text_file

    return read_text_file(Path(file)).splitlines()


def _words(line: str) -> list[str]:
    try:
        return shlex.split(line, comments=True)
    except ValueError as exc:  # shlex says "No closing quotation" or "No escaped character"
        raise ValidationError(f"{str(exc).rstrip('.').capitalize()}; close the quote or escape the character.")\
            from None


def _run_line(words: list[str], options: list[str]) -> int:
    from tuikanban.cli.fast import split_root

    root = split_root(words)
    rest = words if root is None else root[1]
    if not rest:
        raise ValidationError("This line names no command; a batch runs commands, it does not open the board.")
    if rest[0] == "batch":
        raise ValidationError("A batch cannot run another batch.")
    return run([*options, *words])


def run_batch(st: State, file: str) -> tuple[int, int]:
    """Run every command of FILE; returns (commands run, commands failed). Stops at an interrupt."""
    options = root_options(st)
    ran = failed = 0
    with kept_open():
        for number, line in enumerate(_lines(file), 1):
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            ran += 1
            with _errors_prefixed(f"line {number}: "):
                try:
                    words = _words(line)
                    code = _run_line(words, options) if words else 0
                except ValidationError as exc:
                    print_error(str(exc))
                    code = 1
            if code == INTERRUPTED:
                raise KeyboardInterrupt
            failed += code != 0
    return ran, failed


@app.command("batch")
def batch_command(
    ctx: typer.Context,
    file: Annotated[str, typer.Argument(metavar="FILE", help="Commands, one per line; - reads them from stdin.")],
) -> None:
    """Run many commands in one process, one per line of FILE (each in its own transaction).

    Lines are what would follow 'tuikanban' (quoting as in a shell, # starts a comment). Options given to batch
    (--db, --user, -p) apply to every line. Exit code 1 if any line failed.
    """
    ran, failed = run_batch(state(ctx), file)
    if failed:
        noun = "command" if ran == 1 else "commands"
        err.print(f"{failed} of {ran} {noun} failed.", markup=False, highlight=False)
        raise typer.Exit(1)
