"""ReasonScreen: pick a reason from a list or type one (lost reasons, WIP overrides). Empty is refused."""

from __future__ import annotations

from collections.abc import Sequence

from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from tuikanban.domain.text import display
from tuikanban.ui.dialogs.base import Dialog
from tuikanban.ui.dialogs.fields import FieldError, FieldInput, KeyList, key_hints, literal


class _Choices(KeyList):
    """The list of ready-made reasons; typing a letter jumps to the free-text field."""

    async def on_key(self, event: events.Key) -> None:
        if event.is_printable and event.character and event.character != " ":
            event.stop()
            event.prevent_default()
            box = self.screen.query_one("#reason-input", Input)
            self.screen.set_focus(box)  # now, not after a refresh: the keys that follow go to the field too
            box.insert_text_at_cursor(event.character)


class ReasonScreen(Dialog[str | None]):
    """Ask for a reason: enter on a listed choice picks it, or type free text and press enter."""

    DEFAULT_CSS = """
    ReasonScreen > .dialog { width: 64; }
    ReasonScreen #reason-prompt { margin-top: 1; height: auto; }
    ReasonScreen #reason-choices {
        height: auto;
        max-height: 12;
        margin-top: 1;
        border: none;
        background: $surface;
        padding: 0;
    }
    ReasonScreen #reason-choices:focus { background-tint: $foreground 3%; }
    ReasonScreen #reason-input { margin-top: 1; background: $boost; padding: 0 1; }
    """

    BINDINGS = [Binding("escape", "cancel", "Cancel", show=False)]

    def __init__(self, title: str, prompt: str, choices: Sequence[str] = (), placeholder: str = "") -> None:
        super().__init__()
        self.title_text = title
        self.prompt = prompt
        self.choices = [c for c in choices if display(c)]
        self.placeholder = placeholder or ("or type another reason" if self.choices else "type the reason")

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog") as box:
            box.border_title = Content(display(self.title_text))  # titles may quote user text: never markup
            yield Static(Content(display(self.prompt)), id="reason-prompt")
            if self.choices:
                yield _Choices(*[Option(literal(c), id=f"c{i}") for i, c in enumerate(self.choices)],
                               id="reason-choices")
            yield FieldInput(placeholder=self.placeholder, id="reason-input", compact=True, select_on_focus=False)
            yield FieldError(id="reason-error")
            pairs = [("enter", "pick" if self.choices else "save")]
            if self.choices:
                pairs.append(("tab", "type your own"))
            pairs.append(("esc", "cancel"))
            yield Static(key_hints(*pairs), classes="hints")

    def on_mount(self) -> None:
        # focus now (not after a refresh), so the keys typed straight after the one that opened the dialog land here
        if self.choices:
            choices = self.query_one("#reason-choices", OptionList)
            choices.highlighted = 0
            self.set_focus(choices)
        else:
            self.set_focus(self.query_one("#reason-input", Input))

    @on(OptionList.OptionSelected, "#reason-choices")
    def _picked(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        index = int((event.option_id or "c0")[1:])
        if not self._kept():
            self.dismiss(self.choices[index])

    @on(Input.Submitted, "#reason-input")
    def _typed(self, event: Input.Submitted) -> None:
        event.stop()
        text = display(event.value)
        if not text:
            hint = "Type a reason, or pick one from the list." if self.choices else "Type a reason."
            self.query_one("#reason-error", FieldError).show(hint)
            return
        if not self._kept():
            self.dismiss(text)

    def _kept(self) -> bool:
        """The board's file was replaced: the answer stays here (said) until ctrl+r reopens it."""
        gone = self.board_gone()
        if gone is not None:
            self.query_one("#reason-error", FieldError).show(gone)
        return gone is not None

    @on(Input.Changed, "#reason-input")
    def _changed(self) -> None:
        self.query_one("#reason-error", FieldError).clear()

    def action_cancel(self) -> None:
        self.dismiss(None)


def override_reason(refusal: str) -> ReasonScreen:
    """The question asked before a deal goes past a WIP limit; `refusal` is the limit's sentence."""
    return ReasonScreen("Over the WIP limit", f"{refusal}. Why should this deal go past the limit?",
                        placeholder="reason for the override")


__all__ = ["ReasonScreen", "override_reason"]
