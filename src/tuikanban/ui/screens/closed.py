"""ClosedDealsScreen: won and lost deals of a pipeline, searchable; enter reopens one into a chosen stage."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.widgets import DataTable, Input, OptionList, Static
from textual.widgets.option_list import Option

from tuikanban.domain import clock
from tuikanban.domain.errors import GateError, TuikanbanError, WipLimitError
from tuikanban.domain.metrics import plural
from tuikanban.domain.models import DealView, PipelineInfo
from tuikanban.domain.money import format_money
from tuikanban.domain.text import display
from tuikanban.domain.wip import counter_text
from tuikanban.ui.dialogs.base import Dialog, FormDialog, JobResult, Refusal
from tuikanban.ui.dialogs.fields import FieldError, FieldInput, KeyList, KeyTable, key_hints, literal
from tuikanban.ui.dialogs.reason import override_reason
from tuikanban.ui.jobs import JobFailed
from tuikanban.ui.lazy import lazy_module
from tuikanban.ui.spares import AheadOfKey

if TYPE_CHECKING:
    from tuikanban.services import closed as closed_service
    from tuikanban.services import deals as deal_service
    from tuikanban.services import pipelines as pipeline_service
    from tuikanban.services.closed import ClosedPage
    from tuikanban.services.pipelines import StageRow
    from tuikanban.store.engine import Database
else:
    closed_service = lazy_module("tuikanban.services.closed")
    deal_service = lazy_module("tuikanban.services.deals")
    pipeline_service = lazy_module("tuikanban.services.pipelines")

MAX_ROWS = 500  # the latest closed deals listed (services.closed reads no more)
_STATUS_FILTERS = ("all", "won", "lost")


@dataclass(frozen=True, slots=True)
class _Closed:
    pipeline: PipelineInfo
    stages: list[StageRow]


def _read_closed(db: Database, pipeline_id: int) -> _Closed:
    pipeline = pipeline_service.get_pipeline(db, pipeline_id)
    _, stages = pipeline_service.stage_rows(db, pipeline_id)
    return _Closed(pipeline, stages)


class ClosedRead(JobResult):
    """The latest closed deals matching `wanted` (status, search); with `data` on the first read."""

    def __init__(self, page: ClosedPage, wanted: tuple[str, str], data: _Closed | None = None) -> None:
        super().__init__()
        self.page = page
        self.wanted = wanted
        self.data = data


def _read_page(db: Database, pipeline_id: int, wanted: tuple[str, str], first: bool) -> ClosedRead:
    status, needle = wanted
    data = _read_closed(db, pipeline_id) if first else None
    return ClosedRead(closed_service.closed_page(db, pipeline_id, status=status, needle=needle, limit=MAX_ROWS),
                      wanted, data)


class DealReopened(JobResult):
    def __init__(self, deal: DealView) -> None:
        super().__init__()
        self.deal = deal


class ReopenRefused(Refusal):
    """Reopening `deal` into `stage_id` was refused (at a WIP limit: it can be forced with a reason)."""

    def __init__(self, error: TuikanbanError, *, deal: DealView, stage_id: int) -> None:
        super().__init__(error)
        self.deal = deal
        self.stage_id = stage_id


class StagePickScreen(Dialog[int | None]):
    """Choose the stage a deal goes back into (with each stage's WIP counter)."""

    DEFAULT_CSS = """
    StagePickScreen > .dialog { width: 56; }
    StagePickScreen #stage-prompt { margin-top: 1; height: auto; }
    StagePickScreen #stage-list { height: auto; max-height: 14; margin-top: 1; border: none; padding: 0;
                                  background: $surface; }
    """

    BINDINGS = [Binding("escape", "cancel", "Cancel", show=False)]

    def __init__(self, prompt: str, stages: list[StageRow], selected: int | None = None) -> None:
        super().__init__()
        self.prompt = prompt
        self.stages = stages
        self.selected = selected

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog") as box:
            box.border_title = "Reopen into"
            yield Static(literal(self.prompt), id="stage-prompt")
            options = []
            for row in self.stages:
                full = row.stage.wip_max is not None and row.open_deals >= row.stage.wip_max
                options.append(Option(Content.assemble(
                    literal(row.stage.name).pad_right(max(1, 24 - len(display(row.stage.name)))),
                    (counter_text(row.open_deals, row.stage.wip_max), "$error" if full else "$text-muted"),
                    ("  at its limit" if full else "", "$error"),
                ), id=f"s{row.stage.id}"))
            yield KeyList(*options, id="stage-list")
            yield Static(key_hints(("enter", "reopen here"), ("esc", "cancel")), classes="hints")

    def on_mount(self) -> None:
        box = self.query_one("#stage-list", OptionList)
        ids = [r.stage.id for r in self.stages]
        box.highlighted = ids.index(self.selected) if self.selected in ids else 0
        self.set_focus(box)  # now: the keys typed next move in the list

    @on(OptionList.OptionSelected, "#stage-list")
    def _picked(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(self.stages[event.option_index].stage.id)

    def action_cancel(self) -> None:
        self.dismiss(None)


class _ClosedTable(KeyTable):
    """The closed deals (/, w, l, a and enter are keys of the screen)."""


class ClosedDealsScreen(AheadOfKey, FormDialog[int | None]):
    """Returns the id of the reopened deal, or None.

    Its keys on the table (/, w, l, a, enter) are priority bindings: they act when the app reads them, so a burst
    such as "/acme" enter enter searches, goes back to the table and reopens, each key where it was meant to go.
    """

    DEFAULT_CSS = """
    ClosedDealsScreen > .dialog { width: 116; height: 90%; }
    ClosedDealsScreen #closed-top { height: 1; margin-top: 1; }
    ClosedDealsScreen #closed-search { width: 1fr; background: $boost; padding: 0 1; }
    ClosedDealsScreen #closed-status { width: auto; margin-left: 2; }
    ClosedDealsScreen #closed-table { height: 1fr; margin-top: 1; background: $surface; }
    ClosedDealsScreen #closed-count { height: 1; color: $text-muted; }
    """

    BINDINGS = [
        Binding("escape", "back", "Close", show=False),
        Binding("slash", "search", "Search", show=False, priority=True),
        Binding("w", "status('won')", "Won", show=False, priority=True),
        Binding("l", "status('lost')", "Lost", show=False, priority=True),
        Binding("a", "status('all')", "All", show=False, priority=True),
    ]

    def __init__(self, db: Database, pipeline_id: int, user: str) -> None:
        super().__init__()
        self.db = db
        self.pipeline_id = pipeline_id
        self.user = user
        self.data: _Closed | None = None
        self.status = "all"
        self.shown: list[DealView] = []
        self._reading: tuple[str, str] | None = None  # the (status, search) being read
        self._read_key: tuple[str, str] | None = None  # ... and the one the table shows
        self._listed = asyncio.Event()  # set while the table shows what the status and search ask for

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog") as box:
            box.border_title = "Closed deals"
            with Horizontal(id="closed-top"):
                yield FieldInput(placeholder="/ search title, company, contact, owner, reason",
                                 id="closed-search", compact=True)
                yield Static("", id="closed-status")
            table = _ClosedTable(id="closed-table", cursor_type="row", zebra_stripes=True)
            yield table
            yield Static("Loading…", id="closed-count")
            yield FieldError(id="closed-error")
            yield Static(key_hints(("enter", "reopen"), ("/", "search"), ("w l a", "won / lost / all"),
                                   ("esc", "close")), classes="hints")

    def on_mount(self) -> None:
        if self.built_while_closing():
            return
        table = self.query_one("#closed-table", DataTable)
        for label, width in (("", 4), ("Closed", 10), ("Title", 26), ("Company", 14), ("Value", 8),
                             ("Owner", 9), ("Last stage", 12), ("Lost reason", 12)):
            table.add_column(label, width=width)
        self.set_focus(table)  # now: the keys typed next reach it
        self._show_status()
        self.start_unless_ahead()

    def start(self) -> None:
        self._refilter()

    # -- reading ------------------------------------------------------------------------------------
    def _wanted(self) -> tuple[str, str]:
        return self.status, self.query_one("#closed-search", Input).value.strip().casefold()

    def _refilter(self) -> None:
        """Read the latest closed deals matching the status and the search (one read at a time: a search typed
        while one is on its way is read once it is in)."""
        wanted = self._wanted()
        if wanted == self._read_key and self._reading is None:
            self._listed.set()
            return
        self._listed.clear()
        if self._reading is not None:
            return
        self._reading = wanted
        db, pipeline_id, first = self.db, self.pipeline_id, self.data is None
        self.run_job(partial(_read_page, db, pipeline_id, wanted, first), name="read closed deals")

    @on(ClosedRead)
    def _closed_read(self, message: ClosedRead) -> None:
        self._reading = None
        if message.data is not None:
            self.data = message.data
            self.query_one(".dialog", Vertical).border_title = Content(
                f"Closed deals · {display(message.data.pipeline.name)}")
        if message.wanted != self._wanted():
            self._refilter()  # the search or status changed meanwhile
            return
        self._read_key = message.wanted
        self._show_page(message.page)
        self._listed.set()

    @on(JobFailed)
    def _read_failed(self, _message: JobFailed) -> None:
        self._reading = None  # (the dialog says what failed; a key waiting for the list goes on)
        self._listed.set()

    async def _listed_for_key(self) -> None:
        """Until the table shows what the status and search typed before this key ask for."""
        await self._listed.wait()

    def _show_page(self, page: ClosedPage) -> None:
        self.shown = page.deals
        table = self.query_one("#closed-table", DataTable)
        table.clear()
        for deal in self.shown:
            won = deal.status == "won"
            table.add_row(
                Content.styled("won" if won else "lost", "bold $success" if won else "bold $error"),
                Content(clock.as_utc(deal.closed_at).astimezone().strftime("%Y-%m-%d") if deal.closed_at else "—"),
                literal(deal.title),
                literal(deal.company),
                Content(format_money(deal.value_minor, deal.currency, compact=True)
                        if deal.value_minor is not None else "—"),
                literal(deal.owner),
                literal(deal.stage_name),
                literal(deal.lost_reason),
                key=str(deal.id),
            )
        total, matching = page.total, page.matching
        if not total:
            text = "No closed deals in this pipeline yet."
        elif matching > MAX_ROWS:
            text = (f"Showing the latest {MAX_ROWS:,} of {matching:,} matching ({total:,} closed); "
                    "search to narrow.")
        else:
            text = f"{matching:,} of {plural(total, 'closed deal')}."
        self.query_one("#closed-count", Static).update(text)

    def _show_status(self) -> None:
        parts: list[str | tuple[str, str]] = []
        for name in _STATUS_FILTERS:
            parts.append((f" {name} ", "reverse bold $accent" if name == self.status else "$text-muted"))
        self.query_one("#closed-status", Static).update(Content.assemble(*parts))

    @on(Input.Changed, "#closed-search")
    def _search_changed(self) -> None:
        self._refilter()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("search", "status"):  # letters in the search field
            focused = self.focused
            return focused is not None and focused.id == "closed-table"
        return True

    async def action_field_enter(self) -> None:
        await self.settled_for_key()  # a search typed just before is applied to the table
        focused = self.focused
        if focused is not None and focused.id == "closed-search":
            self.set_focus(self.query_one("#closed-table", DataTable))
        elif focused is not None and focused.id == "closed-table":
            await self._listed_for_key()  # (the key runs in the app's loop: the read's result reaches this screen)
            await self._reopen_current()
        else:
            await super().action_field_enter()

    async def action_search(self) -> None:
        await self.settled_for_key()
        self.set_focus(self.query_one("#closed-search", Input))

    async def action_status(self, status: str) -> None:
        await self.settled_for_key()
        self.status = status
        self._show_status()
        self._refilter()

    def action_back(self) -> None:
        search = self.query_one("#closed-search", Input)
        if search.has_focus:
            search.value = ""
            self.set_focus(self.query_one("#closed-table", DataTable))
        else:
            self.dismiss(None)

    # -- reopening ----------------------------------------------------------------------------------
    @on(DataTable.RowSelected, "#closed-table")
    async def _row_clicked(self, event: DataTable.RowSelected) -> None:
        event.stop()  # a click: enter is the priority binding above
        await self._reopen_current()

    async def _reopen_current(self) -> None:
        row = self.query_one("#closed-table", DataTable).cursor_row
        if self.data is None or not 0 <= row < len(self.shown) or self.busy:
            return
        deal = self.shown[row]
        if not self.data.stages:
            self.query_one("#closed-error", FieldError).show("This pipeline has no stages to reopen into.")
            return
        stage_ids = [r.stage.id for r in self.data.stages]
        selected = deal.stage_id if deal.stage_id in stage_ids else stage_ids[0]

        def picked(stage_id: int | None) -> None:
            if stage_id is not None:
                self._reopen(deal, stage_id)

        # wait until the stage list is mounted and focused: the app routes the next key there
        await self.app.push_screen(StagePickScreen(
            f"Reopen '{display(deal.title)}' ({deal.status}) into which stage?", self.data.stages, selected), picked)

    def _reopen(self, deal: DealView, stage_id: int, force_reason: str | None = None,
                fields: dict[str, str] | None = None) -> None:
        """Reopen into `stage_id`; `fields` (a gate's missing fields, typed in the gate dialog) are saved first."""
        self.busy = True
        self.query_one("#closed-error", FieldError).clear()
        db, user = self.db, self.user

        def job() -> DealReopened:
            if fields:
                deal_service.edit_deal(db, deal.id, dict(fields), user=user)
            return DealReopened(deal_service.reopen_deal(db, deal.id, stage_id, user=user, force_reason=force_reason))

        self.run_job(job, refused=partial(ReopenRefused, deal=deal, stage_id=stage_id), name="reopen deal")

    @on(DealReopened)
    def _reopened(self, message: DealReopened) -> None:
        self.busy = False
        view = message.deal
        self.notify(f"Reopened '{display(view.title)}' in {display(view.stage_name)}.", markup=False)
        self.dismiss(view.id)

    @on(ReopenRefused)
    def _reopen_refused(self, message: ReopenRefused) -> None:
        self.busy = False
        exc, deal, stage_id = message.error, message.deal, message.stage_id
        if isinstance(exc, GateError):
            self._offer_gate(deal, stage_id, exc)
            return
        over_limit = isinstance(exc, WipLimitError)
        self.query_one("#closed-error", FieldError).show(str(exc) + ("." if over_limit else ""))
        if over_limit:

            def answered(reason: str | None) -> None:
                if reason:
                    self._reopen(deal, stage_id, reason)

            self.app.push_screen(override_reason(str(exc)), answered)

    def _offer_gate(self, deal: DealView, stage_id: int, error: GateError) -> None:
        from tuikanban.ui.dialogs.gate import GateChoice, GateScreen

        def chosen(choice: GateChoice | None) -> None:
            if choice is not None:
                self._reopen(deal, stage_id, choice.reason, choice.fields)

        def recheck() -> tuple[str, ...]:
            from tuikanban.services.gates import missing_now

            return missing_now(self.db, deal.id, stage_id)

        self.app.push_screen(GateScreen(str(error), error.missing, "reopen", closed=True, recheck=recheck), chosen)


__all__ = ["ClosedDealsScreen", "ClosedRead", "DealReopened", "ReopenRefused", "StagePickScreen"]
