"""The deal form's data, what it validates to, the fields it shows, and the typed results of its jobs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from tuikanban.domain.errors import StaleMoveError, TuikanbanError, WipLimitError
from tuikanban.domain.models import DealTypeInfo, DealView, PipelineInfo, StageInfo
from tuikanban.ui.dialogs.base import JobResult, Refusal
from tuikanban.ui.lazy import lazy_module

if TYPE_CHECKING:
    from tuikanban.services import deals as deal_service
    from tuikanban.store.engine import Database
else:
    deal_service = lazy_module("tuikanban.services.deals")

MAX_OWNER = 200


@dataclass(frozen=True, slots=True)
class FormData:
    pipeline: PipelineInfo
    stages: list[StageInfo]
    types: list[DealTypeInfo]
    deal: DealView | None
    owners: list[str]  # the known reps, offered as the owner is typed


@dataclass(frozen=True, slots=True)
class Values:
    """A valid form, ready to save."""

    title: str
    value_minor: int | None
    close: date | None
    company: str
    contact: str
    owner: str
    type_id: int | None
    stage_id: int
    notes: str


FIELDS = ("title", "value", "close", "company", "contact", "owner", "type", "stage", "notes")
# each field of the form, and the DealView attributes it shows
SHOWS = {"title": ("title",), "value": ("value_minor",), "close": ("expected_close",), "company": ("company",),
         "contact": ("contact",), "owner": ("owner",), "type": ("type_id", "type_name"), "notes": ("notes",),
         "stage": ("stage_id", "stage_name")}


def edit_changes(values: Values, deal: DealView) -> dict[str, Any]:
    """The fields the form changes, as `edit_deal` takes them ("" clears a date or a type)."""
    changes: dict[str, Any] = {}
    if values.title != deal.title:
        changes["title"] = values.title
    if values.value_minor != deal.value_minor:
        changes["value"] = values.value_minor
    if values.close != deal.expected_close:
        changes["close"] = values.close if values.close is not None else ""
    for name in ("company", "contact", "owner"):
        if getattr(values, name) != getattr(deal, name):
            changes[name] = getattr(values, name)
    if values.type_id != deal.type_id:
        changes["type"] = values.type_id if values.type_id is not None else ""
    if values.notes != deal.notes:
        changes["notes"] = values.notes
    return changes


class FormRead(JobResult):
    def __init__(self, data: FormData) -> None:
        super().__init__()
        self.data = data


class FormUnreadable(Refusal):
    """The form could not be read (the deal or the pipeline is gone)."""


class DealSaved(JobResult):
    """The deal was created, edited or moved: the version now stored. `note`: who closed or deleted it meanwhile."""

    def __init__(self, deal: DealView, note: str = "") -> None:
        super().__init__()
        self.deal = deal
        self.note = note


class NewDealRefused(Refusal):
    """A new deal was refused; `values` are kept to try again past a WIP limit."""

    def __init__(self, error: TuikanbanError, *, values: Values) -> None:
        super().__init__(error)
        self.values = values


class MoveRefused(Refusal):
    """The edit was saved (`deal`) but the move to `stage_id` was refused at the WIP limit."""

    error: WipLimitError

    def __init__(self, error: WipLimitError, deal: DealView, stage_id: int) -> None:
        super().__init__(error)
        self.deal = deal
        self.stage_id = stage_id


class EditRefused(Refusal):
    """An edit or a forced move was refused (someone else changed the same field, a per-rep limit). `stored`: the
    deal as stored now, after a conflict (None when it could not be read)."""

    def __init__(self, error: TuikanbanError, stored: DealView | None = None) -> None:
        super().__init__(error)
        self.stored = stored


class MovedMeanwhile(Refusal):
    """The edit was saved (`deal`, as stored now) but someone else moved the deal since the form read it."""

    def __init__(self, error: StaleMoveError, deal: DealView) -> None:
        super().__init__(error)
        self.deal = deal


def stored_now(db: Database, deal_id: int) -> DealView | None:
    """The deal as stored now (None when it cannot be read: deleted, the database away for a moment)."""
    try:
        return deal_service.get_deal(db, deal_id)
    except TuikanbanError:
        return None
