"""CSV export: the deals of a pipeline in the import's columns, formula-like cells neutralised."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import IO, Any

from sqlalchemy import select
from sqlmodel import Session

from tuikanban.domain.errors import ValidationError
from tuikanban.services.common import resolve_pipeline
from tuikanban.services.io.common import (
    CSV_COLUMNS,
    DEAL_COLUMNS,
    STAGE_COLUMNS,
    TYPE_COLUMNS,
    date_iso,
    iso,
    major_text,
    neutralise,
    streamed,
)
from tuikanban.store.engine import Database
from tuikanban.store.tables import (
    DELETED,
    Deal,
)

_D, _S, _T = DEAL_COLUMNS, STAGE_COLUMNS, TYPE_COLUMNS  # short names for the queries below


def _deal_rows(s: Session, pipeline_id: int, status: str) -> Iterator[Any]:
    q = select(*Deal.__table__.c).where(_D.pipeline_id == pipeline_id, _D.status != DELETED)  # type: ignore[attr-defined]
    if status != "all":
        q = q.where(_D.status == status)
    yield from streamed(s.connection(), q.order_by(_D.id))


def write_csv(db: Database, pipeline: str | int | None, out: IO[str], *, status: str = "all") -> int:
    """Write the deals of a pipeline as CSV (the import columns); returns the number of deals written."""
    if status not in ("open", "won", "lost", "all"):
        raise ValidationError(f"'{status}' is not a status; use open, won, lost or all.")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    n = 0
    with db.read() as s:
        p = resolve_pipeline(s, pipeline)
        assert p.id is not None
        conn = s.connection()
        stages: dict[int, str] = {r.id: r.name for r in conn.execute(
            select(_S.id, _S.name).where(_S.pipeline_id == p.id))}
        types: dict[int, str] = {r.id: r.name for r in conn.execute(
            select(_T.id, _T.name).where(_T.pipeline_id == p.id))}
        for r in _deal_rows(s, p.id, status):
            values = {
                "title": r.title, "company": r.company, "contact": r.contact,
                "value": major_text(r.value_minor, r.currency), "currency": r.currency, "owner": r.owner,
                "type": types.get(r.type_id, "") if r.type_id else "", "stage": stages.get(r.stage_id, ""),
                "status": r.status, "created_at": iso(r.created_at) or "", "closed_at": iso(r.closed_at) or "",
                "lost_reason": r.lost_reason, "expected_close": date_iso(r.expected_close) or "",
                "notes": r.notes,
            }
            writer.writerow([neutralise(str(values[c] or "")) for c in CSV_COLUMNS])
            n += 1
    return n
