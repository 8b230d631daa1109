"""The typed results of the board's database jobs (`gateway.py` builds them on a lane's thread; `screen.py` handles
them with `@on(...)` on the UI thread), and the plain data they carry."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual.message import Message

from tuikanban.domain.aging import AgingSnapshot
from tuikanban.domain.errors import TuikanbanError
from tuikanban.domain.models import MoveResult, StageInfo
from tuikanban.store.fastread import BoardCard, BoardRead
from tuikanban.ui.board.model import BoardModel
from tuikanban.ui.board.view import CardAging

if TYPE_CHECKING:
    from tuikanban.store.engine import Database


@dataclass(frozen=True, slots=True)
class Loaded:
    """A read of the whole board: what was read, and the model built from it (None: no pipeline at all)."""

    read: BoardRead
    model: BoardModel | None


@dataclass(frozen=True, slots=True)
class Changed:
    """The result of a write: the deal as it is now (None if gone), and whether others changed things too."""

    deal: BoardCard | None
    foreign: bool
    move: MoveResult | None = None


@dataclass(frozen=True, slots=True)
class BoardAging:
    """The aging of a pipeline's open deals (services.aging), or of only `deal_ids` after a write: what the cards
    show, and the full items when asked (for the aging panel)."""

    cards: dict[int, CardAging]
    snapshot: AgingSnapshot | None
    deal_ids: tuple[int, ...] | None = None


# -- reads ------------------------------------------------------------------------------------------------------


@dataclass
class BoardLoaded(Message):
    """The board was read (`first`: the first read of this screen); focus `focus_deal` if given, else keep the
    focus the board has when this arrives."""

    loaded: Loaded
    focus_deal: int | None = None
    first: bool = False


@dataclass
class LoadFailed(Message):
    error: Exception


@dataclass
class DbOpened(Message):
    """The database is open for writing (the ORM is imported now)."""

    db: Database


@dataclass
class OpenFailed(Message):
    error: Exception


@dataclass
class ChangeChecked(Message):
    """Whether something the board shows was changed by someone else since it was read."""

    changed: bool


@dataclass
class AgingRead(Message):
    """The aging of `pipeline_id` (all of it, or the deals of `result.deal_ids`); `write_seq` is the number of our
    writes when a full read started (None for a written deal's own read)."""

    pipeline_id: int
    write_seq: int | None
    result: BoardAging


@dataclass
class AgingFailed(Message):
    error: Exception


# -- writes -----------------------------------------------------------------------------------------------------


@dataclass
class DealMoved(Message):
    deal_id: int
    target_col: int | None
    changed: Changed


@dataclass
class MoveRefused(Message):
    """A move the rules refused (a WIP limit: the board offers to force it) or that came too late (the deal
    changed meanwhile)."""

    card: BoardCard
    stage: StageInfo
    target_col: int | None
    from_stage_id: int
    error: TuikanbanError


@dataclass
class DealReordered(Message):
    """A reorder within a column: `cards`, `count` and `value` are the stage's, read again (if `moved`)."""

    deal_id: int
    stage_id: int
    moved: bool
    cards: list[BoardCard]
    count: int
    value: int
    foreign: bool


@dataclass
class DealChanged(Message):
    """A deal was written (won, lost) or re-read after a dialog wrote it; `note` is said once it is shown."""

    changed: Changed
    note: str = ""


@dataclass
class UndoDone(Message):
    text: str
    deal_id: int | None
    loaded: Loaded
