"""Creating and moving a deal, written once on the DB-API unit of work (`store.uow.Unit`), without the ORM.

`services.deals.create_deal` and `move_deal` (the board, the forms, every Typer command) run these inside their
ORM write transaction; the command line's fast path (`cli/deals.py`) runs them on a connection of its own
(`store.uow.open_writer`), so `deal add` and `deal move` never import SQLAlchemy. One code path, one set of
rules: the checks come from domain/ (`wip.check_entry`, `gates.check_entry`, `stays.move_outcome`, the field
checks of `services.fields`), and each action writes its deal row, its events (`create` / `move`, and
`wip_override` / `gate_override` when forced) and its stays in the one transaction the writer holds.

The rows are those the ORM wrote before this module existed (timestamps as SQLAlchemy stores them, see
`store.uow.Unit`); tests run the same commands through both paths and compare every row.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol, TypeVar

from tuikanban.domain import clock, gates, wip
from tuikanban.domain.clock import as_utc, when
from tuikanban.domain.errors import NotFoundError, StaleMoveError, ValidationError
from tuikanban.domain.gates import GateFields
from tuikanban.domain.models import DealView, PipelineInfo
from tuikanban.domain.money import normalise_currency
from tuikanban.domain.records import MoveResult
from tuikanban.domain.stays import move_outcome
from tuikanban.domain.text import clean_text, name_key
from tuikanban.services.fields import MAX_NOTES, checked_money, checked_title, clean_field, close_date
from tuikanban.services.pipeline_ref import resolve_pipeline
from tuikanban.store.screenreads import DEAL_VIEW_SQL, deal_view_of
from tuikanban.store.uow import Unit

T = TypeVar("T")


class Write(Protocol):
    """Runs a function in one write transaction (`store.uow.open_writer`'s writers, or the ORM's, in
    `services.deals`)."""

    def __call__(self, fn: Callable[[Unit], T]) -> T: ...


@dataclass(frozen=True, slots=True)
class _Stage:
    id: int
    pipeline_id: int
    name: str
    position: int
    wip_max: int | None
    rep_wip_max: int | None
    exit_criteria: str
    archived: bool
    required: str


_STAGE = ("SELECT id, pipeline_id, name, position, wip_max, rep_wip_max, exit_criteria, archived, required "
          "FROM stage")


def _stage(row: Any) -> _Stage:
    return _Stage(int(row[0]), int(row[1]), row[2], int(row[3]), row[4], row[5], row[6] or "", bool(row[7]),
                  row[8] or "")


# -- lookups (the sentences of services.common's ORM lookups) ------------------------------------------------


def _active_stage_names(u: Unit, pipeline_id: int) -> str:
    rows = u.rows("SELECT name FROM stage WHERE pipeline_id = ? AND archived = ? ORDER BY position, id",
                  (pipeline_id, False))
    return ", ".join(r[0] for r in rows)


def resolve_stage(u: Unit, p: PipelineInfo, ref: str | int) -> _Stage:
    if isinstance(ref, int):
        row = u.one(f"{_STAGE} WHERE id = ?", (ref,))
        if row is None or row[1] != p.id:
            raise NotFoundError(f"Pipeline {p.name} has no stage with id {ref}.")
        return _stage(row)
    row = u.one(f"{_STAGE} WHERE pipeline_id = ? AND name_key = ?", (p.id, name_key(ref)))
    if row is None or row[7]:
        raise NotFoundError(f"Pipeline {p.name} has no stage named '{ref}' (stages: {_active_stage_names(u, p.id)}).")
    return _stage(row)


def _first_stage(u: Unit, p: PipelineInfo) -> _Stage:
    row = u.one(f"{_STAGE} WHERE pipeline_id = ? AND archived = ? ORDER BY position, id LIMIT 1", (p.id, False))
    if row is None:
        raise ValidationError(f"Pipeline {p.name} has no stages; add one with 'tuikanban stage add'.")
    return _stage(row)


def _resolve_type(u: Unit, p: PipelineInfo, ref: str | int) -> int:
    """A deal type's id by id or name, refused when archived (it is being given to a deal)."""
    if isinstance(ref, int):
        row = u.one("SELECT id, pipeline_id, name, archived FROM deal_type WHERE id = ?", (ref,))
        if row is None or row[1] != p.id:
            raise NotFoundError(f"Pipeline {p.name} has no deal type with id {ref}.")
    else:
        row = u.one("SELECT id, pipeline_id, name, archived FROM deal_type WHERE pipeline_id = ? AND name_key = ?",
                    (p.id, name_key(ref)))
        if row is None:
            names = ", ".join(r[0] for r in u.rows("SELECT name FROM deal_type WHERE pipeline_id = ? ORDER BY id",
                                                   (p.id,)))
            hint = f" (types: {names})" if names else " (it has none yet; add one with 'tuikanban type add')"
            raise NotFoundError(f"Pipeline {p.name} has no deal type named '{ref}'{hint}.")
    if row[3]:
        raise ValidationError(f"The deal type {row[2]} is archived; choose another one "
                              f"(or 'tuikanban type unarchive {row[2]}').")
    return int(row[0])


# -- counts and records ---------------------------------------------------------------------------------------


# The open deals of a stage, written with their pipeline so that both engines read the deal_board index
# (pipeline_id, status, stage_id, rank): PostgreSQL cannot skip its first column, and scanned all the deals (113 ms
# at 100,000 open deals against 0.3 ms; docs/PERFORMANCE.md, The board on PostgreSQL).
_OPEN_IN_STAGE = "pipeline_id = (SELECT pipeline_id FROM stage WHERE id = ?) AND status = 'open' AND stage_id = ?"


def _open_count(u: Unit, stage_id: int, owner: str | None, exclude: int | None) -> int:
    sql = f"SELECT count(*) FROM deal WHERE {_OPEN_IN_STAGE}"
    args: list[Any] = [stage_id, stage_id]
    if owner is not None:
        sql, args = sql + " AND owner = ?", [*args, owner]
    if exclude is not None:
        sql, args = sql + " AND id != ?", [*args, exclude]
    return int(u.scalar(sql, tuple(args)))


def _top_rank(u: Unit, stage_id: int) -> int:
    low = u.scalar(f"SELECT min(rank) FROM deal WHERE {_OPEN_IN_STAGE}", (stage_id, stage_id))
    return (int(low) if low is not None else 1) - 1


def _has_next_step(u: Unit, deal_id: int) -> bool:
    """An open follow-up task with a due date (services.gates.has_next_step)."""
    return u.one("SELECT id FROM activity WHERE deal_id = ? AND kind = 'task' AND done = ? AND due IS NOT NULL "
                 "LIMIT 1", (deal_id, False)) is not None


def _event(u: Unit, pipeline_id: int, deal_id: int, kind: str, at: datetime, user: str, **fields: Any) -> None:
    u.insert("event", {"pipeline_id": pipeline_id, "deal_id": deal_id, "kind": kind, "at": u.instant(at),
                       "user": user, "from_stage_id": None, "to_stage_id": None, "field": None, "old_value": None,
                       "new_value": None, "reason": None, "ref_id": None, **fields})


def _overrides(u: Unit, pipeline_id: int, deal_id: int, st: _Stage, fields: GateFields, *, wip_forced: bool,
               gate_forced: bool, reason: str, at: datetime, user: str) -> None:
    """The `wip_override` and `gate_override` events of a forced entry (the gate's names the missing fields)."""
    if wip_forced:
        _event(u, pipeline_id, deal_id, "wip_override", at, user, to_stage_id=st.id, reason=clean_text(reason).strip())
    if gate_forced:
        absent = gates.missing(gates.stored_requirements(st.required), fields)
        _event(u, pipeline_id, deal_id, "gate_override", at, user, to_stage_id=st.id,
               new_value=",".join(absent) or None, reason=clean_text(reason).strip())


def _start_stay(u: Unit, pipeline_id: int, deal_id: int, stage_id: int, at: datetime) -> None:
    u.insert("stay", {"pipeline_id": pipeline_id, "deal_id": deal_id, "stage_id": stage_id,
                      "entered_at": u.instant(at), "left_at": None, "outcome": None})


def check_not_before(deal_id: int, entered: datetime, at: datetime, what: str) -> None:
    """A change is never recorded before the deal entered its current stage (its stay would end before it began)."""
    if at < as_utc(entered):
        raise ValidationError(
            f"The {what} time {at:%Y-%m-%d %H:%M} is before deal {deal_id} entered its current stage "
            f"({as_utc(entered):%Y-%m-%d %H:%M})."
        )


# The events that take a deal out of the stage a board showed (the stale-view check names who did it).
_LEAVING = ("move", "won", "lost", "reopen", "undo", "redo", "deleted", "restored")


def ago(at: datetime) -> str:
    """'a moment ago', '5 minutes ago', '3 hours ago' or 'on 2026-03-01' for an instant (UTC)."""
    seconds = (clock.now() - at).total_seconds()
    if seconds < 90:
        return "a moment ago"
    if seconds < 90 * 60:
        return f"{round(seconds / 60)} minutes ago"
    if seconds < 36 * 3600:
        return f"{round(seconds / 3600)} hours ago"
    return f"on {at:%Y-%m-%d}"


def check_seen(u: Unit, deal_id: int, stage_id: int | None, *, user: str, doing: str) -> None:
    """Refuse an action based on a deal the user saw open in `stage_id` if it is no longer there.

    Checked inside the write transaction, so a move made from a board that was a moment out of date never silently
    undoes another rep's move: the sentence says who moved the deal where (see docs/RULES.md, "Concurrent edits").
    The one rule for the ORM path (services.deals) and the board's writes without the ORM."""
    if stage_id is None:
        return
    row = u.one("SELECT title, status, stage_id FROM deal WHERE id = ?", (deal_id,))
    if row is None:
        raise NotFoundError(f"There is no deal with id {deal_id}.")
    title, status, current = row
    if status == "open" and current == stage_id:
        return
    marks = ", ".join("?" for _ in _LEAVING)
    last = u.one(f'SELECT "user", at FROM event WHERE deal_id = ? AND kind IN ({marks}) ORDER BY id DESC LIMIT 1',
                 (deal_id, *_LEAVING))
    if last is None or not last[0] or last[0] == user:
        # Not another rep's doing: this user's own move queued just before was refused, or it was their own
        # change in another window. Say where the board thought the deal was.
        seen = u.scalar("SELECT name FROM stage WHERE id = ?", (stage_id,))
        where = seen if seen is not None else "the stage the board showed"
        now = f"is {status} now" if status != "open" else f"is not in {where}"
        raise StaleMoveError(f"'{title}' {now} (the move before was refused, or it changed elsewhere), so it "
                             f"was not {doing}.", deal_id=deal_id)
    if status != "open":
        what = f"marked this deal {status}"
    else:
        name = u.scalar("SELECT name FROM stage WHERE id = ?", (current,))
        what = f"moved this deal to {name if name is not None else 'another stage'}"
    at = u.read_instant(last[1])
    assert at is not None
    raise StaleMoveError(f"{last[0]} {what} {ago(as_utc(at))}, so it was not {doing}.", deal_id=deal_id)


def deal_view(u: Unit, deal_id: int) -> DealView:
    return deal_view_of(u.one(DEAL_VIEW_SQL, (deal_id,)), u.read_instant, u.read_day)


# -- create ---------------------------------------------------------------------------------------------------


def create_deal(
    write: Write,
    pipeline: str | int | None,
    title: str,
    *,
    user: str,
    stage: str | int | None = None,
    value: str | int | None = None,
    currency: str | None = None,
    company: str | None = None,
    contact: str | None = None,
    owner: str | None = None,
    dtype: str | int | None = None,
    close: str | date | None = None,
    notes: str | None = None,
    at: datetime | str | None = None,
    force_reason: str | None = None,
) -> DealView:
    """A new open deal at the top of its stage (the pipeline's first stage unless `stage`), with its `create`
    event and its first stay; refused at a WIP limit or a stage gate unless forced with a reason."""
    clean_title = checked_title(title)
    ts = when(at)

    def work(u: Unit) -> DealView:
        p = resolve_pipeline(u, pipeline)
        cur = normalise_currency(currency) if currency else p.currency
        st = resolve_stage(u, p, stage) if stage is not None else _first_stage(u, p)
        type_id = _resolve_type(u, p, dtype) if dtype is not None and str(dtype).strip() else None
        who = clean_field(owner, "owner", 200) if owner is not None else user
        forced = wip.check_entry(st.name, st.wip_max, st.rep_wip_max, who,
                                 lambda rep: _open_count(u, st.id, rep, None), force_reason=force_reason)
        value_minor, close_day = checked_money(value, cur), close_date(close)
        company_t, contact_t = clean_field(company, "company"), clean_field(contact, "contact")
        fields = GateFields(value_minor, close_day, company_t, contact_t, who, False)
        gate_forced = gates.check_entry(st.name, st.required, fields, force_reason=force_reason)
        notes_t = clean_field(notes, "notes", MAX_NOTES, multiline=True)
        rank = _top_rank(u, st.id)
        deal_id = u.insert("deal", {
            "pipeline_id": p.id, "title": clean_title, "company": company_t, "contact": contact_t,
            "value_minor": value_minor, "currency": cur, "owner": who, "type_id": type_id,
            "expected_close": u.day(close_day), "notes": notes_t, "stage_id": st.id, "status": "open",
            "lost_reason": "", "created_at": u.instant(ts), "stage_entered_at": u.instant(ts), "closed_at": None,
            "last_activity_at": None, "rank": rank, "version": 1, "snoozed_until": None,
        })
        if forced or gate_forced:
            fields = GateFields(value_minor, close_day, company_t, contact_t, who, _has_next_step(u, deal_id))
            _overrides(u, p.id, deal_id, st, fields, wip_forced=forced, gate_forced=gate_forced,
                       reason=force_reason or "", at=ts, user=user)
        _event(u, p.id, deal_id, "create", ts, user, to_stage_id=st.id)
        _start_stay(u, p.id, deal_id, st.id, ts)
        return deal_view(u, deal_id)

    return write(work)


# -- move -----------------------------------------------------------------------------------------------------


def move_deal(
    write: Write,
    deal_id: int,
    stage: str | int,
    *,
    user: str,
    at: datetime | str | None = None,
    force_reason: str | None = None,
    seen_stage_id: int | None = None,
) -> MoveResult:
    """Move an open deal to another stage of its pipeline: WIP limits and the stage's gate checked, the stay it
    leaves ended (advanced or dropped) and a new one begun, a `move` event recording the rank it had (for undo),
    and the deal put at the top of the new column. With `seen_stage_id` (the stage the board showed), refused if
    the deal left that stage meanwhile (`check_seen`)."""
    ts = when(at)

    def work(u: Unit) -> MoveResult:
        check_seen(u, deal_id, seen_stage_id, user=user, doing="moved")
        row = u.one("SELECT id, pipeline_id, status, stage_id, stage_entered_at, owner, rank, value_minor, "
                    "expected_close, company, contact FROM deal WHERE id = ?", (deal_id,))
        if row is None:
            raise NotFoundError(f"There is no deal with id {deal_id}.")
        _, pipeline_id, status, stage_id, entered, owner, rank, value_minor, close_raw, company, contact = row
        if status != "open":
            raise ValidationError(f"Deal {deal_id} is {status}; reopen it before moving it.")
        p = resolve_pipeline(u, int(pipeline_id))
        target = resolve_stage(u, p, stage)
        source = _stage(u.one(f"{_STAGE} WHERE id = ?", (stage_id,)))
        if target.id == source.id:
            raise ValidationError(f"Deal {deal_id} is already in {target.name}.")
        check_not_before(deal_id, u.read_instant(entered) or ts, ts, "move")
        forced = wip.check_entry(target.name, target.wip_max, target.rep_wip_max, owner,
                                 lambda rep: _open_count(u, target.id, rep, deal_id), force_reason=force_reason)
        fields = GateFields(value_minor, u.read_day(close_raw), company, contact, owner, _has_next_step(u, deal_id))
        gate_forced = gates.check_entry(target.name, target.required, fields, force_reason=force_reason)
        _overrides(u, p.id, deal_id, target, fields, wip_forced=forced, gate_forced=gate_forced,
                   reason=force_reason or "", at=ts, user=user)
        stay = u.one("SELECT id, entered_at FROM stay WHERE deal_id = ? AND left_at IS NULL ORDER BY id DESC LIMIT 1",
                     (deal_id,))
        if stay is not None:  # the stay it leaves ends now (never before it began)
            left = max(ts, u.read_instant(stay[1]) or ts)
            u.run("UPDATE stay SET left_at = ?, outcome = ? WHERE id = ?",
                  (u.instant(left), move_outcome(source.position, target.position), stay[0]))
        _start_stay(u, p.id, deal_id, target.id, ts)
        _event(u, p.id, deal_id, "move", ts, user, from_stage_id=source.id, to_stage_id=target.id,
               old_value=str(rank),  # the rank it had in the old column, so undo puts it back in place
               reason=clean_text(force_reason).strip() if forced and force_reason else None)
        # The deal is in its new column before the top rank is read, so it counts its own old rank (as it did
        # when the ORM flushed it before that query).
        u.run("UPDATE deal SET stage_id = ?, stage_entered_at = ? WHERE id = ?", (target.id, u.instant(ts), deal_id))
        u.run("UPDATE deal SET rank = ?, version = version + 1 WHERE id = ?", (_top_rank(u, target.id), deal_id))
        return MoveResult(deal_view(u, deal_id), source.name, target.name, target.exit_criteria, forced, gate_forced)

    return write(work)


__all__ = ["Write", "ago", "check_not_before", "check_seen", "create_deal", "deal_view", "move_deal",
           "resolve_pipeline", "resolve_stage"]
