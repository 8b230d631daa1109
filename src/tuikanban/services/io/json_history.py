"""The JSON import's history check: every deal's stage, status and stays must be what its events say
(domain.replay), and each field whose edits are logged with values must hold what its last edit (or undo or redo
of one) left; a document that contradicts itself is refused with one sentence per problem, naming the deal.
The check reads the rows back inside the import's transaction, so a file of any size is checked a deal at a time.
Ranks are not checked: a reorder swaps two deals, so one deal's log cannot say its rank."""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import select

from tuikanban.domain.replay import LogEntry, StaySpan, replay
from tuikanban.services.history import event_text
from tuikanban.services.io.common import DEAL_COLUMNS, EVENT_COLUMNS, STAY_COLUMNS
from tuikanban.store.bulk import plain_rows


def history_problems(conn: Any, pipeline_id: int, positions: dict[int, int], names: dict[int, str],
                     old_ids: dict[int, int] | None) -> list[str]:
    """One sentence per contradiction in the pipeline just written (inside the import's transaction): its deals,
    events and stays read back in deal order, one deal at a time, so that memory holds one deal's history however
    many events the file has. `old_ids` maps a renumbered deal's id back to the file's (for the sentences)."""
    deals = plain_rows(conn, select(*[_D[c] for c in _DEAL_READ]).where(_D.pipeline_id == pipeline_id)
                       .order_by(_D.id))
    events = _Grouped(plain_rows(conn, select(
        _E.deal_id, _E.id, _E.kind, _E.at, _E.from_stage_id, _E.to_stage_id, _E.old_value, _E.new_value, _E.ref_id,
        _E.field).where(_E.pipeline_id == pipeline_id, _E.deal_id.is_not(None)).order_by(_E.deal_id, _E.id), (3,)))
    stays = _Grouped(plain_rows(conn, select(_Y.deal_id, _Y.stage_id, _Y.entered_at, _Y.left_at, _Y.outcome)
                                .where(_Y.pipeline_id == pipeline_id).order_by(_Y.deal_id, _Y.id), (2, 3)))
    problems: list[str] = []
    for row in deals:
        d = _DealRead(*row)
        label = f"deal {d.id if old_ids is None else old_ids.get(d.id, d.id)} ('{d.title[:60]}')"
        rows_event = events.take(d.id)
        # (deal_id, id, kind, at, from_stage_id, to_stage_id, old_value, new_value, ref_id, field)
        logged = [LogEntry(*e[1:9]) for e in rows_event]
        spans = [StaySpan(*y[1:]) for y in stays.take(d.id)]
        told = replay(logged, positions)
        problems.extend(f"{label}: {p}." for p in told.problems)
        if told.problems:
            continue
        if told.status != d.status:
            problems.append(f"{label}: its status is {d.status} but its history says {told.status}.")
        elif told.stage_id != d.stage_id:
            problems.append(f"{label}: it is in {names.get(d.stage_id, '?')} but its history puts it in "
                            f"{names.get(told.stage_id or 0, '?')}.")
        elif _spans(spans) != _spans(told.stays):
            problems.append(f"{label}: its stays do not agree with its events (the history has "
                            f"{len(told.stays)} stays, the file {len(spans)}).")
        else:
            problems.extend(f"{label}: {p}." for p in _field_problems(d, _last_values(rows_event)))
    return problems


_D, _E, _Y = DEAL_COLUMNS, EVENT_COLUMNS, STAY_COLUMNS
_DEAL_READ = ("id", "title", "status", "stage_id", "company", "contact", "value_minor", "currency", "owner",
              "type_id", "expected_close")


class _DealRead(NamedTuple):
    id: int
    title: str
    status: str
    stage_id: int
    company: str
    contact: str
    value_minor: int | None
    currency: str
    owner: str
    type_id: int | None
    expected_close: Any  # a date (SQLAlchemy) or its stored text (SQLite's driver): compared as text


class _Grouped:
    """Rows ordered by deal id (their first column), taken one deal at a time."""

    def __init__(self, rows: Any) -> None:
        self._rows = iter(rows)
        self._next = next(self._rows, None)

    def take(self, deal_id: int) -> list[Any]:
        out = []
        while self._next is not None and self._next[0] <= deal_id:
            if self._next[0] == deal_id:
                out.append(self._next)
            self._next = next(self._rows, None)
        return out


# The deal row's columns of the fields whose edits are logged with their values (notes are not).
_COLUMNS = {"title": "title", "company": "company", "contact": "contact", "value": "value_minor",
            "currency": "currency", "owner": "owner", "type": "type_id", "close": "expected_close"}


def _last_values(rows_event: list[Any]) -> dict[str, str | None]:
    """field -> the value the deal's last edit, undo or redo of that field left (each records the value after)."""
    out: dict[str, str | None] = {}
    for e in rows_event:  # (deal_id, id, kind, at, from_stage_id, to_stage_id, old_value, new_value, ref_id, field)
        if e[2] in ("edit", "undo", "redo") and e[9] in _COLUMNS:
            out[e[9]] = e[7]
    return out


def _field_problems(deal: Any, last: dict[str, str | None]) -> list[str]:
    out = []
    for field, value in last.items():
        if event_text(getattr(deal, _COLUMNS[field])) != (value if value is not None or field in _NULLABLE else ""):
            out.append(f"its {field} is not what its last edit of it says ({value!s:.40})")
    return out


_NULLABLE = ("value", "type", "close")


def _spans(rows: list[StaySpan]) -> list[tuple[int, datetime, datetime | None, bool]]:
    """What must agree: stage, start, end, and whether there is an outcome. The outcome of a move itself is not
    compared: it follows the column order at the time, which may have changed since."""
    return [(y.stage_id, y.entered_at, y.left_at, y.outcome is not None) for y in rows]

