"""The pipeline settings screen's data, the typed results of its jobs, its lists and its key hints."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual.binding import Binding

from tuikanban.domain.errors import TuikanbanError
from tuikanban.domain.models import DealTypeInfo, PipelineInfo
from tuikanban.ui.dialogs.base import JobResult, Refusal
from tuikanban.ui.dialogs.fields import KeyList, KeyTable, key_hints

if TYPE_CHECKING:
    from tuikanban.services.pipelines import StageRow


@dataclass(frozen=True, slots=True)
class Settings:
    """The pipeline, its stages (with their open deals) and its deal types, as read."""

    pipeline: PipelineInfo
    stages: list[StageRow]
    types: list[DealTypeInfo]



class SettingsRead(JobResult):
    """The pipeline, its stages and its deal types, read again; where to put the cursors, whether to refill the
    pipeline fields."""

    def __init__(self, data: Settings, *, stage_id: int | None, type_id: int | None, fields: bool) -> None:
        super().__init__()
        self.data = data
        self.stage_id = stage_id
        self.type_id = type_id
        self.fields = fields


class PipelineSaved(JobResult):
    def __init__(self, pipeline: PipelineInfo) -> None:
        super().__init__()
        self.pipeline = pipeline


class PipelineSaveRefused(Refusal):
    """The services refused the pipeline fields (a name another pipeline has, lost reasons out of bounds)."""


class SettingsChanged(JobResult):
    """A stage was moved or archived, or a deal type removed: `sentence` says so; the cursors go to the ids."""

    def __init__(self, sentence: str, *, stage_id: int | None = None, type_id: int | None = None) -> None:
        super().__init__()
        self.sentence = sentence
        self.stage_id = stage_id
        self.type_id = type_id


class ChangeRefused(Refusal):
    """The services refused a change of the stages or deal types; shown in the FieldError `error_at`."""

    def __init__(self, error: TuikanbanError, *, error_at: str) -> None:
        super().__init__(error)
        self.error_at = error_at


class StageTable(KeyTable):
    BINDINGS = [
        Binding("shift+up,K", "screen.move_stage(-1)", "Move up"),
        Binding("shift+down,J", "screen.move_stage(1)", "Move down"),
    ]


class TypeList(KeyList):
    """The deal types (a, r, d are the screen's keys)."""


PIPE_FIELDS = (
    ("name", "Name", "pipeline name"),
    ("currency", "Currency", "ISO code"),
    ("target", "Target", "revenue target, empty for none"),
    ("stale_days", "Stale days", "days without activity before a deal is flagged"),
    ("lost_reasons", "Lost reasons", "comma-separated"),
)

HINTS = {
    "pipe": key_hints(("enter", "next field, saves on the last"), ("ctrl+s", "save pipeline"),
                      ("tab", "next panel"), ("esc", "close")),
    "stages": key_hints(("enter", "edit"), ("a", "add"), ("r", "rename"), ("w", "WIP max"),
                        ("K J", "move"), ("d", "archive"), ("tab", "next panel"), ("esc", "close")),
    "types": key_hints(("a", "add"), ("r", "rename"), ("d", "remove"), ("tab", "next panel"), ("esc", "close")),
}


__all__ = [
    "HINTS", "PIPE_FIELDS", "ChangeRefused", "PipelineSaveRefused", "PipelineSaved", "Settings", "SettingsChanged",
    "SettingsRead", "StageTable", "TypeList",
]
