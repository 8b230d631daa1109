"""StageEditScreen: every setting of one stage (name, WIP limits, expected days, probability, exit criteria, and
its gate: the fields a deal needs to enter it and the checklist ticked on each deal). The gate is read on the
reads lane when the dialog opens (`GateRead`) and saved with the rest."""

from __future__ import annotations

from dataclasses import replace
from functools import partial
from typing import TYPE_CHECKING, Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.widgets import Input, Label, Static, TextArea

from tuikanban.domain import wip
from tuikanban.domain.errors import ValidationError
from tuikanban.domain.gates import parse_requirements
from tuikanban.domain.merge import EditConflictError
from tuikanban.domain.models import StageInfo
from tuikanban.domain.text import clean_name, clean_text, display
from tuikanban.ui.dialogs.base import FormDialog, JobResult, Refusal
from tuikanban.ui.dialogs.discard import Unsaved, cancel_asking
from tuikanban.ui.dialogs.fields import FieldError, FieldInput, FieldTextArea, clear_error, key_hints
from tuikanban.ui.jobs import lanes_of
from tuikanban.ui.lazy import lazy_function, lazy_module
from tuikanban.ui.screens.conflicts import CONFLICT_BINDINGS, ConflictBook, conflict_line

if TYPE_CHECKING:
    from tuikanban.services import pipelines as pipeline_service
    from tuikanban.services.gates import set_gate
    from tuikanban.store.engine import Database
else:
    pipeline_service = lazy_module("tuikanban.services.pipelines")
    set_gate = lazy_function("tuikanban.services.gates", "set_gate")


class StageSaved(JobResult):
    def __init__(self, stage: StageInfo) -> None:
        super().__init__()
        self.stage = stage


class GateRead(JobResult):
    def __init__(self, requires: tuple[str, ...], checklist: tuple[str, ...]) -> None:
        super().__init__()
        self.requires = requires
        self.checklist = checklist


def read_gate(db: Database, pipeline_id: int, stage_id: int) -> GateRead:
    from tuikanban.services.gates import stage_gates

    gate = stage_gates(db, pipeline_id).get(stage_id)
    return GateRead(gate.requires, gate.checklist) if gate is not None else GateRead((), ())


class StageReread(JobResult):
    """The stage as stored now (None when it is gone), read after a save an edit conflict stopped."""

    def __init__(self, stage: StageInfo | None) -> None:
        super().__init__()
        self.stage = stage


def read_stage(db: Database, pipeline_id: int, stage_id: int) -> StageReread:
    return StageReread(next((s for s in pipeline_service.list_stages(db, pipeline_id) if s.id == stage_id), None))


class StageRefused(Refusal):
    """The services refused the stage's new settings (a duplicate name, limits that contradict each other)."""


def optional_int(text: str, what: str, *, low: int = 0, high: int | None = None) -> int | None:
    """A whole number typed in a field, or None when the field is empty; `what` names it in the refusal."""
    raw = text.strip()
    if not raw:
        return None
    try:
        value = int(raw)
    except ValueError:
        raise ValidationError(f"The {what} must be a whole number, not '{raw}'.") from None
    if value < low or (high is not None and value > high):
        limit = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise ValidationError(f"The {what} must be {limit} (not {value}).")
    return value


_STAGE_FIELDS = (
    ("name", "Name", ""),
    ("wip_max", "WIP max", "empty: no limit"),
    ("wip_min", "WIP min", "empty: none"),
    ("rep_wip_max", "Per-rep max", "empty: no limit per owner"),
    ("expected_days", "Expected days", "empty: learnt from history"),
    ("probability", "Probability %", "0-100, for the weighted forecast"),
)


_GATE_FIELDS = (
    ("require", "Required", "value, close, company, contact, owner, next_step"),
    ("checklist", "Checklist", "Budget confirmed; Decision maker named"),
)


class StageEditScreen(Unsaved, FormDialog[StageInfo | None]):
    """Every setting of one stage; returns the saved stage. Enter goes to the next field (a new line in the exit
    criteria); ctrl+s saves from any field."""

    DEFAULT_CSS = """
    StageEditScreen > .dialog { width: 72; }
    StageEditScreen .form-row { margin-top: 0; }
    StageEditScreen .form-row.first { margin-top: 1; }
    StageEditScreen #se-exit_criteria { height: 4; background: $boost; }
    """

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", show=False),
        Binding("ctrl+s", "save", "Save", show=False, priority=True),
        *CONFLICT_BINDINGS,
    ]

    def __init__(self, db: Database, pipeline_id: int, stage: StageInfo) -> None:
        super().__init__()
        self.db = db
        self.pipeline_id = pipeline_id
        self.stage = stage
        # what the form loaded, as the merge base: a setting another rep changed meanwhile is kept unless this
        # user changed it too (then they choose, field by field)
        self.book = ConflictBook({k: getattr(stage, k) for k in pipeline_service.STAGE_LABELS})
        # the gate's fields as read when the dialog opened ("" until the read arrives): a save writes a gate field
        # only when the rep changed it, so a gate another rep set meanwhile is not written over
        self._gate_as_read = {"require": "", "checklist": ""}

    def _initial(self, field: str) -> str:
        value = getattr(self.stage, field)
        return "" if value is None else str(value)

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog") as box:
            box.border_title = Content(f"Stage · {display(self.stage.name)}")  # literal, never markup
            for i, (field, label, placeholder) in enumerate(_STAGE_FIELDS):
                with Horizontal(classes="form-row first" if i == 0 else "form-row"):
                    yield Label(label, classes="field-label")
                    with Vertical(classes="field-box"):
                        yield FieldInput(self._initial(field), placeholder=placeholder, id=f"se-{field}",
                                         compact=True)
                        yield FieldError(id=f"see-{field}")
            with Horizontal(classes="form-row"):
                yield Label("Exit criteria", classes="field-label")
                with Vertical(classes="field-box"):
                    yield FieldTextArea(self.stage.exit_criteria, id="se-exit_criteria", compact=True,
                                        soft_wrap=True, show_line_numbers=False, tab_behavior="focus")
                    yield FieldError(id="see-exit_criteria")
            for field, label, placeholder in _GATE_FIELDS:
                with Horizontal(classes="form-row"):
                    yield Label(label, classes="field-label")
                    with Vertical(classes="field-box"):
                        yield FieldInput("", placeholder=placeholder, id=f"se-{field}", compact=True)
                        yield FieldError(id=f"see-{field}")
            yield FieldError(id="see-form")
            yield Static(key_hints(("enter", "next field"), ("ctrl+s", "save"), ("tab", "move"), ("esc", "cancel")),
                         classes="hints")

    def on_mount(self) -> None:
        self.set_focus(self.query_one("#se-name", Input))  # the first field, its label lit; now, not later
        lanes_of(self).reads.submit(self, partial(read_gate, self.db, self.pipeline_id, self.stage.id),
                                    name="read stage gate")

    @on(GateRead)
    def _gate_read(self, message: GateRead) -> None:
        for field, value in (("require", ", ".join(message.requires)), ("checklist", "; ".join(message.checklist))):
            self._gate_as_read[field] = value
            box = self.query_one(f"#se-{field}", Input)
            if not box.value:  # (unless typed into already)
                box.value = value

    @on(Input.Changed)
    def _changed(self, event: Input.Changed) -> None:
        if (event.input.id or "se-")[3:] in self.book.waiting:
            return  # the other rep's value stays beside the field until the user chooses
        clear_error(self, f"#see-{(event.input.id or 'se-')[3:]}")
        self.query_one("#see-form", FieldError).clear()

    async def action_save(self) -> None:
        if self.busy:
            return
        await self.keys_settled()  # the keys typed just before ctrl+s are in the fields
        if self.busy or self.app.screen is not self:
            return
        problems: dict[str, str] = {}
        values: dict[str, Any] = {}
        name = self.query_one("#se-name", Input).value
        try:
            name = clean_name(name, what="stage")
        except ValidationError as exc:
            problems["name"] = str(exc)
        what = {"wip_max": "WIP max", "wip_min": "WIP min", "rep_wip_max": "per-rep WIP max",
                "expected_days": "expected days", "probability": "probability"}
        for field, label in what.items():
            low = 1 if field == "expected_days" else 0
            high = 100 if field == "probability" else None
            try:
                values[field] = optional_int(self.query_one(f"#se-{field}", Input).value, label, low=low,
                                              high=high)
            except ValidationError as exc:
                problems[field] = str(exc)
        if not problems:
            try:
                wip.validate_limits(values["wip_max"], values["wip_min"], values["rep_wip_max"],
                                    stage=display(self.stage.name))
            except ValidationError as exc:
                problems["wip_min"] = str(exc)
        values["probability"] = values.get("probability") or 0
        values["exit_criteria"] = clean_text(self.query_one("#se-exit_criteria", TextArea).text,
                                             multiline=True).strip()
        require = self.query_one("#se-require", Input).value
        checklist = self.query_one("#se-checklist", Input).value
        try:
            parse_requirements(require)
        except ValidationError as exc:
            problems["require"] = str(exc)
        if self.show_problems(problems, (f for f, _, _ in (*_STAGE_FIELDS, *_GATE_FIELDS)), field_id="se-{}",
                              error_id="see-{}"):
            return
        self.busy = True
        db, pipeline_id, stage_id, base = self.db, self.pipeline_id, self.stage.id, dict(self.book.base)
        rename = name if name != self.stage.name else None
        # None keeps what is stored: a gate field the rep left as read is not written back
        new_require = (require.strip() or "none") if require.strip() != self._gate_as_read["require"].strip() else None
        new_checklist = checklist if checklist.strip() != self._gate_as_read["checklist"].strip() else None

        def save() -> StageSaved:
            if rename is not None:
                pipeline_service.rename_stage(db, pipeline_id, stage_id, rename)
            saved = pipeline_service.set_stage(db, pipeline_id, stage_id, base=base, **values)
            if new_require is not None or new_checklist is not None:
                set_gate(db, pipeline_id, stage_id, require=new_require, checklist=new_checklist)
            return StageSaved(saved)

        self.run_job(save, refused=StageRefused, name="save stage")

    @on(StageSaved)
    def _saved(self, message: StageSaved) -> None:
        self.busy = False
        self.dismiss(message.stage)

    @on(StageRefused)
    def _refused(self, message: StageRefused) -> None:
        self.busy = False
        self.query_one("#see-form", FieldError).show(str(message.error))
        if isinstance(message.error, EditConflictError):
            if self.stage.name != self.query_one("#se-name", Input).value.strip():
                self.stage = replace(self.stage, name=self.query_one("#se-name", Input).value.strip())
            for conflict in self.book.arrived(message.error):
                shown = "" if conflict.theirs is None else str(conflict.theirs)
                self.query_one(f"#see-{conflict.field}", FieldError).show(conflict_line(conflict, shown))
            lanes_of(self).reads.submit(self, partial(read_stage, self.db, self.pipeline_id, self.stage.id),
                                        name="read stage again")

    @on(StageReread)
    def _stage_reread(self, message: StageReread) -> None:
        """The fields the rep did not type into show what is stored now (another rep's values), read from it."""
        stored = message.stage
        if stored is None:
            return
        for field in ("name", *pipeline_service.STAGE_LABELS):
            if field in self.book.waiting:
                continue
            value = getattr(stored, field)
            if field == "exit_criteria":
                area = self.query_one("#se-exit_criteria", TextArea)
                if area.text != clean_text(self.stage.exit_criteria or "", multiline=True):
                    continue  # typed into: it keeps what the rep typed
                area.text = clean_text(value or "", multiline=True)
            else:
                box = self.query_one(f"#se-{field}", Input)
                if box.value != self._initial(field):
                    continue
                box.value = "" if value is None else str(value)
            self.stage = replace(self.stage, **{field: value})
            if field in self.book.base:
                self.book.base[field] = value

    def _choice(self) -> tuple[str, str] | None:
        """(field, the other rep's value as text) the choice key answers; its conflict line is cleared."""
        focused = self.focused.id if self.focused is not None and self.focused.id else ""
        conflict = self.book.choose(focused[3:])
        if conflict is None:
            return None
        self.query_one(f"#see-{conflict.field}", FieldError).clear()
        return conflict.field, "" if conflict.theirs is None else str(conflict.theirs)

    def action_keep_mine(self) -> None:
        self._choice()

    def action_take_theirs(self) -> None:
        chosen = self._choice()
        if chosen is None:
            return
        field, theirs = chosen
        if field == "exit_criteria":
            self.query_one("#se-exit_criteria", TextArea).text = theirs
        else:
            self.query_one(f"#se-{field}", Input).value = theirs

    def unsaved(self) -> bool:
        typed = any(self.query_one(f"#se-{f}", Input).value != self._initial(f) for f, _, _ in _STAGE_FIELDS)
        criteria = clean_text(self.stage.exit_criteria or "", multiline=True)  # as the field shows it
        return typed or self.query_one("#se-exit_criteria", TextArea).text != criteria

    def action_cancel(self) -> None:
        cancel_asking(self, partial(self.dismiss, None))


__all__ = ["StageEditScreen", "StageRefused", "StageSaved", "optional_int"]
