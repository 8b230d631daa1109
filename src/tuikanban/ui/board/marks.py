"""Marked cards and the bulk actions on them (`services.bulk`).

`space` marks or unmarks the focused card, `*` every card the focused column shows (again: unmarks them), `esc`
clears the marks. While cards are marked, `L` / `H`, `>`, `w` / `x`, `O`, `z` (snooze) and `D` (delete) act on
the marked set in one transaction; the result of each deal is summed up in a notification, a WIP refusal of the
batch offers to force it with a reason, and `u` undoes the whole batch. The jobs and their messages are here too,
so the board's shared modules only learn the keys.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, NamedTuple

from textual import on
from textual.message import Message

from tuikanban.domain.errors import TuikanbanError, WipLimitError
from tuikanban.domain.money import format_money
from tuikanban.domain.text import display
from tuikanban.ui.board import sorting
from tuikanban.ui.board.base import BoardBase
from tuikanban.ui.board.gateway import BoardGateway

if TYPE_CHECKING:
    from tuikanban.domain.bulk import BulkResult
    from tuikanban.store.engine import Database
    from tuikanban.ui.board import messages as m

SNOOZE_PROMPT = ("Until when? A date (+3d, fri, eom, YYYY-MM-DD), then an optional reason, e.g. "
                 "'+2w back from holiday'. It leaves the board until then; filter snoozed:yes shows it.")


class BulkAction(NamedTuple):
    """A bulk action as plain data: `step` (by `delta`), `move` (to `stage_id`), `won`, `lost` (for reason `arg`),
    `owner` (to `arg`), `snooze` (`arg`: the date and the reason as typed) or `delete`."""

    kind: str
    ids: tuple[int, ...]
    delta: int = 0
    arg: str = ""
    stage_id: int = 0
    seen: tuple[tuple[int, int], ...] = ()  # (deal, stage it was shown in): a move checks it in its transaction

    def what(self, count: int | None = None) -> str:
        """`count`: the deals it would act on, when others moved or closed some of the marked ones meanwhile."""
        count = len(self.ids) if count is None else count
        n = f"{count} deal{'s' if count != 1 else ''}"
        return {"step": f"moving {n}", "move": f"moving {n}", "won": f"marking {n} won", "lost": f"marking {n} lost",
                "owner": f"giving {n} to {self.arg}", "snooze": f"snoozing {n}", "delete": f"deleting {n}"}[self.kind]

    @property
    def leaves_board(self) -> bool:
        """Whether the deals it acts on leave the board's default view (so their marks go too)."""
        return self.kind in ("won", "lost", "snooze", "delete")


class BulkDone(Message):
    def __init__(self, result: BulkResult, action: BulkAction) -> None:
        super().__init__()
        self.result = result
        self.action = action


class BulkRefused(Message):
    """The bulk action was refused as a whole (a WIP limit, or marks from another pipeline): nothing changed."""

    def __init__(self, error: TuikanbanError, action: BulkAction) -> None:
        super().__init__()
        self.error = error
        self.action = action


class OwnersRead(Message):
    def __init__(self, owners: list[str]) -> None:
        super().__init__()
        self.owners = owners


def bulk_job(gateway: BoardGateway, action: BulkAction, reason: str | None) -> BulkDone | BulkRefused:
    from tuikanban.services import bulk

    db, user, ids = gateway.open(), gateway.user, action.ids
    try:
        if action.kind == "step":
            result = bulk.bulk_step(db, ids, action.delta, user=user, force_reason=reason, seen=dict(action.seen))
        elif action.kind == "move":
            result = bulk.bulk_move(db, ids, action.stage_id, user=user, force_reason=reason,
                                    seen=dict(action.seen))
        elif action.kind == "owner":
            result = bulk.bulk_owner(db, ids, action.arg, user=user, force_reason=reason)
        elif action.kind == "snooze":
            result = snooze_marked(db, user, action)
        elif action.kind == "delete":
            result = bulk.bulk_delete(db, ids, user=user)
        else:
            result = bulk.bulk_close(db, ids, action.kind, user=user, reason=action.arg)
    except TuikanbanError as refused:
        return BulkRefused(refused, action)
    return BulkDone(result, action)


def snooze_marked(db: Database, user: str, action: BulkAction) -> BulkResult:
    """The marked deals snoozed: `action.arg` is the line as typed (`fri`, `+2w back from holiday`)."""
    from tuikanban.domain.tasks import split_date_line
    from tuikanban.services.bulk import bulk_snooze

    when, reason = split_date_line(action.arg)
    return bulk_snooze(db, action.ids, when, user=user, reason=reason)


def _the_marked(n: int) -> str:
    return "the marked deal" if n == 1 else f"the {n} marked deals"


def owners_job(gateway: BoardGateway, pipeline_id: int) -> OwnersRead:
    from tuikanban.services.bulk import known_owners

    return OwnersRead(known_owners(gateway.open(), pipeline_id))


class BoardMarks(BoardBase):
    """The board's marks and bulk actions (BoardScreen's base; the keys call these)."""

    marks: frozenset[int] = frozenset()

    def _set_marks(self, marks: frozenset[int]) -> None:
        self.marks = marks
        self.view.marked = marks
        self.view.refresh()
        self._update_header()

    def _update_header(self) -> None:
        super()._update_header()
        self.header.update(marked=len(self._marked_ids()), sort=sorting.LABELS.get(self.state.sort, ""))

    def action_mark(self) -> None:
        card = self._focused()
        if card is not None:
            self._set_marks(self.marks ^ {card.id})

    def action_mark_column(self) -> None:
        if self.model is None:
            return
        col = self.view.focus_col
        shown = {card.id for lane in range(len(self.model.lanes)) for card in self.model.cell(lane, col)}
        if not shown:
            return
        self._set_marks(self.marks - shown if shown <= self.marks else self.marks | shown)

    def clear_marks(self) -> bool:
        """Clear the marks (esc); False when there were none."""
        if not self.marks:
            return False
        self._set_marks(frozenset())
        self._say("Marks cleared.", timeout=2)
        return True

    def _marked_ids(self) -> list[int]:
        """The marked deals still on the board (a teammate may have closed some), by id."""
        if self.model is None:
            return []
        return sorted(i for i in self.marks if i in self.model.by_id)

    # -- the bulk actions --------------------------------------------------------------------------------------
    def bulk_step(self, delta: int) -> bool:
        """`L` / `H` with marks: every marked deal one stage on or back. False when nothing is marked."""
        ids = self._marked_ids()
        if ids and not self._refuse_readonly():
            self._bulk(BulkAction("step", tuple(ids), delta=delta, seen=self._seen_stages(ids)))
        return bool(ids)

    def _seen_stages(self, ids: list[int] | tuple[int, ...]) -> tuple[tuple[int, int], ...]:
        """The stage each marked deal is shown in (what a bulk move says the rep saw)."""
        if self.model is None:
            return ()
        return tuple((i, self.model.by_id[i].stage_id) for i in ids if i in self.model.by_id)

    def bulk_close(self, status: str) -> bool:
        """`w` / `x` with marks: every marked deal won, or lost for one reason asked once."""
        ids = tuple(self._marked_ids())
        if not ids or self._refuse_readonly() or self.model is None:
            return bool(ids)
        if status == "won":
            self._bulk(BulkAction("won", ids))
            return True
        from tuikanban.ui.dialogs.reason import ReasonScreen

        def chosen(reason: str | None) -> None:
            if reason and reason.strip():
                self._bulk(BulkAction("lost", ids, arg=reason.strip()))

        self.app.push_screen(ReasonScreen(
            "Mark lost", f"Why were the {len(ids)} marked deals lost? One reason for all: pick one or type your own.",
            choices=tuple(self.model.data.pipeline.lost_reasons), placeholder="another reason",
        ), chosen)
        return True

    def bulk_snooze(self) -> bool:
        """`z` with marks: every marked deal snoozed until one date, for one reason (asked once; a date the
        services refuse is said in the dialog, which keeps the text). False when nothing is marked."""
        ids = tuple(self._marked_ids())
        if not ids or self._refuse_readonly():
            return bool(ids)
        from tuikanban.ui.dialogs.ask import AskScreen

        def make(db: Database, _model: object) -> AskScreen[tuple[BulkResult, BulkAction]]:
            def apply(line: str) -> tuple[BulkResult, BulkAction]:
                action = BulkAction("snooze", ids, arg=line)
                return snooze_marked(db, self.session.user, action), action

            return AskScreen(f"Snooze {_the_marked(len(ids))}", SNOOZE_PROMPT, apply,
                             placeholder="+1w waiting for the budget")

        def done(answer: tuple[BulkResult, BulkAction] | None) -> None:
            if answer is not None:
                self._bulk_finished(*answer)

        self._open(make, done)
        return True

    def bulk_delete(self) -> bool:
        """`D` with marks: every marked deal deleted in one transaction, after one confirmation (`u` undoes them
        all). False when nothing is marked."""
        ids = tuple(self._marked_ids())
        if not ids or self._refuse_readonly() or self.model is None:
            return bool(ids)
        from tuikanban.ui.dialogs.confirm import ConfirmScreen

        cards = [self.model.by_id[i] for i in ids]
        currencies = {c.currency for c in cards if c.value_minor}
        total = sum(c.value_minor or 0 for c in cards)
        value = (f", {format_money(total, currencies.pop())} in all" if len(currencies) == 1 and total else "")
        titles = ", ".join(f"'{display(c.title, max_length=30)}'" for c in cards[:3])
        more = f" and {len(cards) - 3} more" if len(cards) > 3 else ""

        def answered(yes: bool | None) -> None:
            if yes:
                self._bulk(BulkAction("delete", ids))

        self.app.push_screen(ConfirmScreen(
            f"Delete {_the_marked(len(ids))} ({titles}{more}{value})? "
            + ("It leaves every list and metric; u undoes it." if len(ids) == 1
               else "They leave every list and metric; u undoes the whole batch."), title="Delete deals"), answered)
        return True

    def action_owner(self) -> None:
        """`O`: give the marked deals (or the focused one) to a rep picked from the known reps."""
        if self.model is None or self._refuse_readonly():
            return
        if not self._marked_ids() and self._aimed() is None:
            return
        self._write(partial(owners_job, self.gateway, self.model.data.pipeline.id), "owners")

    @on(OwnersRead)
    def _owners_read(self, message: OwnersRead) -> None:
        ids = self._marked_ids()
        card = self._focused()
        if not ids and card is not None:
            ids = [card.id]
        if not ids:
            return
        from tuikanban.ui.dialogs.reason import ReasonScreen

        def chosen(owner: str | None) -> None:
            if owner and owner.strip():
                self._bulk(BulkAction("owner", tuple(ids), arg=owner.strip()))

        what = f"the {len(ids)} marked deals" if len(ids) > 1 else "this deal"
        self.app.push_screen(ReasonScreen(
            "Change owner", f"Who owns {what} now? Pick a rep, or type a new name on purpose.",
            choices=message.owners, placeholder="a new rep",
        ), chosen)

    def _apply_loaded(self, loaded: m.Loaded, *, focus_deal: int | None = None) -> None:
        """The reload after a bulk action is read after any catch-up its own events started: from here on the
        board shows what the action wrote, so its deals are no longer its own writes in flight."""
        for ids in self._written:
            self.writing = self.writing - ids
        self._written.clear()
        super()._apply_loaded(loaded, focus_deal=focus_deal)

    def _bulk(self, action: BulkAction, reason: str | None = None) -> None:
        self.writing = self.writing | set(action.ids)  # (the feed may bring its events before its result)
        self._write(partial(bulk_job, self.gateway, action, reason), "bulk")

    @on(BulkDone)
    def _bulk_done(self, message: BulkDone) -> None:
        self._bulk_finished(message.result, message.action)

    def _bulk_finished(self, result: BulkResult, action: BulkAction) -> None:
        self._written.append(frozenset(action.ids))  # (let go once the board has read them again: below)
        if action.leaves_board:  # closed, snoozed and deleted deals leave the board; moved ones stay marked (L L)
            self._set_marks(self.marks - {o.deal_id for o in result.done})
        undo = " Press u to undo them all." if len(result.done) > 1 else " Press u to undo." if result.done else ""
        self._say(result.summary() + undo,
                  severity="warning" if result.skipped else "information", timeout=8)
        self.reload()

    @on(BulkRefused)
    def _bulk_refused(self, message: BulkRefused) -> None:
        self.writing = self.writing - set(message.action.ids)
        error = message.error
        if not isinstance(error, WipLimitError):
            self._show_error(error)
            return
        from tuikanban.ui.dialogs.reason import ReasonScreen

        self._say(str(error) + ".", title="WIP limit", severity="warning", timeout=6)

        def forced(reason: str | None) -> None:
            if reason and reason.strip():
                self._bulk(message.action, reason.strip())

        self.app.push_screen(ReasonScreen(
            "Force the whole batch?",
            f"{display(str(error))}. Give a reason for {message.action.what(error.batch)} past the limit (logged for "
            "each deal), or press escape to leave them where they are.",
            placeholder="reason for the override",
        ), forced)
