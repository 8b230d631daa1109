"""Bulk actions on marked deals: move, step one stage, won, lost, change owner, snooze, delete. One transaction
each.

WIP limits are checked for the batch as a whole: every target stage (and, with a per-rep limit, every owner in it)
must have room for all the deals entering it, or the whole batch is refused with one sentence (a `WipLimitError`,
so the board offers to force it with a reason). A deal that cannot take part (closed, already there, at the first
or last stage, refused by a stage gate) is left as it was, and its result says why.

Every event of the batch after the first points at the first one (`ref_id`), which makes it the batch's id: undo
(`services.undo`) reverses the whole batch as one action.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func
from sqlmodel import Session, col, select

from tuikanban.domain import bulk as rules
from tuikanban.domain.bulk import BulkResult, DealOutcome
from tuikanban.domain.errors import TuikanbanError, ValidationError, WipLimitError
from tuikanban.domain.stays import close_outcome, move_outcome
from tuikanban.domain.text import clean_text
from tuikanban.services import gates
from tuikanban.services.common import when
from tuikanban.services.deals import _open_count, _override, _top_rank
from tuikanban.services.fields import clean_field
from tuikanban.services.history import end_stay, event_text, log_event, open_stays, start_stay
from tuikanban.services.lifecycle import snooze_terms, snoozed
from tuikanban.store.engine import Database
from tuikanban.store.tables import DELETED, Deal, Event, Stage, Stay

MAX_BATCH = 10_000


@dataclass
class _Batch:
    """The events of one bulk action: the first one's id is the batch id the others point at."""

    first: Event | None = None

    def log(self, s: Session, deal: Deal, kind: str, at: datetime, user: str, **fields: object) -> None:
        ev = log_event(s, deal, kind, at, user, ref_id=self.first.id if self.first else None, **fields)
        if self.first is None:
            s.flush()  # its id is the batch id
            self.first = ev


def _deals(s: Session, ids: Iterable[int]) -> list[Deal]:
    wanted = list(dict.fromkeys(ids))
    if not wanted:
        raise ValidationError("No deals are marked.")
    if len(wanted) > MAX_BATCH:
        raise ValidationError(f"A bulk action takes at most {MAX_BATCH} deals.")
    rows = {d.id: d for d in s.exec(select(Deal).where(col(Deal.id).in_(wanted)))}
    missing = [i for i in wanted if i not in rows]
    if missing:
        raise ValidationError(f"There is no deal with id {missing[0]}.")
    found = [rows[i] for i in wanted]
    if len({d.pipeline_id for d in found}) > 1:
        raise ValidationError("The marked deals are in more than one pipeline; mark deals of one pipeline.")
    return found


def _stages(s: Session, pipeline_id: int) -> list[Stage]:
    return list(s.exec(select(Stage).where(Stage.pipeline_id == pipeline_id, Stage.archived == False)  # noqa: E712
                       .order_by(col(Stage.position))))


def _check_batch_wip(s: Session, plan: list[tuple[Deal, Stage]], owners: dict[int, str],
                     force_reason: str | None) -> bool:
    """Refuse the whole plan when a target stage (or an owner in it) lacks room for every deal entering it.
    Returns whether a limit is forced (a reason is given)."""
    entering = Counter(stage.id for _deal, stage in plan)
    by_owner = Counter((stage.id, owners[d.id or 0]) for d, stage in plan if owners[d.id or 0])
    stages = {stage.id: stage for _deal, stage in plan}
    problems: list[WipLimitError] = []
    for stage_id, n in entering.items():
        stage = stages[stage_id]
        assert stage.id is not None
        if stage.wip_max is not None:
            count = _open_count(s, stage.id)
            if not rules.admits_batch(count, n, stage.wip_max):
                problems.append(WipLimitError(rules.batch_refusal(stage.name, count, stage.wip_max, n),
                                              stage=stage.name, count=count, limit=stage.wip_max))
    for (stage_id, owner), n in by_owner.items():
        stage = stages[stage_id]
        assert stage.id is not None
        if stage.rep_wip_max is not None:
            count = _open_count(s, stage.id, owner=owner)
            if not rules.admits_batch(count, n, stage.rep_wip_max):
                problems.append(WipLimitError(rules.batch_refusal(stage.name, count, stage.rep_wip_max, n, owner),
                                              stage=stage.name, count=count, limit=stage.rep_wip_max,
                                              per_owner=True))
    if not problems:
        return False
    if force_reason is None:
        problems[0].batch = len(plan)
        raise problems[0]
    if not clean_text(force_reason).strip():
        raise ValidationError("A forced move past a WIP limit needs a reason.")
    return True


def _skip(deal: Deal, why: str) -> DealOutcome:
    return DealOutcome(deal.id or 0, deal.title, False, why)


def _done(deal: Deal) -> DealOutcome:
    return DealOutcome(deal.id or 0, deal.title, True)


# -- moves ------------------------------------------------------------------------------------------------------


Target = Callable[[Deal, list[Stage]], "Stage | str"]  # the stage a deal goes to, or why it stays


def _moved_since(deal: Deal, stages: list[Stage], seen: Mapping[int, int] | None) -> str | None:
    """Why a deal stays: the board showed it in another stage than it is in now (another rep moved it since the
    rep marked it), so a step from where it is now would not be the step the rep asked for. None: as seen."""
    shown = None if seen is None else seen.get(deal.id or 0)
    if shown is None or shown == deal.stage_id:
        return None
    now = next((st.name for st in stages if st.id == deal.stage_id), "another stage")
    return f"was moved to {now} since you marked it"


def bulk_move(db: Database, ids: Iterable[int], stage: str | int, *, user: str,
              force_reason: str | None = None, seen: Mapping[int, int] | None = None) -> BulkResult:
    """Move the deals to `stage` (name or id) in one transaction; the stage's WIP limit must admit them all.
    `seen`: the stage each deal was shown in (a deal moved elsewhere since stays, with the reason)."""

    def target(deal: Deal, stages: list[Stage]) -> Stage | str:
        moved = _moved_since(deal, stages, seen)
        if moved is not None:
            return moved
        found = next((st for st in stages if st.id == stage or (isinstance(stage, str)
                                                                 and st.name.lower() == stage.strip().lower())), None)
        if found is None:
            raise ValidationError(f"The pipeline has no stage '{stage}'.")
        return "is there already" if found.id == deal.stage_id else found

    return _move_all(db, ids, target, user=user, force_reason=force_reason)


def bulk_step(db: Database, ids: Iterable[int], delta: int, *, user: str,
              force_reason: str | None = None, seen: Mapping[int, int] | None = None) -> BulkResult:
    """Move each deal `delta` stages on (1: the next stage, -1: the previous one), in one transaction. `seen`: the
    stage each deal was shown in; a deal another rep moved since stays (stepping it from there would move it on
    twice), with the reason."""

    def target(deal: Deal, stages: list[Stage]) -> Stage | str:
        moved = _moved_since(deal, stages, seen)
        if moved is not None:
            return moved
        at = next((i for i, st in enumerate(stages) if st.id == deal.stage_id), None)
        if at is None or not 0 <= at + delta < len(stages):
            return "is in the last stage" if delta > 0 else "is in the first stage"
        return stages[at + delta]

    return _move_all(db, ids, target, user=user, force_reason=force_reason)


def _move_all(db: Database, ids: Iterable[int], target: Target, *, user: str,
              force_reason: str | None) -> BulkResult:
    ts = when(None)

    def work(s: Session) -> BulkResult:
        deals = _deals(s, ids)
        stages = _stages(s, deals[0].pipeline_id)
        outcomes: dict[int, DealOutcome] = {}
        plan: list[tuple[Deal, Stage]] = []
        for deal in deals:
            if deal.status != "open":
                outcomes[deal.id or 0] = _skip(deal, f"is {deal.status}")
                continue
            goes = target(deal, stages)
            if isinstance(goes, str):
                outcomes[deal.id or 0] = _skip(deal, goes)
                continue
            try:  # (a stage without a gate needs no look at the deal's fields: one query less per deal)
                gated = bool(goes.required) and gates.check_gate(s, goes, gates.fields_of(s, deal),
                                                                 force_reason=force_reason)
            except TuikanbanError as refused:
                outcomes[deal.id or 0] = _skip(deal, f"was refused: {refused}")
                continue
            plan.append((deal, goes))
            if gated:
                gates.log_override(s, deal, goes, force_reason or "", ts, user)
        forced = _check_batch_wip(s, plan, {d.id or 0: d.owner for d, _st in plan}, force_reason)
        by_id = {st.id: st for st in stages}
        batch, tops = _Batch(), {}
        stays = open_stays(s, [d.id or 0 for d, _st in plan])
        for deal, stage in plan:
            assert stage.id is not None
            if stage.id not in tops:
                tops[stage.id] = _top_rank(s, stage.id)
            tops[stage.id] -= 1  # each deal lands on top of the one moved in before it
            _move_one(s, deal, stays.get(deal.id or 0), by_id[deal.stage_id], stage, batch, ts, user,
                      force_reason if forced else None, tops[stage.id] + 1)
            outcomes[deal.id or 0] = _done(deal)
        return BulkResult("moved", tuple(outcomes[d.id or 0] for d in deals), forced,
                          batch.first.id if batch.first else None)

    return db.write(work)


def _move_one(s: Session, deal: Deal, stay: Stay | None, source: Stage, target: Stage, batch: _Batch, at: datetime,
              user: str, forced: str | None, rank: int) -> None:
    assert target.id is not None
    if forced:
        _override(s, deal, target, forced, at, user)
    if stay is not None:
        end_stay(s, stay, at, move_outcome(source.position, target.position))
    start_stay(s, deal, target.id, at)
    batch.log(s, deal, "move", at, user, from_stage_id=source.id, to_stage_id=target.id, old_value=str(deal.rank),
              reason=clean_text(forced).strip() if forced else None)
    deal.stage_id, deal.stage_entered_at, deal.rank = target.id, at, rank
    deal.version += 1
    s.add(deal)


# -- won, lost, owner -------------------------------------------------------------------------------------------


def bulk_close(db: Database, ids: Iterable[int], status: str, *, user: str, reason: str = "") -> BulkResult:
    """Mark the open deals won or lost (one lost reason for all) in one transaction."""
    if status not in ("won", "lost"):
        raise ValidationError(f"A deal is closed as won or lost, not {status}.")
    why = clean_field(reason, "lost reason", 500) if status == "lost" else ""
    if status == "lost" and not why:
        raise ValidationError("Marking deals lost needs a reason.")
    ts = when(None)

    def work(s: Session) -> BulkResult:
        deals, batch, outcomes = _deals(s, ids), _Batch(), []
        stays = open_stays(s, [d.id or 0 for d in deals])
        for deal in deals:
            if deal.status != "open":
                outcomes.append(_skip(deal, f"is {deal.status} already"))
                continue
            if deal.id in stays:
                end_stay(s, stays[deal.id], ts, close_outcome(status))
            batch.log(s, deal, status, ts, user, from_stage_id=deal.stage_id, reason=why or None)
            deal.status, deal.closed_at, deal.lost_reason = status, ts, why
            deal.version += 1
            s.add(deal)
            outcomes.append(_done(deal))
        return BulkResult(f"marked {status}", tuple(outcomes), False, batch.first.id if batch.first else None)

    return db.write(work)


def bulk_owner(db: Database, ids: Iterable[int], owner: str, *, user: str,
               force_reason: str | None = None) -> BulkResult:
    """Give the deals a new owner in one transaction; per-rep WIP limits must admit all the open ones."""
    new = clean_field(owner, "owner", 200)
    ts = when(None)

    def work(s: Session) -> BulkResult:
        deals = _deals(s, ids)
        changing = [d for d in deals if d.owner != new]
        stages = {st.id: st for st in _stages(s, deals[0].pipeline_id)}
        plan = [(d, stages[d.stage_id]) for d in changing if d.status == "open" and d.stage_id in stages]
        only_rep = [(d, st) for d, st in plan if st.rep_wip_max is not None]
        forced = _check_batch_wip(s, only_rep, {d.id or 0: new for d, _st in only_rep}, force_reason)
        batch = _Batch()
        for deal in changing:
            if forced and any(d is deal for d, _st in only_rep):
                _override(s, deal, stages[deal.stage_id], force_reason or "", ts, user)
            batch.log(s, deal, "edit", ts, user, field="owner", old_value=event_text(deal.owner),
                      new_value=event_text(new))
            deal.owner = new
            deal.version += 1
            s.add(deal)
        already = f"is {new}'s already" if new else "is unassigned already"
        outcomes = tuple(_done(d) if d in changing else _skip(d, already) for d in deals)
        return BulkResult(f"given to {new or 'nobody'}", outcomes, forced, batch.first.id if batch.first else None)

    return db.write(work)


# -- snooze, delete ---------------------------------------------------------------------------------------------


def bulk_snooze(db: Database, ids: Iterable[int], until: str | date, *, user: str,
                reason: str | None = None) -> BulkResult:
    """Snooze the open deals until one date (a shortcut or YYYY-MM-DD, after today), for one reason, in one
    transaction. Snoozed deals stay open, so no WIP limit is involved."""
    day, why = snooze_terms(until, reason)
    ts = when(None)

    def work(s: Session) -> BulkResult:
        deals, batch, outcomes = _deals(s, ids), _Batch(), []
        for deal in deals:
            if deal.status != "open":
                outcomes.append(_skip(deal, f"is {deal.status}"))
                continue
            if deal.snoozed_until == day:
                outcomes.append(_skip(deal, f"is snoozed until {day.isoformat()} already"))
                continue
            old = deal.snoozed_until.isoformat() if snoozed(deal) and deal.snoozed_until else None
            batch.log(s, deal, "snoozed", ts, user, old_value=old, new_value=day.isoformat(), reason=why)
            deal.snoozed_until = day
            deal.version += 1
            s.add(deal)
            outcomes.append(_done(deal))
        return BulkResult(f"snoozed until {day.isoformat()}", tuple(outcomes), False,
                          batch.first.id if batch.first else None)

    return db.write(work)


def bulk_delete(db: Database, ids: Iterable[int], *, user: str) -> BulkResult:
    """Delete the deals (made by mistake) in one transaction: each keeps its rows and the status it had, for
    restore or undo."""
    ts = when(None)

    def work(s: Session) -> BulkResult:
        deals, batch, outcomes = _deals(s, ids), _Batch(), []
        for deal in deals:
            if deal.status == DELETED:
                outcomes.append(_skip(deal, "is deleted already"))
                continue
            batch.log(s, deal, "deleted", ts, user, from_stage_id=deal.stage_id, old_value=deal.status)
            deal.status = DELETED
            deal.version += 1
            s.add(deal)
            outcomes.append(_done(deal))
        return BulkResult("deleted", tuple(outcomes), False, batch.first.id if batch.first else None)

    return db.write(work)


def known_owners(db: Database, pipeline_id: int | None = None) -> list[str]:
    """The reps who own a deal (in the pipeline, or anywhere), most deals first: the owner picker's list."""
    n = func.count()
    q = select(Deal.owner, n).where(Deal.owner != "").group_by(col(Deal.owner)).order_by(n.desc(), col(Deal.owner))
    if pipeline_id is not None:
        q = q.where(Deal.pipeline_id == pipeline_id)
    with db.read() as s:
        return [name for name, _n in s.exec(q)]


__all__ = ["bulk_close", "bulk_delete", "bulk_move", "bulk_owner", "bulk_snooze", "bulk_step", "known_owners"]
