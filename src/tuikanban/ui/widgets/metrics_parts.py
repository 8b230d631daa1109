"""The pieces of the metrics screen: tiles that show the longest form of a figure that fits, panels that refit
their content, the funnel and the weekly won trend. User text is always a `Text`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from rich.cells import cell_len
from rich.console import RenderableType
from rich.text import Text
from textual.widget import Widget
from textual.widgets import Static

from tuikanban.domain import metrics as fm
from tuikanban.domain.money import format_money
from tuikanban.domain.text import display

if TYPE_CHECKING:
    from tuikanban.services.metrics_report import MetricsReport


def literal(value: str | None, max_length: int | None = None, style: str = "") -> Text:
    """User text, literally (no markup, no control sequences)."""
    return Text(display(value, max_length=max_length), style=style)


Figure = str | Text

COMPUTING = "computing…"  # what a panel says until its figures arrive


def computing(sentence: str = COMPUTING) -> Text:
    """A panel's placeholder while its figures are computed (or the sentence that takes its place)."""
    return Text(sentence, style="dim italic")


class Tile(Static):
    """One figure: the value on top, what it is based on below, the name in the border.

    `show` takes the figure in one or more forms, longest first (`["$149,162.50", "$149.2k"]`); the tile shows the
    first that fits its width, again whenever it is resized, so a number is never cut or wrapped.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._values: tuple[Figure, ...] = ()
        self._notes: tuple[Figure, ...] = ()
        self._muted = False

    def show(self, value: Figure | Sequence[Figure], note: Figure | Sequence[Figure], *,
             muted: bool = False) -> None:
        self._values = (value,) if isinstance(value, str | Text) else tuple(value)
        self._notes = (note,) if isinstance(note, str | Text) else tuple(note)
        self._muted = muted
        self._refit()

    def on_resize(self) -> None:
        if self._values:
            self._refit()

    def _refit(self) -> None:
        width = self.content_size.width
        value, note = longest_fitting(self._values, width), longest_fitting(self._notes, width)
        body = Text(no_wrap=True, overflow="ellipsis")
        body.append(value if isinstance(value, Text) else Text(value, style="dim" if self._muted else "bold"))
        body.append("\n")
        body.append(note if isinstance(note, Text) else Text(note, style="dim"))
        self.update(body)


def longest_fitting(forms: Sequence[Figure], width: int) -> Figure:
    """The first form (they come longest first) that fits `width` cells; the shortest when none does, and the
    first before the tile has a width."""
    if not forms:
        return ""
    if width <= 0:
        return forms[0]
    for form in forms:
        if cell_len(form.plain if isinstance(form, Text) else form) <= width:
            return form
    return forms[-1]


class Fitted(Static):
    """A panel whose content depends on its width: `fill` builds it again whenever the panel is resized (the
    first real layout included)."""

    def __init__(self, content: RenderableType = "", **kwargs: Any) -> None:
        super().__init__(content, **kwargs)
        self.fill: Callable[[], RenderableType] | None = None

    def on_resize(self) -> None:
        if self.fill is not None:
            self.update(self.fill())


class Funnel(Widget):
    """Deals through each stage in the window (stays that ended there plus deals still in it), as centred bars
    drawn for the widget's current width."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.report: MetricsReport | None = None
        self.placeholder = COMPUTING  # (shown until the report comes)
        self.bar_style = "bold"

    def render(self) -> RenderableType:
        r = self.report
        if r is None:
            return computing(self.placeholder)
        if not r.stages:
            return Text("no stages", style="dim")
        width = max(10, self.content_size.width)
        name_w = min(16, max(len(display(s.name)) for s in r.stages))
        counts = [s.stays_ended + s.open_deals for s in r.stages]
        top = max(counts) or 1
        num_w = max(len(f"{c:,}") for c in counts)
        bar_w = max(4, width - name_w - num_w - 2)
        out = Text(no_wrap=True, overflow="ellipsis")
        for i, (st, n) in enumerate(zip(r.stages, counts, strict=True)):
            cells = max(1, round(n / top * bar_w)) if n else 0
            pad = (bar_w - cells) // 2
            out.append(fit_text(st.name, name_w))
            out.append(" " + " " * pad)
            out.append("█" * cells, style=self.bar_style)
            out.append(" " * (bar_w - cells - pad))
            out.append(f" {n:>{num_w},}")
            if i < len(r.stages) - 1:
                out.append("\n")
        return out


class Trend(Widget):
    """Won deals and won value per week as two sparklines, as wide as the widget allows."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.report: MetricsReport | None = None
        self.placeholder = COMPUTING  # (shown until the report comes)
        self.spark_style = "bold"

    def render(self) -> RenderableType:
        r = self.report
        if r is None:
            return computing(self.placeholder)
        width = max(12, self.content_size.width)
        money = lambda m: format_money(m, r.currency, compact=True)  # noqa: E731
        weeks = list(r.weekly)
        shown = weeks[-max(4, width - 7):]
        counts = [w.won_deals for w in shown]
        values = [w.won_value_minor for w in shown]
        out = Text(no_wrap=True, overflow="ellipsis")
        if shown:
            head = f"{fm.plural(len(shown), 'week')} from {shown[0].start:%b %d}"
            out.append(head + (", oldest first" if len(head) + 14 <= width else "") + "\n", style="dim")
        out.append("deals  ", style="dim")
        out.append(fm.sparkline(counts), style=self.spark_style)
        out.append("\nvalue  ", style="dim")
        out.append(fm.sparkline(values), style=self.spark_style)
        out.append(f"\n{sum(counts):,} won, {money(sum(values))}", style="bold")
        best = max(shown, key=lambda w: w.won_value_minor, default=None)
        if best is not None and best.won_value_minor:
            line = f"best week {best.start:%b %d}: {best.won_deals:,} won, {money(best.won_value_minor)}"
            if len(line) > width:
                line = f"best {best.start:%b %d}: {money(best.won_value_minor)}"
            out.append("\n" + line, style="dim")
        return out


def fit_text(value: str, width: int) -> Text:
    text = literal(value, width)
    text.truncate(width, overflow="ellipsis", pad=True)
    return text
