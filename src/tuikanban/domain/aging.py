"""Aging rules (see docs/RULES.md, Aging): baselines, levels, severity and the risk signals' names, marks and meanings.

Pure functions and value types only; the SQL that feeds them lives in `tuikanban.services.aging`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from tuikanban.domain.metrics import format_duration

AGING_FACTOR = 1.5  # a deal is aging at 1.5 x its stage's baseline
STALLED_FACTOR = 2.0  # ... and stalled at 2 x
DEFAULT_BASELINE_DAYS = 7.0  # a stage with no expected days and too little history
HISTORY_WINDOW_DAYS = 180  # stays that ended in this many days feed the historical baseline
MIN_HISTORY_STAYS = 3  # ... when there are at least this many of them
# A baseline learned from history is never below one day (a documented decision: docs/RULES.md, Baselines): deals
# that moved on within minutes would otherwise make every deal of the stage stalled after an hour or a day.
# (expected_days is the user's own, at least 1 by its validation, and is used as set; the default stays 7 days.)
MIN_HISTORY_BASELINE_DAYS = 1.0
# Only a guard against dividing by zero for a baseline passed in by hand; every real baseline is at least a day.
MIN_BASELINE_DAYS = 1.0 / 24.0
# Tolerance for comparing day counts (about 0.09 s), so a deal exactly at 1.5 x is aging whatever the float noise.
_EPS = 1e-6


class Level(StrEnum):
    OK = "ok"
    AGING = "aging"
    STALLED = "stalled"


class BaselineSource(StrEnum):
    EXPECTED = "expected"  # the stage's expected_days
    HISTORY = "history"  # average days over recent stays
    DEFAULT = "default"  # DEFAULT_BASELINE_DAYS


@dataclass(frozen=True, slots=True)
class Baseline:
    """A stage's baseline: the days a deal normally spends there, and where that number came from."""

    baseline_days: float
    source: BaselineSource
    sample_size: int = 0  # the number of stays averaged (history only)
    # the history's own average when MIN_HISTORY_BASELINE_DAYS raised it (history only; None when not raised)
    learned_days: float | None = None

    @property
    def floored(self) -> bool:
        """A history baseline raised to MIN_HISTORY_BASELINE_DAYS."""
        return self.learned_days is not None

    @property
    def days(self) -> float:
        return self.baseline_days

    def describe(self) -> str:
        """`expected 5 d`, `avg of 12 stays: 6.3 d`, `avg of 4 stays: 58 min, at least 1 d`, `default 7 d`."""
        if self.source is BaselineSource.EXPECTED:
            return f"expected {format_days(self.baseline_days)} d"
        if self.source is BaselineSource.HISTORY:
            if self.learned_days is not None:
                return (f"avg of {self.sample_size} stays: {format_duration(self.learned_days)}, "
                        f"at least {format_days(self.baseline_days)} d")
            return f"avg of {self.sample_size} stays: {format_days(self.baseline_days)} d"
        return f"default {format_days(self.baseline_days)} d"


def choose_baseline(expected_days: int | float | None, history_avg_days: float | None, history_count: int) -> Baseline:
    """The rule of docs/RULES.md, Baselines: expected days if set, else the recent average over at least 3 stays
    (never under 1 day), else 7 days."""
    if expected_days is not None and expected_days > 0:
        return Baseline(float(expected_days), BaselineSource.EXPECTED)
    if history_avg_days is not None and history_count >= MIN_HISTORY_STAYS:
        learned = max(float(history_avg_days), 0.0)
        if learned < MIN_HISTORY_BASELINE_DAYS:
            return Baseline(MIN_HISTORY_BASELINE_DAYS, BaselineSource.HISTORY, history_count, learned_days=learned)
        return Baseline(learned, BaselineSource.HISTORY, history_count)
    return Baseline(DEFAULT_BASELINE_DAYS, BaselineSource.DEFAULT)


def level(days_in_stage: float, baseline_days: float) -> Level:
    """`stalled` at 2 x the baseline or more, `aging` at 1.5 x or more, else `ok`."""
    base = max(baseline_days, MIN_BASELINE_DAYS)
    if days_in_stage + _EPS >= STALLED_FACTOR * base:
        return Level.STALLED
    if days_in_stage + _EPS >= AGING_FACTOR * base:
        return Level.AGING
    return Level.OK


def severity(days_in_stage: float, baseline_days: float) -> float:
    """Days in stage over the baseline: 1.0 is exactly on the baseline, 2.0 is stalled."""
    return max(days_in_stage, 0.0) / max(baseline_days, MIN_BASELINE_DAYS)


def format_days(days: float) -> str:
    """A day count for people: `0.5`, `7`, `12.3`, `140` (one decimal below 100, whole days above)."""
    if days >= 100:
        return f"{days:.0f}"
    text = f"{days:.1f}"
    return text[:-2] if text.endswith(".0") else text


# -- risk signals --------------------------------------------------------------------------------------

NO_ACTIVITY = "no_activity"
PAST_CLOSE = "past_close"
CLOSE_PUSHED = "close_pushed"
NO_VALUE = "no_value"
NO_NEXT_STEP = "no_next_step"  # no open follow-up task (a pipeline setting can turn it off)
SIGNALS: tuple[str, ...] = (NO_ACTIVITY, PAST_CLOSE, CLOSE_PUSHED, NO_VALUE, NO_NEXT_STEP)  # listing order
CLOSE_PUSH_THRESHOLD = 2  # the close date moved later this many times or more

# signal -> (one-cell mark for card badges, one-line meaning for the help screen and the deal detail)
SIGNAL_LEGEND: dict[str, tuple[str, str]] = {
    NO_ACTIVITY: ("◌", "No activity or change for the pipeline's stale days"),
    PAST_CLOSE: ("!", "Expected close date has passed"),
    CLOSE_PUSHED: ("»", "Expected close date pushed later twice or more"),
    NO_VALUE: ("∅", "No value set"),
    NO_NEXT_STEP: ("→", "No next step: no open follow-up task"),
}

LEVEL_LEGEND: dict[str, str] = {
    Level.OK: "Within 1.5 x the stage's baseline",
    Level.AGING: "In the stage for 1.5 x its baseline or longer",
    Level.STALLED: "In the stage for 2 x its baseline or longer",
}


def signal_mark(signal: str) -> str:
    return SIGNAL_LEGEND.get(signal, ("?", ""))[0]


def signal_meaning(signal: str, stale_days: int | None = None) -> str:
    """The one-line meaning; with `stale_days`, no_activity names the pipeline's figure."""
    if signal == NO_ACTIVITY and stale_days is not None:
        return f"No activity or change for {stale_days} day{'s' if stale_days != 1 else ''}"
    return SIGNAL_LEGEND.get(signal, ("?", signal))[1]


def signal_short(signal: str, stale_days: int) -> str:
    """A two-word label for tight legends (`quiet 10d+`, `no step`)."""
    if signal == NO_ACTIVITY:
        return f"quiet {stale_days}d+"
    return {PAST_CLOSE: "past close", CLOSE_PUSHED: "pushed", NO_VALUE: "no value", NO_NEXT_STEP: "no step"}.get(
        signal, signal)


def signal_marks(signals: Iterable[str]) -> str:
    """The marks of several signals side by side, in SIGNALS order (`◌!`)."""
    present = set(signals)
    return "".join(SIGNAL_LEGEND[s][0] for s in SIGNALS if s in present)


def risk_signals(
    *,
    days_since_touch: float | None,
    stale_days: int,
    past_close: bool,
    close_pushes: int,
    value_minor: int | None,
    has_next_step: bool = True,
) -> tuple[str, ...]:
    """The signals of one open deal from the figures the service computed (in SIGNALS order).

    `days_since_touch` is the days since the latest activity or event (None: never touched at all);
    `has_next_step` is whether it has an open task (pass True where the pipeline turned the signal off).
    """
    out: list[str] = []
    if days_since_touch is None or days_since_touch + _EPS >= stale_days:
        out.append(NO_ACTIVITY)
    if past_close:
        out.append(PAST_CLOSE)
    if close_pushes >= CLOSE_PUSH_THRESHOLD:
        out.append(CLOSE_PUSHED)
    if not value_minor:
        out.append(NO_VALUE)
    if not has_next_step:
        out.append(NO_NEXT_STEP)
    return tuple(out)


@dataclass(slots=True)
class AgingItem:
    """One open deal as the aging function sees it (read-only by convention: not frozen, because building
    10,000 frozen dataclasses costs three times as long)."""

    id: int
    title: str
    stage: str
    stage_id: int
    owner: str
    type_name: str | None
    company: str
    value_minor: int | None
    currency: str
    days_in_stage: float
    baseline_days: float
    level: Level
    signals: tuple[str, ...]
    severity: float
    baseline_source: BaselineSource = BaselineSource.DEFAULT
    stage_position: int = 0
    days_since_touch: float | None = None
    close_pushes: int = 0
    contact: str = ""

    @property
    def flagged(self) -> bool:
        """Aging, stalled or carrying a signal: what the aging panel lists."""
        return self.level is not Level.OK or bool(self.signals)


@dataclass(frozen=True, slots=True)
class StageAging:
    """A stage as the aging chart draws it: its name, order and baseline."""

    id: int
    name: str
    position: int
    baseline: Baseline


@dataclass(slots=True)
class AgingSnapshot:
    """Everything the panel and the chart show for one pipeline, from one read."""

    pipeline_id: int
    pipeline_name: str
    stale_days: int
    stages: list[StageAging]
    items: list[AgingItem] = field(default_factory=list)  # every open deal (filtered), by severity

    @property
    def flagged(self) -> list[AgingItem]:
        return [i for i in self.items if i.flagged]


def sort_key(item: AgingItem) -> tuple[float, int, float, int]:
    """Most severe first; then more signals, older, lower id."""
    return (-item.severity, -len(item.signals), -item.days_in_stage, item.id)
