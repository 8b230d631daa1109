"""Deal transactions. Each one checks its rules and writes the change, its event and its stay in one
IMMEDIATE transaction, so concurrent users can never exceed a WIP limit or lose an edit silently."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, func, or_
from sqlmodel import Session, col, select

from tuikanban.domain import clock, wip
from tuikanban.domain.errors import StaleEditError, ValidationError, WipLimitError
from tuikanban.domain.gates import GateFields
from tuikanban.domain.models import ActivityView, DealView, EventView, MoveResult
from tuikanban.domain.money import exponent, format_money, normalise_currency, parse_money, to_decimal
from tuikanban.domain.text import clean_text
from tuikanban.services import gates
from tuikanban.services.common import (
    deal_view,
    event_view,
    get_deal_row,
    resolve_pipeline,
    resolve_stage,
    resolve_type,
    when,
)
from tuikanban.store.engine import Database
from tuikanban.store.tables import ACTIVITY_KINDS, Activity, Deal, Event, Pipeline, Stage, Stay

MAX_TITLE = 300
MAX_FIELD = 300
MAX_NOTES = 20_000


def _clean_field(value: str | None, what: str, limit: int = MAX_FIELD, *, multiline: bool = False) -> str:
    text = clean_text(value or "", multiline=multiline).strip()
    if len(text) > limit:
        raise ValidationError(f"The {what} is longer than {limit} characters ({len(text)}).")
    return text


def _clean_title(title: str) -> str:
    text = _clean_field(title, "title", MAX_TITLE)
    if not text:
        raise ValidationError("A deal needs a title.")
    return text


def _money(value: str | int | None, currency: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, int):
        if value < 0:
            raise ValidationError("A deal value must be zero or more.")
        return value
    if not value.strip():
        return None
    return parse_money(value, currency)


def _close_date(value: str | date | None) -> date | None:
    if value is None or isinstance(value, date):
        return value
    if not value.strip():
        return None
    return clock.parse_date(value, what="close date")


def _log(s: Session, deal: Deal, kind: str, at: datetime, user: str, **fields: Any) -> Event:
    ev = Event(pipeline_id=deal.pipeline_id, deal_id=deal.id, kind=kind, at=at, user=user, **fields)
    s.add(ev)
    return ev


def _open_count(s: Session, stage_id: int, owner: str | None = None, exclude: int | None = None) -> int:
    q = select(func.count()).select_from(Deal).where(Deal.stage_id == stage_id, Deal.status == "open")
    if owner is not None:
        q = q.where(Deal.owner == owner)
    if exclude is not None:
        q = q.where(Deal.id != exclude)
    return int(s.exec(q).one())


def _check_wip(
    s: Session, stage: Stage, owner: str, *, deal: Deal | None, force_reason: str | None, at: datetime, user: str
) -> bool:
    """Refuse entry at a WIP limit unless forced with a reason. Returns whether an override was used."""
    assert stage.id is not None
    exclude = deal.id if deal is not None else None
    problems: list[tuple[str, int, int, bool]] = []
    if stage.wip_max is not None:
        n = _open_count(s, stage.id, exclude=exclude)
        if not wip.admits(n, stage.wip_max):
            problems.append((wip.refusal(stage.name, n, stage.wip_max), n, stage.wip_max, False))
    if stage.rep_wip_max is not None and owner:
        n = _open_count(s, stage.id, owner=owner, exclude=exclude)
        if not wip.admits(n, stage.rep_wip_max):
            problems.append((wip.refusal(stage.name, n, stage.rep_wip_max, owner), n, stage.rep_wip_max, True))
    if not problems:
        return False
    if force_reason is None:
        msg, n, limit, per_owner = problems[0]
        raise WipLimitError(msg, stage=stage.name, count=n, limit=limit, per_owner=per_owner)
    reason = clean_text(force_reason).strip()
    if not reason:
        raise ValidationError("A forced move past a WIP limit needs a reason.")
    return True


def _top_rank(s: Session, stage_id: int) -> int:
    low = s.exec(
        select(func.min(Deal.rank)).where(Deal.stage_id == stage_id, Deal.status == "open")
    ).one()
    return (low if low is not None else 1) - 1


def _close_stay(s: Session, deal: Deal, at: datetime, outcome: str) -> None:
    stay = s.exec(
        select(Stay).where(Stay.deal_id == deal.id, Stay.left_at == None)  # noqa: E711
        .order_by(col(Stay.id).desc())
    ).first()
    if stay is not None:
        stay.left_at = max(at, clock.as_utc(stay.entered_at))
        stay.outcome = outcome
        s.add(stay)


def _start_stay(s: Session, deal: Deal, stage_id: int, at: datetime) -> None:
    assert deal.id is not None
    s.add(Stay(pipeline_id=deal.pipeline_id, deal_id=deal.id, stage_id=stage_id, entered_at=at))


def _override(s: Session, deal: Deal, stage: Stage, reason: str, at: datetime, user: str) -> None:
    _log(s, deal, "wip_override", at, user, to_stage_id=stage.id, reason=clean_text(reason).strip())


def _check_not_before(deal: Deal, at: datetime, what: str) -> None:
    if at < clock.as_utc(deal.stage_entered_at):
        raise ValidationError(
            f"The {what} time {at:%Y-%m-%d %H:%M} is before deal {deal.id} entered its current stage "
            f"({clock.as_utc(deal.stage_entered_at):%Y-%m-%d %H:%M})."
        )


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
    clean_title = _clean_title(title)
    ts = when(at)

    def work(s: Session) -> DealView:
        p = resolve_pipeline(s, pipeline)
        cur = normalise_currency(currency) if currency else p.currency
        st = resolve_stage(s, p, stage) if stage is not None else _first_stage(s, p)
        t = resolve_type(s, p, dtype) if dtype is not None and str(dtype).strip() else None
        who = _clean_field(owner, "owner", 200) if owner is not None else user
        forced = _check_wip(s, st, who, deal=None, force_reason=force_reason, at=ts, user=user)
        assert st.id is not None
        value_minor, close_date = _money(value, cur), _close_date(close)
        company_t, contact_t = _clean_field(company, "company"), _clean_field(contact, "contact")
        gate_forced = gates.check_gate(s, st, GateFields(value_minor, close_date, company_t, contact_t, who, False),
                                       force_reason=force_reason)
        deal = Deal(
            pipeline_id=p.id, title=clean_title, company=company_t,  # type: ignore[arg-type]
            contact=contact_t, value_minor=value_minor, currency=cur, owner=who,
            type_id=t.id if t else None, expected_close=close_date,
            notes=_clean_field(notes, "notes", MAX_NOTES, multiline=True), stage_id=st.id, status="open",
            created_at=ts, stage_entered_at=ts, last_activity_at=None, rank=_top_rank(s, st.id), version=1,
        )
        s.add(deal)
        s.flush()
        if forced:
            _override(s, deal, st, force_reason or "", ts, user)
        if gate_forced:
            gates.log_override(s, deal, st, force_reason or "", ts, user)
        _log(s, deal, "create", ts, user, to_stage_id=st.id)
        _start_stay(s, deal, st.id, ts)
        return deal_view(s, deal)

    return db.write(work)


def _first_stage(s: Session, p: Pipeline) -> Stage:
    st = s.exec(
        select(Stage).where(Stage.pipeline_id == p.id, Stage.archived == False)  # noqa: E712
        .order_by(col(Stage.position), col(Stage.id))
    ).first()
    if st is None:
        raise ValidationError(f"Pipeline {p.name} has no stages; add one with 'tuikanban stage add'.")
    return st


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
) -> MoveResult:
    """Move an open deal to another stage of its pipeline, enforcing WIP limits."""
    ts = when(at)

    def work(s: Session) -> MoveResult:
        deal = get_deal_row(s, deal_id)
        _check_version(deal, expected_version)
        if deal.status != "open":
            raise ValidationError(f"Deal {deal_id} is {deal.status}; reopen it before moving it.")
        p = s.get(Pipeline, deal.pipeline_id)
        assert p is not None
        target = resolve_stage(s, p, stage)
        source = s.get(Stage, deal.stage_id)
        assert source is not None and target.id is not None
        if target.id == source.id:
            raise ValidationError(f"Deal {deal_id} is already in {target.name}.")
        _check_not_before(deal, ts, "move")
        forced = _check_wip(s, target, deal.owner, deal=deal, force_reason=force_reason, at=ts, user=user)
        gate_forced = gates.check_gate(s, target, gates.fields_of(s, deal), force_reason=force_reason)
        if forced:
            _override(s, deal, target, force_reason or "", ts, user)
        if gate_forced:
            gates.log_override(s, deal, target, force_reason or "", ts, user)
        outcome = "advanced" if target.position > source.position else "dropped"
        _close_stay(s, deal, ts, outcome)
        _start_stay(s, deal, target.id, ts)
        _log(s, deal, "move", ts, user, from_stage_id=source.id, to_stage_id=target.id,
             old_value=str(deal.rank),  # the rank it had in the old column, so undo puts it back in place
             reason=clean_text(force_reason).strip() if forced and force_reason else None)
        deal.stage_id = target.id
        deal.stage_entered_at = ts
        deal.rank = _top_rank(s, target.id)
        deal.version += 1
        s.add(deal)
        s.flush()
        return MoveResult(deal_view(s, deal), source.name, target.name, target.exit_criteria or "", forced,
                          gate_forced)

    return db.write(work)


def neighbour_stage(db: Database, deal_id: int, offset: int) -> StageInfoRef | None:
    """The stage `offset` columns away from the deal's current stage (None past either end)."""
    with db.read() as s:
        deal = get_deal_row(s, deal_id)
        stages = s.exec(
            select(Stage).where(Stage.pipeline_id == deal.pipeline_id, Stage.archived == False)  # noqa: E712
            .order_by(col(Stage.position), col(Stage.id))
        ).all()
        ids = [st.id for st in stages]
        if deal.stage_id not in ids:
            return None
        idx = ids.index(deal.stage_id) + offset
        if not 0 <= idx < len(stages):
            return None
        st = stages[idx]
        assert st.id is not None
        return StageInfoRef(st.id, st.name)


class StageInfoRef:
    __slots__ = ("id", "name")

    def __init__(self, id: int, name: str) -> None:
        self.id = id
        self.name = name


def _check_version(deal: Deal, expected: int | None) -> None:
    if expected is not None and deal.version != expected:
        raise StaleEditError(
            f"Deal {deal.id} was changed by someone else since you opened it; it has been reloaded, "
            "check it and try again."
        )


# -- reorder ----------------------------------------------------------------------------------------


def reorder_deal(db: Database, deal_id: int, direction: int, *, user: str, same_type: bool = False) -> bool:
    """Swap a deal with its neighbour above (-1) or below (+1) in its column (or its swimlane cell).

    Returns False when the deal is already at that end.
    """

    def work(s: Session) -> bool:
        deal = get_deal_row(s, deal_id)
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
        deal.rank, other.rank = other.rank, deal.rank
        s.add(deal)
        s.add(other)
        _log(s, deal, "reorder", when(None), user, to_stage_id=deal.stage_id,
             new_value="up" if direction < 0 else "down")
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


def edit_deal(
    db: Database,
    deal_id: int,
    changes: dict[str, Any],
    *,
    user: str,
    at: datetime | str | None = None,
    expected_version: int | None = None,
) -> tuple[DealView, list[str]]:
    """Apply field changes; each changed field becomes one `edit` event. Returns the deal and changed fields.

    Keys: title, company, contact, value (text or minor units), currency, owner, type (name, id or ""),
    close (YYYY-MM-DD, date or ""), notes. Unchanged values make no event.
    """
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise ValidationError(f"Unknown deal field: {', '.join(sorted(unknown))}.")
    ts = when(at)

    def work(s: Session) -> tuple[DealView, list[str]]:
        deal = get_deal_row(s, deal_id)
        _check_version(deal, expected_version)
        p = s.get(Pipeline, deal.pipeline_id)
        assert p is not None
        changed: list[str] = []

        def record(field: str, old: Any, new: Any) -> None:
            changed.append(field)
            _log(s, deal, "edit", ts, user, field=field, old_value=_ev(old), new_value=_ev(new))

        if "title" in changes:
            new = _clean_title(changes["title"])
            if new != deal.title:
                record("title", deal.title, new)
                deal.title = new
        for field in ("company", "contact"):
            if field in changes:
                new = _clean_field(changes[field], field)
                if new != getattr(deal, field):
                    record(field, getattr(deal, field), new)
                    setattr(deal, field, new)
        if "notes" in changes:
            new = _clean_field(changes["notes"], "notes", MAX_NOTES, multiline=True)
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
            new_v = _money(changes["value"], deal.currency)
            if new_v != deal.value_minor:
                record("value", deal.value_minor, new_v)
                deal.value_minor = new_v
        if "owner" in changes:
            new_o = _clean_field(changes["owner"], "owner", 200)
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
            t = resolve_type(s, p, ref) if ref not in (None, "") else None
            new_t = t.id if t else None
            if new_t != deal.type_id:
                record("type", deal.type_id, new_t)
                deal.type_id = new_t
        if "close" in changes:
            new_c = _close_date(changes["close"])
            if new_c != deal.expected_close:
                record("close", deal.expected_close, new_c)
                deal.expected_close = new_c
        if changed:
            deal.version += 1
            s.add(deal)
            s.flush()
        return deal_view(s, deal), changed

    return db.write(work)


def _ev(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


# -- close and reopen -------------------------------------------------------------------------------


def win_deal(db: Database, deal_id: int, *, user: str, at: datetime | str | None = None,
             expected_version: int | None = None) -> DealView:
    ts = when(at)

    def work(s: Session) -> DealView:
        deal = get_deal_row(s, deal_id)
        _check_version(deal, expected_version)
        if deal.status != "open":
            raise ValidationError(f"Deal {deal_id} is already {deal.status}.")
        _check_not_before(deal, ts, "won")
        _close_stay(s, deal, ts, "advanced")
        _log(s, deal, "won", ts, user, from_stage_id=deal.stage_id)
        deal.status, deal.closed_at, deal.lost_reason = "won", ts, ""
        deal.version += 1
        s.add(deal)
        s.flush()
        return deal_view(s, deal)

    return db.write(work)


def lose_deal(db: Database, deal_id: int, reason: str, *, user: str, at: datetime | str | None = None,
              expected_version: int | None = None) -> DealView:
    clean_reason = _clean_field(reason, "lost reason", 500)
    if not clean_reason:
        raise ValidationError("Marking a deal lost needs a reason.")
    ts = when(at)

    def work(s: Session) -> DealView:
        deal = get_deal_row(s, deal_id)
        _check_version(deal, expected_version)
        if deal.status != "open":
            raise ValidationError(f"Deal {deal_id} is already {deal.status}.")
        _check_not_before(deal, ts, "lost")
        _close_stay(s, deal, ts, "dropped")
        _log(s, deal, "lost", ts, user, from_stage_id=deal.stage_id, reason=clean_reason)
        deal.status, deal.closed_at, deal.lost_reason = "lost", ts, clean_reason
        deal.version += 1
        s.add(deal)
        s.flush()
        return deal_view(s, deal)

    return db.write(work)


def reopen_deal(db: Database, deal_id: int, stage: str | int, *, user: str, at: datetime | str | None = None,
                force_reason: str | None = None, expected_version: int | None = None) -> DealView:
    ts = when(at)

    def work(s: Session) -> DealView:
        deal = get_deal_row(s, deal_id)
        _check_version(deal, expected_version)
        if deal.status == "open":
            raise ValidationError(f"Deal {deal_id} is already open.")
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
        _log(s, deal, "reopen", ts, user, to_stage_id=target.id, old_value=deal.status)
        deal.status, deal.closed_at, deal.lost_reason = "open", None, ""
        deal.stage_id, deal.stage_entered_at = target.id, ts
        deal.rank = _top_rank(s, target.id)
        deal.version += 1
        _start_stay(s, deal, target.id, ts)
        s.add(deal)
        s.flush()
        return deal_view(s, deal)

    return db.write(work)


# -- undo -------------------------------------------------------------------------------------------

UNDOABLE = ("move", "won", "lost")


def undo_last(db: Database, pipeline: str | int | None, *, user: str) -> str:
    """Reverse this user's last move or close in the pipeline, as a new `undo` event (history stays).

    Returns a sentence describing what was undone.
    """

    def work(s: Session) -> str:
        p = resolve_pipeline(s, pipeline)
        undone_ids = select(Event.ref_id).where(Event.kind == "undo", Event.pipeline_id == p.id,
                                                 Event.ref_id != None)  # noqa: E711
        ev = s.exec(
            select(Event)
            .where(Event.pipeline_id == p.id, Event.user == user, col(Event.kind).in_(UNDOABLE),
                   col(Event.id).not_in(undone_ids))
            .order_by(col(Event.id).desc())
        ).first()
        if ev is None or ev.deal_id is None:
            raise ValidationError("There is nothing of yours to undo in this pipeline.")
        deal = get_deal_row(s, ev.deal_id)
        # Anything that still counts and came after it blocks the undo; a change that was itself undone does not
        # (so pressing undo twice walks back two moves of the same deal).
        later = s.exec(
            select(Event).where(Event.deal_id == deal.id, col(Event.id) > ev.id,
                                col(Event.kind).in_(("move", "won", "lost", "reopen")),
                                col(Event.id).not_in(undone_ids))
        ).first()
        if later is not None:
            raise ValidationError(
                f"'{deal.title}' has changed since ({later.kind} by {later.user or 'someone'}); nothing to undo."
            )
        ts = when(None)
        if ev.kind == "move":
            prev = s.get(Stage, ev.from_stage_id) if ev.from_stage_id else None
            if prev is None or prev.archived:
                raise ValidationError(f"The stage '{deal.title}' came from no longer exists; nothing to undo.")
            assert prev.id is not None
            _check_wip(s, prev, deal.owner, deal=deal, force_reason=None, at=ts, user=user)
            current = s.exec(
                select(Stay).where(Stay.deal_id == deal.id, Stay.left_at == None)  # noqa: E711
            ).first()
            if current is not None:
                s.delete(current)
            before = s.exec(
                select(Stay).where(Stay.deal_id == deal.id, Stay.stage_id == prev.id)
                .order_by(col(Stay.id).desc())
            ).first()
            if before is not None:
                before.left_at, before.outcome = None, None
                s.add(before)
                deal.stage_entered_at = before.entered_at
            else:
                _start_stay(s, deal, prev.id, ts)
                deal.stage_entered_at = ts
            s.add(Event(pipeline_id=deal.pipeline_id, deal_id=deal.id, kind="undo", at=ts, user=user,
                        from_stage_id=deal.stage_id, to_stage_id=prev.id, ref_id=ev.id))
            deal.stage_id = prev.id
            previous = _previous_rank(ev)
            deal.rank = previous if previous is not None else _top_rank(s, prev.id)
            text = f"Undid the move of '{deal.title}'; it is back in {prev.name}."
        else:
            closed = s.exec(
                select(Stay).where(Stay.deal_id == deal.id).order_by(col(Stay.id).desc())
            ).first()
            st = s.get(Stage, deal.stage_id)
            assert st is not None
            _check_wip(s, st, deal.owner, deal=deal, force_reason=None, at=ts, user=user)
            if closed is not None:
                closed.left_at, closed.outcome = None, None
                s.add(closed)
            s.add(Event(pipeline_id=deal.pipeline_id, deal_id=deal.id, kind="undo", at=ts, user=user,
                        to_stage_id=deal.stage_id, old_value=deal.status, ref_id=ev.id))
            deal.status, deal.closed_at, deal.lost_reason = "open", None, ""
            text = f"Undid marking '{deal.title}' {ev.kind}; it is open again in {st.name}."
        deal.version += 1
        s.add(deal)
        return text

    return db.write(work)


def _previous_rank(ev: Event) -> int | None:
    """The rank a deal had before the move `ev` (recorded in the event), or None for older events."""
    try:
        return int(ev.old_value) if ev.old_value is not None else None
    except ValueError:
        return None


# -- reads ------------------------------------------------------------------------------------------


def get_deal(db: Database, deal_id: int) -> DealView:
    with db.read() as s:
        return deal_view(s, get_deal_row(s, deal_id))


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


# -- activities -------------------------------------------------------------------------------------


def add_activity(
    db: Database,
    deal_id: int,
    kind: str,
    subject: str,
    *,
    user: str,
    due: str | date | None = None,
    at: datetime | str | None = None,
    done: bool = False,
) -> ActivityView:
    if kind not in ACTIVITY_KINDS:
        raise ValidationError(f"'{kind}' is not an activity; use one of {', '.join(ACTIVITY_KINDS)}.")
    text = _clean_field(subject, "activity text", 2000, multiline=True)
    if not text:
        raise ValidationError("An activity needs some text.")
    due_date = _close_date(due) if kind == "task" else None
    if kind == "task" and due_date is None:
        raise ValidationError("A follow-up task needs a due date (YYYY-MM-DD).")
    ts = when(at)

    def work(s: Session) -> ActivityView:
        deal = get_deal_row(s, deal_id)
        act = Activity(deal_id=deal_id, pipeline_id=deal.pipeline_id, kind=kind, subject=text, at=ts, user=user,
                       due=due_date, done=done)
        s.add(act)
        deal.last_activity_at = ts if deal.last_activity_at is None else max(clock.as_utc(deal.last_activity_at), ts)
        s.add(deal)
        s.flush()
        assert act.id is not None
        return ActivityView(act.id, deal_id, kind, text, ts, user, due_date, done)

    return db.write(work)


def set_task_done(db: Database, activity_id: int, done: bool = True, *, user: str) -> ActivityView:
    def work(s: Session) -> ActivityView:
        act = s.get(Activity, activity_id)
        if act is None:
            raise ValidationError(f"There is no activity with id {activity_id}.")
        act.done = done
        s.add(act)
        deal = s.get(Deal, act.deal_id)
        if deal is not None:
            deal.last_activity_at = when(None)
            s.add(deal)
        assert act.id is not None
        return ActivityView(act.id, act.deal_id, act.kind, act.subject, act.at, act.user, act.due, act.done)

    return db.write(work)


def list_activities(db: Database, deal_id: int) -> list[ActivityView]:
    with db.read() as s:
        get_deal_row(s, deal_id)
        rows = s.exec(select(Activity).where(Activity.deal_id == deal_id).order_by(col(Activity.at).desc()))
        return [ActivityView(a.id, a.deal_id, a.kind, a.subject, a.at, a.user, a.due, a.done)  # type: ignore[arg-type]
                for a in rows]
