"""The board screen: its layout and its keys (`action_*`), and the results of the writes they start.

A card move updates the two affected columns in place (`DealMoved`); a move the rules refuse comes back as
`MoveRefused`, and past a WIP limit the board offers to force it with a reason. Dialogs are imported when first
opened (the first paint imports neither them nor the ORM). Loading, live updates, the aging and the state handed
down are in `base.py`.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import Input, Label

from tuikanban.domain.errors import GateError, WipLimitError
from tuikanban.domain.models import DealView, StageInfo
from tuikanban.domain.money import format_money
from tuikanban.domain.text import display
from tuikanban.store import fastread
from tuikanban.ui import gc_pause
from tuikanban.ui.board import messages as m
from tuikanban.ui.board import sorting
from tuikanban.ui.board.density import remembered_compact
from tuikanban.ui.board.file_watch import FileChecked, FileRefused
from tuikanban.ui.board.footer import BoardFooter
from tuikanban.ui.board.header import BoardHeader
from tuikanban.ui.board.keys import BINDING_SECTIONS, help_sections
from tuikanban.ui.board.model import BoardModel
from tuikanban.ui.board.pickers import BoardPickers
from tuikanban.ui.board.rep_day import RepDayBoard
from tuikanban.ui.board.state import unknown_type_sentence
from tuikanban.ui.board.view import BoardView, moved_aging
from tuikanban.ui.jobs import EARLY, screen_opening

if TYPE_CHECKING:
    from tuikanban.store.engine import Database
    from tuikanban.ui.spares import Spares
    from tuikanban.ui.widgets.aging_panel import AgingPanel

FILTER_DELAY_S = 0.12  # the filter follows the typing once it pauses this long
AGING_PANEL_KEY = ("aging panel",)  # (the panel is composed from nothing the board holds: it is told at the key)
R = TypeVar("R")


def _give_db(screen: Any, *, db: Database) -> None:
    """A spare screen (ui/spares.py) reads through the database the board has at the key."""
    screen.db = db


class BoardScreen(RepDayBoard, BoardPickers):
    """The main screen. Its bindings live here (not on the App), so modal screens never trigger them."""

    BINDINGS = [b for _section, bs in BINDING_SECTIONS for b in bs]
    AUTO_FOCUS = "#board"
    # Keys that act on the board's focused card: off while the aging panel has the focus (its own row is another
    # deal, and up/down belong to its list).
    CARD_ACTIONS = frozenset({"column", "card", "page", "edge", "move", "reorder", "won", "lost", "edit_deal",
                              "open_deal", "mark", "mark_column", "owner", "move_to"})

    # -- layout ----------------------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield BoardHeader(id="header")
        with Horizontal(id="body"):
            view = BoardView(id="board")
            view.compact = remembered_compact(self.session.user)
            yield view
        yield BoardFooter()  # (the filter bar goes above it when `/` is first pressed: `_filter_field`)

    # -- navigation --------------------------------------------------------------------------------------------
    # (a focus the rep moves is the rep's: the keys held after another rep's change act on it at once)
    def action_column(self, delta: int) -> None:
        self.focus_guard.disarm()
        self.view.move_column(delta)

    def action_card(self, delta: int) -> None:
        self.focus_guard.disarm()
        self.view.move_card(delta)
        self.read_more_if_near_end()

    def action_page(self, delta: int) -> None:
        self.focus_guard.disarm()
        self.view.page(delta)
        self.read_more_if_near_end()

    def action_edge(self, last: int) -> None:
        self.focus_guard.disarm()
        self.view.edge(bool(last))
        if last:
            self.read_to_cell_end()

    # -- moving deals ------------------------------------------------------------------------------------------
    def action_move(self, delta: int) -> None:
        if self.model is None or self.bulk_step(delta) or self._refuse_readonly():
            return
        card = self._aimed()
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
        # EARLY: before the warm-up's imports and the opening (the move is written without the ORM until then)
        self._write(partial(self.gateway.move_job, card, stage, reason, from_stage_id, target_col), "move",
                    kind=EARLY)

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
        from tuikanban.ui.board.gate_fill import comes_back, refusal_sentence

        if comes_back(message):
            self._offer_gate(message, error if isinstance(error, GateError) else message.gate)
            return
        if message.saved and not isinstance(error, WipLimitError):  # the deal changed meanwhile: shown as it is now
            self._say(refusal_sentence(message), severity="error", timeout=6)
            self.reload()
            return
        if not isinstance(error, WipLimitError):
            self._show_error(error)
            return
        from tuikanban.ui.dialogs.reason import ReasonScreen

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

    def _offer_gate(self, refused: m.MoveRefused, error: GateError | None) -> None:
        """Fill the missing fields and move, or force with a reason, or leave the deal where it is. After the
        dialog (`refused.typed`), it comes back with what was typed and, when what was typed was refused, the
        sentence saying why."""
        from tuikanban.ui.board.gate_fill import fill_and_move_job, gate_missing_job
        from tuikanban.ui.dialogs.gate import GateChoice, GateScreen

        def chosen(choice: GateChoice | None) -> None:
            if choice is None or self.model is None or gate is None:
                return
            target_col = self.model.col_of_stage(refused.stage.id)
            if target_col is not None:
                self._pending_col[refused.card.id] = target_col
            self._write(partial(fill_and_move_job, self.gateway, refused.card, refused.stage, choice, gate,
                                refused.from_stage_id, target_col), "gate move")

        gate = error
        if gate is None:
            return
        problem = None if isinstance(refused.error, GateError) else str(refused.error)
        recheck = partial(gate_missing_job, self.gateway, refused.card.id, refused.stage.id)
        self.app.push_screen(GateScreen(str(gate), gate.missing, typed=refused.typed, problem=problem,
                                        recheck=recheck), chosen)

    def action_reorder(self, direction: int) -> None:
        if self.model is None or self._refuse_readonly():
            return
        if self.state.sort != sorting.RANK:
            self._say(f"The cards are sorted by {sorting.LABELS[self.state.sort]}; reordering works in rank order "
                      "(press o until the header no longer says sorted by).", severity="warning", timeout=5)
            return
        card = self._aimed()
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
    async def action_new_deal(self) -> None:
        if self.model is None:
            self._when_open(self._offer_first_run_now)
        elif not self._refuse_readonly():
            await self._open_now(self._new_deal_form, self._deal_saved)

    def _new_deal_form(self, db: Database, model: BoardModel) -> Screen[DealView | None]:
        from tuikanban.ui.screens.deal_form import DealFormScreen

        stage = self.view.focused_stage
        lane = self.view.focused_lane
        type_id = lane.type_id if lane is not None and model.lanes_shown else None
        stage_id = stage.id if stage else None

        def fit(form: DealFormScreen) -> None:
            form.db, form.initial_stage_id, form.initial_type_id = db, stage_id, type_id

        spare = self._spare("deal form", self._pipeline_key(), fit)
        return spare or DealFormScreen(db, model.data.pipeline.id, self.session.user, deal_id=None,
                                       stage_id=stage_id, type_id=type_id)

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

        def make(db: Database, _model: BoardModel) -> Screen[bool]:
            spare = self._spare("deal detail", self._user_key(), lambda detail: detail.show_deal(db, card.id))
            return spare or DealDetailScreen(db, card.id, self.session.user)

        self._open(make, closed)

    async def action_edit_deal(self) -> None:
        card = None if self._refuse_readonly() else self._aimed()
        if card is None:
            return
        from tuikanban.ui.screens.deal_form import DealFormScreen

        def make(db: Database, model: BoardModel) -> Screen[DealView | None]:
            spare = self._spare("deal form", self._pipeline_key(), lambda form: form.edit_deal(db, card.id))
            return spare or DealFormScreen(db, model.data.pipeline.id, self.session.user, deal_id=card.id)

        await self._open_now(make, self._deal_saved)

    async def _open_now(self, make: Callable[[Database, BoardModel], Screen[DealView | None]],
                        done: Callable[[DealView | None], None]) -> None:
        """As `_open`, but the form is mounted (its field focused) before the next key of a burst is routed."""
        if self.model is not None:
            await self.app.push_screen(make(self.session.database(), self.model), done)

    @on(m.OpenFailed)
    def _open_failed_for_screens(self, message: m.OpenFailed) -> None:
        self.session.open_failed(message.error)  # (a screen opened meanwhile: its reads get the sentence)

    def action_won(self) -> None:
        if self.bulk_close("won"):
            return
        card = None if self._refuse_readonly() else self._aimed()
        if card is None:
            return
        value = format_money(card.value_minor, card.currency) if card.value_minor else "no value"
        from tuikanban.ui.dialogs.confirm import ConfirmScreen

        def confirmed(yes: bool | None) -> None:  # asked as x asks for its reason: a stray w closes nothing
            if yes:
                note = f"Won: '{display(card.title)}' ({value}). Press u to undo."
                self._write(partial(self.gateway.win_job, card.id, note, card.stage_id), "win")

        self.app.push_screen(ConfirmScreen(f"Mark '{display(card.title)}' ({value}) won?", title="Mark won"),
                             confirmed)

    def action_lost(self) -> None:
        if self.bulk_close("lost") or self._refuse_readonly() or self.model is None:
            return
        card = self._aimed()
        if card is None:
            return
        from tuikanban.ui.dialogs.reason import ReasonScreen

        def chosen(reason: str | None) -> None:
            if reason and reason.strip():
                note = f"Lost: '{display(card.title)}' ({display(reason)}). Press u to undo."
                self._write(partial(self.gateway.lose_job, card.id, reason.strip(), note, card.stage_id), "lose")

        self.app.push_screen(ReasonScreen(
            "Mark lost", f"Why was '{display(card.title)}' lost? Pick a reason or type your own.",
            choices=tuple(self.model.data.pipeline.lost_reasons), placeholder="another reason",
        ), chosen)

    def action_undo(self, redo: int = 0, force_reason: str | None = None) -> None:
        if self._refuse_readonly() or self.model is None:
            return
        job = partial(self.gateway.undo_job, self.model.data.pipeline.id, self.state, bool(redo), force_reason)
        self._write(job, "redo" if redo else "undo")

    def action_redo(self) -> None:
        if self.reopen_replaced():  # (ctrl+r, as in a form: the log bar keeps its text, and r would type in it)
            return
        self.action_undo(1)

    @on(m.UndoRefused)
    def _undo_refused(self, message: m.UndoRefused) -> None:
        """As reopen does: past a WIP limit only with a reason (logged), else the action stays to undo later."""
        from tuikanban.ui.dialogs.reason import override_reason

        def answered(reason: str | None) -> None:
            if reason and reason.strip():
                self.action_undo(int(message.redo), reason.strip())

        self.app.push_screen(override_reason(str(message.error)), answered)

    @on(m.UndoDone)
    def _undone(self, message: m.UndoDone) -> None:
        self._apply_loaded(message.loaded, focus_deal=message.deal_id)
        self._say(message.text, timeout=4)

    # -- views -------------------------------------------------------------------------------------------------
    async def action_filter(self) -> None:
        if not self._filter_shown():
            self._filter_anchor = self.view.focus_deal
        field = await self._filter_field()
        self.query_one("#filter-bar").display = True
        if not field.value and self.state.filter.active:
            field.value = self.state.query
        field.focus()

    async def _filter_field(self) -> Input:
        """The filter's input, its bar mounted the first time it is needed: the first frame has no use for it, and
        an Input's styles and widgets cost at start (docs/PERFORMANCE.md, Start-up). Awaited, so that the keys of a
        burst typed after `/` land in it."""
        for field in self.query("#filter").results(Input):
            return field
        field = Input(placeholder="words  owner:me  owner:NAME  type:NAME  snoozed:yes  (enter keeps it, esc clears)",
                      id="filter")
        await self.mount(Horizontal(Label("Filter", id="filter-label"), field, id="filter-bar"),
                         before=self.query_one(BoardFooter))
        return field

    def _filter_shown(self) -> bool:
        return any(bar.display for bar in self.query("#filter-bar"))

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
        """Show what `query` lets through. While it is typed, the filter follows each pause, and a word half typed
        can hide the focused card for a moment: the card focused when the bar opened gets the focus back whenever
        the filter shows it again (the focus does not stay on the card that was next to it then)."""
        self.state = self.state.with_query(query, me=self.session.user)
        anchor, model = self._filter_anchor, self.model
        if anchor is not None and model is not None and self.view.focus_deal != anchor \
                and model.locate(anchor) is not None:
            self.view.model_changed(focus_deal=anchor)

    def _close_filter(self, *, clear: bool) -> None:
        if self._filter_timer is not None:
            self._filter_timer.stop()
        if clear:
            for field in self.query("#filter").results(Input):
                field.value = ""
            self.apply_filter("")
        for bar in self.query("#filter-bar"):
            bar.display = False
        self._filter_anchor = None
        self.view.focus()

    async def action_close(self) -> None:
        if self._filter_shown():
            self._close_filter(clear=True)
        elif self.clear_marks():
            pass
        elif self.aging_panel is not None:
            await self.action_aging()
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

    def action_sort(self) -> None:
        sort = sorting.next_sort(self.state.sort)
        self.state = self.state.with_sort(sort)
        self._say(f"Cards sorted by {sorting.LABELS[sort]}" + (" (the manual order)." if sort == sorting.RANK
                                                                 else "."), timeout=2)

    def action_density(self) -> None:
        from tuikanban.ui.board import density

        view = self.view
        view.compact = not view.compact
        view.model_changed()  # the focused card stays on screen
        self.memory.noted()  # the pipeline's remembered view too, even when the board closes at once
        self._write(partial(density.remember_job, self.session.user, view.compact), "density")

    async def action_aging(self) -> None:
        if self.aging_panel is not None:
            panel, self.aging_panel = self.aging_panel, None
            await panel.remove()
            self.aging.snapshot = None  # the cards keep what they show; the items go until the panel opens again
            self.set_focus(self.view)
            self.want_spares()  # (the next panel is built hidden in idle time)
        elif self.model is not None:
            # `a` is a priority binding and the panel is mounted and focused before the app reads the next key, so
            # keys typed in the same burst (j, k, enter, c) act in the panel, never on the board. Before the
            # database is open the panel says it is reading; the aging read that follows the opening fills it.
            screen_opening()  # (as for a screen: the imports after the first paint wait a moment)
            await self._show_aging()

    async def _show_aging(self) -> None:
        if self.aging_panel is not None:
            return
        from tuikanban.ui.widgets.aging_panel import AgingPanel, AgingTable

        # The panel shows the board's own aging read (the same one the cards' badges come from) under the board's
        # filter; it takes the focus, so up/down move in its list; tab goes back to the board, escape closes it.
        # Built hidden ahead of the key when the board was idle (ui/spares.py: one still mounting is waited for);
        # else composed here, as a key of the first moments finds it.
        gc_pause.pause()  # no collector pass before the panel is drawn (ui/gc_pause.py)
        spares: Spares | None = getattr(self.app, "spares", None)
        spare = await spares.take_widget("aging panel", AGING_PANEL_KEY) if spares is not None else None
        if self.aging_panel is not None:  # (another key opened one while the spare finished mounting)
            gc_pause.resume_once_drawn(self.app, self.aging_panel)
            return
        if isinstance(spare, AgingPanel):
            self.aging_panel = panel = spare
        else:
            self.aging_panel = panel = AgingPanel(id="aging", autofocus=True)
            await self.query_one("#body").mount(panel)
        gc_pause.resume_once_drawn(self.app, panel)
        if panel.is_mounted:
            self.set_focus(panel.query_one(AgingTable))
        self.aging.show_in_panel()
        if self.aging.snapshot is None and not self.aging.lazy:
            self.aging.read_all()  # with the items this time (a big pipeline's panel reads its own pages)

    def _panel_focused(self) -> bool:
        panel = self.aging_panel
        focused = self.focused
        return panel is not None and focused is not None and panel in focused.ancestors_with_self

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # (Textual re-checks on every focus change, so the footer greys these out while the panel has the focus)
        if action in ("new_deal", "edit_deal", "log", "aging") and isinstance(self.focused, Input):
            return False  # priority keys (a burst's next keys reach the form): in the filter they are letters
        return not (action in self.CARD_ACTIONS and self._panel_focused())

    def on_aging_panel_focus_deal(self, message: AgingPanel.FocusDeal) -> None:
        # (handled by name: the panel's module is imported when the panel first opens, not at start-up)
        if not self.focus_or_read(message.deal_id):
            self._say("That deal is not on the board any more.", timeout=3)
        self.view.focus()

    # -- other screens -----------------------------------------------------------------------------------------
    def action_metrics(self) -> None:
        from tuikanban.ui.screens.metrics import MetricsScreen

        self._open(lambda db, model: self._spare("metrics", self._pipeline_key(), partial(_give_db, db=db))
                   or MetricsScreen(db, model.data.pipeline.id, self.session.user))

    def action_review(self) -> None:
        from tuikanban.ui.screens.review import ReviewScreen

        def back(deal_id: int | None) -> None:
            self.read_changed()  # the review moved the mark: the cards' marks follow
            if deal_id is not None and not self.focus_or_read(deal_id):
                self._say("That deal is not on the board (closed, snoozed or filtered out).", timeout=3)

        self._open(lambda db, model: ReviewScreen(db, model.data.pipeline.id, self.session.user), back)

    def action_pipeline(self) -> None:
        from tuikanban.ui.screens.pipelines import PipelineSwitcher

        # at once, also while the database opens (its read waits on the lanes) and with no pipeline yet (the
        # switcher creates one)
        db = self.session.database()
        spare = self._spare("pipelines", self._pipeline_key(), partial(_give_db, db=db))
        self.app.push_screen(spare or PipelineSwitcher(db, self.pipeline_id), self._pipeline_chosen)

    def action_closed(self) -> None:
        from tuikanban.ui.screens.closed import ClosedDealsScreen

        def reopened(deal_id: int | None) -> None:
            if deal_id is not None:
                self.reload(focus_deal=deal_id)

        self._open(lambda db, model: self._spare("closed deals", self._pipeline_key(), partial(_give_db, db=db))
                   or ClosedDealsScreen(db, model.data.pipeline.id, self.session.user), reopened)

    def action_settings(self) -> None:
        from tuikanban.ui.screens.settings import PipelineSettingsScreen

        def closed(changed: bool | None) -> None:
            if changed:
                self.reload()

        def fit(screen: Any, db: Database) -> None:  # (the spare shows the counters as they are at the key)
            screen.db, screen.totals = db, self._stage_totals(screen.pipeline_id)

        self._open(lambda db, model: self._spare("settings", self._pipeline_key(), partial(fit, db=db))
                   or PipelineSettingsScreen(db, model.data.pipeline.id, self.session.user,
                                             self._stage_totals(model.data.pipeline.id)), closed)

    def action_refresh(self) -> None:
        if self.files.gone is not None:  # the file at the path was replaced: open it (then it is read again)
            self.app.clear_notifications()
            self.reopening = True
            self._write(self.gateway.reopen_job, "reopen")
        else:
            self.reload()

    def reopen_replaced(self) -> bool:
        """`ctrl+r` in a form or dialog over the board: reopen the file at the path if the one the board had open
        was replaced (the form keeps what the rep typed and saves it into the reopened file); False otherwise. A
        write refused before the watch saw the file go (`FileReplacedError`) has it look now, then reopen."""
        if self.files.gone is None:
            db = self.session.db
            return db is not None and db.replaced and self.files.look_now(reopen=True)
        self.action_refresh()
        return True

    @on(FileRefused)
    def _file_refused(self) -> None:
        self.files.look_now()  # (the board says it now, not at the watch's next look)

    @on(FileChecked)
    def _file_checked(self, message: FileChecked) -> None:
        if self.files.received(message):
            self.action_refresh()

    def action_help(self) -> None:
        self.app.push_screen(self._spare("help", self._help_key(), None) or self._help_screen())

    def _help_screen(self) -> Screen[None]:
        from tuikanban.ui.app import TuikanbanApp
        from tuikanban.ui.screens.help import HelpScreen

        keymap = self.app.board_keymap.keys if isinstance(self.app, TuikanbanApp) else None
        return HelpScreen(help_sections(keymap))

    def _help_key(self) -> tuple[object, ...]:
        from tuikanban.ui.screens.help import HelpScreen

        return (self.app.theme, self.app.size.width >= HelpScreen.WIDE)  # (two columns from that width)

    # -- screens built before their key (ui/spares.py) -----------------------------------------------------------
    def _spare(self, name: str, key: tuple[object, ...], fit: Callable[[Any], None] | None) -> Screen[Any] | None:
        spares: Spares | None = getattr(self.app, "spares", None)
        return spares.take(name, key, fit) if spares is not None else None

    def _pipeline_key(self) -> tuple[object, ...]:
        """What a pipeline's screens are composed from."""
        return (self.app.theme, self.pipeline_id, self.session.user)

    def _user_key(self) -> tuple[object, ...]:
        """What the deal detail is composed from (the deal is its own at the key)."""
        return (self.app.theme, self.session.user)

    def _stage_totals(self, pipeline_id: int) -> dict[int, tuple[int, int]] | None:
        """The columns' counters (open deals and their value per stage, kept current by the feed), handed down to a
        screen that shows them, so that it does not count the pipeline's open deals again; None when the board has
        none for `pipeline_id` (the screen counts them itself)."""
        model = self.model
        if model is None or model.data.pipeline.id != pipeline_id:
            return None
        return {s.id: (model.count(s.id), model.value(s.id)) for s in model.stages}

    def want_spares(self) -> None:
        spares: Spares | None = getattr(self.app, "spares", None)
        # From the screens' import on, not from the database's opening (after the ORM's import: 1-3 s after the
        # start under load): a screen built before it holds a `PendingDatabase`, as one opened at its key then would,
        # and a key of the first second finds the deal and its form built (docs/PERFORMANCE.md, Round 6: a key
        # before the work after the start).
        if spares is None or not self._screens_warm or self.model is None:
            return
        from tuikanban.ui.screens.closed import ClosedDealsScreen
        from tuikanban.ui.screens.deal_detail import DealDetailScreen
        from tuikanban.ui.screens.deal_form import DealFormScreen
        from tuikanban.ui.screens.metrics import MetricsScreen
        from tuikanban.ui.screens.pipelines import PipelineSwitcher
        from tuikanban.ui.screens.settings import PipelineSettingsScreen

        db, pipeline_id, user = self.session.database(), self.model.data.pipeline.id, self.session.user
        key = self._pipeline_key()
        # The deal and its form (one spare for `n` and `e`) at once; the others once the board has settled
        # (docs/PERFORMANCE.md, Settled with its spares)
        spares.want("deal detail", self._user_key(), lambda: DealDetailScreen(db, 0, user))
        if not self.session.readonly:
            spares.want("deal form", key, lambda: DealFormScreen(db, pipeline_id, user))
        spares.want("help", self._help_key(), self._help_screen, keep=True, later=True)
        spares.want("settings", key, lambda: PipelineSettingsScreen(db, pipeline_id, user,
                                                                    self._stage_totals(pipeline_id)), later=True)
        spares.want("pipelines", key, lambda: PipelineSwitcher(db, pipeline_id), later=True)
        spares.want("closed deals", key, lambda: ClosedDealsScreen(db, pipeline_id, user), later=True)
        spares.want("metrics", key, lambda: MetricsScreen(db, pipeline_id, user), later=True)
        if self.aging_panel is None:  # (a widget of the board: one at a time, shown or hidden, as their ids are one)
            from tuikanban.ui.widgets.aging_panel import AgingPanel

            spares.want_widget("aging panel", AGING_PANEL_KEY, lambda: AgingPanel(id="aging"),
                               lambda: self.query_one("#body"))

    def action_quit(self) -> None:
        self.app.exit()
