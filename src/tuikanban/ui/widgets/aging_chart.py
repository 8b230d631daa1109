"""The aging chart, in the spirit of ActionableAgile's aging work-in-progress chart, drawn with text.

One column per stage; every open deal is a dot placed by its days in stage (up = older). Each column is shaded
in bands against that stage's baseline: below the baseline, baseline to 1.5 x, 1.5 x to 2 x (aging) and 2 x and
more (stalled); the band edges are also drawn as lines, so the chart reads without colour too. Several deals in
one cell show as several dots, or as their count when they do not fit. Deals older than the top of the scale
are pinned to the top row with an arrow.

`build_chart()` is a pure function of the data, the size and the styles (tested without an app);
`AgingChart` is the Textual widget that feeds it its size and theme styles.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from rich.style import Style
from rich.text import Text
from textual.app import RenderResult
from textual.widget import Widget

from tuikanban.domain.aging import (
    AGING_FACTOR,
    STALLED_FACTOR,
    AgingItem,
    Level,
    StageAging,
    format_days,
    level,
)
from tuikanban.domain.text import display

AXIS_WIDTH = 7  # "37.5d ┤"
MIN_COLUMN = 4
DOT = "●"
OVER = "▲"

# band names, bottom to top
BANDS = ("ok", "watch", "aging", "stalled")
EDGE_CHARS = {1.0: "┈", AGING_FACTOR: "╌", STALLED_FACTOR: "─"}


@dataclass(frozen=True)
class ChartStyles:
    """Rich styles for the parts of the chart (the widget fills them from its component classes)."""

    bands: dict[str, Style] = field(default_factory=lambda: {
        "ok": Style(), "watch": Style(bgcolor="grey15"), "aging": Style(bgcolor="#4a3a10"),
        "stalled": Style(bgcolor="#4a1a1a"),
    })
    dots: dict[str, Style] = field(default_factory=lambda: {
        "ok": Style(bold=True), "aging": Style(color="#e0a030", bold=True),
        "stalled": Style(color="#e05050", bold=True),
    })
    edge: Style = field(default_factory=lambda: Style(dim=True))
    axis: Style = field(default_factory=lambda: Style(dim=True))
    label: Style = field(default_factory=lambda: Style(bold=True))


def nice_ceiling(value: float) -> float:
    """The next 'round' number at or above value: 1, 2, 2.5, 5 x a power of ten (14 -> 20, 33 -> 50)."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * power + 1e-9:
            return step * power
    return 10 * power


# stage id -> the days in stage of its open deals, ascending: all the chart needs of the deals
StageDays = Mapping[int, Sequence[float]]


def days_by_stage(items: Iterable[AgingItem]) -> dict[int, list[float]]:
    """The chart's input from aging items (a small pipeline's panel holds every item)."""
    out: dict[int, list[float]] = {}
    for item in items:
        out.setdefault(item.stage_id, []).append(item.days_in_stage)
    for days in out.values():
        days.sort()
    return out


def scale_top(stages: Sequence[StageAging], days: StageDays) -> float:
    """The age at the top of the chart: room for every stage's stalled band, and for most deals.

    Outliers beyond 4 x the largest baseline do not squash the chart: they are pinned to the top row.
    """
    largest = max((s.baseline.baseline_days for s in stages), default=7.0)
    oldest = max((d[-1] for d in days.values() if d), default=0.0)
    top = max(STALLED_FACTOR * largest * 1.25, min(oldest, 4 * largest))
    return nice_ceiling(top)


def _band(age: float, baseline: float) -> str:
    ratio = age / baseline if baseline > 0 else math.inf
    if ratio >= STALLED_FACTOR:
        return "stalled"
    if ratio >= AGING_FACTOR:
        return "aging"
    if ratio >= 1.0:
        return "watch"
    return "ok"


def _cell_text(count: int, width: int) -> str:
    if count <= 0:
        return ""
    if count <= width:
        return DOT * count
    text = str(count)
    return text if len(text) <= width else "+"


def build_chart(
    stages: Sequence[StageAging],
    days: StageDays,
    width: int,
    height: int,
    styles: ChartStyles | None = None,
) -> list[Text]:
    """The chart as lines of Text, exactly `height` lines of at most `width` cells."""
    st = styles or ChartStyles()
    if width < AXIS_WIDTH + MIN_COLUMN or height < 4:
        return [Text("Too small for the chart.", style=st.axis)][:max(height, 0)]
    if not stages:
        return [Text("This pipeline has no stages.", style=st.axis)]
    plot_rows = height - 2  # two rows for the stage names and baselines
    col_w = max(MIN_COLUMN, (width - AXIS_WIDTH) // len(stages))
    visible = stages[: max(1, (width - AXIS_WIDTH) // col_w)]
    top = scale_top(visible, days)
    step = top / plot_rows

    def row_of(age: float) -> int:
        return min(int(age / step), plot_rows - 1) if age >= 0 else 0

    # counts[stage index][row] -> (number of deals, worst level, any beyond the top). Each stage's days are
    # ascending and a row's range of days is contiguous, so each row is two binary searches, whatever the number
    # of deals (100,000 at a big pipeline), and its worst level is that of its oldest deal.
    counts: list[dict[int, list[int]]] = [{} for _ in visible]
    rank = {Level.OK: 0, Level.AGING: 1, Level.STALLED: 2}
    for k, stage in enumerate(visible):
        ages = days.get(stage.id) or ()
        start = 0
        while start < len(ages):
            r = row_of(ages[start])
            end = bisect_right(ages, r, lo=start, key=row_of)
            oldest = ages[end - 1]
            counts[k][r] = [end - start, rank[level(oldest, stage.baseline.baseline_days)], int(oldest > top)]
            start = end
    level_names = ("ok", "aging", "stalled")

    lines: list[Text] = []
    # axis labels at 0, a quarter, half, three quarters and the top of the scale (where rows allow)
    label_rows: dict[int, float] = {}
    for frac in (0.0, 0.25, 0.5, 0.75):
        label_rows.setdefault(row_of(top * frac), top * frac)
    label_rows[plot_rows - 1] = top
    for r in range(plot_rows - 1, -1, -1):
        line = Text(no_wrap=True, overflow="crop")
        if r in label_rows:
            line.append(f"{format_days(label_rows[r]) + 'd':>5} ┤"[-AXIS_WIDTH:], style=st.axis)
        else:
            line.append(" " * (AXIS_WIDTH - 1) + "│", style=st.axis)
        mid = (r + 0.5) * step
        for k, stage in enumerate(visible):
            base = stage.baseline.baseline_days
            band_style = st.bands[_band(mid, base)]
            inner = col_w - 1
            # a band edge falls in this row: draw it as a line
            edge = ""
            for factor, ch in EDGE_CHARS.items():
                v = factor * base
                if v < top and row_of(v) == r:
                    edge = ch
            n, worst, over = counts[k].get(r, (0, 0, 0))
            dots = _cell_text(n, inner - (1 if over else 0))
            if over and n:
                dots = OVER + dots
            if dots:
                pad_l = (inner - len(dots)) // 2
                pad_r = inner - len(dots) - pad_l
                fill = edge or " "
                line.append(fill * pad_l, style=band_style + st.edge if edge else band_style)
                line.append(dots, style=band_style + st.dots[level_names[worst]])
                line.append(fill * pad_r, style=band_style + st.edge if edge else band_style)
            else:
                line.append((edge or " ") * inner, style=band_style + st.edge if edge else band_style)
            line.append(" ")
        lines.append(line)
    names = Text(" " * AXIS_WIDTH, no_wrap=True, overflow="crop")
    bases = Text(" " * AXIS_WIDTH, no_wrap=True, overflow="crop")
    for k, stage in enumerate(visible):
        inner = col_w - 1
        name = display(stage.name)
        name = name if len(name) <= inner else name[: max(inner - 1, 1)] + "…"
        names.append(name.center(inner)[:inner] + " ", style=st.label)
        n_here = sum(c[0] for c in counts[k].values())
        base_text = f"{n_here}·{format_days(stage.baseline.baseline_days)}d"
        if len(base_text) > inner:
            base_text = f"{format_days(stage.baseline.baseline_days)}d"
        bases.append(base_text.center(inner)[:inner] + " ", style=st.axis)
    lines.append(names)
    lines.append(bases)
    if len(visible) < len(stages):
        lines[0].append(f" +{len(stages) - len(visible)} stages", style=st.axis)
    return lines


def legend(styles: ChartStyles | None = None) -> Text:
    """What the lines, shades and marks mean."""
    st = styles or ChartStyles()
    out = Text()
    parts = (
        (EDGE_CHARS[1.0] * 2, st.bands["watch"] + st.edge, " baseline  "),
        (EDGE_CHARS[AGING_FACTOR] * 2, st.bands["aging"] + st.edge, " 1.5x aging  "),
        (EDGE_CHARS[STALLED_FACTOR] * 2, st.bands["stalled"] + st.edge, " 2x stalled\n"),
        (DOT, st.dots["ok"], " a deal, 12 = twelve  "),
        (OVER, st.dots["stalled"], " beyond the scale\n"),
        ("9·7d", st.axis, " under a stage: its open deals · its baseline"),
    )
    for mark, style, words in parts:
        out.append(mark, style=style)
        out.append(words, style=st.axis)
    return out


class AgingChart(Widget, can_focus=True):
    """Textual widget: the aging chart of the stages and deals given to `set_data`, sized to the widget.

    Focusable only so that the keyboard stays in the aging panel while the chart is shown.
    """

    COMPONENT_CLASSES = {
        "aging-chart--band-ok", "aging-chart--band-watch", "aging-chart--band-aging", "aging-chart--band-stalled",
        "aging-chart--dot-ok", "aging-chart--dot-aging", "aging-chart--dot-stalled", "aging-chart--edge",
        "aging-chart--axis", "aging-chart--label",
    }
    DEFAULT_CSS = """
    AgingChart {
        height: 1fr;
        min-height: 8;
    }
    AgingChart:focus { background-tint: $foreground 3%; }
    AgingChart > .aging-chart--band-ok { text-style: none; }
    AgingChart > .aging-chart--band-watch { background: $foreground 7%; }
    AgingChart > .aging-chart--band-aging { background: $tk-aging 22%; }
    AgingChart > .aging-chart--band-stalled { background: $tk-stalled 22%; }
    AgingChart > .aging-chart--dot-ok { color: $foreground; text-style: bold; }
    AgingChart > .aging-chart--dot-aging { color: $tk-aging; text-style: bold; }
    AgingChart > .aging-chart--dot-stalled { color: $tk-stalled; text-style: bold; }
    AgingChart > .aging-chart--edge { color: $foreground-muted; }
    AgingChart > .aging-chart--axis { color: $foreground-muted; }
    AgingChart > .aging-chart--label { text-style: bold; }
    """

    def __init__(self, *, name: str | None = None, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._stages: list[StageAging] = []
        self._days: StageDays = {}

    def set_data(self, stages: Sequence[StageAging], days: StageDays) -> None:
        """The stages and each stage's ascending days in stage (`days_by_stage`, or a big pipeline's read)."""
        self._stages = list(stages)
        self._days = days
        self.refresh()

    def chart_styles(self) -> ChartStyles:
        def get(name: str, *, partial: bool = True) -> Style:
            return self.get_component_rich_style(f"aging-chart--{name}", partial=partial)

        # Bands are whole styles (a translucent background is blended with the widget's); the rest are partial,
        # so that a dot or an edge keeps the band's background underneath it.
        return ChartStyles(
            bands={b: get(f"band-{b}", partial=False) for b in BANDS},
            dots={lv: get(f"dot-{lv}") for lv in ("ok", "aging", "stalled")},
            edge=get("edge"), axis=get("axis"), label=get("label"),
        )

    def render(self) -> RenderResult:
        size = self.content_size
        styles = self.chart_styles()
        if not self._stages:
            return Text("No data yet.", style=styles.axis)
        lines = build_chart(self._stages, self._days, size.width, size.height, styles)
        return Text("\n", no_wrap=True, overflow="crop").join(lines)
