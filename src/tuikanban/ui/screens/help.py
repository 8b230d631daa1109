"""HelpScreen: every key of the board, in sections (two columns on a wide terminal); scrolls; escape or ? closes.

A row's key is plain text (drawn bold in the accent colour) or a `Content` drawn as it is: the board's help shows
its badges and marks that way, in the theme colours they have on the cards.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.geometry import Size
from textual.widgets import Static

from tuikanban.ui.dialogs.base import Dialog
from tuikanban.ui.dialogs.fields import key_hints

HelpSections = Sequence[tuple[str, Sequence[tuple[str | Content, str]]]]


class HelpRows(Static):
    """A section's rows: the keys in a column of their own; a description longer than its line wraps under the
    description (a hanging indent), never into the keys' column where it would read as a key."""

    def __init__(self, rows: Sequence[tuple[Content, str]], key_width: int, **kwargs: Any) -> None:
        self._rows = list(rows)
        self._key_width = key_width
        super().__init__(self._lines(0), **kwargs)  # unwrapped: what `visual` holds (and a copy of the text)

    def _lines(self, width: int) -> Content:
        keys, room = self._key_width, width - self._key_width
        lines: list[Content] = []
        for key, what in self._rows:
            pad = " " * (keys - key.cell_length)
            if width <= 0:  # (not laid out yet)
                lines.append(Content.assemble(key, pad, (what, "$foreground")))
            elif room < 12:  # a very narrow terminal: the key on a line of its own, the description below it
                lines.append(key)
                lines.extend(Content.styled(part, "$foreground") for part in textwrap.wrap(what, width) or [""])
            else:
                parts = textwrap.wrap(what, room, break_on_hyphens=False) or [""]
                lines.append(Content.assemble(key, pad, (parts[0], "$foreground")))
                lines.extend(Content.assemble(" " * keys, (part, "$foreground")) for part in parts[1:])
        return Content("\n").join(lines)

    def render(self) -> Content:
        return self._lines(self.content_size.width)

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return len(self._lines(width).split("\n"))  # (each line fits `width`: wrapped above)


class HelpScreen(Dialog[None]):
    """Sections of (key, description) rows."""

    DEFAULT_CSS = """
    HelpScreen > .dialog { width: 84; max-height: 90%; }
    HelpScreen #help-body {
        height: auto;
        max-height: 75vh;
        margin-top: 1;
        scrollbar-size-vertical: 1;
    }
    HelpScreen .help-section { margin-top: 1; }
    HelpScreen .help-section:first-child { margin-top: 0; }
    HelpScreen .help-rows { height: auto; padding-left: 1; }
    HelpScreen.-wide > .dialog { width: 100%; max-width: 170; }
    HelpScreen #help-columns { height: auto; }
    HelpScreen .help-column { width: 1fr; height: auto; }
    HelpScreen .help-column:first-child { margin-right: 2; }
    """

    WIDE = 150  # terminal columns from which the sections are laid out in two columns

    BINDINGS = [
        Binding("escape,question_mark,q", "close", "Close", show=False),
        Binding("j", "scroll('down')", show=False),
        Binding("k", "scroll('up')", show=False),
    ]

    def __init__(self, sections: HelpSections, *, title: str = "Keys") -> None:
        super().__init__()
        self.sections = [(name, list(rows)) for name, rows in sections]
        self.title_text = title

    def compose(self) -> ComposeResult:
        keys = [[self._key(key) for key, _what in rows] for _name, rows in self.sections]
        width = max((k.cell_length for row in keys for k in row), default=4) + 3
        blocks: list[list[Static]] = []
        for (name, rows), section_keys in zip(self.sections, keys, strict=True):
            pairs = [(key, what) for key, (_key, what) in zip(section_keys, rows, strict=True)]
            blocks.append([Static(Content(name), classes="section-title help-section"),
                           HelpRows(pairs, width, classes="help-rows")])
        wide = self.app.size.width >= self.WIDE and len(blocks) > 1
        self.set_class(wide, "-wide")
        with Vertical(classes="dialog") as box:
            box.border_title = self.title_text
            with VerticalScroll(id="help-body"):
                if wide:
                    first, second = self._split([len(rows) + 2 for _name, rows in self.sections])
                    with Horizontal(id="help-columns"):
                        for part in (blocks[:first], blocks[first:first + second]):
                            with Vertical(classes="help-column"):
                                for block in part:
                                    yield from block
                else:
                    for block in blocks:
                        yield from block
            yield Static(key_hints(("↑↓ pgup pgdn", "scroll"), ("esc ?", "close")), classes="hints")

    @staticmethod
    def _split(heights: list[int]) -> tuple[int, int]:
        """How many sections (in order) go in the left column and in the right one: the split that makes the
        taller column as short as it can be."""
        total = sum(heights)
        best, best_tall = 1, total
        for n in range(1, len(heights)):
            left = sum(heights[:n])
            tall = max(left, total - left)
            if tall < best_tall:
                best, best_tall = n, tall
        return best, len(heights) - best

    @staticmethod
    def _key(key: str | Content) -> Content:
        return key if isinstance(key, Content) else Content.styled(key, "bold $accent")

    def on_mount(self) -> None:
        # (a help built ahead while the app closes has no widgets: ui/spares.py)
        for body in self.query("#help-body").results(VerticalScroll):
            body.focus()

    def on_screen_resume(self) -> None:
        # (the board keeps one help and shows it again at every ?: ui/spares.py) from the top, as a new one shows
        for body in self.query("#help-body").results(VerticalScroll):
            body.scroll_home(animate=False, immediate=True)

    def action_scroll(self, direction: str) -> None:
        body = self.query_one("#help-body", VerticalScroll)
        if direction == "down":
            body.scroll_down()
        else:
            body.scroll_up()

    def action_close(self) -> None:
        self.dismiss(None)


__all__ = ["HelpScreen"]
