"""Pipelines, stages and deal types: create, configure, list."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import case, func
from sqlmodel import Session, col, select

from tuikanban.domain import wip
from tuikanban.domain.errors import DuplicateError, ValidationError
from tuikanban.domain.merge import EditConflictError, FieldConflict, conflict_sentence, merge_fields
from tuikanban.domain.models import STARTER_STAGES, DealTypeInfo, PipelineInfo, StageInfo
from tuikanban.domain.money import exponent, format_money, normalise_currency, parse_money
from tuikanban.domain.text import clean_name, clean_text, name_key
from tuikanban.services.common import (
    active_stages,
    pipeline_info,
    resolve_pipeline,
    resolve_stage,
    resolve_type,
    stage_info,
    type_info,
    when,
)
from tuikanban.services.screen_reads import StageRow  # (defined without the ORM: the settings read it so)
from tuikanban.store.engine import Database
from tuikanban.store.queries import stage_totals
from tuikanban.store.tables import Deal, DealType, Pipeline, Stage

DEFAULT_LOST_REASONS = ("Price", "Lost to competitor", "No budget", "No decision", "Timing", "Went silent")


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()


def parse_stage_list(text: str) -> list[str]:
    names = [clean_name(n, what="stage") for n in text.split(",") if n.strip()]
    if not names:
        raise ValidationError("Give at least one stage, for example --stages \"Lead,Qualified,Proposal\".")
    keys = [name_key(n) for n in names]
    dupes = sorted({n for n, k in zip(names, keys, strict=True) if keys.count(k) > 1})
    if dupes:
        raise ValidationError(f"The stage names repeat: {', '.join(dupes)}.")
    return names


def create_pipeline(
    db: Database,
    name: str,
    stages: list[str] | str,
    *,
    currency: str = "USD",
    target: str | int | None = None,
    stale_days: int = 10,
    types: list[str] | None = None,
    make_default: bool = False,
) -> PipelineInfo:
    clean = clean_name(name, what="pipeline")
    stage_names = parse_stage_list(stages) if isinstance(stages, str) else parse_stage_list(",".join(stages))
    cur = normalise_currency(currency)
    target_minor = parse_money(target, cur) if isinstance(target, str) else target
    if stale_days < 1:
        raise ValidationError("The stale-activity days must be at least 1.")
    type_names = [clean_name(t, what="deal type") for t in types or [] if t.strip()]
    type_keys = [name_key(t) for t in type_names]
    repeated = sorted({t for t, k in zip(type_names, type_keys, strict=True) if type_keys.count(k) > 1})
    if repeated:
        raise ValidationError(f"The deal type names repeat: {', '.join(repeated)}.")

    def work(s: Session) -> PipelineInfo:
        taken = s.exec(select(Pipeline).where(Pipeline.name_key == name_key(clean))).first()
        if taken is not None:
            raise DuplicateError(f"A pipeline named '{taken.name}' already exists.")
        p = Pipeline(
            name=clean, name_key=name_key(clean), currency=cur, target_minor=target_minor, stale_days=stale_days,
            lost_reasons="\n".join(DEFAULT_LOST_REASONS), is_default=make_default, created_at=when(None),
        )
        if make_default:
            for other in s.exec(select(Pipeline).where(Pipeline.is_default == True)):  # noqa: E712
                other.is_default = False
                s.add(other)
        s.add(p)
        s.flush()
        assert p.id is not None
        for pos, st in enumerate(stage_names):
            s.add(Stage(pipeline_id=p.id, name=st, name_key=name_key(st), position=pos))
        for pos, tname in enumerate(type_names):
            s.add(DealType(pipeline_id=p.id, name=tname, name_key=name_key(tname), position=pos))
        return pipeline_info(p)

    return db.write(work)


def list_pipelines(db: Database) -> list[PipelineInfo]:
    with db.read() as s:
        return [pipeline_info(p) for p in s.exec(select(Pipeline).order_by(col(Pipeline.id)))]


@dataclass(frozen=True, slots=True)
class PipelineTotals:
    """A pipeline with its open deals, their value in its currency and its active stages, for the switcher."""

    pipeline: PipelineInfo
    open_deals: int
    open_value_minor: int
    stages: int


def pipeline_totals(db: Database) -> list[PipelineTotals]:
    """Every pipeline with its totals, from two grouped queries whatever the number of pipelines (the switcher
    used to read each pipeline's stage rows in turn; docs/PERFORMANCE.md, Memory of the screens). As in
    `stage_rows`, a deal valued in another currency counts as a deal but not in the sum, and only deals in
    active stages count."""
    own = case((col(Deal.currency) == col(Pipeline.currency), col(Deal.value_minor)), else_=0)
    with db.read() as s:
        pipelines = [pipeline_info(p) for p in s.exec(select(Pipeline).order_by(col(Pipeline.id)))]
        deals = {pid: (int(n), int(v)) for pid, n, v in s.exec(
            select(col(Deal.pipeline_id), func.count(), func.coalesce(func.sum(own), 0))
            .join(Pipeline, col(Pipeline.id) == col(Deal.pipeline_id))
            .join(Stage, col(Stage.id) == col(Deal.stage_id))
            .where(col(Deal.status) == "open", Stage.archived == False)  # noqa: E712
            .group_by(col(Deal.pipeline_id)))}
        stages = {pid: int(n) for pid, n in s.exec(
            select(col(Stage.pipeline_id), func.count()).where(Stage.archived == False)  # noqa: E712
            .group_by(col(Stage.pipeline_id)))}
    return [PipelineTotals(p, *deals.get(p.id, (0, 0)), stages.get(p.id, 0)) for p in pipelines]


def get_pipeline(db: Database, ref: str | int | None) -> PipelineInfo:
    with db.read() as s:
        return pipeline_info(resolve_pipeline(s, ref))


def update_pipeline(
    db: Database,
    ref: str | int | None,
    *,
    name: str | None = None,
    currency: str | None = None,
    target: str | int | None = UNSET,
    stale_days: int | None = None,
    lost_reasons: list[str] | None = None,
    make_default: bool | None = None,
    next_step_signal: bool | None = None,
    base: dict[str, Any] | None = None,
) -> PipelineInfo:
    """Change a pipeline's settings (None or UNSET keeps one). With `base` (what the settings screen loaded:
    name, currency, target in minor units, stale_days, lost_reasons as a list) only the settings this user changed
    are saved, and one someone else changed meanwhile is an EditConflictError (domain.merge)."""

    def work(s: Session) -> PipelineInfo:
        p = resolve_pipeline(s, ref)
        keep = None if base is None else _pipeline_merge(p, base, name=name, currency=currency, target=target,
                                                         stale_days=stale_days, lost_reasons=lost_reasons)

        def wanted(key: str, value: Any) -> bool:
            return value is not None and value is not UNSET and (keep is None or key in keep)

        if next_step_signal is not None:
            p.next_step_signal = next_step_signal
        if wanted("name", name):
            assert name is not None
            clean = clean_name(name, what="pipeline")
            other = s.exec(select(Pipeline).where(Pipeline.name_key == name_key(clean))).first()
            if other is not None and other.id != p.id:
                raise DuplicateError(f"A pipeline named '{clean}' already exists.")
            p.name, p.name_key = clean, name_key(clean)
        if wanted("currency", currency):
            assert currency is not None
            _change_currency(s, p, normalise_currency(currency))
        if target is not UNSET and (keep is None or "target" in keep):
            p.target_minor = parse_money(target, p.currency) if isinstance(target, str) else target
        if stale_days is not None and wanted("stale_days", stale_days):
            if stale_days < 1:
                raise ValidationError("The stale-activity days must be at least 1.")
            p.stale_days = stale_days
        if lost_reasons is not None and wanted("lost_reasons", lost_reasons):
            p.lost_reasons = "\n".join(clean_text(r).strip() for r in lost_reasons if r.strip())
        if make_default is not None:
            if make_default:
                for other in s.exec(select(Pipeline).where(Pipeline.is_default == True)):  # noqa: E712
                    other.is_default = False
                    s.add(other)
            p.is_default = make_default
        s.add(p)
        return pipeline_info(p)

    return db.write(work)


PIPELINE_LABELS = {"name": "name", "currency": "currency", "target": "target", "stale_days": "stale days",
                   "lost_reasons": "lost reasons"}


def _pipeline_merge(p: Pipeline, base: dict[str, Any], **given: Any) -> set[str]:
    """Refuse a pipeline settings save whose changed fields someone else changed to something else meanwhile."""
    mine: dict[str, Any] = {}
    for key, value in given.items():
        if value is None or value is UNSET:
            continue
        if key == "name":
            value = clean_name(value, what="pipeline")
        elif key == "currency":
            value = normalise_currency(value)
        elif key == "target" and isinstance(value, str):
            value = parse_money(value, p.currency)
        elif key == "lost_reasons":
            value = [clean_text(r).strip() for r in value if r.strip()]
        mine[key] = value
    theirs = {"name": p.name, "currency": p.currency, "target": p.target_minor, "stale_days": p.stale_days,
              "lost_reasons": [r for r in p.lost_reasons.split("\n") if r]}
    return set(_merged(mine, base, {k: theirs[k] for k in mine}, PIPELINE_LABELS))


def _merged(mine: dict[str, Any], base: dict[str, Any], theirs: dict[str, Any], labels: dict[str, str]
            ) -> dict[str, Any]:
    merged = merge_fields(base, mine, theirs)
    if merged.conflicts:
        conflicts = [FieldConflict(k, mine[k], theirs[k]) for k in merged.conflicts]
        raise EditConflictError(conflict_sentence(conflicts, labels), conflicts)
    return merged.apply


def _change_currency(s: Session, p: Pipeline, new: str) -> None:
    """Change a pipeline's currency only while no deal counts in the old one: deals are never converted, and a
    pipeline whose deals are in another currency than its own would show sums that mean nothing. The target, a
    pipeline's own amount, keeps its value in major units (12,500 USD becomes 12,500 EUR)."""
    old = p.currency
    if new == old:
        return
    held = s.exec(select(func.count()).select_from(Deal).where(Deal.pipeline_id == p.id, Deal.currency == old)).one()
    if held:
        deals = "1 deal" if held == 1 else f"{held:,} deals"
        raise ValidationError(f"{p.name} holds {deals} in {old}, so its currency cannot change to {new} (deals are "
                              f"never converted); create a new pipeline in {new} instead.")
    if p.target_minor is not None:
        shift = exponent(new) - exponent(old)
        scaled, rest = (p.target_minor * 10**shift, 0) if shift >= 0 else divmod(p.target_minor, 10**-shift)
        if rest:
            raise ValidationError(f"The target {format_money(p.target_minor, old)} has more decimals than {new} "
                                  "allows; set the target again in the new currency.")
        p.target_minor = scaled
    p.currency = new


# -- stages -----------------------------------------------------------------------------------------


def list_stages(db: Database, pipeline: str | int | None, *, include_archived: bool = False) -> list[StageInfo]:
    with db.read() as s:
        p = resolve_pipeline(s, pipeline)
        if include_archived:
            rows = s.exec(select(Stage).where(Stage.pipeline_id == p.id).order_by(col(Stage.position)))
            return [stage_info(r) for r in rows]
        return [stage_info(r) for r in active_stages(s, p)]


def stage_rows(db: Database, pipeline: str | int | None) -> tuple[PipelineInfo, list[StageRow]]:
    with db.read() as s:
        p = resolve_pipeline(s, pipeline)
        assert p.id is not None
        counts = stage_totals(s, p.id)
        return pipeline_info(p), [
            StageRow(stage_info(st), *counts.get(st.id or 0, (0, 0))) for st in active_stages(s, p)
        ]


def add_stage(
    db: Database, pipeline: str | int | None, name: str, *, position: int | None = None, **settings: Any
) -> StageInfo:
    clean = clean_name(name, what="stage")

    def work(s: Session) -> StageInfo:
        p = resolve_pipeline(s, pipeline)
        existing = s.exec(select(Stage).where(Stage.pipeline_id == p.id, Stage.name_key == name_key(clean))).first()
        if existing is not None and not existing.archived:
            raise DuplicateError(f"Pipeline {p.name} already has a stage named '{existing.name}'.")
        stages = active_stages(s, p)
        if existing is not None:  # bring an archived stage back
            existing.archived = False
            stage = existing
        else:
            stage = Stage(pipeline_id=p.id, name=clean, name_key=name_key(clean))  # type: ignore[arg-type]
        pos = len(stages) if position is None else max(0, min(position, len(stages)))
        ordered = [st for st in stages if st is not stage]
        ordered.insert(pos, stage)
        for i, st in enumerate(ordered):
            st.position = i
            s.add(st)
        s.flush()
        _apply_stage_settings(stage, settings)
        s.add(stage)
        return stage_info(stage)

    return db.write(work)


def _apply_stage_settings(stage: Stage, settings: dict[str, Any]) -> None:
    allowed = {"wip_max", "wip_min", "rep_wip_max", "expected_days", "probability", "exit_criteria"}
    unknown = set(settings) - allowed
    if unknown:
        raise ValidationError(f"Unknown stage setting: {', '.join(sorted(unknown))}.")
    values = {k: v for k, v in settings.items() if v is not UNSET}
    new_max = values.get("wip_max", stage.wip_max)
    new_min = values.get("wip_min", stage.wip_min)
    new_rep = values.get("rep_wip_max", stage.rep_wip_max)
    wip.validate_limits(new_max, new_min, new_rep, stage=stage.name)
    if "expected_days" in values and values["expected_days"] is not None and values["expected_days"] < 1:
        raise ValidationError(f"The expected days of {stage.name} must be at least 1.")
    if "probability" in values:
        if values["probability"] is None:
            values["probability"] = 0
        wip.validate_probability(values["probability"], stage=stage.name)
    if "exit_criteria" in values:
        values["exit_criteria"] = clean_text(values["exit_criteria"] or "", multiline=True).strip()
    for key, value in values.items():
        setattr(stage, key, value)


STAGE_LABELS = {"wip_max": "WIP max", "wip_min": "WIP min", "rep_wip_max": "per-rep WIP max",
                "expected_days": "expected days", "probability": "probability", "exit_criteria": "exit criteria"}


def set_stage(db: Database, pipeline: str | int | None, stage: str | int, *, base: dict[str, Any] | None = None,
              **settings: Any) -> StageInfo:
    """Change a stage's limits and settings; pass None to clear a limit, leave a key out to keep it.

    With `base` (the settings the screen loaded, by the same keys) only what this user changed is saved, and a
    setting someone else changed meanwhile to another value is an EditConflictError (domain.merge)."""

    def work(s: Session) -> StageInfo:
        p = resolve_pipeline(s, pipeline)
        st = resolve_stage(s, p, stage)
        chosen = settings
        if base is not None:
            mine = {k: v for k, v in settings.items() if v is not UNSET}
            if isinstance(mine.get("exit_criteria"), str):
                mine["exit_criteria"] = clean_text(mine["exit_criteria"], multiline=True).strip()
            chosen = _merged(mine, base, {k: getattr(st, k) for k in mine}, STAGE_LABELS)
        _apply_stage_settings(st, chosen)
        s.add(st)
        return stage_info(st)

    return db.write(work)


def rename_stage(db: Database, pipeline: str | int | None, stage: str | int, new_name: str) -> StageInfo:
    clean = clean_name(new_name, what="stage")

    def work(s: Session) -> StageInfo:
        p = resolve_pipeline(s, pipeline)
        st = resolve_stage(s, p, stage)
        other = s.exec(select(Stage).where(Stage.pipeline_id == p.id, Stage.name_key == name_key(clean))).first()
        if other is not None and other.id != st.id:
            raise DuplicateError(f"Pipeline {p.name} already has a stage named '{other.name}'.")
        st.name, st.name_key = clean, name_key(clean)
        s.add(st)
        return stage_info(st)

    return db.write(work)


def move_stage(db: Database, pipeline: str | int | None, stage: str | int, offset: int) -> list[StageInfo]:
    """Reorder a stage left (negative offset) or right."""

    def work(s: Session) -> list[StageInfo]:
        p = resolve_pipeline(s, pipeline)
        st = resolve_stage(s, p, stage)
        stages = active_stages(s, p)
        idx = next(i for i, x in enumerate(stages) if x.id == st.id)
        new = max(0, min(len(stages) - 1, idx + offset))
        stages.insert(new, stages.pop(idx))
        for i, x in enumerate(stages):
            x.position = i
            s.add(x)
        return [stage_info(x) for x in stages]

    return db.write(work)


def archive_stage(db: Database, pipeline: str | int | None, stage: str | int) -> StageInfo:
    def work(s: Session) -> StageInfo:
        p = resolve_pipeline(s, pipeline)
        st = resolve_stage(s, p, stage)
        n = s.exec(
            select(func.count()).select_from(Deal).where(Deal.stage_id == st.id, Deal.status == "open")
        ).one()
        if n:
            held = "1 open deal; move it" if n == 1 else f"{n} open deals; move them"
            raise ValidationError(f"{st.name} still holds {held} before archiving the stage.")
        if len(active_stages(s, p)) <= 1:
            raise ValidationError(f"{st.name} is the last stage of {p.name}; a pipeline needs at least one.")
        st.archived = True
        s.add(st)
        return stage_info(st)

    return db.write(work)


# -- deal types -------------------------------------------------------------------------------------


def list_types(db: Database, pipeline: str | int | None) -> list[DealTypeInfo]:
    with db.read() as s:
        p = resolve_pipeline(s, pipeline)
        rows = s.exec(
            select(DealType).where(DealType.pipeline_id == p.id).order_by(col(DealType.position), col(DealType.id))
        )
        return [type_info(t) for t in rows]


def add_type(db: Database, pipeline: str | int | None, name: str) -> DealTypeInfo:
    clean = clean_name(name, what="deal type")

    def work(s: Session) -> DealTypeInfo:
        p = resolve_pipeline(s, pipeline)
        taken = s.exec(
            select(DealType).where(DealType.pipeline_id == p.id, DealType.name_key == name_key(clean))
        ).first()
        if taken is not None:
            raise DuplicateError(f"Pipeline {p.name} already has a deal type named '{taken.name}'.")
        n = s.exec(select(func.count()).select_from(DealType).where(DealType.pipeline_id == p.id)).one()
        t = DealType(pipeline_id=p.id, name=clean, name_key=name_key(clean), position=n)  # type: ignore[arg-type]
        s.add(t)
        s.flush()
        return type_info(t)

    return db.write(work)


def rename_type(db: Database, pipeline: str | int | None, dtype: str | int, new_name: str) -> DealTypeInfo:
    clean = clean_name(new_name, what="deal type")

    def work(s: Session) -> DealTypeInfo:
        p = resolve_pipeline(s, pipeline)
        t = resolve_type(s, p, dtype)
        other = s.exec(
            select(DealType).where(DealType.pipeline_id == p.id, DealType.name_key == name_key(clean))
        ).first()
        if other is not None and other.id != t.id:
            raise DuplicateError(f"Pipeline {p.name} already has a deal type named '{other.name}'.")
        t.name, t.name_key = clean, name_key(clean)
        s.add(t)
        return type_info(t)

    return db.write(work)


def remove_type(db: Database, pipeline: str | int | None, dtype: str | int) -> None:
    def work(s: Session) -> None:
        p = resolve_pipeline(s, pipeline)
        t = resolve_type(s, p, dtype)
        n = s.exec(select(func.count()).select_from(Deal).where(Deal.type_id == t.id)).one()
        if n:
            have = "1 deal has" if n == 1 else f"{n} deals have"
            raise ValidationError(f"{have} the type {t.name}; change their type before removing it.")
        s.delete(t)

    db.write(work)


__all__ = [
    "STARTER_STAGES", "UNSET", "PipelineTotals", "StageRow", "add_stage", "add_type", "archive_stage",
    "create_pipeline", "get_pipeline", "list_pipelines", "list_stages", "list_types", "move_stage",
    "pipeline_totals", "remove_type", "rename_stage", "rename_type", "set_stage", "stage_rows", "update_pipeline",
]
