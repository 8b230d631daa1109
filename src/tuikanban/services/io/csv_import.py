"""CSV import: every row checked first, then all rows written in one transaction, or none."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session

from tuikanban.domain import clock, gates, wip
from tuikanban.domain.errors import GateError, ValidationError
from tuikanban.domain.gates import GateFields
from tuikanban.domain.money import normalise_currency, parse_money
from tuikanban.domain.stays import close_outcome
from tuikanban.domain.text import clean_text, name_key
from tuikanban.services.common import active_stages, resolve_pipeline
from tuikanban.services.fields import MAX_FIELD, MAX_NOTES, MAX_TITLE
from tuikanban.services.gates import check_gate
from tuikanban.services.history import event_row
from tuikanban.services.io.common import (
    CHUNK,
    CSV_COLUMNS,
    DEAL_COLUMNS,
    MAX_LOST_REASON,
    MAX_OWNER,
    STAGE_COLUMNS,
    TABLES,
    TYPE_COLUMNS,
    ImportProblems,
    ImportResult,
    Progress,
    insert_chunks,
    lower_first,
    next_id,
    report_progress,
    unneutralise,
)
from tuikanban.store.engine import Database
from tuikanban.store.tables import (
    STATUSES,
    Stage,
)

_D, _S, _T = DEAL_COLUMNS, STAGE_COLUMNS, TYPE_COLUMNS  # short names for the queries below


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


# (at, deal id, kind, from stage id, to stage id, reason, new value) of an event to write
_PlannedEvent = tuple[datetime, int, str, int | None, int | None, str | None, str | None]


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
    value = clean_text(unneutralise(raw.get(key, "")), multiline=multiline).strip()
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
            problems.append(lower_first(str(exc)))
            return None

    currency_raw = raw.get("currency", "").strip()
    currency = attempt(lambda: normalise_currency(currency_raw)) if currency_raw else cat.currency
    value_raw = unneutralise(raw.get("value", "")).strip()
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


def parse_csv(text: str, cat: _Catalogue, *, user: str, progress: Progress | None = None) -> list[_Planned]:
    """Check every row; raise ImportProblems naming every bad row, else return the planned deals."""
    # Counted in a first pass (which also finds any CSV syntax error), so the records are never all held at once.
    count = sum(1 for _ in _records(text))
    if not count:
        raise ValidationError("The file is empty; it needs a header row with at least a 'title' column.")
    records = _records(text)
    header_line, header = next(records)
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
    total = count - 1
    if not total:
        raise ValidationError("The file has a header row but no deals.")
    now = clock.now()
    planned: list[_Planned] = []
    bad: list[str] = []
    for i, (line, cells) in enumerate(records, 1):
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
            report_progress(progress, "checking", i, total)
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
        raise ValidationError("Importing past a WIP limit or a stage gate needs a reason.")
    cat = _catalogue(db, pipeline)
    planned = parse_csv(text, cat, user=user, progress=progress)
    return db.write(lambda s: _write_planned(s, cat, planned, user, force_reason, progress))


def _write_planned(s: Session, cat: _Catalogue, planned: list[_Planned], user: str, force_reason: str | None,
                   progress: Progress | None) -> ImportResult:
    conn = s.connection()
    # The stages and types may have changed since the file was checked: look again inside the transaction.
    live = {st.id: st for st in s.scalars(select(Stage).where(_S.pipeline_id == cat.pipeline_id))}
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
    gated: dict[int, str] = {}  # line -> the required fields it lacks (comma-separated), forced past the gate
    refused_by: set[str] = set()
    for plan in planned:
        if plan.status != "open":
            continue
        st = live[plan.stage_id]
        n = counts.get(plan.stage_id, 0)
        n_owner = owner_counts.get((plan.stage_id, plan.owner), 0)
        refusals = []
        if st.wip_max is not None and not wip.admits(n, st.wip_max):
            refusals.append(wip.refusal(st.name, n, st.wip_max))
        elif st.rep_wip_max is not None and plan.owner and not wip.admits(n_owner, st.rep_wip_max):
            refusals.append(wip.refusal(st.name, n_owner, st.rep_wip_max, plan.owner))
        wip_refused = bool(refusals)
        if st.required:  # the stage gate, as `deal add --stage` checks it (a new deal has no next step)
            fields = GateFields(plan.value_minor, plan.expected_close, plan.company, plan.contact, plan.owner, False)
            try:
                if check_gate(s, st, fields, force_reason=force_reason):
                    gated[plan.line] = ",".join(_missing(st, fields))
            except GateError as exc:
                refusals.append(str(exc))
                refused_by.add("gate")
        if refusals and force_reason is None:
            refused_by.update(("wip",) if wip_refused else ())
            over.append(f"line {plan.line}: {'; '.join(refusals)}.")
            continue  # count on as if it were refused, so every row past the limit is named
        if wip_refused:
            forced.add(plan.line)
        counts[plan.stage_id] = n + 1
        owner_counts[(plan.stage_id, plan.owner)] = n_owner + 1
    if over:
        noun = "row" if len(over) == 1 else "rows"
        what, logged = {frozenset({"wip"}): ("go past a WIP limit", "WIP overrides"),
                        frozenset({"gate"}): ("enter a stage without what its gate requires", "gate overrides")}.get(
            frozenset(refused_by), ("go past a WIP limit or a stage gate", "overrides"))
        raise ImportProblems(over, f"Nothing was imported: {len(over)} {noun} would {what} (use --force with "
                                   f"--reason to import them anyway, logged as {logged}).")

    deal_id = next_id(conn, _D.id)
    ranks: dict[int, int] = dict(conn.execute(
        select(_D.stage_id, func.max(_D.rank)).where(_D.pipeline_id == cat.pipeline_id, _D.status == "open")
        .group_by(_D.stage_id)).all())
    reason = clean_text(force_reason).strip() if force_reason else None
    closed_count = sum(1 for p in planned if p.status != "open")
    event_count = len(planned) + closed_count + len(forced) + len(gated)  # a create for each, a close, overrides
    total = 2 * len(planned) + event_count  # deals and stays, then the events
    # Deals and stays go in chunk by chunk; the events are held as small tuples, sorted by time, and made into rows
    # a chunk at a time, so that memory holds no row dict per deal.
    deals: list[dict[str, Any]] = []
    stays: list[dict[str, Any]] = []
    events: list[_PlannedEvent] = []
    done = 0
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
        if plan.line in forced:
            events.append((plan.created_at, deal_id, "wip_override", None, plan.stage_id, reason, None))
        if plan.line in gated:  # as `deal add --force`: named the fields it lacks
            events.append((plan.created_at, deal_id, "gate_override", None, plan.stage_id, reason,
                           gated[plan.line] or None))
        events.append((plan.created_at, deal_id, "create", None, plan.stage_id, None, None))
        if closed:
            assert plan.closed_at is not None  # a won or lost row is closed at its closed_at, else at import time
            events.append((plan.closed_at, deal_id, plan.status, plan.stage_id, None,
                           plan.lost_reason if plan.status == "lost" else None, None))
        stays.append({"pipeline_id": cat.pipeline_id, "deal_id": deal_id, "stage_id": plan.stage_id,
                      "entered_at": plan.created_at, "left_at": plan.closed_at,
                      "outcome": close_outcome(plan.status) if closed else None})
        deal_id += 1
        if len(deals) >= CHUNK:
            done = insert_chunks(conn, TABLES["deal"], deals, progress, done, total)
            done = insert_chunks(conn, TABLES["stay"], stays, progress, done, total)
            deals, stays = [], []
    done = insert_chunks(conn, TABLES["deal"], deals, progress, done, total)
    done = insert_chunks(conn, TABLES["stay"], stays, progress, done, total)
    events.sort(key=lambda e: e[0])  # the log in time order (stable: an override stays before its create)
    for start in range(0, len(events), CHUNK):
        rows = [event_row(cat.pipeline_id, deal, kind, at, user, from_stage_id=from_stage, to_stage_id=to_stage,
                          reason=why, new_value=new)
                for at, deal, kind, from_stage, to_stage, why, new in events[start:start + CHUNK]]
        done = insert_chunks(conn, TABLES["event"], rows, progress, done, total)
    won = sum(1 for p in planned if p.status == "won")
    lost = sum(1 for p in planned if p.status == "lost")
    return ImportResult(cat.pipeline_name, len(planned), len(planned) - won - lost, won, lost, len(forced),
                        event_count, gate_overrides=len(gated))


def _missing(st: Stage, fields: GateFields) -> tuple[str, ...]:
    return gates.missing(gates.stored_requirements(st.required), fields)
