"""What the board shows, as plain data: columns (stages), lanes (deal types), the cards of each cell under the
filter, and the WIP counters. Incremental updates (a move, a close, a new deal) touch only the affected cells.

No Textual here: the widget in `view.py` renders this model line by line. The filter and swimlanes on/off are the
board's state (`state.py`), handed down with `show()`.

The counts and sums (per stage, and the totals in the header) are a cache: read with the board, then corrected by
each live update (a move, a close, a new deal, a stage read again after a reorder), and replaced by the next full
read whenever someone else changed the pipeline.

A big pipeline's model is partial: each (stage, type) cell holds only its first cards in rank order (the board
reads more as the focus goes down, `store.fastread.load_board(window=...)`), with every cell's true count beside
them. A cell that merges several of those (a column without swimlanes, the "No type" lane) shows only the cards
up to where one of its parts stops being complete, so what is shown is always the true top of the cell.
"""

from __future__ import annotations

from bisect import insort
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple

from tuikanban.domain import clock
from tuikanban.domain.filters import DealFilter, is_snoozed
from tuikanban.domain.models import DealTypeInfo, StageInfo
from tuikanban.store.fastread import BoardCard, BoardSnapshot
from tuikanban.ui.board.sorting import KEYS as SORT_KEYS
from tuikanban.ui.board.sorting import RANK, SortKey

ALL = 0  # the one lane when swimlanes are off
NO_TYPE = -1  # the lane of deals without a deal type (when lanes are on)


class Lane(NamedTuple):
    key: int  # a deal type id, ALL or NO_TYPE
    name: str
    type_id: int | None


def _order(card: BoardCard) -> tuple[int, int]:
    return (card.rank, card.id)


def _matches(flt: DealFilter, card: BoardCard, now: datetime) -> bool:
    if flt.snoozed and not is_snoozed(card.snoozed_until, now.date()):
        return False
    if not flt.matches_fields(card.title, card.company, card.contact, card.owner, card.type_name):
        return False
    if flt.closing_within is None and flt.idle_over is None:
        return True
    # `closing:<30d` and `idle:>14d` count from the clock's now; idle looks at the card's last touch
    return flt.matches_review(card.expected_close, card.last_touch, now)


@dataclass(eq=False)
class BoardModel:
    data: BoardSnapshot
    lanes_on: bool = True
    filter: DealFilter = field(default_factory=DealFilter)
    sort: str = RANK  # the order of the cards within a cell (ui/board/sorting.py); stage_cards keep rank order
    # derived
    stages: list[StageInfo] = field(init=False)
    lanes: list[Lane] = field(init=False)
    by_id: dict[int, BoardCard] = field(init=False)
    stage_cards: dict[int, list[BoardCard]] = field(init=False)  # every open deal of each column, in rank order
    cells: dict[tuple[int, int], list[BoardCard]] = field(init=False)  # (lane key, stage id) -> shown cards

    # a card came or went that a partial model cannot place (it was never loaded): the board reads again
    stale: bool = field(init=False, default=False)

    def __post_init__(self) -> None:
        self.stages = list(self.data.stages)
        self._stage_pos = {s.id: i for i, s in enumerate(self.stages)}
        self._type_ids = {t.id for t in self.data.types}
        self.by_id = {}
        self.stage_cards = {s.id: [] for s in self.stages}
        for card in self.data.cards:  # already in (stage, rank, id) order
            if card.status == "open" and card.stage_id in self.stage_cards:
                self.by_id[card.id] = card
                self.stage_cards[card.stage_id].append(card)
        self.data.cards = []  # the model owns the cards now (one copy in memory)
        self.rebuild()

    # -- derived views ------------------------------------------------------------------------------------------

    @property
    def types(self) -> list[DealTypeInfo]:
        return self.data.types

    @property
    def has_types(self) -> bool:
        return bool(self.data.types)

    @property
    def lanes_shown(self) -> bool:
        return self.lanes_on and self.has_types

    def lane_key(self, card: BoardCard) -> int:
        if not self.lanes_shown:
            return ALL
        return card.type_id if card.type_id in self._type_ids else NO_TYPE

    def rebuild(self) -> None:
        """Recompute lanes and cells from the cards (after a load, a filter change or a lanes toggle)."""
        if self.lanes_shown:
            lanes = [Lane(t.id, t.name, t.id) for t in self.data.types]
            if self.partial and self.data.cell_counts is not None:
                untyped = any(n and tid not in self._type_ids for (_sid, tid), n in self.data.cell_counts.items())
            else:
                untyped = any(c.type_id not in self._type_ids for c in self.by_id.values())
            if untyped:
                lanes.append(Lane(NO_TYPE, "No type", None))
        else:
            lanes = [Lane(ALL, "", None)]
        self.lanes = lanes
        self.cells = {(lane.key, s.id): [] for lane in lanes for s in self.stages}
        flt = self.filter if self.filter.active else None
        cells = self.cells
        cut = self._cut_offs() if self.partial else None
        if not self.lanes_shown and flt is None and not cut:
            for sid, cards in self.stage_cards.items():
                cells[(ALL, sid)] = list(cards)
        else:
            now = clock.now()
            for sid, cards in self.stage_cards.items():
                for card in cards:
                    key = (self.lane_key(card), sid)
                    if cut and key in cut and _order(card) > cut[key]:
                        continue
                    if flt is None or _matches(flt, card, now):
                        cells[key].append(card)
        if self.sort != RANK:
            for cell in cells.values():
                cell.sort(key=self._key)

    def _loaded_cells(self) -> dict[tuple[int, int | None], tuple[int, tuple[int, int]]]:
        """(stage id, type id) -> (cards loaded, the order of the last one) of a partial model."""
        out: dict[tuple[int, int | None], tuple[int, tuple[int, int]]] = {}
        for sid, cards in self.stage_cards.items():
            for card in cards:
                key = (sid, card.type_id)
                n, _last = out.get(key, (0, (0, 0)))
                out[key] = (n + 1, _order(card))
        return out

    def _cut_offs(self) -> dict[tuple[int, int], tuple[int, int]]:
        """(lane key, stage id) -> the order after which a shown cell would skip cards it has not loaded: the
        earliest last loaded card among the incomplete parts of a merged cell. Only cells that need one."""
        counts = self.data.cell_counts or {}
        loaded = self._loaded_cells()
        parts: dict[tuple[int, int], list[tuple[int, int | None]]] = {}
        for (sid, tid) in counts:
            lane = ALL if not self.lanes_shown else (tid if tid in self._type_ids else NO_TYPE)
            parts.setdefault((lane, sid), []).append((sid, tid))
        cut: dict[tuple[int, int], tuple[int, int]] = {}
        for key, raws in parts.items():
            if len(raws) < 2:
                continue  # one cell of the read: its loaded cards are its top, whatever their number
            ends = [loaded.get(raw, (0, (-(2**62), 0)))[1] for raw in raws
                    if loaded.get(raw, (0, (0, 0)))[0] < counts.get(raw, 0)]
            if ends:
                cut[key] = min(ends)
        return cut

    def window_end(self, card: BoardCard) -> bool:
        """Whether a partial model leaves `card` out: its cell has cards not loaded, and they all come before
        it."""
        counts = self.data.cell_counts
        if not self.partial or counts is None:
            return False
        key = (card.stage_id, card.type_id)
        n, last = self._loaded_cells().get(key, (0, (-(2**62), 0)))
        return n < counts.get(key, 0) and _order(card) > last

    @property
    def _key(self) -> SortKey:
        return SORT_KEYS.get(self.sort, _order)

    def cell(self, lane_index: int, col: int) -> list[BoardCard]:
        return self.cells[(self.lanes[lane_index].key, self.stages[col].id)]

    @property
    def partial(self) -> bool:
        """Only the first cards of each cell are loaded (a first paint); the full read follows."""
        return self.data.partial

    def cell_total(self, lane_index: int, col: int) -> int:
        """How many cards the cell holds (more than are loaded while the model is partial)."""
        cell = self.cell(lane_index, col)
        counts = self.data.cell_counts
        if not self.partial or counts is None or self.filter.active:
            return len(cell)
        sid = self.stages[col].id
        key = self.lanes[lane_index].key
        if key == ALL:
            total = sum(n for (s, _tid), n in counts.items() if s == sid)
        elif key == NO_TYPE:
            total = sum(n for (s, tid), n in counts.items() if s == sid and tid not in self._type_ids)
        else:
            total = counts.get((sid, key), 0)
        return max(total, len(cell))

    def lane_count(self, lane_index: int) -> int:
        return sum(self.cell_total(lane_index, c) for c in range(len(self.stages)))

    def shown_in_stage(self, stage_id: int) -> int:
        return sum(len(self.cells[(lane.key, stage_id)]) for lane in self.lanes)

    @property
    def shown_total(self) -> int:
        return sum(len(c) for c in self.cells.values())

    @property
    def open_total(self) -> int:
        return sum(self.data.counts.get(s.id, 0) for s in self.stages)

    @property
    def value_total(self) -> int:
        return sum(self.data.sums.get(s.id, 0) for s in self.stages)

    def count(self, stage_id: int) -> int:
        return self.data.counts.get(stage_id, 0)

    def value(self, stage_id: int) -> int:
        return self.data.sums.get(stage_id, 0)

    def col_of_stage(self, stage_id: int) -> int | None:
        return self._stage_pos.get(stage_id)

    def lane_index_of(self, key: int) -> int | None:
        for i, lane in enumerate(self.lanes):
            if lane.key == key:
                return i
        return None

    def locate(self, deal_id: int) -> tuple[int, int, int] | None:
        """(lane index, column, index in the cell) of a shown deal, or None (closed, filtered out, unknown)."""
        card = self.by_id.get(deal_id)
        if card is None:
            return None
        col = self._stage_pos.get(card.stage_id)
        lane = self.lane_index_of(self.lane_key(card))
        if col is None or lane is None:
            return None
        cell = self.cells[(self.lanes[lane].key, card.stage_id)]
        for i, c in enumerate(cell):
            if c.id == deal_id:
                return lane, col, i
        return None

    # -- incremental updates ------------------------------------------------------------------------------------

    def _shown(self, card: BoardCard) -> bool:
        return not self.filter.active or _matches(self.filter, card, clock.now())

    def _take_out(self, card: BoardCard) -> None:
        stage = self.stage_cards.get(card.stage_id)
        if stage is not None:
            for i, c in enumerate(stage):
                if c.id == card.id:
                    del stage[i]
                    break
            self.data.counts[card.stage_id] = max(0, self.data.counts.get(card.stage_id, 0) - 1)
            self._count_value(card, -1)
            self._count_cell(card, -1)
        cell = self.cells.get((self.lane_key(card), card.stage_id))
        if cell is not None:
            for i, c in enumerate(cell):
                if c.id == card.id:
                    del cell[i]
                    break
        self.by_id.pop(card.id, None)

    def _count_value(self, card: BoardCard, sign: int) -> None:
        """Add (or take away) a card's value: to its stage's sum in the pipeline's currency, else to the count of
        deals in other currencies (never added up with the pipeline's money)."""
        if card.value_minor is None:
            return
        if card.currency == self.data.pipeline.currency:
            self.data.sums[card.stage_id] = self.data.sums.get(card.stage_id, 0) + sign * card.value_minor
            return
        others = self.data.other_currencies
        others[card.currency] = others.get(card.currency, 0) + sign
        if others[card.currency] <= 0:
            del others[card.currency]

    @property
    def other_currency_note(self) -> str:
        """`2 deals in EUR not included` (empty when every valued deal is in the pipeline's currency)."""
        others = sorted(self.data.other_currencies.items())
        parts = [f"{n} {'deal' if n == 1 else 'deals'} in {cur}" for cur, n in others]
        return f"{', '.join(parts)} not included" if parts else ""

    def _count_cell(self, card: BoardCard, sign: int) -> None:
        counts = self.data.cell_counts
        if self.partial and counts is not None:
            key = (card.stage_id, card.type_id)
            counts[key] = max(0, counts.get(key, 0) + sign)

    def _put_in(self, card: BoardCard) -> bool:
        stage = self.stage_cards.get(card.stage_id)
        if card.status != "open" or stage is None:
            return False
        if self.window_end(card):  # below what a partial model holds of its cell: counted, not loaded
            self.data.counts[card.stage_id] = self.data.counts.get(card.stage_id, 0) + 1
            self._count_value(card, +1)
            self._count_cell(card, +1)
            return True
        self._count_cell(card, +1)
        self.by_id[card.id] = card
        insort(stage, card, key=_order)
        self.data.counts[card.stage_id] = self.data.counts.get(card.stage_id, 0) + 1
        self._count_value(card, +1)
        key = (self.lane_key(card), card.stage_id)
        if key not in self.cells:  # a deal without a type while no "No type" lane is shown yet
            self.rebuild()
            return True
        if self._shown(card):
            insort(self.cells[key], card, key=self._key)
        return True

    def upsert(self, card: BoardCard) -> None:
        """A deal was created, moved, edited or reopened: put it where it now belongs (or take it off the board
        when it is closed or in another pipeline)."""
        old = self.by_id.get(card.id)
        if old is not None:
            self._take_out(old)
        elif self.partial:  # never loaded: whether it is counted already is not known here
            self.stale = True
            return
        if card.pipeline_id == self.data.pipeline.id:
            self._put_in(card)

    def remove(self, deal_id: int) -> BoardCard | None:
        old = self.by_id.get(deal_id)
        if old is not None:
            self._take_out(old)
        elif self.partial:
            self.stale = True
        return old

    def replace_stage(self, stage_id: int, cards: list[BoardCard], count: int, value: int) -> None:
        """A column re-read from the database (after a reorder)."""
        if stage_id not in self.stage_cards:
            return
        for old in self.stage_cards[stage_id]:
            self.by_id.pop(old.id, None)
        fresh = sorted((c for c in cards if c.status == "open"), key=_order)  # (already in order: cheap)
        self.stage_cards[stage_id] = fresh
        for c in fresh:
            self.by_id[c.id] = c
        self.data.counts[stage_id] = count
        self.data.sums[stage_id] = value
        for lane in self.lanes:
            self.cells[(lane.key, stage_id)] = []
        for c in fresh:
            key = (self.lane_key(c), stage_id)
            if key in self.cells and self._shown(c):
                self.cells[key].append(c)
        if self.sort != RANK:
            for lane in self.lanes:
                self.cells[(lane.key, stage_id)].sort(key=self._key)
        if self.partial:
            self.rebuild()  # (the column's cut-offs follow what is loaded of it now)

    def place_outside(self, cards: Mapping[int, BoardCard | None],
                      cell_counts: Mapping[tuple[int, int | None], int], totals: Mapping[int, tuple[int, int]],
                      stage_ids: Collection[int] | None) -> None:
        """A partial model catches up with another process's change: `cards` are the deals its events named as
        they are now (None: no longer on this board), `cell_counts` and `totals` the counts of the stages
        `stage_ids` (None: of every stage) as the database has them after it. Each loaded cell stays the true top
        of its cell: a named card goes in where it ranks among the loaded ones, or is only counted when it ranks
        below the last loaded card of a cell that holds cards not loaded."""
        for deal_id in cards:
            old = self.by_id.pop(deal_id, None)
            if old is not None:
                stage = self.stage_cards.get(old.stage_id, [])
                for i, c in enumerate(stage):
                    if c.id == deal_id:
                        del stage[i]
                        break
        fresh = [c for c in cards.values() if c is not None and c.stage_id in self.stage_cards]
        # what each cell held before the named cards came in: the new counts less the cards placed in it
        before = dict(cell_counts)
        for card in fresh:
            key = (card.stage_id, card.type_id)
            before[key] = before.get(key, 0) - 1
        loaded = self._loaded_cells()
        for card in fresh:
            n, last = loaded.get((card.stage_id, card.type_id), (0, (-(2**62), 0)))
            if n < before.get((card.stage_id, card.type_id), 0) and _order(card) > last:
                continue  # below what the model holds of its cell: counted, not loaded
            self.by_id[card.id] = card
            insort(self.stage_cards[card.stage_id], card, key=_order)
        data = self.data
        wanted = set(self.stage_cards) if stage_ids is None else set(stage_ids)
        counts = {k: n for k, n in (data.cell_counts or {}).items() if k[0] not in wanted}
        counts.update((k, n) for k, n in cell_counts.items() if k[0] in wanted)
        data.cell_counts = counts
        for sid in wanted:
            data.counts[sid], data.sums[sid] = totals.get(sid, (0, 0))
        self.rebuild()

    def needs_all(self, flt: DealFilter, sort: str) -> bool:
        """Whether showing `flt` in `sort` order needs every card (a partial model holds only each cell's top)."""
        return self.partial and (flt.active or sort != RANK)

    @property
    def loaded_depth(self) -> int:
        """The most cards loaded of any one (stage, type) cell."""
        return max((n for n, _last in self._loaded_cells().values()), default=0)

    def show(self, flt: DealFilter, lanes_on: bool, sort: str = RANK) -> bool:
        """Show the cards under `flt`, in swimlanes or not, in `sort` order (the board's state, handed down). True
        if that changed anything."""
        if flt == self.filter and lanes_on == self.lanes_on and sort == self.sort:
            return False
        self.filter, self.lanes_on, self.sort = flt, lanes_on, sort
        self.rebuild()
        return True
