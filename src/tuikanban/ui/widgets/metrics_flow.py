"""The metrics screen's second half: the learned stage probabilities, the open-deal forecast and its backtest, and
the flow charts (cumulative flow, cycle-time scatter, throughput per week). It computes on the app's reads lane on
its own (`FlowComputed`), after the screen's first figures, so the screen shows what it has while this computes."""

from __future__ import annotations

import time
from functools import partial
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message

from tuikanban.domain.errors import TuikanbanError
from tuikanban.ui.jobs import JobFailed, lanes_of
from tuikanban.ui.widgets import flow_charts as fc

if TYPE_CHECKING:
    from tuikanban.services.flow import FlowReport
    from tuikanban.store.engine import Database

FORECAST_SEED = 0  # the same data gives the same forecast on every refresh


class FlowComputed(Message):
    def __init__(self, generation: int, flow: FlowReport | None, forecast: dict[str, Any] | None, currency: str,
                 error: str | None, seconds: float) -> None:
        super().__init__()
        self.generation = generation
        self.flow = flow
        self.forecast = forecast
        self.currency = currency
        self.error = error
        self.seconds = seconds


def compute_flow(db: Database, generation: int, pipeline_id: int, window_days: int) -> FlowComputed:
    """The job: the flow charts' data and the open-deal forecast document (as `metrics --json` has it)."""
    from tuikanban.services.flow import flow_report
    from tuikanban.services.forecast_open import open_forecast
    from tuikanban.services.pipelines import list_pipelines

    started = time.perf_counter()
    try:
        currency = next((p.currency for p in list_pipelines(db) if p.id == pipeline_id), "USD")
        flow = flow_report(db, pipeline_id, window_days=window_days)
        # (the backtest rebuilds the pipeline at 12 past moments: seconds on a large log, here on the reads lane
        # while the screen shows everything else)
        doc = open_forecast(db, pipeline_id, window_days=window_days, seed=FORECAST_SEED, now=flow.now,
                            backtest=True)
    except TuikanbanError as exc:
        return FlowComputed(generation, None, None, "USD", str(exc), time.perf_counter() - started)
    return FlowComputed(generation, flow, doc, currency, None, time.perf_counter() - started)


PANELS = (
    ("learned", "Stage win probabilities: configured and learned"),
    ("forecast", "Open-deal forecast (learned probabilities)"),
    ("backtest", "Backtest: what each method said, and what was won"),
    ("cfd", "Cumulative flow: open deals per stage, weekly"),
    ("scatter", "Cycle time of won deals (days)"),
    ("throughput", "Throughput: won per week"),
)


class FlowPanels(Vertical):
    """Six panels in three rows; `recompute(...)` starts their job, each panel says "computing…" meanwhile."""

    DEFAULT_CSS = """
    FlowPanels { height: auto; }
    FlowPanels .fl-row { height: 14; }
    FlowPanels .fl-row-tall { height: 16; }
    FlowPanels Chart { width: 1fr; border: round $primary 30%; border-title-color: $text-muted; padding: 0 1; }
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._generation = 0

    def compose(self) -> ComposeResult:
        for i, row in enumerate((PANELS[0:2], PANELS[2:3], PANELS[3:6])):
            with Horizontal(classes="fl-row-tall" if i == 1 else "fl-row"):
                for key, title in row:
                    chart = fc.Chart(id=f"fl-{key}")
                    chart.border_title = title
                    yield chart

    def recompute(self, db: Database, pipeline_id: int, window_days: int) -> None:
        self._generation += 1
        for key, _title in PANELS:
            self.query_one(f"#fl-{key}", fc.Chart).show(None)
        job = partial(compute_flow, db, self._generation, pipeline_id, window_days)
        lanes_of(self).reads.submit(self, job, name="flow charts")

    @on(JobFailed)
    def _failed(self, message: JobFailed) -> None:
        message.stop()
        self._say(f"Not computed: {type(message.error).__name__}: {message.error}")

    def _say(self, sentence: str) -> None:
        def draw(_w: int, _h: int) -> Text:
            return Text(sentence, style="red")

        for key, _title in PANELS:
            self.query_one(f"#fl-{key}", fc.Chart).show(draw)

    @on(FlowComputed)
    def _computed(self, message: FlowComputed) -> None:
        if message.generation != self._generation:
            return
        flow, doc, cur = message.flow, message.forecast, message.currency
        if flow is None or doc is None:
            self._say(message.error or "Not computed.")
            return
        draws = {
            "learned": lambda _w, _h: fc.learned(doc),
            "forecast": lambda _w, _h: fc.forecast(doc, cur),
            "backtest": lambda _w, _h: fc.backtest(doc, cur),
            "cfd": lambda w, h: fc.cfd(flow, w, h),
            "scatter": lambda w, h: fc.scatter(flow, w, h),
            "throughput": lambda w, h: fc.throughput(flow, w, h),
        }
        for key, draw in draws.items():
            self.query_one(f"#fl-{key}", fc.Chart).show(draw)


__all__ = ["FlowComputed", "FlowPanels", "compute_flow"]
