"""The yes/no ConfirmScreen, and the small pieces every modal screen of the board shares.

Shared pieces (imported by the other screens):
- `TkDialog`: a `ModalScreen[T]` base with the dialog look and `run_db`, which runs a database call in a thread
  worker and hands the result (or the `TuikanbanError` sentence) back to the UI thread as a message.
- `FieldError`: the small inline line under a field ($error colour, hidden while empty).
- `key_hints`: a line of "key description" pairs in theme colours.
- `literal`: user text as literal `Content` (markup never interpreted, control sequences removed).
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Static

from tuikanban.domain.errors import TuikanbanError
from tuikanban.domain.text import display

T = TypeVar("T")
R = TypeVar("R")


def literal(value: str | None, *, style: str = "", max_length: int | None = None) -> Content:
    """User text as Content that is shown literally: never parsed as markup, cleaned of control sequences."""
    text = display(value, max_length=max_length)
    return Content.styled(text, style) if style else Content(text)


def key_hints(*pairs: tuple[str, str]) -> Content:
    """`ctrl+s save · esc cancel` with the keys in the theme's accent colour."""
    parts: list[str | tuple[str, str]] = []
    for i, (key, what) in enumerate(pairs):
        if i:
            parts.append(("  ·  ", "$text-muted"))
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


class _DbResult(Message):
    """A database call finished in a worker thread; deliver its outcome on the UI thread."""

    def __init__(self, callback: Callable[[Any], Any], value: Any) -> None:
        super().__init__()
        self.callback = callback
        self.value = value


class TkDialog(ModalScreen[T]):
    """Base of the board's modal screens: a centred box on a dimmed board, database work off the UI thread."""

    DEFAULT_CSS = """
    TkDialog {
        align: center middle;
        background: $background 55%;
    }
    TkDialog > .dialog {
        width: 76;
        max-width: 96%;
        height: auto;
        max-height: 96%;
        background: $surface;
        border: round $primary;
        border-title-color: $text;
        border-title-style: bold;
        border-subtitle-color: $text-muted;
        padding: 0 1;
    }
    TkDialog .hints {
        height: auto;
        margin-top: 1;
    }
    TkDialog .section-title {
        color: $text-accent;
        text-style: bold;
        height: 1;
    }
    TkDialog .form-row {
        height: auto;
        margin-top: 1;
    }
    TkDialog .form-row > .field-label {
        width: 15;
        margin-right: 1;
        text-align: right;
        color: $text-muted;
    }
    TkDialog .form-row:focus-within > .field-label {
        color: $accent;
        text-style: bold;
    }
    TkDialog .form-row Input.-textual-compact {
        padding: 0 1;
        background: $boost;
    }
    TkDialog .form-row > Input, TkDialog .form-row > Select {
        width: 1fr;
    }
    TkDialog .form-row > TextArea {
        width: 1fr;
        height: 4;
    }
    TkDialog .form-row > .field-box {
        width: 1fr;
        height: auto;
    }
    TkDialog .banner {
        display: none;
        height: auto;
        padding: 0 1;
        margin-top: 1;
        background: $warning 15%;
        color: $text;
    }
    TkDialog .banner.-shown { display: block; }
    TkDialog .banner.-error { background: $error 15%; }
    TkDialog .muted { color: $text-muted; }
    """

    busy: bool = False

    # -- database work ------------------------------------------------------------------------------
    def run_db(
        self,
        fn: Callable[[], R],
        done: Callable[[R], Awaitable[None] | None],
        failed: Callable[[TuikanbanError], Awaitable[None] | None] | None = None,
    ) -> None:
        """Run `fn` (a service call) in a thread; `done(result)` or `failed(error)` then run on the UI thread
        (either may be a coroutine function).

        Only `TuikanbanError` is caught: it carries the sentence for the user. Anything else is a bug and
        surfaces as such.
        """
        self._db_worker(fn, done, failed or self.show_problem)

    @work(thread=True, group="tk-db")
    def _db_worker(
        self,
        fn: Callable[[], Any],
        done: Callable[[Any], Any],
        failed: Callable[[TuikanbanError], Any],
    ) -> None:
        try:
            result = fn()
        except TuikanbanError as exc:
            self.post_message(_DbResult(failed, exc))
            return
        self.post_message(_DbResult(done, result))

    @on(_DbResult)
    async def _deliver_db_result(self, message: _DbResult) -> None:
        message.stop()
        outcome = message.callback(message.value)
        if inspect.isawaitable(outcome):
            await outcome

    def show_problem(self, exc: TuikanbanError) -> None:
        """The default for a refused call: the error's one sentence as a notification."""
        self.busy = False
        self.notify(str(exc), severity="error", markup=False)


class ConfirmScreen(TkDialog[bool]):
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


__all__ = ["ConfirmScreen", "FieldError", "TkDialog", "key_hints", "literal"]
