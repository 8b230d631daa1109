"""HelpScreen: every key of the board, in sections; scrolls; escape or ? closes.

A row's key is plain text (drawn bold in the accent colour) or a `Content` drawn as it is: the board's help shows
its badges and marks that way, in the theme colours they have on the cards.
"""

from __future__ import annotations

from collections.abc import Sequence

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.widgets import Static

from tuikanban.ui.screens.confirm import TkDialog, key_hints

HelpSections = Sequence[tuple[str, Sequence[tuple[str | Content, str]]]]


class HelpScreen(TkDialog[None]):
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
    """

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
        with Vertical(classes="dialog") as box:
            box.border_title = self.title_text
            with VerticalScroll(id="help-body"):
                for (name, rows), section_keys in zip(self.sections, keys, strict=True):
                    yield Static(Content(name), classes="section-title help-section")
                    lines = [
                        Content.assemble(key, " " * (width - key.cell_length), (what, "$foreground"))
                        for key, (_key, what) in zip(section_keys, rows, strict=True)
                    ]
                    yield Static(Content("\n").join(lines), classes="help-rows")
            yield Static(key_hints(("↑↓ pgup pgdn", "scroll"), ("esc ?", "close")), classes="hints")

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
