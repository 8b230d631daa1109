"""The yes/no ConfirmScreen, and the small pieces every modal screen of the board shares.

Shared pieces (imported by the other screens):
- `TkDialog`: a `ModalScreen[T]` base with the dialog look and `run_db`, which runs a database call in a thread
  worker and hands the result (or the `TuikanbanError` sentence) back to the UI thread as a message. Keys that
  reach the dialog before anything in it has focus (it was still opening) go on to the field focused on mount.
- `FormDialog`: a `TkDialog` with fields. Enter goes to the next field (it saves only on the last one-line field),
  tab / shift+tab move; these run as priority bindings, so in a burst of keys (SSH, paste) every key typed after
  enter lands in the next field. `fields_settled()` lets a save wait for keys already sent to the fields.
- `FieldInput` / `FieldTextArea`: fields that apply their own editing keys (backspace, arrows, ctrl+u...) to
  themselves, even when focus has moved on by the time they read the key.
- `FieldError`: the small inline line under a field ($error colour, hidden while empty).
- `key_hints`: a line of "key description" pairs in theme colours.
- `literal`: user text as literal `Content` (markup never interpreted, control sequences removed).
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar, TypeVar

from textual import events, on, work
from textual.actions import SkipAction
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.message import Message
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Input, OptionList, Select, Static, TextArea

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


async def _own_binding(widget: Widget, event: events.Key) -> None:
    """Run `widget`'s own (non-priority) binding for the key on `widget` itself.

    Textual looks a widget's bindings up once the key has bubbled back to the app, along the focus chain of that
    moment. In a burst of keys focus may have moved on by then (enter moves it at once), and a backspace meant for
    this field would edit the next one. `_bindings` is Textual's map of the widget's bindings (with any keymap).
    """
    for binding in widget._bindings.key_to_bindings.get(event.key, ()):
        if not binding.priority and await widget.app.run_action(binding.action, widget):
            event.stop()
            event.prevent_default()
            return


class FieldInput(Input):
    """A one-line field that applies its editing keys to itself, whichever field has focus when it reads them."""

    async def _on_key(self, event: events.Key) -> None:
        await super()._on_key(event)  # printable characters
        if not event.is_printable:
            await _own_binding(self, event)


class FieldTextArea(TextArea):
    """A multi-line field (enter is a new line; tab moves on) that applies its editing keys to itself."""

    async def _on_key(self, event: events.Key) -> None:
        await super()._on_key(event)  # printable characters and enter
        if not self.read_only and not event.is_printable and event.key != "enter":
            await _own_binding(self, event)


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
    TkDialog .form-row:focus-within {
        /* No style of its own: it makes Textual restyle the row (and so its label) when focus enters or leaves,
           which it does not do for `.form-row:focus-within > .field-label` alone. */
    }
    """

    busy: bool = False

    def __init__(self, name: str | None = None, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._early_keys: list[events.Key] = []

    # -- keys that arrive while the dialog is opening -----------------------------------------------
    def _forward_event(self, event: events.Event) -> None:
        # The app hands a key to the screen itself only when nothing in it has focus: the dialog is still being
        # mounted. Remember those keys; once mounted, they go to the field that on_mount focused.
        if isinstance(event, events.Key) and not event.is_forwarded and self.focused is None:
            self._early_keys.append(event)
        super()._forward_event(event)

    @on(events.Key)
    async def _early_key(self, event: events.Key) -> None:
        if not any(k is event for k in self._early_keys):
            return  # an ordinary key bubbling up from a field
        self._early_keys = [k for k in self._early_keys if k is not event]
        target = self.focused
        if target is None:
            return
        event.stop()
        event.prevent_default()
        for binding in self._bindings.key_to_bindings.get(event.key, ()):  # enter, tab, ctrl+s of the forms
            if binding.priority and await self.app.run_action(binding.action, self):
                return
        target._forward_event(events.Key(event.key, event.character))

    async def fields_settled(self) -> None:
        """Wait (at most a second) until every field has handled the keys already delivered to it.

        A save bound to a priority key (ctrl+s) runs as soon as the app reads the key: in a burst, the characters
        typed just before it may still be waiting in the fields' queues. A callback posted behind them runs once
        they are applied.
        """
        loop = asyncio.get_running_loop()
        pending: list[asyncio.Future[None]] = []
        for field in self.query("Input, TextArea"):
            done: asyncio.Future[None] = loop.create_future()

            def finish(future: asyncio.Future[None] = done) -> None:
                if not future.done():
                    future.set_result(None)

            if field.is_attached and field.call_later(finish):
                pending.append(done)
        if pending:
            await asyncio.wait(pending, timeout=1.0)

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


class FormDialog(TkDialog[T]):
    """A dialog with fields.

    Enter on a one-line field or a (closed) list goes to the next field, and saves only on the last one-line field
    (`SUBMIT_ON_ENTER`, running the `SUBMIT_ACTION` action); tab / shift+tab move. They are priority bindings: the
    app runs them when it reads the key, before it hands the next key to a widget, so focus has moved before the
    following key is routed. Elsewhere (a multi-line field, an open list, a table) enter keeps its own meaning.
    """

    BINDINGS = [
        Binding("enter", "field_enter", "Next field", show=False, priority=True),
        Binding("tab", "field_step(1)", "Next field", show=False, priority=True),
        Binding("shift+tab", "field_step(-1)", "Previous field", show=False, priority=True),
    ]

    SUBMIT_ON_ENTER: ClassVar[frozenset[str]] = frozenset()
    SUBMIT_ACTION: ClassVar[str] = "save"

    def enter_does(self, field: Widget) -> str | None:
        """What enter does on `field`: "next" (focus the next field), "submit", or None (the widget's own enter)."""
        if isinstance(field, Input):
            return "submit" if field.id in self.SUBMIT_ON_ENTER else "next"
        if isinstance(field, Select):  # closed; space or arrows open it
            return "next"
        return None

    async def action_field_enter(self) -> None:
        field = self.focused
        what = self.enter_does(field) if field is not None else None
        if what == "next":
            self.focus_next()
        elif what == "submit":
            await self.app.run_action(self.SUBMIT_ACTION, self)
        else:
            raise SkipAction()

    def action_field_step(self, step: int) -> None:
        field = self.focused
        if field is None or (isinstance(field, OptionList) and isinstance(field.parent, Select)):
            raise SkipAction()  # nothing yet, or a Select's open list: its own keys
        if step > 0:
            self.focus_next()
        else:
            self.focus_previous()


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


__all__ = [
    "ConfirmScreen", "FieldError", "FieldInput", "FieldTextArea", "FormDialog", "TkDialog", "key_hints", "literal",
]
