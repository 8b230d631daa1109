"""PickerScreen: type to filter a list (fuzzy, `domain.fuzzy`), `↑` `↓` to choose, `enter` to pick, `esc` to
cancel. Returns the picked candidate's key. The candidates are handed in, or read by a job (`load`) whose message
is a `Candidates`."""

from __future__ import annotations

from collections.abc import Sequence

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from tuikanban.domain.fuzzy import Candidate, rank
from tuikanban.domain.text import display
from tuikanban.ui.dialogs.base import Dialog, JobResult
from tuikanban.ui.dialogs.fields import FieldInput, key_hints, literal
from tuikanban.ui.jobs import Job

SHOWN = 50  # matches listed at most


class Candidates(JobResult):
    def __init__(self, items: list[Candidate]) -> None:
        super().__init__()
        self.items = items


class PickerScreen(Dialog[int | None]):
    DEFAULT_CSS = """
    PickerScreen > .dialog { width: 90; }
    PickerScreen #picker-prompt { margin-top: 1; height: auto; }
    PickerScreen #picker-input { margin-top: 1; background: $boost; padding: 0 1; }
    PickerScreen #picker-list { height: auto; max-height: 16; margin-top: 1; border: none; background: $surface; }
    """

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", show=False),
        Binding("down", "cursor(1)", show=False),
        Binding("up", "cursor(-1)", show=False),
    ]

    def __init__(self, title: str, prompt: str, items: Sequence[Candidate] = (), *, load: Job | None = None,
                 placeholder: str = "type to filter") -> None:
        super().__init__()
        self.title_text = title
        self.prompt = prompt
        self.items = list(items)
        self.load = load
        self.placeholder = placeholder
        self.shown: list[Candidate] = []

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog") as box:
            box.border_title = Content(display(self.title_text))
            yield Static(Content(display(self.prompt)), id="picker-prompt")
            yield FieldInput(placeholder=self.placeholder, id="picker-input", compact=True, select_on_focus=False)
            yield OptionList(id="picker-list")
            yield Static(key_hints(("↑↓", "choose"), ("enter", "pick"), ("esc", "cancel")), classes="hints")

    def on_mount(self) -> None:
        self.set_focus(self.query_one("#picker-input", Input))
        if self.load is not None:
            self.run_job(self.load, name="picker")
        self._filter("")

    @on(Candidates)
    def _loaded(self, message: Candidates) -> None:
        self.items = message.items
        self._filter(self.query_one("#picker-input", Input).value)

    @on(Input.Changed, "#picker-input")
    def _typed(self, event: Input.Changed) -> None:
        self._filter(event.value)

    def _filter(self, query: str) -> None:
        self.shown = rank(query, self.items, SHOWN)
        options = self.query_one("#picker-list", OptionList)
        options.clear_options()
        options.add_options([Option(literal(c.label)) for c in self.shown])
        if self.shown:
            options.highlighted = 0

    def action_cursor(self, delta: int) -> None:
        options = self.query_one("#picker-list", OptionList)
        if self.shown:
            at = options.highlighted if options.highlighted is not None else 0
            options.highlighted = max(0, min(len(self.shown) - 1, at + delta))

    @on(Input.Submitted, "#picker-input")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        at = self.query_one("#picker-list", OptionList).highlighted
        if self.shown and at is not None:
            self.dismiss(self.shown[at].key)
        else:
            self.app.bell()

    @on(OptionList.OptionSelected, "#picker-list")
    def _clicked(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(self.shown[event.option_index].key)

    def action_cancel(self) -> None:
        self.dismiss(None)


__all__ = ["Candidates", "PickerScreen"]
