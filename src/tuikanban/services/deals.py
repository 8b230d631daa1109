"""Deal transactions. Each one checks its rules and writes the change, its event and its stay in one
IMMEDIATE transaction, so concurrent users can never exceed a WIP limit or lose an edit silently."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any, TypeVar

from sqlalchemy import and_, func, or_
from sqlmodel import Session, col, select

from tuikanban.domain import clock, wip
from tuikanban.domain.errors import StaleEditError, StaleMoveError, ValidationError, WipLimitError
from tuikanban.domain.merge import EditConflictError, FieldConflict, conflict_sentence, merge_fields
from tuikanban.domain.models import DealView
from tuikanban.domain.money import exponent, format_money, normalise_currency, to_decimal
from tuikanban.domain.records import EventView, MoveResult
from tuikanban.domain.stays import close_outcome
from tuikanban.domain.text import clean_text
from tuikanban.services import deal_actions, gates

# Re-exported while the board still imports them from here: the activity functions (now services.activities)
# and the field limits (now services.fields).
from tuikanban.services.activities import add_activity as add_activity
from tuikanban.services.activities import list_activities as list_activities
from tuikanban.services.activities import set_task_done as set_task_done
from tuikanban.services.common import (
    deal_view,
    event_view,
    get_deal_row,
    resolve_pipeline,
    resolve_stage,
    resolve_type,
    when,
)
from tuikanban.services.fields import MAX_FIELD as MAX_FIELD
from tuikanban.services.fields import MAX_NOTES as MAX_NOTES
from tuikanban.services.fields import MAX_TITLE as MAX_TITLE
from tuikanban.services.fields import checked_money, checked_title, clean_field, close_date
from tuikanban.services.history import close_stay, event_text, log_event, start_stay
from tuikanban.services.screen_reads import edit_base as edit_base  # (without the ORM: the edit form uses it)
from tuikanban.store.engine import Database
from tuikanban.store.tables import DELETED, Deal, Event, Pipeline, Stage
from tuikanban.store.uow import Unit, of_session

T = TypeVar("T")


def _open_in_stage(stage_id: int) -> tuple[Any, ...]:
    """The open deals of a stage, with their pipeline: both engines then read the deal_board index (pipeline_id,
    status, stage_id, rank); PostgreSQL cannot skip its first column and scanned every deal (docs/PERFORMANCE.md,
    "The board on PostgreSQL")."""
    pipeline = select(Stage.pipeline_id).where(Stage.id == stage_id).scalar_subquery()
    return (Deal.pipeline_id == pipeline, Deal.status == "open", Deal.stage_id == stage_id)


def _open_count(s: Session, stage_id: int, owner: str | None = None, exclude: int | None = None) -> int:
    q = select(func.count()).select_from(Deal).where(*_open_in_stage(stage_id))
    if owner is not None:
        q = q.where(Deal.owner == owner)
    if exclude is not None:
        q = q.where(Deal.id != exclude)
    return int(s.exec(q).one())


def _check_wip(
    s: Session, stage: Stage, owner: str, *, deal: Deal | None, force_reason: str | None, at: datetime, user: str
) -> bool:
    """Refuse entry at a WIP limit unless forced with a reason (the rule: domain.wip.check_entry). Returns whether
    an override was used."""
    assert stage.id is not None
    exclude = deal.id if deal is not None else None
    return wip.check_entry(stage.name, stage.wip_max, stage.rep_wip_max, owner,
                           lambda who: _open_count(s, stage.id or 0, owner=who, exclude=exclude),
                           force_reason=force_reason)


def _top_rank(s: Session, stage_id: int) -> int:
    low = s.exec(
        select(func.min(Deal.rank)).where(*_open_in_stage(stage_id))
    ).one()
    return (low if low is not None else 1) - 1


def _override(s: Session, deal: Deal, stage: Stage, reason: str, at: datetime, user: str) -> None:
    log_event(s, deal, "wip_override", at, user, to_stage_id=stage.id, reason=clean_text(reason).strip())


def _check_not_before(deal: Deal, at: datetime, what: str) -> None:
    deal_actions.check_not_before(deal.id or 0, deal.stage_entered_at, at, what)


# -- create -----------------------------------------------------------------------------------------


def create_deal(
    db: Database,
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
    """A new deal (services.deal_actions.create_deal, run in this database's write transaction)."""
    return deal_actions.create_deal(
        OrmWrite(db), pipeline, title, user=user, stage=stage, value=value, currency=currency, company=company,
        contact=contact, owner=owner, dtype=dtype, close=close, notes=notes, at=at, force_reason=force_reason)


class OrmWrite:
    """A `deal_actions.Write` on an ORM database: its write transaction (`Database.write`), the unit of work on
    the session's own connection; `check` runs first with the session (the board's stale-view checks)."""

    def __init__(self, db: Database, check: Callable[[Session], None] | None = None) -> None:
        self.db = db
        self.check = check

    def __call__(self, fn: Callable[[Unit], T]) -> T:
        def work(s: Session) -> T:
            if self.check is not None:
                self.check(s)
            return fn(of_session(s))

        return self.db.write(work)


# -- move -------------------------------------------------------------------------------------------


def move_deal(
    db: Database,
    deal_id: int,
    stage: str | int,
    *,
    user: str,
    at: datetime | str | None = None,
    force_reason: str | None = None,
    expected_version: int | None = None,
    seen_stage_id: int | None = None,
) -> MoveResult:
    """Move an open deal to another stage of its pipeline, enforcing WIP limits and gates
    (services.deal_actions.move_deal). With `seen_stage_id` (the stage the board showed), the move is refused if
    the deal has left that stage meanwhile."""

    def check(s: Session) -> None:
        deal = get_deal_row(s, deal_id)
        _check_version(deal, expected_version)
        _check_seen(s, deal, stage_id=seen_stage_id, user=user, doing="moved")

    stale_checks = expected_version is not None or seen_stage_id is not None
    return deal_actions.move_deal(OrmWrite(db, check if stale_checks else None), deal_id, stage, user=user, at=at,
                                  force_reason=force_reason)


def _check_version(deal: Deal, expected: int | None) -> None:
    if expected is not None and deal.version != expected:
        raise StaleEditError(
            f"Deal {deal.id} was changed by someone else since you opened it; it has been reloaded, "
            "check it and try again."
        )


def _check_seen(s: Session, deal: Deal, *, stage_id: int | None, user: str, doing: str) -> None:
    """Refuse an action based on a deal the user saw open in `stage_id` if it is no longer there (the one rule:
    services.deal_actions.check_seen, on the session's connection inside its write transaction)."""
    if stage_id is None or (deal.status == "open" and deal.stage_id == stage_id):
        return
    deal_actions.check_seen(of_session(s), deal.id or 0, stage_id, user=user, doing=doing)


def closed_meanwhile(db: Database, deal_id: int, *, user: str) -> str:
    """Who took the deal off the board (closed or deleted it) and when, for a rep whose form saved onto it since:
    'carol deleted it a moment ago'. Empty when the deal is open."""
    with db.read() as s:
        deal = get_deal_row(s, deal_id)
        if deal.status == "open":
            return ""
        last = s.exec(select(Event).where(Event.deal_id == deal_id, col(Event.kind).in_(("won", "lost", "deleted")))
                      .order_by(col(Event.id).desc()).limit(1)).first()
        did = "deleted it" if deal.status == DELETED else f"marked it {deal.status}"
        if last is None:
            return f"someone {did}"
        who = _who(last.user, user)
        who = who if last.user and last.user != user else who[0].lower() + who[1:]  # (mid-sentence)
        return f"{who} {did} {_ago(clock.as_utc(last.at))}"


def _who(actor: str, user: str) -> str:
    """The subject of a sentence about another rep's action: their name as they typed it, or You / Someone."""
    if not actor:
        return "Someone"
    return "You (in another window)" if actor == user else actor


_ago = deal_actions.ago


# -- reorder ----------------------------------------------------------------------------------------


def reorder_deal(db: Database, deal_id: int, direction: int, *, user: str, same_type: bool = False,
                 seen_stage_id: int | None = None) -> bool:
    """Swap a deal with its neighbour above (-1) or below (+1) in its column (or its swimlane cell).

    Returns False when the deal is already at that end. With `seen_stage_id`, refused if the deal left that stage.
    """

    def work(s: Session) -> bool:
        deal = get_deal_row(s, deal_id)
        _check_seen(s, deal, stage_id=seen_stage_id, user=user, doing="reordered")
        if deal.status != "open":
            raise ValidationError(f"Deal {deal_id} is {deal.status}; only open deals can be reordered.")
        q = select(Deal).where(Deal.stage_id == deal.stage_id, Deal.status == "open", Deal.id != deal.id)
        if same_type:
            q = q.where(Deal.type_id == deal.type_id) if deal.type_id is not None else q.where(
                Deal.type_id == None  # noqa: E711
            )
        if direction < 0:
            q = q.where(or_(col(Deal.rank) < deal.rank, and_(col(Deal.rank) == deal.rank, col(Deal.id) < deal.id)))
            q = q.order_by(col(Deal.rank).desc(), col(Deal.id).desc())
        else:
            q = q.where(or_(col(Deal.rank) > deal.rank, and_(col(Deal.rank) == deal.rank, col(Deal.id) > deal.id)))
            q = q.order_by(col(Deal.rank), col(Deal.id))
        other = s.exec(q.limit(1)).first()
        if other is None:
            return False
        if other.rank == deal.rank:
            # equal ranks (ties broken by id): make room so that the swap is visible
            _spread_ranks(s, deal.stage_id)
            s.refresh(deal)
            s.refresh(other)
        # old_value: the rank it had, so that undo puts it back in place (services.undo)
        log_event(s, deal, "reorder", when(None), user, to_stage_id=deal.stage_id, old_value=str(deal.rank),
                  new_value="up" if direction < 0 else "down")
        deal.rank, other.rank = other.rank, deal.rank
        s.add(deal)
        s.add(other)
        return True

    return db.write(work)


def _spread_ranks(s: Session, stage_id: int) -> None:
    rows = s.exec(
        select(Deal).where(Deal.stage_id == stage_id, Deal.status == "open").order_by(col(Deal.rank), col(Deal.id))
    ).all()
    for i, d in enumerate(rows):
        d.rank = i * 16
        s.add(d)
    s.flush()


# -- edit -------------------------------------------------------------------------------------------

EDITABLE = ("title", "company", "contact", "value", "currency", "owner", "type", "close", "notes")
FIELD_LABELS = {"title": "title", "company": "company", "contact": "contact", "value": "value",
                "currency": "currency", "owner": "owner", "type": "deal type", "close": "expected close date",
                "notes": "notes"}


def _stored(deal: Deal) -> dict[str, Any]:
    return {"title": deal.title, "company": deal.company, "contact": deal.contact, "value": deal.value_minor,
            "currency": deal.currency, "owner": deal.owner, "type": deal.type_id, "close": deal.expected_close,
            "notes": deal.notes}


def _typed(s: Session, p: Pipeline, deal: Deal, changes: dict[str, Any]) -> dict[str, Any]:
    """The user's values in stored form (cleaned text, minor units, ids, dates), to compare with `_stored`."""
    currency = normalise_currency(changes["currency"]) if changes.get("currency") else deal.currency
    out: dict[str, Any] = {}
    for name, raw in changes.items():
        if name == "title":
            out[name] = checked_title(raw)
        elif name in ("company", "contact"):
            out[name] = clean_field(raw, name)
        elif name == "notes":
            out[name] = clean_field(raw, "notes", MAX_NOTES, multiline=True)
        elif name == "currency":
            out[name] = currency
        elif name == "value":
            out[name] = checked_money(raw, currency)
        elif name == "owner":
            out[name] = clean_field(raw, "owner", 200)
        elif name == "type":
            out[name] = resolve_type(s, p, raw).id if raw not in (None, "") else None
        elif name == "close":
            out[name] = close_date(raw)
    return out


def _merge_or_refuse(s: Session, p: Pipeline, deal: Deal, changes: dict[str, Any], base: dict[str, Any]
                     ) -> dict[str, Any]:
    """The changes this user made that can be saved; EditConflictError when someone else changed the same field."""
    mine = _typed(s, p, deal, changes)
    merged = merge_fields(base, mine, _stored(deal))
    if merged.conflicts:
        conflicts = []
        for name in merged.conflicts:
            last = s.exec(select(Event).where(Event.deal_id == deal.id, Event.kind == "edit", Event.field == name)
                          .order_by(col(Event.id).desc()).limit(1)).first()
            conflicts.append(FieldConflict(name, mine[name], _stored(deal)[name], last.user if last else "",
                                           clock.as_utc(last.at) if last else None))
        raise EditConflictError(conflict_sentence(conflicts, FIELD_LABELS), conflicts)
    return {name: changes[name] for name in merged.apply}


def edit_deal(
    db: Database,
    deal_id: int,
    changes: dict[str, Any],
    *,
    user: str,
    at: datetime | str | None = None,
    expected_version: int | None = None,
    base: dict[str, Any] | None = None,
) -> tuple[DealView, list[str]]:
    """Apply field changes; each changed field becomes one `edit` event. Returns the deal and changed fields.

    Keys: title, company, contact, value (text or minor units), currency, owner, type (name, id or ""),
    close (YYYY-MM-DD, date or ""), notes. Unchanged values make no event. With `base` (`edit_base` of the deal
    the form loaded) only the fields the user changed are saved, merged with what others saved meanwhile
    (domain.merge); a field both changed raises EditConflictError and nothing is saved.
    """
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise ValidationError(f"Unknown deal field: {', '.join(sorted(unknown))}.")
    ts = when(at)
    submitted = changes

    def work(s: Session) -> tuple[DealView, list[str]]:
        deal = get_deal_row(s, deal_id)
        _check_version(deal, expected_version)
        p = s.get(Pipeline, deal.pipeline_id)
        assert p is not None
        changes = _merge_or_refuse(s, p, deal, submitted, base) if base is not None else submitted
        changed: list[str] = []

        def record(field: str, old: Any, new: Any) -> None:
            changed.append(field)
            log_event(s, deal, "edit", ts, user, field=field, old_value=event_text(old), new_value=event_text(new))

        if "title" in changes:
            new = checked_title(changes["title"])
            if new != deal.title:
                record("title", deal.title, new)
                deal.title = new
        for field in ("company", "contact"):
            if field in changes:
                new = clean_field(changes[field], field)
                if new != getattr(deal, field):
                    record(field, getattr(deal, field), new)
                    setattr(deal, field, new)
        if "notes" in changes:
            new = clean_field(changes["notes"], "notes", MAX_NOTES, multiline=True)
            if new != deal.notes:
                record("notes", None, None)
                deal.notes = new
        if changes.get("currency"):
            cur = normalise_currency(changes["currency"])
            if cur != deal.currency:
                if deal.value_minor is not None and "value" not in changes:
                    # Keep the amount in major units: 12,500.50 USD becomes 12,500.500 KWD, not 1,250.050 KWD.
                    rescaled = to_decimal(deal.value_minor, deal.currency).scaleb(exponent(cur))
                    if rescaled != rescaled.to_integral_value():
                        raise ValidationError(
                            f"The value {format_money(deal.value_minor, deal.currency)} cannot be written in {cur}; "
                            "give a new value along with the currency."
                        )
                    if int(rescaled) != deal.value_minor:
                        record("value", deal.value_minor, int(rescaled))
                        deal.value_minor = int(rescaled)
                record("currency", deal.currency, cur)
                deal.currency = cur
        if "value" in changes:
            new_v = checked_money(changes["value"], deal.currency)
            if new_v != deal.value_minor:
                record("value", deal.value_minor, new_v)
                deal.value_minor = new_v
        if "owner" in changes:
            new_o = clean_field(changes["owner"], "owner", 200)
            if new_o != deal.owner:
                if deal.status == "open":
                    st = s.get(Stage, deal.stage_id)
                    assert st is not None and st.id is not None
                    if st.rep_wip_max is not None and new_o:
                        n = _open_count(s, st.id, owner=new_o, exclude=deal.id)
                        if not wip.admits(n, st.rep_wip_max):
                            raise WipLimitError(
                                wip.refusal(st.name, n, st.rep_wip_max, new_o), stage=st.name, count=n,
                                limit=st.rep_wip_max, per_owner=True,
                            )
                record("owner", deal.owner, new_o)
                deal.owner = new_o
        if "type" in changes:
            ref = changes["type"]
            t = resolve_type(s, p, ref, to_use=True) if ref not in (None, "") else None
            new_t = t.id if t else None
            if new_t != deal.type_id:
                record("type", deal.type_id, new_t)
                deal.type_id = new_t
        if "close" in changes:
            new_c = close_date(changes["close"])
            if new_c != deal.expected_close:
                record("close", deal.expected_close, new_c)
                deal.expected_close = new_c
        if changed:
            deal.version += 1
            s.add(deal)
            s.flush()
        return deal_view(s, deal), changed

    return db.write(work)


# -- close and reopen -------------------------------------------------------------------------------


def win_deal(db: Database, deal_id: int, *, user: str, at: datetime | str | None = None,
             expected_version: int | None = None, seen_stage_id: int | None = None) -> DealView:
    ts = when(at)

    def work(s: Session) -> DealView:
        deal = get_deal_row(s, deal_id)
        _check_version(deal, expected_version)
        _check_seen(s, deal, stage_id=seen_stage_id, user=user, doing="marked won")
        if deal.status != "open":
            raise ValidationError(f"Deal {deal_id} is already {deal.status}.")
        _check_not_before(deal, ts, "won")
        close_stay(s, deal, ts, close_outcome("won"))
        log_event(s, deal, "won", ts, user, from_stage_id=deal.stage_id)
        deal.status, deal.closed_at, deal.lost_reason = "won", ts, ""
        deal.version += 1
        s.add(deal)
        s.flush()
        return deal_view(s, deal)

    return db.write(work)


def lose_deal(db: Database, deal_id: int, reason: str, *, user: str, at: datetime | str | None = None,
              expected_version: int | None = None, seen_stage_id: int | None = None) -> DealView:
    clean_reason = clean_field(reason, "lost reason", 500)
    if not clean_reason:
        raise ValidationError("Marking a deal lost needs a reason.")
    ts = when(at)

    def work(s: Session) -> DealView:
        deal = get_deal_row(s, deal_id)
        _check_version(deal, expected_version)
        _check_seen(s, deal, stage_id=seen_stage_id, user=user, doing="marked lost")
        if deal.status != "open":
            raise ValidationError(f"Deal {deal_id} is already {deal.status}.")
        _check_not_before(deal, ts, "lost")
        close_stay(s, deal, ts, close_outcome("lost"))
        log_event(s, deal, "lost", ts, user, from_stage_id=deal.stage_id, reason=clean_reason)
        deal.status, deal.closed_at, deal.lost_reason = "lost", ts, clean_reason
        deal.version += 1
        s.add(deal)
        s.flush()
        return deal_view(s, deal)

    return db.write(work)


def reopen_deal(db: Database, deal_id: int, stage: str | int, *, user: str, at: datetime | str | None = None,
                force_reason: str | None = None, expected_version: int | None = None,
                seen_status: str | None = None) -> DealView:
    """Reopen a won or lost deal into `stage`. With `seen_status` (what the closed-deals list showed), refused
    with a sentence if someone reopened it meanwhile."""
    ts = when(at)

    def work(s: Session) -> DealView:
        deal = get_deal_row(s, deal_id)
        _check_version(deal, expected_version)
        if seen_status is not None and deal.status == "open":
            stage_now = s.get(Stage, deal.stage_id)
            last = s.exec(select(Event).where(Event.deal_id == deal.id, Event.kind == "reopen")
                          .order_by(col(Event.id).desc()).limit(1)).first()
            who = _who(last.user if last is not None else "", user)
            ago = "" if last is None else " " + _ago(clock.as_utc(last.at))
            raise StaleMoveError(f"{who} reopened this deal into "
                                 f"{stage_now.name if stage_now else 'a stage'}{ago}.", deal_id=deal.id or 0)
        if deal.status == "open":
            raise ValidationError(f"Deal {deal_id} is already open.")
        if deal.status == DELETED:  # -- issue 14
            raise ValidationError(f"Deal {deal_id} is deleted; restore it with 'tuikanban deal restore {deal_id}'.")
        if deal.closed_at is not None and ts < clock.as_utc(deal.closed_at):
            raise ValidationError(
                f"The reopen time {ts:%Y-%m-%d %H:%M} is before deal {deal.id} was closed "
                f"({clock.as_utc(deal.closed_at):%Y-%m-%d %H:%M})."
            )
        p = s.get(Pipeline, deal.pipeline_id)
        assert p is not None
        target = resolve_stage(s, p, stage)
        assert target.id is not None
        forced = _check_wip(s, target, deal.owner, deal=None, force_reason=force_reason, at=ts, user=user)
        gate_forced = gates.check_gate(s, target, gates.fields_of(s, deal), force_reason=force_reason)
        if forced:
            _override(s, deal, target, force_reason or "", ts, user)
        if gate_forced:
            gates.log_override(s, deal, target, force_reason or "", ts, user)
        log_event(s, deal, "reopen", ts, user, to_stage_id=target.id, old_value=deal.status)
        deal.status, deal.closed_at, deal.lost_reason = "open", None, ""
        deal.snoozed_until = None  # a reopened deal is on the board again, whatever a snooze before its close said
        deal.stage_id, deal.stage_entered_at = target.id, ts
        deal.rank = _top_rank(s, target.id)
        deal.version += 1
        start_stay(s, deal, target.id, ts)
        s.add(deal)
        s.flush()
        return deal_view(s, deal)

    return db.write(work)


# -- undo -------------------------------------------------------------------------------------------


def undo_last(db: Database, pipeline: str | int | None, *, user: str, force_reason: str | None = None) -> str:
    """Reverse this user's last action in the pipeline (services.undo, where redo is too); one sentence back."""
    from tuikanban.services.undo import undo_last as undo

    return undo(db, pipeline, user=user, force_reason=force_reason)


# -- reads ------------------------------------------------------------------------------------------


def get_deal(db: Database, deal_id: int) -> DealView:
    with db.read() as s:
        return deal_view(s, get_deal_row(s, deal_id))


def known_owners(db: Database) -> list[str]:
    """Every owner of a deal that is not deleted, in name order: the reps the deal form offers."""
    with db.read() as s:
        rows = s.exec(select(Deal.owner).where(Deal.owner != "", Deal.status != DELETED).distinct()).all()
    return sorted(rows, key=str.casefold)


def list_deals(db: Database, pipeline: str | int | None, *, status: str = "open") -> list[DealView]:
    if status not in ("open", "won", "lost", "all"):
        raise ValidationError(f"'{status}' is not a status; use open, won, lost or all.")
    with db.read() as s:
        p = resolve_pipeline(s, pipeline)
        from tuikanban.store.queries import deal_views

        return deal_views(s, p.id, None if status == "all" else status)  # type: ignore[arg-type]


def deal_history(db: Database, deal_id: int) -> list[EventView]:
    with db.read() as s:
        deal = get_deal_row(s, deal_id)
        names = {st.id: st.name for st in s.exec(select(Stage).where(Stage.pipeline_id == deal.pipeline_id))}
        evs = s.exec(select(Event).where(Event.deal_id == deal_id).order_by(col(Event.id)))
        return [event_view(e, names) for e in evs]  # type: ignore[arg-type]
