"""GateScreen: a move (or reopen) refused by a stage gate. In one dialog: fill the missing fields right there and
then move (ctrl+s), or force it with a reason, logged as `gate_override` (ctrl+o), or cancel (esc).

The dialog only collects text; the board's job saves the fields (`services.deals.edit_deal`, and for a next step
`services.tasks.add_task`), then moves, so the service's rules (money, dates, the gate itself) stay in one place.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import Input, Label, Static

from tuikanban.domain.errors import ValidationError
from tuikanban.domain.text import display
from tuikanban.ui.dialogs.base import Dialog, JobResult
from tuikanban.ui.dialogs.fields import FieldError, FieldInput, key_hints
from tuikanban.ui.screens.close_dates import parse_close_date

# missing gate field -> (label, placeholder); next_step has a second input for its due date
FIELDS = {
    "value": ("Value", "12,500"),
    "close": ("Expected close", "YYYY-MM-DD, +30d, eom"),
    "company": ("Company", ""),
    "contact": ("Contact", ""),
    "owner": ("Owner", ""),
    "next_step": ("Next step (task)", "call to agree the proposal"),
}
DUE_ID = "gate-next_step-due"


@dataclass(frozen=True, slots=True)
class GateChoice:
    """What the user chose: `fields` to save (edit_deal keys) and a `task` (text, due) then move, or `reason`.
    `draft_reason`: a reason typed but not used (the user filled the fields instead), kept should the dialog come
    back."""

    fields: dict[str, str] = field(default_factory=dict)
    task: tuple[str, str] | None = None
    reason: str | None = None
    draft_reason: str = ""


class GateRechecked(JobResult):
    """What the gate requires of the deal as stored now and it lacks (`GateScreen.recheck`)."""

    def __init__(self, missing: tuple[str, ...]) -> None:
        super().__init__()
        self.missing = missing


class GateScreen(Dialog[GateChoice | None]):
    DEFAULT_CSS = """
    GateScreen > .dialog { width: 72; }
    GateScreen #gate-prompt { margin: 1 0; height: auto; }
    GateScreen Label { margin-top: 1; color: $text-muted; }
    GateScreen FieldInput { background: $boost; padding: 0 1; }
    """

    BINDINGS = [
        Binding("ctrl+s", "fill", "fill and move", show=False),
        Binding("ctrl+o", "force", "force with reason", show=False),
        Binding("escape", "cancel", "cancel", show=False),
    ]

    def __init__(self, sentence: str, missing: tuple[str, ...], verb: str = "move", *, closed: bool = False,
                 typed: GateChoice | None = None, problem: str | None = None,
                 recheck: Callable[[], tuple[str, ...]] | None = None) -> None:
        """`closed`: the deal is being reopened, and a closed deal takes no task, so a missing next step cannot be
        filled here (forcing, or a stage without that requirement, remain). `typed`: what the user typed the last
        time the dialog was shown for this move (it comes back filled in when the service refused it), and
        `problem` the sentence saying why. `recheck` (run as a job): what the gate lacks now; a field left empty
        is asked for only if it is still missing then (another rep may have loosened the gate or filled it in)."""
        super().__init__()
        self.recheck = recheck
        self._empty: tuple[str, ...] = ()
        self._choice: GateChoice | None = None
        self.typed = typed
        self.problem = problem
        self.sentence = sentence
        self.missing = tuple(m for m in missing if m in FIELDS and not (closed and m == "next_step"))
        self.note = " A next step can be added once the deal is open." if closed and "next_step" in missing else ""
        self.verb = verb

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog") as box:
            box.border_title = Content("Stage gate")
            yield Static(Content(display(self.sentence) + f". Fill it in and {self.verb}, or force it with a reason."
                                 + self.note), id="gate-prompt")
            for name in self.missing:
                label, placeholder = FIELDS[name]
                yield Label(label)
                yield FieldInput(self._typed(name), placeholder=placeholder, id=f"gate-{name}", compact=True)
                if name == "next_step":
                    yield Label("Due")
                    yield FieldInput(self._typed("due"), placeholder="+3d, mon, eow, YYYY-MM-DD", id=DUE_ID,
                                     compact=True)
            yield Label("Or a reason to force it (logged)")
            yield FieldInput(self._typed("reason"), placeholder="reason for the override", id="gate-reason",
                             compact=True)
            yield FieldError(id="gate-error")
            yield Static(key_hints(("ctrl+s", f"fill and {self.verb}"), ("ctrl+o", "force with the reason"),
                                   ("esc", "cancel")), classes="hints")

    def _typed(self, name: str) -> str:
        t = self.typed
        if t is None:
            return ""
        if name == "reason":
            return t.reason or t.draft_reason
        if name in ("next_step", "due"):
            return "" if t.task is None else t.task[0 if name == "next_step" else 1]
        return t.fields.get(name, "")

    def on_mount(self) -> None:
        self.set_focus(self.query(FieldInput).first())
        if self.problem:
            self.query_one("#gate-error", FieldError).show(display(self.problem))

    def _value(self, widget_id: str) -> str:
        return display(self.query_one(f"#{widget_id}", Input).value).strip()

    def _kept(self) -> bool:
        """The board's file was replaced: what was typed stays here (said) until ctrl+r reopens it."""
        gone = self.board_gone()
        if gone is not None:
            self.query_one("#gate-error", FieldError).show(gone)
        return gone is not None

    def action_fill(self) -> None:
        if self._kept():
            return
        fields: dict[str, str] = {}
        task: tuple[str, str] | None = None
        empty: list[str] = []
        for name in self.missing:
            text = self._value(f"gate-{name}")
            if not text:
                empty.append(name)
                continue
            if name == "next_step":
                due = self._value(DUE_ID)
                if not due:
                    self._ask_for("The next step needs a due date.", DUE_ID)
                    return
                task = (text, due)
            elif name == "close":
                # the placeholder's shortcuts (+30d, eom, fri) as the deal form reads them; the service takes a date
                try:
                    when = parse_close_date(text)
                except ValidationError as exc:
                    self._ask_for(display(str(exc)), "gate-close")
                    return
                fields[name] = when.isoformat() if when is not None else text
            else:
                fields[name] = text
        choice = GateChoice(fields, task, draft_reason=self._value("gate-reason"))
        if empty and self.recheck is not None:  # is it still required? the gate as stored now says
            self._empty, self._choice = tuple(empty), choice
            recheck = self.recheck
            self.run_job(lambda: GateRechecked(recheck()), name="gate recheck")
            return
        if empty:
            self._ask_for(f"{FIELDS[empty[0]][0]} is still empty.", f"gate-{empty[0]}")
            return
        self.dismiss(choice)

    @on(GateRechecked)
    def _rechecked(self, message: GateRechecked) -> None:
        still = [name for name in self._empty if name in message.missing]
        if still:
            self._ask_for(f"{FIELDS[still[0]][0]} is still empty.", f"gate-{still[0]}")
        elif self._choice is not None:  # loosened (or filled in) meanwhile: nothing left empty is required now
            self.dismiss(self._choice)

    def _ask_for(self, sentence: str, widget_id: str) -> None:
        self.query_one("#gate-error", FieldError).show(sentence)
        self.set_focus(self.query_one(f"#{widget_id}", Input))

    def action_force(self) -> None:
        if self._kept():
            return
        reason = self._value("gate-reason")
        if not reason:
            self.query_one("#gate-error", FieldError).show("Type the reason for forcing it.")
            return
        self.dismiss(GateChoice(reason=reason))

    @on(Input.Submitted)
    def _enter(self, event: Input.Submitted) -> None:
        """Enter in the reason forces; anywhere else it goes to the next field (ctrl+s saves)."""
        event.stop()
        if event.input.id == "gate-reason":
            self.action_force()
        else:
            self.focus_next()

    @on(Input.Changed)
    def _changed(self, event: Input.Changed) -> None:
        if self.typed is not None and event.input.id is not None and event.value == self._typed(
                "due" if event.input.id == DUE_ID else event.input.id.removeprefix("gate-")):
            return  # a field filled in with what was typed before: the sentence under them stays until an edit
        self.query_one("#gate-error", FieldError).clear()

    def action_cancel(self) -> None:
        self.dismiss(None)


__all__ = ["FIELDS", "GateChoice", "GateRechecked", "GateScreen"]
