"""The aging panel: docked beside the board (toggled with `a`), it lists every open deal that is aging, stalled
or carries a risk signal, most severe first, and offers the aging chart on a second tab.

The board drives it with `panel.show_snapshot(snapshot, deal_filter)`: the board's own aging read (the one its
card badges come from, read off the UI thread after every reload and write), filtered here by the board's filter,
so the panel follows the filter at once and the board's data live. The panel never reads by itself: it shows what
it is handed. Enter on a row posts `AgingPanel.FocusDeal(deal_id)`, which the board handles by focusing that card.

Only the MAX_ROWS most severe deals are listed (the title counts them all): a pipeline with thousands of old deals
would otherwise cost the UI thread a second per update for rows nobody scrolls to; the filter narrows the list.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rich.style import Style
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import DataTable, Static, TabbedContent, TabPane, Tabs

from tuikanban.domain.aging import (
    SIGNAL_LEGEND,
    SIGNALS,
    AgingItem,
    AgingSnapshot,
    Level,
    format_days,
    signal_marks,
    signal_short,
)
from tuikanban.domain.filters import DealFilter
from tuikanban.domain.text import display
from tuikanban.ui.widgets.aging_chart import AgingChart, legend

COLUMNS = (("Title", "title"), ("Stage", "stage"), ("Days", "days"), ("Base", "base"), ("Level", "level"),
           ("Risk", "signals"), ("Owner", "owner"))
# Widths of the columns after the title (stage, days, base, level, signals, owner) plus the cell padding.
FIXED_COLUMNS = 12 + 5 + 4 + 7 + 4 + 10 + 2 * len(COLUMNS)
MAX_ROWS = 200  # the most severe deals listed; the rest are counted in the title


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
        self.error: str | None = None
        self.autofocus = autofocus
        self._pending: tuple[AgingSnapshot, DealFilter | None] | None = None
        self._last_title_width = 0

    # -- composition ------------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Static(Text("Aging", style="bold"), id="aging-title")
        with TabbedContent(initial="aging-list"):
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
        self.query_one("#aging-empty", Static).display = False
        # tab goes between the board and this list, not through the tab strip (c switches list and chart)
        self.query_one(Tabs).can_focus = False
        self.app.theme_changed_signal.subscribe(self, self._on_theme_changed)
        if self._pending is not None:
            self._show_pending()
        else:
            self._paint_waiting()
        if self.autofocus:
            self.focus_table()

    # -- API for the board --------------------------------------------------------------------------------

    def show_snapshot(self, snap: AgingSnapshot, deal_filter: DealFilter | None = None) -> None:
        """Show the board's aging read (every open deal of its pipeline) under the board's filter, right away."""
        self.deal_filter = deal_filter
        self._pending = (snap, deal_filter)
        if self.is_mounted:  # (else on_mount shows it)
            self._show_pending()

    def _show_pending(self) -> None:
        assert self._pending is not None
        snap, deal_filter = self._pending
        self._pending = None
        self._show(filtered_snapshot(snap, deal_filter))

    def show_waiting(self) -> None:
        """The board is reading the aging (the panel was opened before the first read, or the pipeline changed)."""
        self._pending = None
        if self.is_mounted:
            self._paint_waiting()

    def _paint_waiting(self) -> None:
        self.snapshot = None
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
        self._render_snapshot()

    def _on_theme_changed(self, _theme: object) -> None:
        if self.snapshot is not None:
            self._render_snapshot()

    # -- painting -----------------------------------------------------------------------------------------

    def _style(self, name: str) -> Style:
        return self.get_component_rich_style(f"aging-panel--{name}", partial=True)

    def _render_snapshot(self) -> None:
        snap = self.snapshot
        if snap is None:
            return
        flagged = snap.flagged
        self._paint_title(snap, flagged)
        table = self.query_one(AgingTable)
        keep = self._cursor_deal_id()
        keep_row = table.cursor_row
        table.clear()
        level_styles = {Level.OK: Style(), Level.AGING: self._style("aging"), Level.STALLED: self._style("stalled")}
        signal_style = self._style("signal")
        title_width = self._last_title_width = self._title_width()
        for item in flagged[:MAX_ROWS]:
            table.add_row(*self._cells(item, level_styles, signal_style, title_width), key=str(item.id))
        empty = self.query_one("#aging-empty", Static)
        if not flagged:
            where = " matching the filter" if snap and self.deal_filter and self.deal_filter.active else ""
            empty.update(Text(f"Nothing needs attention: {len(snap.items)} open deal"
                              f"{'s' if len(snap.items) != 1 else ''}{where}, none aging, stalled or at risk."))
        empty.display = not flagged
        table.display = bool(flagged)
        if keep is not None and str(keep) in table.rows:
            table.move_cursor(row=table.get_row_index(str(keep)), animate=False)
        elif table.row_count:  # the deal under the cursor left the list: stay on the same line
            table.move_cursor(row=min(keep_row, table.row_count - 1), animate=False)
        if table.ahead and table.row_count:  # keys typed before the list was there
            table.move_cursor(row=max(0, min(table.cursor_row + table.ahead, table.row_count - 1)), animate=False)
        table.ahead = 0
        self.query_one(AgingChart).set_data(snap.stages, snap.items)
        self._paint_legend(snap)

    def _title_width(self) -> int:
        """The title column takes what the panel has left (between 12 and 32 cells)."""
        width = self.query_one(AgingTable).size.width or self.size.width
        return max(12, min(32, width - FIXED_COLUMNS - 4))

    def on_resize(self) -> None:
        if self.snapshot is not None and self._title_width() != self._last_title_width:
            self._render_snapshot()

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

    def _paint_title(self, snap: AgingSnapshot, flagged: list[AgingItem]) -> None:
        stalled = sum(1 for i in flagged if i.level is Level.STALLED)
        aging = sum(1 for i in flagged if i.level is Level.AGING)
        at_risk = sum(1 for i in flagged if i.level is Level.OK)
        title = Text("Aging ", style="bold")
        title.append(Text(display(snap.pipeline_name)))
        title.append("  ")
        title.append(f"{stalled} stalled", style=self._style("stalled") if stalled else self._style("muted"))
        title.append(" · ", style=self._style("muted"))
        title.append(f"{aging} aging", style=self._style("aging") if aging else self._style("muted"))
        title.append(f" · {at_risk} at risk · {len(snap.items)} open", style=self._style("muted"))
        if len(flagged) > MAX_ROWS:
            title.append(f"\nthe {MAX_ROWS} most severe of {len(flagged)} listed; / narrows the list",
                         style=self._style("muted"))
        if self.deal_filter is not None and self.deal_filter.active:
            title.append("\nfilter: ", style=self._style("muted"))
            title.append(Text(display(self.deal_filter.describe())))
        self.query_one("#aging-title", Static).update(title)

    def _paint_legend(self, snap: AgingSnapshot) -> None:
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
            line.append(f" {signal_short(s, snap.stale_days)}", style=muted)
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
        if self.snapshot is not None:
            self._paint_legend(self.snapshot)

    def action_toggle_chart(self) -> None:
        tabs = self.query_one(TabbedContent)
        tabs.active = "aging-list" if tabs.active == "aging-chart-pane" else "aging-chart-pane"
        if tabs.active == "aging-list":
            self.focus_table()
        else:
            self.query_one(AgingChart).focus()  # keep the focus (and these keys) inside the panel
