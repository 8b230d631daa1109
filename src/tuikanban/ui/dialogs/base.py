"""The base classes of the board's dialogs.

- `Dialog`: a `ModalScreen[T]` with the dialog look (a centred box on a dimmed board) that runs its database work
  as jobs on the app's write lane (`tuikanban.ui.jobs`). A job returns a typed message (a `JobResult`) that the
  dialog handles with `@on(...)`; a refusal the dialog expects comes back as its own `Refusal` message, and any
  other failure as `JobFailed`, which `Dialog` shows as a notification unless the subclass handles it first (and
  calls `prevent_default()`).
- `FormDialog`: a `Dialog` with fields. Enter goes to the next field (it saves only on the last one-line field),
  tab / shift+tab move.

A job's message is dropped when the dialog has been dismissed in the meantime, so whatever depends on a result is
done in its handler, never before the job.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Self, TypeVar

from rich.console import RenderableType
from textual import on
from textual.actions import SkipAction
from textual.binding import Binding
from textual.geometry import Region
from textual.message import Message
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Input, OptionList, Select

from tuikanban.domain.errors import FileReplacedError, TuikanbanError
from tuikanban.ui.dialogs.fields import FieldError
from tuikanban.ui.dialogs.keys import drain, settle_keys
from tuikanban.ui.jobs import Job, JobFailed, lanes_of
from tuikanban.ui.styled_once import StyledOnce
from tuikanban.ui.textual_seam import TintedBackground

if TYPE_CHECKING:
    from textual.app import App

    from tuikanban.ui.board.screen import BoardScreen

T = TypeVar("T")


class JobResult(Message, bubble=False):
    """What a dialog's database job reports; handled by the dialog that ran the job, never passed up to the app."""

    def __init_subclass__(cls, bubble: bool | None = False, verbose: bool = False, no_dispatch: bool | None = False,
                          namespace: str | None = None) -> None:
        # Textual's default for a subclass is to bubble again: keep every result in its dialog.
        super().__init_subclass__(bubble=bubble, verbose=verbose, no_dispatch=no_dispatch, namespace=namespace)


class Refusal(JobResult):
    """The services refused the job (a WIP limit, a duplicate name, a stale edit): `error` says why in one
    sentence."""

    def __init__(self, error: TuikanbanError) -> None:
        super().__init__()
        self.error = error


def _refusing(job: Job, refused: Callable[[TuikanbanError], Message]) -> Job:
    def run() -> Message | None:
        try:
            return job()
        except TuikanbanError as exc:
            return refused(exc)

    return run


def board_of(app: App[Any]) -> BoardScreen | None:
    """The board under the dialogs of the tuikanban app (None in another app, as a dialog tried on its own)."""
    from tuikanban.ui.app import TuikanbanApp

    return app.board_screen if isinstance(app, TuikanbanApp) else None


def _kept(refused: Callable[[TuikanbanError], Message], board: BoardScreen) -> Callable[[TuikanbanError], Message]:
    """`refused`, but a write refused because the board's file went away says that what was typed is kept and how
    to save it (the board's watch may not have looked since: it looks now, and says so too)."""
    def run(error: TuikanbanError) -> Message:
        if isinstance(error, FileReplacedError):
            from tuikanban.ui.board.file_watch import FileRefused, kept

            board.post_message(FileRefused())  # (from the lane's thread: post_message is thread-safe)
            error = kept(error)
        return refused(error)

    return run


def failure_sentence(error: BaseException) -> str:
    """What the user is told about a failed job: a refusal's own sentence, or that something went wrong."""
    if isinstance(error, TuikanbanError):
        return str(error)
    return f"Something went wrong: {type(error).__name__}: {error}"


class Dialog(StyledOnce, ModalScreen[T]):
    """Base of the board's modal screens: a centred box on a dimmed board, database work as jobs."""

    DEFAULT_CSS = """
    Dialog {
        align: center middle;
        background: $background 55%;
    }
    Dialog > .dialog {
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
    Dialog .hints {
        height: auto;
        margin-top: 1;
    }
    Dialog .section-title {
        color: $text-accent;
        text-style: bold;
        height: 1;
    }
    Dialog .form-row {
        height: auto;
        margin-top: 1;
    }
    Dialog .form-row > .field-label {
        width: 15;
        margin-right: 1;
        text-align: right;
        color: $text-muted;
    }
    Dialog .form-row:focus-within > .field-label {
        color: $accent;
        text-style: bold;
    }
    Dialog .form-row Input.-textual-compact {
        padding: 0 1;
        background: $boost;
    }
    Dialog .form-row > Input, Dialog .form-row > Select {
        width: 1fr;
    }
    Dialog .form-row > TextArea {
        width: 1fr;
        height: 4;
    }
    Dialog .form-row > .field-box {
        width: 1fr;
        height: auto;
    }
    Dialog .banner {
        display: none;
        height: auto;
        padding: 0 1;
        margin-top: 1;
        background: $warning 15%;
        color: $text;
    }
    Dialog .banner.-shown { display: block; }
    Dialog .banner.-error { background: $error 15%; }
    Dialog .muted { color: $text-muted; }
    Dialog .form-row:focus-within {
        /* No style of its own: it makes Textual restyle the row (and so its label) when focus enters or leaves,
           which it does not do for `.form-row:focus-within > .field-label` alone. */
    }
    """

    BINDINGS = [Binding("ctrl+r", "reopen_board", "reopen the board's file", show=False)]

    busy: bool = False
    _tint: TintedBackground | None = None

    def board_gone(self) -> str | None:
        """The sentence when the board's file was replaced under this dialog, whose answer the board would write
        (and refuse, the answer lost): the dialog stays, with what was typed, until ctrl+r reopens the file."""
        board = board_of(self.app)
        if board is None or board.files.gone is None:
            return None
        return ("The board file was replaced while this was open, so nothing can be saved yet. What you typed is "
                "kept here: press ctrl+r to reopen the file at that path, then answer again to save it there.")

    def action_reopen_board(self) -> None:
        """The board's file was replaced while this was open: reopen the file at that path from here, without
        closing this (what the rep typed stays, and saving again puts it into the reopened file)."""
        board = board_of(self.app)
        if board is None or not board.reopen_replaced():
            raise SkipAction()

    def render(self) -> RenderableType:
        # The dimmed board under the dialog is drawn once, not on every draw of this screen (ui/textual_seam.py,
        # docs/PERFORMANCE.md, The board at 100,000 deals: screens).
        if self._tint is None:
            self._tint = TintedBackground()
        return self._tint.wrap(super().render())

    def refresh(self, *regions: Region, repaint: bool = True, layout: bool = False,
                recompose: bool = False) -> Self:
        if regions and self._tint is not None:
            self._tint.forget()  # the board under the dialog changed: Textual refreshes those regions here
        return super().refresh(*regions, repaint=repaint, layout=layout, recompose=recompose)

    def run_job(self, job: Job, *, refused: Callable[[TuikanbanError], Message] | None = None,
                name: str = "", kind: str = "") -> None:
        """Run `job` on the app's write lane, after every write submitted before it; its message comes back here.

        With `refused`, a refusal by the services (a `TuikanbanError`, whose sentence is for the user) comes back as
        `refused(error)`; without it, and for anything else, the job's failure arrives as `JobFailed`. `kind`:
        `jobs.EARLY` for a read that needs no ORM (`Database.read_plain`), which then runs ahead of the warm-up
        after start (`jobs.Lane`), never ahead of a write.
        """
        label = name or getattr(job, "__name__", "job")
        board = board_of(self.app)
        if refused is not None and board is not None:
            refused = _kept(refused, board)
        lanes_of(self).writes.submit(self, job if refused is None else _refusing(job, refused), name=label,
                                     kind=kind)

    @on(JobFailed)
    def _job_failed(self, message: JobFailed) -> None:
        message.stop()
        self.busy = False
        if not isinstance(message.error, TuikanbanError):
            self.log.error(f"job {message.job} failed: {message.error!r}")
        self.notify(failure_sentence(message.error), severity="error", markup=False)

    async def fields_settled(self) -> None:
        """Wait until every field has handled the keys already delivered to it."""
        await drain(list(self.query("Input, TextArea").results(Widget)))

    async def keys_settled(self) -> None:
        """Wait until the keys already routed to the dialog's widgets, and the messages they caused, are handled."""
        await settle_keys(self)


class FormDialog(Dialog[T]):
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

    def show_problems(self, problems: Mapping[str, str], fields: Iterable[str], *, field_id: str,
                      error_id: str) -> bool:
        """Show each field's problem under it (clearing the others) and focus the first field with one, at once: the
        keys typed next go to the field to fix. `field_id` and `error_id` make the widgets' ids from a field's name
        ("se-{}", "see-{}"). True when there was a problem."""
        names = list(fields)
        for name in names:
            self.query_one(f"#{error_id.format(name)}", FieldError).show(problems.get(name, ""))
        first = next((name for name in names if name in problems), None)
        if first is not None:
            target = self.query_one(f"#{field_id.format(first)}")
            if target.focusable:
                self.set_focus(target)
        return first is not None

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


__all__ = ["Dialog", "FormDialog", "JobResult", "Refusal", "board_of", "failure_sentence"]
