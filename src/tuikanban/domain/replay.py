"""A deal's history replayed: the stage, status and stays its events say it has (see docs/RULES.md, Event log,
Stays and Undo). The JSON import refuses a document whose deals, stays and events disagree (services.io).

Pure: the caller passes one deal's events in log order (by id) with the events they point at resolved.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from tuikanban.domain.stays import Outcome, close_outcome, move_outcome


@dataclass(frozen=True, slots=True)
class LogEntry:
    id: int
    kind: str
    at: datetime
    from_stage_id: int | None = None
    to_stage_id: int | None = None
    old_value: str | None = None
    new_value: str | None = None
    ref_id: int | None = None


@dataclass(slots=True)
class StaySpan:
    stage_id: int
    entered_at: datetime
    left_at: datetime | None = None
    outcome: Outcome | None = None


@dataclass(slots=True)
class Replayed:
    stage_id: int | None = None
    status: str | None = None
    stays: list[StaySpan] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


STATUS_OF_CLOSE = ("won", "lost")


def replay(events: list[LogEntry], positions: dict[int, int]) -> Replayed:
    """What the events say, in log order; `positions` maps stage id -> column position (for stay outcomes).

    Every contradiction (a move from a stage the deal is not in, a close of a closed deal, an undo of nothing)
    is one sentence in `problems`; replaying goes on after it, so all of them are reported."""
    state = Replayed()
    by_id = {e.id: e for e in events}
    for e in events:
        if state.status is None and e.kind != "create":
            state.problems.append(f"its history begins with '{e.kind}', not 'create'")
            return state
        _apply(state, e, by_id, positions)
    if state.status is None:
        state.problems.append("it has no 'create' event")
    return state


def _base(e: LogEntry, by_id: dict[int, LogEntry]) -> LogEntry | None:
    """The action an undo or redo stands for (following redo -> undo -> ... to the first plain event)."""
    seen = 0
    current: LogEntry | None = e
    while current is not None and current.kind in ("undo", "redo") and seen <= len(by_id):
        current = by_id.get(current.ref_id) if current.ref_id is not None else None
        seen += 1
    return current


def _apply(state: Replayed, e: LogEntry, by_id: dict[int, LogEntry], positions: dict[int, int]) -> None:
    kind = e.kind
    if kind == "create":
        if state.status is not None:
            state.problems.append(f"event {e.id} creates it a second time")
            return
        _enter(state, e.to_stage_id, e.at)
        state.status = "open"
        return
    if kind in ("undo", "redo"):
        base = _base(e, by_id)
        if base is None:
            state.problems.append(f"{kind} event {e.id} points at no event of this deal")
            return
        if kind == "undo":
            _undo(state, e, base.kind)
        else:
            _redo(state, e, base.kind, positions)
        return
    _action(state, e, kind, positions)


def _action(state: Replayed, e: LogEntry, kind: str, positions: dict[int, int]) -> None:
    if kind == "move":
        if state.status != "open" or state.stage_id != e.from_stage_id:
            state.problems.append(f"move event {e.id} starts from a stage it is not in ({_where(state)})")
        _leave(state, e.at, move_outcome(positions.get(e.from_stage_id or 0, 0), positions.get(e.to_stage_id or 0, 0)))
        _enter(state, e.to_stage_id, e.at)
    elif kind in STATUS_OF_CLOSE:
        if state.status != "open":
            state.problems.append(f"{kind} event {e.id} closes a deal that is {state.status}")
        _leave(state, e.at, close_outcome(kind))
        state.status = kind
    elif kind == "reopen":
        if state.status not in STATUS_OF_CLOSE:
            state.problems.append(f"reopen event {e.id} reopens a deal that is {state.status}")
        _enter(state, e.to_stage_id, e.at)
        state.status = "open"
    elif kind == "deleted":
        if state.status == "deleted":
            state.problems.append(f"deleted event {e.id} deletes a deal that is deleted")
        state.status = "deleted"
    elif kind == "restored":
        if state.status != "deleted":
            state.problems.append(f"restored event {e.id} restores a deal that is {state.status}")
        state.status = e.new_value


def _undo(state: Replayed, e: LogEntry, base: str) -> None:
    if base == "move":  # the move's stay goes; the previous stay in the stage it came back to resumes
        if state.stays and state.stays[-1].left_at is None:
            state.stays.pop()
        back = next((y for y in reversed(state.stays) if y.stage_id == e.to_stage_id), None)
        if back is None:
            _enter(state, e.to_stage_id, e.at)
        else:
            back.left_at, back.outcome = None, None
            state.stage_id = e.to_stage_id
    elif base in STATUS_OF_CLOSE:
        if state.status != base:
            state.problems.append(f"undo event {e.id} reopens a deal that is {state.status}")
        if state.stays:
            state.stays[-1].left_at, state.stays[-1].outcome = None, None
        state.status = "open"
    elif base == "deleted":
        state.status = e.new_value


def _redo(state: Replayed, e: LogEntry, base: str, positions: dict[int, int]) -> None:
    """A redo is its action again (the redo event records it the same way: stages, time)."""
    if base in ("move", "won", "lost", "deleted"):
        _action(state, e, base, positions)


def _where(state: Replayed) -> str:
    return f"stage {state.stage_id}" if state.status == "open" else (state.status or "nothing")


def _leave(state: Replayed, at: datetime, outcome: Outcome) -> None:
    if state.stays and state.stays[-1].left_at is None:
        current = state.stays[-1]
        current.left_at, current.outcome = max(at, current.entered_at), outcome


def _enter(state: Replayed, stage_id: int | None, at: datetime) -> None:
    state.stage_id = stage_id
    if stage_id is not None:
        state.stays.append(StaySpan(stage_id, at))


__all__ = ["LogEntry", "Replayed", "StaySpan", "replay"]
