"""What every command shares: the open database, the user, output helpers, one-sentence errors.

Typer is imported only where it is needed: the fast path (`cli/fast.py`) uses this module without it. Rich is
imported when something is printed through it: `out` and `err` are made on first use (a command that writes JSON,
as `changes --json`, never imports Rich; docs/PERFORMANCE.md, The review's speed)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from tuikanban.cli.target import current_user, db_choice, db_target, read_plain
from tuikanban.domain.errors import TuikanbanError
from tuikanban.domain.text import clean_text, display, json_safe, visible

if TYPE_CHECKING:
    import json

    import typer
    from rich.console import Console, RenderableType
    from rich.table import Table
    from rich.text import Text

    from tuikanban.store.engine import Database
    from tuikanban.store.uow import Unit, Writer

T = TypeVar("T")
def _say_upgraded(db: Database) -> None:
    """This command upgraded the board's schema: say so on stderr, naming who still has it open (their older
    tuikanban stops writing to a board it no longer knows; they should restart it with the new one)."""
    from tuikanban.services.presence import who
    from tuikanban.store.tables import SCHEMA_VERSION

    try:
        names = sorted({h.user for h in who(db)})
    except Exception:  # no presence table to read: nobody to name
        names = []
    line = f"Upgraded {db.target} from schema {db.upgraded_from} to {SCHEMA_VERSION}."
    if names:
        people = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
        verb = "has" if len(names) == 1 else "have"
        line += f" {people} {verb} the board open with an older tuikanban: restart it to keep working."
    from rich.text import Text

    _console("err").print(Text(clean_text(line)), highlight=False)


@dataclass(eq=False)
class State:
    target: Path | str | None = None  # a file path or a postgresql:// URL (see domain.targets); read `db_path`
    user: str = ""
    theme: str | None = None
    pipeline: str | None = None
    # Why the config file's `db` was refused (db_choice): said, as one sentence, by the first use of `db_path`, so
    # only the commands that need the database refuse (`--help` and `config show` still work).
    refused: str | None = None
    _db: Database | None = field(default=None, repr=False)
    _writer: Writer | None = field(default=None, repr=False)
    _writer_tried: bool = field(default=False, repr=False)

    @property
    def db_path(self) -> Path | str | None:
        """The database the command means (None: the default file); one sentence when the config file's `db` was
        refused."""
        if self.refused is not None:
            from tuikanban.settings import SettingsError

            raise SettingsError(self.refused)
        return self.target

    @property
    def opened(self) -> bool:
        """Whether the ORM database is open for this command (or kept open for a batch)."""
        return self._db is not None or _kept is not None

    def writer(self) -> Writer | None:
        """A DB-API writer (store.uow) for the fast `deal add` and `deal move`, or None when the database must be
        opened by the ORM path: a file it cannot use as it is (missing, another schema, read-only...), or inside a
        batch, which keeps one ORM database open for every command."""
        if self.opened:
            return None
        if not self._writer_tried:
            from tuikanban.store.uow import open_writer

            self._writer_tried = True
            self._writer = open_writer(self.db_path)
        return self._writer

    def read_plain(self, read: Callable[[Unit], T], *, twin: bool = False) -> T | None:
        """`read` run in one snapshot on a driver connection of the command's own (no ORM), or None when the
        database does not allow it, or inside a batch (the ORM database is open already): the caller then reads
        through `db()`, which checks the database when it opens it and refuses it with one sentence. With `twin`,
        a file's unit carries a second connection on the same snapshot when one can be had (`store.twin`)."""
        if self.opened:
            return None
        return read_plain(self.db_path, read, twin=twin)

    def db(self, *, readonly: bool = False, create: bool = False) -> Database:
        """The database the command means. Only commands that create a board pass `create` (pipeline create,
        import, demo, and the board itself): a read at a mistyped --db must not leave an empty board behind."""
        if self._db is None:
            key = (str(self.db_path), readonly)
            if _kept is not None and key in _kept:
                self._db = _kept[key]
                return self._db
            from tuikanban.store.engine import open_database

            self._db = open_database(self.db_path, readonly=readonly, create=create)
            self._db.fold_each_write = False  # (a command empties the write-ahead log once, when it closes)
            if self._db.upgraded_from is not None:
                _say_upgraded(self._db)
            if _kept is not None:
                _kept[key] = self._db
        return self._db

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        if self._db is not None:
            if _kept is None or self._db not in _kept.values():
                self._db.close()
            self._db = None


# Inside `kept_open()` (a batch of commands) each database is opened once and shared by every command.
_kept: dict[tuple[str, bool], Database] | None = None


@contextmanager
def kept_open() -> Iterator[None]:
    global _kept
    _kept = {}
    try:
        yield
    finally:
        for db in _kept.values():
            db.close()
        _kept = None


def state(ctx: typer.Context) -> State:
    obj = ctx.find_root().obj
    assert isinstance(obj, State)
    return obj


out: Console  # (made on first use: `__getattr__`)
err: Console


def _console(name: str) -> Console:
    """`out` (stdout) or `err` (stderr), the Rich console made on first use (`__getattr__`), or the one set in
    its place (a test's)."""
    console = globals().get(name)
    if console is None:
        from rich.console import Console

        console = Console(highlight=False, soft_wrap=False) if name == "out" else Console(
            stderr=True, highlight=False, soft_wrap=True)
        globals()[name] = console
    return console


def __getattr__(name: str) -> Any:
    """`out` and `err` (also as `from tuikanban.cli.common import out`), made when first asked for."""
    if name in ("out", "err"):
        return _console(name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def stdout_console() -> Console:
    """`out`, made now if it was not (Rich imported)."""
    return _console("out")


def fail(message: str) -> None:
    """Print one sentence on stderr and exit 1."""
    import typer  # only on this path: the fast commands do not import Typer
    from rich.text import Text

    _console("err").print(Text(message))
    raise typer.Exit(1)


def say(*parts: str | Text) -> None:
    """One line of output built from plain strings and literal user text (no separators added)."""
    from rich.text import Text

    line = Text()
    for part in parts:
        line.append(part if isinstance(part, Text) else Text(part))
    _console("out").print(line, soft_wrap=True)


def emit_json(document: Any) -> None:
    """Print a JSON document; text from the file (any rep can write it) reaches the terminal escaped."""
    sys.stdout.write(json_safe(dumps(document)))
    sys.stdout.write("\n")


_SCALARS = (str, int, float, type(None))
_encoders: dict[str, json.JSONEncoder] = {}  # by `pad`: "" for a scalar, else a flat object's or list's indentation


def _encoder(pad: str) -> json.JSONEncoder:
    """The C encoder for a scalar (`pad` ""), or for an object or list of scalars whose separators carry `pad`. (json
    is imported here, at the first document: the board, which shares this module, never writes one.)"""
    encoder = _encoders.get(pad)
    if encoder is None:
        import json

        separators = ("," + pad, ": ") if pad else None
        encoder = _encoders[pad] = json.JSONEncoder(ensure_ascii=False, default=str, separators=separators)
    return encoder


def dumps(value: Any, depth: int = 0) -> str:
    """`json.dumps(value, ensure_ascii=False, indent=2, default=str)`, byte for byte, several times faster.

    With `indent`, json uses its pure-Python encoder (about 0.5 s for the 10,000 deals of a `deal list --json`).
    Here every object whose values are all scalars (a deal, an event) is encoded by the C encoder in one call,
    its separators carrying the newline and indentation; only the containers above them are walked in Python."""
    pad = "\n" + "  " * (depth + 1)
    end = "\n" + "  " * depth
    if isinstance(value, dict):
        if not value:
            return "{}"
        if all(isinstance(v, _SCALARS) for v in value.values()):
            return "{" + pad + _encoder(pad).encode(value)[1:-1] + end + "}"
        scalar = _encoder("")
        items = [f"{scalar.encode(_key(k))}: {dumps(v, depth + 1)}" for k, v in value.items()]
        return "{" + pad + ("," + pad).join(items) + end + "}"
    if isinstance(value, list | tuple):
        if not value:
            return "[]"
        if _all_scalars(value):  # (the review's 25,000 deal ids of a bucket)
            return "[" + pad + _encoder(pad).encode(list(value))[1:-1] + end + "]"
        return "[" + pad + ("," + pad).join(dumps(v, depth + 1) for v in value) + end + "]"
    return _encoder("").encode(value)


_SCALAR_TYPES = frozenset(map(type, ("", 0, 0.0, None)))


def _all_scalars(values: list[Any] | tuple[Any, ...]) -> bool:
    """Whether every value is an instance of one of `_SCALARS`; the types of a long list looked at in one call
    first (a subclass, such as bool, is checked value by value)."""
    return set(map(type, values)) <= _SCALAR_TYPES or all(isinstance(v, _SCALARS) for v in values)


def _key(key: Any) -> str:
    """A dict key as json writes it (json turns True into "true" and None into "null", not "True")."""
    if isinstance(key, str):
        return key
    if key is True or key is False:
        return "true" if key else "false"
    return "null" if key is None else str(key)


class SafeStream:
    """A text stream for stdout that escapes what must not reach a terminal: `json_safe` for JSON (lossless), or
    for other text every control character but newline, carriage return and tab written visibly."""

    def __init__(self, target: Any, *, json_text: bool) -> None:
        self._target = target
        self._json = json_text

    def write(self, text: str) -> int:
        safe = json_safe(text) if self._json else "".join(
            ch if ch in "\n\r\t" else visible(ch) for ch in text)
        return int(self._target.write(safe))

    def flush(self) -> None:
        self._target.flush()


def cell(value: Any, max_length: int | None = 60, *, one_line: bool = False) -> Text:
    """A table cell showing user text literally: no markup, no control sequences.

    `one_line` keeps the cell on one line, cut with an ellipsis when the terminal is narrow (for lists where one
    row per item reads better than wrapped rows).
    """
    from rich.text import Text

    text = Text(cell_text(value, max_length))
    if one_line:
        text.no_wrap = True
        text.overflow = "ellipsis"
    return text


def cell_text(value: Any, max_length: int | None = 60, *, one_line: bool = False) -> str:
    """A cell's text without the Text: what the plain listing of many rows prints (`fitted_table`). It takes
    `cell`'s arguments so that a listing can pick either; `one_line` means nothing for plain text."""
    return "" if value is None else display(str(value), max_length=max_length)


def cell_texts(values: list[Any], max_length: int | None = 60) -> list[str]:
    """`cell_text` of each of `values`, the same strings: a column of strings that are all printable ASCII (most
    listings, checked once for the column) is cut and stripped as `display` would, without a call per cell."""
    if set(map(type, values)) <= {str}:
        joined = "".join(values)
        if joined.isascii() and joined.isprintable():
            if max_length is None:
                return [v.strip() for v in values]
            cut = max_length - 1
            return [(v if len(v) <= max_length else v[:cut] + "…").strip() for v in values]
    return [cell_text(v, max_length) for v in values]


NUMERIC_COLUMNS = {"value", "id", "#", "open", "days", "baseline", "count", "prob", "wip", "min", "per rep",
                   "expected days", "target"}
ONE_LINE_COLUMNS = {"status", "when", "level"}


def table(*columns: str, title: str | Text | None = None) -> Table:
    """A plain table: numbers right-aligned and never wrapped or cut (text columns give way first)."""
    from rich.table import Table

    t = Table(title=title, header_style="bold", title_justify="left", show_edge=False, pad_edge=False)
    for c in columns:
        numeric = c.lower() in NUMERIC_COLUMNS
        t.add_column(c, justify="right" if numeric else "left", no_wrap=numeric or c.lower() in ONE_LINE_COLUMNS)
    return t


PLAIN_TABLE_ROWS = 1000  # above this many rows, a Rich Table takes seconds: print plain aligned columns instead


def _plain(value: Any) -> str:
    if isinstance(value, str):
        return str(value)
    if value is None:
        return ""
    from rich.text import Text

    return value.plain if isinstance(value, Text) else str(value)


def fitted_table(
    columns: list[str], rows: list[list[Any]], *, optional: tuple[str, ...] = (), title: str | Text | None = None
) -> RenderableType:
    """A `table` of `rows` that leaves out `optional` columns (in that order) while it is wider than the terminal,
    so that a narrow terminal shows whole titles rather than every column cut to a few letters.

    Widths are estimated from the cells' text (measuring a Rich table of 10,000 rows takes many seconds), and a
    very long listing is rendered as plain aligned columns.
    """
    texts = [_column_texts(rows, i) for i in range(len(columns))]
    widths = [max(cells(c), _column_width(texts[i])) for i, c in enumerate(columns)]
    keep = list(range(len(columns)))
    drop = [columns.index(c) for c in optional if c in columns]
    while drop and sum(widths[i] + 3 for i in keep) > _console("out").size.width:
        keep.remove(drop.pop(0))
    if len(rows) > PLAIN_TABLE_ROWS:
        return _plain_table([columns[i] for i in keep], [texts[i] for i in keep], [widths[i] for i in keep], title)
    t = table(*(columns[i] for i in keep), title=title)
    for row in rows:
        t.add_row(*(row[i] for i in keep))
    return t


def fitted_columns(columns: list[str], texts: list[list[str]], *, title: str | Text | None = None) -> PlainBlock:
    """`fitted_table(columns, rows, title=title)` of more than PLAIN_TABLE_ROWS rows whose cells are all strings,
    given column by column (`texts[i]`: column i's cells), without building a list per row: the same lines."""
    widths = [max(cells(c), _column_width(t)) for c, t in zip(columns, texts, strict=True)]
    return _plain_table(columns, texts, widths, title)


def _column_texts(rows: list[list[Any]], i: int) -> list[str]:
    """The plain text of column i of every row (`_plain` of each cell; strings as they are)."""
    column = [row[i] for row in rows]
    return column if set(map(type, column)) <= {str} else list(map(_plain, column))


def _column_width(texts: list[str]) -> int:
    """The widest of `texts` in cells (`len` when they are all one-cell characters, checked once for the column)."""
    if not texts:
        return 0
    return max(map(len, texts)) if narrow("".join(texts)) else max(map(cells, texts))


# characters a listing draws itself, one cell each, as printable ASCII is
_DRAWN = "│━╇→…"


def narrow(text: str) -> bool:
    """Every character of `text` takes one cell: printable ASCII, or a line or arrow the listings draw (taken out
    with `replace`, which is many times faster than `translate` on a listing of several megabytes)."""
    if not text.isascii():
        rest = text
        for ch in _DRAWN:
            rest = rest.replace(ch, "")
        if not rest.isascii():
            return False
    return text.isprintable()


def cells(text: str) -> int:
    """`cell_len(text)`: the cells a text takes in a terminal, answered by `len` when every character takes one
    (most text; a long listing measures every cell of every row)."""
    if narrow(text):
        return len(text)
    from rich.cells import cell_len

    return cell_len(text)


def _plain_table(columns: list[str], texts: list[list[str]], widths: list[int], title: str | Text | None
                 ) -> PlainBlock:
    """`texts`: the cells' plain text, column by column. Each column is padded to its width in one pass when its
    cells are all one-cell characters (`ljust` and `rjust` then pad exactly as the cell widths would)."""
    from rich.text import Text

    numeric = [c.lower() in NUMERIC_COLUMNS for c in columns]

    def pad(value: str, width: int, num: bool) -> str:
        spaces = " " * max(0, width - cells(value))
        return spaces + value if num else value + spaces

    def padded(values: list[str], width: int, num: bool) -> list[str]:
        if narrow("".join(values)):
            return list(map(str.rjust if num else str.ljust, values, [width] * len(values)))
        return [pad(v, width, num) for v in values]

    def line(values: list[str]) -> str:
        return " │ ".join(pad(v, w, num) for v, w, num in zip(values, widths, numeric, strict=True)).rstrip()

    lines: list[Any] = []
    if title is not None:
        lines.append(title if isinstance(title, Text) else Text(title))
    lines.append(Text(line(columns), style="bold", no_wrap=True, overflow="ellipsis"))
    lines.append(Text("━╇━".join("━" * w for w in widths), no_wrap=True, overflow="crop"))
    columns_padded = [padded(t, w, num) for t, w, num in zip(texts, widths, numeric, strict=True)]
    body = list(map(str.rstrip, map(" │ ".join, zip(*columns_padded, strict=True))))
    return PlainBlock(lines, PlainLines(body))


class PlainLines:
    """Unstyled lines, each cut with an ellipsis at the terminal's width: what a `Text(line, no_wrap=True,
    overflow="ellipsis")` per line renders, without building (and wrapping) 10,000 Text objects."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines

    def __rich_console__(self, console: Console, options: Any) -> Any:
        from rich.cells import cell_len
        from rich.segment import Segment
        from rich.text import Text

        width = options.max_width
        newline = Segment.line()
        for text in self.lines:
            if len(text) <= width and cell_len(text) <= width:
                yield Segment(text)
                yield newline
            else:
                yield from console.render(Text(text, no_wrap=True, overflow="ellipsis"), options)

    def text(self, console: Console) -> str:
        """What printing these lines on `console` writes (no style, so the same on a terminal), built as one
        string: a line of one-cell characters (`narrow`) that does not fit is cut as Rich cuts it, the cells before
        the last and `…`; any other line that does not fit is rendered by Rich itself."""
        width = console.width
        if narrow("".join(self.lines)):  # (checked once for the whole listing)
            if max(map(len, self.lines), default=0) <= width:  # (no line to cut: most listings)
                return "\n".join(self.lines) + "\n" if self.lines else ""
            return "".join([(text if len(text) <= width else text[:max(0, width - 1)] + "…") + "\n"
                            for text in self.lines])
        from rich.cells import cell_len
        from rich.text import Text

        out: list[str] = []
        for text in self.lines:
            if narrow(text):
                out.append((text if len(text) <= width else text[:max(0, width - 1)] + "…") + "\n")
            elif cell_len(text) <= width:
                out.append(text + "\n")
            else:
                out.append("".join(segment.text for segment in console.render(
                    Text(text, no_wrap=True, overflow="ellipsis"), console.options)))
        return "".join(out)


class PlainBlock:
    """A long listing: its title, header and rule (Rich Texts), then plain lines. Rendered like a Group of them;
    `print_block` writes the plain lines as one string instead of one Rich segment each (a listing of 25,000 deals:
    about a second of Rich's line splitting and cropping)."""

    def __init__(self, head: list[Any], body: PlainLines) -> None:
        self.head = head
        self.body = body

    def __rich_console__(self, console: Console, options: Any) -> Any:
        yield from self.head
        yield self.body


def print_block(console: Console, part: Any) -> None:
    """`console.print(part)`, the same bytes; a `PlainBlock`'s lines handed to Rich as one segment of text, already
    cut to the console's width, so that Rich neither splits nor crops them again line by line."""
    if not isinstance(part, PlainBlock):
        console.print(part)
        return
    from rich.console import Group

    console.print(Group(*part.head))
    console.print(_Segments(part.body.text(console)), crop=False)


class _Segments:
    """Text that is already terminal lines (each ending in a newline, none wider than the console), as one
    segment."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __rich_console__(self, console: Console, options: Any) -> Any:
        from rich.segment import Segment

        yield Segment(self.text)


__all__ = [
    "PlainBlock", "State", "TuikanbanError", "cell", "cells", "current_user", "db_choice", "db_target", "emit_json",
    "err", "fail",
    "fitted_columns", "fitted_table", "out", "print_block", "say", "state", "stdout_console", "table",
]
