"""`tuikanban import FILE` and `tuikanban export`: deals in and out as CSV, whole pipelines as JSON."""

from __future__ import annotations

import contextlib
import os
import stat
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Annotated, Any, cast

import typer
from rich.text import Text

from tuikanban.cli.common import SafeStream, State, emit_json, err, say, state
from tuikanban.cli.root import app
from tuikanban.domain.errors import DuplicateError, ValidationError
from tuikanban.domain.text import clean_text

PROGRESS_MIN_ROWS = 1000


@contextlib.contextmanager
def _progress_bar(size: int) -> Iterator[Any]:
    """A Rich progress bar on stderr for large files (`size`: lines of CSV, bytes of JSON), only when stderr is a
    terminal; else a no-op callback."""
    if size < PROGRESS_MIN_ROWS or not err.is_terminal:
        yield None
        return
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[amount]}"),
                  TimeElapsedColumn(), console=err, transient=True) as bar:
        tasks: dict[str, Any] = {}

        def update(phase: str, done: int, total: int) -> None:
            # "reading" counts the bytes of a JSON file, the other phases rows
            amount = f"{done / 1e6:.1f}/{total / 1e6:.1f} MB" if phase == "reading" else f"{done}/{total}"
            if phase not in tasks:
                label = {"checking": "Checking rows", "importing": "Importing", "reading": "Importing"}.get(
                    phase, "Writing")
                tasks[phase] = bar.add_task(label, total=total, amount=amount)
            bar.update(tasks[phase], completed=done, total=total, amount=amount)

        yield update


def _print_problems(problems: list[str], summary: str) -> None:
    for line in problems:
        err.print(Text(clean_text(line)), soft_wrap=True)
    err.print(Text(clean_text(summary)), soft_wrap=True)


@contextlib.contextmanager
def _read_twice(file: Path) -> Iterator[Path]:
    """`file`, or for a pipe (`/dev/stdin`, `<(...)`), which gives its bytes once, a private copy of them: the
    import reads the start to tell JSON from CSV and then the whole, and a pipe read that way looked empty ('The
    file is empty; it needs a header row') with the rows still in it."""
    try:
        mode = file.stat().st_mode
    except OSError:
        mode = stat.S_IFREG  # (a missing or unreadable file: the reader says why)
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        yield file
        return
    import shutil
    import tempfile

    with tempfile.TemporaryDirectory(prefix="tuikanban-import-") as folder:
        copy = Path(folder) / (file.name or "stdin")
        try:
            with file.open("rb") as source, copy.open("wb") as target:
                shutil.copyfileobj(source, target)
        except OSError:
            yield file  # (the reader says why)
            return
        yield copy


@app.command("import")
def import_command(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(metavar="FILE", help="A .csv file of deals, or a .json pipeline export.")],
    pipeline: Annotated[str | None, typer.Option(
        "--pipeline", "-p", help="CSV: the pipeline to add the deals to. JSON: a new name for the pipeline.")] = None,
    force: Annotated[bool, typer.Option(
        "--force", help="Import rows past a WIP limit or a stage gate (needs --reason).")] = False,
    reason: Annotated[str | None, typer.Option(
        "--reason", help="Why WIP limits or stage gates are overridden.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON (no progress bar).")] = False,
) -> None:
    """Import deals from CSV (all rows or none), or a pipeline exported as JSON.

    CSV: a header row, columns in any order, only title required: title, company, contact, value, currency,
    owner, type, stage, status, created_at, closed_at, lost_reason, expected_close, notes.
    """
    if force and not (reason and reason.strip()):
        raise ValidationError("--force needs --reason TEXT saying why WIP limits or stage gates are overridden.")
    if reason and not force:
        raise ValidationError("--reason goes with --force.")
    st = state(ctx)
    with _read_twice(file) as path:
        try:
            _import(st, path, pipeline, force, reason, as_json)
        except ValidationError as exc:
            if path == file:
                raise
            raise ValidationError(str(exc).replace(str(path), str(file))) from None  # (the name the user typed)


def _import(st: State, file: Path, pipeline: str | None, force: bool, reason: str | None, as_json: bool) -> None:
    from tuikanban.services import io as sio

    try:
        if sio.file_is_json(file):  # read as the import goes, never whole
            doc = sio.open_json(file)
            db = st.db(create=True)
            with contextlib.closing(doc), _progress_bar(0 if as_json else doc.position()[1]) as progress:
                result = sio.import_pipeline_json(db, doc, name=pipeline, progress=progress, user=st.user,
                                                  force_reason=reason if force else None)
        else:
            text = sio.read_text_file(file)
            db = st.db(create=True)
            with _progress_bar(0 if as_json else text.count("\n")) as progress:
                target = pipeline if pipeline is not None else st.pipeline
                result = sio.import_csv_text(db, text, target, user=st.user, force_reason=reason if force else None,
                                             progress=progress)
    except sio.ImportProblems as exc:
        _print_problems(exc.problems, exc.summary)
        raise typer.Exit(1) from None
    if as_json:
        emit_json({"pipeline": result.pipeline, "deals": result.deals, "open": result.open, "won": result.won,
                   "lost": result.lost, "events": result.events, "wip_overrides": result.overrides,
                   "gate_overrides": result.gate_overrides, "renumbered": result.renumbered})
        return
    parts = [f"{result.open:,} open", f"{result.won:,} won", f"{result.lost:,} lost"]
    noun = "deal" if result.deals == 1 else "deals"
    say(f"Imported {result.deals:,} {noun} into ", Text(clean_text(result.pipeline)), f" ({', '.join(parts)}).")
    if result.overrides:
        say(f"{result.overrides:,} of them went past a WIP limit; each is logged as a WIP override.")
    if result.gate_overrides:
        say(f"{result.gate_overrides:,} of them entered a stage without what its gate requires; each is logged as a "
            "gate override.")


@app.command("export")
def export_command(
    ctx: typer.Context,
    pipeline: Annotated[str | None, typer.Option("--pipeline", "-p", help="Pipeline (optional with one).")] = None,
    fmt: Annotated[str | None, typer.Option(
        "--format", help="csv (deals, for spreadsheets) or json (the whole pipeline, to import elsewhere).")] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="File to write (default: stdout).")] = None,
    status: Annotated[str, typer.Option("--status", help="CSV only: open, won, lost or all.")] = "all",
    force: Annotated[bool, typer.Option("--force", help="Replace the output file if it exists.")] = False,
) -> None:
    """Export a pipeline's deals as CSV, or the whole pipeline as JSON."""
    from tuikanban.services import io as sio

    chosen = (fmt or (output.suffix.lstrip(".") if output is not None and output.suffix else "csv")).lower()
    if chosen not in ("csv", "json"):
        raise ValidationError(f"'{fmt or chosen}' is not an export format; use --format csv or --format json.")
    st = state(ctx)
    db = st.db()
    target = pipeline if pipeline is not None else st.pipeline

    def write(fh: IO[str]) -> int:
        if chosen == "json":
            return sio.write_pipeline_json(db, target, fh)
        return sio.write_csv(db, target, fh, status=status.lower())

    if output is None:  # JSON is escaped losslessly; CSV only when it goes to a terminal, not into a file
        safe = chosen == "json" or sys.stdout.isatty()
        write(cast(IO[str], SafeStream(sys.stdout, json_text=chosen == "json")) if safe else sys.stdout)
        sys.stdout.flush()
        return
    n = _write_file(output, write, force=force, db_path=db.target.path)  # (None: the board is on a server)
    noun = "deal" if n == 1 else "deals"
    say(f"Exported {n:,} {noun} to {output} ({chosen.upper()}).")


def _export_mode(db_path: Path | None) -> int:
    """An export of a private board (no group or other may read it) is private too (0600); otherwise the umask
    decides, as for any new file. An export of a board on a database server is private."""
    if db_path is None:
        return 0o600
    try:
        shared = db_path.stat().st_mode & (stat.S_IRGRP | stat.S_IWGRP | stat.S_IROTH)
    except OSError:
        shared = 0
    return 0o666 if shared else 0o600


def _write_file(output: Path, write: Any, *, force: bool, db_path: Path | None) -> int:
    """Write through a temporary file beside `output`, then move it into place: never a half-written export."""
    dest = output.expanduser()
    if dest.exists():
        if db_path is not None and dest.resolve() == db_path.resolve():
            raise ValidationError(f"{dest} is the database itself; choose another output file.")
        if not force:
            raise DuplicateError(f"{dest} already exists; choose another name, or add --force to replace it.")
    if not dest.parent.is_dir():
        raise ValidationError(f"The folder {dest.parent} does not exist; create it or choose another output file.")
    partial = dest.parent / f".{dest.name}.partial-{os.getpid()}"
    try:
        partial.unlink(missing_ok=True)
        # Created with its final mode, so not a moment readable by others when the board is private.
        fd = os.open(partial, os.O_CREAT | os.O_EXCL | os.O_WRONLY, _export_mode(db_path))
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            n = int(write(fh))
        os.replace(partial, dest)
    except PermissionError:
        raise ValidationError(f"Cannot write to {dest.parent} (permission denied).") from None
    except OSError as exc:
        raise ValidationError(f"Cannot write {dest} ({exc.strerror or exc}).") from None
    finally:
        partial.unlink(missing_ok=True)
    return n
