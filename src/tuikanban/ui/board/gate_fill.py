"""A move refused by a stage gate, answered from the gate dialog: save the missing fields (and the next step's
task), then move; or move with the reason as a forced override (`gate_override`, logged by the service). One job on
the writes lane, so it stays in order with the moves around it.

When the service refuses after the dialog, nothing typed is lost and the user reads one sentence:
- a value or date that does not parse (checked before anything is saved): the dialog comes back with what was
  typed and the sentence under it;
- the gate refuses again (another rep cleared a field meanwhile, or the stage now requires more): the dialog comes
  back for the fields missing now, with what was typed filled in;
- a WIP limit: the fields are saved, and the board offers to force the move past the limit as after any move;
- another rep filled in a field the dialog fills meanwhile: nothing is saved over it and the deal stays; one
  sentence says so (moving it again checks the gate against what is stored now);
- anything else (another rep moved or closed the deal meanwhile): the sentence, saying that the fields filled in
  were saved if they were.
`MoveRefused` carries `typed` (the dialog's `GateChoice`), `gate` (the refusal it answered) and `saved`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tuikanban.domain.errors import GateError, TuikanbanError, ValidationError
from tuikanban.domain.merge import EditConflictError
from tuikanban.domain.text import display
from tuikanban.ui.board.messages import DealMoved, MoveRefused

if TYPE_CHECKING:
    from tuikanban.domain.models import StageInfo
    from tuikanban.store.fastread import BoardCard
    from tuikanban.ui.board.gateway import BoardGateway
    from tuikanban.ui.dialogs.gate import GateChoice


def fill_and_move_job(gateway: BoardGateway, card: BoardCard, stage: StageInfo, choice: GateChoice, gate: GateError,
                      from_stage_id: int, target_col: int | None) -> DealMoved | MoveRefused:
    from tuikanban.services.deals import FIELD_LABELS, edit_deal
    from tuikanban.services.tasks import add_task, due_date

    saved = False
    try:
        if choice.task is not None:
            due_date(choice.task[1], what="next step's due date")  # said before any field is saved
        if choice.fields:
            # merged with what others saved since the board showed the card, as the deal form's edit is: a field
            # another rep filled in meanwhile is not overwritten
            shown = {"title": card.title, "company": card.company, "contact": card.contact,
                     "value": card.value_minor, "owner": card.owner, "close": card.expected_close}
            base = {name: shown[name] for name in choice.fields if name in shown}
            edit_deal(gateway.open(), card.id, dict(choice.fields), user=gateway.user, base=base)
            saved = True
        if choice.task is not None:
            add_task(gateway.open(), card.id, choice.task[0], choice.task[1], user=gateway.user)
            saved = True
    except EditConflictError as exc:  # (the edit saved nothing, and the task comes after it)
        names = [FIELD_LABELS.get(c.field, c.field) for c in exc.conflicts]
        fields = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
        who = " and ".join(sorted({c.by for c in exc.conflicts if c.by})) or "Someone else"
        sentence = (f"{who} changed the {fields} of '{display(card.title)}' meanwhile, so nothing you typed was "
                    "saved and it was not moved; move it again to check the gate.")
        return MoveRefused(card, stage, target_col, from_stage_id, ValidationError(sentence), saved=False)
    except TuikanbanError as exc:
        if _moved_on(gateway, card.id, from_stage_id):  # closed, moved or gone meanwhile: said, nothing to retry
            return MoveRefused(card, stage, target_col, from_stage_id, exc, saved=saved)
        # a value or date that does not parse: the dialog comes back with it
        return MoveRefused(card, stage, target_col, from_stage_id, exc, typed=choice, gate=gate, saved=saved)
    result = gateway.move_job(card, stage, choice.reason, from_stage_id, target_col)
    if isinstance(result, MoveRefused):
        again = result.error if isinstance(result.error, GateError) else None  # refused again: what is missing now
        return MoveRefused(card, stage, target_col, from_stage_id, result.error,
                           typed=choice if again is not None else None, gate=again, saved=saved)
    return result


def gate_missing_job(gateway: BoardGateway, deal_id: int, stage_id: int) -> tuple[str, ...]:
    """What the gate of `stage_id` requires of the deal as stored now and it lacks (the gate dialog's `recheck`)."""
    from tuikanban.services.gates import missing_now

    return missing_now(gateway.open(), deal_id, stage_id)


def _moved_on(gateway: BoardGateway, deal_id: int, from_stage_id: int) -> bool:
    """Is the deal no longer open in the stage the board showed it in (another rep closed, moved or deleted it)?"""
    from tuikanban.services.deals import get_deal

    try:
        deal = get_deal(gateway.open(), deal_id)
    except TuikanbanError:
        return True
    return deal.status != "open" or deal.stage_id != from_stage_id


def refusal_sentence(refused: MoveRefused) -> str:
    """The one sentence for a refusal after the dialog that does not bring the dialog back."""
    text = str(refused.error).rstrip(".") + "."
    return f"{text} The fields you filled in are saved." if refused.saved else text


def comes_back(refused: MoveRefused) -> bool:
    """Does the gate dialog come back for this refusal? A gate refusal always does (after the dialog, with what
    was typed); so does a value or date typed there that did not parse (nothing was moved)."""
    return isinstance(refused.error, GateError) or (refused.typed is not None and refused.gate is not None)


__all__ = ["comes_back", "fill_and_move_job", "gate_missing_job", "refusal_sentence"]
