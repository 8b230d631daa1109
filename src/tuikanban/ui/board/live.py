"""Live updates: one change feed per board (`store.feed`), waited on by a lane of its own.

The feed is SQLite's `data_version` polling or PostgreSQL's LISTEN/NOTIFY; either way the board only hears
`BoardChanged` (the pipelines a commit touched, or None for "anything may have changed") and catches up, on its
writes lane (`catch_up_job`), with what changed since it last looked (its own writes are absorbed there). The wait
blocks its lane, never the board's writes or reads, and returns within `WAIT_SLICE_S` of `stop()`.

Catching up is incremental: the events and activities written since the board's signature name the deals that
changed, and only those are read again (with the columns' counts and sums, one aggregate), so that ten boards
open on one file each pay a few milliseconds for another rep's move, not a whole read of the board and its
aging. The whole board is read again only when the pipeline's configuration changed (stages, types, the pipeline
itself), when more than `MAX_NAMED` deals changed at once (an import), or when the log went backwards (a restore).

A big pipeline's board holds a window of each cell (the top cards, `model.partial`): it catches up the same way,
with the counts of the cells of the columns the named deals left or entered (a search of the index
ix_deal_cells on each), each named card placed in the window where it ranks, or only counted below it
(`BoardModel.place_outside`). A named deal the window did not hold may have left any column: then every cell's
counts are read (one pass over that index), and the column it is in now read again to the window's depth, as a
reordered one is.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from textual.message import Message
from textual.message_pump import MessagePump

from tuikanban.domain import clock
from tuikanban.domain.filters import is_snoozed
from tuikanban.domain.targets import Target
from tuikanban.store import fastread
from tuikanban.store.fastread import BoardCard
from tuikanban.ui.jobs import Lane

if TYPE_CHECKING:
    from tuikanban.store.feed import Change, ChangeFeed
    from tuikanban.ui.board.gateway import BoardGateway
    from tuikanban.ui.board.model import BoardModel

WAIT_SLICE_S = 0.25  # how long one wait blocks before it looks whether the board has closed
RETRY_S = 1.0  # after a feed could not be opened (the server is down, the file went away)
MAX_NAMED = 200  # more deals changed at once than this (an import, a bulk action): read the whole board again


def open_feed(target: Target) -> ChangeFeed:
    """`store.feed.open_feed`, imported when the board first listens, once its database is open: the first paint
    needs neither the feed's module nor ctypes (docs/PERFORMANCE.md, Start-up)."""
    from tuikanban.store.feed import open_feed as open_

    return open_(target)


def _change(pipeline_ids: frozenset[int] | None) -> Change:
    from tuikanban.store.feed import Change

    return Change(pipeline_ids)


class BoardChanged(Message):
    """Someone committed: `change.touches(pipeline_id)` says whether the board should look. `reachable`: the feed
    lost its database server (False) or has it back (True); None when that did not change. `feed`: the feed that
    heard it (a wait under way when its feed is stopped still returns what it heard: the board ignores that)."""

    def __init__(self, change: Change, feed: LiveFeed, reachable: bool | None = None) -> None:
        super().__init__()
        self.change = change
        self.feed = feed
        self.reachable = reachable


class LiveFeed:
    """The board's change feed and the lane that waits on it. `listen(board)` waits for the next commit and posts
    `BoardChanged` to the board, which calls `listen` again once it has handled it."""

    def __init__(self, target: Target) -> None:
        self._target = target
        self._feed: ChangeFeed | None = None
        self._missed = False  # the feed was down for a while
        self._reachable = True  # what the board was last told (BoardChanged.reachable)
        self._stopped = threading.Event()
        self._lane = Lane("tuikanban-feed", on_stop=self._close)

    def listen(self, board: MessagePump) -> None:
        if not self._stopped.is_set():
            self._lane.submit(board, self._wait_job, name="feed")

    def stop(self) -> None:
        self._stopped.set()
        self._lane.stop()

    def join(self) -> None:
        """Wait until a stopped feed has closed its connection: its thread ends its wait within `WAIT_SLICE_S` of
        `stop()` (given a few times that: a loaded machine)."""
        self._lane.join(4 * WAIT_SLICE_S)

    def _wait_job(self) -> BoardChanged | None:
        while not self._stopped.is_set():
            change = self._next()
            reachable = self._feed.reachable if self._feed is not None else self._reachable
            if reachable != self._reachable:  # the server went away or came back: the board says so
                self._reachable = reachable
                return BoardChanged(change or _change(frozenset()), self, reachable=reachable)
            if change is not None:
                return BoardChanged(change, self)
        return None

    def _next(self) -> Change | None:
        if self._feed is None:
            try:
                self._feed = open_feed(self._target)
            except Exception:  # not reachable now (the server is down, the file went away): try again shortly
                self._missed = True
                self._stopped.wait(RETRY_S)
                return None
            if self._missed:  # commits made while there was no feed were not heard: re-check
                self._missed = False
                return _change(None)
        try:
            return self._feed.wait(WAIT_SLICE_S)
        except Exception:  # (PostgreSQL's feed reconnects by itself; this is anything else breaking it)
            self._close()
            self._missed = True
            return None

    def _close(self) -> None:
        if self._feed is not None:
            feed, self._feed = self._feed, None
            feed.close()


@dataclass(frozen=True, slots=True, eq=False)
class Stage:
    """A column read again (its cards in rank order, open count and value): someone reordered it."""

    cards: list[BoardCard]
    count: int
    value: int


class CaughtUp(Message):
    """What changed on the board since it last looked: nothing, everything (`reload`: read the whole board
    again), or the deals named (`cards`: each as it is now, None when it left the board) with the columns' counts
    and sums as they are now."""

    def __init__(self, pipeline_id: int | None, *, reload: bool = False, cards: Mapping[int, BoardCard | None]
                 | None = None, stages: Mapping[int, Stage] | None = None,
                 totals: Mapping[int, tuple[int, int]] | None = None, others: Mapping[str, int] | None = None,
                 cell_counts: Mapping[tuple[int, int | None], int] | None = None,
                 stage_ids: frozenset[int] | None = None) -> None:
        super().__init__()
        self.pipeline_id = pipeline_id
        self.reload = reload
        self.cards = dict(cards or {})
        self.stages = dict(stages or {})
        self.totals = dict(totals or {})
        self.others = dict(others or {})
        # a windowed board's catch-up: the counts of the cells of `stage_ids` (None: of every stage)
        self.cell_counts = None if cell_counts is None else dict(cell_counts)
        self.stage_ids = stage_ids

    @property
    def changed(self) -> bool:
        return self.reload or bool(self.cards) or bool(self.stages)


@dataclass(eq=False)
class _Named:
    ids: list[int] = field(default_factory=list)
    everything: bool = False


def _named(events: list[tuple[int, int | None, str]], acts: list[tuple[int, int | None, str]]) -> _Named:
    out = _Named()
    seen: set[int] = set()
    for _id, deal_id, _user in [*events, *acts]:
        if deal_id is None:  # an event about no one deal: read everything
            out.everything = True
        elif deal_id not in seen:
            seen.add(deal_id)
            out.ids.append(deal_id)
    if len(out.ids) > MAX_NAMED:
        out.everything = True
    return out


def catch_up(gateway: BoardGateway, model: BoardModel | None, *, snoozed: bool) -> CaughtUp:
    """Read what changed since `gateway.seen` (see the module's docstring); runs on the writes lane. `model` is
    only looked at (which rank each named card had), never changed here."""
    pid = gateway.pipeline_id
    seen = gateway.seen
    if pid is None or model is None or seen is None:
        return CaughtUp(pid, reload=gateway.check())
    con = gateway.raw()
    # (outside a transaction: a connection the server dropped is opened again by this first read)
    sig = fastread.signature(con, pid)
    if sig.config != seen.config or sig.max_event < seen.max_event or sig.max_activity < seen.max_activity:
        return CaughtUp(pid, reload=True)
    if sig.max_event == seen.max_event and sig.max_activity == seen.max_activity:
        return CaughtUp(pid)  # (a presence heartbeat, another pipeline's change)
    with fastread.snapshot(con):  # events newer than `sig` may be read too: they are read again next time
        named = _named(fastread.events_since(con, seen.max_event), fastread.activities_since(con, seen.max_activity))
        if named.everything:
            return CaughtUp(pid, reload=True)
        today = clock.today()
        cards: dict[int, BoardCard | None] = {}
        for deal_id in named.ids:
            card = fastread.load_card(con, deal_id)
            if card is not None and (card.pipeline_id != pid or card.status != "open"
                                     or (not snoozed and is_snoozed(card.snoozed_until, today))):
                card = None  # not on this board (closed, snoozed, in another pipeline)
            cards[deal_id] = card
        window: tuple[dict[tuple[int, int | None], int], frozenset[int] | None] | None = None
        if model.partial:
            totals, others, window = _window_counts(con, model, pid, cards, snoozed=snoozed)
        else:
            totals, others = fastread.totals_and_others(con, pid)
    gateway.seen = sig
    # A reorder swaps ranks with a neighbour (or spreads the column's ranks) and names only the deal it moved:
    # read such a column again as a whole (a window's column to the window's depth).
    reordered = {card.stage_id for deal_id, card in cards.items() if card is not None
                 and (old := model.by_id.get(deal_id)) is not None and old.stage_id == card.stage_id
                 and old.rank != card.rank}
    if window is not None:
        # a card the window did not hold: where it was is not known, and a reorder that brought it up swapped
        # ranks with a card the window holds: read its column again
        reordered |= {card.stage_id for deal_id, card in cards.items()
                      if card is not None and deal_id not in model.by_id}
    stages = {}
    for stage_id in reordered:
        limit = gateway.stage_limit(stage_id) if window is not None else None
        stage_cards, n, v = fastread.load_stage(con, pid, stage_id, snoozed=snoozed, limit=limit)
        stages[stage_id] = Stage(stage_cards, n, v)
    if window is not None:
        return CaughtUp(pid, cards=cards, stages=stages, totals=totals, others=others, cell_counts=window[0],
                        stage_ids=window[1])
    return CaughtUp(pid, cards=cards, stages=stages, totals=totals, others=others)


def _window_counts(con: fastread.Connection, model: BoardModel, pid: int, cards: Mapping[int, BoardCard | None],
                   *, snoozed: bool) -> tuple[dict[int, tuple[int, int]], dict[str, int],
                                              tuple[dict[tuple[int, int | None], int], frozenset[int] | None]]:
    """The counts a windowed board needs after a change to `cards`: of the columns they left or entered when the
    window held every one of them, else of every column (where a card the window did not hold was is not
    known); the other currencies' deals read again only when the board has some or the columns read count some."""
    stage_ids: frozenset[int] | None = None
    if all(deal_id in model.by_id for deal_id in cards):
        stage_ids = frozenset({model.by_id[deal_id].stage_id for deal_id in cards}
                              | {card.stage_id for card in cards.values() if card is not None})
    cell_counts, totals, in_others = fastread.cell_totals(con, pid, stage_ids, snoozed=snoozed)
    keep = model.data.other_currencies if stage_ids is not None else {}
    others = fastread.other_currencies(con, pid) if in_others or keep else {}
    return totals, others, (cell_counts, stage_ids)


def catch_up_job(gateway: BoardGateway, model: BoardModel | None, snoozed: bool) -> CaughtUp:
    try:
        return catch_up(gateway, model, snoozed=snoozed)
    except Exception:  # the file went away or is locked: look again at the next change
        return CaughtUp(gateway.pipeline_id)


def apply_caught_up(model: BoardModel, caught: CaughtUp) -> None:
    """Put what `catch_up` read into the model: the named deals where they now are, reordered columns as read,
    and the counts and sums as the database has them (snoozed deals count there without being shown)."""
    if caught.cell_counts is not None:  # a windowed board (the module's docstring)
        model.place_outside(caught.cards, caught.cell_counts, caught.totals, caught.stage_ids)
        for stage_id, stage in caught.stages.items():
            model.replace_stage(stage_id, stage.cards, stage.count, stage.value)
        model.data.other_currencies = caught.others
        return
    for deal_id, card in caught.cards.items():
        if card is None:
            model.remove(deal_id)
        else:
            model.upsert(card)
    for stage_id, stage in caught.stages.items():
        model.replace_stage(stage_id, stage.cards, stage.count, stage.value)
    data = model.data
    data.counts = {s.id: caught.totals.get(s.id, (0, 0))[0] for s in model.stages}
    data.sums = {s.id: caught.totals.get(s.id, (0, 0))[1] for s in model.stages}
    data.other_currencies = caught.others
