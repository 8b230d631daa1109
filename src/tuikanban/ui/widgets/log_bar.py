"""LogBar: the one-line bar at the bottom that logs a call, email, meeting or note on a deal in one key plus the
text, with an optional next step in the same line (`text >> +3d follow up`; `domain.tasks.split_log_line`).

The bar only collects the line: it posts `LogBar.Send` (enter) or `LogBar.Cancel` (escape) to its screen, which
runs the write as a job and either closes the bar (`close`) or shows the refusal in it (`refused`), keeping the
text so that nothing typed is lost. Escape with text in the bar asks first (as the forms do: `dialogs.discard`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.content import Content
from textual.message import Message
from textual.widgets import Input, Label

from tuikanban.domain.text import display, display_ends

if TYPE_CHECKING:
    from tuikanban.store.engine import Database


def write_log_line(db: Database, user: str, deal_id: int, deal_title: str, kind: str, line: str) -> str:
    """Log the line (and its next step) in one transaction: the sentence that says what was saved. Runs in a job;
    a refusal raises `TuikanbanError` with its sentence."""
    from tuikanban.domain.tasks import split_log_line
    from tuikanban.services.tasks import log_activity

    body, due, step = split_log_line(line)
    _logged, task = log_activity(db, deal_id, kind, body, user=user, next_due=due, next_text=step)
    note = f"Logged a {kind} on '{display(deal_title)}'"
    if task is not None and task.due is not None:
        note += f"; next step {task.due:%a %d %b}: {display(task.subject)}"
    return note + "."


class LogBar(Horizontal):
    """`kind` (call, email, meeting, note) preset; the deal named in the label."""

    DEFAULT_CSS = """
    LogBar { height: auto; max-height: 4; background: $panel; dock: bottom; }
    LogBar #log-kind { width: auto; padding: 0 1; background: $accent; color: $background; text-style: bold; }
    LogBar #log-text { border: none; height: 1; width: 1fr; padding: 0 1; background: $panel; }
    LogBar #log-text:focus { border: none; }
    LogBar #log-error { width: auto; max-width: 60; height: auto; padding: 0 1; color: $error; text-style: bold; }
    """

    BINDINGS = [Binding("escape", "cancel", "cancel", show=False)]

    class Send(Message):
        def __init__(self, bar: LogBar, text: str) -> None:
            super().__init__()
            self.bar = bar
            self.text = text

    class Cancel(Message):
        def __init__(self, bar: LogBar) -> None:
            super().__init__()
            self.bar = bar

    def __init__(self, deal_id: int, deal_title: str, kind: str) -> None:
        super().__init__(id="log-bar")
        self.deal_id = deal_id
        self.deal_title = deal_title
        self.kind = kind
        self.busy = False

    def compose(self) -> ComposeResult:
        from tuikanban.domain.tasks import LOG_HINT  # (mounted on a key: the first paint imports no task rules)

        title = display(self.deal_title, max_length=24)
        yield Label(Content(f"{self.kind.capitalize()} · {title}"), id="log-kind")
        yield Input(placeholder=f"{LOG_HINT}   (enter saves, esc cancels)", id="log-text")
        yield Label("", id="log-error")

    def on_mount(self) -> None:
        self.query_one("#log-text", Input).focus()

    @on(Input.Submitted, "#log-text")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if not self.busy:
            self.busy = True
            self.post_message(self.Send(self, event.value))

    @on(Input.Changed, "#log-text")
    def _changed(self) -> None:
        self.query_one("#log-error", Label).update("")

    def refused(self, sentence: str) -> None:
        self.busy = False
        self.query_one("#log-error", Label).update(Content(display_ends(sentence, max_length=200)))

    def unsaved(self) -> bool:
        """Whether the bar holds typed text that was not logged."""
        return bool(self.query_one("#log-text", Input).value.strip())

    def action_cancel(self) -> None:
        if not self.unsaved():
            self.post_message(self.Cancel(self))
            return
        from tuikanban.ui.dialogs.confirm import ConfirmScreen

        def answered(yes: bool | None) -> None:
            if yes:
                self.post_message(self.Cancel(self))
            elif self.is_mounted:
                self.query_one("#log-text", Input).focus()

        question = f"Discard the {self.kind} you typed for {display(self.deal_title, max_length=40)}?"
        self.app.push_screen(ConfirmScreen(question, title="Not logged yet"), answered)
