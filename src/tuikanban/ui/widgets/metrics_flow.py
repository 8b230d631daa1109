"""The metrics screen's second half: the flow charts (cumulative flow, cycle-time scatter, throughput per week),
then the learned stage probabilities, the open-deal forecast and its backtest. Each part is a job of its own on the
app's reads lane, after the screen's first figures, so the screen shows what it has while they compute.

The charts are read in plain SQL (`services.flow_plain` through `Database.read_plain`: no ORM, so they never wait
for its import) and drawn in the same job at the sizes their panels had when it was asked (`FlowComputed`); the
forecast's panels come after (`ForecastComputed`: the backtest rebuilds the pipeline at 12 past moments through
the ORM). The UI thread only puts the drawn text on screen; a panel whose size changed meanwhile (the first open,
before the screen's layout; a resize) keeps what it has until the charts drawn again at its new size come (a job
too, `redraw`)."""

from __future__ import annotations

import time
from functools import partial
from typing import TYPE_CHECKING, Any

from rich.console import RenderableType
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message

from tuikanban.domain.errors import TuikanbanError
from tuikanban.ui.jobs import JobFailed, lanes_of
from tuikanban.ui.widgets import flow_charts as fc

if TYPE_CHECKING:
    from tuikanban.services.flow_data import FlowReport
    from tuikanban.store.engine import Database
    from tuikanban.store.uow import Unit

FORECAST_SEED = 0  # the same data gives the same forecast on every refresh

Size = tuple[int, int]
CHARTS = ("cfd", "scatter", "throughput")  # drawn to their panel's size
FORECASTS = ("learned", "forecast", "backtest")  # tables: any size


def draw_charts(flow: FlowReport, sizes: dict[str, Size]) -> dict[str, tuple[Size, RenderableType]]:
    """The three charts drawn at `sizes` (a panel not laid out yet, 0 wide, is left out)."""
    draw = {"cfd": fc.cfd, "scatter": fc.scatter, "throughput": fc.throughput}
    return {key: (size, draw[key](flow, *size)) for key, size in sizes.items() if key in draw and size[0] > 0}


class FlowComputed(Message):
    """The flow charts' data and the charts drawn from it (`drawn`: per panel, the size drawn for and the text)."""

    def __init__(self, generation: int, flow: FlowReport | None, drawn: dict[str, tuple[Size, RenderableType]],
                 error: str | None, seconds: float) -> None:
        super().__init__()
        self.generation = generation
        self.flow = flow
        self.drawn = drawn
        self.error = error
        self.seconds = seconds


class ForecastComputed(Message):
    """The forecast document (as `metrics --json` has it) and its three panels drawn."""

    def __init__(self, generation: int, drawn: dict[str, RenderableType], error: str | None) -> None:
        super().__init__()
        self.generation = generation
        self.drawn = drawn
        self.error = error


def compute_flow(db: Database, generation: int, pipeline_id: int, window_days: int, sizes: dict[str, Size]
                 ) -> FlowComputed:
    """The charts' job: their data in plain SQL, then the charts drawn at `sizes`."""
    from tuikanban.services.flow_plain import flow_in

    started = time.perf_counter()

    def read(u: Unit) -> FlowReport:
        return flow_in(u, pipeline_id, window_days=window_days)

    try:
        flow = db.read_plain(read)
    except TuikanbanError as exc:
        return FlowComputed(generation, None, {}, str(exc), time.perf_counter() - started)
    return FlowComputed(generation, flow, draw_charts(flow, sizes), None, time.perf_counter() - started)


def redraw(generation: int, flow: FlowReport, sizes: dict[str, Size]) -> FlowComputed:
    """The charts drawn again at their panels' new sizes (no read)."""
    started = time.perf_counter()
    return FlowComputed(generation, flow, draw_charts(flow, sizes), None, time.perf_counter() - started)


def compute_forecast(db: Database, generation: int, pipeline_id: int, window_days: int) -> ForecastComputed:
    """The forecast's job: learned probabilities, the open-deal forecast and its backtest, drawn."""
    from tuikanban.services.forecast_open import open_forecast
    from tuikanban.services.metrics_plain import pipelines

    try:
        currency = next((p.currency for p in db.read_plain(pipelines) if p.id == pipeline_id), "USD")
        # (the backtest rebuilds the pipeline at 12 past moments: seconds on a large log, here on the reads lane
        # while the screen shows everything else)
        doc = open_forecast(db, pipeline_id, window_days=window_days, seed=FORECAST_SEED, backtest=True)
    except TuikanbanError as exc:
        return ForecastComputed(generation, {}, str(exc))
    drawn = {"learned": fc.learned(doc), "forecast": fc.forecast(doc, currency),
             "backtest": fc.backtest(doc, currency)}
    return ForecastComputed(generation, drawn, None)


PANELS = (
    ("learned", "Stage win probabilities: configured and learned"),
    ("forecast", "Open-deal forecast (learned probabilities)"),
    ("backtest", "Backtest: what each method said, and what was won"),
    ("cfd", "Cumulative flow: open deals per stage, weekly"),
    ("scatter", "Cycle time of won deals (days)"),
    ("throughput", "Throughput: won per week"),
)


class FlowPanels(Vertical):
    """Six panels in three rows; `recompute(...)` starts their jobs, each panel says "computing…" meanwhile."""

    DEFAULT_CSS = """
    FlowPanels { height: auto; }
    FlowPanels .fl-row { height: 14; }
    FlowPanels .fl-row-tall { height: 16; }
    FlowPanels Chart { width: 1fr; border: round $primary 30%; border-title-color: $text-muted; padding: 0 1; }
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._generation = 0
        self._flow: FlowReport | None = None  # the charts' data, for a redraw at a new size
        self._redrawing = False

    def compose(self) -> ComposeResult:
        for i, row in enumerate((PANELS[0:2], PANELS[2:3], PANELS[3:6])):
            with Horizontal(classes="fl-row-tall" if i == 1 else "fl-row"):
                for key, title in row:
                    chart = fc.Chart(id=f"fl-{key}")
                    chart.border_title = title
                    yield chart

    def _chart(self, key: str) -> fc.Chart:
        return self.query_one(f"#fl-{key}", fc.Chart)

    def _sizes(self) -> dict[str, Size]:
        return {key: (c.content_size.width, c.content_size.height) for key in CHARTS for c in [self._chart(key)]}

    def recompute(self, db: Database, pipeline_id: int, window_days: int) -> None:
        self._generation += 1
        self._flow, self._redrawing = None, False
        for key, _title in PANELS:
            self._chart(key).show(None)
        ask = partial(self._submit, self._generation, db, pipeline_id, window_days)
        if any(width == 0 for width, _h in self._sizes().values()):  # (a screen opened, not laid out yet)
            self.call_after_refresh(ask)
        else:
            ask()

    def _submit(self, generation: int, db: Database, pipeline_id: int, window_days: int) -> None:
        """The charts' job at the panels' sizes, then the forecast's (which may wait for the ORM) behind it."""
        if generation != self._generation or not self.is_attached:
            return
        lanes = lanes_of(self)
        lanes.reads.submit(self, partial(compute_flow, db, generation, pipeline_id, window_days, self._sizes()),
                           name="flow charts")
        lanes.reads.submit(self, partial(compute_forecast, db, generation, pipeline_id, window_days),
                           name="forecast panels")

    @on(JobFailed)
    def _failed(self, message: JobFailed) -> None:
        message.stop()
        self._say(f"Not computed: {type(message.error).__name__}: {message.error}", [k for k, _t in PANELS])

    def _say(self, sentence: str, keys: list[str] | tuple[str, ...]) -> None:
        text = Text(sentence, style="red")
        for key in keys:
            self._chart(key).show_drawn(text, None)

    @on(FlowComputed)
    def _computed(self, message: FlowComputed) -> None:
        if message.generation != self._generation:
            return
        self._redrawing = False
        if message.flow is None:
            self._say(message.error or "Not computed.", CHARTS)
            return
        self._flow = message.flow
        for key, (size, drawn) in message.drawn.items():
            self._chart(key).show_drawn(drawn, size)
        self._redraw_if_resized()

    @on(ForecastComputed)
    def _forecast(self, message: ForecastComputed) -> None:
        if message.generation != self._generation:
            return
        if message.error is not None:
            self._say(message.error, FORECASTS)
            return
        for key, drawn in message.drawn.items():
            self._chart(key).show_drawn(drawn, None)

    def on_resize(self) -> None:
        self.call_after_refresh(self._redraw_if_resized)

    def _redraw_if_resized(self) -> None:
        """A chart drawn for another size than its panel has now (or not yet drawn, its panel not laid out when
        the job was asked): drawn again at the new sizes, on the reads lane."""
        if self._flow is None or self._redrawing or not self.is_attached:
            return
        sizes = self._sizes()
        if all(self._chart(key).drawn_size == size for key, size in sizes.items() if size[0] > 0):
            return
        self._redrawing = True
        lanes_of(self).reads.submit(self, partial(redraw, self._generation, self._flow, sizes), name="flow redraw")


__all__ = ["FlowComputed", "FlowPanels", "ForecastComputed", "compute_flow", "compute_forecast", "redraw"]
