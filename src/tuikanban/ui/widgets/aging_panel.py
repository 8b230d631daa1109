"""The aging panel: docked beside the board (toggled with `a`), it lists every open deal that is aging, stalled
or carries a risk signal, most severe first, and offers the aging chart on a second tab.

The board drives it in one of two ways:

- `panel.show_snapshot(snapshot, deal_filter)` (a pipeline the board holds whole): the board's own aging read (the
  one its card badges come from, read off the UI thread after every reload and write), filtered here by the board's
  filter, so the panel follows the filter at once and the board's data live. Only the MAX_ROWS most severe deals
  are listed (the title counts them all): thousands of rows nobody scrolls to would cost the UI thread a second
  per update; the filter narrows the list.
- `panel.follow(db, pipeline_id, reread=...)` (a big pipeline, whose board holds only each cell's top cards): the
  panel reads what it shows on the app's reads lane (`services.aging.panel_page`): the PAGE most severe open deals
  with their signals, and every open deal's days in stage for the chart and the counts, never every deal's item
  (docs/PERFORMANCE.md, The board at 100,000 deals). It reads PAGE more whenever the cursor comes within
  DEEPER_WITHIN rows of the end of what it holds, so scrolling reaches the last deal.

Enter on a row posts `AgingPanel.FocusDeal(deal_id)`, which the board handles by focusing that card.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

from rich.style import Style
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.css.query import NoMatches
from textual.message import Message
from textual.widgets import DataTable, Static, TabbedContent, TabPane, Tabs

from tuikanban.domain.aging import (
    SIGNAL_LEGEND,
    SIGNALS,
    AgingItem,
    AgingSnapshot,
    Level,
    StageAging,
    format_days,
    signal_marks,
    signal_short,
)
from tuikanban.domain.errors import TuikanbanError
from tuikanban.domain.filters import DealFilter
from tuikanban.domain.text import display
from tuikanban.ui.jobs import JobFailed, lanes_of
from tuikanban.ui.textual_seam import forget_closed_widgets
from tuikanban.ui.widgets.aging_chart import AgingChart, StageDays, days_by_stage, legend

if TYPE_CHECKING:
    from tuikanban.services.aging import PanelPage
    from tuikanban.store.engine import Database

COLUMNS = (("Title", "title"), ("Stage", "stage"), ("Days", "days"), ("Base", "base"), ("Level", "level"),
           ("Risk", "signals"), ("Owner", "owner"))
# Widths of the columns after the title (stage, days, base, level, signals, owner) plus the cell padding.
FIXED_COLUMNS = 12 + 5 + 4 + 7 + 4 + 10 + 2 * len(COLUMNS)
MAX_ROWS = 200  # the most severe deals listed of a snapshot; the rest are counted in the title
PAGE = 200  # a big pipeline's deals read at a time, most severe first
DEEPER_WITHIN = 40  # ... and PAGE more once the cursor is this close to the end of what is held


@dataclass
class PageRead(Message):
    """A big pipeline's read for the panel (`offset` 0: everything again; else PAGE deals more)."""

    page: PanelPage
    offset: int
    seq: int


@dataclass(frozen=True)
class Shown:
    """What the panel paints, from a snapshot or from a big pipeline's pages."""

    pipeline_name: str
    stale_days: int
    stages: list[StageAging]
    rows: list[AgingItem]  # the flagged deals listed, most severe first
    flagged: int | None  # how many deals are flagged in all (None: not known, a big pipeline's pages)
    stalled: int
    aging: int
    at_risk: int | None  # flagged with an ok level (None: not known without every deal's signals)
    open: int
    days: StageDays
    more: bool  # a big pipeline's less severe deals not read yet


class AgingTable(DataTable[Any]):
    """The panel's list: up/down (and k/j, as on the board) move its cursor, enter shows the deal. Moves typed
    before the list has arrived (in the same burst as the `a` that opened the panel) are kept in `ahead` and
    applied once it is shown."""

    BINDINGS = [
        Binding("k", "cursor_up", "Up", show=False),
        Binding("j", "cursor_down", "Down", show=False),
    ]

    ahead = 0

    def action_cursor_down(self) -> None:
        if self.row_count == 0:
            self.ahead += 1
            return
        super().action_cursor_down()

    def action_cursor_up(self) -> None:
        if self.row_count == 0:
            self.ahead -= 1
            return
        super().action_cursor_up()


def filtered_snapshot(snap: AgingSnapshot, deal_filter: DealFilter | None) -> AgingSnapshot:
    """`snap` with only the deals the board's filter shows (the same test as the board's cards)."""
    if deal_filter is None or not deal_filter.active:
        return snap
    items = [i for i in snap.items
             if deal_filter.matches_fields(i.title, i.company, i.contact, i.owner, i.type_name)]
    return AgingSnapshot(snap.pipeline_id, snap.pipeline_name, snap.stale_days, snap.stages, items)


class AgingPanel(Vertical):
    """Open deals that need attention, by severity, and the aging chart."""

    BINDINGS = [
        Binding("c", "toggle_chart", "Chart/list"),
    ]
    COMPONENT_CLASSES = {"aging-panel--aging", "aging-panel--stalled", "aging-panel--signal", "aging-panel--muted"}
    DEFAULT_CSS = """
    AgingPanel {
        width: 84;
        max-width: 65%;
        height: 1fr;
        border-left: vkey $foreground 15%;
        padding: 0 0 0 1;
    }
    AgingPanel #aging-title { height: auto; padding: 0 1 0 0; }
    AgingPanel TabbedContent { height: 1fr; }
    AgingPanel TabPane { padding: 0; }
    AgingPanel ContentSwitcher { height: 1fr; }
    AgingPanel AgingTable { height: 1fr; }
    AgingPanel #aging-empty { height: auto; padding: 1 1; color: $foreground-muted; }
    AgingPanel #aging-legend { height: auto; color: $foreground-muted; }
    AgingPanel > .aging-panel--aging { color: $tk-aging; text-style: bold; }
    AgingPanel > .aging-panel--stalled { color: $tk-stalled; text-style: bold; }
    AgingPanel > .aging-panel--signal { color: $tk-aging; }
    AgingPanel > .aging-panel--muted { color: $foreground-muted; }
    """

    @dataclass
    class FocusDeal(Message):
        """Enter on a row: the board should focus this deal's card."""

        deal_id: int

    def __init__(self, *, name: str | None = None, id: str | None = None, classes: str | None = None,
                 autofocus: bool = False) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.deal_filter: DealFilter | None = None
        self.snapshot: AgingSnapshot | None = None
        self.page: PanelPage | None = None  # a big pipeline's pages read so far
        self.shown: Shown | None = None
        self.error: str | None = None
        self.autofocus = autofocus
        self._pending: tuple[AgingSnapshot, DealFilter | None] | None = None
        self._last_title_width = 0
        self._source: tuple[Database, int] | None = None  # (database, pipeline) a big pipeline's pages come from
        self._seq = 0  # reads started; a page of an older one is dropped
        self._reading = False  # a read is on its way (at most one at a time)
        self._reread = False  # ... and another is wanted once it is in

    # -- composition ------------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Static(Text("Aging", style="bold"), id="aging-title")
        # (no `initial`: the first pane is shown anyway, and a panel removed while it mounts - the board closing or
        # the app quitting as a panel built ahead mounts - would make Textual's tabs set an active tab already gone)
        with TabbedContent():
            with TabPane("Needs attention", id="aging-list"):
                table = AgingTable(id="aging-table", cursor_type="row", zebra_stripes=True)
                for label, key in COLUMNS:
                    table.add_column(label, key=key)
                yield table
                yield Static("", id="aging-empty")
            with TabPane("Chart", id="aging-chart-pane"):
                yield AgingChart(id="aging-chart")
        yield Static("", id="aging-legend")

    def on_mount(self) -> None:
        try:
            empty = self.query_one("#aging-empty", Static)
        except NoMatches:
            return  # removed while it mounted (its children went first): nothing is left to set up
        empty.display = False
        # tab goes between the board and this list, not through the tab strip (c switches list and chart)
        self.query_one(Tabs).can_focus = False
        self.app.theme_changed_signal.subscribe(self, self._on_theme_changed)
        if self._pending is not None:
            self._show_pending()
        elif self.shown is None:
            self._paint_waiting()
        if self.autofocus:
            self.focus_table()

    def on_unmount(self) -> None:
        # A signal keeps each subscriber's callback, and the callback the subscriber: without this every panel
        # ever opened stayed alive with its table and chart (about 160 objects an open).
        self.app.theme_changed_signal.unsubscribe(self)
        # Textual's style cache keeps the widgets it drew (and their lines) until the board is shown again, which a
        # panel closing on the board never does: every open of the panel kept about 1.7 MB at 100,000 open deals.
        self.app.call_later(forget_closed_widgets)

    # -- API for the board --------------------------------------------------------------------------------

    def show_snapshot(self, snap: AgingSnapshot, deal_filter: DealFilter | None = None) -> None:
        """Show the board's aging read (every open deal of its pipeline) under the board's filter, right away."""
        self._source = None  # (a page still on its way is dropped)
        self.page = None
        self.deal_filter = deal_filter
        self._pending = (snap, deal_filter)
        if self.is_mounted:  # (else on_mount shows it)
            self._show_pending()

    def follow(self, db: Database, pipeline_id: int, *, reread: bool = False) -> None:
        """Show a big pipeline's most severe deals, read here a page at a time; `reread`: the board's aging changed
        (a write, another process), so read what is held again."""
        self._pending = None
        self.snapshot = None
        self.deal_filter = None  # (a filter makes the board read every deal: it hands the panel a snapshot then)
        if self._source != (db, pipeline_id):
            self._source = (db, pipeline_id)
            self.page = None
            self._reading = False
            if self.is_mounted:
                self._paint_waiting()
            self._read(offset=0)
        elif reread:
            self._read(offset=0)

    def _show_pending(self) -> None:
        assert self._pending is not None
        snap, deal_filter = self._pending
        self._pending = None
        self._show(filtered_snapshot(snap, deal_filter))

    def show_waiting(self) -> None:
        """The board is reading the aging (the panel was opened before the first read, or the pipeline changed)."""
        self._pending = None
        self._source = None
        self.page = None
        if self.is_mounted:
            self._paint_waiting()

    def _paint_waiting(self) -> None:
        self.snapshot = None
        self.shown = None
        self.query_one("#aging-title", Static).update(Text("Aging", style="bold"))
        empty = self.query_one("#aging-empty", Static)
        empty.update(Text("Reading the aging of the pipeline…"))
        empty.display = True
        self.query_one(AgingTable).display = False

    def show_error(self, message: str) -> None:
        """The board could not read the aging: say why in place of the list."""
        self._pending = None
        self.error = message
        if self.is_mounted:
            empty = self.query_one("#aging-empty", Static)
            empty.update(Text(message))
            empty.display = True
            self.query_one(AgingTable).display = False

    def focus_table(self) -> None:
        self.query_one(AgingTable).focus()

    @property
    def showing_chart(self) -> bool:
        return self.query_one(TabbedContent).active == "aging-chart-pane"

    def _show(self, snap: AgingSnapshot) -> None:
        self.error = None
        self.snapshot = snap
        self.shown = self._shown_snapshot(snap)
        self._render_shown()

    def _on_theme_changed(self, _theme: object) -> None:
        if self.shown is not None:
            self._render_shown()

    # -- a big pipeline's pages ---------------------------------------------------------------------------

    def _read(self, *, offset: int) -> None:
        """Read the pages held again (`offset` 0) or the next one, on the reads lane: one read at a time, and a
        re-read asked for meanwhile runs once the current one is in."""
        if self._source is None:
            return
        if self._reading:
            self._reread = self._reread or offset == 0
            return
        db, pipeline_id = self._source
        held = len(self.page.items) if self.page is not None else 0
        if offset:
            job = partial(_page_job, db, pipeline_id, limit=PAGE, offset=held, with_days=False)
        else:
            job = partial(_page_job, db, pipeline_id, limit=max(PAGE, held), offset=0, with_days=True)
        self._seq += 1
        self._reading = True
        self._reread = False
        lanes_of(self).reads.submit(self, partial(_post_page, job, offset=held if offset else 0, seq=self._seq),
                                    name="aging panel")

    @on(PageRead)
    def _page_read(self, message: PageRead) -> None:
        message.stop()
        if message.seq != self._seq or self._source is None:
            return  # a read of another pipeline, or one dropped for a snapshot
        self._reading = False
        page = message.page
        if message.offset and self.page is not None:
            if message.offset == len(self.page.items):
                self.page.items.extend(page.items)
                if len(page.items) < PAGE:  # the end (deals closed since the count): nothing more to read
                    self.page.total = len(self.page.items)
        else:
            self.page = page
        self.error = None
        self.shown = self._shown_page(self.page)
        self._render_shown()
        if self._reread:
            self._read(offset=0)

    @on(JobFailed)
    def _page_failed(self, message: JobFailed) -> None:
        message.stop()
        self._reading = False
        error = message.error
        self.show_error(str(error) if isinstance(error, TuikanbanError)
                        else "The aging of this pipeline could not be read.")

    def _deeper_if_near_end(self) -> None:
        """Read PAGE more deals once the cursor is within DEEPER_WITHIN rows of the last one held."""
        page, shown = self.page, self.shown
        if page is None or shown is None or not shown.more or self._reading:
            return
        table = self.query_one(AgingTable)
        if table.row_count - table.cursor_row <= DEEPER_WITHIN:
            self._read(offset=len(page.items))

    @on(DataTable.RowHighlighted, "#aging-table")
    def _row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        self._deeper_if_near_end()

    # -- what is shown --------------------------------------------------------------------------------------

    @staticmethod
    def _shown_snapshot(snap: AgingSnapshot) -> Shown:
        flagged = snap.flagged
        return Shown(
            snap.pipeline_name, snap.stale_days, snap.stages, flagged[:MAX_ROWS], len(flagged),
            stalled=sum(1 for i in flagged if i.level is Level.STALLED),
            aging=sum(1 for i in flagged if i.level is Level.AGING),
            at_risk=sum(1 for i in flagged if i.level is Level.OK), open=len(snap.items),
            days=days_by_stage(snap.items), more=False,
        )

    @staticmethod
    def _shown_page(page: PanelPage) -> Shown:
        stalled, aging = page.level_counts()
        return Shown(page.pipeline_name, page.stale_days, page.stages, page.flagged, None, stalled=stalled,
                     aging=aging, at_risk=None, open=page.total, days=page.days, more=page.more)

    # -- painting -----------------------------------------------------------------------------------------

    def _style(self, name: str) -> Style:
        return self.get_component_rich_style(f"aging-panel--{name}", partial=True)

    def _render_shown(self) -> None:
        shown = self.shown
        if shown is None:
            return
        self._paint_title(shown)
        table = self.query_one(AgingTable)
        keep = self._cursor_deal_id()
        keep_row = table.cursor_row
        table.clear()
        level_styles = {Level.OK: Style(), Level.AGING: self._style("aging"), Level.STALLED: self._style("stalled")}
        signal_style = self._style("signal")
        title_width = self._last_title_width = self._title_width()
        for item in shown.rows:
            table.add_row(*self._cells(item, level_styles, signal_style, title_width), key=str(item.id))
        empty = self.query_one("#aging-empty", Static)
        listed = bool(shown.rows)
        if not listed and shown.more:
            empty.update(Text("Reading the most severe deals…"))
        elif not listed:
            where = " matching the filter" if self.deal_filter and self.deal_filter.active else ""
            empty.update(Text(f"Nothing needs attention: {shown.open} open deal"
                              f"{'s' if shown.open != 1 else ''}{where}, none aging, stalled or at risk."))
        empty.display = not listed
        table.display = listed
        if keep is not None and str(keep) in table.rows:
            table.move_cursor(row=table.get_row_index(str(keep)), animate=False)
        elif table.row_count:  # the deal under the cursor left the list: stay on the same line
            table.move_cursor(row=min(keep_row, table.row_count - 1), animate=False)
        if table.ahead and table.row_count:  # keys typed before the list was there
            table.move_cursor(row=max(0, min(table.cursor_row + table.ahead, table.row_count - 1)), animate=False)
        table.ahead = 0
        self.query_one(AgingChart).set_data(shown.stages, shown.days)
        self._paint_legend(shown)
        self._deeper_if_near_end()  # (a page with few flagged deals: read on until the list fills the panel)

    def _title_width(self) -> int:
        """The title column takes what the panel has left (between 12 and 32 cells)."""
        width = self.query_one(AgingTable).size.width or self.size.width
        return max(12, min(32, width - FIXED_COLUMNS - 4))

    def on_resize(self) -> None:
        if self.shown is not None and self._title_width() != self._last_title_width:
            self._render_shown()

    def _cells(self, item: AgingItem, level_styles: dict[Level, Style], signal_style: Style,
               title_width: int) -> list[Text]:
        marks = signal_marks(item.signals)
        return [
            Text(display(item.title, max_length=title_width)),
            Text(display(item.stage, max_length=12)),
            Text(f"{item.days_in_stage:.1f}" if item.days_in_stage < 1000 else f"{item.days_in_stage:.0f}"),
            Text(format_days(item.baseline_days)),
            Text(item.level.value, style=level_styles[item.level]),
            Text(marks, style=signal_style),
            Text(display(item.owner, max_length=10)),
        ]

    def _paint_title(self, shown: Shown) -> None:
        muted = self._style("muted")
        title = Text("Aging ", style="bold")
        title.append(Text(display(shown.pipeline_name)))
        title.append("  ")
        title.append(f"{shown.stalled} stalled", style=self._style("stalled") if shown.stalled else muted)
        title.append(" · ", style=muted)
        title.append(f"{shown.aging} aging", style=self._style("aging") if shown.aging else muted)
        at_risk = f" · {shown.at_risk} at risk" if shown.at_risk is not None else ""
        title.append(f"{at_risk} · {shown.open} open", style=muted)  # (one span, as the screenshots have it)
        if shown.flagged is not None and shown.flagged > len(shown.rows):
            title.append(f"\nthe {len(shown.rows)} most severe of {shown.flagged} listed; / narrows the list",
                         style=muted)
        elif shown.more:
            title.append("\nmost severe first; more are read as you scroll", style=muted)
        if self.deal_filter is not None and self.deal_filter.active:
            title.append("\nfilter: ", style=muted)
            title.append(Text(display(self.deal_filter.describe())))
        self.query_one("#aging-title", Static).update(title)

    def _paint_legend(self, shown: Shown) -> None:
        if self.showing_chart:
            self.query_one("#aging-legend", Static).update(legend(self.query_one(AgingChart).chart_styles()))
            return
        muted = self._style("muted")
        line = Text(no_wrap=False)
        for k, s in enumerate(SIGNALS):
            if k:
                line.append("  ")
            mark, _meaning = SIGNAL_LEGEND[s]
            line.append(mark, style=self._style("signal"))
            line.append(f" {signal_short(s, shown.stale_days)}", style=muted)
        line.append("\n⏎ show · c chart · tab board · esc close", style=muted)  # keys on a line of their own
        self.query_one("#aging-legend", Static).update(line)

    def _cursor_deal_id(self) -> int | None:
        table = self.query_one(AgingTable)
        if table.row_count == 0:
            return None
        try:
            key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key
        except Exception:  # the cursor is past the rows (nothing to keep)
            return None
        return int(key.value) if key.value is not None else None

    # -- events -------------------------------------------------------------------------------------------

    @on(DataTable.RowSelected, "#aging-table")
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if event.row_key.value is not None:
            self.post_message(self.FocusDeal(int(event.row_key.value)))

    @on(TabbedContent.TabActivated)
    def _tab_changed(self, event: TabbedContent.TabActivated) -> None:
        event.stop()
        if self.shown is not None:
            self._paint_legend(self.shown)

    def action_toggle_chart(self) -> None:
        tabs = self.query_one(TabbedContent)
        tabs.active = "aging-list" if tabs.active == "aging-chart-pane" else "aging-chart-pane"
        if tabs.active == "aging-list":
            self.focus_table()
        else:
            self.query_one(AgingChart).focus()  # keep the focus (and these keys) inside the panel


def _page_job(db: Database, pipeline_id: int, *, limit: int, offset: int, with_days: bool) -> PanelPage:
    from tuikanban.services.aging import panel_page

    return panel_page(db, pipeline_id, limit=limit, offset=offset, with_days=with_days)


def _post_page(read: Any, *, offset: int, seq: int) -> PageRead:
    """The reads-lane job: the page read, as the message the panel handles."""
    return PageRead(read(), offset, seq)
