"""Import and export: deals from and to CSV, and a whole pipeline to and from JSON.

CSV import (`import_csv_text`): a header row, columns in any order, only `title` required (see CSV_COLUMNS).
The whole file is checked before anything is written; every bad row is named with its line number and reason
(`ImportProblems`). Then everything is written in ONE write transaction, with bulk inserts, so that either every
row is imported or none is. Each imported deal gets the history a deal created by hand would have: a `create`
event and a stay from `created_at`, plus a `won` or `lost` event that ends the stay at `closed_at`, so aging and
metrics work on imported data.

WIP limits hold for imports too: rows that would put an open deal into a stage at its `wip_max` (or an owner at
the stage's `rep_wip_max`) are refused like any other bad row, counted in file order on top of the deals already
open. With a force reason they are imported and each one is logged as a `wip_override` event, as a forced move is.

CSV export (`write_csv`) writes the same columns (so an export imports back) and neutralises every cell that a
spreadsheet would run as a formula (starting with = + - @, a tab or a carriage return) by prefixing a `'`; the
import removes that prefix again.

JSON export (`write_pipeline_json`) holds a pipeline's settings, stages, deal types, deals, events, stays and
activities; `import_pipeline_json` recreates it (in an empty database, or next to other pipelines) with the same
board, history and metrics. Ids are kept when they are free, otherwise renumbered consistently.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from sqlalchemy import func, insert, select
from sqlmodel import Session

from tuikanban.domain import clock, wip
from tuikanban.domain.errors import DuplicateError, ValidationError
from tuikanban.domain.money import normalise_currency, parse_money, to_decimal, to_json_number
from tuikanban.domain.text import clean_name, clean_text, name_key
from tuikanban.services.common import active_stages, resolve_pipeline
from tuikanban.services.deals import MAX_FIELD, MAX_NOTES, MAX_TITLE
from tuikanban.store.engine import Database
from tuikanban.store.tables import (
    ACTIVITY_KINDS,
    EVENT_KINDS,
    STATUSES,
    Activity,
    Deal,
    DealType,
    Event,
    Pipeline,
    Stage,
    Stay,
)

CSV_COLUMNS = (
    "title", "company", "contact", "value", "currency", "owner", "type", "stage", "status", "created_at",
    "closed_at", "lost_reason", "expected_close", "notes",
)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
JSON_FORMAT = "tuikanban-pipeline"
JSON_VERSION = 1
MAX_LOST_REASON = 500
MAX_OWNER = 200
MAX_ACTIVITY = 2000
CHUNK = 1000

Progress = Callable[[str, int, int], None]
"""progress(phase, done, total): phase is "checking" or "writing"."""

_TABLES: dict[str, Any] = {
    "stage": Stage.__table__, "type": DealType.__table__, "deal": Deal.__table__,  # type: ignore[attr-defined]
    "event": Event.__table__, "stay": Stay.__table__, "activity": Activity.__table__,  # type: ignore[attr-defined]
}
_P = Pipeline.__table__.c  # type: ignore[attr-defined]
_D = Deal.__table__.c  # type: ignore[attr-defined]
_S = Stage.__table__.c  # type: ignore[attr-defined]
_T = DealType.__table__.c  # type: ignore[attr-defined]
_E = Event.__table__.c  # type: ignore[attr-defined]
_Y = Stay.__table__.c  # type: ignore[attr-defined]
_A = Activity.__table__.c  # type: ignore[attr-defined]


class ImportProblems(ValidationError):
    """An import refused as a whole: one line per bad row (or item), then a summary sentence."""

    def __init__(self, problems: list[str], summary: str) -> None:
        super().__init__("\n".join([*problems, summary]))
        self.problems = problems
        self.summary = summary


@dataclass(frozen=True, slots=True)
class ImportResult:
    pipeline: str
    deals: int
    open: int
    won: int
    lost: int
    overrides: int = 0
    events: int = 0
    renumbered: bool = False


# -- helpers ----------------------------------------------------------------------------------------


def neutralise(cell: str) -> str:
    """A CSV cell a spreadsheet will not run as a formula: a leading = + - @ tab or CR gets a `'` before it."""
    return "'" + cell if cell.startswith(FORMULA_STARTS) else cell


def _unneutralise(cell: str) -> str:
    return cell[1:] if cell.startswith("'") and cell[1:].startswith(FORMULA_STARTS) else cell


def _iso(value: datetime | None) -> str | None:
    return clock.as_utc(value).isoformat() if value is not None else None


def _date_iso(value: date | str | None) -> str | None:
    if value is None:
        return None
    return value.isoformat() if isinstance(value, date) else str(value)


def _major(minor: int | None, currency: str) -> str:
    return "" if minor is None else f"{to_decimal(minor, currency):f}"


def _progress(progress: Progress | None, phase: str, done: int, total: int) -> None:
    if progress is not None:
        progress(phase, done, total)


def _next_id(conn: Any, column: Any) -> int:
    return int(conn.execute(select(func.coalesce(func.max(column), 0))).scalar_one()) + 1


def _insert_chunks(
    conn: Any, table: Any, rows: list[dict[str, Any]], progress: Progress | None = None, done: int = 0,
    total: int = 0,
) -> int:
    for start in range(0, len(rows), CHUNK):
        chunk = rows[start:start + CHUNK]
        conn.execute(insert(table), chunk)
        done += len(chunk)
        _progress(progress, "writing", done, total)
    return done


# -- CSV export -------------------------------------------------------------------------------------


def _deal_rows(s: Session, pipeline_id: int, status: str) -> Iterator[Any]:
    q = select(*Deal.__table__.c).where(_D.pipeline_id == pipeline_id)  # type: ignore[attr-defined]
    if status != "all":
        q = q.where(_D.status == status)
    yield from s.connection().execute(q.order_by(_D.id))


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
                "value": _major(r.value_minor, r.currency), "currency": r.currency, "owner": r.owner,
                "type": types.get(r.type_id, "") if r.type_id else "", "stage": stages.get(r.stage_id, ""),
                "status": r.status, "created_at": _iso(r.created_at) or "", "closed_at": _iso(r.closed_at) or "",
                "lost_reason": r.lost_reason, "expected_close": _date_iso(r.expected_close) or "",
                "notes": r.notes,
            }
            writer.writerow([neutralise(str(values[c] or "")) for c in CSV_COLUMNS])
            n += 1
    return n


# -- CSV import -------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Planned:
    line: int
    title: str
    company: str
    contact: str
    value_minor: int | None
    currency: str
    owner: str
    type_id: int | None
    stage_id: int
    status: str
    created_at: datetime
    closed_at: datetime | None
    lost_reason: str
    expected_close: date | None
    notes: str


@dataclass(slots=True)
class _Catalogue:
    """What a row may refer to: the pipeline's currency, stages and deal types (read before the write)."""

    pipeline_id: int
    pipeline_name: str
    currency: str
    stages: dict[str, tuple[int, str]] = field(default_factory=dict)  # key -> (id, name)
    stage_names: list[str] = field(default_factory=list)
    types: dict[str, tuple[int, str]] = field(default_factory=dict)
    type_names: list[str] = field(default_factory=list)


def _catalogue(db: Database, pipeline: str | int | None) -> _Catalogue:
    with db.read() as s:
        p = resolve_pipeline(s, pipeline)
        assert p.id is not None
        cat = _Catalogue(p.id, p.name, p.currency)
        for st in active_stages(s, p):
            assert st.id is not None
            cat.stages[st.name_key] = (st.id, st.name)
            cat.stage_names.append(st.name)
        if not cat.stages:
            raise ValidationError(f"Pipeline {p.name} has no stages; add one with 'tuikanban stage add'.")
        rows = s.connection().execute(
            select(_T.id, _T.name, _T.name_key).where(_T.pipeline_id == p.id).order_by(_T.position, _T.id))
        for r in rows:
            cat.types[r.name_key] = (r.id, r.name)
            cat.type_names.append(r.name)
    return cat


def _header_key(name: str) -> str:
    return name.strip().lstrip("\ufeff").strip().lower().replace(" ", "_").replace("-", "_")


def _dialect(text: str) -> str:
    first = text.split("\n", 1)[0]
    if "," not in first:
        for candidate in (";", "\t"):
            if candidate in first:
                return candidate
    return ","


def _records(text: str) -> Iterator[tuple[int, list[str]]]:
    """(first line number, cells) for every record, blank lines skipped; CSV syntax errors name their line."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_dialect(text), strict=True)
    prev = 0
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise ValidationError(f"Line {reader.line_num} is not valid CSV ({exc}); nothing was imported.") from None
        start = prev + 1
        prev = reader.line_num
        if not cells or all(not c.strip() for c in cells):
            continue
        yield start, cells


def _text(raw: dict[str, str], key: str, what: str, limit: int, problems: list[str], *,
          multiline: bool = False) -> str:
    value = clean_text(_unneutralise(raw.get(key, "")), multiline=multiline).strip()
    if len(value) > limit:
        problems.append(f"the {what} is longer than {limit} characters ({len(value)}).")
    return value


def _check_row(line: int, raw: dict[str, str], cat: _Catalogue, user: str, now: datetime,
               problems: list[str]) -> _Planned | None:
    """One row's values, or None with the reasons appended to `problems`."""
    title = _text(raw, "title", "title", MAX_TITLE, problems)
    if not title:
        problems.append("the title is empty.")
    company = _text(raw, "company", "company", MAX_FIELD, problems)
    contact = _text(raw, "contact", "contact", MAX_FIELD, problems)
    notes = _text(raw, "notes", "notes", MAX_NOTES, problems, multiline=True)
    owner = _text(raw, "owner", "owner", MAX_OWNER, problems) or user
    lost_reason = _text(raw, "lost_reason", "lost reason", MAX_LOST_REASON, problems)

    def attempt(fn: Callable[[], Any]) -> Any:
        try:
            return fn()
        except ValidationError as exc:
            problems.append(_lower_first(str(exc)))
            return None

    currency_raw = raw.get("currency", "").strip()
    currency = attempt(lambda: normalise_currency(currency_raw)) if currency_raw else cat.currency
    value_raw = _unneutralise(raw.get("value", "")).strip()
    value_minor = None
    if value_raw and currency:
        value_minor = attempt(lambda: parse_money(value_raw, currency))

    stage_raw = clean_text(raw.get("stage", "")).strip()
    if stage_raw:
        found = cat.stages.get(name_key(stage_raw))
        if found is None:
            problems.append(f"{cat.pipeline_name} has no stage named '{stage_raw}' "
                            f"(stages: {', '.join(cat.stage_names)}).")
        stage_id = found[0] if found else 0
    else:
        stage_id = next(iter(cat.stages.values()))[0]

    type_raw = clean_text(raw.get("type", "")).strip()
    type_id = None
    if type_raw:
        found_t = cat.types.get(name_key(type_raw))
        if found_t is None:
            known = f"types: {', '.join(cat.type_names)}" if cat.type_names else "it has none yet"
            problems.append(f"{cat.pipeline_name} has no deal type named '{type_raw}' ({known}; add it with "
                            "'tuikanban type add').")
        else:
            type_id = found_t[0]

    status = raw.get("status", "").strip().lower() or "open"
    if status not in STATUSES:
        problems.append(f"'{raw.get('status', '').strip()}' is not a status; use open, won or lost.")

    created_raw = raw.get("created_at", "").strip()
    created = attempt(lambda: clock.parse_instant(created_raw, what="created_at")) if created_raw else now
    closed_raw = raw.get("closed_at", "").strip()
    closed = attempt(lambda: clock.parse_instant(closed_raw, what="closed_at")) if closed_raw else None
    if not created_raw and closed is not None:
        created = closed  # a closed deal with no creation time: created when it closed, not now
    close_raw = raw.get("expected_close", "").strip()
    expected = attempt(lambda: clock.parse_date(close_raw, what="expected_close date")) if close_raw else None

    if created is not None and created > now:
        problems.append(f"created_at {created_raw} is in the future.")
    if status == "open":
        if closed_raw:
            problems.append("an open deal has no closed_at; leave it empty or set the status to won or lost.")
        if lost_reason:
            problems.append("an open deal has no lost_reason; leave it empty or set the status to lost.")
    elif status in ("won", "lost"):
        if closed is None and not closed_raw:
            closed = now  # closed at import time, as `deal won` without --at would be
        if closed is not None and created is not None and closed < created:
            problems.append(f"closed_at {closed_raw} is before created_at {created_raw or 'now'}.")
        if closed is not None and closed > now:
            problems.append(f"closed_at {closed_raw} is in the future.")
        if status == "lost" and not lost_reason:
            problems.append("a lost deal needs a lost_reason.")
        if status == "won" and lost_reason:
            problems.append("a won deal has no lost_reason; leave it empty or set the status to lost.")
    if problems:
        return None
    return _Planned(line, title, company, contact, value_minor, currency, owner, type_id, stage_id, status,
                    created, closed, lost_reason, expected, notes)


def _lower_first(sentence: str) -> str:
    if len(sentence) > 1 and sentence[0].isupper() and not sentence[1].isupper():
        return sentence[0].lower() + sentence[1:]
    return sentence


def parse_csv(text: str, cat: _Catalogue, *, user: str, progress: Progress | None = None) -> list[_Planned]:
    """Check every row; raise ImportProblems naming every bad row, else return the planned deals."""
    records = list(_records(text))
    if not records:
        raise ValidationError("The file is empty; it needs a header row with at least a 'title' column.")
    header_line, header = records[0]
    keys = [_header_key(h) for h in header]
    unknown = [h.strip() for h, k in zip(header, keys, strict=True) if k and k not in CSV_COLUMNS]
    if unknown:
        raise ValidationError(
            f"Line {header_line}: unknown column {', '.join(repr(clean_text(u)) for u in unknown)}; "
            f"the columns are {', '.join(CSV_COLUMNS)}."
        )
    dupes = sorted({k for k in keys if k and keys.count(k) > 1})
    if dupes:
        raise ValidationError(f"Line {header_line}: the column {', '.join(dupes)} appears twice.")
    if "title" not in keys:
        raise ValidationError(f"Line {header_line}: the header has no 'title' column (the one column required).")
    rows = records[1:]
    if not rows:
        raise ValidationError("The file has a header row but no deals.")
    now = clock.now()
    planned: list[_Planned] = []
    bad: list[str] = []
    total = len(rows)
    for i, (line, cells) in enumerate(rows, 1):
        problems: list[str] = []
        if len(cells) > len(keys) and any(c.strip() for c in cells[len(keys):]):
            problems.append(f"it has {len(cells)} cells but the header has {len(keys)} columns.")
        raw = {k: cells[j] if j < len(cells) else "" for j, k in enumerate(keys) if k}
        plan = _check_row(line, raw, cat, user, now, problems)
        if plan is None:
            bad.append(f"line {line}: " + "; ".join(p.rstrip(".") for p in problems) + ".")
        else:
            planned.append(plan)
        if i % CHUNK == 0 or i == total:
            _progress(progress, "checking", i, total)
    if bad:
        noun = "row has" if len(bad) == 1 else "rows have"
        raise ImportProblems(bad, f"Nothing was imported: {len(bad)} of {total} {noun} problems.")
    return planned


def import_csv_text(
    db: Database, text: str, pipeline: str | int | None, *, user: str, force_reason: str | None = None,
    progress: Progress | None = None,
) -> ImportResult:
    """Import deals from CSV text into a pipeline: all rows or none."""
    if force_reason is not None and not clean_text(force_reason).strip():
        raise ValidationError("Importing past a WIP limit needs a reason.")
    cat = _catalogue(db, pipeline)
    planned = parse_csv(text, cat, user=user, progress=progress)
    return db.write(lambda s: _write_planned(s, cat, planned, user, force_reason, progress))


def _write_planned(s: Session, cat: _Catalogue, planned: list[_Planned], user: str, force_reason: str | None,
                   progress: Progress | None) -> ImportResult:
    conn = s.connection()
    # The stages and types may have changed since the file was checked: look again inside the transaction.
    live = {r.id: r for r in conn.execute(
        select(_S.id, _S.name, _S.wip_max, _S.rep_wip_max, _S.archived).where(_S.pipeline_id == cat.pipeline_id))}
    live_types = set(conn.execute(select(_T.id).where(_T.pipeline_id == cat.pipeline_id)).scalars())
    for plan in planned:
        st = live.get(plan.stage_id)
        if st is None or st.archived or (plan.type_id is not None and plan.type_id not in live_types):
            raise ValidationError("The pipeline's stages or deal types changed during the import; nothing was "
                                  "imported, run the import again.")
    counts: dict[int, int] = dict(conn.execute(
        select(_D.stage_id, func.count()).where(_D.pipeline_id == cat.pipeline_id, _D.status == "open")
        .group_by(_D.stage_id)).all())
    owner_counts: dict[tuple[int, str], int] = {
        (r[0], r[1]): int(r[2]) for r in conn.execute(
            select(_D.stage_id, _D.owner, func.count()).where(_D.pipeline_id == cat.pipeline_id, _D.status == "open")
            .group_by(_D.stage_id, _D.owner))}
    over: list[str] = []
    forced: set[int] = set()
    for plan in planned:
        if plan.status != "open":
            continue
        st = live[plan.stage_id]
        n = counts.get(plan.stage_id, 0)
        n_owner = owner_counts.get((plan.stage_id, plan.owner), 0)
        refusal = None
        if st.wip_max is not None and not wip.admits(n, st.wip_max):
            refusal = wip.refusal(st.name, n, st.wip_max)
        elif st.rep_wip_max is not None and plan.owner and not wip.admits(n_owner, st.rep_wip_max):
            refusal = wip.refusal(st.name, n_owner, st.rep_wip_max, plan.owner)
        if refusal is not None:
            if force_reason is None:
                over.append(f"line {plan.line}: {refusal}.")
                continue  # count on as if it were refused, so every row past the limit is named
            forced.add(plan.line)
        counts[plan.stage_id] = n + 1
        owner_counts[(plan.stage_id, plan.owner)] = n_owner + 1
    if over:
        noun = "row" if len(over) == 1 else "rows"
        raise ImportProblems(over, f"Nothing was imported: {len(over)} {noun} would go past a WIP limit "
                                   "(use --force with --reason to import them anyway, logged as WIP overrides).")

    deal_id = _next_id(conn, _D.id)
    ranks: dict[int, int] = dict(conn.execute(
        select(_D.stage_id, func.max(_D.rank)).where(_D.pipeline_id == cat.pipeline_id, _D.status == "open")
        .group_by(_D.stage_id)).all())
    reason = clean_text(force_reason).strip() if force_reason else None
    deals: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    stays: list[dict[str, Any]] = []
    for plan in planned:
        rank = ranks.get(plan.stage_id, -1) + 1
        if plan.status == "open":
            ranks[plan.stage_id] = rank
        closed = plan.status != "open"
        deals.append({
            "id": deal_id, "pipeline_id": cat.pipeline_id, "title": plan.title, "company": plan.company,
            "contact": plan.contact, "value_minor": plan.value_minor, "currency": plan.currency,
            "owner": plan.owner, "type_id": plan.type_id, "expected_close": plan.expected_close,
            "notes": plan.notes, "stage_id": plan.stage_id, "status": plan.status,
            "lost_reason": plan.lost_reason, "created_at": plan.created_at, "stage_entered_at": plan.created_at,
            "closed_at": plan.closed_at, "last_activity_at": None, "rank": rank, "version": 2 if closed else 1,
        })
        base = {"pipeline_id": cat.pipeline_id, "deal_id": deal_id, "user": user, "from_stage_id": None,
                "to_stage_id": None, "field": None, "old_value": None, "new_value": None, "reason": None,
                "ref_id": None}
        if plan.line in forced:
            events.append({**base, "kind": "wip_override", "at": plan.created_at, "to_stage_id": plan.stage_id,
                           "reason": reason})
        events.append({**base, "kind": "create", "at": plan.created_at, "to_stage_id": plan.stage_id})
        if closed:
            events.append({**base, "kind": plan.status, "at": plan.closed_at, "from_stage_id": plan.stage_id,
                           "reason": plan.lost_reason if plan.status == "lost" else None})
        stays.append({"pipeline_id": cat.pipeline_id, "deal_id": deal_id, "stage_id": plan.stage_id,
                      "entered_at": plan.created_at, "left_at": plan.closed_at,
                      "outcome": None if not closed else ("advanced" if plan.status == "won" else "dropped")})
        deal_id += 1
    events.sort(key=lambda e: e["at"])  # the log in time order (stable: an override stays before its create)
    total = len(deals) + len(events) + len(stays)
    done = _insert_chunks(conn, _TABLES["deal"], deals, progress, 0, total)
    done = _insert_chunks(conn, _TABLES["event"], events, progress, done, total)
    _insert_chunks(conn, _TABLES["stay"], stays, progress, done, total)
    won = sum(1 for p in planned if p.status == "won")
    lost = sum(1 for p in planned if p.status == "lost")
    return ImportResult(cat.pipeline_name, len(planned), len(planned) - won - lost, won, lost, len(forced),
                        len(events))


# -- JSON export ------------------------------------------------------------------------------------


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
                "default": bool(p.is_default), "created_at": _iso(p.created_at),
            },
        }
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
                                 .order_by(_D.id), lambda r: {
                "id": r.id, "title": r.title, "company": r.company, "contact": r.contact,
                "value": to_json_number(r.value_minor, r.currency), "currency": r.currency, "owner": r.owner,
                "type_id": r.type_id, "expected_close": _date_iso(r.expected_close), "notes": r.notes,
                "stage_id": r.stage_id, "status": r.status, "lost_reason": r.lost_reason,
                "created_at": _iso(r.created_at), "stage_entered_at": _iso(r.stage_entered_at),
                "closed_at": _iso(r.closed_at), "last_activity_at": _iso(r.last_activity_at), "rank": r.rank,
                "version": r.version})),
            ("events", _json_rows(conn, select(*Event.__table__.c).where(_E.pipeline_id == pid)  # type: ignore[attr-defined]
                                  .order_by(_E.id), lambda r: {
                "id": r.id, "deal_id": r.deal_id, "kind": r.kind, "at": _iso(r.at), "user": r.user,
                "from_stage_id": r.from_stage_id, "to_stage_id": r.to_stage_id, "field": r.field,
                "old_value": r.old_value, "new_value": r.new_value, "reason": r.reason, "ref_id": r.ref_id})),
            ("stays", _json_rows(conn, select(*Stay.__table__.c).where(_Y.pipeline_id == pid)  # type: ignore[attr-defined]
                                 .order_by(_Y.id), lambda r: {
                "id": r.id, "deal_id": r.deal_id, "stage_id": r.stage_id, "entered_at": _iso(r.entered_at),
                "left_at": _iso(r.left_at), "outcome": r.outcome})),
            ("activities", _json_rows(conn, select(*Activity.__table__.c).where(_A.pipeline_id == pid)  # type: ignore[attr-defined]
                                      .order_by(_A.id), lambda r: {
                "id": r.id, "deal_id": r.deal_id, "kind": r.kind, "subject": r.subject, "at": _iso(r.at),
                "user": r.user, "due": _date_iso(r.due), "done": bool(r.done)})),
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


# -- JSON import ------------------------------------------------------------------------------------


class _Checker:
    """Collects problems with the items of a JSON export, each named by its place in the file."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def bad(self, where: str, message: str) -> None:
        self.problems.append(f"{where}: {message}")

    def text(self, where: str, item: dict[str, Any], key: str, limit: int, *, multiline: bool = False,
             required: bool = False) -> str:
        raw = item.get(key)
        if raw is None:
            raw = ""
        if not isinstance(raw, str):
            self.bad(where, f"'{key}' must be text.")
            return ""
        value = clean_text(raw, multiline=multiline).strip()
        if len(value) > limit:
            self.bad(where, f"'{key}' is longer than {limit} characters ({len(value)}).")
        if required and not value:
            self.bad(where, f"'{key}' is empty.")
        return value

    def opt_text(self, where: str, item: dict[str, Any], key: str) -> str | None:
        raw = item.get(key)
        if raw is None:
            return None
        if not isinstance(raw, str):
            self.bad(where, f"'{key}' must be text or null.")
            return None
        return clean_text(raw, multiline=True)

    def integer(self, where: str, item: dict[str, Any], key: str, *, optional: bool = True,
                minimum: int | None = None) -> int | None:
        value = item.get(key)
        if value is None:
            if not optional:
                self.bad(where, f"'{key}' is missing.")
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            self.bad(where, f"'{key}' must be a whole number.")
            return None
        if minimum is not None and value < minimum:
            self.bad(where, f"'{key}' must be at least {minimum}.")
            return None
        return value

    def instant(self, where: str, item: dict[str, Any], key: str, *, optional: bool = False) -> datetime | None:
        value = item.get(key)
        if value is None:
            if not optional:
                self.bad(where, f"'{key}' is missing.")
            return None
        try:
            return clock.parse_instant(str(value), what=key)
        except ValidationError as exc:
            self.bad(where, _lower_first(str(exc)))
            return None

    def day(self, where: str, item: dict[str, Any], key: str) -> date | None:
        value = item.get(key)
        if value is None or value == "":
            return None
        try:
            return clock.parse_date(str(value), what=key)
        except ValidationError as exc:
            self.bad(where, _lower_first(str(exc)))
            return None

    def money(self, where: str, item: dict[str, Any], key: str, currency: str) -> int | None:
        value = item.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | Decimal):
            self.bad(where, f"'{key}' must be a number or null.")
            return None
        try:
            return parse_money(f"{value:f}" if isinstance(value, Decimal) else str(value), currency)
        except ValidationError as exc:
            self.bad(where, _lower_first(str(exc)))
            return None

    def ref(self, where: str, item: dict[str, Any], key: str, known: dict[int, int], *,
            optional: bool = True) -> int | None:
        value = self.integer(where, item, key, optional=optional)
        if value is None:
            return None
        if value not in known:
            self.bad(where, f"'{key}' {value} refers to nothing in the file.")
            return None
        return known[value]


def _items(doc: dict[str, Any], key: str, chk: _Checker) -> list[dict[str, Any]]:
    value = doc.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        chk.bad(key, "must be a list of objects.")
        return []
    return value


def _ids(items: list[dict[str, Any]], key: str, chk: _Checker, start: int, keep: set[int] | None) -> dict[int, int]:
    """Old id -> new id: the same ids when all of them are free, else numbers from `start` on."""
    olds: list[int] = []
    for i, item in enumerate(items):
        value = item.get("id")
        if isinstance(value, bool) or not isinstance(value, int):
            chk.bad(f"{key}[{i}]", "'id' must be a whole number.")
            continue
        olds.append(value)
    if len(set(olds)) != len(olds):
        chk.bad(key, "two items have the same id.")
    if keep is not None and olds and min(olds) > 0 and not (set(olds) & keep):
        return {o: o for o in olds}
    return {o: start + i for i, o in enumerate(olds)}


def read_json(text: str) -> dict[str, Any]:
    try:
        doc = json.loads(text, parse_float=Decimal)
    except json.JSONDecodeError as exc:
        raise ValidationError(f"The file is not valid JSON (line {exc.lineno}, column {exc.colno}: "
                              f"{exc.msg}); nothing was imported.") from None
    if not isinstance(doc, dict) or doc.get("format") != JSON_FORMAT:
        raise ValidationError("The file is not a tuikanban pipeline export (its 'format' is not "
                              f"'{JSON_FORMAT}'); nothing was imported.")
    version = doc.get("version")
    if not isinstance(version, int) or version > JSON_VERSION:
        raise ValidationError(f"The file is a pipeline export of version {version}, newer than this tuikanban "
                              f"reads ({JSON_VERSION}); upgrade tuikanban to import it.")
    return doc


def import_pipeline_json(
    db: Database, doc: dict[str, Any], *, name: str | None = None, progress: Progress | None = None
) -> ImportResult:
    """Recreate an exported pipeline (under `name` when given): all of it or nothing."""

    def work(s: Session) -> ImportResult:
        return _write_pipeline_doc(s, doc, name, progress)

    return db.write(work)


def _write_pipeline_doc(s: Session, doc: dict[str, Any], name: str | None, progress: Progress | None) -> ImportResult:
    conn = s.connection()
    chk = _Checker()
    pdoc = doc.get("pipeline")
    if not isinstance(pdoc, dict):
        raise ValidationError("The file has no 'pipeline' object; nothing was imported.")
    pname = clean_name(name if name is not None else str(pdoc.get("name") or ""), what="pipeline")
    if conn.execute(select(_P.id).where(_P.name_key == name_key(pname))).first() is not None:
        raise DuplicateError(f"A pipeline named '{pname}' already exists; nothing was imported (import into an "
                             "empty database, or give the pipeline another name with -p).")
    currency = str(pdoc.get("currency") or "USD")
    try:
        currency = normalise_currency(currency)
    except ValidationError as exc:
        chk.bad("pipeline", _lower_first(str(exc)))
        currency = "USD"
    target = chk.money("pipeline", pdoc, "target", currency)
    stale = chk.integer("pipeline", pdoc, "stale_days", minimum=1) or 10
    reasons_raw = pdoc.get("lost_reasons") or []
    reasons = [clean_text(str(r)).strip() for r in reasons_raw if str(r).strip()] if isinstance(
        reasons_raw, list) else []
    created = chk.instant("pipeline", pdoc, "created_at", optional=True) or clock.now()
    is_default = bool(pdoc.get("default")) and not conn.execute(
        select(func.count()).where(_P.is_default == True)  # noqa: E712
    ).scalar_one()

    stages = _items(doc, "stages", chk)
    types = _items(doc, "types", chk)
    deals = _items(doc, "deals", chk)
    events = _items(doc, "events", chk)
    stays = _items(doc, "stays", chk)
    activities = _items(doc, "activities", chk)

    def existing(column: Any) -> set[int]:
        return set(conn.execute(select(column)).scalars())

    stage_ids = _ids(stages, "stages", chk, _next_id(conn, _S.id), existing(_S.id))
    type_ids = _ids(types, "types", chk, _next_id(conn, _T.id), existing(_T.id))
    deal_ids = _ids(deals, "deals", chk, _next_id(conn, _D.id), existing(_D.id))
    event_ids = _ids(events, "events", chk, _next_id(conn, _E.id), existing(_E.id))
    stay_ids = _ids(stays, "stays", chk, _next_id(conn, _Y.id), existing(_Y.id))
    activity_ids = _ids(activities, "activities", chk, _next_id(conn, _A.id), existing(_A.id))
    renumbered = any(any(k != v for k, v in m.items()) for m in (stage_ids, type_ids, deal_ids, event_ids))

    new_pipeline = Pipeline(name=pname, name_key=name_key(pname), currency=currency, target_minor=target,
                            stale_days=stale, lost_reasons="\n".join(reasons), is_default=is_default,
                            created_at=created)
    rows_stage: list[dict[str, Any]] = []
    keys_seen: set[str] = set()
    if not stages:
        chk.bad("stages", "a pipeline needs at least one stage.")
    for i, st in enumerate(stages):
        where = f"stages[{i}]"
        try:
            sname = clean_name(str(st.get("name") or ""), what="stage")
        except ValidationError as exc:
            chk.bad(where, _lower_first(str(exc)))
            continue
        if name_key(sname) in keys_seen:
            chk.bad(where, f"the stage name '{sname}' repeats.")
        keys_seen.add(name_key(sname))
        limits = [chk.integer(where, st, k, minimum=0) for k in ("wip_max", "wip_min", "rep_wip_max")]
        probability = chk.integer(where, st, "probability") or 0
        position = chk.integer(where, st, "position")
        try:
            wip.validate_limits(*limits, stage=sname)
            wip.validate_probability(probability, stage=sname)
        except ValidationError as exc:
            chk.bad(where, _lower_first(str(exc)))
        rows_stage.append({
            "id": _new_id(stage_ids, st), "name": sname, "name_key": name_key(sname),
            "position": i if position is None else position, "wip_max": limits[0], "wip_min": limits[1],
            "rep_wip_max": limits[2], "expected_days": chk.integer(where, st, "expected_days", minimum=1),
            "probability": probability,
            "exit_criteria": chk.text(where, st, "exit_criteria", MAX_NOTES, multiline=True),
            "archived": bool(st.get("archived")),
        })
    rows_type: list[dict[str, Any]] = []
    keys_seen = set()
    for i, t in enumerate(types):
        where = f"types[{i}]"
        try:
            tname = clean_name(str(t.get("name") or ""), what="deal type")
        except ValidationError as exc:
            chk.bad(where, _lower_first(str(exc)))
            continue
        if name_key(tname) in keys_seen:
            chk.bad(where, f"the deal type name '{tname}' repeats.")
        keys_seen.add(name_key(tname))
        tpos = chk.integer(where, t, "position")
        rows_type.append({"id": _new_id(type_ids, t), "name": tname, "name_key": name_key(tname),
                          "position": i if tpos is None else tpos})

    rows_deal: list[dict[str, Any]] = []
    for i, d in enumerate(deals):
        where = f"deals[{i}] (id {d.get('id')})"
        cur = currency
        if d.get("currency"):
            try:
                cur = normalise_currency(str(d.get("currency")))
            except ValidationError as exc:
                chk.bad(where, _lower_first(str(exc)))
        status = d.get("status")
        if status not in STATUSES:
            chk.bad(where, f"'status' must be one of {', '.join(STATUSES)}.")
        created_at = chk.instant(where, d, "created_at")
        closed_at = chk.instant(where, d, "closed_at", optional=True)
        if status in ("won", "lost") and closed_at is None:
            chk.bad(where, f"a {status} deal needs 'closed_at'.")
        rows_deal.append({
            "id": _new_id(deal_ids, d), "title": chk.text(where, d, "title", MAX_TITLE, required=True),
            "company": chk.text(where, d, "company", MAX_FIELD), "contact": chk.text(where, d, "contact", MAX_FIELD),
            "value_minor": chk.money(where, d, "value", cur), "currency": cur,
            "owner": chk.text(where, d, "owner", MAX_OWNER),
            "type_id": chk.ref(where, d, "type_id", type_ids), "expected_close": chk.day(where, d, "expected_close"),
            "notes": chk.text(where, d, "notes", MAX_NOTES, multiline=True),
            "stage_id": chk.ref(where, d, "stage_id", stage_ids, optional=False), "status": status,
            "lost_reason": chk.text(where, d, "lost_reason", MAX_LOST_REASON), "created_at": created_at,
            "stage_entered_at": chk.instant(where, d, "stage_entered_at", optional=True) or created_at,
            "closed_at": closed_at, "last_activity_at": chk.instant(where, d, "last_activity_at", optional=True),
            "rank": chk.integer(where, d, "rank") or 0, "version": chk.integer(where, d, "version", minimum=1) or 1,
        })

    rows_event: list[dict[str, Any]] = []
    for i, e in enumerate(events):
        where = f"events[{i}] (id {e.get('id')})"
        kind = e.get("kind")
        if kind not in EVENT_KINDS:
            chk.bad(where, f"'kind' must be one of {', '.join(EVENT_KINDS)}.")
        field_name = chk.opt_text(where, e, "field")
        old, new = chk.opt_text(where, e, "old_value"), chk.opt_text(where, e, "new_value")
        if kind == "edit" and field_name == "type":  # these values are deal type ids: renumber them too
            old, new = _remap_text_id(old, type_ids), _remap_text_id(new, type_ids)
        rows_event.append({
            "id": _new_id(event_ids, e), "deal_id": chk.ref(where, e, "deal_id", deal_ids), "kind": kind,
            "at": chk.instant(where, e, "at"), "user": chk.text(where, e, "user", MAX_OWNER),
            "from_stage_id": chk.ref(where, e, "from_stage_id", stage_ids),
            "to_stage_id": chk.ref(where, e, "to_stage_id", stage_ids), "field": field_name,
            "old_value": old, "new_value": new, "reason": chk.opt_text(where, e, "reason"),
            "ref_id": e.get("ref_id"),
        })
    for row in rows_event:  # undo events point at other events of the file
        if row["ref_id"] is not None:
            row["ref_id"] = event_ids.get(row["ref_id"]) if isinstance(row["ref_id"], int) else None

    rows_stay: list[dict[str, Any]] = []
    for i, y in enumerate(stays):
        where = f"stays[{i}] (id {y.get('id')})"
        outcome = y.get("outcome")
        if outcome not in (None, "advanced", "dropped"):
            chk.bad(where, "'outcome' must be advanced, dropped or null.")
        rows_stay.append({
            "id": _new_id(stay_ids, y), "deal_id": chk.ref(where, y, "deal_id", deal_ids, optional=False),
            "stage_id": chk.ref(where, y, "stage_id", stage_ids, optional=False),
            "entered_at": chk.instant(where, y, "entered_at"),
            "left_at": chk.instant(where, y, "left_at", optional=True), "outcome": outcome,
        })

    rows_activity: list[dict[str, Any]] = []
    for i, a in enumerate(activities):
        where = f"activities[{i}] (id {a.get('id')})"
        if a.get("kind") not in ACTIVITY_KINDS:
            chk.bad(where, f"'kind' must be one of {', '.join(ACTIVITY_KINDS)}.")
        rows_activity.append({
            "id": _new_id(activity_ids, a),
            "deal_id": chk.ref(where, a, "deal_id", deal_ids, optional=False), "kind": a.get("kind"),
            "subject": chk.text(where, a, "subject", MAX_ACTIVITY, multiline=True),
            "at": chk.instant(where, a, "at"), "user": chk.text(where, a, "user", MAX_OWNER),
            "due": chk.day(where, a, "due"), "done": bool(a.get("done")),
        })

    if chk.problems:
        noun = "problem" if len(chk.problems) == 1 else "problems"
        raise ImportProblems(chk.problems, f"Nothing was imported: the file has {len(chk.problems)} {noun}.")

    s.add(new_pipeline)
    s.flush()
    pid = new_pipeline.id
    for rows in (rows_stage, rows_type, rows_deal, rows_event, rows_stay, rows_activity):
        for row in rows:
            row["pipeline_id"] = pid
    total = sum(len(r) for r in (rows_stage, rows_type, rows_deal, rows_event, rows_stay, rows_activity))
    done = 0
    for table, rows in (("stage", rows_stage), ("type", rows_type), ("deal", rows_deal), ("event", rows_event),
                        ("stay", rows_stay), ("activity", rows_activity)):
        done = _insert_chunks(conn, _TABLES[table], rows, progress, done, total)
    won = sum(1 for d in rows_deal if d["status"] == "won")
    lost = sum(1 for d in rows_deal if d["status"] == "lost")
    return ImportResult(pname, len(rows_deal), len(rows_deal) - won - lost, won, lost, 0, len(rows_event),
                        renumbered)


def _new_id(mapping: dict[int, int], item: dict[str, Any]) -> int | None:
    value = item.get("id")
    return mapping.get(value) if isinstance(value, int) else None


def _remap_text_id(value: str | None, mapping: dict[int, int]) -> str | None:
    if value is None or not value.strip().isdigit():
        return value
    return str(mapping.get(int(value), int(value)))


# -- files ------------------------------------------------------------------------------------------


def read_text_file(path: Path) -> str:
    """The text of an import file (UTF-8, with or without a byte-order mark), or one sentence why not."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ValidationError(f"There is no file {path}.") from None
    except IsADirectoryError:
        raise ValidationError(f"{path} is a folder, not a file.") from None
    except PermissionError:
        raise ValidationError(f"The file {path} cannot be read (permission denied).") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ValidationError(f"{path} is not UTF-8 text (line {line}); save it as UTF-8 (CSV UTF-8 in a "
                              "spreadsheet) and import it again.") from None


def looks_like_json(path: Path, text: str) -> bool:
    return path.suffix.lower() == ".json" or text.lstrip().startswith("{")


__all__ = [
    "CSV_COLUMNS", "FORMULA_STARTS", "JSON_FORMAT", "ImportProblems", "ImportResult", "import_csv_text",
    "import_pipeline_json", "looks_like_json", "neutralise", "parse_csv", "read_json", "read_text_file",
    "write_csv", "write_pipeline_json",
]
