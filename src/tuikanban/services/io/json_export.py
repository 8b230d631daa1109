"""JSON export: a whole pipeline (settings, stages, types, deals, events, stays, activities, review marks),
streamed."""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Callable, Iterable
from typing import IO, Any

from sqlalchemy import func, or_, select

from tuikanban.domain import clock, gates
from tuikanban.domain.money import exponent, to_json_number
from tuikanban.services.common import resolve_pipeline
from tuikanban.services.io.common import (
    ACTIVITY_COLUMNS,
    CHUNK,
    DEAL_COLUMNS,
    EVENT_COLUMNS,
    JSON_FORMAT,
    JSON_VERSION,
    REVIEW_MARK_COLUMNS,
    STAGE_COLUMNS,
    STAY_COLUMNS,
    TYPE_COLUMNS,
    date_iso,
    iso,
    streamed,
)
from tuikanban.store import jsondump
from tuikanban.store.engine import Database
from tuikanban.store.tables import (
    DELETED,
    Activity,
    Deal,
    Event,
    Stage,
    Stay,
)
from tuikanban.store.twin import second_core_free

# short names for the queries below
_D, _S, _T, _E, _Y, _A, _R = (
    DEAL_COLUMNS, STAGE_COLUMNS, TYPE_COLUMNS, EVENT_COLUMNS, STAY_COLUMNS, ACTIVITY_COLUMNS, REVIEW_MARK_COLUMNS
)


# json.dumps(item, ensure_ascii=False, separators=(",", ":")), without a new encoder each call: a row is written
# without spaces, as SQLite's json_object writes it (store.jsondump)
_encoder = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
# each item one row's JSON text in UTF-8 (from store.jsondump: or the id of a row to convert)
Chunks = Iterable[list[Any]]
Convert = Callable[[Any], dict[str, Any]]


def _json_rows(conn: Any, query: Any, convert: Convert) -> Chunks:
    chunk: list[bytes] = []
    for r in streamed(conn, query):
        chunk.append(_encoder.encode(convert(r)).encode())
        if len(chunk) >= CHUNK:
            yield chunk
            chunk = []
    yield chunk


class _Table:
    """One table's rows converted in Python: all of the pipeline's (`chunks`), or one row by its id (`one`, for
    a row whose text SQLite could not write)."""

    def __init__(self, conn: Any, table: Any, where: Any, convert: Convert) -> None:
        self._conn, self._table, self._where, self._convert = conn, table, where, convert

    def chunks(self) -> Chunks:
        query = select(*self._table.c).where(*self._where).order_by(self._table.c.id)
        return _json_rows(self._conn, query, self._convert)

    def one(self, row_id: int) -> bytes:
        row = self._conn.execute(select(*self._table.c).where(self._table.c.id == row_id)).one()
        return _encoder.encode(self._convert(row)).encode()


def _resolved(chunk: list[Any], one: Callable[[int], bytes]) -> list[bytes]:
    """The chunk with every row id (a row SQLite left to Python) replaced by its text."""
    return [one(item) if isinstance(item, int) else item for item in chunk]


class _Sink:
    """Where the export goes: the bytes straight to the file under a text stream that has one (`-o FILE`),
    else decoded for the text stream (stdout through its escaping, a StringIO)."""

    def __init__(self, out: IO[str]) -> None:
        self._out = out
        self._raw: Any = None
        if isinstance(out, io.TextIOWrapper) and (out.encoding or "").lower().replace("-", "") == "utf8":
            self._raw = out.buffer
        if self._raw is not None:
            out.flush()

    def write(self, data: bytes) -> None:
        if self._raw is not None:
            self._raw.write(data)
        else:
            self._out.write(data.decode())

    def flush(self) -> None:
        if self._raw is not None:
            self._raw.flush()


def _deal(r: Any) -> dict[str, Any]:
    return {
        "id": r.id, "title": r.title, "company": r.company, "contact": r.contact,
        "value": to_json_number(r.value_minor, r.currency), "currency": r.currency, "owner": r.owner,
        "type_id": r.type_id, "expected_close": date_iso(r.expected_close), "notes": r.notes,
        "stage_id": r.stage_id, "status": r.status, "lost_reason": r.lost_reason,
        "created_at": iso(r.created_at), "stage_entered_at": iso(r.stage_entered_at),
        "closed_at": iso(r.closed_at), "last_activity_at": iso(r.last_activity_at), "rank": r.rank,
        "version": r.version, "snoozed_until": date_iso(r.snoozed_until)}


def _event(r: Any) -> dict[str, Any]:
    return {
        "id": r.id, "deal_id": r.deal_id, "kind": r.kind, "at": iso(r.at), "user": r.user,
        "from_stage_id": r.from_stage_id, "to_stage_id": r.to_stage_id, "field": r.field,
        "old_value": r.old_value, "new_value": r.new_value, "reason": r.reason, "ref_id": r.ref_id}


def _stay(r: Any) -> dict[str, Any]:
    return {
        "id": r.id, "deal_id": r.deal_id, "stage_id": r.stage_id, "entered_at": iso(r.entered_at),
        "left_at": iso(r.left_at), "outcome": r.outcome}


def _activity(r: Any) -> dict[str, Any]:
    return {
        "id": r.id, "deal_id": r.deal_id, "kind": r.kind, "subject": r.subject, "at": iso(r.at),
        "user": r.user, "due": date_iso(r.due), "done": bool(r.done)}


def _second_reader(db: Database, conn: Any) -> contextlib.AbstractContextManager[Any]:
    """A second connection reading ranges of rows beside this one on the same snapshot (None: none). On SQLite only
    while a core is free for it (the file's reads run in this process); on PostgreSQL the server's backends build
    the text, on the server's cores, and a second one costs no more work in all (docs/PERFORMANCE.md, Big files,
    round 7)."""
    if db.target.is_postgres:
        from tuikanban.store import jsondump_pg

        return jsondump_pg.snapshot_pair(conn, db.target)
    return jsondump.snapshot_pair(conn, db.target.path if second_core_free() else None)


def write_pipeline_json(db: Database, pipeline: str | int | None, out: IO[str]) -> int:
    """Write one pipeline as a JSON document (streamed: rows are read and written in chunks, never all held in
    memory). Returns the deal count. On SQLite the big tables' rows come as JSON text from `store.jsondump`."""
    from tuikanban.store.tables import SCHEMA_VERSION

    with db.read() as s, _second_reader(db, s.connection()) as twin:
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
                "next_step_signal": bool(p.next_step_signal),
            },
        }
        # A deleted deal (kept only so `deal restore` can bring it back) leaves the export with all its history.
        live = select(_D.id).where(_D.pipeline_id == pid, _D.status != DELETED)
        deals = _Table(conn, Deal.__table__, (_D.pipeline_id == pid, _D.status != DELETED), _deal)  # type: ignore[attr-defined]
        events = _Table(conn, Event.__table__, (_E.pipeline_id == pid,  # type: ignore[attr-defined]
                                                or_(_E.deal_id.is_(None), _E.deal_id.in_(live))), _event)
        stays = _Table(conn, Stay.__table__, (_Y.pipeline_id == pid, _Y.deal_id.in_(live)), _stay)  # type: ignore[attr-defined]
        activities = _Table(conn, Activity.__table__, (_A.pipeline_id == pid, _A.deal_id.in_(live)), _activity)  # type: ignore[attr-defined]
        count = conn.execute(select(func.count()).select_from(Deal.__table__)  # type: ignore[attr-defined]
                             .where(_D.pipeline_id == pid, _D.status != DELETED)).scalar_one()
        sections: list[tuple[str, Chunks, Callable[[int], bytes] | None]] = [
            ("stages", _json_rows(conn, select(*Stage.__table__.c).where(_S.pipeline_id == pid)  # type: ignore[attr-defined]
                                  .order_by(_S.position, _S.id), lambda r: {
                "id": r.id, "name": r.name, "position": r.position, "wip_max": r.wip_max, "wip_min": r.wip_min,
                "rep_wip_max": r.rep_wip_max, "expected_days": r.expected_days, "probability": r.probability,
                "exit_criteria": r.exit_criteria, "archived": bool(r.archived),
                "required": list(gates.stored_requirements(r.required)),
                "checklist": list(gates.stored_checklist(r.checklist))}), None),
            ("types", _json_rows(conn, select(_T.id, _T.name, _T.position, _T.archived).where(_T.pipeline_id == pid)
                                 .order_by(_T.position, _T.id), lambda r: {
                "id": r.id, "name": r.name, "position": r.position, "archived": bool(r.archived)}), None),
            ("deals", jsondump.rows(conn, "deal", pid, twin, money=(cur, exponent(cur))) or deals.chunks(),
             deals.one),
            ("events", jsondump.rows(conn, "event", pid, twin) or events.chunks(), events.one),
            ("stays", jsondump.rows(conn, "stay", pid, twin) or stays.chunks(), stays.one),
            ("activities", jsondump.rows(conn, "activity", pid, twin) or activities.chunks(), activities.one),
            # each user's last review of the pipeline ("since last review"): a few rows, one per user
            ("review_marks", _json_rows(conn, select(_R.user, _R.at).where(_R.pipeline_id == pid)
                                        .order_by(_R.user), lambda r: {"user": r.user, "at": iso(r.at)}), None),
        ]
        try:
            _write_sections(_Sink(out), head, sections)
            return int(count)
        finally:  # a failed write (a full disk) stops the readers before the connections close
            for _name, chunks, _one in sections:
                close = getattr(chunks, "close", None)
                if close is not None:
                    close()


def _write_sections(sink: _Sink, head: dict[str, Any],
                    sections: list[tuple[str, Chunks, Callable[[int], bytes] | None]]) -> None:
    """The document: the head, then each section's rows, one a line (an item of a chunk may hold several rows,
    joined as the chunk's items are). A section's row given as its id (store.jsondump could not write its text) is
    converted by the section's `one`."""
    body = json.dumps(head, ensure_ascii=False, indent=1)
    sink.write(body[:-2].encode())  # without the closing "\n}"
    for name, chunks, one in sections:
        sink.write(f',\n "{name}": ['.encode())
        first = True
        for chunk in chunks:
            if not chunk:
                continue
            try:
                text = b",\n  ".join(chunk)
            except TypeError:  # an id among the texts (bytes.join refuses it): only then is the chunk looked at
                if one is None:
                    raise
                text = b",\n  ".join(_resolved(chunk, one))
            sink.write(b"\n  " if first else b",\n  ")
            sink.write(text)  # (a range's text as SQLite gave it: joined to its separator it was copied once more)
            first = False
        sink.write(b"\n ]" if not first else b"]")
    sink.write(b"\n}\n")
    sink.flush()
