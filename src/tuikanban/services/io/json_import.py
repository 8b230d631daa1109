"""JSON import: a pipeline export recreated, ids kept when free and renumbered consistently otherwise."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session

from tuikanban.domain import clock, gates, wip
from tuikanban.domain.errors import DuplicateError, ValidationError
from tuikanban.domain.money import normalise_currency, parse_money
from tuikanban.domain.stays import OUTCOMES
from tuikanban.domain.text import clean_name, clean_text, name_key
from tuikanban.services.fields import MAX_FIELD, MAX_NOTES, MAX_TITLE
from tuikanban.services.io.common import (
    ACTIVITY_COLUMNS,
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
    insert_chunks,
    lower_first,
    next_id,
)
from tuikanban.services.io.json_history import history_problems
from tuikanban.store.engine import Database
from tuikanban.store.tables import (
    ACTIVITY_KINDS,
    EVENT_KINDS,
    STATUSES,
    Pipeline,
)

MAX_INT = 2**31 - 1  # the portable SQL INTEGER: ids, positions, limits, versions
MAX_BIG = 2**63 - 1  # BIGINT columns (rank)
MAX_DAYS = 36_500  # stale days and expected days: a century
MAX_MONEY_DIGITS = 30  # far beyond the money limits (domain.money refuses what is larger than its 15 digits)
REFERRING = ("undo", "redo", "undo_skipped")  # events that point at another event (ref_id)

# short names for the queries below
_P, _D, _S, _T, _E, _Y, _A = (
    PIPELINE_COLUMNS, DEAL_COLUMNS, STAGE_COLUMNS, TYPE_COLUMNS, EVENT_COLUMNS, STAY_COLUMNS, ACTIVITY_COLUMNS
)


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
                minimum: int | None = None, maximum: int = MAX_INT) -> int | None:
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
        if not -maximum - 1 <= value <= maximum:
            self.bad(where, f"'{key}' is out of range (at most {maximum:,}).")
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
            self.bad(where, lower_first(str(exc)))
            return None

    def day(self, where: str, item: dict[str, Any], key: str) -> date | None:
        value = item.get(key)
        if value is None or value == "":
            return None
        try:
            return clock.parse_date(str(value), what=key)
        except ValidationError as exc:
            self.bad(where, lower_first(str(exc)))
            return None

    def money(self, where: str, item: dict[str, Any], key: str, currency: str) -> int | None:
        value = item.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | Decimal):
            self.bad(where, f"'{key}' must be a number or null.")
            return None
        if isinstance(value, Decimal) and (not value.is_finite() or value.adjusted() > MAX_MONEY_DIGITS):
            self.bad(where, f"'{key}' is out of range.")  # 1e999999999 would be a billion digits written out
            return None
        try:
            return parse_money(f"{value:f}" if isinstance(value, Decimal) else str(value), currency)
        except ValidationError as exc:
            self.bad(where, lower_first(str(exc)))
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
        if not -MAX_INT - 1 <= value <= MAX_INT:
            chk.bad(f"{key}[{i}]", f"'id' is out of range (at most {MAX_INT:,}).")
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
    except (ValueError, RecursionError):  # a number of thousands of digits, or nesting thousands deep
        raise ValidationError("The file holds a number too long or nesting too deep to be a pipeline export; "
                              "nothing was imported.") from None
    if not isinstance(doc, dict) or doc.get("format") != JSON_FORMAT:
        raise ValidationError("The file is not a tuikanban pipeline export (its 'format' is not "
                              f"'{JSON_FORMAT}'); nothing was imported.")
    version = doc.get("version")
    if not isinstance(version, int) or version > JSON_VERSION:
        raise ValidationError(f"The file is a pipeline export of version {version}, newer than this tuikanban "
                              f"reads ({JSON_VERSION}); upgrade tuikanban to import it.")
    return doc


def import_pipeline_json(
    db: Database, doc: dict[str, Any], *, name: str | None = None, progress: Progress | None = None,
    user: str = "", force_reason: str | None = None,
) -> ImportResult:
    """Recreate an exported pipeline (under `name` when given): all of it or nothing.

    The file's stage gates hold for its open deals: a deal in a stage whose gate requires fields it lacks is
    refused, unless its history already logs a `gate_override` into that stage since it entered it; with
    `force_reason` it is imported and a `gate_override` event (by `user`, at import time) says so."""
    if force_reason is not None and not clean_text(force_reason).strip():
        raise ValidationError("Importing past a stage gate needs a reason.")

    def work(s: Session) -> ImportResult:
        return _write_pipeline_doc(s, doc, name, progress, user, force_reason)

    return db.write(work)


def _write_pipeline_doc(s: Session, doc: dict[str, Any], name: str | None, progress: Progress | None,
                        user: str = "", force_reason: str | None = None) -> ImportResult:
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
        chk.bad("pipeline", lower_first(str(exc)))
        currency = "USD"
    target = chk.money("pipeline", pdoc, "target", currency)
    stale = chk.integer("pipeline", pdoc, "stale_days", minimum=1, maximum=MAX_DAYS) or 10
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

    stage_ids = _ids(stages, "stages", chk, next_id(conn, _S.id), existing(_S.id))
    type_ids = _ids(types, "types", chk, next_id(conn, _T.id), existing(_T.id))
    deal_ids = _ids(deals, "deals", chk, next_id(conn, _D.id), existing(_D.id))
    event_ids = _ids(events, "events", chk, next_id(conn, _E.id), existing(_E.id))
    stay_ids = _ids(stays, "stays", chk, next_id(conn, _Y.id), existing(_Y.id))
    activity_ids = _ids(activities, "activities", chk, next_id(conn, _A.id), existing(_A.id))
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
            chk.bad(where, lower_first(str(exc)))
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
            chk.bad(where, lower_first(str(exc)))
        required, checklist = _gate(chk, where, st)
        rows_stage.append({
            "id": _new_id(stage_ids, st), "name": sname, "name_key": name_key(sname),
            "position": i if position is None else position, "wip_max": limits[0], "wip_min": limits[1],
            "rep_wip_max": limits[2],
            "expected_days": chk.integer(where, st, "expected_days", minimum=1, maximum=MAX_DAYS),
            "probability": probability,
            "exit_criteria": chk.text(where, st, "exit_criteria", MAX_NOTES, multiline=True),
            "archived": bool(st.get("archived")), "required": ",".join(required), "checklist": "\n".join(checklist),
        })
    rows_type: list[dict[str, Any]] = []
    keys_seen = set()
    for i, t in enumerate(types):
        where = f"types[{i}]"
        try:
            tname = clean_name(str(t.get("name") or ""), what="deal type")
        except ValidationError as exc:
            chk.bad(where, lower_first(str(exc)))
            continue
        if name_key(tname) in keys_seen:
            chk.bad(where, f"the deal type name '{tname}' repeats.")
        keys_seen.add(name_key(tname))
        tpos = chk.integer(where, t, "position")
        rows_type.append({"id": _new_id(type_ids, t), "name": tname, "name_key": name_key(tname),
                          "position": i if tpos is None else tpos})

    rows_deal: list[dict[str, Any]] = []
    labels: dict[int, str] = {}
    for i, d in enumerate(deals):
        where = f"deals[{i}] (id {d.get('id')})"
        if (new_id := _new_id(deal_ids, d)) is not None:
            labels[new_id] = f"deal {d.get('id')} ('{clean_text(str(d.get('title') or ''))[:60]}')"
        cur = currency
        if d.get("currency"):
            try:
                cur = normalise_currency(str(d.get("currency")))
            except ValidationError as exc:
                chk.bad(where, lower_first(str(exc)))
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
            "rank": chk.integer(where, d, "rank", maximum=MAX_BIG) or 0,
            "version": chk.integer(where, d, "version", minimum=1) or 1,
        })

    rows_event: list[dict[str, Any]] = []
    for i, e in enumerate(events):
        where = f"events[{i}] (id {e.get('id')})"
        kind = e.get("kind")
        if kind not in EVENT_KINDS:
            chk.bad(where, f"'kind' must be one of {', '.join(EVENT_KINDS)}.")
        field_name = chk.opt_text(where, e, "field")
        old, new = chk.opt_text(where, e, "old_value"), chk.opt_text(where, e, "new_value")
        if kind in ("edit", "undo", "redo") and field_name == "type":  # deal type ids: renumber them too
            old, new = _type_ref(chk, where, old, type_ids), _type_ref(chk, where, new, type_ids)
        rows_event.append({
            "id": _new_id(event_ids, e), "deal_id": chk.ref(where, e, "deal_id", deal_ids), "kind": kind,
            "at": chk.instant(where, e, "at"), "user": chk.text(where, e, "user", MAX_OWNER),
            "from_stage_id": chk.ref(where, e, "from_stage_id", stage_ids),
            "to_stage_id": chk.ref(where, e, "to_stage_id", stage_ids), "field": field_name,
            "old_value": old, "new_value": new, "reason": chk.opt_text(where, e, "reason"),
            "ref_id": chk.ref(where, e, "ref_id", event_ids, optional=kind not in REFERRING),
        })

    rows_stay: list[dict[str, Any]] = []
    for i, y in enumerate(stays):
        where = f"stays[{i}] (id {y.get('id')})"
        outcome = y.get("outcome")
        if outcome is not None and outcome not in OUTCOMES:
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

    if not chk.problems:  # the rows are sound: now they must tell one story
        chk.problems.extend(history_problems(rows_deal, rows_event, rows_stay, rows_stage, labels))
    if chk.problems:
        noun = "problem" if len(chk.problems) == 1 else "problems"
        raise ImportProblems(chk.problems, f"Nothing was imported: the file has {len(chk.problems)} {noun}.")
    gated = _gated(rows_deal, rows_event, rows_activity, rows_stage)
    if gated and force_reason is None:
        noun = "deal is" if len(gated) == 1 else "deals are"
        raise ImportProblems(
            [f"{labels.get(d['id'], 'deal')}: {sentence}." for d, _absent, sentence in gated],
            f"Nothing was imported: {len(gated)} open {noun} in a stage without what its gate requires (use --force "
            "with --reason to import them anyway, logged as gate overrides).")

    if gated:  # forced: each gets a gate_override at import time, after its history
        now = clock.now()
        first = max((r["id"] for r in rows_event), default=0) + 1
        first = max(first, next_id(conn, _E.id))
        for i, (d, absent, _sentence) in enumerate(gated):
            rows_event.append({
                "id": first + i, "deal_id": d["id"], "kind": "gate_override", "at": now, "user": user,
                "from_stage_id": None, "to_stage_id": d["stage_id"], "field": None, "old_value": None,
                "new_value": ",".join(absent) or None, "reason": clean_text(force_reason or "").strip(),
                "ref_id": None})
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
        done = insert_chunks(conn, TABLES[table], rows, progress, done, total)
    won = sum(1 for d in rows_deal if d["status"] == "won")
    lost = sum(1 for d in rows_deal if d["status"] == "lost")
    return ImportResult(pname, len(rows_deal), len(rows_deal) - won - lost, won, lost, 0, len(rows_event),
                        renumbered, gate_overrides=len(gated))


def _gate(chk: _Checker, where: str, stage: dict[str, Any]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """A stage's gate in the file: its required fields and its checklist (both optional: older exports have none)."""
    required, checklist = stage.get("required") or [], stage.get("checklist") or []
    if not isinstance(required, list) or not all(isinstance(r, str) for r in required):
        chk.bad(where, "'required' must be a list of field names.")
        return (), ()
    if not isinstance(checklist, list) or not all(isinstance(c, str) for c in checklist):
        chk.bad(where, "'checklist' must be a list of texts.")
        return (), ()
    try:
        return (gates.parse_requirements(",".join(required)) if required else (),
                gates.parse_checklist("\n".join(checklist)) if checklist else ())
    except ValidationError as exc:
        chk.bad(where, lower_first(str(exc)))
        return (), ()


def _gated(rows_deal: list[dict[str, Any]], rows_event: list[dict[str, Any]], rows_activity: list[dict[str, Any]],
           rows_stage: list[dict[str, Any]]) -> list[tuple[dict[str, Any], tuple[str, ...], str]]:
    """The open deals in a stage whose gate requires fields they lack, with what they lack and the gate's sentence;
    a deal whose history already logs a gate_override into its stage since it entered it is not among them."""
    stages = {r["id"]: r for r in rows_stage if r["required"]}
    if not stages:
        return []
    overridden: dict[int, list[tuple[int, datetime]]] = {}
    for e in rows_event:
        if e["kind"] == "gate_override" and e["deal_id"] is not None:
            overridden.setdefault(e["deal_id"], []).append((e["to_stage_id"], e["at"]))
    next_steps = {a["deal_id"] for a in rows_activity if a["kind"] == "task" and not a["done"] and a["due"] is not None}
    out = []
    for d in rows_deal:
        st = stages.get(d["stage_id"])
        if st is None or d["status"] != "open":
            continue
        fields = gates.GateFields(d["value_minor"], d["expected_close"], d["company"], d["contact"], d["owner"],
                                  d["id"] in next_steps)
        absent = gates.missing(gates.stored_requirements(st["required"]), fields)
        entered = d["stage_entered_at"]
        if absent and not any(to == st["id"] and at >= entered for to, at in overridden.get(d["id"], ())):
            out.append((d, absent, gates.refusal(st["name"], absent)))
    return out


def _new_id(mapping: dict[int, int], item: dict[str, Any]) -> int | None:
    value = item.get("id")
    return mapping.get(value) if isinstance(value, int) else None


def _type_ref(chk: _Checker, where: str, value: str | None, mapping: dict[int, int]) -> str | None:
    """A deal type id in an edit event's value, renumbered; one that is in no item of the file is a problem."""
    if value is None or value == "":
        return value
    if not value.strip().isdigit() or len(value) > 10 or int(value) not in mapping:
        chk.bad(where, f"the deal type {value[:20]} it names is not in the file.")
        return value
    return str(mapping[int(value)])
