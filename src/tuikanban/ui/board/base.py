"""The board screen's plumbing: reading the board and applying what was read, opening the database for writing
after the first paint, live updates from other processes, the aging kept in step, and the board's state handed
down. `BoardScreen` (screen.py) adds the layout and the keys.

Database work goes through the gateway as jobs on the app's lanes (`tuikanban.ui.jobs`); each comes back as a
typed message of `messages.py`. When another process changed something (heard through the board's change
feed, `live.py`: SQLite's data_version or PostgreSQL's NOTIFY), only the deals it named are read again; the whole
board only when the pipeline's configuration changed. What the user
chose to see lives in one reactive attribute, `state` (`BoardState`), whose watcher hands it down to the model,
the view, the header and the aging panel.
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

from textual import on
from textual.reactive import reactive
from textual.screen import Screen
from textual.timer import Timer

from tuikanban.domain import clock
from tuikanban.domain.errors import NotFoundError, StaleEditError, TuikanbanError
from tuikanban.domain.text import display
from tuikanban.store import fastread
from tuikanban.ui.board import messages as m
from tuikanban.ui.board.aging_sync import AgingSync
from tuikanban.ui.board.changed import ChangedSince, changed_job
from tuikanban.ui.board.file_watch import FileChecked, FileWatch, Seen
from tuikanban.ui.board.focus_guard import (
    FocusGuard,
    LastChangeRead,
    held_sentence,
    last_change_job,
    moved_sentence,
    said,
)
from tuikanban.ui.board.gateway import BoardGateway, CellEnd, FileGone
from tuikanban.ui.board.header import BoardHeader, short_path
from tuikanban.ui.board.live import BoardChanged, CaughtUp, LiveFeed, apply_caught_up, catch_up_job
from tuikanban.ui.board.model import ALL, BoardModel
from tuikanban.ui.board.sorting import RANK
from tuikanban.ui.board.state import BoardSession, BoardState
from tuikanban.ui.board.steps import StepsRead, StepSync
from tuikanban.ui.board.view import BoardView
from tuikanban.ui.board.view_memory import ViewMemory
from tuikanban.ui.jobs import WARM, Job, JobFailed, lanes_of
from tuikanban.ui.presence import PresenceRead, here_line, presence_of
from tuikanban.ui.styled_once import StyledOnce
from tuikanban.ui.textual_seam import (
    forget_closed_widgets,
    frames_only_when_seen,
    skip_repaints_drawn_by_whole_frames,
    write_from_span_start,
)
from tuikanban.ui.whole_once import WholeOnce

if TYPE_CHECKING:
    from tuikanban.store.engine import Database
    from tuikanban.ui.widgets.aging_panel import AgingPanel

R = TypeVar("R")


def _outside_load(job: Job) -> Any:
    """`job` (a board read), its result marked as following another process's change (`BoardLoaded.outside`)."""
    result = job()
    if isinstance(result, m.BoardLoaded):
        result.outside = True
    return result


def collect_garbage_again() -> None:
    """The garbage collector, off since before the board's import (`cli.board.open_board`), back on once the
    imports after the first paint are done (the screens', then the ORM's as the database opens): its passes over
    the objects those imports create cost about a quarter of their CPU time (docs/PERFORMANCE.md, After the first
    paint). What was loaded by then lives as long as the app: frozen, out of the collector's full passes, which
    otherwise show as pauses of tens of milliseconds on a key press."""
    gc.freeze()
    gc.enable()


# The collector is back on this long after the board mounts, whatever the database does (it is on as soon as the
# database is open, or could not be opened: then this timer is stopped, so an idle board is not woken for nothing).
GC_AT_THE_LATEST_S = 10.0


AGING_EVERY_TICKS = 10  # the minute tick reads the whole pipeline's aging again every this many minutes


class BoardBase(StyledOnce, WholeOnce, Screen[None]):
    """Loading, live updates, aging and state for the board screen (see the module's docstring). (`StyledOnce`: its
    widgets are styled as they are registered at start, not a second time by its first `ScreenResume`.)"""

    state: reactive[BoardState] = reactive(BoardState, init=False)
    reopening = False  # `r` (or ctrl+r from a form) asked to open the file now at the path

    def __init__(self, gateway: BoardGateway, session: BoardSession, *, pipeline: str | int | None,
                 initial: m.Loaded | None = None) -> None:
        super().__init__(id="board-screen")
        self.gateway = gateway
        self.session = session
        self.pipeline_ref = pipeline
        self.model: BoardModel | None = None
        self.aging_panel: AgingPanel | None = None
        self.aging = AgingSync(self)
        self.files = FileWatch(self)
        self.steps = StepSync(self)
        self.memory = ViewMemory(self)
        self.focus_guard = FocusGuard()  # keys held for a moment after another rep's change moved the focus
        self.writing: frozenset[int] = frozenset()  # deals this board's own bulk action is writing (marks.py)
        self._written: list[frozenset[int]] = []  # (bulk actions done, their deals let go at the next full read)
        self._initial = initial
        self._live: LiveFeed | None = None  # started once the database is open
        self._checking = False
        self._recheck = False  # a change was heard while a check ran
        self._loading = False
        self._pending_col: dict[int, int] = {}  # deal -> column of a move still on its way
        self._after_open: list[Callable[[], None]] = []
        self._filter_timer: Timer | None = None
        self._filter_anchor: int | None = None  # the card focused when the filter bar opened (screen.py)
        self._first_run_offered = False
        self._warned_ambiguous = False
        self._screens_warm = False  # the screens' modules are imported and their styles added (`warm_job`)
        self._read_all_after_open = False  # the first screen was partial: read it all once the database is open
        self._first_window = False  # a big pipeline's board holds the first screen's cards only (no read since)
        self._ticks = 0  # minutes since the board opened (`_tick`)
        self._tick_day = clock.today()
        self._heartbeat: Timer | None = None  # the presence heartbeat, started once the database is open
        self._gc_fallback: Timer | None = None  # turns the collector on at the latest (GC_AT_THE_LATEST_S)

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
        write_from_span_start()  # a line changed in its third column is sent from there (docs/PERFORMANCE.md)
        skip_repaints_drawn_by_whole_frames()  # the start's Resize no longer sends the first frame again
        session = self.session
        self.header.update(user=session.user, db_path=session.target, readonly=session.readonly)
        if self._initial is not None:  # read before the app started (run_board): paint it in the first frame
            initial, self._initial = self._initial, None
            self._first_loaded(initial)
        else:
            self.view.set_message("Loading the board…")
            self._write(partial(self.gateway.load_job, self.pipeline_ref, self.state, first=True), "load")
        self.set_interval(60, self._tick)
        if not gc.isenabled():  # (off since `cli.board.open_board`, for the start-up's imports)
            self._gc_fallback = self.set_timer(GC_AT_THE_LATEST_S, self._collector_on)

    def on_unmount(self) -> None:
        self.stop_live()

    def stop_live(self) -> LiveFeed | None:
        """Stop following the file's commits (it was replaced: see `file_watch`); opening the database again starts
        a new feed. The feed stopped (its thread may still be inside a wait: `LiveFeed.join`), if there was one."""
        if self._live is None:
            return None
        live, self._live = self._live, None
        live.stop()
        return live

    # -- one full frame on resume (`WholeOnce`) -----------------------------------------------------------------
    def on_screen_resume(self) -> None:
        """(Runs before `WholeOnce`'s and Textual's own resume handlers.)"""
        forget_closed_widgets()  # (a screen over the board closed: Textual's style cache would keep its widgets)
        self.want_spares()  # (the screen that closed took its spare: the next one is built in idle time)

    # -- jobs and what they report ---------------------------------------------------------------------------
    def _write(self, job: Job, name: str, *, kind: str = "") -> None:
        """Run `job` on the writes lane (after every write before it; `kind`: jobs.Lane); its message comes back
        here."""
        lanes_of(self).writes.submit(self, job, name=name, kind=kind)

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
        # The screens' modules first, then the database (the ORM's import): on the writes lane, in that order, so a
        # key pressed in the first second finds its screen imported and never shares the GIL with the ORM's import
        # meanwhile (ui/board/warm.py). This is the one place they are warmed.
        # The first screen held only the top cards of each cell: read them all once the database is open, so that
        # a key pressed meanwhile (a move, whose job opens the database anyway) goes before that whole read. A big
        # pipeline's board is read a window at a time anyway: it keeps the cards it shows, and their aging is what
        # is read next; deeper cards are read as the focus nears them (docs/PERFORMANCE.md, After the first paint).
        self._read_all_after_open = partial_model and self.gateway.window is None
        self._first_window = partial_model and self.gateway.window is not None
        # (WARM: a card move pressed meanwhile goes first, between two imports: jobs.EARLY)
        from tuikanban.ui.board.warm import orm_job, warm_job  # (not needed for the first paint)

        self._write(warm_job, "warm", kind=WARM)
        self._write(orm_job, "orm", kind=WARM)
        self._write(self.gateway.open_job, "open", kind=WARM)

    @on(m.ScreensImported)
    def _screens_imported(self) -> None:
        from tuikanban.ui.board.warm import add_screen_styles

        add_screen_styles(self.app)
        self._screens_warm = True
        self.want_spares()

    def want_spares(self) -> None:
        """Have the screens the board's keys open built ahead, in idle time (`ui/spares.py`; BoardScreen)."""

    def _collector_on(self) -> None:
        """`collect_garbage_again`: the database is open (or could not be opened), or GC_AT_THE_LATEST_S passed.
        The fallback timer is stopped then: an idle board is not woken 10 s after start for nothing (with the
        presence heartbeat, the one wake-up that a settled small board showed)."""
        timer, self._gc_fallback = self._gc_fallback, None
        if timer is not None:
            timer.stop()
        collect_garbage_again()

    def _read_all_once_open(self) -> bool:
        """Read the whole board now if the first screen was partial (True: the read brings aging and steps)."""
        if not self._read_all_after_open:
            return False
        self._read_all_after_open = False
        self.reload()
        return True

    @on(m.BoardLoaded)
    def _board_loaded(self, message: m.BoardLoaded) -> None:
        if message.first:
            self._first_loaded(message.loaded)
            return
        # Without an explicit deal, keep the focus as it is when the result arrives (not when the reload was
        # asked for): a live reload queued behind a reopen's reload must not pull the focus back.
        focus = message.focus_deal if message.focus_deal is not None else self.view.focus_deal
        before, before_col = self.view.focused_card, self.view.focus_col
        self._apply_loaded(message.loaded, focus_deal=focus)
        if message.outside:
            self._focus_after_outside_change(before, before_col)

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
        """The board stays on screen, read-only: every write would fail the same way. A file deleted or replaced
        since the first read is said as the watch says it later, and `r` opens what is at the path now."""
        gone = isinstance(message.error, FileGone)
        self.reopening = False
        if gone:  # (nothing more is read from the old file either)
            self.files.received(FileChecked(Seen(None, None), str(message.error), None))
        else:
            self._show_error(message.error)
        self._after_open = []
        self.session.readonly = True
        self.header.update(readonly=True)
        self._collector_on()
        if not gone:
            self._read_all_once_open()  # (the reads need no writable database)

    @on(m.DbOpened)
    def _db_opened(self, message: m.DbOpened) -> None:
        reopened, self.reopening = self.reopening, False
        if reopened and self.app.screen is not self:  # ctrl+r from a form kept over the replaced file
            self._say(f"Reopened {self.session.target}: save again to put what you typed there.", timeout=8)
        self._collector_on()
        self.session.opened(message.db)
        self._join_presence(message.db, again=reopened)
        self.header.update(readonly=self.session.readonly)
        self.files.start()
        if self._live is None:
            self._live = LiveFeed(self.session.target)
            self._live.listen(self)
        waiting, self._after_open = self._after_open, []
        for fn in waiting:
            fn()
        self.want_spares()
        if self.model is None:
            self._offer_first_run()
        elif not self._read_all_once_open():
            self.aging.read_all()
            self.steps.read()
            self.read_changed()

    def reload(self, *, pipeline: int | None = None, focus_deal: int | None = None, outside: bool = False) -> None:
        """Read the whole board again (another process changed it, or a modal did), keeping the focus. `outside`:
        because of another process's change (a focus it moves is said, and guarded: `focus_guard`)."""
        ref: str | int | None = pipeline if pipeline is not None else (self.pipeline_id or self.pipeline_ref)
        self._loading = True
        self._first_window = False
        job: Job = partial(self.gateway.load_job, ref, self.state, focus_deal)
        self._write(partial(_outside_load, job) if outside else job, "load")

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
        model.show(self.state.filter, self.state.lanes_on, self.state.sort)
        previous = self.pipeline_id
        self.model = model
        if previous != model.data.pipeline.id:
            self.aging.clear()
        if previous is not None and previous != model.data.pipeline.id:
            self.view.focus_col = self.view.focus_lane = 0
            self.view.focus_deal = None
            self.view.col_start = self.view.vscroll = 0
            self._write(partial(self.gateway.remember_job, model.data.pipeline.name), "remember")
            self.want_spares()  # (the spares of the pipeline shown before are let go)
        self.view.set_model(model, focus_deal=focus_deal if focus_deal is not None else self.view.focus_deal)
        self.memory.switched(model.data.pipeline.name)
        self._update_header()
        if loaded.read.ambiguous and not self._warned_ambiguous:
            self._warned_ambiguous = True
            self._say(f"There are {loaded.read.pipeline_count} pipelines and none is the default; showing "
                      f"{display(model.data.pipeline.name)}. Press p to switch.", timeout=6)
        if self.session.db is not None:  # (before the database is open, _db_opened reads it)
            self.aging.read_all()
            self.steps.read()
            self.read_changed()

    # -- state handed down -----------------------------------------------------------------------------------
    def watch_state(self, old: BoardState, new: BoardState) -> None:
        model = self.model
        if old.filter.snoozed != new.filter.snoozed:
            self.reload()  # snoozed deals are read only for the snoozed:yes filter
        elif model is not None and model.needs_all(new.filter, new.sort):
            self.reload()  # a big pipeline's board holds each cell's top cards only: a filter or a sort reads all
        elif (model is not None and not model.partial and self.gateway.window is not None
              and not new.filter.active and new.sort == RANK):
            self.reload()  # back to the top cards of each cell (what was read for the filter is let go)
        if self.model is not None and self.model.show(new.filter, new.lanes_on, new.sort):
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
            other_currencies=model.other_currency_note,
        )

    # -- "changed since you last looked" ---------------------------------------------------------------------
    def read_changed(self) -> None:
        if self.session.db is not None and self.model is not None:
            job = partial(changed_job, self.session.db, self.model.data.pipeline.id, self.session.user)
            lanes_of(self).reads.submit(self, job, name="changed since")

    @on(ChangedSince)
    def _changed_since(self, message: ChangedSince) -> None:
        self.view.set_changed(message.ids if message.pipeline_id == self.pipeline_id else frozenset())

    # -- aging and live updates ------------------------------------------------------------------------------
    @on(m.AgingRead)
    def _aging_read(self, message: m.AgingRead) -> None:
        self.aging.received(message)

    @on(StepsRead)
    def _steps_read(self, message: StepsRead) -> None:
        self.steps.received(message)

    @on(m.AgingFailed)
    def _aging_failed(self, message: m.AgingFailed) -> None:
        self.aging.failed(message)

    def _tick(self) -> None:
        """Days in stage move on: repaint the badges that changed (the view draws only those), and read the levels
        and signals again when the day changed or every AGING_EVERY_TICKS minutes (a whole pipeline's read: an idle
        board must cost next to nothing)."""
        self.view.tick()
        self._ticks += 1
        today = clock.today()
        if not self._loading and (today != self._tick_day or self._ticks % AGING_EVERY_TICKS == 0):
            self._tick_day = today
            self.aging.read_all()

    @on(BoardChanged)
    def _board_changed(self, message: BoardChanged) -> None:
        """Someone committed: check (after our own writes, on the writes lane) whether the board changed."""
        if message.feed is not self._live:
            # heard by a feed stopped since (`stop_live`, or replaced by a new one when the database was opened
            # again): the board follows no commits through it any more, and a catch-up now could take the card
            # under the user's focus off the board between two keys
            return
        assert self._live is not None
        self._live.listen(self)  # and wait for the next commit
        if message.reachable is not None:
            self._feed_reachable(message.reachable)
        self.files.heard(message.change)  # (a restore, on a database server)
        pipeline_id = self.pipeline_id
        if self.session.gone or (pipeline_id is not None and not message.change.touches(pipeline_id)):
            if message.change.presence and not self.session.gone:
                presence_of(self).refresh()  # someone came, went or opened a deal (PostgreSQL's feed says so)
            return
        if message.change.presence or not message.change.presence_known:
            presence_of(self).refresh()  # someone may have come or gone (presence writes leave the check alone)
        if self._checking:
            self._recheck = True
            return
        self._check()

    def _feed_reachable(self, reachable: bool) -> None:
        """The database server went away (said once, `offline` in the header) or came back (the board catches up
        with what others did meanwhile: the feed re-checks everything)."""
        self.header.update(offline=not reachable)
        if not reachable:
            self._say(f"Lost the connection to {short_path(self.session.target)}; the board shows what it last read, "
                      "and catches up by itself when the server is back.", severity="warning", timeout=8)

    def _check(self) -> None:
        self._checking = True
        self._write(partial(catch_up_job, self.gateway, self.model, self.state.filter.snoozed), "check")

    @on(CaughtUp)
    def _caught_up(self, message: CaughtUp) -> None:
        """Apply what others changed: only the deals they named (their cards, counts, aging and next steps), or
        the whole board when its configuration changed (live.py)."""
        self._checking = False
        if message.reload or (message.changed and self._first_window):  # (see `_applied`)
            self._recheck = False
            self.reload(outside=True)
            return
        if message.changed and self.model is not None and message.pipeline_id == self.pipeline_id:
            before, before_col = self.view.focused_card, self.view.focus_col
            apply_caught_up(self.model, message)
            self.view.model_changed(focus_deal=self.view.focus_deal)
            self._focus_after_outside_change(before, before_col)
            self._update_header()
            ids = tuple(d for d, card in message.cards.items() if card is not None and d in self.model.by_id)
            if ids and self.session.db is not None and self.pipeline_id is not None:
                job = partial(self.gateway.aging_job, self.pipeline_id, None, ids)
                lanes_of(self).reads.submit(self, job, name="aging")
                self.steps.read(ids)
            self.read_changed()
        if self._recheck:
            self._recheck = False
            self._check()

    def _focus_after_outside_change(self, before: fastread.BoardCard | None, before_col: int) -> None:
        """Another rep's change took the focused card off the board (the focus went to the next card) or moved it
        to another column (the focus went with it): hold the keys that change a deal for a moment (`_aimed`), and
        say which card has the focus now and why (once the old card's newest event is read)."""
        model, view = self.model, self.view
        if before is None or model is None:
            return
        followed = view.focus_deal == before.id
        if followed and view.focus_col == before_col:
            return  # (the focused card stayed where it was)
        now = view.focused_card
        # (no key reaches the board now, or the change is this board's own bulk action still under way: no key is
        # held, and the rep's own change is not news)
        covered = self.app.screen is not self or before.id in self.writing
        if now is not None and not covered:
            self.focus_guard.arm(now.id, held_sentence(now.title, followed=followed))
        hidden = not followed and before.id in model.by_id  # still open, still here: the filter hides it now
        job = partial(last_change_job, self.gateway, before.id, before.title, None if now is None else now.title,
                      followed, hidden, covered)
        self._write(job, "focus moved")

    @on(LastChangeRead)
    def _last_change_read(self, message: LastChangeRead) -> None:
        if said(message, self.session.user):
            self._say(moved_sentence(message, self.session.user), severity="warning", timeout=5)

    # -- presence ----------------------------------------------------------------------------------------------
    def _join_presence(self, db: Database, *, again: bool = False) -> None:
        from tuikanban.services.presence import HEARTBEAT_SECONDS  # (the ORM is loaded by now)

        link = presence_of(self)
        link.join(self, db, again=again)
        if self._heartbeat is None:  # (once: a board that reopened its file joins again on the same beat)
            self._heartbeat = self.set_interval(HEARTBEAT_SECONDS, link.heartbeat)

    @on(PresenceRead)
    def _presence_read(self, message: PresenceRead) -> None:
        presence_of(self).received(message)
        self.header.update(here=here_line(message.others))

    # -- a big pipeline's board, read a window at a time -------------------------------------------------------
    MORE_MARGIN = 40  # cards: read deeper once the focus comes this close to the end of what a cell holds

    def read_more_if_near_end(self) -> None:
        """After the focus moved: when it nears the end of the cards loaded of its cell while the cell has more,
        read every cell deeper (twice as deep), in the background."""
        model, view = self.model, self.view
        if model is None or not model.partial or self._loading or not model.stages or not model.lanes:
            return
        lane = min(view.focus_lane, len(model.lanes) - 1)
        col = min(view.focus_col, len(model.stages) - 1)
        cell = model.cell(lane, col)
        if len(cell) >= model.cell_total(lane, col):
            return
        card = view.focused_card
        index = next((i for i, c in enumerate(cell) if card is not None and c.id == card.id), 0)
        if index + self.MORE_MARGIN >= len(cell):
            self.gateway.deepen(max(2 * model.loaded_depth, index + 2 * self.MORE_MARGIN))
            self.reload()

    def read_to_cell_end(self) -> None:
        """`end` in a cell a big pipeline's board holds only the top of: find its last card, read down to it."""
        model, view = self.model, self.view
        if model is None or not model.partial or not model.stages or not model.lanes:
            return
        lane = model.lanes[min(view.focus_lane, len(model.lanes) - 1)]
        col = min(view.focus_col, len(model.stages) - 1)
        if len(model.cell(view.focus_lane, col)) >= model.cell_total(view.focus_lane, col):
            return
        job = partial(self.gateway.cell_end_job, model.data.pipeline.id, model.stages[col].id, lane.type_id,
                      lane.key == ALL)
        self._write(job, "cell end")

    @on(BoardView.Scrolled)
    def _wheel_scrolled(self) -> None:
        """The wheel walks the focus down a cell as `down` does: past what is held, the board reads deeper."""
        self.read_more_if_near_end()

    @on(CellEnd)
    def _cell_end(self, message: CellEnd) -> None:
        if message.deal_id is not None:
            self.focus_or_read(message.deal_id)

    def focus_or_read(self, deal_id: int) -> bool:
        """Focus `deal_id` on the board; on a big pipeline's board that has not loaded it, read deep enough to show
        it (the focus follows when the read arrives). False when it cannot be on the board."""
        if self.view.focus_on(deal_id):
            return True
        if self.model is not None and self.model.partial and not self.state.filter.active:
            self.reload(focus_deal=deal_id)
            return True
        return False

    # -- helpers for actions -----------------------------------------------------------------------------------
    def _focused(self) -> fastread.BoardCard | None:
        card = self.view.focused_card
        if card is None and self.model is not None:
            self._say("No deal is focused here; move to a card first.", timeout=3)
        return card

    def _aimed(self) -> fastread.BoardCard | None:
        """The focused card, for a key that changes it (move, won, edit, ...): None, with one sentence, when the
        focus moved to it a moment ago because of another rep's change (`focus_guard`); the next press acts."""
        card = self._focused()
        held = self.focus_guard.holds(card.id) if card is not None else None
        if held is not None:
            self._say(held, severity="warning", timeout=3)
            return None
        return card

    def _refuse_readonly(self) -> bool:
        if self.session.readonly:
            self._say(self.session.readonly_sentence(), severity="error", timeout=6)
        return self.session.readonly

    def _applied(self, changed: m.Changed) -> None:
        """Apply a write's result to the affected columns only."""
        if self.model is None:
            return
        if changed.deal is not None:
            self.model.upsert(changed.deal)
        self.view.model_changed(focus_deal=self.view.focus_deal)
        self._update_header()
        if changed.foreign or self.model.stale or self._first_window:
            # (reads the aging again too; a big pipeline's first write reads each cell's window: a card that left
            # a cell of the first screen's few cards leaves room for the next ones)
            self.reload()
        elif changed.deal is not None:
            self.aging.after_write(changed.deal.id)
            self.steps.read((changed.deal.id,))

    def _open(self, make: Callable[[Database, BoardModel], Screen[R]],
              done: Callable[[R | None], None] | None = None) -> None:
        """Show the screen `make(db, model)` builds, at once: before the database is open (the ORM is imported
        after the first paint) it gets the session's `PendingDatabase`, so a key pressed in the first second
        opens its screen without waiting for that import; the screen's reads wait on the lanes instead."""
        if self.model is not None:
            self.app.push_screen(make(self.session.database(), self.model), done)

    def _pipeline_chosen(self, pipeline_id: int | None) -> None:
        if pipeline_id is not None:
            self.reload(pipeline=pipeline_id)

    def _offer_first_run(self) -> None:
        if not self._first_run_offered and self.model is None:
            self._first_run_offered = True
            self._offer_first_run_now()

    def _offer_first_run_now(self) -> None:
        if self.model is not None or self.session.db is None or self._refuse_readonly():
            return
        from tuikanban.ui.screens.first_run import FirstRunScreen

        self.app.push_screen(FirstRunScreen(self.session.db, self.session.user), self._pipeline_chosen)


# Covered by a screen (metrics, review, settings, any dialog), the board draws nothing while it cannot be seen and
# only what changed while it is dimmed; shown again, it is drawn whole once (textual_seam, docs/PERFORMANCE.md,
# Bytes to the terminal). On the class, before any board's update timer is made.
frames_only_when_seen(BoardBase)
