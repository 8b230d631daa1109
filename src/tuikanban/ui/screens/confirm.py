"""The yes/no ConfirmScreen, and the small pieces every modal screen of the board shares.

Shared pieces (imported by the other screens):
- `TkDialog`: a `ModalScreen[T]` base with the dialog look and `run_db`, which runs a database call in a thread
  worker and hands the result (or the `TuikanbanError` sentence) back to the UI thread as a message.
- `FormDialog`: a `TkDialog` with fields. Enter goes to the next field (it saves only on the last one-line field),
  tab / shift+tab move.
- `FieldInput`, `FieldTextArea`, `KeyList`, `KeyTable`: widgets that apply their own key bindings (backspace,
  arrows, ctrl+u...) to themselves.
- `FieldError`: the small inline line under a field ($error colour, hidden while empty).
- `key_hints`: a line of "key description" pairs in theme colours.
- `literal`: user text as literal `Content` (markup never interpreted, control sequences removed).

Keys typed fast (SSH, a paste) arrive together. Textual routes each key to the widget focused when the app reads
it, but a widget's bindings are looked up only when the key has bubbled back to the app, and `Widget.focus()` takes
effect after the keys already queued. So in these dialogs the keys that move focus or open a dialog are priority
bindings (they run when the app reads them, before it routes the next key), focus is set with `Screen.set_focus`
(at once), and those bindings first wait (`keys_settled`) until the keys routed before them are fully applied;
widgets that resolve their own bindings make that wait possible. Every key then acts where it was typed, in order.
Dialog openers await `push_screen` (the dialog is mounted and its field focused before the next key is routed).
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar, TypeVar

from textual import events, on, work
from textual._context import active_message_pump  # the pump handling the current message (private in Textual)
from textual.actions import SkipAction
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.message import Message
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import DataTable, Input, OptionList, Select, Static, TextArea

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


async def _own_binding(widget: Widget, event: events.Key) -> bool:
    """Run `widget`'s own (non-priority) binding for the key on `widget` itself; True when one ran.

    Textual looks a widget's bindings up once the key has bubbled back to the app (through every parent's queue),
    along the focus chain of that moment: in a burst focus may have moved on by then, and a backspace meant for this
    field would edit the next one. `_bindings` is Textual's map of the widget's bindings (keymap applied).
    """
    for binding in widget._bindings.key_to_bindings.get(event.key, ()):
        if not binding.priority and await widget.app.run_action(binding.action, widget):
            event.stop()
            event.prevent_default()
            return True
    return False


class _OwnKeys:
    """Mixin (first base, before the widget class): the widget's own bindings run in the widget, on the key it was
    sent, then its usual key handling. Not a DOMNode itself, so Textual's CSS inheritance follows the widget class."""

    async def _on_key(self, event: events.Key) -> None:
        assert isinstance(self, Widget)
        if not await _own_binding(self, event):
            await super()._on_key(event)  # type: ignore[misc]


class FieldInput(_OwnKeys, Input):
    """A one-line field that applies its editing keys to itself, whichever field has focus when it reads them."""


class FieldTextArea(_OwnKeys, TextArea):
    """A multi-line field (enter is a new line; tab moves on) that applies its editing keys to itself."""


class KeyList(_OwnKeys, OptionList):
    """An OptionList that moves and selects on the keys it was sent."""


class KeyTable(_OwnKeys, DataTable[Content]):
    """A DataTable that moves on the keys it was sent."""


async def _drain(pumps: list[Widget]) -> None:
    """Wait (at most a second) until each widget has handled the messages already in its queue."""
    loop = asyncio.get_running_loop()
    pending: list[asyncio.Future[None]] = []
    for pump in pumps:
        if not pump.is_running:
            continue
        done: asyncio.Future[None] = loop.create_future()

        def finish(future: asyncio.Future[None] = done) -> None:
            if not future.done():
                future.set_result(None)

        if pump.call_later(finish):
            pending.append(done)
    if pending:
        await asyncio.wait(pending, timeout=1.0)


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

    async def fields_settled(self) -> None:
        """Wait until every field has handled the keys already delivered to it."""
        await _drain(list(self.query("Input, TextArea").results(Widget)))

    async def keys_settled(self) -> None:
        """Wait until the keys already routed to the dialog's widgets, and the messages they caused, are handled.

        A priority binding runs as soon as the app reads its key: in a burst, the keys typed just before it may still
        wait in the widgets' queues (characters for a field, a down arrow for a list). A callback posted behind them
        runs once they are applied; doing that from the deepest widgets up to the screen lets what they posted
        (Changed, OptionSelected...) bubble up and be handled too.
        """
        current = active_message_pump.get(None)  # a pump cannot wait for itself
        levels: dict[int, list[Widget]] = {}
        for node in self.walk_children(Widget):
            levels.setdefault(len(node.ancestors), []).append(node)
        for depth in sorted(levels, reverse=True):
            await _drain([node for node in levels[depth] if node is not current])
        if self is not current:
            await _drain([self])

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

    async def settled_for_key(self) -> None:
        """Let the keys typed before this one take effect; if they closed this dialog, the key is not for it."""
        await self.keys_settled()
        if self.app.screen is not self:
            raise SkipAction()  # the app hands the key to what is on screen now

    async def action_field_enter(self) -> None:
        await self.settled_for_key()
        field = self.focused
        what = self.enter_does(field) if field is not None else None
        if what == "next":
            self.focus_next()
        elif what == "submit":
            await self.app.run_action(self.SUBMIT_ACTION, self)
        else:
            raise SkipAction()

    async def action_field_step(self, step: int) -> None:
        await self.settled_for_key()
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
    "ConfirmScreen", "FieldError", "FieldInput", "FieldTextArea", "FormDialog", "KeyList", "KeyTable", "TkDialog",
    "key_hints", "literal",
]
