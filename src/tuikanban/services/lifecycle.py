"""Snoozing and deleting deals (issue 14). Each action is one transaction with its event.

Snooze: an open deal leaves the board's default view, the aging signals and the Today queue until a date, and
comes back by itself on that date (every read compares `snoozed_until` with today; there is no job). It stays
open: it counts towards WIP limits and in the metrics' open deals. Events `snoozed` (new_value: the date,
reason) and `woken` (old_value: the date it was snoozed until).

Delete: a deal created by mistake gets the status `deleted` (its rows are kept) and is left out of every metric,
list, aging read, board read and export; `restore` (or undo of the delete) gives it back the status it had.
Events `deleted` (old_value: the status before) and `restored` (new_value: the status again).
"""

from __future__ import annotations

from datetime import date

from sqlmodel import Session, col, select

from tuikanban.domain import clock
from tuikanban.domain.errors import ValidationError
from tuikanban.domain.models import DealView
from tuikanban.services.common import deal_view, get_deal_row, when
from tuikanban.services.deals import _check_version, _check_wip
from tuikanban.services.fields import clean_field
from tuikanban.services.history import log_event
from tuikanban.services.tasks import due_date
from tuikanban.store.engine import Database
from tuikanban.store.tables import DELETED, STATUSES, Deal, Event, Stage


def snoozed(deal: Deal | DealView, today: date | None = None) -> bool:
    """Whether the deal is snoozed on `today` (default: the clock's)."""
    return deal.snoozed_until is not None and deal.snoozed_until > (today or clock.today())


def snooze_terms(until: str | date, reason: str | None) -> tuple[date, str | None]:
    """The snooze's end (a date shortcut or YYYY-MM-DD, after today) and its reason, checked (one deal or many)."""
    day = due_date(until, what="snooze date")
    if day <= clock.today():
        raise ValidationError(f"A snooze ends after today; {day.isoformat()} is not later than "
                              f"{clock.today().isoformat()}.")
    return day, clean_field(reason, "snooze reason", 500) or None


def snooze_deal(db: Database, deal_id: int, until: str | date, *, user: str, reason: str | None = None,
                expected_version: int | None = None) -> DealView:
    """Hide an open deal until `until` (a date shortcut or YYYY-MM-DD, after today)."""
    day, why = snooze_terms(until, reason)
    ts = when(None)

    def work(s: Session) -> DealView:
        deal = _changeable(s, deal_id, expected_version)
        if deal.status != "open":
            raise ValidationError(f"Deal {deal_id} is {deal.status}; only open deals can be snoozed.")
        old = deal.snoozed_until.isoformat() if snoozed(deal) and deal.snoozed_until else None
        log_event(s, deal, "snoozed", ts, user, old_value=old, new_value=day.isoformat(), reason=why)
        deal.snoozed_until = day
        return _saved(s, deal)

    return db.write(work)


def wake_deal(db: Database, deal_id: int, *, user: str, expected_version: int | None = None) -> DealView:
    """Bring a snoozed deal back now."""
    ts = when(None)

    def work(s: Session) -> DealView:
        deal = _changeable(s, deal_id, expected_version)
        if not snoozed(deal) or deal.snoozed_until is None:
            raise ValidationError(f"Deal {deal_id} is not snoozed.")
        log_event(s, deal, "woken", ts, user, old_value=deal.snoozed_until.isoformat())
        deal.snoozed_until = None
        return _saved(s, deal)

    return db.write(work)


def delete_deal(db: Database, deal_id: int, *, user: str, expected_version: int | None = None) -> DealView:
    """Delete a deal made by mistake: left out of everything, but kept so that it can be restored."""
    ts = when(None)

    def work(s: Session) -> DealView:
        deal = _changeable(s, deal_id, expected_version)
        log_event(s, deal, "deleted", ts, user, from_stage_id=deal.stage_id, old_value=deal.status)
        deal.status = DELETED
        return _saved(s, deal)

    return db.write(work)


def restore_deal(db: Database, deal_id: int, *, user: str) -> DealView:
    """Give a deleted deal back the status it had (an open deal subject to its stage's WIP limits)."""
    ts = when(None)

    def work(s: Session) -> DealView:
        deal = get_deal_row(s, deal_id)
        status = restore_in(s, deal, user)
        log_event(s, deal, "restored", ts, user, to_stage_id=deal.stage_id, new_value=status)
        return _saved(s, deal)

    return db.write(work)


def restore_in(s: Session, deal: Deal, user: str, *, wip_checked: bool = False) -> str:
    """Set a deleted deal's status back, inside the caller's transaction (restore and undo); returns the status.

    The caller logs the event (`restored`, or `undo` for an undone delete); with `wip_checked` the caller has
    checked (or forced) the WIP limits already."""
    if deal.status != DELETED:
        raise ValidationError(f"Deal {deal.id} is not deleted.")
    last = s.exec(
        select(Event).where(Event.deal_id == deal.id, Event.kind == "deleted").order_by(col(Event.id).desc()).limit(1)
    ).first()
    status = last.old_value if last is not None and last.old_value in STATUSES else None
    status = status or "open"
    if status == "open":
        stage = s.get(Stage, deal.stage_id)
        if stage is None or stage.archived:
            raise ValidationError(f"The stage of deal {deal.id} was archived since; it cannot be restored there.")
        if not wip_checked:
            _check_wip(s, stage, deal.owner, deal=deal, force_reason=None, at=when(None), user=user)
    deal.status = status
    return status


def _changeable(s: Session, deal_id: int, expected_version: int | None) -> Deal:
    deal = get_deal_row(s, deal_id)
    if deal.status == DELETED:
        raise ValidationError(f"Deal {deal_id} is deleted; restore it first ('tuikanban deal restore {deal_id}').")
    _check_version(deal, expected_version)
    return deal


def _saved(s: Session, deal: Deal) -> DealView:
    deal.version += 1
    s.add(deal)
    s.flush()
    return deal_view(s, deal)
