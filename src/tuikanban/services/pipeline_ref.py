"""A pipeline by id or name on a `store.uow.Unit`, in a module of its own so that the commands that only read
(`changes`, `digest`) find their pipeline without importing the deal actions' rules (gates, WIP limits, targets,
fields): about a tenth of the review command's start-up (docs/PERFORMANCE.md, The review's speed).
`services.deal_actions` re-exports it."""

from __future__ import annotations

from tuikanban.domain.errors import NotFoundError
from tuikanban.domain.models import PipelineInfo
from tuikanban.store import fastread, reads
from tuikanban.store.uow import Unit


def resolve_pipeline(u: Unit, ref: str | int | None) -> PipelineInfo:
    """A pipeline by id or case-insensitive name; None means the only one, or the default one (the refusals of
    `store.reads.resolve_pipeline`)."""
    if isinstance(ref, int):
        row = u.one(f"{fastread._PIPELINE_SQL} WHERE id = ?", (ref,))
        if row is None:
            raise NotFoundError(f"There is no pipeline with id {ref}.")
        return fastread._pipeline(row)
    return reads.resolve_pipeline(u, ref)


__all__ = ["resolve_pipeline"]
