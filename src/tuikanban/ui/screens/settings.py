"""PipelineSettingsScreen: the pipeline's name, currency, target, stale days and lost reasons; its stages (add,
rename, reorder, archive, limits, expected days, probability, exit criteria); its deal types. Keyboard only."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from textual import events, on
from textual.actions import SkipAction
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import DataTable, Input, Label, OptionList, Static, TextArea
from textual.widgets.option_list import Option

from tuikanban.domain import wip
from tuikanban.domain.errors import TuikanbanError, ValidationError
from tuikanban.domain.models import DealTypeInfo, PipelineInfo, StageInfo
from tuikanban.domain.money import format_money, normalise_currency, parse_money
from tuikanban.domain.text import clean_name, clean_text, display
from tuikanban.services import pipelines as pipeline_service
from tuikanban.services.pipelines import StageRow
from tuikanban.store.engine import Database
from tuikanban.ui.screens.confirm import (
    ConfirmScreen,
    FieldError,
    FieldInput,
    FieldTextArea,
    FormDialog,
    KeyList,
    KeyTable,
    TkDialog,
    key_hints,
    literal,
)

R = TypeVar("R")


# -- small prompts ------------------------------------------------------------------------------------


class AskScreen(TkDialog[R | None], Generic[R]):
    """One line of text; enter runs `action(text)` in a worker. Its refusal is shown inline; success returns
    the action's result."""

    DEFAULT_CSS = """
    AskScreen > .dialog { width: 64; }
    AskScreen #ask-prompt { margin-top: 1; height: auto; }
    AskScreen #ask-input { margin-top: 1; background: $boost; padding: 0 1; }
    """

    BINDINGS = [Binding("escape", "cancel", "Cancel", show=False)]

    def __init__(self, title: str, prompt: str, action: Callable[[str], R], *, initial: str = "",
                 placeholder: str = "") -> None:
        super().__init__()
        self.title_text = title
        self.prompt = prompt
        self.action = action
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
        text = event.value

        def failed(exc: TuikanbanError) -> None:
            self.busy = False
            self.query_one("#ask-error", FieldError).show(str(exc))

        def done(result: R) -> None:
            self.busy = False
            self.dismiss(result)

        self.run_db(lambda: self.action(text), done, failed)

    def action_cancel(self) -> None:
        self.dismiss(None)


def _optional_int(text: str, what: str, *, low: int = 0, high: int | None = None) -> int | None:
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


class StageEditScreen(FormDialog[StageInfo | None]):
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
    ]

    def __init__(self, db: Database, pipeline_id: int, stage: StageInfo) -> None:
        super().__init__()
        self.db = db
        self.pipeline_id = pipeline_id
        self.stage = stage

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
            yield FieldError(id="see-form")
            yield Static(key_hints(("enter", "next field"), ("ctrl+s", "save"), ("tab", "move"), ("esc", "cancel")),
                         classes="hints")

    def on_mount(self) -> None:
        self.set_focus(self.query_one("#se-name", Input))  # the first field, its label lit; now, not later

    @on(Input.Changed)
    def _changed(self, event: Input.Changed) -> None:
        field = (event.input.id or "se-")[3:]
        errors = self.query(f"#see-{field}")
        if errors:
            errors.first(FieldError).clear()
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
                values[field] = _optional_int(self.query_one(f"#se-{field}", Input).value, label, low=low,
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
        for field, _, _ in _STAGE_FIELDS:
            self.query_one(f"#see-{field}", FieldError).show(problems.get(field, ""))
        if problems:
            first = next(f for f, _, _ in _STAGE_FIELDS if f in problems)
            self.set_focus(self.query_one(f"#se-{first}", Input))
            return
        self.busy = True
        stage_id = self.stage.id
        rename = name if name != self.stage.name else None

        def call() -> StageInfo:
            if rename is not None:
                pipeline_service.rename_stage(self.db, self.pipeline_id, stage_id, rename)
            return pipeline_service.set_stage(self.db, self.pipeline_id, stage_id, **values)

        def done(stage: StageInfo) -> None:
            self.busy = False
            self.dismiss(stage)

        def failed(exc: TuikanbanError) -> None:
            self.busy = False
            self.query_one("#see-form", FieldError).show(str(exc))

        self.run_db(call, done, failed)

    def action_cancel(self) -> None:
        self.dismiss(None)


# -- the settings screen --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Settings:
    pipeline: PipelineInfo
    stages: list[StageRow]
    types: list[DealTypeInfo]


class _StageTable(KeyTable):
    BINDINGS = [
        Binding("shift+up,K", "screen.move_stage(-1)", "Move up"),
        Binding("shift+down,J", "screen.move_stage(1)", "Move down"),
    ]


class _TypeList(KeyList):
    """The deal types (a, r, d are the screen's keys)."""


_PIPE_FIELDS = (
    ("name", "Name", "pipeline name"),
    ("currency", "Currency", "ISO code"),
    ("target", "Target", "revenue target, empty for none"),
    ("stale_days", "Stale days", "days without activity before a deal is flagged"),
    ("lost_reasons", "Lost reasons", "comma-separated"),
)

_HINTS = {
    "pipe": key_hints(("enter", "next field, saves on the last"), ("ctrl+s", "save pipeline"),
                      ("tab", "next panel"), ("esc", "close")),
    "stages": key_hints(("enter", "edit"), ("a", "add"), ("r", "rename"), ("w", "WIP max"),
                        ("K J", "move"), ("d", "archive"), ("tab", "next panel"), ("esc", "close")),
    "types": key_hints(("a", "add"), ("r", "rename"), ("d", "remove"), ("tab", "next panel"), ("esc", "close")),
}


class PipelineSettingsScreen(FormDialog[bool]):
    """Returns True when anything was changed.

    The keys that open a dialog (a, r, w, d, enter on a stage) are priority bindings that wait for the dialog to be
    mounted: the app reads the next key only then, so what is typed straight after the key lands in the dialog.
    They act on the stage table or the type list, whichever has focus; in the pipeline fields they are just letters.
    """

    DEFAULT_CSS = """
    PipelineSettingsScreen > .dialog { width: 116; height: 94%; }
    PipelineSettingsScreen .panel {
        border: round $panel;
        border-title-color: $text-muted;
        padding: 0 1;
        height: auto;
    }
    PipelineSettingsScreen .panel:focus-within { border: round $primary; border-title-color: $text; }
    PipelineSettingsScreen #top { height: auto; margin-top: 1; }
    PipelineSettingsScreen #pipe-panel { width: 1fr; }
    PipelineSettingsScreen #types-panel { width: 38; margin-left: 1; height: 100%; }
    PipelineSettingsScreen #stages-panel { height: 1fr; }
    PipelineSettingsScreen .form-row { margin-top: 0; }
    PipelineSettingsScreen #type-list { height: 1fr; border: none; padding: 0; background: $surface; }
    PipelineSettingsScreen #stage-table { height: 1fr; background: $surface; }
    PipelineSettingsScreen #stage-exit { height: auto; max-height: 3; color: $text-muted; }
    """

    BINDINGS = [
        Binding("escape", "close", "Close", show=False),
        Binding("ctrl+s", "save_pipeline", "Save", show=False, priority=True),
        Binding("a", "add", "Add", show=False, priority=True),
        Binding("r", "rename", "Rename", show=False, priority=True),
        Binding("w", "wip_max", "WIP max", show=False, priority=True),
        Binding("d,delete", "remove", "Archive / remove", show=False, priority=True),
    ]

    SUBMIT_ON_ENTER = frozenset({"pp-lost_reasons"})
    SUBMIT_ACTION = "save_pipeline"

    def __init__(self, db: Database, pipeline_id: int, user: str) -> None:
        super().__init__()
        self.db = db
        self.pipeline_id = pipeline_id
        self.user = user
        self.changed = False
        self.data: _Settings | None = None
        self._read = asyncio.Event()  # set once the first read is in

    # -- layout and loading -------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog") as box:
            box.border_title = "Pipeline settings"
            with Horizontal(id="top"):
                with Vertical(id="pipe-panel", classes="panel") as pipe:
                    pipe.border_title = "Pipeline"
                    for field, label, placeholder in _PIPE_FIELDS:
                        with Horizontal(classes="form-row"):
                            yield Label(label, classes="field-label")
                            with Vertical(classes="field-box"):
                                yield FieldInput(placeholder=placeholder, id=f"pp-{field}", compact=True)
                                yield FieldError(id=f"ppe-{field}")
                with Vertical(id="types-panel", classes="panel") as types:
                    types.border_title = "Deal types (swimlanes)"
                    yield _TypeList(id="type-list")
                    yield FieldError(id="type-error")
            with Vertical(id="stages-panel", classes="panel") as stages:
                stages.border_title = "Stages (left to right)"
                yield _StageTable(id="stage-table", cursor_type="row", zebra_stripes=True)
                yield Static("", id="stage-exit")
                yield FieldError(id="stage-error")
            yield Static(_HINTS["stages"], classes="hints", id="settings-hints")

    def on_mount(self) -> None:
        table = self.query_one("#stage-table", DataTable)
        for label, width in (("#", 2), ("Stage", 20), ("Open", 5), ("WIP max", 7), ("WIP min", 7),
                             ("Per rep", 7), ("Exp. days", 9), ("Prob.", 5), ("Exit criteria", 26)):
            table.add_column(label, width=width)
        self.set_focus(table)  # now, so the keys typed next reach it
        self.reload()

    def _load(self) -> _Settings:
        pipeline, stages = pipeline_service.stage_rows(self.db, self.pipeline_id)
        types = pipeline_service.list_types(self.db, self.pipeline_id)
        return _Settings(pipeline, stages, types)

    def reload(self, *, stage_id: int | None = None, type_id: int | None = None, fields: bool = True) -> None:
        """Read everything again; keep the cursor on `stage_id` / `type_id` when given."""

        def loaded(data: _Settings) -> None:
            self.data = data
            self._show(data, stage_id=stage_id, type_id=type_id, fields=fields)
            self._read.set()

        self.run_db(self._load, loaded)

    def _show(self, data: _Settings, *, stage_id: int | None, type_id: int | None, fields: bool) -> None:
        p = data.pipeline
        self.query_one(".dialog", Vertical).border_title = Content(f"Pipeline settings · {display(p.name)}")
        if fields:
            self.query_one("#pp-name", Input).value = p.name
            self.query_one("#pp-currency", Input).value = p.currency
            self.query_one("#pp-target", Input).value = (
                "" if p.target_minor is None else format_money(p.target_minor, p.currency, symbol=False)
            )
            self.query_one("#pp-stale_days", Input).value = str(p.stale_days)
            self.query_one("#pp-lost_reasons", Input).value = ", ".join(p.lost_reasons)
            for error in self.query("#pipe-panel FieldError"):
                if isinstance(error, FieldError):
                    error.clear()
        table = self.query_one("#stage-table", DataTable)
        keep = table.cursor_row
        table.clear()

        def num(value: int | None) -> Content:
            return Content("—") if value is None else Content(str(value))

        for i, row in enumerate(data.stages):
            st = row.stage
            state = wip.wip_state(row.open_deals, st.wip_max, st.wip_min)
            count_style = {"at_limit": "$error", "over": "bold reverse $error", "under": "$warning"}.get(
                state.value, "")
            table.add_row(
                Content(str(i + 1)), literal(st.name, style="bold"),
                Content.styled(str(row.open_deals), count_style), num(st.wip_max), num(st.wip_min),
                num(st.rep_wip_max), num(st.expected_days), Content(f"{st.probability}%"),
                literal(st.exit_criteria, max_length=40) if st.exit_criteria else Content.styled("—", "$text-muted"),
                key=str(st.id),
            )
        ids = [r.stage.id for r in data.stages]
        if ids:
            table.move_cursor(row=ids.index(stage_id) if stage_id in ids else min(keep, len(ids) - 1))
        self._show_exit()
        types = self.query_one("#type-list", OptionList)
        keep_type = types.highlighted
        types.clear_options()
        if data.types:
            types.add_options([Option(literal(t.name), id=f"t{t.id}") for t in data.types])
            type_ids = [t.id for t in data.types]
            types.highlighted = (type_ids.index(type_id) if type_id in type_ids
                                 else min(keep_type or 0, len(type_ids) - 1))
        else:
            types.add_option(Option(Content.styled("No deal types: one lane. Press a to add.", "$text-muted"),
                                    disabled=True))

    def _show_exit(self) -> None:
        stage = self._current_stage()
        box = self.query_one("#stage-exit", Static)
        if stage is None or not stage.stage.exit_criteria:
            box.update("")
            return
        box.update(Content.assemble((f"Exit criteria of {display(stage.stage.name)}: ", "bold"),
                                    literal(stage.stage.exit_criteria)))

    @on(DataTable.RowHighlighted, "#stage-table")
    def _highlighted(self) -> None:
        self._show_exit()

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        panel = "stages"
        node: Widget | None = event.widget
        while node is not None:
            if node.id == "pipe-panel":
                panel = "pipe"
                break
            if node.id == "types-panel":
                panel = "types"
                break
            node = node.parent if isinstance(node.parent, Widget) else None
        self.query_one("#settings-hints", Static).update(_HINTS[panel])

    # -- helpers ------------------------------------------------------------------------------------
    def _current_stage(self) -> StageRow | None:
        if self.data is None or not self.data.stages:
            return None
        row = self.query_one("#stage-table", DataTable).cursor_row
        return self.data.stages[row] if 0 <= row < len(self.data.stages) else None

    def _current_type(self) -> DealTypeInfo | None:
        if self.data is None or not self.data.types:
            return None
        index = self.query_one("#type-list", OptionList).highlighted
        return self.data.types[index] if index is not None and 0 <= index < len(self.data.types) else None

    def _panel(self) -> str | None:
        """"stages" or "types" when the stage table or the type list has focus."""
        focused = self.focused
        if focused is not None and focused.id == "stage-table":
            return "stages"
        if focused is not None and focused.id == "type-list":
            return "types"
        return None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("add", "rename", "remove"):
            return self._panel() is not None  # in the pipeline fields these keys are letters
        if action == "wip_max":
            return self._panel() == "stages"
        return True

    async def _ready(self) -> bool:
        """Wait for the first read (a key typed straight after opening the screen); True when there is data."""
        if self.data is None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._read.wait(), timeout=5.0)
        return self.data is not None

    async def _open(self, screen: Screen[Any], callback: Callable[[Any], None]) -> None:
        """Push a dialog and wait until it is mounted (its field focused) before the app reads the next key."""
        await self.app.push_screen(screen, callback)

    async def _panel_for_key(self) -> str:
        """The panel a key typed now is for, once the keys before it took effect (a letter in a field: skip)."""
        await self.settled_for_key()
        panel = self._panel()
        if panel is None:
            raise SkipAction()
        return panel

    async def action_add(self) -> None:
        if await self._panel_for_key() == "types":
            await self.action_add_type()
        else:
            await self.action_add_stage()

    async def action_rename(self) -> None:
        if await self._panel_for_key() == "types":
            await self.action_rename_type()
        else:
            await self.action_rename_stage()

    async def action_remove(self) -> None:
        if await self._panel_for_key() == "types":
            await self.action_remove_type()
        else:
            await self.action_archive_stage()

    async def action_wip_max(self) -> None:
        if await self._panel_for_key() == "stages":
            await self._wip_max()

    async def action_field_enter(self) -> None:
        await self.settled_for_key()
        if self._panel() == "stages":
            await self._edit_current_stage()
        else:
            await super().action_field_enter()

    def _stage_error(self, message: str) -> None:
        self.query_one("#stage-error", FieldError).show(message)

    def _type_error(self, message: str) -> None:
        self.query_one("#type-error", FieldError).show(message)

    def _changed_ok(self, message: str, *, stage_id: int | None = None, type_id: int | None = None) -> None:
        self.changed = True
        self.busy = False
        self._stage_error("")
        self._type_error("")
        self.notify(message, markup=False, timeout=3)
        self.reload(stage_id=stage_id, type_id=type_id, fields=False)

    # -- pipeline fields ----------------------------------------------------------------------------
    @on(Input.Changed)
    def _field_changed(self, event: Input.Changed) -> None:
        field = (event.input.id or "pp-")[3:]
        errors = self.query(f"#ppe-{field}")
        if errors:
            errors.first(FieldError).clear()

    async def action_save_pipeline(self) -> None:
        if self.busy or not await self._ready():
            return
        await self.keys_settled()  # the keys typed just before ctrl+s are in the fields
        if self.data is None or self.busy or self.app.screen is not self:
            return
        p = self.data.pipeline
        values = {f: self.query_one(f"#pp-{f}", Input).value for f, _, _ in _PIPE_FIELDS}
        problems: dict[str, str] = {}
        kwargs: dict[str, Any] = {}
        try:
            name = clean_name(values["name"], what="pipeline")
            if name != p.name:
                kwargs["name"] = name
        except ValidationError as exc:
            problems["name"] = str(exc)
        currency = p.currency
        try:
            currency = normalise_currency(values["currency"])
            if currency != p.currency:
                kwargs["currency"] = currency
        except ValidationError as exc:
            problems["currency"] = str(exc)
        try:
            target = parse_money(values["target"], currency) if values["target"].strip() else None
            if target != p.target_minor:
                kwargs["target"] = target
        except ValidationError as exc:
            problems["target"] = str(exc)
        try:
            stale = _optional_int(values["stale_days"], "stale-activity days", low=1)
            if stale is None:
                raise ValidationError("The stale-activity days must be at least 1.")
            if stale != p.stale_days:
                kwargs["stale_days"] = stale
        except ValidationError as exc:
            problems["stale_days"] = str(exc)
        reasons = [display(r) for r in values["lost_reasons"].split(",") if display(r)]
        if tuple(reasons) != p.lost_reasons:
            kwargs["lost_reasons"] = reasons
        for field, _, _ in _PIPE_FIELDS:
            self.query_one(f"#ppe-{field}", FieldError).show(problems.get(field, ""))
        if problems:
            first = next(f for f, _, _ in _PIPE_FIELDS if f in problems)
            self.set_focus(self.query_one(f"#pp-{first}", Input))
            return
        if not kwargs:
            self.notify("Nothing to save: the pipeline fields are unchanged.", markup=False, timeout=3)
            return
        self.busy = True

        def done(_: PipelineInfo) -> None:
            self.busy = False
            self.changed = True
            self.notify("Saved the pipeline settings.", markup=False, timeout=3)
            self.reload(fields=True)

        def failed(exc: TuikanbanError) -> None:
            self.busy = False
            field = "name" if "pipeline named" in str(exc) else "lost_reasons"
            self.query_one(f"#ppe-{field}", FieldError).show(str(exc))

        self.run_db(lambda: pipeline_service.update_pipeline(self.db, self.pipeline_id, **kwargs), done, failed)

    # -- stages -------------------------------------------------------------------------------------
    @on(DataTable.RowSelected, "#stage-table")
    async def _stage_clicked(self, event: DataTable.RowSelected) -> None:
        event.stop()  # a click: enter is the priority binding above
        await self._edit_current_stage()

    async def _edit_current_stage(self) -> None:
        if not await self._ready():
            return
        row = self._current_stage()
        if row is None:
            return

        def saved(stage: StageInfo | None) -> None:
            if stage is not None:
                self._changed_ok(f"Saved stage {stage.name}.", stage_id=stage.id)

        await self._open(StageEditScreen(self.db, self.pipeline_id, row.stage), saved)

    async def action_add_stage(self) -> None:
        if not await self._ready() or self.data is None:
            return
        row = self._current_stage()
        position = self.data.stages.index(row) + 1 if row is not None else None
        where = f"after {display(row.stage.name)}" if row is not None else "at the end"

        def added(stage: StageInfo | None) -> None:
            if stage is not None:
                self._changed_ok(f"Added stage {stage.name}.", stage_id=stage.id)

        await self._open(AskScreen(
            "Add stage", f"Name of the new stage (it goes {where}):",
            lambda name: pipeline_service.add_stage(self.db, self.pipeline_id, name, position=position),
            placeholder="stage name",
        ), added)

    async def action_rename_stage(self) -> None:
        if not await self._ready():
            return
        row = self._current_stage()
        if row is None:
            return
        stage_id = row.stage.id

        def renamed(stage: StageInfo | None) -> None:
            if stage is not None:
                self._changed_ok(f"Renamed the stage to {stage.name}.", stage_id=stage.id)

        await self._open(AskScreen(
            "Rename stage", f"New name for {display(row.stage.name)}:",
            lambda name: pipeline_service.rename_stage(self.db, self.pipeline_id, stage_id, name),
            initial=row.stage.name,
        ), renamed)

    async def _wip_max(self) -> None:
        if not await self._ready():
            return
        row = self._current_stage()
        if row is None:
            return
        stage = row.stage

        def set_max(text: str) -> StageInfo:
            value = _optional_int(text, "WIP max")
            return pipeline_service.set_stage(self.db, self.pipeline_id, stage.id, wip_max=value)

        def saved(info: StageInfo | None) -> None:
            if info is not None:
                limit = "no WIP limit" if info.wip_max is None else f"a WIP limit of {info.wip_max}"
                self._changed_ok(f"{info.name} now has {limit}.", stage_id=info.id)

        await self._open(AskScreen(
            "WIP max", f"WIP max for {display(stage.name)} ({row.open_deals} open now); empty for no limit:",
            set_max, initial="" if stage.wip_max is None else str(stage.wip_max), placeholder="no limit",
        ), saved)

    def action_move_stage(self, offset: int) -> None:
        row = self._current_stage()
        if row is None or self.busy or self.data is None:
            return
        index = self.data.stages.index(row)
        if not 0 <= index + offset < len(self.data.stages):
            return
        self.busy = True
        stage_id = row.stage.id

        def failed(exc: TuikanbanError) -> None:
            self.busy = False
            self._stage_error(str(exc))

        self.run_db(lambda: pipeline_service.move_stage(self.db, self.pipeline_id, stage_id, offset),
                    lambda _: self._changed_ok(f"Moved {row.stage.name}.", stage_id=stage_id), failed)

    async def action_archive_stage(self) -> None:
        if not await self._ready():
            return
        row = self._current_stage()
        if row is None or self.busy:
            return
        stage = row.stage

        def confirmed(yes: bool | None) -> None:
            if not yes:
                return
            self.busy = True

            def failed(exc: TuikanbanError) -> None:
                self.busy = False
                self._stage_error(str(exc))

            self.run_db(lambda: pipeline_service.archive_stage(self.db, self.pipeline_id, stage.id),
                        lambda _: self._changed_ok(f"Archived stage {stage.name}."), failed)

        if row.open_deals:  # the service refuses, with the sentence that says why: no need to ask first
            confirmed(True)
            return
        await self._open(ConfirmScreen(
            f"Archive the stage {display(stage.name)}? It leaves the board; its history stays, and adding a stage "
            "with the same name brings it back.", title="Archive stage"), confirmed)

    # -- deal types ---------------------------------------------------------------------------------
    async def action_add_type(self) -> None:
        if not await self._ready():
            return

        def added(info: DealTypeInfo | None) -> None:
            if info is not None:
                self._changed_ok(f"Added deal type {info.name}.", type_id=info.id)

        await self._open(AskScreen(
            "Add deal type", "Name of the new deal type (a swimlane on the board):",
            lambda name: pipeline_service.add_type(self.db, self.pipeline_id, name), placeholder="e.g. Renewal",
        ), added)

    async def action_rename_type(self) -> None:
        if not await self._ready():
            return
        current = self._current_type()
        if current is None:
            return

        def renamed(info: DealTypeInfo | None) -> None:
            if info is not None:
                self._changed_ok(f"Renamed the deal type to {info.name}.", type_id=info.id)

        await self._open(AskScreen(
            "Rename deal type", f"New name for {display(current.name)}:",
            lambda name: pipeline_service.rename_type(self.db, self.pipeline_id, current.id, name),
            initial=current.name,
        ), renamed)

    async def action_remove_type(self) -> None:
        if not await self._ready():
            return
        current = self._current_type()
        if current is None or self.busy:
            return

        def confirmed(yes: bool | None) -> None:
            if not yes:
                return
            self.busy = True

            def failed(exc: TuikanbanError) -> None:
                self.busy = False
                self._type_error(str(exc))

            self.run_db(lambda: pipeline_service.remove_type(self.db, self.pipeline_id, current.id),
                        lambda _: self._changed_ok(f"Removed deal type {current.name}."), failed)

        await self._open(ConfirmScreen(f"Remove the deal type {display(current.name)}?",
                                           title="Remove deal type"), confirmed)

    def action_close(self) -> None:
        self.dismiss(self.changed)


__all__ = ["AskScreen", "PipelineSettingsScreen", "StageEditScreen"]
