"""Undo and redo of a user's own actions in a pipeline (see docs/RULES.md, Undo). One transaction each.

The stack is read from the log, so it is the same in every board and in the CLI: the user's actions (move, reorder,
won, lost, edit, deleted, snoozed, woken, and redo, which is the action again) that no `undo` or `undo_skipped`
event points at, newest first. An `undo` event points at the event it reverses; a `redo` event points at the
`undo` it cancels; an `undo_skipped` event points at an action that can never be undone (or an undo that can never
be redone) so that the next undo (redo) reaches the older one instead of stopping there for ever.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import or_
from sqlmodel import Session, col, select

from tuikanban.domain import clock
from tuikanban.domain.errors import ValidationError
from tuikanban.domain.stays import close_outcome, move_outcome
from tuikanban.domain.text import clean_text
from tuikanban.domain.undo import IMPORTED, IMPORTED_KINDS
from tuikanban.services.common import get_deal_row, resolve_pipeline, when
from tuikanban.services.deals import _check_wip, _override, _top_rank
from tuikanban.services.history import close_stay, event_text, start_stay
from tuikanban.services.lifecycle import restore_in
from tuikanban.store.engine import Database
from tuikanban.store.tables import DELETED, Deal, DealType, Event, Stage, Stay

ACTIONS = ("move", "reorder", "won", "lost", "edit", "deleted", "snoozed", "woken", "redo")
# Actions a bulk action logs as a batch (its events after the first point at the first: services.bulk).
BATCHED = ("move", "won", "lost", "edit", "deleted", "snoozed")
SNOOZES = ("snoozed", "woken")
SKIPPED = "undo_skipped"
# Later changes of a deal (still standing) that make an undo of a stage or status action impossible.
STATE_CHANGES = ("move", "won", "lost", "reopen", "deleted", "restored", "redo")
# Any of these on a deal after an undo means it changed since, so the undo is not redone.
CHANGES = (*STATE_CHANGES, "reorder", "edit", "undo", *SNOOZES)
# The edit event's field -> the deal column. Notes are logged without their text, so they cannot be undone.
COLUMNS = {"title": "title", "company": "company", "contact": "contact", "value": "value_minor",
           "currency": "currency", "owner": "owner", "type": "type_id", "close": "expected_close"}
_WHAT = {"move": "move", "reorder": "reordering", "won": "marking won", "lost": "marking lost", "edit": "edit",
         "deleted": "deleting", "snoozed": "snoozing", "woken": "waking"}
_BULK = {"move": "move", "won": "marking won", "lost": "marking lost", "edit": "edit", "deleted": "delete",
         "snoozed": "snooze"}  # "Undid your bulk delete of 3 deals."


# The won and lost events a CSV import logs for deals that arrived closed (marked IMPORTED in `new_value`) are the
# deals' history, not the importing user's actions: the stack leaves them out, so undo reaches the action before
# the import, and an import does not end what can be redone (an import of open deals logs no action either).
_NOT_IMPORTED = or_(col(Event.kind).not_in(IMPORTED_KINDS), col(Event.new_value).is_(None),
                    col(Event.new_value) != IMPORTED)
_IMPORT_NOTE = (" (an import is not undone: delete its deals, or restore a backup taken before it with "
                "`tuikanban restore`)")


def _imported_by(s: Session, pipeline_id: int | None, user: str) -> bool:
    """Whether the user imported closed deals into the pipeline (their close events carry the import's mark)."""
    return s.exec(select(Event.id).where(Event.pipeline_id == pipeline_id, Event.user == user,
                                         col(Event.kind).in_(IMPORTED_KINDS), Event.new_value == IMPORTED)
                  .limit(1)).first() is not None


class _Never(Exception):
    """This action can never be undone (or redone): `why` is the end of a sentence."""

    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why


def undo_last(db: Database, pipeline: str | int | None, *, user: str, force_reason: str | None = None) -> str:
    """Reverse this user's last action in the pipeline; returns one sentence saying what happened.

    A WIP limit refuses it (WipLimitError, the action stays on top) unless `force_reason` is given, which logs a
    `wip_override`. An action that can never be undone is skipped: the sentence says why, and the next undo
    reaches the older action.
    """

    def work(s: Session) -> str:
        p = resolve_pipeline(s, pipeline)
        settled = select(Event.ref_id).where(Event.pipeline_id == p.id, col(Event.kind).in_(("undo", SKIPPED)),
                                             Event.ref_id != None)  # noqa: E711
        top = s.exec(select(Event).where(Event.pipeline_id == p.id, Event.user == user,
                                         col(Event.kind).in_(ACTIONS), col(Event.id).not_in(settled), _NOT_IMPORTED)
                     .order_by(col(Event.id).desc()).limit(1)).first()
        if top is None or top.deal_id is None:
            raise ValidationError("There is nothing of yours to undo in this pipeline"
                                  f"{_IMPORT_NOTE if _imported_by(s, p.id, user) else ''}.")
        batch = _standing_batch(s, top, user, settled)
        if batch:
            return _undo_batch(s, batch, user, force_reason)
        group = _group(s, top)
        deal = get_deal_row(s, top.deal_id)
        kind = base_kind(s, top)
        try:
            return _undo(s, deal, kind, group, user, when(None), force_reason)
        except _Never as never:
            _skip(s, deal, group, user, never.why)
            return (f"Your {_WHAT.get(kind, kind)} of '{deal.title}' cannot be undone ({never.why}); it was skipped, "
                    "so the next undo reaches your earlier action.")

    return db.write(work)


def redo_last(db: Database, pipeline: str | int | None, *, user: str, force_reason: str | None = None) -> str:
    """Re-apply this user's last undone action, if nothing changed the deal since and the user did nothing new
    after the undo; logged as `redo` events pointing at the undo events. Returns one sentence."""

    def work(s: Session) -> str:
        p = resolve_pipeline(s, pipeline)
        settled = select(Event.ref_id).where(Event.pipeline_id == p.id, col(Event.kind).in_(("redo", SKIPPED)),
                                             Event.ref_id != None)  # noqa: E711
        top = s.exec(select(Event).where(Event.pipeline_id == p.id, Event.user == user, Event.kind == "undo",
                                         col(Event.id).not_in(settled))
                     .order_by(col(Event.id).desc()).limit(1)).first()
        if top is None or top.deal_id is None:
            raise ValidationError("There is nothing of yours to redo in this pipeline.")
        newer = s.exec(select(Event.id).where(Event.pipeline_id == p.id, Event.user == user, col(Event.id) > top.id,
                                              col(Event.kind).in_([k for k in ACTIONS if k != "redo"]),
                                              _NOT_IMPORTED).limit(1)).first()
        if newer is not None:  # a new action ends what can be redone, as in any editor
            raise ValidationError("There is nothing of yours to redo: you changed something after your last undo.")
        members = _batch_of(s, s.get(Event, top.ref_id) if top.ref_id is not None else None)
        if len(members) > 1:
            return _redo_batch(s, members, user, force_reason, settled)
        group = _group(s, top)
        deal = get_deal_row(s, top.deal_id)
        kind = base_kind(s, top)
        try:
            later = _later(s, deal, group[-1].id or 0, CHANGES, undone_only=False, stack_of=user)
            if later is not None:
                raise _Never(_since(later, user))
            return _redo(s, deal, kind, group, user, when(None), force_reason)
        except _Never as never:
            _skip(s, deal, group, user, never.why)
            return (f"Your undone {_WHAT.get(kind, kind)} of '{deal.title}' cannot be redone ({never.why}); it was "
                    "skipped, so the next redo reaches your earlier undo.")

    return db.write(work)


def _standing_batch(s: Session, top: Event, user: str, settled: Any) -> list[Event]:
    """The user's still-standing events of the bulk action `top` belongs to, newest first: the batch's events
    (services.bulk: they point at its first event), or the redo events of a batch redone as one. Empty when `top`
    is a single action."""
    if top.kind == "redo":
        undo = s.get(Event, top.ref_id) if top.ref_id is not None else None
        members = _batch_of(s, s.get(Event, undo.ref_id) if undo is not None and undo.ref_id is not None else None)
        undos = select(Event.id).where(Event.kind == "undo", col(Event.ref_id).in_(members))
        q = select(Event).where(Event.kind == "redo", col(Event.ref_id).in_(undos))
    else:
        members = _batch_of(s, top)
        q = select(Event).where(col(Event.id).in_(members))
    if len(members) < 2:
        return []
    return list(s.exec(q.where(Event.user == user, col(Event.id).not_in(settled)).order_by(col(Event.id).desc())))


def _undo_batch(s: Session, events: list[Event], user: str, force_reason: str | None) -> str:
    """Undo every still-standing event of a bulk action (`_standing_batch`), newest first, in this one transaction.
    A WIP limit refuses the whole batch; a deal that can never be undone is skipped (and said), the others are
    undone."""
    at, undone, skipped = when(None), 0, []
    forced = False
    # Read up front, in two queries each, what the loop asks of every deal (a batch may hold thousands).
    deal_ids = [ev.deal_id for ev in events if ev.deal_id is not None]
    s.exec(select(Deal).where(col(Deal.id).in_(deal_ids))).all()  # (into the session: get_deal_row finds them)
    later = _later_of_batch(s, events)
    for ev in events:
        assert ev.deal_id is not None
        deal = get_deal_row(s, ev.deal_id)
        try:
            forced = OVERRIDDEN in _undo(s, deal, base_kind(s, ev), [ev], user, at, force_reason,
                                         later=later.get(ev.deal_id)) or forced
            undone += 1
        except _Never as never:
            _skip(s, deal, [ev], user, never.why)
            skipped.append(f"'{deal.title}' ({never.why})")
    what = _BULK.get(base_kind(s, events[0]), "action")
    text = f"Undid your bulk {what} of {undone} deal{'s' if undone != 1 else ''}{OVERRIDDEN if forced else ''}"
    if skipped:
        were = "was" if len(skipped) == 1 else "were"
        text += f"; {len(skipped)} could not be undone and {were} skipped: {', '.join(skipped[:3])}"
        text += f" and {len(skipped) - 3} more" if len(skipped) > 3 else ""
    return text + "."


def _later_of_batch(s: Session, events: list[Event]) -> dict[int, Event | None]:
    """`_later(deal, ev, STATE_CHANGES)` for each event of a batch (one event per deal), in two queries."""
    after = {ev.deal_id: ev.id or 0 for ev in events if ev.deal_id is not None}
    undone = {r for r in s.exec(select(Event.ref_id).where(col(Event.deal_id).in_(after), Event.kind == "undo",
                                                            Event.ref_id != None))}  # noqa: E711
    rows = s.exec(select(Event).where(col(Event.deal_id).in_(after), col(Event.id) > min(after.values()),
                                      col(Event.kind).in_(STATE_CHANGES)).order_by(col(Event.id)))
    out: dict[int, Event | None] = dict.fromkeys(after)
    for row in rows:
        if row.deal_id in after and out[row.deal_id] is None and (row.id or 0) > after[row.deal_id] \
                and row.id not in undone:
            out[row.deal_id] = row
    return out


_UNREAD: Any = object()


def _batch_of(s: Session, ev: Event | None) -> list[int]:
    """The ids of the events of the bulk action `ev` belongs to (just `ev` for a single action; none for None)."""
    if ev is None or ev.kind not in BATCHED:
        return []
    first = ev.ref_id if ev.ref_id is not None else ev.id
    ids = s.exec(select(Event.id).where(or_(col(Event.id) == first, col(Event.ref_id) == first),
                                        Event.kind == ev.kind)).all()
    return [i for i in ids if i is not None]


def _redo_batch(s: Session, members: list[int], user: str, force_reason: str | None, settled: Any) -> str:
    """Redo every undo of a bulk action's events (the latest undo undid the batch as one), newest first."""
    undos = s.exec(select(Event).where(Event.kind == "undo", Event.user == user, col(Event.ref_id).in_(members),
                                       col(Event.id).not_in(settled)).order_by(col(Event.id).desc())).all()
    at, redone, skipped, kind = when(None), 0, [], ""
    for undo in undos:
        assert undo.deal_id is not None
        deal = get_deal_row(s, undo.deal_id)
        kind = base_kind(s, undo)
        try:
            later = _later(s, deal, undo.id or 0, CHANGES, undone_only=False, stack_of=user)
            if later is not None:
                raise _Never(_since(later, user))
            _redo(s, deal, kind, [undo], user, at, force_reason)
            redone += 1
        except _Never as never:
            _skip(s, deal, [undo], user, never.why)
            skipped.append(f"'{deal.title}' ({never.why})")
    text = f"Redid your bulk {_BULK.get(kind, kind)} of {redone} deal{'s' if redone != 1 else ''}"
    if skipped:
        text += f"; {len(skipped)} could not be redone and were skipped: {', '.join(skipped[:3])}"
        text += f" and {len(skipped) - 3} more" if len(skipped) > 3 else ""
    return text + "."


# -- the stack ------------------------------------------------------------------------------------------------


def base_kind(s: Session, ev: Event) -> str:
    """The kind of action an event stands for: a redo is the action its undo reversed, an undo the one it undid."""
    seen = 0
    while ev.kind in ("redo", "undo") and ev.ref_id is not None and seen < 1000:
        ref = s.get(Event, ev.ref_id)
        if ref is None:
            break
        ev, seen = ref, seen + 1
    return ev.kind


def _group(s: Session, top: Event) -> list[Event]:
    """The events of one action, oldest first: the edit events of one save (or their undo or redo events), which
    one transaction wrote with consecutive ids, the same time and distinct fields; else the event alone."""
    if top.field is None or top.kind not in ("edit", "undo", "redo"):
        return [top]
    rows = s.exec(select(Event).where(Event.deal_id == top.deal_id, col(Event.id) < top.id)
                  .order_by(col(Event.id).desc()).limit(len(COLUMNS) + 1)).all()
    group, fields, expected = [top], {top.field}, (top.id or 0) - 1
    for ev in rows:
        if (ev.id != expected or ev.kind != top.kind or ev.user != top.user or ev.at != top.at
                or ev.field is None or ev.field in fields):
            break
        group.append(ev)
        fields.add(ev.field)
        expected -= 1
    return group[::-1]


def _skip(s: Session, deal: Deal, group: list[Event], user: str, why: str) -> None:
    for ev in group:
        s.add(Event(pipeline_id=deal.pipeline_id, deal_id=deal.id, kind=SKIPPED, at=when(None), user=user,
                    ref_id=ev.id, reason=why))


def _later(s: Session, deal: Deal, after: int, kinds: tuple[str, ...], *, undone_only: bool = True,
           field: str | None = None, stack_of: str | None = None) -> Event | None:
    """The first change of `kinds` to the deal after event `after` that still stands (not undone); with
    `stack_of`, that user's own undo and redo events (walking their stack) do not count."""
    q = select(Event).where(Event.deal_id == deal.id, col(Event.id) > after, col(Event.kind).in_(kinds))
    if stack_of is not None:
        q = q.where(or_(col(Event.user) != stack_of, col(Event.kind).not_in(("undo", "redo"))))
    if undone_only:
        undone = select(Event.ref_id).where(Event.deal_id == deal.id, Event.kind == "undo",
                                            Event.ref_id != None)  # noqa: E711
        q = q.where(col(Event.id).not_in(undone))
    if field is not None:
        q = q.where(Event.field == field)
    return s.exec(q.order_by(col(Event.id)).limit(1)).first()


def _by(ev: Event, user: str) -> str:
    return "you" if ev.user == user else (ev.user or "someone")


_VERBS = {"move": "moved it", "won": "marked it won", "lost": "marked it lost", "reopen": "reopened it",
          "deleted": "deleted it", "restored": "restored it", "reorder": "reordered it", "edit": "edited it",
          "undo": "undid a change of it", "snoozed": "snoozed it", "woken": "woke it"}


def _since(ev: Event, user: str) -> str:
    return f"{_by(ev, user)} {_VERBS.get(ev.kind, 'changed it')} since"


def _stage(s: Session, stage_id: int | None) -> Stage:
    stage = s.get(Stage, stage_id) if stage_id is not None else None
    if stage is None or stage.archived:
        raise _Never("its stage has been archived since")
    return stage


def _log(s: Session, deal: Deal, kind: str, ref: Event, user: str, at: datetime, **fields: Any) -> None:
    s.add(Event(pipeline_id=deal.pipeline_id, deal_id=deal.id, kind=kind, at=at, user=user, ref_id=ref.id, **fields))


def _admit(s: Session, deal: Deal, stage: Stage, owner: str, user: str, at: datetime,
           force_reason: str | None) -> str | None:
    """The WIP check of an undo or redo that puts an open deal into `stage`; the reason when it was forced."""
    if not _check_wip(s, stage, owner, deal=deal, force_reason=force_reason, at=at, user=user):
        return None
    _override(s, deal, stage, force_reason or "", at, user)
    return clean_text(force_reason or "").strip()


# -- undo -----------------------------------------------------------------------------------------------------


def _undo(s: Session, deal: Deal, kind: str, group: list[Event], user: str, at: datetime,
          force_reason: str | None, *, later: Event | None = _UNREAD) -> str:
    """`later`: the deal's first standing state change after the event, when the caller read it already."""
    ev = group[-1]
    if kind == "edit":
        text = _undo_edit(s, deal, group, user, at, force_reason)
    else:
        if kind in ("move", "won", "lost", "deleted", "reorder"):
            if later is _UNREAD or kind == "reorder":
                later = _later(s, deal, ev.id or 0, STATE_CHANGES + (("reorder",) if kind == "reorder" else ()))
            if later is not None:
                raise _Never(_since(later, user))
        undo = {"move": _undo_move, "won": _undo_close, "lost": _undo_close, "deleted": _undo_delete,
                "reorder": _undo_reorder, "snoozed": _undo_snooze, "woken": _undo_snooze}.get(kind)
        if undo is None:
            raise _Never(f"a {kind} is not undone")
        text = undo(s, deal, ev, user, at, force_reason)
    deal.version += 1
    s.add(deal)
    return text


def _undo_move(s: Session, deal: Deal, ev: Event, user: str, at: datetime, force_reason: str | None) -> str:
    if deal.status != "open" or deal.stage_id != ev.to_stage_id:
        raise _Never("it is no longer where that move put it")
    prev = _stage(s, ev.from_stage_id)
    assert prev.id is not None
    forced = _admit(s, deal, prev, deal.owner, user, at, force_reason)
    # Undoing a move does not end a stay: the move's stay goes and the previous one resumes (docs/RULES.md, Undo).
    current = s.exec(select(Stay).where(Stay.deal_id == deal.id, Stay.left_at == None)).first()  # noqa: E711
    if current is not None:
        s.delete(current)
    before = s.exec(select(Stay).where(Stay.deal_id == deal.id, Stay.stage_id == prev.id)
                    .order_by(col(Stay.id).desc()).limit(1)).first()
    if before is not None:
        before.left_at, before.outcome = None, None
        s.add(before)
        deal.stage_entered_at = before.entered_at
    else:
        start_stay(s, deal, prev.id, at)
        deal.stage_entered_at = at
    _log(s, deal, "undo", ev, user, at, from_stage_id=deal.stage_id, to_stage_id=prev.id,
         old_value=str(deal.rank), reason=forced)
    deal.stage_id = prev.id
    rank = _int(ev.old_value)
    deal.rank = rank if rank is not None else _top_rank(s, prev.id)
    return f"Undid the move of '{deal.title}'; it is back in {prev.name}{_forced(forced)}."


def _undo_close(s: Session, deal: Deal, ev: Event, user: str, at: datetime, force_reason: str | None) -> str:
    if deal.status != base_kind(s, ev):
        raise _Never(f"it is {deal.status} now")
    stage = _stage(s, deal.stage_id)
    forced = _admit(s, deal, stage, deal.owner, user, at, force_reason)
    closed = s.exec(select(Stay).where(Stay.deal_id == deal.id).order_by(col(Stay.id).desc()).limit(1)).first()
    if closed is not None:
        closed.left_at, closed.outcome = None, None
        s.add(closed)
    _log(s, deal, "undo", ev, user, at, to_stage_id=deal.stage_id, old_value=deal.status, reason=forced)
    was = deal.status
    deal.status, deal.closed_at, deal.lost_reason = "open", None, ""
    return f"Undid marking '{deal.title}' {was}; it is open again in {stage.name}{_forced(forced)}."


def _undo_delete(s: Session, deal: Deal, ev: Event, user: str, at: datetime, force_reason: str | None) -> str:
    if deal.status != DELETED:
        raise _Never("it is not deleted now")
    restoring_open = (ev.old_value or "open") == "open"
    stage = _stage(s, deal.stage_id) if restoring_open else None
    forced = _admit(s, deal, stage, deal.owner, user, at, force_reason) if stage is not None else None
    status = restore_in(s, deal, user, wip_checked=True)
    _log(s, deal, "undo", ev, user, at, to_stage_id=deal.stage_id, new_value=status, reason=forced)
    return f"Undid deleting '{deal.title}'; it is {status} again{_forced(forced)}."


def _undo_snooze(s: Session, deal: Deal, ev: Event, user: str, at: datetime, force_reason: str | None) -> str:
    """A snooze or a wake undone: the snooze date before it back (no WIP check: a snoozed deal is open anyway)."""
    return f"Undid {_WHAT[base_kind(s, ev)]} '{deal.title}'; it is {_flip_snooze(s, deal, ev, 'undo', user, at)}."


def _flip_snooze(s: Session, deal: Deal, ev: Event, kind: str, user: str, at: datetime) -> str:
    """Set the deal's snooze date back from what `ev` set (`new_value`) to what it found (`old_value`), logged as
    `kind` (undo or redo) the other way round; says where the deal is now. A snooze changed since (by a snooze,
    a wake or a reopen) cannot be flipped."""
    if deal.status == DELETED:
        raise _Never("it is deleted now")
    now = deal.snoozed_until.isoformat() if deal.snoozed_until else None
    if now != ev.new_value:
        later = _later(s, deal, ev.id or 0, (*SNOOZES, "reopen"), undone_only=False, stack_of=user)
        raise _Never(f"{_by(later, user)} {_VERBS[later.kind]} since" if later is not None
                     else "its snooze has changed since")
    _log(s, deal, kind, ev, user, at, old_value=ev.new_value, new_value=ev.old_value)
    deal.snoozed_until = date.fromisoformat(ev.old_value) if ev.old_value else None
    if deal.snoozed_until is not None and deal.snoozed_until > clock.today():
        return f"snoozed until {deal.snoozed_until.isoformat()}"
    return "on the board" if deal.status == "open" else deal.status


def _undo_reorder(s: Session, deal: Deal, ev: Event, user: str, at: datetime, force_reason: str | None) -> str:
    rank = _int(ev.old_value)
    if deal.status != "open" or deal.stage_id != ev.to_stage_id:
        raise _Never("it has left that column since")
    if rank is None:
        raise _Never("that reorder was logged without its place")
    _log(s, deal, "undo", ev, user, at, to_stage_id=deal.stage_id, old_value=str(deal.rank), new_value=str(rank))
    _put_at(s, deal, rank)
    stage = s.get(Stage, deal.stage_id)
    return f"Undid reordering '{deal.title}'; it is back in its place in {stage.name if stage else 'its column'}."


def _put_at(s: Session, deal: Deal, rank: int) -> None:
    """Give the deal `rank`, swapping with the open deal of its column that has it (the neighbour it passed)."""
    other = s.exec(select(Deal).where(Deal.stage_id == deal.stage_id, Deal.status == "open", Deal.rank == rank,
                                      Deal.id != deal.id).order_by(col(Deal.id)).limit(1)).first()
    if other is not None:
        other.rank = deal.rank
        s.add(other)
    deal.rank = rank


def _undo_edit(s: Session, deal: Deal, group: list[Event], user: str, at: datetime,
               force_reason: str | None) -> str:
    fields = [ev for ev in group if ev.field in COLUMNS]
    if not fields:
        raise _Never("notes are logged without their text")
    for ev in fields:
        _check_field(s, deal, ev, user)
    forced = _owner_admitted(s, deal, fields, user, at, force_reason)
    for ev in fields:
        assert ev.field is not None
        _log(s, deal, "undo", ev, user, at, field=ev.field, old_value=ev.new_value, new_value=ev.old_value,
             reason=forced)
        setattr(deal, COLUMNS[ev.field], _stored(s, deal, ev.field, ev.old_value))
    notes = [ev for ev in group if ev.field not in COLUMNS]
    for ev in notes:  # settled, so that the next undo does not stop at them
        _log(s, deal, SKIPPED, ev, user, at, reason="notes are logged without their text")
    names = ", ".join(_label(ev.field) for ev in fields)
    tail = "; the notes cannot be undone (they are logged without their text)" if notes else ""
    return f"Undid the edit of '{deal.title}' ({names}){_forced(forced)}{tail}."


def _check_field(s: Session, deal: Deal, ev: Event, user: str) -> None:
    assert ev.field is not None
    if event_text(getattr(deal, COLUMNS[ev.field])) != ev.new_value:
        last = _later(s, deal, ev.id or 0, ("edit", "undo", "redo"), undone_only=False, field=ev.field)
        who = _by(last, user) if last is not None else "someone"
        raise _Never(f"{who} changed its {_label(ev.field)} since")


def _owner_admitted(s: Session, deal: Deal, fields: list[Event], user: str, at: datetime,
                    force_reason: str | None) -> str | None:
    """A change of owner back (undo) or again (redo: the undo's old value) counts against the per-rep WIP limit
    of an open deal."""
    owner = next((ev.old_value for ev in fields if ev.field == "owner"), None)
    if owner is None or deal.status != "open":
        return None
    stage = s.get(Stage, deal.stage_id)
    assert stage is not None
    return _admit(s, deal, stage, owner, user, at, force_reason)


def _stored(s: Session, deal: Deal, field: str, text: str | None) -> Any:
    """An edit event's text back in the column's type."""
    if field == "value":
        return _int(text)
    if field == "close":
        return date.fromisoformat(text) if text else None
    if field == "type":
        type_id = _int(text)
        if type_id is not None and s.get(DealType, type_id) is None:
            raise _Never("its deal type no longer exists")
        return type_id
    return text or ""


def _label(field: str | None) -> str:
    return {"type": "deal type", "close": "expected close date"}.get(field or "", field or "field")


def _int(text: str | None) -> int | None:
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


OVERRIDDEN = " (WIP limit overridden)"


def _forced(reason: str | None) -> str:
    return OVERRIDDEN if reason else ""


# -- redo -----------------------------------------------------------------------------------------------------


def _redo(s: Session, deal: Deal, kind: str, group: list[Event], user: str, at: datetime,
          force_reason: str | None) -> str:
    undo = group[-1]
    if kind == "edit":
        for ev in group:
            _check_field(s, deal, ev, user)
        forced = _owner_admitted(s, deal, group, user, at, force_reason)
        for ev in group:
            assert ev.field is not None
            _log(s, deal, "redo", ev, user, at, field=ev.field, old_value=ev.new_value, new_value=ev.old_value,
                 reason=forced)
            setattr(deal, COLUMNS[ev.field], _stored(s, deal, ev.field, ev.old_value))
        text = f"Redid the edit of '{deal.title}' ({', '.join(_label(ev.field) for ev in group)}){_forced(forced)}."
    elif kind == "move":
        text = _redo_move(s, deal, undo, user, at, force_reason)
    elif kind in ("won", "lost"):
        text = _redo_close(s, deal, kind, undo, user, at)
    elif kind == "deleted":
        if deal.status == DELETED:
            raise _Never("it is deleted already")
        _log(s, deal, "redo", undo, user, at, from_stage_id=deal.stage_id, old_value=deal.status)
        deal.status = DELETED
        text = f"Redid deleting '{deal.title}'."
    elif kind in SNOOZES:
        text = f"Redid {_WHAT[kind]} '{deal.title}'; it is {_flip_snooze(s, deal, undo, 'redo', user, at)}."
    elif kind == "reorder":
        rank = _int(undo.old_value)
        if deal.status != "open" or deal.stage_id != undo.to_stage_id or rank is None:
            raise _Never("it has left that column since")
        _log(s, deal, "redo", undo, user, at, to_stage_id=deal.stage_id, old_value=str(deal.rank))
        _put_at(s, deal, rank)
        text = f"Redid reordering '{deal.title}'."
    else:
        raise _Never(f"a {kind} is not redone")
    deal.version += 1
    s.add(deal)
    return text


def _redo_move(s: Session, deal: Deal, undo: Event, user: str, at: datetime, force_reason: str | None) -> str:
    if deal.status != "open" or deal.stage_id != undo.to_stage_id:
        raise _Never("it is no longer where the undo put it")
    source = _stage(s, deal.stage_id)
    target = _stage(s, undo.from_stage_id)
    assert target.id is not None
    forced = _admit(s, deal, target, deal.owner, user, at, force_reason)
    close_stay(s, deal, at, move_outcome(source.position, target.position))
    start_stay(s, deal, target.id, at)
    _log(s, deal, "redo", undo, user, at, from_stage_id=source.id, to_stage_id=target.id, old_value=str(deal.rank),
         reason=forced)
    deal.stage_id, deal.stage_entered_at = target.id, at
    rank = _int(undo.old_value)
    deal.rank = rank if rank is not None else _top_rank(s, target.id)
    return f"Redid the move of '{deal.title}' to {target.name}{_forced(forced)}."


def _redo_close(s: Session, deal: Deal, kind: str, undo: Event, user: str, at: datetime) -> str:
    if deal.status != "open" or deal.stage_id != undo.to_stage_id:
        raise _Never("it is no longer where the undo left it")
    closed = s.get(Event, undo.ref_id) if undo.ref_id is not None else None
    reason = _close_reason(s, closed) if kind == "lost" else ""
    close_stay(s, deal, at, close_outcome(kind))
    _log(s, deal, "redo", undo, user, at, from_stage_id=deal.stage_id, reason=reason or None)
    deal.status, deal.closed_at, deal.lost_reason = kind, at, reason
    return f"Redid marking '{deal.title}' {kind}."


def _close_reason(s: Session, ev: Event | None) -> str:
    """The lost reason of a close (following redo -> undo -> ... back to the `lost` event)."""
    while ev is not None and ev.kind != "lost" and ev.ref_id is not None:
        ev = s.get(Event, ev.ref_id)
    return (ev.reason or "") if ev is not None and ev.kind == "lost" else ""


__all__ = ["ACTIONS", "COLUMNS", "SKIPPED", "base_kind", "redo_last", "undo_last"]
