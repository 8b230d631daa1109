"""The typed results of the board's database jobs (`gateway.py` builds them on a lane's thread; the screen handles
them with `@on(...)` on the UI thread), and the plain data they carry. (The messages are plain classes, not
dataclasses: they are imported before the first paint, and generating a dataclass costs about a millisecond.)"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from textual.message import Message

from tuikanban.domain.errors import TuikanbanError, WipLimitError
from tuikanban.domain.models import StageInfo
from tuikanban.store.fastread import BoardCard, BoardRead
from tuikanban.ui.board.model import BoardModel
from tuikanban.ui.board.view import CardAging

if TYPE_CHECKING:
    from tuikanban.domain.aging import AgingSnapshot
    from tuikanban.domain.errors import GateError
    from tuikanban.domain.records import MoveResult
    from tuikanban.store.engine import Database
    from tuikanban.ui.dialogs.gate import GateChoice


class Loaded(NamedTuple):
    """A read of the whole board: what was read, and the model built from it (None: no pipeline at all)."""

    read: BoardRead
    model: BoardModel | None


class Changed(NamedTuple):
    """The result of a write: the deal as it is now (None if gone), and whether others changed things too."""

    deal: BoardCard | None
    foreign: bool
    move: MoveResult | None = None


class BoardAging(NamedTuple):
    """The aging of a pipeline's open deals (services.aging), or of only `deal_ids` after a write: what the cards
    show, and the full items when asked (for the aging panel)."""

    cards: dict[int, CardAging]
    snapshot: AgingSnapshot | None
    deal_ids: tuple[int, ...] | None = None


# -- reads ------------------------------------------------------------------------------------------------------


class BoardLoaded(Message):
    """The board was read (`first`: the first read of this screen); focus `focus_deal` if given, else keep the
    focus the board has when this arrives."""

    def __init__(self, loaded: Loaded, focus_deal: int | None = None, first: bool = False) -> None:
        super().__init__()
        self.loaded = loaded
        self.focus_deal = focus_deal
        self.first = first
        self.outside = False  # read because of another process's change (`BoardBase.reload(outside=True)`)


class LoadFailed(Message):
    def __init__(self, error: Exception) -> None:
        super().__init__()
        self.error = error


class DbOpened(Message):
    """The database is open for writing (the ORM is imported now)."""

    def __init__(self, db: Database) -> None:
        super().__init__()
        self.db = db


class ScreensImported(Message):
    """`warm.warm_job` is done: the board adds the screens' styles (`warm.add_screen_styles`, on the UI thread)."""


class OpenFailed(Message):
    def __init__(self, error: Exception) -> None:
        super().__init__()
        self.error = error


class ChangeChecked(Message):
    """Whether something the board shows was changed by someone else since it was read."""

    def __init__(self, changed: bool) -> None:
        super().__init__()
        self.changed = changed


class AgingRead(Message):
    """The aging of `pipeline_id` (all of it, or the deals of `result.deal_ids`); `write_seq` is the number of our
    writes when a full read started (None for a written deal's own read)."""

    def __init__(self, pipeline_id: int, write_seq: int | None, result: BoardAging) -> None:
        super().__init__()
        self.pipeline_id = pipeline_id
        self.write_seq = write_seq
        self.result = result


class AgingFailed(Message):
    def __init__(self, error: Exception) -> None:
        super().__init__()
        self.error = error


# -- writes -----------------------------------------------------------------------------------------------------


class DealMoved(Message):
    def __init__(self, deal_id: int, target_col: int | None, changed: Changed) -> None:
        super().__init__()
        self.deal_id = deal_id
        self.target_col = target_col
        self.changed = changed


class MoveRefused(Message):
    """A move the rules refused (a WIP limit: the board offers to force it) or that came too late (the deal
    changed meanwhile). After the gate dialog, `typed` is what the user typed there and `gate` the refusal the
    dialog answered, so that the dialog can come back with it (`ui/board/gate_fill.py`)."""

    def __init__(self, card: BoardCard, stage: StageInfo, target_col: int | None, from_stage_id: int,
                 error: TuikanbanError, *, typed: GateChoice | None = None, gate: GateError | None = None,
                 saved: bool = False) -> None:
        super().__init__()
        self.card = card
        self.stage = stage
        self.target_col = target_col
        self.from_stage_id = from_stage_id
        self.error = error
        self.typed = typed
        self.gate = gate
        self.saved = saved  # the filled-in fields were saved before the move was refused


class DealReordered(Message):
    """A reorder within a column: `cards`, `count` and `value` are the stage's, read again (if `moved`)."""

    def __init__(self, deal_id: int, stage_id: int, moved: bool, cards: list[BoardCard], count: int, value: int,
                 foreign: bool) -> None:
        super().__init__()
        self.deal_id = deal_id
        self.stage_id = stage_id
        self.moved = moved
        self.cards = cards
        self.count = count
        self.value = value
        self.foreign = foreign


class DealChanged(Message):
    """A deal was written (won, lost) or re-read after a dialog wrote it; `note` is said once it is shown."""

    def __init__(self, changed: Changed, note: str = "") -> None:
        super().__init__()
        self.changed = changed
        self.note = note


class UndoDone(Message):
    def __init__(self, text: str, deal_id: int | None, loaded: Loaded) -> None:
        super().__init__()
        self.text = text
        self.deal_id = deal_id
        self.loaded = loaded


class UndoRefused(Message):
    """An undo (or `redo`) refused at a WIP limit: the board offers to force it with a reason."""

    def __init__(self, error: WipLimitError, redo: bool) -> None:
        super().__init__()
        self.error = error
        self.redo = redo
