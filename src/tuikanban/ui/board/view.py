"""The board: stage columns, swimlane bands and cards, drawn line by line (Textual's Line API).

One widget draws everything, from plain data (`BoardModel`): only the lines on screen are ever built, so a board
with 50,000 open deals costs what a board with 50 does. Scrolling has two levels: each cell (lane x stage) scrolls
its own cards to keep the focused one visible, and with swimlanes on the bands scroll together vertically.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.color import Color
from textual.geometry import Region, Size
from textual.message import Message
from textual.strip import Strip

from tuikanban.domain import clock
from tuikanban.domain.models import StageInfo
from tuikanban.domain.text import display
from tuikanban.store.fastread import BoardCard
from tuikanban.ui.board.card import CARD_H, NO_MATCH_LABEL, fit
from tuikanban.ui.board.card import CardAging as CardAging  # (what a card shows of its aging, re-exported)
from tuikanban.ui.board.card import card_agings as card_agings
from tuikanban.ui.board.card import moved_aging as moved_aging
from tuikanban.ui.board.changed import CHANGED_MARK
from tuikanban.ui.board.column import HEADER_H, header_line
from tuikanban.ui.board.line_cache import (
    LineCache,
    Piece,
    blank_piece,
    card_piece,
    empty_piece,
    indicator_piece,
)
from tuikanban.ui.board.model import BoardModel, Lane
from tuikanban.ui.board.paint import ChangedLines

if TYPE_CHECKING:
    from tuikanban.domain.tasks import NextStep

MIN_COL_W = 24
GAP = 1


class Frame(NamedTuple):
    """The layout shared by every line of one frame (`BoardView._frame_now`)."""

    size: Size
    cols: list[tuple[int, int, int]]  # (column index, x, width) on screen
    bands: list[Band]
    offsets: dict[tuple[int, int], int]  # (lane, column) -> the cell's first card shown, filled as lines ask


class Band(NamedTuple):
    start: int  # first line of the band in the body
    header: int  # 1 when the band has a lane header line
    slots: int  # card slots shown
    height: int


class BoardView(ChangedLines, can_focus=True):
    """Columns of cards. Attributes down (`model`, `aging`); the screen asks it what is focused."""

    COMPONENT_CLASSES = {
        "board--header", "board--stage", "board--stage-focus", "board--wip-ok", "board--wip-limit",
        "board--wip-over", "board--wip-under", "board--muted", "board--rule", "board--rule-focus", "board--more",
        "board--card", "board--card-focus", "board--edge", "board--edge-focus", "board--title", "board--value",
        "board--days-ok", "board--days-aging", "board--days-stalled", "board--signal", "board--lane",
        "board--lane-empty",
        "board--empty", "board--empty-focus", "board--indicator", "board--message",
        "board--step-late", "board--step-today",
    }

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.model: BoardModel | None = None
        self.message_text = ""
        # deal id -> its aging (card_agings of services.aging), read after the board; empty until then
        self.aging: dict[int, CardAging] = {}
        # deal id -> its next step (services.tasks.next_steps), read after the board; empty until then
        self.steps: dict[int, NextStep] = {}
        self.changed: frozenset[int] = frozenset()  # deals changed since the user's last review (marked)
        self.focus_col = 0
        self.focus_lane = 0
        # told the focused deal whenever it changes (the board's remembered view: no timer looks at it)
        self.focus_listener: Callable[[int | None], None] | None = None
        self._focus_deal: int | None = None
        self.marked: frozenset[int] = frozenset()  # deals marked for a bulk action
        self.compact = False  # one line per card (`d`); geometry in `_slot_top` / `_slot_of`
        self._want_index = 0  # the slot to land on when the focused cell is empty
        self.col_start = 0
        self.vscroll = 0
        self._offsets: dict[tuple[int, int], int] = {}
        self._styles: dict[str, Style] | None = None
        self._now: datetime = clock.now()
        self._reveal_due = False  # the focus was set before the first layout (see build_line)
        self._drawing = LineCache()  # pieces and lines drawn before, by what they show (`line_cache`)
        self._cols_key: tuple[int, int, int, int] | None = None  # `_columns`' inputs last time, and its result
        self._cols: list[tuple[int, int, int]] = []
        self._frame: Frame | None = None  # the layout of the frame being drawn (`_frame_now`)

    # -- styles --------------------------------------------------------------------------------------------------

    def notify_style_update(self) -> None:
        self._styles = None
        self._forget_drawing()
        super().notify_style_update()

    def _forget_drawing(self) -> None:
        """Drop the cached parts and lines (new styles, a new day count): the next frame builds them again."""
        self._drawing.clear()

    def _style_map(self) -> dict[str, Style]:
        if self._styles is not None:
            return self._styles
        get = self.get_component_rich_style
        full = {name: get(f"board--{name}") for name in (
            "header", "stage", "stage-focus", "wip-ok", "wip-limit", "wip-over", "wip-under", "muted", "rule",
            "rule-focus", "more", "card", "card-focus", "edge", "edge-focus", "lane", "lane-empty", "empty",
            "empty-focus", "indicator", "message")}
        card, card_f = full["card"], full["card-focus"]
        for name in ("title", "value", "signal", "days-ok", "days-aging", "days-stalled", "step-late", "step-today"):
            full[name] = self._on_card(card, name)
            full[f"{name}-focus"] = self._on_card(card_f, name)
        full["card-muted"] = self._on_card(card, "muted")
        full["card-muted-focus"] = self._on_card(card_f, "muted")
        styles = full
        self._styles = styles
        return styles

    def _on_card(self, card: Style, name: str) -> Style:
        """The card's style plus component `board--<name>`'s text style, its colour blended onto the card's
        background (a partial Rich style drops the alpha of `$foreground-muted`, so muted text would not dim)."""
        styles = self.get_component_styles(f"board--{name}")
        style = card + styles.partial_rich_style
        if styles.has_rule("color") and card.bgcolor is not None:
            blended = Color.from_rich_color(card.bgcolor) + styles.color
            style += Style(color=blended.rich_color)
        return style

    # -- data ----------------------------------------------------------------------------------------------------

    @property
    def focus_deal(self) -> int | None:
        return self._focus_deal

    @focus_deal.setter
    def focus_deal(self, deal_id: int | None) -> None:
        if deal_id != self._focus_deal:
            self._focus_deal = deal_id
            if self.focus_listener is not None:
                self.focus_listener(deal_id)

    def set_model(self, model: BoardModel | None, *, focus_deal: int | None = None) -> None:
        """Show a (re)loaded board, keeping focus on `focus_deal` when it is still shown, else on the same cell."""
        first = self.model is None or (model is not None and model.data.pipeline.id != self.model.data.pipeline.id)
        self.model = model
        self._offsets = {k: v for k, v in self._offsets.items()} if model is not None else {}
        if model is None:
            self.focus_deal = None
            self.refresh()
            return
        self.focus_col = min(self.focus_col, max(0, len(model.stages) - 1))
        self.focus_lane = min(self.focus_lane, max(0, len(model.lanes) - 1))
        if focus_deal is not None and model.locate(focus_deal) is not None:
            self.focus_on(focus_deal)
        elif first and not model.cell(self.focus_lane, self.focus_col):
            self._focus_first_card()
        elif focus_deal is not None and not model.cell(self.focus_lane, self.focus_col):
            self._focus_nearest_card()  # the focused card left (moved by someone, closed, filtered out)
        else:
            self._settle_in_cell(self._want_index)
        self.refresh()

    def _focus_nearest_card(self) -> None:
        """Focus the card nearest the empty focused cell: its column's other lanes, then the columns beside it."""
        assert self.model is not None
        cols, lanes = len(self.model.stages), len(self.model.lanes)
        for distance in range(cols):
            for col in sorted({self.focus_col - distance, self.focus_col + distance}):
                if not 0 <= col < cols:
                    continue
                for lane in sorted(range(lanes), key=lambda li: abs(li - self.focus_lane)):
                    if self.model.cell(lane, col):
                        self._set_focus(lane, col, 0 if lane != self.focus_lane else self._want_index)
                        return
        self._settle_in_cell(0)

    def _focus_first_card(self) -> None:
        """A fresh board starts on its first card: the first column, then lane, that has one."""
        assert self.model is not None
        for col in range(len(self.model.stages)):
            for lane in range(len(self.model.lanes)):
                if self.model.cell(lane, col):
                    self._set_focus(lane, col, 0)
                    return
        self._settle_in_cell(0)

    def model_changed(self, *, focus_deal: int | None = None) -> None:
        """The model was updated in place (a move, a close): keep or move focus and repaint."""
        if self.model is None:
            return
        self.set_model(self.model, focus_deal=focus_deal if focus_deal is not None else self.focus_deal)

    def set_aging(self, aging: dict[int, CardAging]) -> None:
        """The aging of every open deal (card_agings), or of none (an empty dict: badges stay plain)."""
        self.aging = aging
        self.refresh()

    def set_changed(self, ids: frozenset[int]) -> None:
        """The deals changed since the user's last review (marked on their cards)."""
        if ids != self.changed:
            self.changed = ids
            self.refresh()

    def card_aging(self, card: BoardCard) -> tuple[str | None, str]:
        """(level, risk marks) of a card: None and "" while unknown, or while the aging read predates a move."""
        aging = self.aging.get(card.id)
        if aging is None or aging[0] != card.stage_id:
            return None, ""
        return aging[1], aging[2]

    def set_message(self, text: str) -> None:
        self.message_text = text
        self.refresh()

    def tick(self) -> None:
        """Days in stage move on: refresh the clock used for badges."""
        self._now = clock.now()
        self._forget_drawing()  # the badges and close dates are drawn against the clock
        self.refresh()

    # -- focus ---------------------------------------------------------------------------------------------------

    @property
    def focused_card(self) -> BoardCard | None:
        if self.model is None or self.focus_deal is None:
            return None
        return self.model.by_id.get(self.focus_deal)

    @property
    def focused_stage(self) -> StageInfo | None:
        if self.model is None or not self.model.stages:
            return None
        return self.model.stages[self.focus_col]

    @property
    def focused_lane(self) -> Lane | None:
        if self.model is None or not self.model.lanes:
            return None
        return self.model.lanes[self.focus_lane]

    def _focus_index(self) -> int | None:
        if self.model is None or self.focus_deal is None:
            return None
        cell = self.model.cell(self.focus_lane, self.focus_col)
        for i, c in enumerate(cell):
            if c.id == self.focus_deal:
                return i
        return None

    def _set_focus(self, lane: int, col: int, index: int | None) -> None:
        assert self.model is not None
        self.focus_lane, self.focus_col = lane, col
        cell = self.model.cell(lane, col)
        if index is None or not cell:
            self.focus_deal = None
            self._want_index = index or 0
        else:
            index = max(0, min(index, len(cell) - 1))
            self.focus_deal = cell[index].id
            self._want_index = index
            self._reveal(lane, col, index)
        self._reveal_band(lane, index if cell and index is not None else 0)
        self._reveal_due = not self.size.height  # not laid out yet: scroll to the focus when it is (build_line)
        self.refresh()

    def _settle_in_cell(self, index: int) -> None:
        if self.model is None or not self.model.stages:
            return
        cell = self.model.cell(self.focus_lane, self.focus_col)
        self._set_focus(self.focus_lane, self.focus_col, min(index, len(cell) - 1) if cell else None)

    def focus_on(self, deal_id: int) -> bool:
        if self.model is None:
            return False
        where = self.model.locate(deal_id)
        if where is None:
            return False
        lane, col, index = where
        self._set_focus(lane, col, index)
        return True

    def move_column(self, delta: int) -> None:
        if self.model is None or not self.model.stages:
            return
        col = max(0, min(len(self.model.stages) - 1, self.focus_col + delta))
        if col == self.focus_col:
            return
        index = self._focus_index()
        # land on the same visual row in the next column
        row = (index - self._offset(self.focus_lane, self.focus_col)) if index is not None else 0
        target = self.model.cell(self.focus_lane, col)
        if target:
            want = self._offset(self.focus_lane, col) + max(0, row)
            self._set_focus(self.focus_lane, col, min(want, len(target) - 1))
        else:
            self._set_focus(self.focus_lane, col, None)

    def move_card(self, delta: int) -> None:
        """Up/down within the cell, continuing into the next (or previous) lane that has cards in this column."""
        if self.model is None or not self.model.stages:
            return
        cell = self.model.cell(self.focus_lane, self.focus_col)
        index = self._focus_index()
        if index is not None and 0 <= index + delta < len(cell):
            self._set_focus(self.focus_lane, self.focus_col, index + delta)
            return
        step = 1 if delta > 0 else -1
        lane = self.focus_lane + step
        while 0 <= lane < len(self.model.lanes):
            other = self.model.cell(lane, self.focus_col)
            if other:
                self._set_focus(lane, self.focus_col, 0 if step > 0 else len(other) - 1)
                return
            lane += step

    def page(self, delta: int) -> None:
        if self.model is None:
            return
        _cols, bands = self._layout()
        if not bands:
            return
        slots = max(1, bands[min(self.focus_lane, len(bands) - 1)].slots)
        for _ in range(slots):
            self.move_card(delta)

    def edge(self, last: bool) -> None:
        if self.model is None or not self.model.stages:
            return
        cell = self.model.cell(self.focus_lane, self.focus_col)
        if cell:
            self._set_focus(self.focus_lane, self.focus_col, len(cell) - 1 if last else 0)

    # -- geometry ------------------------------------------------------------------------------------------------

    def _columns(self) -> list[tuple[int, int, int]]:
        """(column index, x, width) of the columns on screen; adjusts the horizontal window to the focus."""
        if self.model is None or not self.model.stages:
            return []
        width = self.size.width
        n = len(self.model.stages)
        key = (width, n, self.focus_col, self.col_start)
        if key == self._cols_key:  # asked for by every line of a frame and every cell's offset: once is enough
            self.col_start = self._cols[0][0]
            return self._cols
        visible = max(1, min(n, (width + GAP) // (MIN_COL_W + GAP)))
        if self.focus_col < self.col_start:
            self.col_start = self.focus_col
        elif self.focus_col >= self.col_start + visible:
            self.col_start = self.focus_col - visible + 1
        self.col_start = max(0, min(self.col_start, n - visible))
        avail = max(0, width - GAP * (visible - 1))
        base, extra = divmod(avail, visible)
        out = []
        x = 0
        for i in range(visible):
            w = base + (1 if i < extra else 0)
            out.append((self.col_start + i, x, w))
            x += w + GAP
        self._cols_key, self._cols = key, out
        return out

    def _body_height(self) -> int:
        return max(0, self.size.height - HEADER_H)

    def _slot_top(self, slot: int) -> int:
        """The first line of card slot `slot` in its band (after the lane header): a card is a spacer line and
        three lines; in compact mode one line, after one line for "↑ more" above the first."""
        return 1 + slot if self.compact else slot * CARD_H

    def _slot_of(self, r: int) -> tuple[int, int]:
        """(slot, line) of line `r` of a band (after its header); line 0 is the spacer, 1.. the card's lines."""
        if self.compact:
            return (r - 1, 1) if r >= 1 else (0, 0)
        return divmod(r, CARD_H)

    def _cap(self) -> int:
        assert self.model is not None
        header = 1 if self.model.lanes_shown else 0
        room = self._body_height() - header - 1  # the last line says "↓ more"
        return max(1, room - 1 if self.compact else room // CARD_H)

    def _layout(self) -> tuple[list[tuple[int, int, int]], list[Band]]:
        cols = self._columns()
        if self.model is None or not self.model.stages:
            return cols, []
        model = self.model
        body = self._body_height()
        cap = self._cap()
        bands: list[Band] = []
        if not model.lanes_shown:
            bands.append(Band(0, 0, cap, body))
            return cols, bands
        y = 0
        shown = [c for c, _x, _w in cols]
        for li in range(len(model.lanes)):
            # bands are as tall as their fullest cell on screen (so a narrow terminal wastes no lines)
            most = max((len(model.cell(li, c)) for c in shown), default=0)
            if li == self.focus_lane and self.focus_deal is None:
                most = max(most, 1)  # room for the focused empty cell
            slots = min(most, cap)
            height = 1 + (self._slot_top(slots) + 1 if slots else 0)
            bands.append(Band(y, 1, slots, height))
            y += height
        return cols, bands

    def _offset(self, lane: int, col: int) -> int:
        assert self.model is not None
        key = (self.model.lanes[lane].key, self.model.stages[col].id)
        off = self._offsets.get(key, 0)
        cell_len_ = len(self.model.cells.get(key, ()))
        return max(0, min(off, max(0, cell_len_ - self._slots(lane))))

    def _slots(self, lane: int) -> int:
        assert self.model is not None
        if not self.model.lanes_shown:
            return self._cap()
        shown = [c for c, _x, _w in self._columns()]
        most = max((len(self.model.cell(lane, c)) for c in shown), default=0)
        return min(max(most, 1), self._cap())

    def _reveal(self, lane: int, col: int, index: int) -> None:
        assert self.model is not None
        key = (self.model.lanes[lane].key, self.model.stages[col].id)
        slots = self._slots(lane)
        off = self._offset(lane, col)
        if index < off:
            off = index
        elif index >= off + slots:
            off = index - slots + 1
        self._offsets[key] = off

    def _reveal_band(self, lane: int, index: int) -> None:
        if self.model is None or not self.model.lanes_shown:
            self.vscroll = 0
            return
        _cols, bands = self._layout()
        if lane >= len(bands):
            return
        band = bands[lane]
        body = self._body_height()
        total = bands[-1].start + bands[-1].height if bands else 0
        slot = max(0, index - self._offset(lane, self.focus_col)) if band.slots else 0
        top = band.start if slot == 0 else band.start + band.header + self._slot_top(slot)
        bottom = band.start + band.header + self._slot_top(slot + 1) + (1 if slot + 1 >= band.slots else 0)
        bottom = min(bottom, band.start + band.height)
        if top < self.vscroll:
            self.vscroll = top
        elif bottom > self.vscroll + body:
            self.vscroll = bottom - body
        self.vscroll = max(0, min(self.vscroll, max(0, total - body)))

    def on_resize(self, _event: events.Resize) -> None:
        self._reveal_focus()
        self.refresh()

    def _reveal_focus(self) -> None:
        """Scroll the focused card into view for the size the board has now."""
        self._reveal_due = False
        if self.model is not None and self.model.stages:
            index = self._focus_index()
            if index is not None:
                self._reveal(self.focus_lane, self.focus_col, index)
            self._reveal_band(self.focus_lane, index or 0)

    # -- mouse -----------------------------------------------------------------------------------------------------

    def on_click(self, event: events.Click) -> None:
        hit = self._hit(event.x, event.y)
        if hit is not None:
            lane, col, index = hit
            self._set_focus(lane, col, index)
        self.focus()

    class Scrolled(Message):
        """The mouse wheel moved the focus: a big pipeline's board may have to read deeper (`BoardBase`)."""

    def on_mouse_scroll_down(self, event: events.MouseScrollDown) -> None:
        event.stop()
        self.move_card(1)
        self.post_message(self.Scrolled())

    def on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        event.stop()
        self.move_card(-1)
        self.post_message(self.Scrolled())

    def _hit(self, x: int, y: int) -> tuple[int, int, int | None] | None:
        if self.model is None or not self.model.stages:
            return None
        cols, bands = self._layout()
        col = next((c for c, cx, w in cols if cx <= x < cx + w), None)
        if col is None or y < HEADER_H:
            if col is not None:
                return self.focus_lane, col, 0 if self.model.cell(self.focus_lane, col) else None
            return None
        b = y - HEADER_H + self.vscroll
        for li, band in enumerate(bands):
            if band.start <= b < band.start + band.height:
                r = b - band.start - band.header
                if r < 0:
                    return li, col, 0 if self.model.cell(li, col) else None
                slot = max(0, self._slot_of(r)[0])
                cell = self.model.cell(li, col)
                index = self._offset(li, col) + slot
                return li, col, (index if index < len(cell) else (len(cell) - 1 if cell else None))
        return None

    # -- drawing ---------------------------------------------------------------------------------------------------

    def refresh(self, *regions: Region, repaint: bool = True, layout: bool = False,
                recompose: bool = False) -> Any:
        self._frame = None  # whatever changed, it changed before this: the next line lays the board out again
        return super().refresh(*regions, repaint=repaint, layout=layout, recompose=recompose)

    def _frame_now(self) -> Frame:
        """The layout every line of this frame shares (columns, bands, each cell's offset), made once per frame:
        every change to what the board shows ends in `refresh()`, which drops it."""
        size = self.size
        frame = self._frame
        if frame is None or frame.size != size:
            cols, bands = self._layout()
            frame = self._frame = Frame(size, cols, bands, {})
        return frame

    def _frame_offset(self, frame: Frame, lane: int, col: int) -> int:
        off = frame.offsets.get((lane, col))
        if off is None:
            off = frame.offsets[(lane, col)] = self._offset(lane, col)
        return off

    def build_line(self, y: int) -> Strip:
        if self._reveal_due:  # the first frame: focus was set before the board had a size (its Resize comes later)
            self._reveal_focus()
            self._frame = None
        styles = self._style_map()
        base = styles["header"]
        if self.model is None or not self.model.stages:
            return self._message_line(y, self.size.width, styles)
        frame = self._frame_now()
        cols, bands, width = frame.cols, frame.bands, frame.size.width
        if y < HEADER_H:
            return self._header_strip(y, cols, width, styles)
        b = y - HEADER_H + self.vscroll
        for li, band in enumerate(bands):
            if band.start <= b < band.start + band.height:
                return self._band_strip(frame, li, band, b - band.start, width, styles)
        return Strip([Segment(" " * width, base)], width)

    def _message_line(self, y: int, width: int, styles: dict[str, Style]) -> Strip:
        lines = self.message_text.split("\n") if self.message_text else []
        top = max(0, (self.size.height - len(lines)) // 2)
        if top <= y < top + len(lines):
            text = display(lines[y - top])
            pad = max(0, width - cell_len(text))
            return Strip([Segment(fit(" " * (pad // 2) + text, width), styles["message"])], width)
        return Strip([Segment(" " * width, styles["header"])], width)

    def _join(self, parts: list[list[Segment]], cols: list[tuple[int, int, int]], width: int,
              styles: dict[str, Style]) -> Strip:
        segs: list[Segment] = []
        gap = Segment(" " * GAP, styles["header"])
        used = 0
        for i, part in enumerate(parts):
            if i:
                segs.append(gap)
                used += GAP
            segs.extend(part)
            used += cols[i][2]
        if used < width:
            segs.append(Segment(" " * (width - used), styles["header"]))
        return Strip(segs, width)

    def _header_strip(self, line: int, cols: list[tuple[int, int, int]], width: int,
                      styles: dict[str, Style]) -> Strip:
        assert self.model is not None
        model = self.model
        n = len(model.stages)
        currency = model.data.pipeline.currency
        parts = []
        for i, (c, _x, w) in enumerate(cols):
            stage = model.stages[c]
            parts.append(header_line(
                stage, line, w, count=model.count(stage.id), value=model.value(stage.id), currency=currency,
                shown=model.shown_in_stage(stage.id), filtered=model.filter.active, focused=c == self.focus_col,
                more_left=c if i == 0 else 0, more_right=(n - c - 1) if i == len(cols) - 1 else 0, styles=styles,
            ))
        return self._join(parts, cols, width, styles)

    def _filtered_out(self, col: int) -> bool:
        """Whether the filter hides every card of column `col` (which has cards without it)."""
        model = self.model
        if model is None or not model.filter.active:
            return False
        if not model.stage_cards.get(model.stages[col].id):
            return False
        return all(not model.cell(li, col) for li in range(len(model.lanes)))

    def _lane_header(self, li: int, width: int, styles: dict[str, Style]) -> Strip:
        assert self.model is not None
        lane = self.model.lanes[li]
        n = self.model.lane_count(li)
        focused = li == self.focus_lane
        mark = "▾" if n else "▸"
        label = f" {mark} {display(lane.name)} · {n} "
        style = styles["lane" if n else "lane-empty"]
        rule = "─" * max(0, width - cell_len(label) - 1)
        lead = "━" if focused else "─"
        return Strip([Segment(lead, style), Segment(fit(label, width - 1), style)] if not rule else
                     [Segment(lead, style), Segment(label, style), Segment(rule, styles["rule"])], width)

    def _band_strip(self, frame: Frame, li: int, band: Band, r: int, width: int, styles: dict[str, Style]) -> Strip:
        """Line `r` of lane `li`'s band. Each column's piece is named by a key holding all it shows; a line whose
        pieces are all as before is the very strip drawn before (so the repaint's comparison and the terminal's
        compacting cost nothing for it), and a piece seen before (a card that scrolled by a line, the card the focus
        left) is not built again: a focus move builds the two cards it changes, at any density."""
        assert self.model is not None
        if band.header and r == 0:
            return self._lane_header(li, width, styles)
        pieces = self._band_pieces(frame, li, band, r - band.header, styles)
        key = (width, *(k for k, _build in pieces))
        return self._drawing.line(key, pieces, lambda parts: self._join(parts, frame.cols, width, styles),
                                  super().finish_line)

    def finish_line(self, strip: Strip) -> Strip:
        """`ChangedLines.finish_line`, once per cached line: a line taken from the cache is compacted already."""
        done = self._drawing.finished_of(strip)
        return done if done is not None else super().finish_line(strip)

    def _band_pieces(self, frame: Frame, li: int, band: Band, r: int,
                     styles: dict[str, Style]) -> list[Piece]:
        """(key, how to build it) of each column's piece of line `r` (after the lane header) of lane `li`."""
        assert self.model is not None
        model = self.model
        slot, line = self._slot_of(r)
        blank = styles["header"]
        show_type = not model.lanes_shown and model.has_types
        compact = self.compact
        pieces: list[Piece] = []
        for c, _x, w in frame.cols:
            cell = model.cell(li, c)
            off = self._frame_offset(frame, li, c)
            focused_cell = li == self.focus_lane and c == self.focus_col
            if slot >= band.slots:  # the line under the last slot: "more below"
                below = model.cell_total(li, c) - off - band.slots
                if slot == band.slots and (line == 0 or compact) and below > 0:
                    pieces.append(indicator_piece(f"  ↓ {below} more", w, styles))
                else:
                    pieces.append(blank_piece(w, blank))
                continue
            index = off + slot
            if line == 0:
                if slot == 0 and off > 0:
                    pieces.append(indicator_piece(f"  ↑ {off} more", w, styles))
                else:
                    pieces.append(blank_piece(w, blank))
                continue
            if index < len(cell):
                pieces.append(self._card_piece(cell[index], line, w, show_type, styles))
            elif slot == 0 and (focused_cell or li == 0) and self._filtered_out(c):
                # the filter hides every card of this column: say so (not "empty · n adds a deal")
                pieces.append(empty_piece(1 if compact else line - 1, w, styles,
                                     focused_cell and self.focus_deal is None, NO_MATCH_LABEL))
            elif focused_cell and self.focus_deal is None and slot == 0:
                pieces.append(empty_piece(1 if compact else line - 1, w, styles, True, None))
            else:
                pieces.append(blank_piece(w, blank))
        return pieces

    def _card_piece(self, card: BoardCard, line: int, w: int, show_type: bool, styles: dict[str, Style]) -> Piece:
        """Content line `line` (1..3; compact: 1) of `card`, `w` cells wide, and its key (`line_cache.card_piece`)."""
        level, marks = self.card_aging(card) if line == 1 else (None, "")
        if line == 1 and card.id in self.changed:
            marks = CHANGED_MARK + marks
        step = self.steps.get(card.id) if line == 3 and not self.compact else None
        return card_piece(card, line, w, compact=self.compact, now=self._now, styles=styles,
                          focused=card.id == self.focus_deal, level=level, marks=marks, marked=card.id in self.marked,
                          show_type=show_type, step=step)
