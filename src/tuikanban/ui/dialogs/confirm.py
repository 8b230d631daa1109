"""ConfirmScreen: a yes/no question."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import Static

from tuikanban.domain.text import display
from tuikanban.ui.dialogs.base import Dialog
from tuikanban.ui.dialogs.fields import key_hints


class ConfirmScreen(Dialog[bool]):
    """Ask a yes/no question: y or enter says yes, n or escape says no."""

    DEFAULT_CSS = """
    ConfirmScreen > .dialog { width: auto; min-width: 40; max-width: 80; }
    ConfirmScreen #confirm-message { width: auto; max-width: 76; margin-top: 1; }
    """

    BINDINGS = [
        Binding("y,enter", "answer(True)", "Yes", show=False),
        Binding("n,escape", "answer(False)", "No", show=False),
    ]

    def __init__(self, message: str, *, title: str = "Confirm") -> None:
        super().__init__()
        self.message = message
        self.title_text = title

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog") as box:
            box.border_title = Content(display(self.title_text))  # titles may quote user text: never markup
            yield Static(Content(display(self.message)), id="confirm-message")
            yield Static(key_hints(("y", "yes"), ("n", "no"), ("esc", "cancel")), classes="hints")

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)


__all__ = ["ConfirmScreen"]
