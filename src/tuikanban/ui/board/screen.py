"""The board screen: its layout, its keys (`action_*`) and the handlers of its database jobs' results.

Database work goes through the gateway as jobs on the app's lanes (`tuikanban.ui.jobs`); each comes back as a
typed message of `messages.py`. A card move updates the two affected columns in place; the whole board is read
again only when another process changed something (polled every half second). What the user chose to see lives
in one reactive attribute, `state` (`BoardState`), whose watcher hands it down.
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.reactive import reactive
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Input, Label

from tuikanban.domain.errors import NotFoundError, StaleEditError, TuikanbanError, WipLimitError
from tuikanban.domain.models import DealView, StageInfo
from tuikanban.domain.money import format_money
from tuikanban.domain.text import display
from tuikanban.store import fastread
from tuikanban.ui.board import messages as m
from tuikanban.ui.board.aging_sync import AgingSync
from tuikanban.ui.board.footer import BoardFooter
from tuikanban.ui.board.gateway import BoardGateway
from tuikanban.ui.board.header import BoardHeader
from tuikanban.ui.board.keys import BINDING_SECTIONS, help_sections
from tuikanban.ui.board.model import BoardModel
from tuikanban.ui.board.state import BoardSession, BoardState, unknown_type_sentence
from tuikanban.ui.board.view import BoardView, moved_aging
from tuikanban.ui.jobs import Job, JobFailed, lanes_of
from tuikanban.ui.widgets.aging_panel import AgingPanel

if TYPE_CHECKING:
    from tuikanban.store.engine import Database

POLL_SECONDS = 0.5
FILTER_DELAY_S = 0.12  # the filter follows the typing once it pauses this long
R = TypeVar("R")


class BoardScreen(Screen[None]):
    """The main screen. Its bindings live here (not on the App), so modal screens never trigger them."""

    BINDINGS = [b for _section, bs in BINDING_SECTIONS for b in bs]
    AUTO_FOCUS = "#board"
    # Keys that act on the board's focused card: off while the aging panel has the focus (its own row is another
    # deal, and up/down belong to its list).
    CARD_ACTIONS = frozenset({"column", "card", "page", "edge", "move", "reorder", "won", "lost", "edit_deal",
                              "open_deal"})

    state: reactive[BoardState] = reactive(BoardState, init=False)

    def __init__(self, gateway: BoardGateway, session: BoardSession, *, pipeline: str | int | None,
                 initial: m.Loaded | None = None) -> None:
        super().__init__(id="board-screen")
        self.gateway = gateway
        self.session = session
        self.pipeline_ref = pipeline
        self.model: BoardModel | None = None
        self.aging_panel: AgingPanel | None = None
        self.aging = AgingSync(self)
        self._initial = initial
        self._data_version: int | None = None
        self._checking = False
        self._loading = False
        self._pending_col: dict[int, int] = {}  # deal -> column of a move still on its way
        self._after_open: list[Callable[[], None]] = []
        self._filter_timer: Timer | None = None
        self._first_run_offered = False
        self._warned_ambiguous = False

    # -- layout ----------------------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield BoardHeader(id="header")
        with Horizontal(id="body"):
            yield BoardView(id="board")
        with Horizontal(id="filter-bar"):
            yield Label("Filter", id="filter-label")
            yield Input(placeholder="words  owner:NAME  type:NAME   (enter keeps it, esc clears)", id="filter")
        yield BoardFooter()

    @property
    def view(self) -> BoardView:
        return self.query_one("#board", BoardView)

    @property
    def header(self) -> BoardHeader:
        return self.query_one("#header", BoardHeader)

    @property
    def db(self) -> Database | None:
        return self.session.db

    @property
    def pipeline_id(self) -> int | None:
        return self.model.data.pipeline.id if self.model is not None else None

    @property
    def busy(self) -> bool:
        """Whether database jobs are queued or running, or an aging read waits for its moment (tests wait)."""
        return lanes_of(self).pending > 0 or self.aging.patches_due > 0

    def on_mount(self) -> None:
        session = self.session
        self.header.update(user=session.user, db_path=session.path, readonly=session.readonly)
        if self._initial is not None:  # read before the app started (run_board): paint it in the first frame
            initial, self._initial = self._initial, None
            self._first_loaded(initial)
        else:
            self.view.set_message("Loading the board…")
            self._write(self._first_load_job, "load")
        self.set_interval(POLL_SECONDS, self._poll)
        self.set_interval(60, self._tick)

    def _first_load_job(self) -> m.BoardLoaded | m.LoadFailed:
        result = self.gateway.load_job(self.pipeline_ref, self.state)
        if isinstance(result, m.BoardLoaded):
            result.first = True
        return result

    # -- jobs and what they report ---------------------------------------------------------------------------
    def _write(self, job: Job, name: str) -> None:
        """Run `job` on the writes lane (after every write before it); its message comes back here."""
        lanes_of(self).writes.submit(self, job, name=name)

    def _say(self, message: str, *, title: str = "", severity: Any = "information", timeout: float = 4) -> None:
        """A notification shown literally: messages quote deal titles and other user text (never markup)."""
        self.notify(message, title=title, severity=severity, timeout=timeout, markup=False)

    def _show_error(self, error: BaseException) -> None:
        if isinstance(error, TuikanbanError):
            self._say(str(error), severity="error", timeout=6)
            if isinstance(error, StaleEditError | NotFoundError):
                self.reload()
        else:
            self.log.error(repr(error))
            self._say(f"Something went wrong: {type(error).__name__}: {error}", severity="error", timeout=8)

    @on(JobFailed)
    def _job_failed(self, message: JobFailed) -> None:
        self._pending_col.clear()  # a write that failed may have been a move still on its way
        self._show_error(message.error)

    def _when_open(self, fn: Callable[[], None]) -> None:
        """Run `fn` once the database is open for writing (right away if it is)."""
        if self.session.db is not None:
            fn()
        else:
            self._after_open.append(fn)

    # -- loading ---------------------------------------------------------------------------------------------
    def _first_loaded(self, loaded: m.Loaded) -> None:
        self._apply_loaded(loaded)
        # Background work waits for the first frame: a thread busy building objects competes with the UI thread
        # for the GIL and would delay the very paint it is meant to speed up.
        self.call_after_refresh(self._after_first_paint, loaded.model is not None and loaded.model.partial)

    def _after_first_paint(self, partial_model: bool) -> None:
        if partial_model:
            self.reload()  # the first screen held only the top cards of each cell: read them all now
        self._write(self.gateway.open_job, "open")

    @on(m.BoardLoaded)
    def _board_loaded(self, message: m.BoardLoaded) -> None:
        if message.first:
            self._first_loaded(message.loaded)
            return
        # Without an explicit deal, keep the focus as it is when the result arrives (not when the reload was
        # asked for): a live reload queued behind a reopen's reload must not pull the focus back.
        focus = message.focus_deal if message.focus_deal is not None else self.view.focus_deal
        self._apply_loaded(message.loaded, focus_deal=focus)

    @on(m.LoadFailed)
    def _load_failed(self, message: m.LoadFailed) -> None:
        self._loading = False
        error = message.error
        self.view.set_message(str(error) if isinstance(error, TuikanbanError) else "The board could not be read.")
        self._show_error(error)
        if self.session.db is None:
            self.call_after_refresh(self._write, self.gateway.open_job, "open")

    @on(m.OpenFailed)
    def _open_failed(self, message: m.OpenFailed) -> None:
        """The board stays on screen, read-only: every write would fail the same way."""
        self._show_error(message.error)
        self._after_open = []
        self.session.readonly = True
        self.header.update(readonly=True)

    @on(m.DbOpened)
    def _db_opened(self, message: m.DbOpened) -> None:
        # Everything loaded so far (Textual, the ORM, the board) lives as long as the app: keep it out of the
        # garbage collector's full passes, which otherwise show as pauses of tens of milliseconds on a key press.
        gc.freeze()
        self.session.opened(message.db)
        self.header.update(readonly=self.session.readonly)
        waiting, self._after_open = self._after_open, []
        for fn in waiting:
            fn()
        if self.model is None:
            self._offer_first_run()
        else:
            self.aging.read_all()

    def reload(self, *, pipeline: int | None = None, focus_deal: int | None = None) -> None:
        """Read the whole board again (another process changed it, or a modal did), keeping the focus."""
        ref: str | int | None = pipeline if pipeline is not None else (self.pipeline_id or self.pipeline_ref)
        self._loading = True
        self._write(partial(self.gateway.load_job, ref, self.state, focus_deal), "load")

    def _apply_loaded(self, loaded: m.Loaded, *, focus_deal: int | None = None) -> None:
        self._loading = False
        model = loaded.model
        if model is None:
            self.model = None
            self.aging.clear()
            self.view.set_model(None)
            self.view.set_message("This database has no pipeline yet.\n\n"
                                  "Press n to create the starter pipeline, p to create your own, q to quit.")
            self.header.update(pipeline="")
            if self.session.db is not None:
                self._offer_first_run()
            return
        model.show(self.state.filter, self.state.lanes_on)
        previous = self.pipeline_id
        self.model = model
        if previous != model.data.pipeline.id:
            self.aging.clear()
        if previous is not None and previous != model.data.pipeline.id:
            self.view.focus_col = self.view.focus_lane = 0
            self.view.focus_deal = None
            self.view.col_start = self.view.vscroll = 0
            self._write(partial(self.gateway.remember_job, model.data.pipeline.name), "remember")
        self.view.set_model(model, focus_deal=focus_deal if focus_deal is not None else self.view.focus_deal)
        self._update_header()
        if loaded.read.ambiguous and not self._warned_ambiguous:
            self._warned_ambiguous = True
            self._say(f"There are {loaded.read.pipeline_count} pipelines and none is the default; showing "
                      f"{display(model.data.pipeline.name)}. Press p to switch.", timeout=6)
        if self.session.db is not None:  # (before the database is open, _db_opened reads it)
            self.aging.read_all()

    # -- state handed down -----------------------------------------------------------------------------------
    def watch_state(self, old: BoardState, new: BoardState) -> None:
        if self.model is not None and self.model.show(new.filter, new.lanes_on):
            if old.lanes_on != new.lanes_on:
                self.view.vscroll = 0
            self.view.model_changed()
        self._update_header()
        self.aging.show_in_panel()

    def _update_header(self) -> None:
        model = self.model
        if model is None:
            return
        flt = self.state.filter
        self.header.update(
            pipeline=model.data.pipeline.name, open_deals=model.open_total, open_value=model.value_total,
            currency=model.data.pipeline.currency, filter_text=flt.describe(),
            shown=model.shown_total if flt.active else None, lanes="lanes by type" if model.lanes_shown else "",
        )

    # -- aging and live updates ------------------------------------------------------------------------------
    @on(m.AgingRead)
    def _aging_read(self, message: m.AgingRead) -> None:
        self.aging.received(message)

    @on(m.AgingFailed)
    def _aging_failed(self, message: m.AgingFailed) -> None:
        self.aging.failed(message)

    def _tick(self) -> None:
        """Days in stage move on: repaint the badges, and read the levels and signals again."""
        self.view.tick()
        if not self._loading:
            self.aging.read_all()

    def _poll(self) -> None:
        db = self.session.db
        if db is None or self._checking or self._loading:
            return
        try:
            version = db.data_version()
        except Exception:  # the file went away or is locked: try again at the next tick
            return
        if version == self._data_version:
            return
        self._data_version = version
        self._checking = True
        self._write(self.gateway.check_job, "check")

    @on(m.ChangeChecked)
    def _change_checked(self, message: m.ChangeChecked) -> None:
        self._checking = False
        if message.changed:
            self.reload()

    # -- helpers for actions -----------------------------------------------------------------------------------
    def _focused(self) -> fastread.BoardCard | None:
        card = self.view.focused_card
        if card is None and self.model is not None:
            self._say("No deal is focused here; move to a card first.", timeout=3)
        return card

    def _refuse_readonly(self) -> bool:
        if self.session.readonly:
            self._say(self.session.readonly_sentence(), severity="error", timeout=6)
        return self.session.readonly

    def _applied(self, changed: m.Changed, *, focus: bool = True) -> None:
        """Apply a write's result to the affected columns only."""
        if self.model is None:
            return
        if changed.deal is not None:
            self.model.upsert(changed.deal)
        self.view.model_changed(focus_deal=self.view.focus_deal if focus else None)
        self._update_header()
        if changed.foreign:
            self.reload()  # (reads the aging again too)
        elif changed.deal is not None:
            self.aging.after_write(changed.deal.id)

    def _open(self, make: Callable[[Database, BoardModel], Screen[R]],
              done: Callable[[R | None], None] | None = None) -> None:
        """Show the screen `make(db, model)` builds, once the database is open (`done` gets what it returns)."""
        def push() -> None:
            if self.session.db is not None and self.model is not None:
                self.app.push_screen(make(self.session.db, self.model), done)

        if self.model is not None:
            self._when_open(push)

    # -- navigation --------------------------------------------------------------------------------------------
    def action_column(self, delta: int) -> None:
        self.view.move_column(delta)

    def action_card(self, delta: int) -> None:
        self.view.move_card(delta)

    def action_page(self, delta: int) -> None:
        self.view.page(delta)

    def action_edge(self, last: int) -> None:
        self.view.edge(bool(last))

    # -- moving deals ------------------------------------------------------------------------------------------
    def action_move(self, delta: int) -> None:
        if self.model is None or self._refuse_readonly():
            return
        card = self._focused()
        if card is None:
            return
        # a move still on its way counts: pressing twice quickly moves the deal two stages
        col = self._pending_col.get(card.id, self.model.col_of_stage(card.stage_id))
        if col is None:
            return
        target = col + delta
        if not 0 <= target < len(self.model.stages):
            where = "last" if delta > 0 else "first"
            hint = " Press w to mark it won." if delta > 0 else ""
            self._say(f"'{display(card.title)}' is already in the {where} stage.{hint}", timeout=3)
            return
        self._move(card, self.model.stages[target], None, self.model.stages[col].id)

    def _move(self, card: fastread.BoardCard, stage: StageInfo, reason: str | None, from_stage_id: int) -> None:
        assert self.model is not None
        target_col = self.model.col_of_stage(stage.id)
        if target_col is not None:
            self._pending_col[card.id] = target_col
        self._write(partial(self.gateway.move_job, card, stage, reason, from_stage_id, target_col), "move")

    def _settle_pending(self, deal_id: int, target_col: int | None) -> None:
        if self._pending_col.get(deal_id) == target_col:
            self._pending_col.pop(deal_id, None)

    @on(m.DealMoved)
    def _moved(self, message: m.DealMoved) -> None:
        self._settle_pending(message.deal_id, message.target_col)
        changed = message.changed
        shown = self.view.aging.get(message.deal_id)
        if shown is not None and changed.deal is not None and changed.deal.status == "open":
            # painted right away as the aging read will confirm it (one paint per move, not two)
            self.view.aging[message.deal_id] = moved_aging(shown, changed.deal.stage_id)
        self._applied(changed)
        result = changed.move
        if result is None:
            return
        if result.forced:
            self._say(f"Moved '{display(result.deal.title)}' into {display(result.to_stage)} past its WIP limit; "
                      "the reason is logged.", timeout=4)
        if result.exit_criteria:
            self._say(display(result.exit_criteria, max_length=400), title=f"{display(result.to_stage)}: exit "
                      "criteria", timeout=8)

    @on(m.MoveRefused)
    def _move_refused(self, message: m.MoveRefused) -> None:
        self._settle_pending(message.card.id, message.target_col)
        error, card, stage = message.error, message.card, message.stage
        if not isinstance(error, WipLimitError):
            self._show_error(error)
            return
        from tuikanban.ui.screens.reason import ReasonScreen

        self._say(str(error) + ".", title="WIP limit", severity="warning", timeout=6)

        def forced(reason: str | None) -> None:
            if reason and reason.strip():
                self._move(card, stage, reason.strip(), message.from_stage_id)

        self.app.push_screen(ReasonScreen(
            f"Force into {display(stage.name)}?",
            f"{error}. Give a reason to move '{display(card.title)}' past the limit (it is logged), "
            "or press escape to leave it where it is.",
            placeholder="reason for the override",
        ), forced)

    def action_reorder(self, direction: int) -> None:
        if self.model is None or self._refuse_readonly():
            return
        card = self._focused()
        if card is not None:
            job = partial(self.gateway.reorder_job, card.id, card.stage_id, direction, self.model.lanes_shown)
            self._write(job, "reorder")

    @on(m.DealReordered)
    def _reordered(self, message: m.DealReordered) -> None:
        if self.model is None:
            return
        if message.moved:
            self.model.replace_stage(message.stage_id, message.cards, message.count, message.value)
            self.view.model_changed()
        else:
            self.app.bell()
        if message.foreign:
            self.reload()
        elif message.moved:
            self.aging.after_write(message.deal_id)  # a reorder is an event: the deal is no longer idle

    # -- deals -------------------------------------------------------------------------------------------------
    def action_new_deal(self) -> None:
        if self.model is None:
            self._when_open(self._offer_first_run_now)
        elif not self._refuse_readonly():
            self._open(self._new_deal_form, self._deal_saved)

    def _new_deal_form(self, db: Database, model: BoardModel) -> Screen[DealView | None]:
        from tuikanban.ui.screens.deal_form import DealFormScreen

        stage = self.view.focused_stage
        lane = self.view.focused_lane
        type_id = lane.type_id if lane is not None and model.lanes_shown else None
        return DealFormScreen(db, model.data.pipeline.id, self.session.user, deal_id=None,
                              stage_id=stage.id if stage else None, type_id=type_id)

    def _deal_saved(self, deal: DealView | None) -> None:
        if deal is None or self.model is None:
            return
        self.model.upsert(fastread.card_from_deal(deal))
        self.view.model_changed(focus_deal=deal.id)
        self._update_header()
        if deal.status == "open" and self.model.locate(deal.id) is None and self.state.filter.active:
            self._say(f"Saved '{display(deal.title)}'; the filter hides it.", timeout=4)
        self._write(partial(self.gateway.refresh_job, deal.id), "refresh")

    @on(m.DealChanged)
    def _deal_changed(self, message: m.DealChanged) -> None:
        self._applied(message.changed)
        if message.note:
            self._say(message.note, timeout=4)

    def action_open_deal(self) -> None:
        card = self._focused()
        if card is None:
            return
        from tuikanban.ui.screens.deal_detail import DealDetailScreen

        def closed(changed: bool | None) -> None:
            if changed:
                self._write(partial(self.gateway.refresh_job, card.id), "refresh")

        self._open(lambda db, _m: DealDetailScreen(db, card.id, self.session.user), closed)

    def action_edit_deal(self) -> None:
        card = None if self._refuse_readonly() else self._focused()
        if card is None:
            return
        from tuikanban.ui.screens.deal_form import DealFormScreen

        self._open(lambda db, model: DealFormScreen(db, model.data.pipeline.id, self.session.user,
                                                    deal_id=card.id), self._deal_saved)

    def action_won(self) -> None:
        card = None if self._refuse_readonly() else self._focused()
        if card is None:
            return
        value = format_money(card.value_minor, card.currency) if card.value_minor else "no value"
        note = f"Won: '{display(card.title)}' ({value}). Press u to undo."
        self._write(partial(self.gateway.win_job, card.id, note), "win")

    def action_lost(self) -> None:
        if self._refuse_readonly() or self.model is None:
            return
        card = self._focused()
        if card is None:
            return
        from tuikanban.ui.screens.reason import ReasonScreen

        def chosen(reason: str | None) -> None:
            if reason and reason.strip():
                note = f"Lost: '{display(card.title)}' ({display(reason)}). Press u to undo."
                self._write(partial(self.gateway.lose_job, card.id, reason.strip(), note), "lose")

        self.app.push_screen(ReasonScreen(
            "Mark lost", f"Why was '{display(card.title)}' lost? Pick a reason or type your own.",
            choices=tuple(self.model.data.pipeline.lost_reasons), placeholder="another reason",
        ), chosen)

    def action_undo(self) -> None:
        if self._refuse_readonly() or self.model is None:
            return
        self._write(partial(self.gateway.undo_job, self.model.data.pipeline.id, self.state), "undo")

    @on(m.UndoDone)
    def _undone(self, message: m.UndoDone) -> None:
        self._apply_loaded(message.loaded, focus_deal=message.deal_id)
        self._say(message.text, timeout=4)

    # -- views -------------------------------------------------------------------------------------------------
    def action_filter(self) -> None:
        field = self.query_one("#filter", Input)
        self.query_one("#filter-bar").display = True
        if not field.value and self.state.filter.active:
            field.value = self.state.query
        field.focus()

    @on(Input.Changed, "#filter")
    def _filter_typed(self, event: Input.Changed) -> None:
        if self._filter_timer is not None:
            self._filter_timer.stop()
        self._filter_timer = self.set_timer(FILTER_DELAY_S, partial(self.apply_filter, event.value))

    @on(Input.Submitted, "#filter")
    def _filter_done(self, event: Input.Submitted) -> None:
        self.apply_filter(event.value)
        if self.model is not None:
            problem = unknown_type_sentence(self.state.filter.type_name, [t.name for t in self.model.types])
            if problem:
                self._say(problem, severity="warning", timeout=6)
        self._close_filter(clear=False)

    def apply_filter(self, query: str) -> None:
        self.state = self.state.with_query(query)

    def _close_filter(self, *, clear: bool) -> None:
        if self._filter_timer is not None:
            self._filter_timer.stop()
        if clear:
            self.query_one("#filter", Input).value = ""
            self.apply_filter("")
        self.query_one("#filter-bar").display = False
        self.view.focus()

    def action_close(self) -> None:
        if self.query_one("#filter-bar").display:
            self._close_filter(clear=True)
        elif self.aging_panel is not None:
            self.action_aging()
        elif self.state.filter.active:
            self._close_filter(clear=True)
            self._say("Filter cleared.", timeout=2)

    def action_lanes(self) -> None:
        if self.model is None:
            return
        if not self.model.has_types:
            self._say("This pipeline has no deal types, so there are no swimlanes; add types in the pipeline "
                      "settings (,).", timeout=5)
            return
        self.state = self.state.with_lanes(not self.state.lanes_on)

    def action_aging(self) -> None:
        if self.aging_panel is not None:
            panel, self.aging_panel = self.aging_panel, None
            panel.remove()
            self.aging.snapshot = None  # the cards keep what they show; the items go until the panel opens again
            self.view.focus()
        elif self.model is not None:
            self._when_open(self._show_aging)

    def _show_aging(self) -> None:
        if self.aging_panel is not None or self.session.db is None:
            return
        # The panel shows the board's own aging read (the same one the cards' badges come from) under the board's
        # filter; it takes the focus, so up/down move in its list; tab goes back to the board, escape closes it.
        self.aging_panel = AgingPanel(id="aging", autofocus=True)
        self.query_one("#body").mount(self.aging_panel)
        self.aging.show_in_panel()
        if self.aging.snapshot is None:
            self.aging.read_all()  # with the items this time

    def _panel_focused(self) -> bool:
        panel = self.aging_panel
        focused = self.focused
        return panel is not None and focused is not None and panel in focused.ancestors_with_self

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # (Textual re-checks on every focus change, so the footer greys these out while the panel has the focus)
        return not (action in self.CARD_ACTIONS and self._panel_focused())

    @on(AgingPanel.FocusDeal)
    def _focus_deal(self, message: AgingPanel.FocusDeal) -> None:
        if not self.view.focus_on(message.deal_id):
            self._say("That deal is not on the board any more.", timeout=3)
        self.view.focus()

    # -- other screens -----------------------------------------------------------------------------------------
    def action_metrics(self) -> None:
        from tuikanban.ui.screens.metrics import MetricsScreen

        self._open(lambda db, model: MetricsScreen(db, model.data.pipeline.id, self.session.user))

    def action_pipeline(self) -> None:
        from tuikanban.ui.screens.pipelines import PipelineSwitcher

        def push() -> None:
            if self.session.db is not None:
                self.app.push_screen(PipelineSwitcher(self.session.db, self.pipeline_id), self._pipeline_chosen)

        self._when_open(push)  # (also with no pipeline yet: the switcher creates one)

    def _pipeline_chosen(self, pipeline_id: int | None) -> None:
        if pipeline_id is not None:
            self.reload(pipeline=pipeline_id)

    def action_closed(self) -> None:
        from tuikanban.ui.screens.closed import ClosedDealsScreen

        def reopened(deal_id: int | None) -> None:
            if deal_id is not None:
                self.reload(focus_deal=deal_id)

        self._open(lambda db, model: ClosedDealsScreen(db, model.data.pipeline.id, self.session.user), reopened)

    def action_settings(self) -> None:
        from tuikanban.ui.screens.settings import PipelineSettingsScreen

        def closed(changed: bool | None) -> None:
            if changed:
                self.reload()

        self._open(lambda db, model: PipelineSettingsScreen(db, model.data.pipeline.id, self.session.user), closed)

    def action_refresh(self) -> None:
        self.reload()

    def action_help(self) -> None:
        from tuikanban.ui.screens.help import HelpScreen

        self.app.push_screen(HelpScreen(help_sections()))

    def action_quit(self) -> None:
        self.app.exit()

    def _offer_first_run(self) -> None:
        if not self._first_run_offered and self.model is None:
            self._first_run_offered = True
            self._offer_first_run_now()

    def _offer_first_run_now(self) -> None:
        if self.model is not None or self.session.db is None or self._refuse_readonly():
            return
        from tuikanban.ui.screens.first_run import FirstRunScreen

        self.app.push_screen(FirstRunScreen(self.session.db, self.session.user), self._pipeline_chosen)
