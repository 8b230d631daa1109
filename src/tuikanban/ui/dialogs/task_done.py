"""TaskDoneScreen: finish a task with an outcome note and set the next step, in one small form and one transaction
(`services.tasks.complete_task`). The next step's date takes the same shortcuts as every date field
(`domain.dates.parse_due`: `+3d`, `mon`, `eom`...)."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Input, Label, Static

from tuikanban.domain.dates import HELP
from tuikanban.domain.errors import TaskDoneError, ValidationError
from tuikanban.domain.records import ActivityView
from tuikanban.ui.dialogs.base import FormDialog, JobResult, Refusal
from tuikanban.ui.dialogs.discard import Unsaved, cancel_asking
from tuikanban.ui.dialogs.fields import FieldError, FieldInput, key_hints, literal

if TYPE_CHECKING:
    from tuikanban.store.engine import Database


class TaskFinished(JobResult):
    def __init__(self, done: ActivityView, next_task: ActivityView | None) -> None:
        super().__init__()
        self.done = done
        self.next_task = next_task


class TaskRefused(Refusal):
    """An empty next-step text with a date, a date the parser does not know, a task done meanwhile."""


def _keep_on_deal(db: Database, user: str, deal_id: int, note: str | None, due: str | None,
                  text: str) -> TaskFinished:
    """The outcome as a note and the next step as a task, on the deal of a task another rep finished."""
    from tuikanban.services.tasks import add_task, log_activity

    if note is not None:
        logged, nxt = log_activity(db, deal_id, "note", note, user=user, next_due=due, next_text=text or None)
        return TaskFinished(logged, nxt)
    if due is None and not text:
        raise ValidationError("Nothing was typed to keep; esc closes this.")
    if due is None:
        raise ValidationError("A next step needs a due date as well as its text.")
    nxt = add_task(db, deal_id, text, due, user=user)
    return TaskFinished(nxt, nxt)


class TaskDoneScreen(Unsaved, FormDialog[ActivityView | None]):
    """Returns the new next-step task (or None when there is none, or on escape: `finished` tells them apart)."""

    DEFAULT_CSS = """
    TaskDoneScreen > .dialog { width: 72; }
    TaskDoneScreen #td-task { margin-top: 1; height: auto; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel", show=False), Binding("ctrl+s", "save", "Save", show=False)]
    SUBMIT_ON_ENTER: ClassVar[frozenset[str]] = frozenset({"td-next-text"})

    def __init__(self, db: Database, user: str, task_id: int, task_text: str, deal_title: str) -> None:
        super().__init__()
        self.db = db
        self.user = user
        self.task_id = task_id
        self.task_text = task_text
        self.deal_title = deal_title
        self.finished = False
        self.done_elsewhere: int | None = None  # the deal of the task another rep finished meanwhile

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog") as box:
            box.border_title = "Done"
            yield Static(literal(f"{self.deal_title}: {self.task_text}", max_length=200), id="td-task")
            for name, label, hint in (("note", "Outcome", "what happened (optional)"),
                                      ("next-due", "Next step on", "+3d, mon, eom... (optional)"),
                                      ("next-text", "Next step", "what to do then")):
                with Horizontal(classes="form-row"):
                    yield Label(label, classes="field-label")
                    yield FieldInput(placeholder=hint, id=f"td-{name}", compact=True)
            yield FieldError(id="td-error")
            yield Static(literal(f"Dates: {HELP}."), classes="muted")
            yield Static(key_hints(("enter", "next field / save"), ("ctrl+s", "save"), ("esc", "cancel")),
                         classes="hints")

    def on_mount(self) -> None:
        self.set_focus(self.query_one("#td-note", Input))

    def _value(self, name: str) -> str:
        return self.query_one(f"#td-{name}", Input).value.strip()

    @on(Input.Changed)
    def _changed(self) -> None:
        self.query_one("#td-error", FieldError).clear()

    def action_save(self) -> None:
        if self.busy:
            return
        self.busy = True
        note, due, text = self._value("note") or None, self._value("next-due") or None, self._value("next-text")
        db, user, task_id = self.db, self.user, self.task_id
        if self.done_elsewhere is not None:  # finished by another rep: what this rep typed goes on the deal
            self.run_job(partial(_keep_on_deal, db, user, self.done_elsewhere, note, due, text), refused=TaskRefused,
                         name="task done")
            return

        def job() -> TaskFinished:
            from tuikanban.services.tasks import complete_task

            done, nxt = complete_task(db, task_id, user=user, note=note, next_due=due, next_text=text or None)
            return TaskFinished(done, nxt)

        self.run_job(job, refused=TaskRefused, name="task done")

    @on(TaskFinished)
    def _finished(self, message: TaskFinished) -> None:
        self.busy = False
        self.finished = True
        self.dismiss(message.next_task)

    @on(TaskRefused)
    def _refused(self, message: TaskRefused) -> None:
        self.busy = False
        error = message.error
        sentence = str(error)
        if isinstance(error, TaskDoneError) and self.done_elsewhere is None:
            self.done_elsewhere = error.deal_id
            sentence = (f"{sentence.rstrip('.')}. ctrl+s saves your outcome as a note on the deal and your next "
                        "step as a new task; esc drops them.")
        self.query_one("#td-error", FieldError).show(sentence)

    def unsaved(self) -> bool:
        """Whether the rep typed an outcome or a next step (escape and ctrl+c ask before dropping it)."""
        return any(self.query_one(f"#td-{name}", Input).value.strip() for name in ("note", "next-due", "next-text"))

    def action_cancel(self) -> None:
        cancel_asking(self, partial(self.dismiss, None))
