"""The exit-criteria checklist of a deal's current stage, in the deal detail: one row per item, ticked or not;
`space` or `x` ticks (or unticks) the item under the cursor. It reads and writes through the app's lanes itself
(`ChecklistRead`, on the writes lane so a tick and the read after it stay in order) and is hidden when the stage
has no checklist."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from rich.text import Text
from textual import on
from textual.binding import Binding
from textual.content import Content
from textual.message import Message
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from tuikanban.domain.text import display
from tuikanban.ui.jobs import EARLY, JobFailed, lanes_of
from tuikanban.ui.spares import waiting_for_key

if TYPE_CHECKING:
    from tuikanban.store.engine import Database

TICKED, OPEN = "☑", "☐"


class ChecklistRead(Message):
    def __init__(self, stage: str, items: tuple[tuple[str, bool], ...], ticked: str | None,
                 refused: str | None = None) -> None:
        super().__init__()
        self.stage = stage
        self.items = items
        self.ticked = ticked  # the item just ticked or unticked, if any
        self.refused = refused  # why the tick was not saved (the deal left the stage shown): said, then shown


def read_checklist(db: Database, deal_id: int, tick: tuple[str, bool, str, str] | None = None) -> ChecklistRead:
    """With `tick` = (item, undo, user, stage shown), tick or untick it first, unless another rep moved the deal
    out of that stage meanwhile; then the checklist as it is (read without the ORM: services.screen_reads)."""
    from tuikanban.domain.errors import StaleEditError
    from tuikanban.services.screen_reads import deal_gate

    ticked, refused = None, None
    if tick is not None:
        from tuikanban.services.gates import tick as tick_item

        try:
            tick_item(db, deal_id, tick[0], user=tick[2], undo=tick[1], seen_stage=tick[3])
            ticked = tick[0]
        except StaleEditError as exc:
            refused = str(exc)
    gate = db.read_plain(lambda u: deal_gate(u, deal_id))
    return ChecklistRead(gate.stage, gate.checklist, ticked, refused)


class Checklist(OptionList):
    BINDINGS = [Binding("space,x", "tick", "tick / untick")]

    DEFAULT_CSS = "Checklist { height: auto; max-height: 8; border: none; padding: 0; }"

    def __init__(self, db: Database, deal_id: int, user: str, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.db = db
        self.deal_id = deal_id
        self.user = user
        self.items: tuple[tuple[str, bool], ...] = ()
        self.stage = ""  # whose checklist is shown
        self.changed = False  # a tick was saved (the detail reports a change)

    def on_mount(self) -> None:
        self.display = False
        if not waiting_for_key(self.screen):  # (a detail built before its key reads it when taken)
            self.reload()

    def reload(self) -> None:
        lanes_of(self).writes.submit(self, partial(read_checklist, self.db, self.deal_id), name="checklist",
                                     kind=EARLY)  # (a read without the ORM: ahead of the warm-up after start)

    def action_tick(self) -> None:
        if self.highlighted is None or not self.items:
            return
        item, done = self.items[self.highlighted]
        job = partial(read_checklist, self.db, self.deal_id, (item, done, self.user, self.stage))
        lanes_of(self).writes.submit(self, job, name="tick")

    @on(ChecklistRead)
    def _read(self, message: ChecklistRead) -> None:
        self.changed = self.changed or message.ticked is not None
        if message.refused is not None:
            self.notify(message.refused, severity="warning", timeout=6, markup=False)
        self.items, self.stage = message.items, message.stage
        keep = self.highlighted
        self.clear_options()
        for item, done in message.items:
            row = Text(f"{TICKED if done else OPEN} ", style="bold green" if done else "")
            row.append(display(item))
            self.add_option(Option(row))
        self.display = bool(message.items)
        self.border_title = Content(f"Checklist of {display(message.stage)}")  # a stage name: never markup
        if message.items:
            self.highlighted = keep if keep is not None and keep < len(message.items) else 0

    @on(JobFailed)
    def _failed(self, message: JobFailed) -> None:
        message.stop()
        self.notify(f"The checklist could not be saved: {message.error}", severity="error")


__all__ = ["Checklist", "ChecklistRead", "read_checklist"]
