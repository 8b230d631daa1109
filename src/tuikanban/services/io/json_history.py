"""The JSON import's history check: every deal's stage, status and stays must be what its events say
(domain.replay), and each field whose edits are logged with values must hold what its last edit (or undo or redo
of one) left; a document that contradicts itself is refused with one sentence per problem, naming the deal.
Ranks are not checked: a reorder swaps two deals, so one deal's log cannot say its rank."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from tuikanban.domain import clock
from tuikanban.domain.replay import LogEntry, StaySpan, replay
from tuikanban.services.history import event_text


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
    edits = _last_values(rows_event)
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
        else:
            problems.extend(f"{label}: {p}." for p in _field_problems(d, edits.get(d["id"], {})))
    return problems


# The deal row's columns of the fields whose edits are logged with their values (notes are not).
_COLUMNS = {"title": "title", "company": "company", "contact": "contact", "value": "value_minor",
            "currency": "currency", "owner": "owner", "type": "type_id", "close": "expected_close"}


def _last_values(rows_event: list[dict[str, Any]]) -> dict[int, dict[str, str | None]]:
    """deal id -> field -> the value its last edit, undo or redo of that field left (each records the value after)."""
    out: dict[int, dict[str, str | None]] = defaultdict(dict)
    for e in sorted(rows_event, key=lambda r: r["id"]):
        if e["kind"] in ("edit", "undo", "redo") and e["field"] in _COLUMNS and e["deal_id"] is not None:
            out[e["deal_id"]][e["field"]] = e["new_value"]
    return out


def _field_problems(deal: dict[str, Any], last: dict[str, str | None]) -> list[str]:
    out = []
    for field, value in last.items():
        if event_text(deal[_COLUMNS[field]]) != (value if value is not None or field in _NULLABLE else ""):
            out.append(f"its {field} is not what its last edit of it says ({value!s:.40})")
    return out


_NULLABLE = ("value", "type", "close")


def _spans(rows: list[StaySpan]) -> list[tuple[int, datetime, datetime | None, bool]]:
    """What must agree: stage, start, end, and whether there is an outcome. The outcome of a move itself is not
    compared: it follows the column order at the time, which may have changed since."""
    return [(y.stage_id, y.entered_at, y.left_at, y.outcome is not None) for y in rows]


def _utc(value: datetime) -> datetime:
    return clock.as_utc(value)
