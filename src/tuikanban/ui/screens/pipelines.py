"""PipelineSwitcher: pick a pipeline (type to filter), or create a new one. Also the new-pipeline form that
FirstRunScreen reuses."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.widget import Widget
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from tuikanban.domain.errors import DuplicateError, ValidationError
from tuikanban.domain.metrics import plural
from tuikanban.domain.models import STARTER_STAGES, PipelineInfo
from tuikanban.domain.money import format_money, normalise_currency
from tuikanban.domain.text import clean_name, display, name_key
from tuikanban.ui.dialogs.base import FormDialog, JobResult, Refusal
from tuikanban.ui.dialogs.fields import FieldError, FieldInput, KeyList, clear_error, key_hints, literal
from tuikanban.ui.lazy import lazy_module
from tuikanban.ui.spares import AheadOfKey

if TYPE_CHECKING:
    from tuikanban.services import pipelines as pipeline_service
    from tuikanban.store.engine import Database
else:
    pipeline_service = lazy_module("tuikanban.services.pipelines")


@dataclass(frozen=True, slots=True)
class NewPipeline:
    """What the new-pipeline form holds once it is valid."""

    name: str
    stages: list[str]
    currency: str
    types: list[str]


class PipelineForm(Vertical):
    """Name, stages (comma-separated), currency and optional deal types, validated inline."""

    DEFAULT_CSS = """
    PipelineForm { height: auto; }
    """

    def __init__(self, *, name: str = "", stages: str = "", currency: str = "USD", types: str = "",
                 with_types: bool = True, id: str | None = None) -> None:
        super().__init__(id=id)
        self.initial = {"name": name, "stages": stages, "currency": currency, "types": types}
        self.with_types = with_types

    def compose(self) -> ComposeResult:
        rows = [("name", "Name", "pipeline name"), ("stages", "Stages", "comma-separated, left to right"),
                ("currency", "Currency", "ISO code such as USD or EUR")]
        if self.with_types:
            rows.append(("types", "Deal types", "optional swimlanes, e.g. New business, Expansion, Renewal"))
        for field, label, placeholder in rows:
            with Horizontal(classes="form-row"):
                yield Label(label, classes="field-label")
                with Vertical(classes="field-box"):
                    yield FieldInput(self.initial[field], placeholder=placeholder, id=f"pf-{field}",
                                     compact=True)
                    yield FieldError(id=f"pe-{field}")

    def set_values(self, **values: str) -> None:
        for field, value in values.items():
            self.query_one(f"#pf-{field}", Input).value = value

    def show_error(self, field: str, message: str) -> None:
        self.query_one(f"#pe-{field}", FieldError).show(message)
        if message:
            self.screen.set_focus(self.query_one(f"#pf-{field}", Input))  # now: the keys typed next go there

    def clear_errors(self) -> None:
        for error in self.query(FieldError):
            error.clear()

    @on(Input.Changed)
    def _changed(self, event: Input.Changed) -> None:
        clear_error(self, f"#pe-{(event.input.id or 'pf-')[3:]}")

    def check(self, taken: Iterable[str] = ()) -> NewPipeline | None:
        """Check the fields; show each problem under its field (the first one gets focus)."""
        problems: dict[str, str] = {}
        values = {f: self.query_one(f"#pf-{f}", Input).value
                  for f in ("name", "stages", "currency", "types") if f != "types" or self.with_types}
        name = ""
        try:
            name = clean_name(values["name"], what="pipeline")
            if name_key(name) in set(taken):
                problems["name"] = f"A pipeline named '{name}' already exists."
        except ValidationError as exc:
            problems["name"] = str(exc)
        stages: list[str] = []
        try:
            if not values["stages"].strip():
                raise ValidationError("Give at least one stage, for example: Lead, Qualified, Proposal.")
            stages = pipeline_service.parse_stage_list(values["stages"])
        except ValidationError as exc:
            problems["stages"] = str(exc)
        currency = "USD"
        try:
            currency = normalise_currency(values["currency"] or "USD")
        except ValidationError as exc:
            problems["currency"] = str(exc)
        types: list[str] = []
        if self.with_types and values["types"].strip():
            try:
                types = [clean_name(t, what="deal type") for t in values["types"].split(",") if t.strip()]
                keys = [name_key(t) for t in types]
                if len(set(keys)) != len(keys):
                    problems["types"] = "The deal type names repeat."
            except ValidationError as exc:
                problems["types"] = str(exc)
        self.clear_errors()
        for field in ("types", "currency", "stages", "name"):  # the first field in the form ends up focused
            if field in problems:
                self.show_error(field, problems[field])
        if problems:
            return None
        return NewPipeline(name, stages, currency, types)


@dataclass(frozen=True, slots=True)
class _Row:
    pipeline: PipelineInfo
    open_deals: int
    open_value: int
    stages: int


class PipelineCreated(JobResult):
    def __init__(self, pipeline: PipelineInfo) -> None:
        super().__init__()
        self.pipeline = pipeline


class NewPipelineRefused(Refusal):
    """The new pipeline was refused (most often: another pipeline has its name)."""


class NewPipelineDialog(FormDialog[int | None]):
    """A dialog with a `PipelineForm` and a `#new-error` line; creating the pipeline dismisses it with its id."""

    def create_pipeline(self, db: Database, new: NewPipeline, *, make_default: bool) -> None:
        self.busy = True
        self.run_job(lambda: PipelineCreated(pipeline_service.create_pipeline(
            db, new.name, new.stages, currency=new.currency, types=new.types, make_default=make_default,
        )), refused=NewPipelineRefused, name="create pipeline")

    @on(PipelineCreated)
    def _pipeline_created(self, message: PipelineCreated) -> None:
        self.busy = False
        self.dismiss(message.pipeline.id)

    @on(NewPipelineRefused)
    def _create_refused(self, message: NewPipelineRefused) -> None:
        self.busy = False
        if isinstance(message.error, DuplicateError):
            self.query_one(PipelineForm).show_error("name", str(message.error))
        else:
            self.query_one("#new-error", FieldError).show(str(message.error))


def _read_rows(db: Database) -> list[_Row]:
    return [_Row(t.pipeline, t.open_deals, t.open_value_minor, t.stages) for t in pipeline_service.pipeline_totals(db)]


class PipelinesRead(JobResult):
    def __init__(self, rows: list[_Row]) -> None:
        super().__init__()
        self.rows = rows


class _PipelineList(KeyList):
    """The pipelines; `n` starts a new one (a key of the screen), any other letter goes on filtering."""

    async def on_key(self, event: events.Key) -> None:
        if event.is_printable and event.character and event.character not in " n":
            event.stop()
            event.prevent_default()
            box = self.screen.query_one("#pick-filter", Input)
            self.screen.set_focus(box)
            box.insert_text_at_cursor(event.character)


class PipelineSwitcher(AheadOfKey, NewPipelineDialog):
    """Returns the chosen (or newly created) pipeline id, or None when cancelled.

    Its keys run when the app reads them (priority), so a burst such as ctrl+n, a name, enter, stages... fills the
    right fields.
    """

    DEFAULT_CSS = """
    PipelineSwitcher > .dialog { width: 80; }
    PipelineSwitcher #pick-filter { margin-top: 1; background: $boost; padding: 0 1; }
    PipelineSwitcher #pick-list {
        height: auto;
        max-height: 16;
        margin-top: 1;
        border: none;
        padding: 0;
        background: $surface;
    }
    PipelineSwitcher #pick-new { display: none; height: auto; }
    PipelineSwitcher #new-hints { display: none; }
    """

    BINDINGS = [
        Binding("escape", "back", "Cancel", show=False),
        Binding("ctrl+n", "new", "New pipeline", show=False, priority=True),
        Binding("n", "new_from_list", "New pipeline", show=False, priority=True),  # a letter in the fields
        Binding("ctrl+s", "create", "Create", show=False, priority=True),
        Binding("down", "cursor(1)", show=False, priority=True),  # from the filter field
        Binding("up", "cursor(-1)", show=False, priority=True),
    ]

    SUBMIT_ON_ENTER = frozenset({"pf-types"})
    SUBMIT_ACTION = "create"

    def __init__(self, db: Database, current_id: int | None) -> None:
        super().__init__()
        self.db = db
        self.current_id = current_id
        self.rows: list[_Row] = []
        self.shown: list[_Row] = []

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog") as box:
            box.border_title = "Pipelines"
            yield Input(placeholder="type to filter", id="pick-filter", compact=True, select_on_focus=False)
            yield _PipelineList(id="pick-list")
            with Vertical(id="pick-new"):
                yield Static("New pipeline", classes="section-title")
                yield PipelineForm(stages=", ".join(STARTER_STAGES), id="new-form")
                yield FieldError(id="new-error")
            yield Static(key_hints(("↑↓", "choose"), ("enter", "switch"), ("ctrl+n", "new pipeline"),
                                   ("esc", "cancel")), classes="hints", id="pick-hints")
            yield Static(key_hints(("ctrl+s", "create"), ("enter", "next field"), ("esc", "back")),
                         classes="hints", id="new-hints")

    def on_mount(self) -> None:
        if self.built_while_closing():
            return
        self.set_focus(self.query_one("#pick-filter", Input))  # now: the keys typed next filter
        self.start_unless_ahead()

    def start(self) -> None:
        db = self.db
        self.run_job(lambda: PipelinesRead(_read_rows(db)), name="read pipelines")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        focused = self.focused
        if action == "new_from_list":
            return focused is not None and focused.id == "pick-list"
        if action == "cursor":  # the list moves itself when it has focus
            return not self.has_class("-new") and focused is not None and focused.id == "pick-filter"
        return True

    def enter_does(self, field: Widget) -> str | None:
        if field.id == "pick-filter":
            return None  # the field's own enter: switch to the highlighted pipeline
        return super().enter_does(field)

    @on(PipelinesRead)
    def _pipelines_read(self, message: PipelinesRead) -> None:
        rows = self.rows = message.rows
        self._refilter()
        if not rows:
            self._open_new()

    def _describe(self, row: _Row) -> Content:
        current = row.pipeline.id == self.current_id
        return Content.assemble(
            ("● " if current else "  ", "$accent"),
            literal(row.pipeline.name, style="bold" if current else ""),
            (f"   {row.open_deals} open · {format_money(row.open_value, row.pipeline.currency, compact=True)}"
             f" · {plural(row.stages, 'stage')} · {row.pipeline.currency}", "$text-muted"),
        )

    def _refilter(self) -> None:
        needle = self.query_one("#pick-filter", Input).value.strip().casefold()
        self.shown = [r for r in self.rows if needle in display(r.pipeline.name).casefold()]
        box = self.query_one("#pick-list", OptionList)
        box.clear_options()
        if self.shown:
            box.add_options([Option(self._describe(r), id=f"p{r.pipeline.id}") for r in self.shown])
            current = next((i for i, r in enumerate(self.shown) if r.pipeline.id == self.current_id), 0)
            box.highlighted = current if not needle else 0
        else:
            box.add_option(Option(Content.styled("No pipeline matches; ctrl+n creates one.", "$text-muted"),
                                  disabled=True))

    @on(Input.Changed, "#pick-filter")
    def _filter_changed(self) -> None:
        self._refilter()

    async def action_cursor(self, step: int) -> None:
        await self.settled_for_key()  # the filter typed just before is applied
        if self.has_class("-new"):
            return
        box = self.query_one("#pick-list", OptionList)
        if box.has_focus or not self.shown:
            return
        box.highlighted = max(0, min(len(self.shown) - 1, (box.highlighted or 0) + step))

    @on(Input.Submitted, "#pick-filter")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        box = self.query_one("#pick-list", OptionList)
        if self.shown and box.highlighted is not None:
            self.dismiss(self.shown[box.highlighted].pipeline.id)

    @on(OptionList.OptionSelected, "#pick-list")
    def _picked(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(self.shown[event.option_index].pipeline.id)

    # -- new pipeline -------------------------------------------------------------------------------
    def _show_new(self, new: bool) -> None:
        """Switch between the list and the new-pipeline form. `display` is set on the widgets (not through a CSS
        class, which applies on the next refresh) so that the focus chain is right for the very next key."""
        self.set_class(new, "-new")
        for selector in ("#pick-filter", "#pick-list", "#pick-hints"):
            self.query_one(selector).display = not new
        for selector in ("#pick-new", "#new-hints"):
            self.query_one(selector).display = new

    async def action_new(self) -> None:
        await self.settled_for_key()
        self._open_new()

    def _open_new(self) -> None:
        if self.has_class("-new"):
            return
        self._show_new(True)
        self.set_focus(self.query_one("#new-form", PipelineForm).query_one("#pf-name", Input))

    async def action_new_from_list(self) -> None:
        await self.action_new()

    def action_back(self) -> None:
        if self.has_class("-new") and self.rows:
            self._show_new(False)
            self.set_focus(self.query_one("#pick-filter", Input))
        else:
            self.dismiss(None)

    async def action_create(self) -> None:
        if not self.has_class("-new") or self.busy:
            return
        await self.keys_settled()  # the keys typed just before ctrl+s are in the fields
        if self.busy or self.app.screen is not self:
            return
        form = self.query_one("#new-form", PipelineForm)
        new = form.check({name_key(r.pipeline.name) for r in self.rows})
        if new is None:
            return
        self.create_pipeline(self.db, new, make_default=False)


__all__ = [
    "NewPipeline",
    "NewPipelineDialog",
    "NewPipelineRefused",
    "PipelineCreated",
    "PipelineForm",
    "PipelineSwitcher",
    "PipelinesRead",
]
