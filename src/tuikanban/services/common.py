"""Lookups and conversions shared by the services (run inside a session)."""

from __future__ import annotations

from sqlmodel import Session, col, select

from tuikanban.domain.clock import FUTURE_TOLERANCE as FUTURE_TOLERANCE
from tuikanban.domain.clock import when as when
from tuikanban.domain.errors import NotFoundError, ValidationError
from tuikanban.domain.models import DealTypeInfo, DealView, PipelineInfo, StageInfo
from tuikanban.domain.records import EventView
from tuikanban.domain.text import name_key
from tuikanban.store.tables import Deal, DealType, Event, Pipeline, Stage


def pipeline_info(p: Pipeline) -> PipelineInfo:
    assert p.id is not None
    reasons = tuple(r for r in (p.lost_reasons or "").split("\n") if r.strip())
    return PipelineInfo(p.id, p.name, p.currency, p.target_minor, p.stale_days, reasons, bool(p.is_default),
                        bool(p.next_step_signal))


def stage_info(s: Stage) -> StageInfo:
    assert s.id is not None
    return StageInfo(
        s.id, s.pipeline_id, s.name, s.position, s.wip_max, s.wip_min, s.rep_wip_max, s.expected_days,
        s.probability, s.exit_criteria or "", bool(s.archived),
    )


def type_info(t: DealType) -> DealTypeInfo:
    assert t.id is not None
    return DealTypeInfo(t.id, t.pipeline_id, t.name, t.position, bool(t.archived))


def resolve_pipeline(session: Session, ref: str | int | None) -> Pipeline:
    """A pipeline by id or case-insensitive name; None means the only one, or the default one."""
    if isinstance(ref, int):
        found = session.get(Pipeline, ref)
        if found is None:
            raise NotFoundError(f"There is no pipeline with id {ref}.")
        return found
    if ref is None or not str(ref).strip():
        pipelines = list(session.exec(select(Pipeline).order_by(col(Pipeline.id))))
        if not pipelines:
            raise NotFoundError("There is no pipeline yet; create one with 'tuikanban pipeline create NAME'.")
        if len(pipelines) == 1:
            return pipelines[0]
        defaults = [p for p in pipelines if p.is_default]
        if defaults:
            return defaults[0]
        names = ", ".join(p.name for p in pipelines)
        raise ValidationError(f"There are several pipelines ({names}); choose one with -p.")
    found = session.exec(select(Pipeline).where(Pipeline.name_key == name_key(str(ref)))).first()
    if found is None:
        names = ", ".join(p.name for p in session.exec(select(Pipeline)))
        hint = f" (pipelines: {names})" if names else ""
        raise NotFoundError(f"There is no pipeline named '{ref}'{hint}.")
    return found


def resolve_stage(session: Session, pipeline: Pipeline, ref: str | int, *, include_archived: bool = False) -> Stage:
    if isinstance(ref, int):
        found = session.get(Stage, ref)
        if found is None or found.pipeline_id != pipeline.id:
            raise NotFoundError(f"Pipeline {pipeline.name} has no stage with id {ref}.")
        return found
    found = session.exec(
        select(Stage).where(Stage.pipeline_id == pipeline.id, Stage.name_key == name_key(ref))
    ).first()
    if found is None or (found.archived and not include_archived):
        names = ", ".join(s.name for s in active_stages(session, pipeline))
        raise NotFoundError(f"Pipeline {pipeline.name} has no stage named '{ref}' (stages: {names}).")
    return found


def resolve_type(session: Session, pipeline: Pipeline, ref: str | int, *, to_use: bool = False) -> DealType:
    """A deal type by id or name; with `to_use` (giving it to a deal), an archived type is refused."""
    found = _find_type(session, pipeline, ref)
    if to_use and found.archived:
        raise ValidationError(f"The deal type {found.name} is archived; choose another one "
                              f"(or 'tuikanban type unarchive {found.name}').")
    return found


def _find_type(session: Session, pipeline: Pipeline, ref: str | int) -> DealType:
    if isinstance(ref, int):
        found = session.get(DealType, ref)
        if found is None or found.pipeline_id != pipeline.id:
            raise NotFoundError(f"Pipeline {pipeline.name} has no deal type with id {ref}.")
        return found
    found = session.exec(
        select(DealType).where(DealType.pipeline_id == pipeline.id, DealType.name_key == name_key(ref))
    ).first()
    if found is None:
        names = ", ".join(t.name for t in session.exec(select(DealType).where(DealType.pipeline_id == pipeline.id)))
        hint = f" (types: {names})" if names else " (it has none yet; add one with 'tuikanban type add')"
        raise NotFoundError(f"Pipeline {pipeline.name} has no deal type named '{ref}'{hint}.")
    return found


def active_stages(session: Session, pipeline: Pipeline) -> list[Stage]:
    return list(
        session.exec(
            select(Stage)
            .where(Stage.pipeline_id == pipeline.id, Stage.archived == False)  # noqa: E712
            .order_by(col(Stage.position), col(Stage.id))
        )
    )


def get_deal_row(session: Session, deal_id: int) -> Deal:
    deal = session.get(Deal, deal_id)
    if deal is None:
        raise NotFoundError(f"There is no deal with id {deal_id}.")
    return deal


def deal_view(session: Session, deal: Deal) -> DealView:
    stage = session.get(Stage, deal.stage_id)
    dtype = session.get(DealType, deal.type_id) if deal.type_id else None
    assert deal.id is not None
    return DealView(
        id=deal.id, pipeline_id=deal.pipeline_id, title=deal.title, company=deal.company, contact=deal.contact,
        value_minor=deal.value_minor, currency=deal.currency, owner=deal.owner, type_id=deal.type_id,
        type_name=dtype.name if dtype else None, expected_close=deal.expected_close, notes=deal.notes,
        stage_id=deal.stage_id, stage_name=stage.name if stage else "?", status=deal.status,
        lost_reason=deal.lost_reason, created_at=deal.created_at, stage_entered_at=deal.stage_entered_at,
        closed_at=deal.closed_at, last_activity_at=deal.last_activity_at, rank=deal.rank, version=deal.version,
        snoozed_until=deal.snoozed_until,
    )


def event_view(e: Event, stage_names: dict[int, str]) -> EventView:
    assert e.id is not None
    return EventView(
        id=e.id, deal_id=e.deal_id, kind=e.kind, at=e.at, user=e.user,
        from_stage=stage_names.get(e.from_stage_id) if e.from_stage_id else None,
        to_stage=stage_names.get(e.to_stage_id) if e.to_stage_id else None,
        field=e.field, old_value=e.old_value, new_value=e.new_value, reason=e.reason,
    )
