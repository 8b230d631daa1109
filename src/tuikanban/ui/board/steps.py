"""The cards' next steps (`services.tasks.next_steps`), read after the board like the aging: never before the first
paint, one query for every card on the board, again after the board is read again (a live update) and for a deal
after one of our writes touched it.

The read runs on the app's `reads` lane; its message, `StepsRead`, is handled by the board screen, which hands the
steps down to the view (`BoardView.steps`).
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from textual.message import Message

from tuikanban.ui.jobs import lanes_of

if TYPE_CHECKING:
    from tuikanban.domain.tasks import NextStep
    from tuikanban.ui.board.base import BoardBase
    from tuikanban.ui.board.gateway import BoardGateway


class StepsRead(Message):
    """The next steps of `deal_ids` (every card when `whole`), read for pipeline `pipeline_id`."""

    def __init__(self, pipeline_id: int, steps: dict[int, NextStep], whole: bool) -> None:
        super().__init__()
        self.pipeline_id = pipeline_id
        self.steps = steps
        self.whole = whole


def steps_job(gateway: BoardGateway, pipeline_id: int, deal_ids: tuple[int, ...], whole: bool) -> StepsRead:
    from tuikanban.services.tasks import next_steps

    return StepsRead(pipeline_id, next_steps(gateway.open(), deal_ids), whole)


class StepSync:
    """Reads the cards' next steps for the board screen and hands them to its view."""

    def __init__(self, screen: BoardBase) -> None:
        self.screen = screen

    def read(self, deal_ids: tuple[int, ...] | None = None) -> None:
        """Read the next steps of `deal_ids`, or of every card of the board shown (None)."""
        screen = self.screen
        pid, model = screen.pipeline_id, screen.model
        if pid is None or model is None or screen.session.db is None:
            return
        ids = tuple(model.by_id) if deal_ids is None else deal_ids
        job = partial(steps_job, screen.gateway, pid, ids, deal_ids is None)
        lanes_of(screen).reads.submit(screen, job, name="steps")

    def received(self, message: StepsRead) -> None:
        screen = self.screen
        if screen.pipeline_id != message.pipeline_id:
            return  # another pipeline is shown now
        view = screen.view
        if message.whole:
            view.steps = message.steps
        else:
            view.steps.update(message.steps)
        view.refresh()
