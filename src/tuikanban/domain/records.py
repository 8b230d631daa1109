"""Plain value types of a deal's history (its events and activities) and of a move, handed from the core to the
CLI and the screens. They are apart from domain.models because the board's first paint does not use them: each
dataclass a start imports costs about a millisecond to build (docs/PERFORMANCE.md, Round 8)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from tuikanban.domain.models import DealView


@dataclass(frozen=True, slots=True)
class EventView:
    id: int
    deal_id: int | None
    kind: str
    at: datetime
    user: str
    from_stage: str | None
    to_stage: str | None
    field: str | None
    old_value: str | None
    new_value: str | None
    reason: str | None


@dataclass(frozen=True, slots=True)
class ActivityView:
    id: int
    deal_id: int
    kind: str
    subject: str
    at: datetime
    user: str
    due: date | None
    done: bool


@dataclass(frozen=True, slots=True)
class MoveResult:
    deal: DealView
    from_stage: str
    to_stage: str
    exit_criteria: str = ""
    forced: bool = False
    gate_forced: bool = False  # entered past a stage gate (logged as gate_override)
