"""HelpScreen: every key of the board, in sections (two columns on a wide terminal); scrolls; escape or ? closes.

A row's key is plain text (drawn bold in the accent colour) or a `Content` drawn as it is: the board's help shows
its badges and marks that way, in the theme colours they have on the cards.
"""

from __future__ import annotations

from collections.abc import Sequence

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.widgets import Static

from tuikanban.ui.dialogs.base import Dialog
from tuikanban.ui.dialogs.fields import key_hints

HelpSections = Sequence[tuple[str, Sequence[tuple[str | Content, str]]]]


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
            lines = [
                Content.assemble(key, " " * (width - key.cell_length), (what, "$foreground"))
                for key, (_key, what) in zip(section_keys, rows, strict=True)
            ]
            blocks.append([Static(Content(name), classes="section-title help-section"),
                           Static(Content("\n").join(lines), classes="help-rows")])
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
        self.query_one("#help-body", VerticalScroll).focus()

    def action_scroll(self, direction: str) -> None:
        body = self.query_one("#help-body", VerticalScroll)
        if direction == "down":
            body.scroll_down()
        else:
            body.scroll_up()

    def action_close(self) -> None:
        self.dismiss(None)


__all__ = ["HelpScreen"]
