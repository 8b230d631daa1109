"""JSON export: a whole pipeline (settings, stages, types, deals, events, stays, activities), streamed."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from typing import IO, Any

from sqlalchemy import or_, select

from tuikanban.domain import clock
from tuikanban.domain.money import to_json_number
from tuikanban.services.common import resolve_pipeline
from tuikanban.services.io.common import (
    ACTIVITY_COLUMNS,
    DEAL_COLUMNS,
    EVENT_COLUMNS,
    JSON_FORMAT,
    JSON_VERSION,
    STAGE_COLUMNS,
    STAY_COLUMNS,
    TYPE_COLUMNS,
    date_iso,
    iso,
)
from tuikanban.store.engine import Database
from tuikanban.store.tables import (
    DELETED,
    Activity,
    Deal,
    Event,
    Stage,
    Stay,
)

# short names for the queries below
_D, _S, _T, _E, _Y, _A = (
    DEAL_COLUMNS, STAGE_COLUMNS, TYPE_COLUMNS, EVENT_COLUMNS, STAY_COLUMNS, ACTIVITY_COLUMNS
)


def _json_rows(conn: Any, query: Any, convert: Callable[[Any], dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for r in conn.execute(query):
        yield convert(r)


def write_pipeline_json(db: Database, pipeline: str | int | None, out: IO[str]) -> int:
    """Write one pipeline as a JSON document (streamed: events are not all held in memory). Returns deal count."""
    from tuikanban.store.tables import SCHEMA_VERSION

    with db.read() as s:
        p = resolve_pipeline(s, pipeline)
        pid = p.id
        assert pid is not None
        conn = s.connection()
        cur = p.currency
        head = {
            "format": JSON_FORMAT, "version": JSON_VERSION, "schema_version": SCHEMA_VERSION,
            "exported_at": clock.now().isoformat(),
            "pipeline": {
                "name": p.name, "currency": p.currency, "target": to_json_number(p.target_minor, cur),
                "stale_days": p.stale_days,
                "lost_reasons": [r for r in (p.lost_reasons or "").split("\n") if r.strip()],
                "default": bool(p.is_default), "created_at": iso(p.created_at),
            },
        }
        # A deleted deal (kept only so `deal restore` can bring it back) leaves the export with all its history.
        live = select(_D.id).where(_D.pipeline_id == pid, _D.status != DELETED)
        sections: list[tuple[str, Iterable[dict[str, Any]]]] = [
            ("stages", _json_rows(conn, select(*Stage.__table__.c).where(_S.pipeline_id == pid)  # type: ignore[attr-defined]
                                  .order_by(_S.position, _S.id), lambda r: {
                "id": r.id, "name": r.name, "position": r.position, "wip_max": r.wip_max, "wip_min": r.wip_min,
                "rep_wip_max": r.rep_wip_max, "expected_days": r.expected_days, "probability": r.probability,
                "exit_criteria": r.exit_criteria, "archived": bool(r.archived)})),
            ("types", _json_rows(conn, select(_T.id, _T.name, _T.position).where(_T.pipeline_id == pid)
                                 .order_by(_T.position, _T.id), lambda r: {
                "id": r.id, "name": r.name, "position": r.position})),
            ("deals", _json_rows(conn, select(*Deal.__table__.c).where(_D.pipeline_id == pid)  # type: ignore[attr-defined]
                                 .where(_D.status != DELETED).order_by(_D.id), lambda r: {
                "id": r.id, "title": r.title, "company": r.company, "contact": r.contact,
                "value": to_json_number(r.value_minor, r.currency), "currency": r.currency, "owner": r.owner,
                "type_id": r.type_id, "expected_close": date_iso(r.expected_close), "notes": r.notes,
                "stage_id": r.stage_id, "status": r.status, "lost_reason": r.lost_reason,
                "created_at": iso(r.created_at), "stage_entered_at": iso(r.stage_entered_at),
                "closed_at": iso(r.closed_at), "last_activity_at": iso(r.last_activity_at), "rank": r.rank,
                "version": r.version})),
            ("events", _json_rows(conn, select(*Event.__table__.c).where(_E.pipeline_id == pid)  # type: ignore[attr-defined]
                                  .where(or_(_E.deal_id.is_(None), _E.deal_id.in_(live))).order_by(_E.id), lambda r: {
                "id": r.id, "deal_id": r.deal_id, "kind": r.kind, "at": iso(r.at), "user": r.user,
                "from_stage_id": r.from_stage_id, "to_stage_id": r.to_stage_id, "field": r.field,
                "old_value": r.old_value, "new_value": r.new_value, "reason": r.reason, "ref_id": r.ref_id})),
            ("stays", _json_rows(conn, select(*Stay.__table__.c).where(_Y.pipeline_id == pid)  # type: ignore[attr-defined]
                                 .where(_Y.deal_id.in_(live)).order_by(_Y.id), lambda r: {
                "id": r.id, "deal_id": r.deal_id, "stage_id": r.stage_id, "entered_at": iso(r.entered_at),
                "left_at": iso(r.left_at), "outcome": r.outcome})),
            ("activities", _json_rows(conn, select(*Activity.__table__.c).where(_A.pipeline_id == pid)  # type: ignore[attr-defined]
                                      .where(_A.deal_id.in_(live)).order_by(_A.id), lambda r: {
                "id": r.id, "deal_id": r.deal_id, "kind": r.kind, "subject": r.subject, "at": iso(r.at),
                "user": r.user, "due": date_iso(r.due), "done": bool(r.done)})),
        ]
        body = json.dumps(head, ensure_ascii=False, indent=1)
        out.write(body[:-2])  # without the closing "\n}"
        deals = 0
        for name, items in sections:
            out.write(f',\n "{name}": [')
            first = True
            for item in items:
                out.write("\n  " if first else ",\n  ")
                out.write(json.dumps(item, ensure_ascii=False))
                first = False
                if name == "deals":
                    deals += 1
            out.write("\n ]" if not first else "]")
        out.write("\n}\n")
    return deals
