"""The board application: one screen of stage columns, driven from the keyboard.

Start-up is kept lean on purpose (FACTS: `import sqlmodel` alone costs more than a bare Textual app's first
paint): the first screen is read with plain sqlite3 (`store.fastread`) on the board's database thread, and the
ORM is imported and the database opened for writing only after the first paint. Every database job (reads and
writes) runs in order on that one thread; results come back to the UI thread as `JobDone` messages. A card move
updates the two affected columns in place; the whole board is re-read only when another process changed
something (polled with `PRAGMA data_version` every half second).

The aging of the cards (days-in-stage colours and risk marks, from `services.aging`) is read after the board, never
before its first paint: the whole pipeline's on a second thread (so that a key never queues behind it), a deal
just written on the database thread. The aging panel shows the same read under the board's filter.
"""

from __future__ import annotations

import contextlib
import gc
import itertools
import os
import queue
import re
import shutil
import sqlite3
import threading
from bisect import insort
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual import on
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal
from textual.content import Content
from textual.message_pump import MessagePump
from textual.screen import Screen
from textual.theme import Theme
from textual.timer import Timer
from textual.widgets import Footer, Input, Label

from tuikanban.domain.aging import (
    LEVEL_LEGEND,
    SIGNAL_LEGEND,
    SIGNALS,
    AgingSnapshot,
    sort_key,
)
from tuikanban.domain.errors import NotFoundError, StaleEditError, TuikanbanError, ValidationError, WipLimitError
from tuikanban.domain.filters import DealFilter, parse_filter
from tuikanban.domain.models import DealView, MoveResult, StageInfo
from tuikanban.domain.money import format_money
from tuikanban.domain.text import display, name_key
from tuikanban.store import fastread
from tuikanban.ui.messages import JobDone
from tuikanban.ui.themes import APP_VARIABLES
from tuikanban.ui.widgets.board import BoardView, CardAging, card_agings, moved_aging
from tuikanban.ui.widgets.board_model import BoardModel
from tuikanban.ui.widgets.header import BoardHeader

if TYPE_CHECKING:
    from tuikanban.store.engine import Database

ENV_DB = "TUIKANBAN_DB"
POLL_SECONDS = 0.5

# -- theme variables ------------------------------------------------------------------------------------------

# tuikanban's own theme variables and their defaults live with the theme loader (one list for both).
THEME_VARIABLE_DEFAULTS: dict[str, str] = APP_VARIABLES
_VAR_REF = re.compile(r"\$([A-Za-z0-9_-]+)")


def resolve_variables(variables: dict[str, str]) -> dict[str, str]:
    """Replace `$name` references inside variable values (Textual does not resolve them in variables)."""
    out = dict(variables)
    for _ in range(4):
        changed = False
        for key, value in out.items():
            if "$" in value:
                new = _VAR_REF.sub(lambda m: out.get(m.group(1), m.group(0)), value)
                if new != value:
                    out[key] = new
                    changed = True
        if not changed:
            break
    return out


# -- the database thread ----------------------------------------------------------------------------------------


_JOB_IDS = itertools.count(1)  # job ids are unique across runners


class DbRunner:
    """One thread runs every database job in submission order and posts each result back as a `JobDone`."""

    def __init__(self, target: MessagePump, on_stop: Callable[[], None] | None = None, *,
                 name: str = "tuikanban-db") -> None:
        self._queue: queue.Queue[tuple[int, Callable[[], Any], Any, Any] | None] = queue.Queue()
        self._target = target
        self._on_stop = on_stop
        self.pending = 0
        self.jobs: set[int] = set()  # ids of the jobs submitted and not yet handled on the UI thread
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._thread.start()

    def submit(self, fn: Callable[[], Any], on_done: Callable[[Any], None] | None = None,
               on_error: Callable[[BaseException], None] | None = None) -> int:
        job_id = next(_JOB_IDS)
        self.jobs.add(job_id)
        self.pending += 1
        self._queue.put((job_id, fn, on_done, on_error))
        return job_id

    def _loop(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                if self._on_stop is not None:  # the connections are closed by the thread that used them
                    with contextlib.suppress(Exception):  # closing at exit: nothing left to tell the user
                        self._on_stop()
                return
            job_id, fn, on_done, on_error = item
            result: Any = None
            error: BaseException | None = None
            try:
                result = fn()
            except Exception as exc:  # delivered to the UI thread, which shows it
                error = exc
            self._target.post_message(JobDone(job_id, result, error, on_done, on_error))

    def stop(self) -> None:
        self._queue.put(None)

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)


@dataclass(frozen=True, slots=True)
class Loaded:
    read: fastread.BoardRead
    model: BoardModel | None


@dataclass(frozen=True, slots=True)
class BoardAging:
    """The aging of a pipeline's open deals (services.aging), or of only `deal_ids` after a write: what the cards
    show, and the full items when asked (for the aging panel)."""

    cards: dict[int, CardAging]
    snapshot: AgingSnapshot | None
    deal_ids: tuple[int, ...] | None = None


def patch_aging(snapshot: AgingSnapshot | None, cards: dict[int, CardAging], fresh: BoardAging) -> None:
    """Put the re-read deals of `fresh` into the board's aging (the items in severity order); drop those no longer
    open."""
    ids = set(fresh.deal_ids or ())
    for deal_id in ids:
        cards.pop(deal_id, None)
    cards.update(fresh.cards)
    if snapshot is None or fresh.snapshot is None:
        return
    items = [i for i in snapshot.items if i.id not in ids]
    for item in fresh.snapshot.items:
        insort(items, item, key=sort_key)
    snapshot.items = items
    snapshot.stages = fresh.snapshot.stages


@dataclass(frozen=True, slots=True)
class Changed:
    """The result of a write: the deal as it is now (None if gone), and whether others changed things too."""

    deal: fastread.BoardCard | None
    foreign: bool
    move: MoveResult | None = None


class Backend:
    """Everything the board does with the database. Its methods run on the database thread only."""

    def __init__(self, *, path: Path, user: str, db: Database | None, con: sqlite3.Connection | None,
                 owns_db: bool = False) -> None:
        self.path = path
        self.user = user
        self.db = db
        self._owns_db = owns_db or db is None  # a database handed in by the caller is closed by the caller
        self._con = con
        self.seen: fastread.Signature | None = None
        self.pipeline_id: int | None = None

    # connections
    def raw(self) -> sqlite3.Connection:
        if self._con is None:
            self._con = fastread.connect_live(self.path)
        return self._con

    def open(self) -> Database:
        """Open the database for writing (this is where the ORM gets imported, after the first paint)."""
        if self.db is None:
            from tuikanban.store.engine import open_database

            self.db = open_database(self.path)
            if self._con is not None:  # the first read may have used an immutable snapshot
                self._con.close()
                self._con = None
        return self.db

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None
        if self.db is not None and self._owns_db:
            self.db.close()

    # reads
    def load(self, ref: str | int | None, lanes_on: bool, flt: DealFilter, *, window: int | None = None) -> Loaded:
        try:
            read = fastread.load_board(self.raw(), ref, window=window)
        except NotFoundError:
            if ref is None or isinstance(ref, str):
                raise
            read = fastread.load_board(self.raw(), None)  # the pipeline was removed: show another one
        self.seen = read.signature
        if read.board is None:
            self.pipeline_id = None
            return Loaded(read, None)
        self.pipeline_id = read.board.pipeline.id
        return Loaded(read, BoardModel(read.board, lanes_on=lanes_on, filter=flt))

    def check(self) -> bool:
        """Whether something the board shows changed since it was read (other than our own writes)."""
        if self.pipeline_id is None:
            return fastread.list_pipelines(self.raw()) != []
        sig = fastread.signature(self.raw(), self.pipeline_id)
        seen = self.seen
        if seen is None:
            return True
        return sig != seen and (sig.max_event > seen.max_event or sig.max_activity != seen.max_activity
                                or sig.config != seen.config)

    def absorb(self, deal_id: int) -> bool:
        """Mark this user's new events and activities on `deal_id` as seen. True if there are others too."""
        if self.seen is None:
            return True
        con = self.raw()
        events = fastread.events_since(con, self.seen.max_event)
        acts = fastread.activities_since(con, self.seen.max_activity)
        ours = all(d == deal_id and u == self.user for _i, d, u in events) and all(
            d == deal_id and u == self.user for _i, d, u in acts)
        if not ours:
            return True
        self.seen = replace(self.seen, max_event=events[-1][0] if events else self.seen.max_event,
                            max_activity=acts[-1][0] if acts else self.seen.max_activity)
        return False

    def refresh_deal(self, deal_id: int) -> Changed:
        self.open()
        return Changed(fastread.load_card(self.raw(), deal_id), self.absorb(deal_id))

    def aging(self, pipeline_id: int, deal_ids: tuple[int, ...] | None = None, items: bool = False) -> BoardAging:
        """Days in stage, baseline, level and risk signals of every open deal (or of `deal_ids` only), from the
        one aging function of the core (SQL aggregates; read after the board, never before its first paint).
        The items are kept only with `items` (the aging panel is open) or for a few deals."""
        from tuikanban.services.aging import aging_snapshot

        snap = aging_snapshot(self.open(), pipeline_id, deal_ids=deal_ids)
        return BoardAging(card_agings(snap.items), snap if items or deal_ids is not None else None, deal_ids)

    # writes
    def move(self, deal_id: int, stage_id: int, force_reason: str | None, from_stage_id: int | None = None) -> Changed:
        """Move a deal; with `from_stage_id`, only if it is still in that stage (the one the board showed, or the
        target of the move queued just before: if that one was refused, this one must not skip a stage)."""
        from tuikanban.services.deals import move_deal

        db = self.open()
        if from_stage_id is not None:
            now = fastread.load_card(self.raw(), deal_id)
            if now is None:
                raise NotFoundError(f"There is no deal with id {deal_id}.")
            if now.status != "open":
                raise StaleEditError(f"'{now.title}' is {now.status} now (changed meanwhile), so it was not moved.")
            if now.stage_id != from_stage_id:
                row = self.raw().execute("SELECT name FROM stage WHERE id = ?", (from_stage_id,)).fetchone()
                where = row[0] if row else "the stage the board showed"
                raise StaleEditError(f"'{now.title}' is not in {where} (the move before was refused, or someone "
                                     "else moved it), so it was not moved.")
        result = move_deal(db, deal_id, stage_id, user=self.user, force_reason=force_reason)
        return Changed(fastread.card_from_deal(result.deal), self.absorb(deal_id), result)

    def reorder(self, deal_id: int, stage_id: int, direction: int, same_type: bool
                ) -> tuple[bool, list[fastread.BoardCard], int, int, bool]:
        from tuikanban.services.deals import reorder_deal

        moved = reorder_deal(self.open(), deal_id, direction, user=self.user, same_type=same_type)
        assert self.pipeline_id is not None
        cards, n, v = fastread.load_stage(self.raw(), self.pipeline_id, stage_id) if moved else ([], 0, 0)
        return moved, cards, n, v, self.absorb(deal_id)

    def win(self, deal_id: int) -> Changed:
        from tuikanban.services.deals import win_deal

        deal = win_deal(self.open(), deal_id, user=self.user)
        return Changed(fastread.card_from_deal(deal), self.absorb(deal_id))

    def lose(self, deal_id: int, reason: str) -> Changed:
        from tuikanban.services.deals import lose_deal

        deal = lose_deal(self.open(), deal_id, reason, user=self.user)
        return Changed(fastread.card_from_deal(deal), self.absorb(deal_id))

    def undo(self, pipeline_id: int, lanes_on: bool, flt: DealFilter) -> tuple[str, int | None, Loaded]:
        from tuikanban.services.deals import undo_last

        before = self.seen.max_event if self.seen else 0
        text = undo_last(self.open(), pipeline_id, user=self.user)
        mine = [d for _i, d, u in fastread.events_since(self.raw(), before) if u == self.user and d is not None]
        return text, (mine[-1] if mine else None), self.load(pipeline_id, lanes_on, flt)


# -- key bindings -----------------------------------------------------------------------------------------------

# Footer groups: the keys of a group are drawn side by side, so "⇧←" then "→" reads as "⇧←→ move".
_NAV = Binding.Group("focus", compact=True)
_MOVE = Binding.Group("move", compact=True)
_ORDER = Binding.Group("order", compact=True)
_CLOSE = Binding.Group("won/lost", compact=True)

# (help section, bindings); the help text of each binding is its tooltip.
BINDING_SECTIONS: list[tuple[str, list[Binding]]] = [
    ("Navigate", [
        Binding("left,h", "column(-1)", "column", key_display="←", group=_NAV, id="board.column_prev",
                tooltip="Focus the previous column"),
        Binding("right,l", "column(1)", "column", key_display="→", group=_NAV, id="board.column_next",
                tooltip="Focus the next column"),
        Binding("up,k", "card(-1)", "card", key_display="↑", group=_NAV, id="board.card_prev",
                tooltip="Focus the previous card (continues into the lane above)"),
        Binding("down,j", "card(1)", "card", key_display="↓", group=_NAV, id="board.card_next",
                tooltip="Focus the next card (continues into the lane below)"),
        Binding("pageup", "page(-1)", "page up", show=False, id="board.page_up", tooltip="Up a screenful"),
        Binding("pagedown", "page(1)", "page down", show=False, id="board.page_down",
                tooltip="Down a screenful"),
        Binding("home", "edge(0)", "first", show=False, id="board.first", tooltip="First card of the cell"),
        Binding("end", "edge(1)", "last", show=False, id="board.last", tooltip="Last card of the cell"),
    ]),
    ("Deals", [
        Binding("shift+left,H", "move(-1)", "move", key_display="⇧←", group=_MOVE, id="board.move_prev",
                tooltip="Move the focused deal to the previous stage"),
        Binding("shift+right,L", "move(1)", "move", key_display="→", group=_MOVE, id="board.move_next",
                tooltip="Move the focused deal to the next stage"),
        Binding("shift+up,K", "reorder(-1)", "reorder", key_display="⇧↑", group=_ORDER, id="board.reorder_up",
                tooltip="Move the focused deal up within its column"),
        Binding("shift+down,J", "reorder(1)", "reorder", key_display="↓", group=_ORDER,
                id="board.reorder_down", tooltip="Move the focused deal down within its column"),
        Binding("n", "new_deal", "new", id="board.new", tooltip="New deal (form)"),
        Binding("enter", "open_deal", "open", key_display="⏎", id="board.open",
                tooltip="Open the focused deal: details, history, activities"),
        Binding("e", "edit_deal", "edit", show=False, id="board.edit", tooltip="Edit the focused deal"),
        Binding("w", "won", "won", group=_CLOSE, id="board.won", tooltip="Mark the focused deal won"),
        Binding("x", "lost", "lost", group=_CLOSE, id="board.lost",
                tooltip="Mark the focused deal lost (asks for a reason)"),
        Binding("u", "undo", "undo", id="board.undo", tooltip="Undo your last move or close"),
    ]),
    ("View", [
        Binding("slash", "filter", "filter", key_display="/", id="board.filter",
                tooltip="Filter: words, owner:NAME, type:NAME"),
        Binding("s", "lanes", "lanes", id="board.lanes", tooltip="Swimlanes by deal type on/off"),
        Binding("a", "aging", "aging", id="board.aging", tooltip="Aging panel: stuck deals and risk signals"),
        Binding("m", "metrics", "metrics", id="board.metrics", tooltip="Metrics: velocity, conversion, bottleneck"),
        Binding("p", "pipeline", "pipeline", id="board.pipeline", tooltip="Switch pipeline (or create one)"),
        Binding("c", "closed", "closed", id="board.closed", tooltip="Closed deals: find and reopen"),
        Binding("comma", "settings", "setup", key_display=",", id="board.settings",
                tooltip="Pipeline settings: stages, limits, types"),
        Binding("r", "refresh", "refresh", show=False, id="board.refresh", tooltip="Read the board again"),
    ]),
    ("App", [
        Binding("question_mark", "help", "help", key_display="?", id="board.help", tooltip="This help"),
        Binding("escape", "close", "back", key_display="esc", id="board.close",
                tooltip="Close the open panel or filter"),
        Binding("q", "quit", "quit", id="board.quit", tooltip="Quit"),
    ]),
]


def _key_label(binding: Binding) -> str:
    names = {"left": "←", "right": "→", "up": "↑", "down": "↓", "shift+left": "⇧←", "shift+right": "⇧→",
             "shift+up": "⇧↑", "shift+down": "⇧↓", "slash": "/", "comma": ",", "question_mark": "?",
             "escape": "esc", "enter": "enter", "pageup": "PgUp", "pagedown": "PgDn"}
    return " / ".join(names.get(k.strip(), k.strip()) for k in binding.key.split(","))


# -- the footer ------------------------------------------------------------------------------------------------

FOOTER_EXTRAS = frozenset({"closed", "settings"})  # board keys beyond SPEC section 6: the first to give way


class BoardFooter(Footer):
    """Textual's footer, laid out for the board: every key on one line when the terminal is wide enough (about
    160 columns); narrower, the keys beyond the SPEC's list give way first, then the keys wrap onto a second line,
    so that every key of SPEC section 6 stays on screen down to about 80 columns. (`?` lists them all anyway.)"""

    DEFAULT_CSS = """
    BoardFooter.-two-rows { height: 2; layout: vertical; }
    BoardFooter .footer-row { height: 1; width: 1fr; layout: horizontal; }
    """
    PALETTE_W = 11  # "^p palette" and its rule

    def __init__(self) -> None:
        super().__init__(compact=True)
        self.rows_used = 1
        self._needs: tuple[int, int] | None = None  # cells for every key / for the SPEC's keys, on one line

    @staticmethod
    def _item_width(item: tuple[Any, list[tuple[Binding, bool, str]]], app: App[Any]) -> int:
        group, members = item
        keys = sum(len(app.get_key_display(b)) for b, _e, _t in members)
        if group is not None:  # keys side by side, then the group's label (as measured in Textual 8.2)
            return keys + len(group.description) + 2
        binding = members[0][0]
        return keys + 1 + len(binding.description) + 1

    def _layout_for(self, width: int, all_w: int, spec_w: int) -> tuple[bool, int]:
        """(show the extra keys, rows) for a footer `width` cells wide."""
        room = width - self.PALETTE_W - 1
        if all_w <= room:
            return True, 1
        if spec_w <= room:
            return False, 1
        return all_w <= 2 * room - 8, 2

    def compose(self) -> ComposeResult:
        if not self._bindings_ready:
            return
        app = self.app
        active = self.screen.active_bindings
        by_action: dict[str, list[tuple[Binding, bool, str]]] = {}
        for _node, binding, enabled, tooltip in active.values():
            if binding.show:
                by_action.setdefault(binding.action, []).append((binding, enabled, tooltip))
        items: list[tuple[Any, list[tuple[Binding, bool, str]]]] = []
        for group, chunk in itertools.groupby(by_action.values(), lambda m: m[0][0].group):
            members = [m[0] for m in chunk]
            if group is not None and len(members) > 1:
                items.append((group, members))
            else:
                items.extend((None, [m]) for m in members)
        widths = [self._item_width(item, app) for item in items]
        extra = [item[0] is None and item[1][0][0].action in FOOTER_EXTRAS for item in items]
        all_w = sum(widths)
        spec_w = sum(w for w, x in zip(widths, extra, strict=True) if not x)
        self._needs = (all_w, spec_w)
        show_extras, rows = self._layout_for(self.size.width or app.size.width, all_w, spec_w)
        shown = [(item, w) for item, w, x in zip(items, widths, extra, strict=True) if show_extras or not x]
        self.rows_used = rows
        self.set_class(rows == 2, "-two-rows")
        if rows == 1:
            for item, _w in shown:
                yield from self._item_widgets(item)
            yield from self._palette(active)
            return
        half = sum(w for _i, w in shown) / 2
        first: list[Any] = []
        used = 0
        for item, w in shown:
            if used + w / 2 > half and first:
                break
            first.append(item)
            used += w
        with Horizontal(classes="footer-row"):
            for item in first:
                yield from self._item_widgets(item)
            yield from self._palette(active)
        with Horizontal(classes="footer-row"):
            for item, _w in shown[len(first):]:
                yield from self._item_widgets(item)

    def _item_widgets(self, item: tuple[Any, list[tuple[Binding, bool, str]]]) -> ComposeResult:
        from textual.widgets._footer import FooterKey, FooterLabel, KeyGroup

        group, members = item
        if group is None:
            binding, enabled, tooltip = members[0]
            yield FooterKey(binding.key, self.app.get_key_display(binding), binding.description, binding.action,
                            disabled=not enabled, tooltip=tooltip).data_bind(compact=Footer.compact)
            return
        with KeyGroup(classes="-compact" if group.compact else ""):
            for binding, enabled, tooltip in members:
                yield FooterKey(binding.key, self.app.get_key_display(binding), "", binding.action,
                                disabled=not enabled, tooltip=tooltip or binding.description,
                                classes="-grouped").data_bind(compact=Footer.compact)
        yield FooterLabel(group.description)

    def _palette(self, active: Any) -> ComposeResult:
        from textual.widgets._footer import FooterKey

        if not (self.show_command_palette and self.app.ENABLE_COMMAND_PALETTE):
            return
        try:
            _node, binding, enabled, _tooltip = active[self.app.COMMAND_PALETTE_BINDING]
        except KeyError:
            return
        yield FooterKey(binding.key, self.app.get_key_display(binding), binding.description, binding.action,
                        classes="-command-palette", disabled=not enabled,
                        tooltip=binding.tooltip or binding.description)

    def on_resize(self) -> None:
        if self._needs is None:
            return
        show_extras, rows = self._layout_for(self.size.width, *self._needs)
        if rows != self.rows_used or show_extras != self._showing_extras():
            self.call_after_refresh(self.recompose)

    def _showing_extras(self) -> bool:
        from textual.widgets._footer import FooterKey

        return any(k.action in FOOTER_EXTRAS for k in self.query(FooterKey))


# -- the board screen -------------------------------------------------------------------------------------------


class BoardScreen(Screen[None]):
    """The main screen. Its bindings live here (not on the App), so modal screens never trigger them."""

    BINDINGS = [b for _section, bs in BINDING_SECTIONS for b in bs]
    AUTO_FOCUS = "#board"
    # After a write the touched deal's aging is read at once; everything is read again once the writes pause for
    # this long (a stay that ended moves its stage's baseline, and so other deals' levels).
    AGING_SETTLE_S = 1.0
    AGING_PATCH_DELAY_S = 0.1
    # Keys that act on the board's focused card: off while the aging panel has the focus (its own row is another
    # deal, and up/down belong to its list).
    CARD_ACTIONS = frozenset({"column", "card", "page", "edge", "move", "reorder", "won", "lost", "edit_deal",
                              "open_deal"})

    def __init__(self, backend: Backend, *, user: str, pipeline: str | int | None, readonly: bool,
                 initial: Loaded | None = None) -> None:
        super().__init__(id="board-screen")
        self._initial = initial
        self.backend = backend
        self.user = user
        self.pipeline_ref: str | int | None = pipeline
        self.db: Database | None = backend.db
        self.readonly = readonly
        self.model: BoardModel | None = None
        self.filter = DealFilter()
        self.lanes_on = True
        self.runner: DbRunner | None = None
        self._data_version: int | None = None
        self._checking = False
        self._loading = False
        self._pending_col: dict[int, int] = {}
        self._after_open: list[Callable[[], None]] = []
        self._filter_timer: Timer | None = None
        self._first_run_offered = False
        self._warned_ambiguous = False
        self.aging_panel: Any = None
        # every open deal's aging item, kept while the aging panel is open (the cards need only view.aging)
        self.aging: AgingSnapshot | None = None
        self._aging_timer: Timer | None = None
        self.aging_runner: DbRunner | None = None  # full aging reads, beside the database thread
        self._write_seq = 0  # our writes so far (a full aging read started before the last one is stale)
        self._patches_due = 0  # aging reads of written deals waiting for their moment (AGING_PATCH_DELAY_S)

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
    def pipeline_id(self) -> int | None:
        return self.model.data.pipeline.id if self.model is not None else None

    def on_mount(self) -> None:
        self.runner = DbRunner(self, on_stop=self.backend.close)
        self.header.update(user=self.user, db_path=self.backend.path, readonly=self.readonly)
        if self._initial is not None:  # read before the app started (run_board): paint it in the first frame
            initial, self._initial = self._initial, None
            self._first_loaded(initial)
        else:
            self.view.set_message("Loading the board…")
            self._submit(partial(self.backend.load, self.pipeline_ref, self.lanes_on, self.filter),
                         self._first_loaded, self._load_failed)
        self.set_interval(POLL_SECONDS, self._poll)
        self.set_interval(60, self._tick)

    def on_unmount(self) -> None:
        if self.runner is not None:
            self.runner.stop()
        if self.aging_runner is not None:
            self.aging_runner.stop()

    # -- jobs ------------------------------------------------------------------------------------------------
    def _submit(self, fn: Callable[[], Any], on_done: Callable[[Any], None] | None = None,
                on_error: Callable[[BaseException], None] | None = None) -> None:
        assert self.runner is not None
        self.runner.submit(fn, on_done, on_error)

    def on_job_done(self, message: JobDone) -> None:
        for runner in (self.runner, self.aging_runner):
            if runner is not None and message.job_id in runner.jobs:
                runner.jobs.discard(message.job_id)
                runner.pending -= 1
        if message.error is not None:
            if message.on_error is not None:
                message.on_error(message.error)
            else:
                self._show_error(message.error)
        elif message.on_done is not None:
            message.on_done(message.result)

    @property
    def busy(self) -> bool:
        """Whether database jobs are queued or running (tests wait for this to clear)."""
        return self._patches_due > 0 or any(r is not None and r.pending > 0 for r in (self.runner, self.aging_runner))

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

    def _when_open(self, fn: Callable[[], None]) -> None:
        """Run `fn` once the database is open for writing (right away if it is)."""
        if self.db is not None:
            fn()
        else:
            self._after_open.append(fn)

    # -- loading ---------------------------------------------------------------------------------------------
    def _first_loaded(self, loaded: Loaded) -> None:
        self._apply_loaded(loaded)
        # Background work waits for the first frame: a database thread busy building objects competes with the
        # UI thread for the GIL and would delay the very paint it is meant to speed up.
        self.call_after_refresh(self._after_first_paint, loaded.model is not None and loaded.model.partial)

    def _after_first_paint(self, partial_model: bool) -> None:
        if partial_model:
            self.reload()  # the first screen held only the top cards of each cell: read them all now
        self._open_db()

    def _load_failed(self, error: BaseException) -> None:
        self._loading = False
        self.view.set_message(str(error) if isinstance(error, TuikanbanError) else "The board could not be read.")
        self._show_error(error)
        if self.db is None:
            self.call_after_refresh(self._open_db)

    def _open_db(self) -> None:
        self._submit(self.backend.open, self._db_opened, self._open_failed)

    def _open_failed(self, error: BaseException) -> None:
        """The board stays on screen, read-only: every write would fail the same way."""
        self._show_error(error)
        self._after_open = []
        self.readonly = True
        self.header.update(readonly=True)

    def _db_opened(self, db: Database) -> None:
        # Everything loaded so far (Textual, the ORM, the board) lives as long as the app: keep it out of the
        # garbage collector's full passes, which otherwise show as pauses of tens of milliseconds on a key press.
        gc.freeze()
        self.db = db
        self.readonly = db.readonly
        self.header.update(readonly=db.readonly)
        waiting, self._after_open = self._after_open, []
        for fn in waiting:
            fn()
        if self.model is None:
            self._offer_first_run()
        else:
            self._load_aging()

    def reload(self, *, pipeline: int | None = None, focus_deal: int | None = None) -> None:
        """Read the whole board again (another process changed it, or a modal did), keeping the focus."""
        ref: str | int | None = pipeline if pipeline is not None else (self.pipeline_id or self.pipeline_ref)
        self._loading = True
        self._submit(partial(self.backend.load, ref, self.lanes_on, self.filter),
                     partial(self._reloaded, focus_deal), self._load_failed)

    def _reloaded(self, focus_deal: int | None, loaded: Loaded) -> None:
        # Without an explicit deal, keep the focus as it is when the result arrives (not when the reload was
        # asked for): a live reload queued behind a reopen's reload must not pull the focus back.
        self._apply_loaded(loaded, focus_deal=focus_deal if focus_deal is not None else self.view.focus_deal)

    def _apply_loaded(self, loaded: Loaded, *, focus_deal: int | None = None) -> None:
        self._loading = False
        model = loaded.model
        if model is None:
            self.model = None
            self._clear_aging()
            self.view.set_model(None)
            self.view.set_message("This database has no pipeline yet.\n\n"
                                  "Press n to create the starter pipeline, p to create your own, q to quit.")
            self.header.update(pipeline="")
            if self.db is not None:
                self._offer_first_run()
            return
        if model.lanes_on != self.lanes_on:
            model.set_lanes(self.lanes_on)
        if model.filter != self.filter:
            model.set_filter(self.filter)
        previous = self.pipeline_id
        self.model = model
        if previous != model.data.pipeline.id:
            self._clear_aging()
        if previous is not None and previous != model.data.pipeline.id:
            self.view.focus_col = self.view.focus_lane = 0
            self.view.focus_deal = None
            self.view.col_start = self.view.vscroll = 0
            self._submit(partial(remember_pipeline, self.backend.path, model.data.pipeline.name), None,
                         lambda _e: None)
        self.view.set_model(model, focus_deal=focus_deal if focus_deal is not None else self.view.focus_deal)
        self._update_header()
        if loaded.read.ambiguous and not self._warned_ambiguous:
            self._warned_ambiguous = True
            self._say(f"There are {loaded.read.pipeline_count} pipelines and none is the default; showing "
                        f"{display(model.data.pipeline.name)}. Press p to switch.", timeout=6)
        if self.db is not None:  # (before the database is open, _db_opened reads it)
            self._load_aging()

    # -- aging: card badges and marks, and the aging panel ------------------------------------------------------
    def _load_aging(self) -> None:
        """Read the aging of every open deal of the pipeline, after the board read (the board paints without it:
        badges stay plain until it arrives).

        This read runs on a thread of its own (about 0.1 s at 10,000 open deals), so that a key pressed meanwhile
        does not queue behind it on the database thread. A read that started before one of our writes may miss it:
        its result is dropped (the write's own deal was re-read, and a full read follows once the writes pause)."""
        if self._aging_timer is not None:
            self._aging_timer.stop()
            self._aging_timer = None
        pid = self.pipeline_id
        if pid is None or self.db is None:
            return
        if self.aging_runner is None:
            self.aging_runner = DbRunner(self, name="tuikanban-aging")
        self.aging_runner.submit(partial(self.backend.aging, pid, None, self.aging_panel is not None),
                                 partial(self._aging_read, pid, self._write_seq), self._aging_failed)

    def _aging_after_write(self, deal_id: int) -> None:
        """A write of ours touched `deal_id`: read its aging in a moment, and everything once the writes pause."""
        pid = self.pipeline_id
        if pid is None or self.db is None:
            return
        self._write_seq += 1
        self._patches_due += 1

        def read_it() -> None:
            self._patches_due -= 1
            if self.pipeline_id == pid:
                self._submit(partial(self.backend.aging, pid, (deal_id,)), partial(self._aging_read, pid, None),
                             self._aging_failed)

        # A moment later, not at once: the write's repaint is still on its way to the terminal, and a database
        # thread running Python meanwhile takes the GIL from it (measured: +5 ms on a card move at 10,000 deals).
        self.set_timer(self.AGING_PATCH_DELAY_S, read_it)
        if self._aging_timer is not None:
            self._aging_timer.stop()
        self._aging_timer = self.set_timer(self.AGING_SETTLE_S, self._load_aging)

    def _aging_read(self, pipeline_id: int, write_seq: int | None, result: BoardAging) -> None:
        if self.pipeline_id != pipeline_id:
            return  # another pipeline is shown now
        if write_seq is not None and write_seq != self._write_seq:
            return  # a full read that may predate one of our writes (the next one is scheduled)
        if result.deal_ids is None:
            self.aging = result.snapshot if self.aging_panel is not None else None
            self.view.set_aging(result.cards)
            if self.aging_panel is not None and self.aging is None:
                self._load_aging()  # the panel opened while a read without the items was on its way
        else:
            cards = self.view.aging
            before = [cards.get(d) for d in result.deal_ids]
            patch_aging(self.aging, cards, result)
            if before != [cards.get(d) for d in result.deal_ids]:
                self.view.refresh()  # (not after a move, whose card was painted as it is now)
        self._update_panel()

    def _aging_failed(self, error: BaseException) -> None:
        """The board works on without aging colours; the panel, if open, says why."""
        self.log.error(f"aging: {error!r}")
        if self.aging_panel is not None:
            self.aging_panel.show_error(str(error) if isinstance(error, TuikanbanError)
                                        else "The aging of this pipeline could not be read.")

    def _clear_aging(self) -> None:
        self.aging = None
        self.view.set_aging({})
        self._update_panel()

    def _update_panel(self) -> None:
        """Show the board's aging in the panel, under the board's filter."""
        panel = self.aging_panel
        if panel is None:
            return
        if self.aging is not None and self.aging.pipeline_id == self.pipeline_id:
            panel.show_snapshot(self.aging, self.filter)
        else:
            panel.show_waiting()

    def _tick(self) -> None:
        """Days in stage move on: repaint the badges, and read the levels and signals again."""
        self.view.tick()
        if not self._loading:
            self._load_aging()

    def _update_header(self) -> None:
        model = self.model
        if model is None:
            return
        lanes = "lanes by type" if model.lanes_shown else ""
        self.header.update(
            pipeline=model.data.pipeline.name, open_deals=model.open_total, open_value=model.value_total,
            currency=model.data.pipeline.currency, filter_text=self.filter.describe(),
            shown=model.shown_total if self.filter.active else None, lanes=lanes,
        )

    # -- live updates ----------------------------------------------------------------------------------------
    def _poll(self) -> None:
        if self.db is None or self._checking or self._loading:
            return
        try:
            version = self.db.data_version()
        except Exception:  # the file went away or is locked: try again at the next tick
            return
        if version == self._data_version:
            return
        self._data_version = version
        self._checking = True
        self._submit(self.backend.check, self._checked, self._check_failed)

    def _checked(self, changed: bool) -> None:
        self._checking = False
        if changed:
            self.reload()

    def _check_failed(self, _error: BaseException) -> None:
        self._checking = False

    # -- helpers for actions -----------------------------------------------------------------------------------
    def _focused(self) -> fastread.BoardCard | None:
        card = self.view.focused_card
        if card is None and self.model is not None:
            self._say("No deal is focused here; move to a card first.", timeout=3)
        return card

    def _refuse_readonly(self) -> bool:
        if not self.readonly:
            return False
        reason = self.db.readonly_reason if self.db is not None else ""
        self._say(f"The database {self.backend.path} is open read-only{reason}, so nothing can be changed.",
                    severity="error", timeout=6)
        return True

    def _applied(self, changed: Changed, *, focus: bool = True) -> None:
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
            self._aging_after_write(changed.deal.id)

    def _screen_class(self, module: str, name: str) -> Any:
        import importlib

        try:
            mod = importlib.import_module(f"tuikanban.ui.screens.{module}")
        except ModuleNotFoundError as exc:
            if exc.name and exc.name.startswith("tuikanban.ui.screens"):
                self._say(f"The {module.replace('_', ' ')} screen is not available in this build.",
                            severity="warning")
                return None
            raise
        return getattr(mod, name)

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
        self._submit(partial(self.backend.move, card.id, stage.id, reason, from_stage_id),
                     partial(self._moved, card.id, target_col),
                     partial(self._move_failed, card, stage, target_col, from_stage_id))

    def _settle_pending(self, deal_id: int, target_col: int | None) -> None:
        if self._pending_col.get(deal_id) == target_col:
            self._pending_col.pop(deal_id, None)

    def _moved(self, deal_id: int, target_col: int | None, changed: Changed) -> None:
        self._settle_pending(deal_id, target_col)
        shown = self.view.aging.get(deal_id)
        if shown is not None and changed.deal is not None and changed.deal.status == "open":
            # painted right away as the aging read will confirm it (one paint per move, not two)
            self.view.aging[deal_id] = moved_aging(shown, changed.deal.stage_id)
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

    def _move_failed(self, card: fastread.BoardCard, stage: StageInfo, target_col: int | None, from_stage_id: int,
                     error: BaseException) -> None:
        self._settle_pending(card.id, target_col)
        if not isinstance(error, WipLimitError):
            self._show_error(error)
            return
        self._say(str(error) + ".", title="WIP limit", severity="warning", timeout=6)
        reason_screen = self._screen_class("reason", "ReasonScreen")
        if reason_screen is None:
            return

        def forced(reason: str | None) -> None:
            if reason and reason.strip():
                self._move(card, stage, reason.strip(), from_stage_id)

        self.app.push_screen(reason_screen(
            f"Force into {display(stage.name)}?",
            f"{error}. Give a reason to move '{display(card.title)}' past the limit (it is logged), "
            "or press escape to leave it where it is.",
            placeholder="reason for the override",
        ), forced)

    def action_reorder(self, direction: int) -> None:
        if self.model is None or self._refuse_readonly():
            return
        card = self._focused()
        if card is None:
            return
        stage_id = card.stage_id

        def done(result: tuple[bool, list[fastread.BoardCard], int, int, bool]) -> None:
            moved, cards, n, v, foreign = result
            if self.model is None:
                return
            if moved:
                self.model.replace_stage(stage_id, cards, n, v)
                self.view.model_changed()
            else:
                self.app.bell()
            if foreign:
                self.reload()
            elif moved:
                self._aging_after_write(card.id)  # a reorder is an event: the deal is no longer idle

        self._submit(partial(self.backend.reorder, card.id, stage_id, direction, self.model.lanes_shown), done)

    # -- deals -------------------------------------------------------------------------------------------------
    def action_new_deal(self) -> None:
        if self.model is None:
            self._when_open(self._offer_first_run_now)
            return
        if self._refuse_readonly():
            return
        self._when_open(self._new_deal)

    def _new_deal(self) -> None:
        form = self._screen_class("deal_form", "DealFormScreen")
        if form is None or self.model is None or self.db is None:
            return
        stage = self.view.focused_stage
        lane = self.view.focused_lane
        type_id = lane.type_id if lane is not None and self.model.lanes_shown else None
        self.app.push_screen(form(self.db, self.model.data.pipeline.id, self.user, deal_id=None,
                                  stage_id=stage.id if stage else None, type_id=type_id), self._deal_saved)

    def _deal_saved(self, deal: DealView | None) -> None:
        if deal is None or self.model is None:
            return
        self.model.upsert(fastread.card_from_deal(deal))
        self.view.model_changed(focus_deal=deal.id)
        self._update_header()
        if deal.status == "open" and self.model.locate(deal.id) is None and self.filter.active:
            self._say(f"Saved '{display(deal.title)}'; the filter hides it.", timeout=4)
        self._submit(partial(self.backend.refresh_deal, deal.id), partial(self._applied, focus=True))

    def action_open_deal(self) -> None:
        card = self._focused()
        if card is None:
            return
        self._when_open(partial(self._open_detail, card.id))

    def _open_detail(self, deal_id: int) -> None:
        detail = self._screen_class("deal_detail", "DealDetailScreen")
        if detail is None or self.db is None:
            return

        def closed(changed: bool | None) -> None:
            if changed:
                self._submit(partial(self.backend.refresh_deal, deal_id), self._applied)

        self.app.push_screen(detail(self.db, deal_id, self.user), closed)

    def action_edit_deal(self) -> None:
        if self._refuse_readonly():
            return
        card = self._focused()
        if card is None:
            return
        self._when_open(partial(self._edit, card.id))

    def _edit(self, deal_id: int) -> None:
        form = self._screen_class("deal_form", "DealFormScreen")
        if form is None or self.model is None or self.db is None:
            return
        self.app.push_screen(form(self.db, self.model.data.pipeline.id, self.user, deal_id=deal_id),
                             self._deal_saved)

    def action_won(self) -> None:
        if self._refuse_readonly():
            return
        card = self._focused()
        if card is None:
            return

        def done(changed: Changed) -> None:
            self._applied(changed)
            value = format_money(card.value_minor, card.currency) if card.value_minor else "no value"
            self._say(f"Won: '{display(card.title)}' ({value}). Press u to undo.", timeout=4)

        self._submit(partial(self.backend.win, card.id), done)

    def action_lost(self) -> None:
        if self._refuse_readonly() or self.model is None:
            return
        card = self._focused()
        if card is None:
            return
        reason_screen = self._screen_class("reason", "ReasonScreen")
        if reason_screen is None:
            return

        def chosen(reason: str | None) -> None:
            if not reason or not reason.strip():
                return

            def done(changed: Changed) -> None:
                self._applied(changed)
                self._say(f"Lost: '{display(card.title)}' ({display(reason)}). Press u to undo.", timeout=4)

            self._submit(partial(self.backend.lose, card.id, reason.strip()), done)

        self.app.push_screen(reason_screen(
            "Mark lost", f"Why was '{display(card.title)}' lost? Pick a reason or type your own.",
            choices=tuple(self.model.data.pipeline.lost_reasons), placeholder="another reason",
        ), chosen)

    def action_undo(self) -> None:
        if self._refuse_readonly() or self.model is None:
            return
        pid = self.model.data.pipeline.id

        def done(result: tuple[str, int | None, Loaded]) -> None:
            text, deal_id, loaded = result
            self._apply_loaded(loaded, focus_deal=deal_id)
            self._say(text, timeout=4)

        self._submit(partial(self.backend.undo, pid, self.lanes_on, self.filter), done)

    # -- views -------------------------------------------------------------------------------------------------
    def action_filter(self) -> None:
        bar = self.query_one("#filter-bar")
        field = self.query_one("#filter", Input)
        bar.display = True
        if not field.value and self.filter.active:
            field.value = self._filter_query
        field.focus()

    _filter_query = ""

    @on(Input.Changed, "#filter")
    def _filter_typed(self, event: Input.Changed) -> None:
        if self._filter_timer is not None:
            self._filter_timer.stop()
        self._filter_timer = self.set_timer(0.12, partial(self.apply_filter, event.value))

    @on(Input.Submitted, "#filter")
    def _filter_done(self, event: Input.Submitted) -> None:
        if self._filter_timer is not None:
            self._filter_timer.stop()
        self.apply_filter(event.value)
        self._check_filter_type()
        self.query_one("#filter-bar").display = False
        self.view.focus()

    def _check_filter_type(self) -> None:
        """A `type:` term that names no deal type of this pipeline matches nothing: say which types there are."""
        wanted = self.filter.type_name
        if not wanted or self.model is None:
            return
        names = [t.name for t in self.model.types]
        if any(name_key(n) == name_key(wanted) for n in names):
            return
        if names:
            known = ", ".join(display(n) for n in names)
            self._say(f"No deal type '{display(wanted)}' in this pipeline, so no card matches (types: {known}).",
                      severity="warning", timeout=6)
        else:
            self._say(f"This pipeline has no deal types, so type:{display(wanted)} matches no card.",
                      severity="warning", timeout=6)

    def apply_filter(self, query: str) -> None:
        flt = parse_filter(query)
        self._filter_query = query
        if flt == self.filter:
            return
        self.filter = flt
        if self.model is not None:
            self.model.set_filter(flt)
            self.view.model_changed()
        self._update_header()
        self._update_panel()

    def _close_filter(self, *, clear: bool) -> None:
        bar = self.query_one("#filter-bar")
        field = self.query_one("#filter", Input)
        if self._filter_timer is not None:
            self._filter_timer.stop()
        if clear:
            field.value = ""
            self.apply_filter("")
        bar.display = False
        self.view.focus()

    def action_close(self) -> None:
        if self.query_one("#filter-bar").display:
            self._close_filter(clear=True)
        elif self.aging_panel is not None:
            self.action_aging()
        elif self.filter.active:
            self._close_filter(clear=True)
            self._say("Filter cleared.", timeout=2)

    def action_lanes(self) -> None:
        if self.model is None:
            return
        if not self.model.has_types:
            self._say("This pipeline has no deal types, so there are no swimlanes; add types in the pipeline "
                        "settings (,).", timeout=5)
            return
        self.lanes_on = not self.lanes_on
        self.model.set_lanes(self.lanes_on)
        self.view.vscroll = 0
        self.view.model_changed()
        self._update_header()

    def action_aging(self) -> None:
        if self.aging_panel is not None:
            panel, self.aging_panel = self.aging_panel, None
            panel.remove()
            self.aging = None  # the cards keep what they show; the items go until the panel opens again
            self.view.focus()
            return
        if self.model is None:
            return
        self._when_open(self._show_aging)

    def _show_aging(self) -> None:
        try:
            from tuikanban.ui.widgets.aging_panel import AgingPanel
        except ModuleNotFoundError as exc:
            if exc.name and exc.name.startswith("tuikanban.ui.widgets"):
                self._say("The aging panel is not available in this build.", severity="warning")
                return
            raise
        if self.aging_panel is not None or self.db is None:
            return
        # The panel shows the board's own aging read (the same one the cards' badges come from) under the board's
        # filter; it takes the focus, so up/down move in its list; tab goes back to the board, escape closes it.
        self.aging_panel = AgingPanel(self.db, id="aging", autofocus=True)
        self.query_one("#body").mount(self.aging_panel)
        self._update_panel()
        if self.aging is None:
            self._load_aging()  # with the items this time

    def _panel_focused(self) -> bool:
        panel = self.aging_panel
        focused = self.focused
        return panel is not None and focused is not None and panel in focused.ancestors_with_self

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # (Textual re-checks on every focus change, so the footer greys these out while the panel has the focus)
        return not (action in self.CARD_ACTIONS and self._panel_focused())

    def on_aging_panel_focus_deal(self, message: Any) -> None:
        deal_id = getattr(message, "deal_id", None)
        if deal_id is None:
            return
        if not self.view.focus_on(deal_id):
            self._say("That deal is not on the board any more.", timeout=3)
        self.view.focus()

    def action_metrics(self) -> None:
        if self.model is None:
            return
        self._when_open(self._metrics)

    def _metrics(self) -> None:
        screen = self._screen_class("metrics", "MetricsScreen")
        if screen is None or self.model is None or self.db is None:
            return
        self.app.push_screen(screen(self.db, self.model.data.pipeline.id, self.user))

    def action_pipeline(self) -> None:
        self._when_open(self._switch_pipeline)

    def _switch_pipeline(self) -> None:
        switcher = self._screen_class("pipelines", "PipelineSwitcher")
        if switcher is None or self.db is None:
            return

        def chosen(pid: int | None) -> None:
            if pid is not None:
                self.reload(pipeline=pid)

        self.app.push_screen(switcher(self.db, self.pipeline_id), chosen)

    def action_closed(self) -> None:
        if self.model is None:
            return
        self._when_open(self._closed_deals)

    def _closed_deals(self) -> None:
        screen = self._screen_class("closed", "ClosedDealsScreen")
        if screen is None or self.model is None or self.db is None:
            return

        def reopened(deal_id: int | None) -> None:
            if deal_id is not None:
                self.reload(focus_deal=deal_id)

        self.app.push_screen(screen(self.db, self.model.data.pipeline.id, self.user), reopened)

    def action_settings(self) -> None:
        if self.model is None:
            return
        self._when_open(self._settings)

    def _settings(self) -> None:
        screen = self._screen_class("settings", "PipelineSettingsScreen")
        if screen is None or self.model is None or self.db is None:
            return

        def closed(changed: bool | None) -> None:
            if changed:
                self.reload()

        self.app.push_screen(screen(self.db, self.model.data.pipeline.id, self.user), closed)

    def action_refresh(self) -> None:
        self.reload()

    def action_help(self) -> None:
        screen = self._screen_class("help", "HelpScreen")
        if screen is not None:
            self.app.push_screen(screen(help_sections()))

    def action_quit(self) -> None:
        self.app.exit()

    # -- first run ---------------------------------------------------------------------------------------------
    def _offer_first_run(self) -> None:
        if self._first_run_offered or self.model is not None:
            return
        self._first_run_offered = True
        self._offer_first_run_now()

    def _offer_first_run_now(self) -> None:
        if self.model is not None or self.db is None:
            return
        if self._refuse_readonly():
            return
        screen = self._screen_class("first_run", "FirstRunScreen")
        if screen is None:
            return

        def created(pid: int | None) -> None:
            if pid is not None:
                self.reload(pipeline=pid)

        self.app.push_screen(screen(self.db, self.user), created)

    # -- focus follows -----------------------------------------------------------------------------------------
    def on_board_view_focus_changed(self, _message: BoardView.FocusChanged) -> None:
        pass


HelpRow = tuple[str | Content, str]


def help_sections() -> list[tuple[str, list[HelpRow]]]:
    """The `?` help: every board binding by section, the aging panel's keys, then what the colours and marks on the
    board mean (the badges and marks drawn in their theme colours)."""
    sections: list[tuple[str, list[HelpRow]]] = []
    for title, bindings in BINDING_SECTIONS:
        rows: list[HelpRow] = [(_key_label(b), b.tooltip or b.description) for b in bindings]
        if title == "App":
            rows.insert(1, ("ctrl+p", "Command palette: every action by name"))
        sections.append((title, rows))
    sections.append(("Aging panel (a opens it beside the board)", [
        ("↑ / ↓, k / j", "Move in the list of deals needing attention (most severe first)"),
        ("enter", "Show that deal on the board (focuses its card)"),
        ("c", "Switch between the list and the aging chart"),
        ("tab / ⇧tab", "Between the panel's list and the board (the panel stays open)"),
        ("esc / a", "Close the panel"),
    ]))
    sections.append(("WIP counters", [
        ("3/5", "Open deals in the stage / its WIP limit (every deal, whatever the filter)"),
        ("5/5", "At the limit (red): moving another deal in asks for a reason"),
        ("6/5 over", "Over the limit (reversed): the limit was lowered or overridden"),
        ("1/5", "Below the stage's WIP minimum (amber)"),
    ]))
    sections.append(("Days in stage (the badge on each card)", [
        (Content.styled("4d", "$text-muted"), "ok: " + LEVEL_LEGEND["ok"]),
        (Content.styled("11d", "bold $tk-aging"), "aging: " + LEVEL_LEGEND["aging"]),
        (Content.styled("15d", "bold reverse $tk-stalled"), "stalled: " + LEVEL_LEGEND["stalled"]),
        ("baseline", "Expected days if set, else the 180-day average stay (3+), else 7"),
    ]))
    sections.append(("Risk marks (before the badge)", [
        (Content.styled(SIGNAL_LEGEND[s][0], "bold $tk-aging"), f"{SIGNAL_LEGEND[s][1]} ({s})") for s in SIGNALS
    ]))
    return sections


# -- the application ------------------------------------------------------------------------------------------


class TuikanbanApp(App[None]):
    """`TuikanbanApp(db, user, pipeline=None, theme=None)`; `run_board` passes the fast first-read connection."""

    CSS_PATH = "app.tcss"
    TITLE = "tuikanban"

    def __init__(
        self,
        db: Database | None = None,
        user: str = "",
        pipeline: str | int | None = None,
        theme: str | None = None,
        *,
        db_path: Path | None = None,
        fast_con: sqlite3.Connection | None = None,
        backend: Backend | None = None,
        initial: Loaded | None = None,
    ) -> None:
        super().__init__()
        path = db.path if db is not None else db_path
        if path is None:
            raise ValueError("TuikanbanApp needs a database or a database path")
        self.backend = backend or Backend(path=Path(path), user=user or "unknown", db=db, con=fast_con)
        self.user = user or "unknown"
        self.pipeline_ref = pipeline
        self.theme_problems = self._register_themes()
        if theme:
            if theme not in self.available_themes:
                names = ", ".join(sorted(n for n in self.available_themes if n != "textual-ansi"))
                raise ValidationError(f"There is no theme named '{theme}' (themes: {names}).")
            self.theme = theme
        else:
            for name in (_remembered("theme"), _themes_attr("DEFAULT_THEME")):
                if isinstance(name, str) and name in self.available_themes:
                    self.theme = name
                    break
        readonly = db.readonly if db is not None else not fastread.writable(Path(path))
        self.board_screen = BoardScreen(self.backend, user=self.user, pipeline=pipeline, readonly=readonly,
                                        initial=initial)

    def _register_themes(self) -> list[str]:
        """The themes hook: `tuikanban.ui.themes.register_themes(app)` registers the theme files and returns one
        sentence per file it had to skip (shown as notifications once the board is up)."""
        register = _themes_attr("register_themes")
        if register is None:
            return []
        problems = register(self)
        return [str(p) for p in problems] if isinstance(problems, list) else []

    def on_mount(self) -> None:
        for problem in self.theme_problems:
            self.notify(problem, severity="warning", timeout=8, markup=False)
        # a theme chosen while the board runs (command palette) is the next start's theme; the start-up theme
        # itself (--theme, the remembered one) was set before this and is not written back
        self.theme_changed_signal.subscribe(self, self._remember_theme)

    def _remember_theme(self, theme: Theme) -> None:
        problem = remember_theme(theme.name)
        if problem:
            self.notify(problem, severity="warning", timeout=8, markup=False)

    def get_default_screen(self) -> Screen[Any]:
        return self.board_screen

    def get_theme_variable_defaults(self) -> dict[str, str]:
        return dict(THEME_VARIABLE_DEFAULTS)

    def get_css_variables(self) -> dict[str, str]:
        variables = resolve_variables(super().get_css_variables())
        self.theme_variables = variables
        return variables

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        if isinstance(screen, BoardScreen):
            seen: set[str] = set()
            for _title, bindings in BINDING_SECTIONS:
                for b in bindings:
                    if b.action in seen or b.action in ("quit",) or not b.show:
                        continue
                    seen.add(b.action)
                    yield SystemCommand(b.tooltip or b.description, f"Key: {_key_label(b)}",
                                        partial(screen.run_action, b.action))



# -- entry point ----------------------------------------------------------------------------------------------


def _themes_attr(name: str) -> Any:
    """An attribute of tuikanban.ui.themes, or None while that module does not exist."""
    try:
        from tuikanban.ui import themes
    except ModuleNotFoundError as exc:
        if exc.name == "tuikanban.ui.themes":
            return None
        raise
    return getattr(themes, name, None)


def _remembered(key: str, db_path: Path | None = None) -> str | None:
    """The user's remembered theme, or last pipeline for a database (tuikanban.settings), if any."""
    try:
        from tuikanban.settings import load_settings
    except ModuleNotFoundError:
        return None
    try:
        settings = load_settings()
    except Exception:  # a broken settings file never stops the board
        return None
    if key == "theme":
        return settings.theme
    return settings.pipeline_for(db_path) if db_path is not None else None


def remember_theme(theme: str) -> str | None:
    """Remember the theme for the next start; a sentence when it could not be saved (never raises)."""
    try:
        from tuikanban.settings import remember
    except ModuleNotFoundError:
        return None
    return remember(theme=theme)


def remember_pipeline(db_path: Path, pipeline: str) -> None:
    """Remember the pipeline last shown for this database (best effort: a failure changes nothing)."""
    try:
        from tuikanban.settings import remember
    except ModuleNotFoundError:
        return
    remember(db_path=db_path, pipeline=pipeline)


def _db_path(explicit: Path | None) -> Path:
    """Where open_database would look (without importing it): --db, else TUIKANBAN_DB, else the data dir."""
    if explicit is not None:
        return Path(explicit).expanduser()
    env = os.environ.get(ENV_DB)
    if env:
        return Path(env).expanduser()
    from platformdirs import user_data_dir

    return Path(user_data_dir("tuikanban", appauthor=False)) / "tuikanban.db"


def run_board(*, db_path: Path | None, user: str, theme: str | None, pipeline: str | None) -> None:
    """Open the board (called by `tuikanban` with no command). User mistakes raise TuikanbanError before the
    screen is taken over, so the CLI prints them as one sentence."""
    path = _db_path(db_path)
    con = fastread.connect(path)
    if con is not None:
        try:
            if not pipeline:  # the pipeline shown last time on this database, if it still exists
                last = _remembered("pipeline", path)
                if last and fastread.find_pipeline(con, last) is not None:
                    pipeline = last
            fastread.resolve_pipeline(con, pipeline)
        except sqlite3.Error:  # unreadable this way: take the full path
            con.close()
            con = None
        except TuikanbanError:
            con.close()
            raise
    db = None
    if con is None:  # a new, older or unusual database: the full path creates, migrates or refuses it
        from tuikanban.store.engine import open_database

        db = open_database(db_path)
        path = db.path
        if pipeline:
            from tuikanban.services.pipelines import get_pipeline

            get_pipeline(db, pipeline)
    try:
        backend = Backend(path=path, user=user, db=db, con=con, owns_db=True)
        # The first screen, read before the app starts: only as many cards per cell as the terminal can show.
        window = max(8, shutil.get_terminal_size((160, 45)).lines // 4 + 2)
        initial = backend.load(pipeline, True, DealFilter(), window=window)
        app = TuikanbanApp(db, user, pipeline, theme, db_path=path, backend=backend, initial=initial)
    except TuikanbanError:
        if con is not None:
            con.close()
        if db is not None:
            db.close()
        raise
    app.run()
    runner = app.board_screen.runner
    if runner is not None:
        runner.join(2.0)  # let the database thread finish its job and close the database
