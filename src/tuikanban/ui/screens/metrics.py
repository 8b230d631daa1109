"""The metrics screen (`m` on the board): tiles, the stage table with the bottleneck, a funnel, the weekly won
trend, the forecast, lost reasons and the per-owner and per-type breakdowns.

The figures are read by `services.metrics_plain.metrics_in` (plain SQL, no ORM: a key pressed in the first second
does not wait for its import) on the app's reads lane (`tuikanban.ui.jobs`); the flow charts below by their own job
after it (`widgets/metrics_flow.py`). The screen shows its frame at once, every panel saying "computing…" until its
part arrives, and never blocks a key. The board builds one in idle time (`ui/spares.py`), so its key only shows it
and starts the reads. Keys: 1/2/3/4 pick a 30/90/180/365-day window, p cycles pipelines, o shows only your deals, r
recomputes, escape returns to the board, q quits the app (as on the board). User text is always a `Text`.

The seven tiles sit in one row from 112 columns, in rows of four below that and of two under 60 columns; each tile
shows the longest form of its figure that fits its width (`$149,162.50`, else `$149.2k`), so a number is never
cut or wrapped.
"""

from __future__ import annotations

import time
from functools import partial
from typing import TYPE_CHECKING, Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Static

from tuikanban.domain import metrics as fm
from tuikanban.domain.errors import TuikanbanError
from tuikanban.domain.models import PipelineInfo
from tuikanban.domain.money import format_money
from tuikanban.ui.board.footer import BoardFooter
from tuikanban.ui.board.live import BoardChanged, LiveFeed
from tuikanban.ui.jobs import JobFailed, lanes_of
from tuikanban.ui.spares import AheadOfKey, waiting_for_key
from tuikanban.ui.styled_once import StyledOnce
from tuikanban.ui.textual_seam import lay_out, render_ahead
from tuikanban.ui.widgets.metrics_flow import FlowPanels
from tuikanban.ui.widgets.metrics_parts import COMPUTING, Fitted, Funnel, Tile, Trend, computing, literal

if TYPE_CHECKING:
    from tuikanban.services.metrics_report import MetricsReport
    from tuikanban.store.engine import Database
    from tuikanban.store.uow import Unit

FORECAST_SEED = 0  # the same data gives the same forecast on every refresh
RENDER_AHEAD_S = 0.1  # a spare (ui/spares.py) is drawn this long after it mounted: once it has been laid out


class MetricsComputed(Message):
    """The figures of one computation (`generation` tells it from a newer one), or the sentence why not."""

    def __init__(self, generation: int, report: MetricsReport | None, pipelines: list[PipelineInfo],
                 error: str | None, seconds: float) -> None:
        super().__init__()
        self.generation = generation
        self.report = report
        self.pipelines = pipelines
        self.error = error
        self.seconds = seconds


def compute(db: Database, generation: int, pipeline_id: int, window_days: int, owner: str | None) -> MetricsComputed:
    """The metrics job (runs on a lane): every figure of the screen, and the pipelines to cycle through, in one
    snapshot, in plain SQL (`Database.read_plain`: before the board's database is open, on a driver connection of
    its own, so it never waits for the ORM's import)."""
    from tuikanban.services import metrics_plain

    def read(u: Unit) -> tuple[list[PipelineInfo], MetricsReport]:
        return metrics_plain.pipelines(u), metrics_plain.metrics_in(u, pipeline_id, window_days=window_days,
                                                                    owner=owner, seed=FORECAST_SEED)

    started = time.perf_counter()
    report: MetricsReport | None = None
    pipelines: list[PipelineInfo] = []
    error: str | None = None
    try:
        pipelines, report = db.read_plain(read)
    except TuikanbanError as exc:
        error = str(exc)
    return MetricsComputed(generation, report, pipelines, error, time.perf_counter() - started)


# The keys that give way first on a narrow footer: the figures follow the team's commits without `r`.
METRICS_FOOTER_EXTRAS = frozenset({"refresh"})


class MetricsScreen(AheadOfKey, StyledOnce, Screen[None]):
    """Velocity, win rate, coverage, days in stage, the bottleneck and the forecast of one pipeline."""

    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("q", "app.quit", "Quit"),
        Binding("1", "window(30)", "30 days"),
        Binding("2", "window(90)", "90 days"),
        Binding("3", "window(180)", "180 days"),
        Binding("4", "window(365)", "365 days"),
        Binding("p", "next_pipeline", "Pipeline"),
        Binding("o", "mine", "Only mine"),
        Binding("r", "refresh", "Refresh"),
    ]

    # Tiles per row by terminal width (see the CSS): 7 from 112 columns, 4 from 60, else 2.
    HORIZONTAL_BREAKPOINTS = [(0, "-tiles-2"), (60, "-tiles-4"), (112, "-tiles-7")]

    DEFAULT_CSS = """
    MetricsScreen { layout: vertical; }
    MetricsScreen #mx-title { height: 1; padding: 0 1; background: $panel; }
    MetricsScreen #mx-tiles { layout: grid; grid-size: 7; grid-rows: 4; height: 4; }
    MetricsScreen.-tiles-4 #mx-tiles { grid-size: 4; height: 8; }
    MetricsScreen.-tiles-2 #mx-tiles { grid-size: 2; height: 16; }
    MetricsScreen .mx-tile {
        width: 1fr; height: 4; border: round $primary 40%; border-title-color: $text-muted; padding: 0 1;
        text-wrap: nowrap; text-overflow: ellipsis;
    }
    MetricsScreen #mx-body { height: 1fr; }
    MetricsScreen .mx-row { height: 8; }
    MetricsScreen .mx-panel {
        height: 100%; border: round $primary 30%; border-title-color: $text-muted;
        border-subtitle-color: $text-muted; padding: 0 1;
    }
    MetricsScreen #mx-stages { width: 2fr; }
    /* narrower than 112 columns the stage table takes its row (the funnel only repeats its counts) and the two
       breakdowns stack; under 60 columns every row stacks */
    MetricsScreen.-tiles-4 #mx-funnel, MetricsScreen.-tiles-2 #mx-funnel { display: none; }
    MetricsScreen.-tiles-4 #mx-row-breakdowns, MetricsScreen.-tiles-2 .mx-row { layout: vertical; }
    MetricsScreen.-tiles-4 #mx-row-breakdowns .mx-panel, MetricsScreen.-tiles-2 .mx-panel { width: 100%; }
    MetricsScreen #mx-funnel { width: 1fr; }
    MetricsScreen #mx-trend { width: 1fr; }
    MetricsScreen #mx-forecast { width: 1fr; }
    MetricsScreen #mx-lost { width: 1fr; }
    MetricsScreen #mx-owners { width: 1fr; }
    MetricsScreen #mx-types { width: 1fr; }
    MetricsScreen #mx-bottleneck { height: auto; padding: 0 2; margin: 0 0 0 0; color: $warning; }
    MetricsScreen #mx-message { height: auto; padding: 0 2; color: $error; display: none; }
    MetricsScreen #mx-message.-shown { display: block; }
    """

    def __init__(self, db: Database, pipeline_id: int, user: str, *, window_days: int = 90) -> None:
        super().__init__()
        self.db = db
        self.pipeline_id = pipeline_id
        self.user = user
        self.window_days = window_days
        self.owner: str | None = None
        self.report: MetricsReport | None = None
        self.pipelines: list[PipelineInfo] = []
        self._generation = 0
        self._busy = False
        self._seconds = 0.0
        self._stale = False  # someone committed while the figures were being computed
        self._live: LiveFeed | None = None

    # -- layout -------------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Static(id="mx-title")
        with Grid(id="mx-tiles"):
            for key, title in (
                ("open", "Open deals"), ("weighted", "Weighted"), ("win", "Win rate"),
                ("size", "Avg deal"), ("cycle", "Avg cycle"), ("velocity", "Velocity"),
                ("coverage", "Coverage"),
            ):
                tile = Tile(id=f"mx-tile-{key}", classes="mx-tile")
                tile.border_title = title
                tile.show(COMPUTING, "", muted=True)
                yield tile
        yield Static(id="mx-message")
        with VerticalScroll(id="mx-body"):
            with Horizontal(id="mx-row-stages", classes="mx-row"):
                yield self._panel(Static(computing(), id="mx-stages"), "Stages")
                yield self._panel(Funnel(id="mx-funnel"), "Funnel: deals through each stage")
            yield Static(Text("▶ Bottleneck: computing…", style="dim"), id="mx-bottleneck")
            with Horizontal(id="mx-row-trend", classes="mx-row"):
                yield self._panel(Trend(id="mx-trend"), "Won per week")
                yield self._panel(Fitted(computing(), id="mx-forecast"), "Forecast: won in the next 30 days")
                yield self._panel(Fitted(computing(), id="mx-lost"), "Lost reasons")
            with Horizontal(id="mx-row-breakdowns", classes="mx-row"):
                yield self._panel(Static(computing(), id="mx-owners"), "By owner")
                yield self._panel(Static(computing(), id="mx-types"), "By deal type")
            yield FlowPanels(id="mx-flow")
        yield BoardFooter(extras=METRICS_FOOTER_EXTRAS)

    @staticmethod
    def _panel(widget: Widget, title: str) -> Widget:
        widget.add_class("mx-panel")
        widget.border_title = title
        return widget

    def on_mount(self) -> None:
        if self.built_while_closing():
            return
        self._busy = True  # (until the first figures: "computing…" in the title)
        self._set_title()
        self.query_one("#mx-body").focus()
        if self.built_ahead:  # (once laid out, its widgets are drawn in idle time too: the key only shows them)
            self.set_timer(RENDER_AHEAD_S, self._render_ahead)
        self.start_unless_ahead()

    def _render_ahead(self) -> None:
        """(A spare, laid out once:) laid out again, which shows the body's scrollbar (the first layout finds that
        its content is taller than it), and drawn, so that the key only puts the drawn widgets on screen. Its timer
        can fire as the app exits (the spare is built once any screen was shown, and a quit may follow at once)."""
        stack = self.app.screen_stack  # (empty while the app exits: then there is nothing to draw for)
        if waiting_for_key(self) and self.is_running and stack and self not in stack:
            lay_out(self, self.app.size)
            render_ahead(self)

    def start(self) -> None:
        """At the key (a screen built in idle time is taken then): the reads, and the change feed."""
        self.recompute()
        self._live = LiveFeed(self.db.target)  # the board's change feed (data_version, or NOTIFY on a server)
        self._live.listen(self)

    def on_unmount(self) -> None:
        if self._live is not None:
            self._live.stop()

    def on_resize(self) -> None:
        """The tiles refit themselves; rows stack or not and panels refit once the new layout is done."""
        if self.report is not None:
            self.call_after_refresh(self._paint_for_width)

    @on(BoardChanged)
    def _changed(self, message: BoardChanged) -> None:
        """Someone (any process, any host) committed: recompute, keeping the figures on screen meanwhile."""
        if self._live is not None:
            self._live.listen(self)  # and wait for the next commit
        if not message.change.touches(self.pipeline_id):
            return
        if self._busy:
            self._stale = True
        else:
            self.recompute(quiet=True)

    # -- computing ----------------------------------------------------------------------------------

    def recompute(self, *, quiet: bool = False) -> None:
        """Start (or restart) the computation off the UI thread.

        Every panel says "computing…" meanwhile (other figures than the ones asked for are never shown as theirs),
        except for a quiet refresh (someone else's commit), which keeps the current figures on screen and only
        says "computing…" in the title.
        """
        self._generation += 1
        self._busy = True
        self._stale = False
        self._set_title()
        if not (quiet and self.report is not None) and self.report is not None:
            self._placeholders()
        job = partial(compute, self.db, self._generation, self.pipeline_id, self.window_days, self.owner)
        lanes_of(self).reads.submit(self, job, name="metrics")
        self.query_one(FlowPanels).recompute(self.db, self.pipeline_id, self.window_days)  # (after the figures)

    def _placeholders(self, sentence: str = COMPUTING) -> None:
        """`sentence` ("computing…", what compose puts there) in every panel of the upper half."""
        for tile in self.query(Tile).results(Tile):
            tile.show(sentence, "", muted=True)
        for selector in ("#mx-stages", "#mx-owners", "#mx-types"):
            self.query_one(selector, Static).update(computing(sentence))
        for fitted in self.query(Fitted).results(Fitted):
            fitted.fill = None
            fitted.update(computing(sentence))
        for chart in (self.query_one("#mx-funnel", Funnel), self.query_one("#mx-trend", Trend)):
            chart.report, chart.placeholder = None, sentence
            chart.refresh()
        self.query_one("#mx-bottleneck", Static).update(Text(f"▶ Bottleneck: {sentence}", style="dim"))

    @on(JobFailed)
    def _failed(self, message: JobFailed) -> None:
        """An unexpected error: said in place of the figures, as a refusal would be."""
        self.log.error(repr(message.error))
        error = f"The metrics could not be computed: {type(message.error).__name__}: {message.error}"
        self._computed(MetricsComputed(self._generation, None, [], error, 0.0))

    @on(MetricsComputed)
    def _computed(self, message: MetricsComputed) -> None:
        if message.generation != self._generation:
            return  # a newer request is on its way
        self._busy = False
        if message.pipelines:
            self.pipelines = message.pipelines
        note = self.query_one("#mx-message", Static)
        if message.error is not None:
            note.update(Text(message.error))
            note.add_class("-shown")
            if self.owner is not None and self.report is not None and self.report.owner is None:
                self.owner = None  # "only mine" found nothing: back to everyone
            if self.report is not None:
                self._paint()  # the last good figures, again
            else:
                self._placeholders("not computed")
        else:
            note.remove_class("-shown")
            self.report = message.report
            self._seconds = message.seconds
            self._paint()
        self._set_title()
        if self._stale:
            self.recompute(quiet=True)

    # -- actions ------------------------------------------------------------------------------------

    def action_back(self) -> None:
        self.dismiss(None)

    def action_window(self, days: int) -> None:
        if days != self.window_days or self.report is None:
            self.window_days = days
            self.recompute()

    def action_next_pipeline(self) -> None:
        if len(self.pipelines) < 2:
            self.notify("There is only one pipeline.", timeout=2)
            return
        ids = [p.id for p in self.pipelines]
        idx = ids.index(self.pipeline_id) if self.pipeline_id in ids else -1
        self.pipeline_id = ids[(idx + 1) % len(ids)]
        self.owner = None
        self.recompute()

    def action_mine(self) -> None:
        self.owner = None if self.owner is not None else self.user
        self.recompute()

    def action_refresh(self) -> None:
        self.recompute()

    # -- painting -----------------------------------------------------------------------------------

    def _colour(self, name: str, fallback: str) -> str:
        value = getattr(self.app, "theme_variables", {}).get(name, "")
        return value if isinstance(value, str) and value.startswith("#") else fallback

    def _set_title(self) -> None:
        dim = "dim"
        title = Text(no_wrap=True, overflow="ellipsis")
        title.append("Metrics", style="bold")
        name = next((p.name for p in self.pipelines if p.id == self.pipeline_id), None)
        if self.report is not None and self.report.pipeline.id == self.pipeline_id:
            name = self.report.pipeline.name
        title.append("  ·  ", style=dim)
        title.append(literal(name or "…", 40, "bold"))
        ids = [p.id for p in self.pipelines]
        if len(ids) > 1 and self.pipeline_id in ids:
            title.append(f" ({ids.index(self.pipeline_id) + 1} of {len(ids)})", style=dim)
        title.append("  ·  ", style=dim)
        title.append(f"last {fm.plural(self.window_days, 'day')}")
        if self.report is not None:
            title.append(f" to {self.report.now:%Y-%m-%d %H:%M} UTC", style=dim)
        if self.owner is not None:
            title.append("  ·  ", style=dim)
            title.append("owner ")
            title.append(literal(self.owner, 30, "bold"))
        if self.report is not None and self.report.other_currency_deals:
            title.append("  ·  ", style=dim)
            title.append(f"{fm.plural(self.report.other_currency_deals, 'deal')} in other currencies not included",
                         style=f"bold {self._colour('warning', '#E8B64C')}")
        title.append("  ·  ", style=dim)
        if self._busy:
            title.append("computing…", style="italic")
        elif self.report is not None:
            title.append(f"computed in {self._seconds * 1000:,.0f} ms", style=dim)
        self.query_one("#mx-title", Static).update(title)

    def _paint(self) -> None:
        r = self.report
        if r is None:
            return
        success = self._colour("tk-won", self._colour("success", "green"))
        warning = self._colour("warning", "yellow")
        cur = r.currency

        def money(minor: int | None) -> tuple[str, str]:  # the full figure, and $13.7M when that does not fit
            return format_money(minor, cur), format_money(minor, cur, compact=True)

        def tile(key: str) -> Tile:
            return self.query_one(f"#mx-tile-{key}", Tile)

        tile("open").show(f"{r.open_deals:,}", money(r.open_value_minor))
        tile("weighted").show(money(r.weighted_value_minor), "× stage prob.")
        closed = f"{r.won_deals:,}/{r.closed_deals:,} won"
        if r.win_rate is None:
            tile("win").show("n/a", "0 closed", muted=True)
        else:
            tile("win").show(fm.format_percent(r.win_rate), closed)
        if r.avg_deal_size_minor is None:
            tile("size").show("n/a", f"{r.won_with_value:,} won", muted=True)
        else:
            tile("size").show(money(r.avg_deal_size_minor), f"{r.won_with_value:,} won")
        if r.avg_cycle_days is None:
            tile("cycle").show("n/a", "0 won", muted=True)
        else:
            tile("cycle").show((fm.format_duration(r.avg_cycle_days), fm.format_duration(r.avg_cycle_days, short=True)),
                               f"{r.won_deals:,} won")
        if r.velocity_per_day_minor is None:
            tile("velocity").show("n/a", closed if r.closed_deals else "0 closed", muted=True)
        else:
            tile("velocity").show(money(r.velocity_per_day_minor), "per day")
        target = r.pipeline.target_minor
        if r.coverage_ratio is None:
            tile("coverage").show("n/a", "no target set", muted=True)
        else:
            style = f"bold {success}" if r.coverage_ratio >= 3 else ("bold" if r.coverage_ratio >= 1 else
                                                                      f"bold {warning}")
            tile("coverage").show(Text(fm.format_ratio(r.coverage_ratio), style=style),
                                  f"of {format_money(target, cur, compact=True)}")

        self.query_one("#mx-stages", Static).update(self._stage_table(r, warning))
        funnel = self.query_one("#mx-funnel", Funnel)
        funnel.report, funnel.bar_style = r, self._colour("accent", "cyan")
        funnel.refresh()
        b = r.bottleneck
        self.query_one("#mx-bottleneck", Static).update(
            Text.assemble(("▶ Bottleneck: ", f"bold {warning}"), literal(b.reason, style=warning)) if b is not None
            else Text("No stay ended in this window, so there is no bottleneck to name.", style="dim")
        )
        trend = self.query_one("#mx-trend", Trend)
        trend.report, trend.spark_style = r, success
        trend.refresh()
        self.query_one("#mx-owners", Static).update(self._breakdown(r, r.by_owner, "Owner", owners=True))
        self.query_one("#mx-types", Static).update(self._breakdown(r, r.by_type, "Type", owners=False))
        self._paint_for_width()

    def _paint_for_width(self) -> None:
        """What depends on the terminal's width: rows side by side or stacked, and the forecast and lost-reason
        panels (compact money, the bar column)."""
        r = self.report
        if r is None:
            return
        wide, tiny = self.has_class("-tiles-7"), self.has_class("-tiles-2")
        self.query_one("#mx-row-stages").styles.height = max(3, len(r.stages)) + 3
        # Panels side by side share their row's height: the tallest content plus the border. Stacked (the
        # breakdowns under 112 columns, every row under 60), each panel gets its own.
        owner_lines = len(r.by_owner) + 2 if r.by_owner else 1
        type_lines = len(r.by_type) + 1 if r.by_type else 1
        owners, types = self.query_one("#mx-owners"), self.query_one("#mx-types")
        if wide:
            self.query_one("#mx-row-breakdowns").styles.height = max(owner_lines, type_lines) + 2
            owners.styles.height = types.styles.height = "100%"
        else:
            self.query_one("#mx-row-breakdowns").styles.height = owner_lines + type_lines + 4
            owners.styles.height, types.styles.height = owner_lines + 2, type_lines + 2
        trend_row = self.query_one("#mx-row-trend")
        trend_panels = [trend_row.query_one(f"#mx-{key}") for key in ("trend", "forecast", "lost")]
        trend_row.styles.height = 8 * len(trend_panels) if tiny else 8
        for panel in trend_panels:
            panel.styles.height = 8 if tiny else "100%"
        lost_colour = self._colour("tk-lost", self._colour("error", "red"))
        forecast, lost = self.query_one("#mx-forecast", Fitted), self.query_one("#mx-lost", Fitted)
        forecast.fill = lambda: self._forecast(r)
        lost.fill = lambda: self._lost(r, lost_colour)
        forecast.update(forecast.fill())  # now, and again at the widths the next layout gives them
        lost.update(lost.fill())

    @staticmethod
    def _table(*columns: tuple[str, str]) -> Table:
        t = Table(box=None, expand=True, show_edge=False, pad_edge=False, header_style="bold underline",
                  padding=(0, 1), collapse_padding=True)
        for name, justify in columns:
            t.add_column(name, justify=justify, no_wrap=True)  # type: ignore[arg-type]
        return t

    def _stage_table(self, r: MetricsReport, warning: str) -> Table:
        t = self._table(("Stage", "left"), ("Open", "right"), ("Value", "right"), ("Prob", "right"),
                        ("Avg stay", "right"), ("Conversion", "right"), ("Stays", "right"))
        t.columns[0].overflow = "ellipsis"
        bid = r.bottleneck.stage_id if r.bottleneck is not None else None
        na = Text("n/a", style="dim")
        for st in r.stages:
            is_b = st.stage_id == bid
            name = Text("▶ " if is_b else "  ")
            name.append(literal(st.name, 30))
            if st.archived:
                name.append(" (archived)", style="dim")
            t.add_row(
                name, f"{st.open_deals:,}", format_money(st.open_value_minor, r.currency, compact=True),
                f"{st.probability}%",
                fm.format_duration(st.avg_days_in_stage, short=True) if st.avg_days_in_stage is not None else na,
                fm.format_percent(st.conversion_rate) if st.conversion_rate is not None else na,
                f"{st.stays_ended:,}", style=f"bold {warning}" if is_b else None,
            )
        return t

    def _forecast(self, r: MetricsReport) -> RenderableType:
        f = r.forecast
        panel = self.query_one("#mx-forecast")
        width = panel.content_size.width
        subtitle = f"{f.trials:,} trials, {fm.plural(f.history_days, 'day')} of history"
        panel.border_subtitle = subtitle if len(subtitle) + 4 <= width else f"{fm.plural(f.history_days, 'day')}"
        young = f.days_since_first_event
        note: Text | None = None
        if young is not None and young < f.history_days:  # the earlier days are in the sample, without a win
            age = f"pipeline {fm.plural(young, 'day')} old"
            full_note = f"{age}: earlier days count as no win"
            note = Text(full_note if len(full_note) <= width else age, style="dim")
        if not f.levels:
            body = Text.assemble(("n/a", "bold"), "  ", Text(f.reason or "", style="dim"))
            return body if note is None else Group(body, note)
        t = self._table(("Confidence", "left"), ("Deals", "right"), ("Value", "right"))
        # full figures when the longest fits the panel beside the other two columns, else compact ($1.25M)
        full = [format_money(lv.value_minor, r.currency) for lv in f.levels]
        room = width - len("Confidence") - len("Deals") - 2
        compact = max(len(x) for x in full) > room
        for lv, value in zip(f.levels, full, strict=True):
            t.add_row(fm.format_percent(lv.confidence), f"{lv.deals:,}",
                      format_money(lv.value_minor, r.currency, compact=True) if compact else value)
        lead = "at least, with this confidence"
        parts: list[RenderableType] = [Text(lead if len(lead) <= width else "at least", style="dim"), t]
        if note is not None:
            parts.append(note)
        return Group(*parts)

    def _lost(self, r: MetricsReport, colour: str) -> RenderableType:
        if not r.lost_reasons:
            return Text(f"nothing lost in the last {fm.plural(r.window_days, 'day')}", style="dim")
        # bars of 8 cells when the panel has room for them beside the reason and the count, 4, else none
        width = self.query_one("#mx-lost").content_size.width
        bar_w = 8 if width >= 30 else 4 if width >= 24 else 0
        columns = [("Reason", "left"), ("Lost", "right")] + ([("", "left")] if bar_w else [])
        t = self._table(*columns)
        t.columns[0].overflow = "ellipsis"
        t.columns[0].max_width = 24
        top = max(x.count for x in r.lost_reasons)
        # the row holds a header and five lines: the top five, or the top four and the rest
        shown = r.lost_reasons if len(r.lost_reasons) <= 5 else r.lost_reasons[:4]
        for x in shown:
            bar = [Text(fm.bar(x.count, top, bar_w), style=colour)] if bar_w else []
            t.add_row(literal(x.reason, 40), f"{x.count:,}", *bar)
        if len(shown) < len(r.lost_reasons):
            rest = r.lost_reasons[len(shown):]
            t.add_row(Text(f"{len(rest)} other reasons", style="dim"), f"{sum(x.count for x in rest):,}",
                      *([""] if bar_w else []))
        return t

    def _breakdown(self, r: MetricsReport, rows: tuple[Any, ...], title: str, *, owners: bool) -> RenderableType:
        if not rows:
            return Text("no deals", style="dim")
        t = self._table((title, "left"), ("Open", "right"), ("Value", "right"), ("Won", "right"),
                        ("Lost", "right"), ("Win rate", "right"), ("Avg size", "right"))
        t.columns[0].overflow = "ellipsis"
        t.columns[0].max_width = 18
        na = Text("n/a", style="dim")
        for x in rows:
            label = literal(x.key, 30) if x.key else Text("(none)", style="dim")
            t.add_row(label, f"{x.open_deals:,}", format_money(x.open_value_minor, r.currency, compact=True),
                      str(x.won_deals), str(x.lost_deals),
                      fm.format_percent(x.win_rate) if x.win_rate is not None else na,
                      format_money(x.avg_deal_size_minor, r.currency, compact=True)
                      if x.avg_deal_size_minor is not None else na)
        if not owners:
            return t
        rated = [x for x in rows if x.win_rate is not None]
        if len(rated) < 2:
            spread = Text("Win-rate spread needs two reps with closed deals.", style="dim")
        else:
            lo = min(rated, key=lambda x: x.win_rate)
            hi = max(rated, key=lambda x: x.win_rate)
            points = fm.format_percent(hi.win_rate - lo.win_rate).rstrip("%")
            spread = Text.assemble(
                ("Win-rate spread ", "dim"), (f"{points} {'pt' if points == '1' else 'pts'}", "bold"), (": ", "dim"),
                literal(lo.key or "(none)", 16), f" {fm.format_percent(lo.win_rate)}", (" to ", "dim"),
                literal(hi.key or "(none)", 16), f" {fm.format_percent(hi.win_rate)}",
            )
        return Group(t, spread)


__all__ = ["MetricsScreen"]
