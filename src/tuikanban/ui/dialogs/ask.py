"""AskScreen: one line of text, checked and applied by a database job (a name for a new stage, a WIP limit)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Input, Static

from tuikanban.ui.dialogs.base import Dialog, JobResult, Refusal
from tuikanban.ui.dialogs.fields import FieldError, FieldInput, key_hints, literal

R = TypeVar("R")


class Answered(JobResult, Generic[R]):
    """The job applied the text; `result` is what it returned (the saved stage, the new deal type...)."""

    def __init__(self, result: R) -> None:
        super().__init__()
        self.result = result


class AnswerRefused(Refusal):
    """The services refused the text (a duplicate name, a limit out of range)."""


class AskScreen(Dialog[R | None], Generic[R]):
    """One line of text; enter runs `apply(text)` as a job. Its refusal is shown inline; success returns the job's
    result."""

    DEFAULT_CSS = """
    AskScreen > .dialog { width: 64; }
    AskScreen #ask-prompt { margin-top: 1; height: auto; }
    AskScreen #ask-input { margin-top: 1; background: $boost; padding: 0 1; }
    """

    BINDINGS = [Binding("escape", "cancel", "Cancel", show=False)]

    def __init__(self, title: str, prompt: str, apply: Callable[[str], R], *, initial: str = "",
                 placeholder: str = "") -> None:
        super().__init__()
        self.title_text = title
        self.prompt = prompt
        self.apply = apply
        self.initial = initial
        self.placeholder = placeholder

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog") as box:
            box.border_title = self.title_text
            yield Static(literal(self.prompt), id="ask-prompt")
            yield FieldInput(self.initial, placeholder=self.placeholder, id="ask-input", compact=True)
            yield FieldError(id="ask-error")
            yield Static(key_hints(("enter", "save"), ("esc", "cancel")), classes="hints")

    def on_mount(self) -> None:
        self.set_focus(self.query_one("#ask-input", Input))  # now: the keys typed next land in it

    @on(Input.Changed, "#ask-input")
    def _changed(self) -> None:
        self.query_one("#ask-error", FieldError).clear()

    @on(Input.Submitted, "#ask-input")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if self.busy:
            return
        self.busy = True
        text, apply = event.value, self.apply
        self.run_job(lambda: Answered(apply(text)), refused=AnswerRefused, name=self.title_text)

    @on(Answered)
    def _answered(self, message: Answered[R]) -> None:
        self.busy = False
        self.dismiss(message.result)

    @on(AnswerRefused)
    def _refused(self, message: AnswerRefused) -> None:
        self.busy = False
        self.query_one("#ask-error", FieldError).show(str(message.error))

    def action_cancel(self) -> None:
        self.dismiss(None)


__all__ = ["AnswerRefused", "Answered", "AskScreen"]
