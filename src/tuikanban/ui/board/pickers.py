"""Jump to a deal (`g`, `ctrl+f`: fuzzy search over the open and closed deals of every pipeline) and "move to
stage..." (`>`: the stages of the pipeline, type to filter; with marks, every marked deal goes there)."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from textual import on
from textual.message import Message

from tuikanban.domain.models import DealView
from tuikanban.domain.text import display
from tuikanban.ui.board.gateway import BoardGateway
from tuikanban.ui.board.marks import BoardMarks, BulkAction

if TYPE_CHECKING:  # (the dialogs are imported when a picker opens: the first paint imports none of them)
    from tuikanban.ui.dialogs.picker import Candidates


class DealFound(Message):
    def __init__(self, deal: DealView) -> None:
        super().__init__()
        self.deal = deal


def deals_job(gateway: BoardGateway) -> Candidates:
    from tuikanban.domain.fuzzy import Candidate
    from tuikanban.services.search import deal_refs
    from tuikanban.ui.dialogs.picker import Candidates

    items = []
    for ref in deal_refs(gateway.open()):
        parts = [display(ref.title), display(ref.company), f"{display(ref.pipeline)} / {display(ref.stage)}"
                 + ("" if ref.status == "open" else f" ({ref.status})")]
        items.append(Candidate(ref.id, f"#{ref.id}  " + " · ".join(p for p in parts if p),
                               f"{ref.title} {ref.company} {ref.id}"))
    return Candidates(items)


def find_job(gateway: BoardGateway, deal_id: int) -> DealFound:
    from tuikanban.services.deals import get_deal

    return DealFound(get_deal(gateway.open(), deal_id))


class BoardPickers(BoardMarks):
    """The board's pickers (BoardScreen's base)."""

    def action_jump(self) -> None:
        from tuikanban.ui.dialogs.picker import PickerScreen

        def picked(deal_id: int | None) -> None:
            if deal_id is not None:
                self._write(partial(find_job, self.gateway, deal_id), "find")

        def push() -> None:
            self.app.push_screen(PickerScreen(
                "Jump to a deal", "Type part of a title, a company or an id (every pipeline, open and closed deals).",
                load=partial(deals_job, self.gateway), placeholder="title, company or #id"), picked)

        self._when_open(push)

    @on(DealFound)
    def _deal_found(self, message: DealFound) -> None:
        deal = message.deal
        if deal.status != "open":
            from tuikanban.ui.screens.deal_detail import DealDetailScreen

            self._open(lambda db, _m: DealDetailScreen(db, deal.id, self.session.user))
        elif deal.pipeline_id != self.pipeline_id:
            self.reload(pipeline=deal.pipeline_id, focus_deal=deal.id)
        elif not self.focus_or_read(deal.id):
            self._say(f"'{display(deal.title)}' is hidden by the filter or snoozed; esc clears the filter.",
                      severity="warning", timeout=5)

    def action_move_to(self) -> None:
        if self.model is None or self._refuse_readonly():
            return
        ids = self._marked_ids()
        card = None if ids else self._aimed()
        if not ids and card is None:
            return
        from tuikanban.domain.fuzzy import Candidate
        from tuikanban.ui.dialogs.picker import PickerScreen

        model = self.model
        here = None if ids else card.stage_id if card is not None else None
        items = [Candidate(s.id, f"{display(s.name)}  ({model.count(s.id)}"
                                 + (f"/{s.wip_max}" if s.wip_max is not None else "") + " open)", s.name)
                 for s in model.stages if s.id != here]
        what = f"the {len(ids)} marked deals" if ids else f"'{display(card.title) if card else ''}'"

        moving = tuple(ids) if ids else (card.id,) if card is not None else ()
        seen = self._seen_stages(moving)  # (as shown when the key was pressed)

        def picked(stage_id: int | None) -> None:
            if stage_id is not None:  # (one deal too: a WIP refusal then offers the same force dialog)
                self._bulk(BulkAction("move", moving, stage_id=stage_id, seen=seen))

        self.app.push_screen(PickerScreen("Move to stage", f"Where should {what} go?", items), picked)
