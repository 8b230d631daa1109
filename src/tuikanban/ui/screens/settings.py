"""PipelineSettingsScreen: the pipeline's name, currency, target, stale days and lost reasons; its stages (add,
rename, reorder, archive, limits, expected days, probability, exit criteria); its deal types. Keyboard only."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Mapping
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

from textual import events, on
from textual.actions import SkipAction
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import Screen
from textual.widgets import DataTable, Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from tuikanban.domain import wip
from tuikanban.domain.errors import ValidationError
from tuikanban.domain.merge import EditConflictError, FieldConflict
from tuikanban.domain.models import DealTypeInfo, PipelineInfo, StageInfo
from tuikanban.domain.money import format_money, normalise_currency, parse_money
from tuikanban.domain.text import clean_name, display
from tuikanban.ui.dialogs.ask import AskScreen
from tuikanban.ui.dialogs.base import FormDialog
from tuikanban.ui.dialogs.confirm import ConfirmScreen
from tuikanban.ui.dialogs.discard import Unsaved, cancel_asking
from tuikanban.ui.dialogs.fields import FieldError, FieldInput, clear_error, literal
from tuikanban.ui.jobs import EARLY
from tuikanban.ui.lazy import lazy_module
from tuikanban.ui.screens.conflicts import CONFLICT_BINDINGS, ConflictBook, conflict_line
from tuikanban.ui.screens.settings_parts import (
    HINTS,
    PIPE_FIELDS,
    ChangeRefused,
    PipelineSaved,
    PipelineSaveRefused,
    Settings,
    SettingsChanged,
    SettingsRead,
    StageTable,
    TypeList,
)
from tuikanban.ui.screens.stage_edit import StageEditScreen, optional_int
from tuikanban.ui.spares import AheadOfKey, waiting_for_key
from tuikanban.ui.textual_seam import lay_out, render_ahead

if TYPE_CHECKING:
    from tuikanban.services import pipelines as pipeline_service
    from tuikanban.services import screen_reads
    from tuikanban.services.screen_reads import StageRow
    from tuikanban.store.engine import Database
else:
    pipeline_service = lazy_module("tuikanban.services.pipelines")
    screen_reads = lazy_module("tuikanban.services.screen_reads")

Info = TypeVar("Info", StageInfo, DealTypeInfo)
RENDER_AHEAD_S = 0.05  # (a spare, once filled: drawn after its rows' own layout requests are handled)


# -- the settings screen --------------------------------------------------------------------------------


class PipelineSettingsScreen(AheadOfKey, Unsaved, FormDialog[bool]):
    """Returns True when anything was changed. The pipeline fields save with the three-way merge of the deal form:
    a field another rep saved meanwhile that this user changed too shows their value and who saved it, with ctrl+t
    take theirs / ctrl+o keep mine; escape asks before discarding typed changes.

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
        *CONFLICT_BINDINGS,
    ]

    SUBMIT_ON_ENTER = frozenset({"pp-lost_reasons"})
    SUBMIT_ACTION = "save_pipeline"

    def __init__(self, db: Database, pipeline_id: int, user: str,
                 totals: Mapping[int, tuple[int, int]] | None = None) -> None:
        super().__init__()
        self.db = db
        self.pipeline_id = pipeline_id
        self.user = user
        # The open deals and their value per stage as the board holds them (its counters, kept current by its feed):
        # the opening reads show these rather than counting the pipeline's open deals again. None (opened from
        # elsewhere, or after a change made here): the read counts them itself.
        self.totals = totals
        self.changed = False
        self.book = ConflictBook({})  # what the pipeline fields were filled with: the merge base of the next save
        self._filled: dict[str, str] = {}  # the text each pipeline field was filled with (unsaved: anything else)
        self.data: Settings | None = None
        self._read = asyncio.Event()  # set once the first read is in (a spare's: the one at its key)
        self._filled_ahead = False  # (a spare:) filled and drawn in idle time; its key reads again

    # -- layout and loading -------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog") as box:
            box.border_title = "Pipeline settings"
            with Horizontal(id="top"):
                with Vertical(id="pipe-panel", classes="panel") as pipe:
                    pipe.border_title = "Pipeline"
                    for field, label, placeholder in PIPE_FIELDS:
                        with Horizontal(classes="form-row"):
                            yield Label(label, classes="field-label")
                            with Vertical(classes="field-box"):
                                yield FieldInput(placeholder=placeholder, id=f"pp-{field}", compact=True)
                                yield FieldError(id=f"ppe-{field}")
                with Vertical(id="types-panel", classes="panel") as types:
                    types.border_title = "Deal types (swimlanes)"
                    yield TypeList(id="type-list")
                    yield FieldError(id="type-error")
            with Vertical(id="stages-panel", classes="panel") as stages:
                stages.border_title = "Stages (left to right)"
                yield StageTable(id="stage-table", cursor_type="row", zebra_stripes=True)
                yield Static("", id="stage-exit")
                yield FieldError(id="stage-error")
            yield Static(HINTS["stages"], classes="hints", id="settings-hints")

    def on_mount(self) -> None:
        if self.built_while_closing():
            return
        table = self.query_one("#stage-table", DataTable)
        for label, width in (("#", 2), ("Stage", 20), ("Open", 5), ("WIP max", 7), ("WIP min", 7),
                             ("Per rep", 7), ("Exp. days", 9), ("Prob.", 5), ("Exit criteria", 26)):
            table.add_column(label, width=width)
        self.set_focus(table)  # now, so the keys typed next reach it
        if self.built_ahead:  # filled and drawn in idle time, so that its key only shows it (and reads again)
            self.reload(totals=self.totals)
        self.start_unless_ahead()

    def start(self) -> None:
        self.reload(fields=not self._filled_ahead, totals=self.totals)  # (a spare's: the board's counts at the key)

    def _render_ahead(self) -> None:
        """(A spare, filled:) laid out again for its rows, and drawn, so that the key only puts it on screen. Not
        once taken, nor while the app exits (its stack is empty then)."""
        stack = self.app.screen_stack
        if waiting_for_key(self) and self.is_running and stack and self not in stack:
            lay_out(self, self.app.size)
            render_ahead(self)

    def reload(self, *, stage_id: int | None = None, type_id: int | None = None, fields: bool = True,
               totals: Mapping[int, tuple[int, int]] | None = None) -> None:
        """Read everything again; keep the cursor on `stage_id` / `type_id` when given, refill the pipeline fields
        with `fields`; the stages' open deals from `totals` when given (the board's), else counted."""
        db, pipeline_id = self.db, self.pipeline_id

        def read() -> SettingsRead:  # (without the ORM: services.screen_reads)
            pipeline, stages, types = db.read_plain(lambda u: screen_reads.pipeline_settings(u, pipeline_id, totals))
            return SettingsRead(Settings(pipeline, stages, types), stage_id=stage_id, type_id=type_id, fields=fields)

        self.run_job(read, name="read pipeline settings", kind=EARLY)  # (ahead of the warm-up after start)

    @on(SettingsRead)
    def _settings_read(self, message: SettingsRead) -> None:
        if waiting_for_key(self):  # (a spare's read in idle time: shown and drawn now, read again at its key)
            self.data = message.data
            self._show(message.data, stage_id=None, type_id=None, fields=True)
            self._filled_ahead = True
            self.set_timer(RENDER_AHEAD_S, self._render_ahead)
            return
        same = message.data == self.data and message.stage_id is None and message.type_id is None
        self.data = message.data
        if not (same and self._filled_ahead and not self._read.is_set()):  # (a spare's data unchanged: as drawn)
            self._show(message.data, stage_id=message.stage_id, type_id=message.type_id, fields=message.fields)
        self._read.set()

    def _show(self, data: Settings, *, stage_id: int | None, type_id: int | None, fields: bool) -> None:
        p = data.pipeline
        self.query_one(".dialog", Vertical).border_title = Content(f"Pipeline settings · {display(p.name)}")
        stored = {"name": p.name, "currency": p.currency, "target": p.target_minor, "stale_days": p.stale_days,
                  "lost_reasons": list(p.lost_reasons)}
        texts = {"name": p.name, "currency": p.currency, "stale_days": str(p.stale_days),
                 "target": self._as_text("target", p.target_minor, p.currency),
                 "lost_reasons": ", ".join(p.lost_reasons)}
        if fields:  # what the fields show is the merge base of the next save (update_pipeline(base=...))
            self.book.rebase(stored)
            self._filled = texts
            for field, text in self._filled.items():
                box = self.query_one(f"#pp-{field}", Input)
                box.value = text
                self._filled[field] = box.value  # as the field shows it (text from the file is made inert)
            for error in self.query("#pipe-panel FieldError"):
                if isinstance(error, FieldError):
                    error.clear()
        else:  # a field the rep has not typed into shows what is stored now (another rep's value), read from it
            for field, text in texts.items():
                box = self.query_one(f"#pp-{field}", Input)
                if field in self.book.waiting or field not in self._filled or box.value != self._filled[field]:
                    continue  # typed into (or waiting for the rep's choice): it keeps what the rep typed
                box.value = text
                self._filled[field] = box.value
                self.book.base[field] = stored[field]
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
        around = {node.id for node in event.widget.ancestors_with_self}
        panel = "pipe" if "pipe-panel" in around else "types" if "types-panel" in around else "stages"
        for hints in self.query("#settings-hints").results(Static):  # (none while a spare is still being built)
            hints.update(HINTS[panel])

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
        """Wait for the first read (a key typed straight after opening the screen; a spare's at its key, not the one
        that filled it ahead); True when there is data."""
        if not self._read.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._read.wait(), timeout=5.0)
        return self.data is not None

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

    def _changed_ok(self, message: str, *, stage_id: int | None = None, type_id: int | None = None) -> None:
        self.changed = True
        self.busy = False
        for error_id in ("#stage-error", "#type-error"):
            self.query_one(error_id, FieldError).clear()
        self.notify(message, markup=False, timeout=3)
        self.reload(stage_id=stage_id, type_id=type_id, fields=False)

    async def _open(self, screen: Screen[Info | None], said: Callable[[Info], str]) -> None:
        """Push a dialog that saves a stage or a deal type, and wait until it is mounted (its field focused) before
        the app reads the next key; once it saved, say `said(saved)` and read everything again."""

        def done(info: Info | None) -> None:
            if isinstance(info, StageInfo):
                self._changed_ok(said(info), stage_id=info.id)
            elif info is not None:
                self._changed_ok(said(info), type_id=info.id)

        await self.app.push_screen(screen, done)

    def _change(self, change: Callable[[], object], said: str, *, error_at: str, stage_id: int | None = None) -> None:
        """Run one change of the stages or deal types as a job. Once done: say `said` and read everything again; a
        refusal is shown in the FieldError `error_at`."""
        self.busy = True

        def run() -> SettingsChanged:
            change()
            return SettingsChanged(said, stage_id=stage_id)

        self.run_job(run, refused=partial(ChangeRefused, error_at=error_at), name=said)

    async def _confirm_change(self, question: str, title: str, change: Callable[[], object], said: str, *,
                              error_at: str) -> None:
        """Ask first; on yes, `_change`."""

        def answered(yes: bool | None) -> None:
            if yes:
                self._change(change, said, error_at=error_at)

        await self.app.push_screen(ConfirmScreen(question, title=title), answered)

    @on(SettingsChanged)
    def _settings_changed(self, message: SettingsChanged) -> None:
        self._changed_ok(message.sentence, stage_id=message.stage_id, type_id=message.type_id)

    @on(ChangeRefused)
    def _change_refused(self, message: ChangeRefused) -> None:
        self.busy = False
        self.query_one(f"#{message.error_at}", FieldError).show(str(message.error))

    # -- pipeline fields ----------------------------------------------------------------------------
    @on(Input.Changed)
    def _field_changed(self, event: Input.Changed) -> None:
        field = (event.input.id or "pp-")[3:]
        if field not in self.book.waiting:  # the other rep's value stays beside the field until the user chooses
            clear_error(self, f"#ppe-{field}")

    @staticmethod
    def _as_text(field: str, value: Any, currency: str) -> str:
        """A stored pipeline value as its field shows it."""
        if value is None:
            return ""
        if field == "target":
            return format_money(value, currency, symbol=False)
        if field == "lost_reasons":
            return ", ".join(value)
        return str(value)

    def unsaved(self) -> bool:
        return any(self.query_one(f"#pp-{f}", Input).value != text for f, text in self._filled.items())

    def _choice(self) -> FieldConflict | None:
        """The conflict a choice key answers (the focused field's, else the first waiting); its line is cleared."""
        focused = self.focused.id if self.focused is not None and self.focused.id else ""
        conflict = self.book.choose(focused[3:])
        if conflict is not None:
            self.query_one(f"#ppe-{conflict.field}", FieldError).clear()
        return conflict

    def _theirs(self, conflict: FieldConflict) -> str:
        currency = self.data.pipeline.currency if self.data is not None else "USD"
        if conflict.field == "target":
            currency = self.book.base.get("currency", currency)
        return self._as_text(conflict.field, conflict.theirs, currency)

    def action_keep_mine(self) -> None:
        self._choice()

    def action_take_theirs(self) -> None:
        conflict = self._choice()
        if conflict is not None:
            self.query_one(f"#pp-{conflict.field}", Input).value = self._theirs(conflict)

    def _pipeline_changes(self, p: PipelineInfo) -> tuple[dict[str, Any], dict[str, str]]:
        """What the pipeline fields change (as keyword arguments of `update_pipeline`), and the problems by field."""
        values = {f: self.query_one(f"#pp-{f}", Input).value for f, _, _ in PIPE_FIELDS}
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
            stale = optional_int(values["stale_days"], "stale-activity days", low=1)
            if stale is None:
                raise ValidationError("The stale-activity days must be at least 1.")
            if stale != p.stale_days:
                kwargs["stale_days"] = stale
        except ValidationError as exc:
            problems["stale_days"] = str(exc)
        reasons = [display(r) for r in values["lost_reasons"].split(",") if display(r)]
        if tuple(reasons) != p.lost_reasons:
            kwargs["lost_reasons"] = reasons
        return kwargs, problems

    async def action_save_pipeline(self) -> None:
        if self.busy or not await self._ready():
            return
        await self.keys_settled()  # the keys typed just before ctrl+s are in the fields
        if self.data is None or self.busy or self.app.screen is not self:
            return
        kwargs, problems = self._pipeline_changes(self.data.pipeline)
        if self.show_problems(problems, (f for f, _, _ in PIPE_FIELDS), field_id="pp-{}", error_id="ppe-{}"):
            return
        if not kwargs:
            self.notify("Nothing to save: the pipeline fields are unchanged.", markup=False, timeout=3)
            return
        self.busy = True
        db, pipeline_id, base = self.db, self.pipeline_id, dict(self.book.base)
        self.run_job(lambda: PipelineSaved(pipeline_service.update_pipeline(db, pipeline_id, base=base, **kwargs)),
                     refused=PipelineSaveRefused, name="save pipeline")

    @on(PipelineSaved)
    def _pipeline_saved(self) -> None:
        self.busy = False
        self.changed = True
        self.notify("Saved the pipeline settings.", markup=False, timeout=3)
        self.reload(fields=True)

    @on(PipelineSaveRefused)
    def _pipeline_refused(self, message: PipelineSaveRefused) -> None:
        self.busy = False
        sentence, error = str(message.error), message.error
        if isinstance(error, EditConflictError):  # the typed values stay; saving again keeps them
            self.notify(sentence, title="Not saved", severity="warning", markup=False, timeout=8)
            for conflict in self.book.arrived(error):
                self.query_one(f"#ppe-{conflict.field}", FieldError).show(conflict_line(conflict,
                                                                                      self._theirs(conflict)))
            self.reload(fields=False)  # the fields the rep did not touch show the other rep's values
            return
        field = "name" if "pipeline named" in sentence else "lost_reasons"
        self.query_one(f"#ppe-{field}", FieldError).show(sentence)

    # -- stages -------------------------------------------------------------------------------------
    @on(DataTable.RowSelected, "#stage-table")
    async def _stage_clicked(self, event: DataTable.RowSelected) -> None:
        event.stop()  # a click: enter is the priority binding above
        await self._edit_current_stage()

    async def _edit_current_stage(self) -> None:
        row = self._current_stage() if await self._ready() else None
        if row is not None:
            await self._open(StageEditScreen(self.db, self.pipeline_id, row.stage),
                             lambda stage: f"Saved stage {stage.name}.")

    async def action_add_stage(self) -> None:
        if not await self._ready() or self.data is None:
            return
        db, pipeline_id = self.db, self.pipeline_id
        row = self._current_stage()
        position = self.data.stages.index(row) + 1 if row is not None else None
        where = f"after {display(row.stage.name)}" if row is not None else "at the end"
        await self._open(AskScreen(
            "Add stage", f"Name of the new stage (it goes {where}):",
            lambda name: pipeline_service.add_stage(db, pipeline_id, name, position=position),
            placeholder="stage name",
        ), lambda stage: f"Added stage {stage.name}.")

    async def action_rename_stage(self) -> None:
        row = self._current_stage() if await self._ready() else None
        if row is None:
            return
        db, pipeline_id, stage_id = self.db, self.pipeline_id, row.stage.id
        await self._open(AskScreen(
            "Rename stage", f"New name for {display(row.stage.name)}:",
            lambda name: pipeline_service.rename_stage(db, pipeline_id, stage_id, name),
            initial=row.stage.name,
        ), lambda stage: f"Renamed the stage to {stage.name}.")

    async def _wip_max(self) -> None:
        row = self._current_stage() if await self._ready() else None
        if row is None:
            return
        db, pipeline_id, stage = self.db, self.pipeline_id, row.stage

        def set_max(text: str) -> StageInfo:
            return pipeline_service.set_stage(db, pipeline_id, stage.id, wip_max=optional_int(text, "WIP max"))

        def said(info: StageInfo) -> str:
            limit = "no WIP limit" if info.wip_max is None else f"a WIP limit of {info.wip_max}"
            return f"{info.name} now has {limit}."

        await self._open(AskScreen(
            "WIP max", f"WIP max for {display(stage.name)} ({row.open_deals} open now); empty for no limit:",
            set_max, initial="" if stage.wip_max is None else str(stage.wip_max), placeholder="no limit",
        ), said)

    def action_move_stage(self, offset: int) -> None:
        row = self._current_stage()
        if row is None or self.busy or self.data is None:
            return
        index = self.data.stages.index(row)
        if not 0 <= index + offset < len(self.data.stages):
            return
        db, pipeline_id, stage_id = self.db, self.pipeline_id, row.stage.id
        self._change(lambda: pipeline_service.move_stage(db, pipeline_id, stage_id, offset),
                     f"Moved {row.stage.name}.", error_at="stage-error", stage_id=stage_id)

    async def action_archive_stage(self) -> None:
        row = self._current_stage() if await self._ready() else None
        if row is None or self.busy:
            return
        db, pipeline_id, stage = self.db, self.pipeline_id, row.stage

        def archive() -> object:
            return pipeline_service.archive_stage(db, pipeline_id, stage.id)

        said = f"Archived stage {stage.name}."
        if row.open_deals:  # the service refuses, with the sentence that says why: no need to ask first
            self._change(archive, said, error_at="stage-error")
            return
        await self._confirm_change(
            f"Archive the stage {display(stage.name)}? It leaves the board; its history stays, and adding a stage "
            "with the same name brings it back.", "Archive stage", archive, said, error_at="stage-error")

    # -- deal types ---------------------------------------------------------------------------------
    async def action_add_type(self) -> None:
        if not await self._ready():
            return
        db, pipeline_id = self.db, self.pipeline_id
        await self._open(AskScreen(
            "Add deal type", "Name of the new deal type (a swimlane on the board):",
            lambda name: pipeline_service.add_type(db, pipeline_id, name), placeholder="e.g. Renewal",
        ), lambda info: f"Added deal type {info.name}.")

    async def action_rename_type(self) -> None:
        current = self._current_type() if await self._ready() else None
        if current is None:
            return
        db, pipeline_id, type_id = self.db, self.pipeline_id, current.id
        await self._open(AskScreen(
            "Rename deal type", f"New name for {display(current.name)}:",
            lambda name: pipeline_service.rename_type(db, pipeline_id, type_id, name),
            initial=current.name,
        ), lambda info: f"Renamed the deal type to {info.name}.")

    async def action_remove_type(self) -> None:
        current = self._current_type() if await self._ready() else None
        if current is None or self.busy:
            return
        db, pipeline_id, type_id = self.db, self.pipeline_id, current.id
        await self._confirm_change(
            f"Remove the deal type {display(current.name)}?", "Remove deal type",
            lambda: pipeline_service.remove_type(db, pipeline_id, type_id), f"Removed deal type {current.name}.",
            error_at="type-error")

    def action_close(self) -> None:
        cancel_asking(self, partial(self.dismiss, self.changed))


__all__ = [
    "ChangeRefused", "PipelineSaveRefused", "PipelineSaved", "PipelineSettingsScreen", "SettingsChanged",
    "SettingsRead",
]
