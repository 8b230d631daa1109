"""The board's top line: pipeline, totals, the filter indicator, who you are and which database is open."""

from __future__ import annotations

from pathlib import Path

from rich.cells import cell_len
from rich.text import Text
from textual.widget import Widget

from tuikanban.domain.money import format_money
from tuikanban.domain.targets import Target
from tuikanban.domain.text import display


def short_path(path: Path | Target | None) -> str:
    """A file under the home folder as ~/...; a PostgreSQL target by its display form (never a password)."""
    if path is None:
        return ""
    text = str(path)
    home = str(Path.home())
    if home not in ("", "/") and text.startswith(home + "/"):
        text = "~" + text[len(home):]
    return text


class BoardHeader(Widget):
    """One line. Attributes set by the screen, then `update()`."""

    COMPONENT_CLASSES = {
        "header--app", "header--pipeline", "header--totals", "header--filter", "header--readonly",
        "header--who", "header--busy", "header--here",
    }

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.pipeline = ""
        self.open_deals = 0
        self.open_value = 0
        self.currency = "USD"
        self.shown: int | None = None  # cards shown under the filter (None: no filter)
        self.filter_text = ""
        self.user = ""
        self.db_path: Path | Target | None = None
        self.readonly = False
        self.offline = False  # the live feed lost the database server: what shows is what was last read
        self.lanes = ""
        self.other_currencies = ""  # "2 deals in EUR not included": their values are not in the total
        self.busy = ""
        self.marked = 0  # cards marked for a bulk action (ui/board/marks.py)
        self.sort = "rank"  # the order within columns (ui/board/sorting.py)
        self.here = ""  # the other reps on the board now ("bob, carol here"; ui.presence.here_line)

    def update(self, **fields: object) -> None:
        """Set fields; repaint only when one of them changed (a heartbeat or a re-read that found the same totals
        writes nothing to the terminal)."""
        changed = False
        for key, value in fields.items():
            if getattr(self, key) != value:
                setattr(self, key, value)
                changed = True
        if changed:
            self.refresh()

    def render(self) -> Text:
        style = self.get_component_rich_style
        left = Text(no_wrap=True, overflow="ellipsis")
        left.append(" tuikanban ", style("header--app"))
        if self.pipeline:
            left.append(" ")
            left.append(display(self.pipeline), style("header--pipeline"))
            totals = f"  {self.open_deals:,} open · {format_money(self.open_value, self.currency, compact=True)}"
            left.append(totals, style("header--totals"))
            if self.other_currencies:
                left.append(f" ({self.other_currencies})", style("header--totals"))
            if self.lanes:
                left.append(f" · {self.lanes}", style("header--totals"))
            if self.sort and self.sort != "rank":
                left.append(f" · sorted by {self.sort}", style("header--totals"))
        if self.filter_text:
            left.append("  ")
            shown = f" ({self.shown} shown)" if self.shown is not None else ""
            left.append(f" filter: {display(self.filter_text)}{shown} ", style("header--filter"))
        if self.marked:
            left.append("  ")
            left.append(f" {self.marked} marked · esc clears ", style("header--filter"))
        if self.busy:
            left.append(f"  {self.busy}", style("header--busy"))
        right = Text(no_wrap=True)
        if self.offline:
            right.append(" offline ", style("header--readonly"))
            right.append(" ")
        if self.readonly:
            right.append(" read-only ", style("header--readonly"))
            right.append(" ")
        if self.here:
            right.append(f"{self.here}  ", style("header--here"))
        right.append(f"{display(self.user)} · {display(short_path(self.db_path))} ", style("header--who"))
        width = self.size.width
        room = width - cell_len(left.plain) - cell_len(right.plain)
        if room < 1:
            # the path gives way first
            right = Text(no_wrap=True)
            if self.offline:
                right.append(" offline ", style("header--readonly"))
            if self.readonly:
                right.append(" read-only ", style("header--readonly"))
            if self.here:
                right.append(f" {self.here} ", style("header--here"))
            right.append(f" {display(self.user)} ", style("header--who"))
            room = width - cell_len(left.plain) - cell_len(right.plain)
        if room < 1:
            left.truncate(max(0, width - cell_len(right.plain) - 1), overflow="ellipsis")
            room = 1
        return Text.assemble(left, " " * room, right, no_wrap=True)
