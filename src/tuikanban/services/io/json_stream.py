"""Reading a pipeline export a row at a time: the top-level object's members in file order, each list's items
decoded one by one (`json.JSONDecoder.raw_decode` over a sliding buffer), so that memory holds a row and a buffer,
not the document (docs/PERFORMANCE.md, Big files).

Any layout of the document is read (any order of members, any white space); the importer asks for the members in
the order the export writes them, and a member asked for out of that order is decoded whole and kept until asked
for (`StreamedDoc.value`, `StreamedDoc.items`). A syntax error is one sentence with its line and column, as
`json.loads` words it.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import IO, Any, Protocol

from tuikanban.domain.errors import ValidationError

BLOCK = 1 << 20  # characters read at a time
MAX_VALUE = 64 << 20  # a row this long that still does not parse is a syntax error, not a row cut by the buffer
_WS = re.compile(r"[ \t\n\r]*")
_COMMA = re.compile(r"[ \t\n\r]*,[ \t\n\r]*")
MISSING: Any = object()


class DocSource(Protocol):
    """A pipeline export to import: a parsed document (`DictDoc`) or a file read as it goes (`StreamedDoc`)."""

    def restart(self) -> None: ...

    def value(self, key: str) -> Any: ...

    def items(self, key: str) -> Iterator[Any] | None: ...

    def finish(self) -> None: ...

    def position(self) -> tuple[int, int]: ...


class DictDoc:
    """A document already parsed (`read_json`, or built by a test)."""

    def __init__(self, doc: dict[str, Any]) -> None:
        self._doc = doc

    def restart(self) -> None:
        pass

    def value(self, key: str) -> Any:
        return self._doc.get(key, MISSING)

    def items(self, key: str) -> Iterator[Any] | None:
        """The items of a list member (none when it is absent); None when the member is not a list."""
        got = self._doc.get(key, [])
        return iter(got) if isinstance(got, list) else None

    def finish(self) -> None:
        pass

    def position(self) -> tuple[int, int]:
        return 0, 0


def syntax_error(line: int, column: int, msg: str) -> ValidationError:
    return ValidationError(f"The file is not valid JSON (line {line}, column {column}: {msg}); nothing was imported.")


def too_big() -> ValidationError:
    return ValidationError("The file holds a number too long or nesting too deep to be a pipeline export; "
                           "nothing was imported.")


class _Scanner:
    """JSON values off a UTF-8 byte stream: a text buffer that is read further as values need it and dropped from
    the front as they are taken, with the line and column of the buffer's start kept for error messages."""

    def __init__(self, fh: IO[bytes], name: str) -> None:
        self._fh = fh
        self._name = name
        self._decoder = codecs.getincrementaldecoder("utf-8-sig")()
        self._json = json.JSONDecoder(parse_float=Decimal)
        # (text, index) -> (value, end), StopIteration when no value starts there: raw_decode without its wrapping
        self.scan_once = self._json.scan_once  # type: ignore[attr-defined]
        self.buf = ""
        self.pos = 0
        self.eof = False
        self._lines = 0  # newlines in the text dropped from the buffer
        self._column = 0  # characters after the last of them
        self._raw_lines = 0  # newlines in the bytes read (for a decoding error's line)
        self.bytes_read = 0

    def _more(self) -> None:
        if self.pos > BLOCK:  # drop what was taken, keeping the count of lines for error messages
            dropped = self.buf.count("\n", 0, self.pos)
            if dropped:
                self._lines += dropped
                self._column = self.pos - self.buf.rfind("\n", 0, self.pos) - 1
            else:
                self._column += self.pos
            self.buf, self.pos = self.buf[self.pos:], 0
        data = self._fh.read(BLOCK)
        self.bytes_read += len(data)
        try:
            text = self._decoder.decode(data, final=not data)
        except UnicodeDecodeError as exc:
            line = self._raw_lines + data[: max(exc.start, 0)].count(b"\n") + 1
            raise ValidationError(f"{self._name} is not UTF-8 text (line {line}); save it as UTF-8 (CSV UTF-8 in a "
                                  "spreadsheet) and import it again.") from None
        self._raw_lines += data.count(b"\n")
        self.buf += text
        if not data:
            self.eof = True

    def where(self, pos: int) -> tuple[int, int]:
        """(line, column) of the buffer position, counted from the file's start, 1-based as json counts them."""
        line = self.buf.count("\n", 0, pos)
        if line:
            return self._lines + line + 1, pos - self.buf.rfind("\n", 0, pos)
        return self._lines + 1, self._column + pos + 1

    def error(self, msg: str, pos: int | None = None) -> ValidationError:
        return syntax_error(*self.where(self.pos if pos is None else pos), msg)

    def peek(self) -> str:
        """The next character that is not white space ("" at the end of the file), the position moved onto it."""
        while True:
            self.pos = _WS.match(self.buf, self.pos).end()  # type: ignore[union-attr]
            if self.pos < len(self.buf) or self.eof:
                return self.buf[self.pos] if self.pos < len(self.buf) else ""
            self._more()

    def take(self, char: str, msg: str) -> None:
        if self.peek() != char:
            raise self.error(msg)
        self.pos += 1

    def value(self) -> Any:
        """The next JSON value. One that reaches the end of the buffer is decoded again with more text (a number or
        a row may have been cut); a syntax error is read further up to MAX_VALUE before it is believed."""
        self.peek()
        while True:
            try:
                got, end = self._json.raw_decode(self.buf, self.pos)
            except json.JSONDecodeError as exc:
                if self.eof or len(self.buf) - self.pos > MAX_VALUE:
                    raise syntax_error(*self.where(exc.pos), exc.msg) from None
                self._more()
                continue
            except (ValueError, RecursionError):  # a number of thousands of digits, or nesting thousands deep
                raise too_big() from None
            if end < len(self.buf) or self.eof:
                self.pos = end
                return got
            self._more()


class StreamedDoc:
    """A pipeline export read from its file as the import goes (see the module's docstring)."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._fh: IO[bytes] | None = None
        self._scan: _Scanner | None = None
        self._kept: dict[str, Any] = {}  # members decoded whole: scalars, and lists asked for out of order
        self._list: str | None = None  # the member whose list items are next in the file
        self._list_first = True  # no item of it read yet
        self._first = True  # no member read yet
        self._size = 0
        self._done = False
        self.restart()

    def restart(self) -> None:
        """Back to the beginning (a retried transaction, or ids to renumber)."""
        self.close()
        try:
            self._fh = self._path.open("rb")
        except FileNotFoundError:
            raise ValidationError(f"There is no file {self._path}.") from None
        except IsADirectoryError:
            raise ValidationError(f"{self._path} is a folder, not a file.") from None
        except PermissionError:
            raise ValidationError(f"The file {self._path} cannot be read (permission denied).") from None
        self._scan = _Scanner(self._fh, str(self._path))
        self._size = self._path.stat().st_size
        self._kept, self._list, self._done = {}, None, False
        if self._scan.peek() != "{":  # not an object: decoded whole for json's own sentence, or refused as not ours
            got = self._scan.value()
            self._end()
            self._kept, self._done = {"": got}, True
            return
        self._scan.pos += 1
        self._first = True

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    def is_object(self) -> bool:
        return "" not in self._kept

    def _end(self) -> None:
        assert self._scan is not None
        if self._scan.peek() != "":
            raise self._scan.error("Extra data")
        self.close()

    def _advance(self) -> bool:
        """Read the next member: a list is left with its items next in the file (`_list`), anything else kept.
        False at the end of the object."""
        scan = self._scan
        assert scan is not None
        if self._list is not None:  # asked past it: keep it whole
            key = self._list
            self._kept[key] = list(self._list_items())
        if self._done:
            return False
        if scan.peek() == "}":
            scan.pos += 1
            self._done = True
            self._end()
            return False
        if not self._first:
            scan.take(",", "Expecting ',' delimiter")
        self._first = False
        if scan.peek() != '"':
            raise scan.error("Expecting property name enclosed in double quotes")
        key = scan.value()
        scan.take(":", "Expecting ':' delimiter")
        if scan.peek() == "[":
            scan.pos += 1
            self._list, self._list_first = key, True
        else:
            self._kept[key] = scan.value()
        return True

    def _list_items(self) -> Iterator[Any]:
        scan = self._scan
        assert scan is not None
        scan_once = scan.scan_once
        while True:
            # The quick way for the usual case (a comma, then a whole item well inside the buffer); anything else,
            # the end of the buffer included, goes the careful way below.
            if not self._list_first:
                buf = scan.buf
                m = _COMMA.match(buf, scan.pos)
                if m is not None and m.end() < len(buf):
                    try:
                        got, end = scan_once(buf, m.end())
                    except (StopIteration, ValueError, RecursionError):
                        end = len(buf)
                    if end < len(buf):
                        scan.pos = end
                        yield got
                        continue
            if scan.peek() == "]":
                scan.pos += 1
                self._list = None
                return
            if not self._list_first:
                scan.take(",", "Expecting ',' delimiter")
            self._list_first = False
            yield scan.value()

    def value(self, key: str) -> Any:
        while key not in self._kept and self._advance():
            pass
        return self._kept.get(key, MISSING)

    def items(self, key: str) -> Iterator[Any] | None:
        """The items of a list member as the file holds them (none when it is absent); None when it is not a list."""
        while True:
            if key in self._kept:
                got = self._kept.pop(key)
                return iter(got) if isinstance(got, list) else None
            if self._list == key:
                return self._list_items()
            if not self._advance():
                return iter(())

    def finish(self) -> None:
        """Read to the end: a syntax error anywhere refuses the import (all or nothing)."""
        while self._advance():
            pass

    def position(self) -> tuple[int, int]:
        """(bytes read, the file's size): for a progress bar."""
        return (self._scan.bytes_read if self._scan is not None else 0), self._size
