"""Plain value types handed from the core to the CLI and the board (no ORM objects cross that line). A deal's
history and a move's result are in domain.records: the board's first paint does not need them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

# The stages of the starter pipeline (`services.pipelines`; the forms that offer them open without the ORM).
STARTER_STAGES = ("Prospecting", "Qualification", "Discovery", "Proposal", "Negotiation")


@dataclass(frozen=True, slots=True)
class PipelineInfo:
    id: int
    name: str
    currency: str
    target_minor: int | None
    stale_days: int
    lost_reasons: tuple[str, ...]
    is_default: bool
    next_step_signal: bool = True  # open deals without an open task carry the no_next_step signal


@dataclass(frozen=True, slots=True)
class StageInfo:
    id: int
    pipeline_id: int
    name: str
    position: int
    wip_max: int | None
    wip_min: int | None
    rep_wip_max: int | None
    expected_days: int | None
    probability: int
    exit_criteria: str
    archived: bool = False


@dataclass(frozen=True, slots=True)
class DealTypeInfo:
    id: int
    pipeline_id: int
    name: str
    position: int
    archived: bool = False  # not offered for deals nor a swimlane (unless an open deal still has it)


@dataclass(frozen=True, slots=True)
class DealView:
    id: int
    pipeline_id: int
    title: str
    company: str
    contact: str
    value_minor: int | None
    currency: str
    owner: str
    type_id: int | None
    type_name: str | None
    expected_close: date | None
    notes: str
    stage_id: int
    stage_name: str
    status: str
    lost_reason: str
    created_at: datetime
    stage_entered_at: datetime
    closed_at: datetime | None
    last_activity_at: datetime | None
    rank: int
    version: int
    snoozed_until: date | None = None  # off the board's default view before this date


@dataclass(slots=True)
class BoardData:
    """Everything the board paints for one pipeline: stages with counts and sums, types, and open cards."""

    pipeline: PipelineInfo
    stages: list[StageInfo]
    types: list[DealTypeInfo]
    cards: list[DealView] = field(default_factory=list)
    counts: dict[int, int] = field(default_factory=dict)  # stage id -> open deals (whatever the filter)
    sums: dict[int, int] = field(default_factory=dict)  # stage id -> open value in minor units
