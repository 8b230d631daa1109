"""Text charts for the metrics screen, drawn from plain data (`services.flow.FlowReport`, the `open_forecast`
document): the cumulative flow diagram, the cycle-time scatter with its percentile lines, the weekly throughput,
the learned stage probabilities, the open-deal forecast and its backtest. Pure functions of the data and a size, so
they are tested without a terminal; `Chart` redraws its function at its current size."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from rich.console import RenderableType
from rich.table import Table
from rich.text import Text
from textual.widget import Widget

from tuikanban.domain.metrics import PERCENTILES
from tuikanban.domain.text import display

if TYPE_CHECKING:
    from tuikanban.services.flow import FlowReport

STAGE_COLOURS = ("cyan", "magenta", "yellow", "green", "blue", "red", "bright_cyan", "bright_magenta")
LINE_STYLES = {50: "green", 85: "yellow", 95: "red"}


def cfd(r: FlowReport, width: int, height: int) -> Text:
    """Stacked columns (one per weekly point, the first stage at the bottom), then the legend."""
    out = Text(no_wrap=True, overflow="ellipsis")
    if not r.cfd or not r.stages:
        return out.append("No stages.", style="dim")
    rows = max(1, height - 2)
    top = max((sum(p.counts) for p in r.cfd), default=0)
    col_w = max(1, min(4, (width - 6) // max(1, len(r.cfd))))
    grid: list[list[tuple[str, str]]] = []
    for p in r.cfd:
        cells: list[tuple[str, str]] = []
        acc = 0
        for i, n in enumerate(p.counts):
            acc += n
            upto = round(Fraction(acc * rows, top)) if top else 0
            cells += [("█", STAGE_COLOURS[i % len(STAGE_COLOURS)])] * (upto - len(cells))
        grid.append(cells + [(" ", "")] * (rows - len(cells)))
    for y in range(rows - 1, -1, -1):
        label = f"{top:>4} " if y == rows - 1 else "     "
        out.append(label, style="dim")
        for cells in grid:
            ch, style = cells[y]
            out.append(ch * col_w, style=style)
        out.append("\n")
    out.append(f"{r.cfd[0].at:%m-%d}".ljust(5 + col_w * len(r.cfd) - 5) + f"{r.cfd[-1].at:%m-%d}", style="dim")
    out.append("\n")
    for i, name in enumerate(r.stages):
        out.append("█ ", style=STAGE_COLOURS[i % len(STAGE_COLOURS)])
        out.append(display(name, max_length=20) + "  ")
    return out


def _days(d: Fraction | None) -> str:
    return "n/a" if d is None else f"{float(d):.1f}d"


def scatter(r: FlowReport, width: int, height: int) -> Text:
    """Won deals by win date (x) and cycle days (y), with the 50/85/95 % lines."""
    out = Text(no_wrap=True, overflow="ellipsis")
    if not r.cycle:
        return out.append(f"No deal won in the last {r.window_days} days.", style="dim")
    rows, cols = max(2, height - 2), max(10, width - 6)
    top = max(d.days for d in r.cycle) or Fraction(1)
    span = r.window_days * 86400
    grid = [[(" ", "")] * cols for _ in range(rows)]

    def row_of(days: Fraction) -> int:
        return min(rows - 1, int(days * (rows - 1) / top))

    for q in PERCENTILES:
        v = r.percentiles.get(q)
        if v is not None:
            grid[row_of(v)] = [("─", LINE_STYLES[q])] * cols
    for d in r.cycle:
        age = (d.won_at - (r.now - timedelta(days=r.window_days))).total_seconds()
        x = min(cols - 1, max(0, int(age * (cols - 1) / span)))
        grid[row_of(d.days)][x] = ("●", "bold")
    for y in range(rows - 1, -1, -1):
        out.append(f"{float(top):>4.0f} " if y == rows - 1 else ("   0 " if y == 0 else "     "), style="dim")
        for ch, style in grid[y]:
            out.append(ch, style=style)
        out.append("\n")
    out.append(f"{len(r.cycle)} won  ")
    for q in PERCENTILES:
        out.append(f"─ {q}% {_days(r.percentiles.get(q))}  ", style=LINE_STYLES[q])
    return out


def throughput(r: FlowReport, width: int, height: int) -> Text:
    """Deals won per week: one bar per week, the newest last."""
    out = Text(no_wrap=True, overflow="ellipsis")
    weeks = r.throughput[-max(1, height):]
    top = max((w.won for w in weeks), default=0)
    bar_w = max(1, width - 12)
    for i, w in enumerate(weeks):
        if i:
            out.append("\n")
        out.append(f"{w.end:%m-%d} ", style="dim")
        out.append(f"{w.won:>3} ")
        out.append("█" * (round(w.won * bar_w / top) if top else 0), style="green")
    return out


def _table(*columns: str) -> Table:
    t = Table(box=None, pad_edge=False, show_edge=False, header_style="dim", expand=True)
    for i, c in enumerate(columns):
        t.add_column(c, justify="left" if i == 0 else "right", no_wrap=True, overflow="ellipsis")
    return t


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{x * 100:.0f}%"


def learned(doc: dict[str, Any]) -> RenderableType:
    t = _table("Stage", "Configured", "Learned", "Won/left")
    for st in doc["stage_win_probabilities"]:
        t.add_row(Text(display(st["stage"], max_length=24)), _pct(st["configured"]), _pct(st["learned"]),
                  f"{st['won']}/{st['resolved']}")
    return t


def _money(value: Any, currency: str) -> str:
    from tuikanban.domain.money import format_money, parse_money

    return format_money(parse_money(str(value), currency) if value is not None else None, currency, compact=True)


def forecast(doc: dict[str, Any], currency: str) -> RenderableType:
    t = _table("Next", "Deals", "Expected", "Range (levels)")
    methods = doc["open_forecast"]["methods"]
    method = "learned" if "learned" in methods else next(iter(methods))
    for h in methods[method]:
        levels = [lv["value"] for lv in h["levels"]]
        rng = f"{_money(min(levels), currency)}–{_money(max(levels), currency)}" if levels else "n/a"
        t.add_row(f"{h['days']} days", str(h["deals"]), _money(h["expected"], currency), rng)
    return t


def backtest(doc: dict[str, Any], currency: str) -> RenderableType:
    bt = doc["forecast_backtest"]
    if bt is None:
        return Text("The backtest was not computed.", style="dim")
    t = _table("At", "Throughput", "Configured", "Learned", "Actual")
    for p in bt["points"]:
        t.add_row(p["at"][:10], _money(p["throughput"], currency), _money(p["configured"], currency),
                  _money(p["learned"], currency), _money(p["actual"], currency))
    mae = bt["mean_abs_error"]
    t.add_row(Text("mean error", style="bold"), *(_money(mae[k], currency) for k in ("throughput", "configured",
                                                                                    "learned")), "")
    return t


class Chart(Widget):
    """Shows what was drawn for it (`show_drawn`: off the UI thread, for a size, or for any size), or draws
    `draw(width, height)` at its current content size (`show`); "computing…" until either."""

    DEFAULT_CSS = "Chart { height: 100%; }"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.draw: Callable[[int, int], RenderableType] | None = None
        self.drawn: RenderableType | None = None
        self.drawn_size: tuple[int, int] | None = None  # the content size `drawn` was drawn for (None: any)

    def show(self, draw: Callable[[int, int], RenderableType] | None) -> None:
        self.draw, self.drawn, self.drawn_size = draw, None, None
        self.refresh()

    def show_drawn(self, drawn: RenderableType, size: tuple[int, int] | None) -> None:
        self.draw, self.drawn, self.drawn_size = None, drawn, size
        self.refresh()

    def render(self) -> RenderableType:
        if self.drawn is not None:
            return self.drawn
        if self.draw is None:
            return Text("computing…", style="dim italic")
        return self.draw(self.content_size.width, self.content_size.height)


__all__ = ["Chart", "backtest", "cfd", "forecast", "learned", "scatter", "throughput"]
