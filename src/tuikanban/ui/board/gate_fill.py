"""A move refused by a stage gate, answered from the gate dialog: save the missing fields (and the next step's
task), then move; or move with the reason as a forced override (`gate_override`, logged by the service). One job on
the writes lane, so it stays in order with the moves around it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tuikanban.domain.errors import TuikanbanError
from tuikanban.ui.board.messages import DealMoved, MoveRefused

if TYPE_CHECKING:
    from tuikanban.domain.models import StageInfo
    from tuikanban.store.fastread import BoardCard
    from tuikanban.ui.board.gateway import BoardGateway
    from tuikanban.ui.dialogs.gate import GateChoice


def fill_and_move_job(gateway: BoardGateway, card: BoardCard, stage: StageInfo, choice: GateChoice,
                      from_stage_id: int, target_col: int | None) -> DealMoved | MoveRefused:
    from tuikanban.services.deals import edit_deal
    from tuikanban.services.tasks import add_task

    try:
        if choice.fields:
            edit_deal(gateway.open(), card.id, dict(choice.fields), user=gateway.user)
        if choice.task is not None:
            add_task(gateway.open(), card.id, choice.task[0], choice.task[1], user=gateway.user)
    except TuikanbanError as exc:  # a value or date that does not parse: said, and the deal stays where it was
        return MoveRefused(card, stage, target_col, from_stage_id, exc)
    return gateway.move_job(card, stage, choice.reason, from_stage_id, target_col)


__all__ = ["fill_and_move_job"]
