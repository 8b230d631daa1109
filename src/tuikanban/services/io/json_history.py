"""The JSON import's history check: every deal's stage, status and stays must be what its events say
(domain.replay), so a document that contradicts itself is refused with one sentence per problem, naming the deal."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from tuikanban.domain import clock
from tuikanban.domain.replay import LogEntry, StaySpan, replay


def history_problems(rows_deal: list[dict[str, Any]], rows_event: list[dict[str, Any]],
                     rows_stay: list[dict[str, Any]], rows_stage: list[dict[str, Any]],
                     labels: dict[int, str]) -> list[str]:
    """One sentence per contradiction; the rows carry the new ids and already passed the item checks."""
    positions = {int(r["id"]): int(r["position"]) for r in rows_stage if r["id"] is not None}
    names = {int(r["id"]): str(r["name"]) for r in rows_stage if r["id"] is not None}
    events: dict[int, list[LogEntry]] = defaultdict(list)
    for e in sorted(rows_event, key=lambda r: r["id"]):
        if e["deal_id"] is not None:
            events[e["deal_id"]].append(LogEntry(e["id"], str(e["kind"]), _utc(e["at"]), e["from_stage_id"],
                                                 e["to_stage_id"], e["old_value"], e["new_value"], e["ref_id"]))
    stays: dict[int, list[StaySpan]] = defaultdict(list)
    for y in sorted(rows_stay, key=lambda r: r["id"]):
        stays[y["deal_id"]].append(StaySpan(y["stage_id"], _utc(y["entered_at"]),
                                            _utc(y["left_at"]) if y["left_at"] is not None else None, y["outcome"]))
    problems: list[str] = []
    for d in rows_deal:
        label = labels.get(d["id"], f"deal {d['id']}")
        told = replay(events.get(d["id"], []), positions)
        problems.extend(f"{label}: {p}." for p in told.problems)
        if told.problems:
            continue
        if told.status != d["status"]:
            problems.append(f"{label}: its status is {d['status']} but its history says {told.status}.")
        elif told.stage_id != d["stage_id"]:
            problems.append(f"{label}: it is in {names.get(d['stage_id'], '?')} but its history puts it in "
                            f"{names.get(told.stage_id or 0, '?')}.")
        elif _spans(stays.get(d["id"], [])) != _spans(told.stays):
            problems.append(f"{label}: its stays do not agree with its events (the history has "
                            f"{len(told.stays)} stays, the file {len(stays.get(d['id'], []))}).")
    return problems


def _spans(rows: list[StaySpan]) -> list[tuple[int, datetime, datetime | None, bool]]:
    """What must agree: stage, start, end, and whether there is an outcome. The outcome of a move itself is not
    compared: it follows the column order at the time, which may have changed since."""
    return [(y.stage_id, y.entered_at, y.left_at, y.outcome is not None) for y in rows]


def _utc(value: datetime) -> datetime:
    return clock.as_utc(value)
