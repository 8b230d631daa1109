"""What the deal detail, the deal form and the pipeline settings show, read without the ORM.

Each function runs inside one read the caller holds, on a `store.uow.Unit` (`Database.read_plain`: the ORM
session's own connection once the database is open, a driver connection of its own before: `store.screenreads.run`),
so a key pressed in the first second after start opens its screen filled without waiting for SQLAlchemy's import
and the database's opening (docs/PERFORMANCE.md, A screen in the first second without the ORM). The results are
those of the ORM reads (`services.deals.get_deal`, `deal_history`, `list_activities`, `known_owners`,
`services.pipelines.get_pipeline`, `list_stages`, `list_types`, `stage_rows`, `services.gates.deal_gate`, and the
one aging function): tests compare them on both engines. Nothing here imports the ORM.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tuikanban.domain import gates
from tuikanban.domain.aging import AgingItem
from tuikanban.domain.gates import GateFields
from tuikanban.domain.models import DealTypeInfo, DealView, PipelineInfo, StageInfo
from tuikanban.domain.records import ActivityView, EventView
from tuikanban.services.aging import snapshot_in
from tuikanban.store import screenreads as sr
from tuikanban.store.uow import Unit


@dataclass(frozen=True, slots=True)
class DealGate:
    """A deal's standing against its current stage's gate and checklist."""

    stage: str
    requires: tuple[str, ...]
    missing: tuple[str, ...]
    checklist: tuple[tuple[str, bool], ...]  # (item, ticked)


@dataclass(frozen=True, slots=True)
class StageRow:
    """A stage with its live open count and value, for `stage list`."""

    stage: StageInfo
    open_deals: int
    open_value_minor: int


@dataclass(frozen=True, slots=True)
class DealDetail:
    """Everything the deal detail shows but its checklist (which reads itself: `deal_gate`)."""

    deal: DealView
    stage: StageInfo | None  # the deal's stage, archived or not
    types: list[DealTypeInfo]
    events: list[EventView]
    activities: list[ActivityView]
    aging: AgingItem | None = None  # open deals only: from the one aging function (services.aging)
    stale_days: int | None = None


def deal_detail(u: Unit, deal_id: int, *, now: datetime | None = None) -> DealDetail:
    deal = sr.deal(u, deal_id)
    aging, stale_days = None, None
    if deal.status == "open":
        snap = snapshot_in(u, deal.pipeline_id, now=now, deal_ids=[deal_id])
        aging, stale_days = (snap.items[0] if snap.items else None), snap.stale_days
    return DealDetail(deal, sr.stage(u, deal.stage_id), sr.types(u, deal.pipeline_id), sr.history(u, deal),
                      sr.activities(u, deal_id), aging, stale_days)


def deal_gate(u: Unit, deal_id: int) -> DealGate:
    """`services.gates.deal_gate`, without the ORM."""
    facts = sr.gate_facts(u, deal_id)
    deal = sr.deal(u, deal_id)
    requires = gates.stored_requirements(facts.required)
    fields = GateFields(deal.value_minor, deal.expected_close, deal.company, deal.contact, deal.owner,
                        facts.has_next_step)
    return DealGate(facts.stage, requires, gates.missing(requires, fields),
                    tuple((item, item in facts.ticked) for item in gates.stored_checklist(facts.checklist)))


@dataclass(frozen=True, slots=True)
class FormChoices:
    """What the deal form offers: the pipeline (its currency), its stages and types, the deal when editing one,
    and the reps who own deals."""

    pipeline: PipelineInfo
    stages: list[StageInfo]
    types: list[DealTypeInfo]
    deal: DealView | None
    owners: list[str]


def edit_base(deal: DealView) -> dict[str, Any]:
    """What an edit form loaded, field by field, as `services.deals.edit_deal(base=...)` compares it with what is
    stored now (here, without the ORM: the form reads its deal before the ORM is imported, and rebases on it on the
    UI thread)."""
    return {"title": deal.title, "company": deal.company, "contact": deal.contact, "value": deal.value_minor,
            "currency": deal.currency, "owner": deal.owner, "type": deal.type_id, "close": deal.expected_close,
            "notes": deal.notes}


def form_choices(u: Unit, pipeline_id: int, deal_id: int | None) -> FormChoices:
    deal = sr.deal(u, deal_id) if deal_id is not None else None
    pid = deal.pipeline_id if deal is not None else pipeline_id
    pipeline = sr.pipeline(u, pid)
    stages = sr.stages(u, pid)
    if deal is not None and deal.stage_id not in {s.id for s in stages}:
        # a closed deal whose stage was archived since: still show where it was
        stages = [s for s in sr.stages(u, pid, include_archived=True) if s.id == deal.stage_id or not s.archived]
    return FormChoices(pipeline, stages, sr.types(u, pid), deal, sr.owners(u))


def stage_rows(u: Unit, pipeline_id: int, totals: Mapping[int, tuple[int, int]] | None = None,
               ) -> tuple[PipelineInfo, list[StageRow]]:
    """`services.pipelines.stage_rows` for a pipeline id, without the ORM; with `totals` (stage id -> open deals and
    their value, as the board holds them), those rather than an aggregate over the pipeline's open deals."""
    pipeline = sr.pipeline(u, pipeline_id)
    counts = sr.stage_totals(u, pipeline.id) if totals is None else totals
    return pipeline, [StageRow(st, *counts.get(st.id, (0, 0))) for st in sr.stages(u, pipeline.id)]


def pipeline_settings(u: Unit, pipeline_id: int, totals: Mapping[int, tuple[int, int]] | None = None,
                      ) -> tuple[PipelineInfo, list[StageRow], list[DealTypeInfo]]:
    """What the pipeline settings show: the pipeline, its stages with their open deals (`totals` when the board
    gives them: `stage_rows`), its deal types."""
    pipeline, rows = stage_rows(u, pipeline_id, totals)
    return pipeline, rows, sr.types(u, pipeline.id)


__all__ = ["DealDetail", "DealGate", "FormChoices", "StageRow", "deal_detail", "deal_gate", "edit_base", "form_choices",
           "pipeline_settings", "stage_rows"]
