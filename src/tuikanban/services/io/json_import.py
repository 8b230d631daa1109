"""JSON import: a pipeline export recreated, ids kept when free and renumbered consistently otherwise."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

from sqlalchemy import bindparam, func, insert, select, update
from sqlmodel import Session

from tuikanban.domain import clock, gates, wip
from tuikanban.domain.errors import DuplicateError, ValidationError
from tuikanban.domain.money import normalise_currency
from tuikanban.domain.stays import OUTCOMES
from tuikanban.domain.text import clean_name, clean_text, name_key
from tuikanban.services.fields import MAX_FIELD, MAX_NOTES, MAX_TITLE
from tuikanban.services.io.common import (
    ACTIVITY_COLUMNS,
    CHUNK,
    DEAL_COLUMNS,
    EVENT_COLUMNS,
    JSON_FORMAT,
    JSON_VERSION,
    MAX_ACTIVITY,
    MAX_LOST_REASON,
    MAX_OWNER,
    PIPELINE_COLUMNS,
    STAGE_COLUMNS,
    STAY_COLUMNS,
    TABLES,
    TYPE_COLUMNS,
    ImportProblems,
    ImportResult,
    Progress,
    analyze_after_import,
    lower_first,
    report_progress,
)
from tuikanban.services.io.json_checks import MAX_BIG, MAX_DAYS, Checker, gate, type_ref
from tuikanban.services.io.json_history import history_problems
from tuikanban.services.io.json_ids import Ids, Renumber, taken
from tuikanban.services.io.json_stream import MISSING, DictDoc, DocSource, StreamedDoc, syntax_error, too_big
from tuikanban.store.bulk import BackgroundInserts, indexes_deferred, value_converters
from tuikanban.store.engine import Database
from tuikanban.store.tables import (
    ACTIVITY_KINDS,
    EVENT_KINDS,
    STATUSES,
    DealCheck,
    Pipeline,
)

REFERRING = ("undo", "redo", "undo_skipped")  # events that point at another event (ref_id)

EVENT_TABLE = TABLES["event"]

# short names for the queries below
_P, _D, _S, _T, _E, _Y, _A = (
    PIPELINE_COLUMNS, DEAL_COLUMNS, STAGE_COLUMNS, TYPE_COLUMNS, EVENT_COLUMNS, STAY_COLUMNS, ACTIVITY_COLUMNS
)


def read_json(text: str) -> dict[str, Any]:
    """A whole document parsed and its head checked (small files and tests; the CLI streams with `open_json`)."""
    try:
        doc = json.loads(text, parse_float=Decimal)
    except json.JSONDecodeError as exc:
        raise syntax_error(exc.lineno, exc.colno, exc.msg) from None
    except (ValueError, RecursionError):  # a number of thousands of digits, or nesting thousands deep
        raise too_big() from None
    if not isinstance(doc, dict):
        _check_head(MISSING, MISSING)
    _check_head(doc.get("format"), doc.get("version"))
    return cast(dict[str, Any], doc)


def open_json(path: Path) -> StreamedDoc:
    """A pipeline export to import from its file, read as the import goes; its head is checked here."""
    doc = StreamedDoc(path)
    if not doc.is_object():
        doc.close()
        _check_head(MISSING, MISSING)
    try:
        _check_head(doc.value("format"), doc.value("version"))
    except ValidationError:
        doc.close()
        raise
    return doc


def _check_head(fmt: Any, version: Any) -> None:
    if fmt != JSON_FORMAT:
        raise ValidationError("The file is not a tuikanban pipeline export (its 'format' is not "
                              f"'{JSON_FORMAT}'); nothing was imported.")
    if not isinstance(version, int) or version > JSON_VERSION:
        raise ValidationError(f"The file is a pipeline export of version {version}, newer than this tuikanban "
                              f"reads ({JSON_VERSION}); upgrade tuikanban to import it.")


def import_pipeline_json(
    db: Database, doc: dict[str, Any] | DocSource, *, name: str | None = None, progress: Progress | None = None,
    user: str = "", force_reason: str | None = None,
) -> ImportResult:
    """Recreate an exported pipeline (under `name` when given): all of it or nothing. `doc` is a parsed document
    or a `StreamedDoc` (`open_json`), read a row at a time: memory holds a chunk of rows and the ids, whatever the
    size of the file.

    The file's stage gates hold for its open deals: a deal in a stage whose gate requires fields it lacks is
    refused, unless its history already logs a `gate_override` into that stage since it entered it; with
    `force_reason` it is imported and a `gate_override` event (by `user`, at import time) says so."""
    if force_reason is not None and not clean_text(force_reason).strip():
        raise ValidationError("Importing past a stage gate needs a reason.")
    source: DocSource = DictDoc(doc) if isinstance(doc, dict) else doc
    renumber: set[str] = set()
    while True:
        try:
            result = db.write(lambda s: _Import(s, source, renumber, progress, user, force_reason).run(name))
            return analyze_after_import(db, result)
        except Renumber as exc:  # rolled back: again, with that section's ids renumbered
            renumber.add(exc.section)


_KEYS = {
    "stage": ("id", "pipeline_id", "name", "name_key", "position", "wip_max", "wip_min", "rep_wip_max",
              "expected_days", "probability", "exit_criteria", "archived", "required", "checklist"),
    "type": ("id", "pipeline_id", "name", "name_key", "position", "archived"),
    "deal": ("id", "pipeline_id", "title", "company", "contact", "value_minor", "currency", "owner", "type_id",
             "expected_close", "notes", "stage_id", "status", "lost_reason", "created_at", "stage_entered_at",
             "closed_at", "last_activity_at", "rank", "version", "snoozed_until"),
    "event": ("id", "pipeline_id", "deal_id", "kind", "at", "user", "from_stage_id", "to_stage_id", "field",
              "old_value", "new_value", "reason", "ref_id"),
    "stay": ("id", "pipeline_id", "deal_id", "stage_id", "entered_at", "left_at", "outcome"),
    "activity": ("id", "pipeline_id", "deal_id", "kind", "subject", "at", "user", "due", "done"),
    "review_mark": ("pipeline_id", "user", "at"),
}
_TIMES = {"created_at", "stage_entered_at", "closed_at", "last_activity_at", "at", "entered_at", "left_at"}
_DATES = {"expected_close", "due", "snoozed_until"}
_FLAGS = {"archived", "done"}


class _Import:
    """One attempt at an import, inside the write transaction: each section's items checked and written a chunk at a
    time while no problem was found; after the first problem the rest are only checked (every problem is named)
    and nothing is written. Then the history is checked deal by deal in SQL (`json_history`)."""

    def __init__(self, s: Session, source: DocSource, renumber: set[str], progress: Progress | None, user: str,
                 force_reason: str | None) -> None:
        self.s = s
        self.conn = s.connection()
        self.source = source
        self.renumber = renumber
        self.progress = progress
        self.user = user
        self.force_reason = force_reason
        self.chk = Checker()
        self.pid = 0
        self.stamp, self.day, self.flag = value_converters(self.conn)
        self.inserts: BackgroundInserts | None = None

    def ids(self, section: str, table: str, *, compact: bool = False) -> Ids:
        return Ids(section, table, self.taken[table], keep=section not in self.renumber, compact=compact)

    def items(self, key: str) -> Iterator[tuple[int, dict[str, Any]]]:
        got = self.source.items(key)
        if got is None:
            self.chk.bad(key, "must be a list of objects.")
            return
        for i, item in enumerate(got):
            if not isinstance(item, dict):
                self.chk.bad(key, "must be a list of objects.")
                return
            yield i, item

    def write(self, table: str, rows: list[tuple[Any, ...]], ids: Ids | None = None) -> None:
        """Queue a chunk of checked rows (tuples in the order of `_KEYS[table]`, times, dates and flags converted
        with `value_converters`, the id first) for insertion, unless a problem was found (then nothing is written)."""
        if self.chk.problems or not rows or self.inserts is None:
            return
        if ids is not None:
            ids.check_free(self.chk, self.inserts, [r[0] for r in rows])
        self.inserts.put(TABLES[table], _KEYS[table], rows)
        done, total = self.source.position()
        if total:
            report_progress(self.progress, "reading", done, total)

    def write_dicts(self, table: str, rows: list[dict[str, Any]]) -> None:
        """`write` for rows as dicts (the few stages and types, and the gate overrides)."""
        keys = _KEYS[table]
        convert = [self.stamp if k in _TIMES else self.day if k in _DATES else self.flag if k in _FLAGS else None
                   for k in keys]
        pid = self.pid
        self.write(table, [tuple(pid if k == "pipeline_id" else (r[k] if f is None else f(r[k]))
                                 for k, f in zip(keys, convert, strict=True)) for r in rows])

    def run(self, name: str | None) -> ImportResult:
        self.source.restart()
        # The indexes of tables that hold fewer rows than the file could bring (a row takes more than 100 bytes of
        # it) are built once the rows are in, before the history is read back through them.
        with indexes_deferred(self.conn, ("deal", "event", "stay", "activity"), self.source.position()[1] // 100), \
                BackgroundInserts(self.conn) as inserts:
            self.inserts = inserts
            result = self._run(name)
            inserts.finish()
        self.inserts = None
        return self._after(result)

    def _run(self, name: str | None) -> _Counts:
        conn, chk = self.conn, self.chk
        pdoc = self.source.value("pipeline")
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
            chk.bad("pipeline", lower_first(str(exc)))
            currency = "USD"
        target = chk.money("pipeline", pdoc, "target", currency)
        stale = chk.integer("pipeline", pdoc, "stale_days", minimum=1, maximum=MAX_DAYS) or 10
        reasons_raw = pdoc.get("lost_reasons") or []
        reasons = [clean_text(str(r)).strip() for r in reasons_raw if str(r).strip()] if isinstance(
            reasons_raw, list) else []
        created = chk.instant("pipeline", pdoc, "created_at", optional=True) or clock.now()
        signal = pdoc.get("next_step_signal", True)  # (exports made before it was carried: on, the default)
        if not isinstance(signal, bool):
            chk.bad("pipeline", "'next_step_signal' must be true or false.")
        is_default = bool(pdoc.get("default")) and not conn.execute(
            select(func.count()).where(_P.is_default == True)  # noqa: E712
        ).scalar_one()
        new_pipeline = Pipeline(name=pname, name_key=name_key(pname), currency=currency, target_minor=target,
                                stale_days=stale, lost_reasons="\n".join(reasons), is_default=is_default,
                                created_at=created, next_step_signal=signal is not False)
        self.s.add(new_pipeline)
        self.s.flush()
        assert new_pipeline.id is not None
        self.pid = new_pipeline.id
        # The ids the tables hold, read before anything is queued on the inserts' thread (which owns the connection
        # until it finishes).
        self.taken = taken(conn)
        n = _Counts(pname)
        stages = self._stages()
        types = self._types()
        self.stage_names = {r["id"]: r["name"] for r in stages.values()}
        self.positions = {r["id"]: r["position"] for r in stages.values()}
        self.gated_stages = {r["id"]: r for r in stages.values() if r["required"]}
        self.write_dicts("stage", list(stages.values()))
        self.write_dicts("type", types)
        self.stage_ids = self.stage_id_map.map
        self.type_ids = self.type_id_map.map
        self.deal_ids = self._deals(currency, n)
        self.event_ids = self._events(n)
        self._stays()
        self._activities()
        self._review_marks()
        self.source.finish()
        n.renumbered = any(ids.renumbered for ids in (self.stage_id_map, self.type_id_map, self.deal_ids,
                                                       self.event_ids))
        return n

    def _named(self, key: str, table: str, what: str) -> tuple[Ids, int, list[_Named]]:
        """A small section (stages, types: held whole): its ids, decided and checked free at once (a taken one starts
        the import again with the section renumbered), how many items it has, and each item with its clean name,
        which must not repeat. An item whose name is refused is a problem and left out."""
        chk = self.chk
        items = list(self.items(key))
        ids = self.ids(key, table)
        news = [ids.add(chk, i, item) for i, item in items]
        ids.check_free(chk, self.inserts, [n for n in news if n is not None])
        out: list[_Named] = []
        keys_seen: set[str] = set()
        for (i, item), new in zip(items, news, strict=True):
            where = f"{key}[{i}]"
            try:
                name = clean_name(str(item.get("name") or ""), what=what)
            except ValidationError as exc:
                chk.bad(where, lower_first(str(exc)))
                continue
            if name_key(name) in keys_seen:
                chk.bad(where, f"the {what} name '{name}' repeats.")
            keys_seen.add(name_key(name))
            out.append((where, i, item, new, name))
        return ids, len(items), out

    def _stages(self) -> dict[int, dict[str, Any]]:
        """The stages (a few: held whole), by their id in the file."""
        chk = self.chk
        self.stage_id_map, count, named = self._named("stages", "stage", "stage")
        if not count:
            chk.bad("stages", "a pipeline needs at least one stage.")
        rows: dict[int, dict[str, Any]] = {}
        for where, i, st, new, sname in named:
            limits = [chk.integer(where, st, k, minimum=0) for k in ("wip_max", "wip_min", "rep_wip_max")]
            probability = chk.integer(where, st, "probability") or 0
            position = chk.integer(where, st, "position")
            try:
                wip.validate_limits(*limits, stage=sname)
                wip.validate_probability(probability, stage=sname)
            except ValidationError as exc:
                chk.bad(where, lower_first(str(exc)))
            required, checklist = gate(chk, where, st)
            if new is None:
                continue
            rows[st["id"]] = {
                "id": new, "name": sname, "name_key": name_key(sname),
                "position": i if position is None else position, "wip_max": limits[0], "wip_min": limits[1],
                "rep_wip_max": limits[2],
                "expected_days": chk.integer(where, st, "expected_days", minimum=1, maximum=MAX_DAYS),
                "probability": probability,
                "exit_criteria": chk.text(where, st, "exit_criteria", MAX_NOTES, multiline=True),
                "archived": bool(st.get("archived")), "required": ",".join(required),
                "checklist": "\n".join(checklist),
            }
        return rows

    def _types(self) -> list[dict[str, Any]]:
        chk = self.chk
        self.type_id_map, _count, named = self._named("types", "type", "deal type")
        rows: list[dict[str, Any]] = []
        for where, i, t, new, tname in named:
            tpos = chk.integer(where, t, "position")
            if new is not None:
                rows.append({"id": new, "name": tname, "name_key": name_key(tname),
                             "position": i if tpos is None else tpos, "archived": bool(t.get("archived"))})
        return rows

    def _deals(self, currency: str, n: _Counts) -> Ids:
        chk = self.chk
        ids = self.ids("deals", "deal")
        self.gate_candidates: list[dict[str, Any]] = []  # open deals in a gated stage (checked at the end)
        pid, stamp, day = self.pid, self.stamp, self.day
        currencies: dict[Any, str] = {}  # the codes met so far, checked once each
        chunk: list[tuple[Any, ...]] = []
        for i, d in self.items("deals"):
            where = f"deals[{i}] (id {d.get('id')})"
            new_id = ids.add(chk, i, d)
            cur = currency
            if raw_cur := d.get("currency"):
                if (known := currencies.get(raw_cur)) is not None:
                    cur = known
                else:
                    try:
                        cur = currencies[raw_cur] = normalise_currency(str(raw_cur))
                    except (ValidationError, TypeError) as exc:
                        chk.bad(where, lower_first(str(exc)))
            status = d.get("status")
            if status not in STATUSES:
                chk.bad(where, f"'status' must be one of {', '.join(STATUSES)}.")
            created_at = chk.instant(where, d, "created_at")
            closed_at = chk.instant(where, d, "closed_at", optional=True)
            if status in ("won", "lost") and closed_at is None:
                chk.bad(where, f"a {status} deal needs 'closed_at'.")
            title = chk.text(where, d, "title", MAX_TITLE, required=True)
            company, contact = chk.text(where, d, "company", MAX_FIELD), chk.text(where, d, "contact", MAX_FIELD)
            value_minor = chk.money(where, d, "value", cur)
            owner = chk.text(where, d, "owner", MAX_OWNER)
            type_id = chk.ref(where, d, "type_id", self.type_ids)
            expected_close = chk.day(where, d, "expected_close")
            notes = chk.text(where, d, "notes", MAX_NOTES, multiline=True)
            stage_id = chk.ref(where, d, "stage_id", self.stage_ids, optional=False)
            lost_reason = chk.text(where, d, "lost_reason", MAX_LOST_REASON)
            entered = chk.instant(where, d, "stage_entered_at", optional=True) or created_at
            last_activity = chk.instant(where, d, "last_activity_at", optional=True)
            rank = chk.integer(where, d, "rank", maximum=MAX_BIG) or 0
            version = chk.integer(where, d, "version", minimum=1) or 1
            snoozed_until = chk.day(where, d, "snoozed_until")
            n.count(status)
            if status == "open" and stage_id in self.gated_stages:
                self.gate_candidates.append({
                    "id": new_id, "label": _label(d.get("id"), str(d.get("title") or "")), "stage_id": stage_id,
                    "value_minor": value_minor, "expected_close": expected_close, "company": company,
                    "contact": contact, "owner": owner, "stage_entered_at": entered})
            chunk.append((new_id, pid, title, company, contact, value_minor, cur, owner, type_id, day(expected_close),
                          notes, stage_id, status, lost_reason, stamp(created_at), stamp(entered), stamp(closed_at),
                          stamp(last_activity), rank, version, day(snoozed_until)))
            if len(chunk) >= CHUNK:
                self.write("deal", chunk, ids)
                chunk = []
        self.write("deal", chunk, ids)
        return ids

    def _events(self, n: _Counts) -> Ids:
        chk = self.chk
        ids = self.ids("events", "event", compact=True)
        self.overridden: dict[int, list[tuple[int | None, datetime]]] = {}  # deal -> gate overrides (stage, at)
        self.checks: list[tuple[datetime, int, int, int, str | None, str | None, str]] = []  # the ticks and unticks
        later: list[tuple[int | None, int, str]] = []  # (new id, ref_id in the file, where): an event further on
        pid, stamp = self.pid, self.stamp
        chunk: list[tuple[Any, ...]] = []
        for i, e in self.items("events"):
            where = f"events[{i}] (id {e.get('id')})"
            new_id = ids.add(chk, i, e)
            kind = e.get("kind")
            if kind not in EVENT_KINDS:
                chk.bad(where, f"'kind' must be one of {', '.join(EVENT_KINDS)}.")
            field_name = chk.opt_text(where, e, "field")
            old, new = chk.opt_text(where, e, "old_value"), chk.opt_text(where, e, "new_value")
            if kind in ("edit", "undo", "redo") and field_name == "type":  # deal type ids: renumber them too
                old, new = type_ref(chk, where, old, self.type_ids), type_ref(chk, where, new, self.type_ids)
            deal_id = chk.ref(where, e, "deal_id", self.deal_ids.map)
            at = chk.instant(where, e, "at")
            user = chk.text(where, e, "user", MAX_OWNER)
            from_stage = chk.ref(where, e, "from_stage_id", self.stage_ids)
            to_stage = chk.ref(where, e, "to_stage_id", self.stage_ids)
            reason = chk.opt_text(where, e, "reason")
            ref = chk.integer(where, e, "ref_id", optional=kind not in REFERRING)
            if ref is not None and not ids.has(ref):
                later.append((new_id, ref, where))
            if kind == "check" and deal_id is not None and to_stage is not None and at is not None:
                self.checks.append((at, new_id or 0, deal_id, to_stage, old, new, user))
            if kind == "gate_override" and deal_id is not None and at is not None:
                self.overridden.setdefault(deal_id, []).append((to_stage, at))
            n.events += 1
            chunk.append((new_id, pid, deal_id, kind, stamp(at), user, from_stage, to_stage, field_name, old, new,
                          reason, None if ref is None else ids.get(ref)))
            if len(chunk) >= CHUNK:
                self.write("event", chunk, ids)
                chunk = []
        self.write("event", chunk, ids)
        self.refs_later = []  # an event that points at one further on in the file: set once that one is known
        for new_id, ref, where in later:
            if not ids.has(ref):
                chk.bad(where, f"'ref_id' {ref} refers to nothing in the file.")
            elif new_id is not None:
                self.refs_later.append({"event_id": new_id, "ref": ids.get(ref)})
        return ids

    def _stays(self) -> None:
        chk = self.chk
        ids = self.ids("stays", "stay", compact=True)
        pid, stamp = self.pid, self.stamp
        chunk: list[tuple[Any, ...]] = []
        for i, y in self.items("stays"):
            where = f"stays[{i}] (id {y.get('id')})"
            new_id = ids.add(chk, i, y)
            outcome = y.get("outcome")
            if outcome is not None and outcome not in OUTCOMES:
                chk.bad(where, "'outcome' must be advanced, dropped or null.")
            chunk.append((new_id, pid, chk.ref(where, y, "deal_id", self.deal_ids.map, optional=False),
                          chk.ref(where, y, "stage_id", self.stage_ids, optional=False),
                          stamp(chk.instant(where, y, "entered_at")),
                          stamp(chk.instant(where, y, "left_at", optional=True)), outcome))
            if len(chunk) >= CHUNK:
                self.write("stay", chunk, ids)
                chunk = []
        self.write("stay", chunk, ids)

    def _activities(self) -> None:
        chk = self.chk
        ids = self.ids("activities", "activity", compact=True)
        self.next_steps: set[int] = set()  # deals with an open task that has a due date (a gate's next_step)
        pid, stamp, day, flag = self.pid, self.stamp, self.day, self.flag
        chunk: list[tuple[Any, ...]] = []
        for i, a in self.items("activities"):
            where = f"activities[{i}] (id {a.get('id')})"
            new_id = ids.add(chk, i, a)
            if a.get("kind") not in ACTIVITY_KINDS:
                chk.bad(where, f"'kind' must be one of {', '.join(ACTIVITY_KINDS)}.")
            deal_id = chk.ref(where, a, "deal_id", self.deal_ids.map, optional=False)
            kind, done, due = a.get("kind"), bool(a.get("done")), chk.day(where, a, "due")
            if kind == "task" and not done and due is not None and deal_id is not None:
                self.next_steps.add(deal_id)
            chunk.append((new_id, pid, deal_id, kind, chk.text(where, a, "subject", MAX_ACTIVITY, multiline=True),
                          stamp(chk.instant(where, a, "at")), chk.text(where, a, "user", MAX_OWNER), day(due),
                          flag(done)))
            if len(chunk) >= CHUNK:
                self.write("activity", chunk, ids)
                chunk = []
        self.write("activity", chunk, ids)

    def _review_marks(self) -> None:
        """Each user's last review of the pipeline (what "since last review" reads): one per user. Exports made
        before they were carried have none."""
        chk = self.chk
        rows: list[dict[str, Any]] = []
        users: set[str] = set()
        for i, r in self.items("review_marks"):
            where = f"review_marks[{i}]"
            user = chk.text(where, r, "user", MAX_OWNER, required=True)
            at = chk.instant(where, r, "at")
            if user and user in users:
                chk.bad(where, f"'{user}' has a second review mark (one per user).")
            users.add(user)
            rows.append({"pipeline_id": self.pid, "user": user, "at": at})
        self.write_dicts("review_mark", rows)

    def _after(self, n: _Counts) -> ImportResult:
        """The checks that need every row: problems so far, the history (read back deal by deal), the gates."""
        chk, conn = self.chk, self.conn
        if chk.problems:
            noun = "problem" if len(chk.problems) == 1 else "problems"
            raise ImportProblems(chk.problems, f"Nothing was imported: the file has {len(chk.problems)} {noun}.")
        if self.refs_later:
            conn.execute(update(EVENT_TABLE).where(_E.id == bindparam("event_id")).values(ref_id=bindparam("ref")),
                         self.refs_later)
        inverse = {new: old for old, new in self.deal_ids.map.items()} if self.deal_ids.renumbered else None
        problems = history_problems(conn, self.pid, self.positions, self.stage_names, inverse)
        if problems:  # the rows are sound, but they do not tell one story
            noun = "problem" if len(problems) == 1 else "problems"
            raise ImportProblems(problems, f"Nothing was imported: the file has {len(problems)} {noun}.")
        gated = self._gated()
        if gated and self.force_reason is None:
            noun = "deal is" if len(gated) == 1 else "deals are"
            raise ImportProblems(
                [f"{d['label']}: {sentence}." for d, _absent, sentence in gated],
                f"Nothing was imported: {len(gated)} open {noun} in a stage without what its gate requires (use "
                "--force with --reason to import them anyway, logged as gate overrides).")
        self._ticks()
        if gated:  # forced: each gets a gate_override at import time, after its history
            now = clock.now()
            first = int(conn.execute(select(func.coalesce(func.max(_E.id), 0))).scalar_one()) + 1
            rows = [{"id": first + i, "deal_id": d["id"], "kind": "gate_override", "at": now, "user": self.user,
                     "from_stage_id": None, "to_stage_id": d["stage_id"], "field": None, "old_value": None,
                     "new_value": ",".join(absent) or None, "reason": clean_text(self.force_reason or "").strip(),
                     "ref_id": None} for i, (d, absent, _sentence) in enumerate(gated)]
            with BackgroundInserts(conn) as self.inserts:
                self.write_dicts("event", rows)
        return ImportResult(n.pipeline, n.deals, n.deals - n.won - n.lost, n.won, n.lost, 0,
                            n.events + len(gated), n.renumbered, gate_overrides=len(gated))

    def _ticks(self) -> None:
        """The deals' ticked checklist items, as their history left them. Ticks are not a section of the file;
        their `check` events are (a tick names the item in new_value, an untick in old_value), so the last one of
        each deal, stage and item says whether it is ticked, since when and by whom."""
        last: dict[tuple[int, int, str], tuple[str | None, str, datetime]] = {}
        for at, _id, deal_id, stage_id, old, new, user in sorted(self.checks, key=lambda c: (c[0], c[1])):
            item = new if new is not None else old
            if item is not None:
                last[(deal_id, stage_id, item)] = (new, user, at)
        ticked = [{"deal_id": deal_id, "stage_id": stage_id, "item": item, "user": user, "at": at}
                  for (deal_id, stage_id, item), (new, user, at) in last.items() if new is not None]
        if ticked:
            self.conn.execute(insert(DealCheck.__table__), ticked)  # type: ignore[attr-defined]

    def _gated(self) -> list[tuple[dict[str, Any], tuple[str, ...], str]]:
        """The open deals in a stage whose gate requires fields they lack, with what they lack and the gate's
        sentence; a deal whose history already logs a gate_override into its stage since it entered it is not
        among them."""
        out = []
        for d in self.gate_candidates:
            st = self.gated_stages[d["stage_id"]]
            fields = gates.GateFields(d["value_minor"], d["expected_close"], d["company"], d["contact"], d["owner"],
                                      d["id"] in self.next_steps)
            absent = gates.missing(gates.stored_requirements(st["required"]), fields)
            entered = d["stage_entered_at"]
            if absent and not any(to == st["id"] and at >= entered for to, at in self.overridden.get(d["id"], ())):
                out.append((d, absent, gates.refusal(st["name"], absent)))
        return out


@dataclass(slots=True)
class _Counts:
    pipeline: str
    deals: int = 0
    won: int = 0
    lost: int = 0
    events: int = 0
    renumbered: bool = False

    def count(self, status: Any) -> None:
        self.deals += 1
        self.won += status == "won"
        self.lost += status == "lost"



_Named = tuple[str, int, dict[str, Any], int | None, str]  # where, index in the section, item, new id, clean name


def _label(old_id: Any, title: str) -> str:
    return f"deal {old_id} ('{clean_text(title)[:60]}')"
