"""The pieces the dialogs' forms are made of.

- `FieldInput`, `FieldTextArea`, `KeyList`, `KeyTable`: Textual's widgets that apply their own key bindings
  (backspace, arrows, ctrl+u...) to themselves, on the key they were sent (see `dialogs.keys`).
- `FieldError`: the small inline line under a field ($error colour, hidden while empty); `clear_error`.
- `key_hints`: a line of "key description" pairs in theme colours.
- `literal`: user text as literal `Content` (markup never interpreted, control sequences removed).
"""

from __future__ import annotations

from typing import Any

from textual.content import Content
from textual.widget import Widget
from textual.widgets import DataTable, Input, OptionList, Static, TextArea

from tuikanban.domain.text import clean_text, display
from tuikanban.ui.dialogs.keys import OwnKeys
from tuikanban.ui.textual_seam import stop_watching_app


def literal(value: str | None, *, style: str = "", max_length: int | None = None) -> Content:
    """User text as Content that is shown literally: never parsed as markup, cleaned of control sequences."""
    text = display(value, max_length=max_length)
    return Content.styled(text, style) if style else Content(text)


def key_hints(*pairs: tuple[str, str], sep: str = "  ·  ") -> Content:
    """`ctrl+s save · esc cancel` with the keys in the theme's accent colour."""
    parts: list[str | tuple[str, str]] = []
    for i, (key, what) in enumerate(pairs):
        if i:
            parts.append((sep, "$text-muted"))
        parts.append((key, "bold $accent"))
        parts.append((f" {what}", "$text-muted"))
    return Content.assemble(*parts)


class FieldError(Static):
    """One line under a field: an error in $error, or a quiet hint; hidden while empty."""

    DEFAULT_CSS = """
    FieldError {
        color: $error;
        height: auto;
        display: none;
        padding: 0 1;
    }
    FieldError.-shown { display: block; }
    FieldError.-hint { color: $text-muted; }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__("", id=id, classes=classes, markup=False)
        self.message = ""

    def show(self, message: str, *, hint: bool = False) -> None:
        self.message = message
        self.update(Content(message))
        self.set_class(bool(message), "-shown")
        self.set_class(hint, "-hint")

    def clear(self) -> None:
        self.show("")


def clear_error(root: Widget, selector: str) -> None:
    """Clear the FieldError `selector` under `root`, if there is one (a field being typed into)."""
    for error in root.query(selector).results(FieldError):
        error.clear()


class FieldInput(OwnKeys, Input):
    """A one-line field that applies its editing keys to itself, whichever field has focus when it reads them.

    Its value is always inert: a value filled in from the file (another rep may have written escape sequences
    into it with sqlite3) loses its control and bidi characters before it is drawn."""

    def validate_value(self, value: str) -> str:
        return clean_text(value)


class FieldTextArea(OwnKeys, TextArea):
    """A multi-line field (enter is a new line; tab moves on) that applies its editing keys to itself. Text put in
    it (at creation or with `text =`) is made inert as `FieldInput`'s value is."""

    def __init__(self, text: str = "", **options: Any) -> None:
        super().__init__(clean_text(text, multiline=True), **options)

    def load_text(self, text: str) -> None:
        super().load_text(clean_text(text, multiline=True))

    def on_unmount(self) -> None:
        stop_watching_app(self)  # Textual's watch of the app's theme would keep this field alive (textual_seam)


class KeyList(OwnKeys, OptionList):
    """An OptionList that moves and selects on the keys it was sent."""


class KeyTable(OwnKeys, DataTable[Content]):
    """A DataTable that moves on the keys it was sent."""


__all__ = [
    "FieldError", "FieldInput", "FieldTextArea", "KeyList", "KeyTable", "clear_error", "key_hints", "literal",
]
