"""Stage gates in the database: configuring them, checking them inside the transactions that move, create, reopen
(and, through `check_gate`, import) deals, and ticking a deal's exit-criteria checklist."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, select

from tuikanban.domain import gates
from tuikanban.domain.errors import StaleEditError
from tuikanban.domain.gates import GateFields
from tuikanban.domain.text import clean_text, display
from tuikanban.services.common import get_deal_row, resolve_pipeline, resolve_stage, when
from tuikanban.services.screen_reads import DealGate  # (defined without the ORM: the deal detail reads it so)
from tuikanban.store.engine import Database
from tuikanban.store.tables import Activity, Deal, DealCheck, Event, Stage


@dataclass(frozen=True, slots=True)
class StageGate:
    stage_id: int
    stage: str
    requires: tuple[str, ...]
    checklist: tuple[str, ...]


def _gate(st: Stage) -> StageGate:
    assert st.id is not None
    return StageGate(st.id, st.name, gates.stored_requirements(st.required), gates.stored_checklist(st.checklist))


def has_next_step(s: Session, deal_id: int | None) -> bool:
    """An open follow-up task with a due date."""
    if deal_id is None:
        return False
    q = select(Activity.id).where(Activity.deal_id == deal_id, Activity.kind == "task",
                                  Activity.done == False, Activity.due != None)  # noqa: E711, E712
    return s.exec(q).first() is not None


def fields_of(s: Session, deal: Deal) -> GateFields:
    return GateFields(deal.value_minor, deal.expected_close, deal.company, deal.contact, deal.owner,
                      has_next_step(s, deal.id))


def check_gate(s: Session, stage: Stage, fields: GateFields, *, force_reason: str | None) -> bool:
    """Refuse entry into `stage` when the deal lacks a required field, unless forced with a reason.

    Returns whether an override is used (the caller logs it with `log_override` once the deal has an id). For
    import, call it per row with the row's fields inside the import transaction.
    """
    return gates.check_entry(stage.name, stage.required, fields, force_reason=force_reason)


def log_override(s: Session, deal: Deal, stage: Stage, reason: str, at: datetime, user: str) -> None:
    absent = gates.missing(gates.stored_requirements(stage.required), fields_of(s, deal))
    s.add(Event(pipeline_id=deal.pipeline_id, deal_id=deal.id, kind="gate_override", at=at, user=user,
                to_stage_id=stage.id, field=None, new_value=",".join(absent) or None,
                reason=clean_text(reason).strip()))


# -- settings ----------------------------------------------------------------------------------------


def set_gate(db: Database, pipeline: str | int | None, stage: str | int, *, require: str | None = None,
             checklist: str | None = None) -> StageGate:
    """Set a stage's required fields (`none` clears) and/or its checklist ("" clears); None keeps a setting."""
    required = gates.parse_requirements(require) if require is not None else None
    items = gates.parse_checklist(checklist) if checklist is not None else None

    def work(s: Session) -> StageGate:
        st = resolve_stage(s, resolve_pipeline(s, pipeline), stage)
        if required is not None:
            st.required = ",".join(required)
        if items is not None:
            st.checklist = "\n".join(items)
        s.add(st)
        return _gate(st)

    return db.write(work)


def stage_gates(db: Database, pipeline: str | int | None) -> dict[int, StageGate]:
    with db.read() as s:
        p = resolve_pipeline(s, pipeline)
        return {g.stage_id: g for g in (_gate(st) for st in s.exec(select(Stage).where(Stage.pipeline_id == p.id)))}


def missing_now(db: Database, deal_id: int, stage_id: int) -> tuple[str, ...]:
    """What `stage_id`'s gate requires of the deal as stored now and the deal lacks (the gate dialog checks again on
    save: another rep may have loosened the gate, or filled a field, while it was open)."""
    with db.read() as s:
        deal = get_deal_row(s, deal_id)
        st = s.get(Stage, stage_id)
        if st is None:
            return ()
        return gates.missing(gates.stored_requirements(st.required), fields_of(s, deal))


def deal_gate(db: Database, deal_id: int) -> DealGate:
    with db.read() as s:
        deal = get_deal_row(s, deal_id)
        st = s.get(Stage, deal.stage_id)
        assert st is not None
        g = _gate(st)
        ticked = {c.item for c in s.exec(select(DealCheck).where(DealCheck.deal_id == deal_id,
                                                                 DealCheck.stage_id == st.id))}
        return DealGate(g.stage, g.requires, gates.missing(g.requires, fields_of(s, deal)),
                        tuple((item, item in ticked) for item in g.checklist))


def tick(db: Database, deal_id: int, item: str, *, user: str, undo: bool = False,
         at: datetime | str | None = None, seen_stage: str | None = None) -> tuple[str, bool]:
    """Tick (or untick) an item of the checklist of the deal's current stage. Returns (item, changed).
    `seen_stage`: the stage whose checklist the rep ticked on (a screen); when the deal has left it since (another
    rep moved it), nothing is ticked and `StaleEditError` says where the deal is now."""
    ts = when(at)

    def work(s: Session) -> tuple[str, bool]:
        deal = get_deal_row(s, deal_id)
        st = s.get(Stage, deal.stage_id)
        assert st is not None
        if seen_stage is not None and st.name != seen_stage:
            raise StaleEditError(
                f"'{display(deal.title, max_length=40)}' is in {display(st.name, max_length=40)} now, not in "
                f"{display(seen_stage, max_length=40)}, so nothing was ticked; the checklist shown is "
                f"{display(st.name, max_length=40)}'s.")
        name = gates.find_item(gates.stored_checklist(st.checklist), item)
        row = s.exec(select(DealCheck).where(DealCheck.deal_id == deal_id, DealCheck.stage_id == st.id,
                                             DealCheck.item == name)).first()
        if (row is None) == undo:
            return name, False
        if undo:
            s.delete(row)
        else:
            s.add(DealCheck(deal_id=deal_id, stage_id=st.id, item=name, user=user, at=ts))  # type: ignore[arg-type]
        s.add(Event(pipeline_id=deal.pipeline_id, deal_id=deal_id, kind="check", at=ts, user=user,
                    to_stage_id=st.id, old_value=name if undo else None, new_value=None if undo else name))
        return name, True

    return db.write(work)


def gate_json(g: DealGate) -> dict[str, Any]:
    return {"stage": g.stage, "requires": list(g.requires), "missing": list(g.missing),
            "checklist": [{"item": i, "done": d} for i, d in g.checklist]}


__all__ = [
    "DealGate", "StageGate", "check_gate", "deal_gate", "fields_of", "gate_json", "has_next_step", "log_override",
    "set_gate", "stage_gates", "tick",
]
