"""Reading an import file: UTF-8 text with or without a byte-order mark, or one sentence why it cannot be read."""

from __future__ import annotations

from pathlib import Path

from tuikanban.domain.errors import ValidationError


def read_text_file(path: Path) -> str:
    """The text of an import file (UTF-8, with or without a byte-order mark), or one sentence why not."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ValidationError(f"There is no file {path}.") from None
    except IsADirectoryError:
        raise ValidationError(f"{path} is a folder, not a file.") from None
    except PermissionError:
        raise ValidationError(f"The file {path} cannot be read (permission denied).") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ValidationError(f"{path} is not UTF-8 text (line {line}); save it as UTF-8 (CSV UTF-8 in a "
                              "spreadsheet) and import it again.") from None


def looks_like_json(path: Path, text: str) -> bool:
    return path.suffix.lower() == ".json" or text.lstrip().startswith("{")


def file_is_json(path: Path) -> bool:
    """A .json file, or one whose text starts with `{` (a byte-order mark and white space before it allowed); a file
    that cannot be read is not (reading it as CSV then says why)."""
    if path.suffix.lower() == ".json":
        return True
    try:
        with path.open("rb") as fh:
            head = fh.read(4096)
    except OSError:
        return False
    return head.removeprefix(b"\xef\xbb\xbf").lstrip().startswith(b"{")
