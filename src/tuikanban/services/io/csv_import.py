"""CSV import: every row checked and written in one transaction, all rows or none."""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from operator import itemgetter
from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session

from tuikanban.domain import clock, gates, wip
from tuikanban.domain.errors import GateError, ValidationError
from tuikanban.domain.gates import GateFields
from tuikanban.domain.money import normalise_currency, plain_minor
from tuikanban.domain.stays import close_outcome
from tuikanban.domain.text import clean_text, name_key
from tuikanban.domain.undo import IMPORTED
from tuikanban.services.common import active_stages, resolve_pipeline
from tuikanban.services.fields import MAX_FIELD, MAX_NOTES, MAX_TITLE
from tuikanban.services.gates import check_gate
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
    analyze_after_import,
    lower_first,
    next_id,
    report_progress,
    unneutralise,
)
from tuikanban.store.bulk import BackgroundInserts, indexes_deferred, value_converters
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


# (at as stored, deal id, kind, from stage id, to stage id, reason, new value) of an event to write
_PlannedEvent = tuple[Any, int, str, int | None, int | None, str | None, str | None]


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
    # what each stage, type and currency cell met so far gave (a cell that gave a problem is not kept): a file
    # names a few of them again and again, and cleaning and folding a name costs more than the rest of its check
    stage_cells: dict[str, int] = field(default_factory=dict)
    type_cells: dict[str, int] = field(default_factory=dict)
    currency_cells: dict[str, str] = field(default_factory=dict)


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


_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")


def _lines(text: str) -> Iterator[str]:
    """The lines of `text` with their endings, as a file opened with newline="" gives them, one at a time (a
    StringIO of the text would hold it again, four bytes a character)."""
    for m in _LINE.finditer(text):
        yield m.group()


def _records(text: str) -> Iterator[tuple[int, list[str]]]:
    """(first line number, cells) for every record, blank lines skipped; CSV syntax errors name their line."""
    reader = csv.reader(_lines(text), delimiter=_dialect(text), strict=True)
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


def _text(cell: str, plain: bool, what: str, limit: int, problems: list[str], *, multiline: bool = False) -> str:
    if plain or (cell.isascii() and cell.isprintable() and not cell.startswith("'")):
        value = cell.strip()  # what the line below gives for it (nothing to clean, no formula prefix), sooner
    else:
        value = clean_text(unneutralise(cell), multiline=multiline).strip()
    if len(value) > limit:
        problems.append(f"the {what} is longer than {limit} characters ({len(value)}).")
    return value


def _instant(raw: str, what: str, problems: list[str]) -> datetime | None:
    """clock.parse_instant of a cell (stripped, not empty), or None with its problem appended to `problems`."""
    try:
        return clock.parse_instant(raw, what=what)
    except ValidationError as exc:
        problems.append(lower_first(str(exc)))
        return None


def _check_row(line: int, cells: tuple[str, ...], plain: bool, cat: _Catalogue, user: str, now: datetime,
               problems: list[str]) -> _Planned | None:
    """One row's values, or None with the reasons appended to `problems`. `cells` are the row's cells in the order
    of CSV_COLUMNS (a column the file lacks: empty); `plain` says every one of them is printable ASCII without a
    quote, so that no cell needs cleaning (what the cleaning gives for it anyway: checked once for the row instead
    of three calls a cell)."""
    (title_cell, company_cell, contact_cell, value_cell, currency_cell, owner_cell, type_cell, stage_cell,
     status_cell, created_cell, closed_cell, lost_cell, close_cell, notes_cell) = cells
    title = _text(title_cell, plain, "title", MAX_TITLE, problems)
    if not title:
        problems.append("the title is empty.")
    company = _text(company_cell, plain, "company", MAX_FIELD, problems)
    contact = _text(contact_cell, plain, "contact", MAX_FIELD, problems)
    notes = _text(notes_cell, plain, "notes", MAX_NOTES, problems, multiline=True)
    owner = _text(owner_cell, plain, "owner", MAX_OWNER, problems) or user
    lost_reason = _text(lost_cell, plain, "lost reason", MAX_LOST_REASON, problems)

    def attempt(fn: Callable[[], Any]) -> Any:
        try:
            return fn()
        except ValidationError as exc:
            problems.append(lower_first(str(exc)))
            return None

    currency: str | None = cat.currency_cells.get(currency_cell)
    if currency is None:
        currency_raw = currency_cell.strip()
        currency = attempt(lambda: normalise_currency(currency_raw)) if currency_raw else cat.currency
        if currency is not None:
            cat.currency_cells[currency_cell] = currency
    value_raw = (value_cell if plain else unneutralise(value_cell)).strip()
    value_minor = None
    if value_raw and currency:
        try:
            value_minor = plain_minor(value_raw, currency)
        except ValidationError as exc:
            problems.append(lower_first(str(exc)))

    stage_id = cat.stage_cells.get(stage_cell, 0)
    if not stage_id:
        stage_raw = clean_text(stage_cell).strip()
        if stage_raw:
            found = cat.stages.get(name_key(stage_raw))
            if found is None:
                problems.append(f"{cat.pipeline_name} has no stage named '{stage_raw}' "
                                f"(stages: {', '.join(cat.stage_names)}).")
            stage_id = found[0] if found else 0
        else:
            stage_id = next(iter(cat.stages.values()))[0]
        if stage_id:
            cat.stage_cells[stage_cell] = stage_id

    type_id = cat.type_cells.get(type_cell)
    if type_id is None and (type_raw := clean_text(type_cell).strip()):
        found_t = cat.types.get(name_key(type_raw))
        if found_t is None:
            known = f"types: {', '.join(cat.type_names)}" if cat.type_names else "it has none yet"
            problems.append(f"{cat.pipeline_name} has no deal type named '{type_raw}' ({known}; add it with "
                            "'tuikanban type add').")
        else:
            type_id = cat.type_cells[type_cell] = found_t[0]

    status = status_cell.strip().lower() or "open"
    if status not in STATUSES:
        problems.append(f"'{status_cell.strip()}' is not a status; use open, won or lost.")

    created_raw = created_cell.strip()
    created = _instant(created_raw, "created_at", problems) if created_raw else now
    closed_raw = closed_cell.strip()
    closed = _instant(closed_raw, "closed_at", problems) if closed_raw else None
    if not created_raw and closed is not None:
        created = closed  # a closed deal with no creation time: created when it closed, not now
    close_raw = close_cell.strip()
    expected = None
    if close_raw:
        try:
            expected = clock.parse_date(close_raw, what="expected_close date")
        except ValidationError as exc:
            problems.append(lower_first(str(exc)))

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
    assert created is not None  # (a created_at that could not be read is among the problems)
    return _Planned(line, title, company, contact, value_minor, currency, owner, type_id, stage_id, status,
                    created, closed, lost_reason, expected, notes)


def _header(text: str) -> list[str]:
    """The header's column keys, checked: one sentence naming the header line for what is wrong with it."""
    records = _records(text)
    try:
        header_line, header = next(records)
    except StopIteration:
        raise ValidationError("The file is empty; it needs a header row with at least a 'title' column.") from None
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
    return keys


def _plain(cells: list[str]) -> bool:
    """Whether every cell is printable ASCII without a quote: then no cell needs cleaning and none has a formula
    prefix to take off (each cell's check in `_text` gives the cell itself for such text)."""
    joined = "".join(cells)
    return joined.isascii() and joined.isprintable() and "'" not in joined


def _planned(text: str, keys: list[str], cat: _Catalogue, user: str, now: datetime,
             bad: list[str]) -> Iterator[_Planned]:
    """The rows that pass their checks, in file order; each bad row is appended to `bad` (line, reasons)."""
    records = _records(text)
    next(records)  # the header, checked by _header
    width = len(keys)
    # the cells in the order of CSV_COLUMNS, in one call: a column the file lacks takes the empty cell put after the
    # row's (a column without a name is never asked for)
    pick = itemgetter(*(keys.index(k) if k in keys else width for k in CSV_COLUMNS))
    for line, cells in records:
        problems: list[str] = []
        n = len(cells)
        if n > width:
            if any(c.strip() for c in cells[width:]):
                problems.append(f"it has {n} cells but the header has {width} columns.")
            cells = cells[:width]
        elif n < width:
            cells += [""] * (width - n)
        cells.append("")
        plan = _check_row(line, pick(cells), _plain(cells), cat, user, now, problems)
        if plan is None:
            bad.append(f"line {line}: " + "; ".join(p.rstrip(".") for p in problems) + ".")
        else:
            yield plan


def import_csv_text(
    db: Database, text: str, pipeline: str | int | None, *, user: str, force_reason: str | None = None,
    progress: Progress | None = None,
) -> ImportResult:
    """Import deals from CSV text into a pipeline: all rows or none.

    One pass in one write transaction: each row is checked and written in chunks while no row so far was refused;
    after the first refusal the rest are only checked (so every bad row is named) and the transaction is rolled
    back. Memory holds a chunk of rows and the events as small tuples, whatever the size of the file."""
    if force_reason is not None and not clean_text(force_reason).strip():
        raise ValidationError("Importing past a WIP limit or a stage gate needs a reason.")
    cat = _catalogue(db, pipeline)
    keys = _header(text)
    return analyze_after_import(db, db.write(lambda s: _import(s, cat, text, keys, user, force_reason, progress)))


_DEAL_KEYS = ("id", "pipeline_id", "title", "company", "contact", "value_minor", "currency", "owner", "type_id",
              "expected_close", "notes", "stage_id", "status", "lost_reason", "created_at", "stage_entered_at",
              "closed_at", "last_activity_at", "rank", "version")
_STAY_KEYS = ("pipeline_id", "deal_id", "stage_id", "entered_at", "left_at", "outcome")
_EVENT_KEYS = ("pipeline_id", "deal_id", "kind", "at", "user", "from_stage_id", "to_stage_id", "field", "old_value",
               "new_value", "reason", "ref_id")


def _import(s: Session, cat: _Catalogue, text: str, keys: list[str], user: str, force_reason: str | None,
            progress: Progress | None) -> ImportResult:
    conn = s.connection()
    # the deals, stays and events tables' indexes built once at the end when the file brings more rows than they hold
    with indexes_deferred(conn, ("deal", "stay", "event"), text.count("\n")), \
            BackgroundInserts(conn) as inserts:  # SQLite inserts a chunk while the next rows are checked
        return _import_rows(s, inserts, cat, text, keys, user, force_reason, progress)


def _import_rows(s: Session, inserts: BackgroundInserts, cat: _Catalogue, text: str, keys: list[str], user: str,
                 force_reason: str | None, progress: Progress | None) -> ImportResult:
    conn = s.connection()
    # The stages and types may have changed since the catalogue was read: look again inside the transaction.
    live = {st.id: st for st in s.scalars(select(Stage).where(_S.pipeline_id == cat.pipeline_id))}
    # what each row asks of its stage, read once (an ORM attribute costs a lookup through its instrumentation)
    limits = {sid: (st.archived, st.wip_max, st.rep_wip_max, st.required) for sid, st in live.items()}
    live_types = set(conn.execute(select(_T.id).where(_T.pipeline_id == cat.pipeline_id)).scalars())
    counts: dict[int, int] = dict(conn.execute(
        select(_D.stage_id, func.count()).where(_D.pipeline_id == cat.pipeline_id, _D.status == "open")
        .group_by(_D.stage_id)).all())
    owner_counts: dict[tuple[int, str], int] = {
        (r[0], r[1]): int(r[2]) for r in conn.execute(
            select(_D.stage_id, _D.owner, func.count()).where(_D.pipeline_id == cat.pipeline_id, _D.status == "open")
            .group_by(_D.stage_id, _D.owner))}
    ranks: dict[int, int] = dict(conn.execute(
        select(_D.stage_id, func.max(_D.rank)).where(_D.pipeline_id == cat.pipeline_id, _D.status == "open")
        .group_by(_D.stage_id)).all())
    deal_id = next_id(conn, _D.id)
    reason = clean_text(force_reason).strip() if force_reason else None
    stamp, day, _flag = value_converters(conn)
    pid = cat.pipeline_id
    total = max(text.count("\n") - 1, 1)  # for the progress bar: the lines (a cell may hold several)
    bad: list[str] = []
    over: list[str] = []
    refused_by: set[str] = set()
    deals: list[tuple[Any, ...]] = []
    stays: list[tuple[Any, ...]] = []
    events: list[_PlannedEvent] = []
    rows = won = lost = forced = gated = 0
    for plan in _planned(text, keys, cat, user, clock.now(), bad):
        rows += 1
        if rows % CHUNK == 0:
            report_progress(progress, "importing", min(rows + len(bad), total), total)
        limit = limits.get(plan.stage_id)
        if limit is None or limit[0] or (plan.type_id is not None and plan.type_id not in live_types):
            raise ValidationError("The pipeline's stages or deal types changed during the import; nothing was "
                                  "imported, run the import again.")
        _archived, wip_max, rep_wip_max, required = limit
        is_open = plan.status == "open"
        wip_forced = False
        missing = ""
        if is_open:
            n = counts.get(plan.stage_id, 0)
            n_owner = owner_counts.get((plan.stage_id, plan.owner), 0)
            refusals = []
            if wip_max is not None and not wip.admits(n, wip_max):
                st = live[plan.stage_id]
                refusals.append(wip.refusal(st.name, n, wip_max))
            elif rep_wip_max is not None and plan.owner and not wip.admits(n_owner, rep_wip_max):
                st = live[plan.stage_id]
                refusals.append(wip.refusal(st.name, n_owner, rep_wip_max, plan.owner))
            wip_forced = bool(refusals)
            if required:  # the stage gate, as `deal add --stage` checks it (a new deal has no next step)
                st = live[plan.stage_id]
                fields = GateFields(plan.value_minor, plan.expected_close, plan.company, plan.contact, plan.owner,
                                    False)
                try:
                    if check_gate(s, st, fields, force_reason=force_reason):
                        missing = ",".join(_missing(st, fields))
                except GateError as exc:
                    refusals.append(str(exc))
                    refused_by.add("gate")
            if refusals and force_reason is None:
                refused_by.update(("wip",) if wip_forced else ())
                over.append(f"line {plan.line}: {'; '.join(refusals)}.")
                continue  # count on as if it were refused, so every row past the limit is named
            counts[plan.stage_id] = n + 1
            owner_counts[(plan.stage_id, plan.owner)] = n_owner + 1
        if bad or over:
            continue  # nothing of this file will be written: only check the rest
        rank = ranks.get(plan.stage_id, -1) + 1
        if is_open:
            ranks[plan.stage_id] = rank
        created = stamp(plan.created_at)
        closed = stamp(plan.closed_at)
        deals.append((deal_id, pid, plan.title, plan.company, plan.contact, plan.value_minor, plan.currency,
                      plan.owner, plan.type_id, day(plan.expected_close), plan.notes, plan.stage_id, plan.status,
                      plan.lost_reason, created, created, closed, None, rank, 1 if is_open else 2))
        stays.append((pid, deal_id, plan.stage_id, created, closed, None if is_open else close_outcome(plan.status)))
        if wip_forced:
            forced += 1
            events.append((created, deal_id, "wip_override", None, plan.stage_id, reason, None))
        if missing:  # as `deal add --force`: it names the fields the deal lacks
            gated += 1
            events.append((created, deal_id, "gate_override", None, plan.stage_id, reason, missing))
        events.append((created, deal_id, "create", None, plan.stage_id, None, None))
        if not is_open:
            won += plan.status == "won"
            lost += plan.status == "lost"
            # Marked as the import's (new_value, which a close leaves empty), so that undo never takes it apart.
            events.append((closed, deal_id, plan.status, plan.stage_id, None,
                           plan.lost_reason if plan.status == "lost" else None, IMPORTED))
        deal_id += 1
        if len(deals) >= CHUNK:
            inserts.put(TABLES["deal"], _DEAL_KEYS, deals)
            inserts.put(TABLES["stay"], _STAY_KEYS, stays)
            deals, stays = [], []
    checked = rows + len(bad)
    if not checked:
        raise ValidationError("The file has a header row but no deals.")
    if bad:
        which = ("the one row has" if checked == 1 else
                 f"1 of {checked} rows has" if len(bad) == 1 else f"{len(bad)} of {checked} rows have")
        raise ImportProblems(bad, f"Nothing was imported: {which} problems.")
    if over:
        noun = "row" if len(over) == 1 else "rows"
        what, logged = {frozenset({"wip"}): ("go past a WIP limit", "WIP overrides"),
                        frozenset({"gate"}): ("enter a stage without what its gate requires", "gate overrides")}.get(
            frozenset(refused_by), ("go past a WIP limit or a stage gate", "overrides"))
        raise ImportProblems(over, f"Nothing was imported: {len(over)} {noun} would {what} (use --force with "
                                   f"--reason to import them anyway, logged as {logged}).")
    inserts.put(TABLES["deal"], _DEAL_KEYS, deals)
    inserts.put(TABLES["stay"], _STAY_KEYS, stays)
    report_progress(progress, "importing", checked, checked)
    # The log in time order (stable: an override stays before its create). The times are sorted in the form they
    # are stored in, which sorts as the times do.
    events.sort(key=lambda e: e[0])
    for start in range(0, len(events), CHUNK):
        inserts.put(TABLES["event"], _EVENT_KEYS, [
            (pid, deal, kind, at, user, from_stage, to_stage, None, None, new, why, None)
            for at, deal, kind, from_stage, to_stage, why, new in events[start:start + CHUNK]])
    inserts.finish()
    return ImportResult(cat.pipeline_name, rows, rows - won - lost, won, lost, forced, len(events),
                        gate_overrides=gated)


def _missing(st: Stage, fields: GateFields) -> tuple[str, ...]:
    return gates.missing(gates.stored_requirements(st.required), fields)
