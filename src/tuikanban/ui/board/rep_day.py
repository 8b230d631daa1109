"""The rep's day on the board: logging a call, email, meeting or note in one key (`C`, `E`, `M`, `N`: a one-line
bar with an optional next step), snoozing the focused deal (`z`), deleting it (`D`, undone with `u`) and the Today
queue (`t`). With marked cards, `z` and `D` act on all of them in one transaction (`marks.py`). `BoardScreen`
inherits these actions; their writes are jobs on the app's write lane whose typed messages come back here.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from textual import on
from textual.message import Message
from textual.widgets import Input

from tuikanban.domain import clock
from tuikanban.domain.errors import TuikanbanError
from tuikanban.domain.filters import is_snoozed
from tuikanban.domain.money import format_money
from tuikanban.domain.text import display
from tuikanban.store import fastread
from tuikanban.ui.board import messages as m
from tuikanban.ui.board.file_watch import kept
from tuikanban.ui.board.marks import SNOOZE_PROMPT, BoardMarks
from tuikanban.ui.jobs import lanes_of
from tuikanban.ui.widgets.log_bar import LogBar, write_log_line

if TYPE_CHECKING:
    from tuikanban.domain.models import DealView
    from tuikanban.services.today import TodayQueue
    from tuikanban.store.engine import Database
    from tuikanban.ui.board.gateway import BoardGateway


class LogSaved(Message):
    """A log line was written (with its next step, if any): the deal re-read, and the sentence to say."""

    def __init__(self, bar: LogBar, changed: m.Changed, note: str) -> None:
        super().__init__()
        self.bar = bar
        self.changed = changed
        self.note = note


class LogRefused(Message):
    """The services refused the line (empty text, a date they do not know): said in the bar, which keeps it."""

    def __init__(self, bar: LogBar, error: TuikanbanError) -> None:
        super().__init__()
        self.bar = bar
        self.error = error


def log_job(gateway: BoardGateway, bar: LogBar, line: str) -> LogSaved | LogRefused:
    try:
        note = write_log_line(gateway.open(), gateway.user, bar.deal_id, bar.deal_title, bar.kind, line)
    except TuikanbanError as exc:
        return LogRefused(bar, exc)
    changed = m.Changed(fastread.load_card(gateway.raw(), bar.deal_id), gateway.absorb(bar.deal_id))
    return LogSaved(bar, changed, note)


def snooze_apply(db: Database, user: str, deal_id: int, version: int, line: str, *, snoozed: bool = False) -> DealView:
    """What the snooze dialog runs as a job: the date shortcut and the reason after it; for a snoozed deal, an
    empty line wakes it."""
    from tuikanban.domain.tasks import split_date_line
    from tuikanban.services.lifecycle import snooze_deal, wake_deal

    if snoozed and not line.strip():
        return wake_deal(db, deal_id, user=user, expected_version=version)
    when, reason = split_date_line(line)
    return snooze_deal(db, deal_id, when, user=user, reason=reason, expected_version=version)


class SnoozeApply:
    """The snooze dialog's job, holding the version of the deal the rep is snoozing. When another rep changed the
    deal since the dialog opened, the refusal says who did what, and the deal as it is now becomes what the dialog
    acts on: enter again snoozes it as typed (the dialog keeps the line), esc leaves it as the other rep left it."""

    def __init__(self, gateway: BoardGateway, db: Database, user: str, deal_id: int, version: int, title: str, *,
                 snoozed: bool) -> None:
        self.gateway, self.db, self.user, self.deal_id = gateway, db, user, deal_id
        self.version, self.title, self.snoozed = version, title, snoozed

    def __call__(self, line: str) -> DealView:
        from tuikanban.domain.errors import StaleEditError

        try:
            return snooze_apply(self.db, self.user, self.deal_id, self.version, line, snoozed=self.snoozed)
        except StaleEditError:
            now, since = changed_since(self.gateway, self.db, self.user, self.deal_id, self.title)
            self.version = now.version
            if now.status != "open":  # (won, lost or deleted: nothing to snooze any more)
                raise StaleEditError(f"{since}, so it cannot be snoozed; esc closes this.") from None
            raise StaleEditError(f"{since}; press enter again to snooze it as typed, or esc to leave it.") from None


def changed_since(gateway: BoardGateway, db: Database, user: str, deal_id: int, title: str) -> tuple[DealView, str]:
    """The deal as it is now, and who changed it since the rep's dialog opened: "'Acme' was snoozed by bob since
    you opened this (snoozed until 2026-03-16 now)". The refusals of the snooze and delete dialogs start so."""
    from tuikanban.services.deals import get_deal
    from tuikanban.ui.board.focus_guard import what_happened

    now = get_deal(db, deal_id)
    what = what_happened(fastread.last_change(gateway.raw(), deal_id), user, hidden=False)
    until = (f" (snoozed until {now.snoozed_until.isoformat()} now)"
             if now.status == "open" and now.snoozed_until is not None and now.snoozed_until > clock.today() else "")
    return now, f"'{display(title, max_length=40)}' {what} since you opened this{until}"


def delete_job(gateway: BoardGateway, deal_id: int, version: int, title: str, note: str) -> m.DealChanged:
    """Delete the deal the rep confirmed, as they saw it (`version`). When another rep changed or deleted it since,
    nothing is deleted and the refusal names who did what, as the snooze dialog's does."""
    from tuikanban.domain.errors import StaleEditError, ValidationError
    from tuikanban.services.lifecycle import delete_deal

    db = gateway.open()
    try:
        deal = delete_deal(db, deal_id, user=gateway.user, expected_version=version)
    except (StaleEditError, ValidationError) as exc:
        if isinstance(exc, ValidationError) and fastread.last_change(gateway.raw(), deal_id) is None:
            raise
        now, since = changed_since(gateway, db, gateway.user, deal_id, title)
        if now.status == "deleted":
            raise StaleEditError(f"{since}; there is nothing more to delete.") from None
        shown = now.status == "open" and not is_snoozed(now.snoozed_until, clock.today())
        again = "; press D again to delete it as it is now" if shown else ""
        raise StaleEditError(f"{since}, so it was not deleted{again}.") from None
    return m.DealChanged(m.Changed(fastread.card_from_deal(deal), gateway.absorb(deal_id)), note)


class TodayAhead(Message):
    """The user's Today queue read ahead (after the board opens, and after the Today screen closes)."""

    def __init__(self, queue: TodayQueue) -> None:
        super().__init__()
        self.queue = queue


def today_ahead_job(gateway: BoardGateway) -> TodayAhead:
    """Read the Today queue in the background, so that `t` paints it at once (and finds its code imported and its
    index pages cached); the screen reads it again as it opens and shows the fresh one a moment later."""
    from tuikanban.services.today import today_queue
    from tuikanban.ui.screens.today import LIMIT

    return TodayAhead(today_queue(gateway.open(), owner=gateway.user, limit=LIMIT))


class RepDayBoard(BoardMarks):
    """The board's rep's-day actions (see the module's docstring); `BoardScreen` adds the rest. With marked cards,
    `z` and `D` act on all of them (`BoardMarks`)."""

    today_ahead: TodayQueue | None = None  # the Today queue read ahead, shown at once when `t` is pressed

    def on_mount(self) -> None:
        # (after the reads that follow the database's opening, which are submitted right after this runs)
        self._when_open(self._warm_today_later)

    def on_unmount(self) -> None:
        self.memory.save()  # the rep's view of this pipeline, for the next start

    def _warm_today_later(self) -> None:
        # Not for a pipeline read a window at a time (more than LAZY_ABOVE open deals): the queue's read looks at
        # every open deal of the rep (2.6 s of one traced start at 100,000), work out of proportion with what the
        # board shows, which kept the board busy long after its first paint; `t` then reads it as its screen opens
        # (and reads it ahead after that screen closes). docs/PERFORMANCE.md, Start-up.
        if self.gateway.window is None:
            self.call_after_refresh(self._warm_today)

    def _warm_today(self) -> None:
        lanes_of(self).reads.submit(self, partial(today_ahead_job, self.gateway), name="today ahead")

    @on(TodayAhead)
    def _today_ahead(self, message: TodayAhead) -> None:
        self.today_ahead = message.queue

    # -- logging -----------------------------------------------------------------------------------------------
    async def action_log(self, kind: str) -> None:
        card = None if self._refuse_readonly() else self._focused()
        if card is None:
            return
        for old in self.query(LogBar):
            await old.remove()
        if self.session.db is None:  # (opening after the first paint: the bar comes once the database is open)

            def show() -> None:
                self.mount(LogBar(card.id, card.title, kind))

            self._when_open(show)
            return
        # Mounted and focused before the next key of a burst is routed (the log keys are priority bindings), so
        # text typed in the same burst as C, E, M or N lands in the bar, never on the board.
        bar = LogBar(card.id, card.title, kind)
        await self.mount(bar)
        self.set_focus(bar.query_one(Input))

    @on(LogBar.Send)
    def _log_sent(self, message: LogBar.Send) -> None:
        self._write(partial(log_job, self.gateway, message.bar, message.text), "log")

    @on(LogBar.Cancel)
    def _log_cancelled(self, message: LogBar.Cancel) -> None:
        self._close_log(message.bar)

    @on(LogSaved)
    def _log_saved(self, message: LogSaved) -> None:
        self._close_log(message.bar)
        self._applied(message.changed)
        self._say(message.note, timeout=4)

    @on(LogRefused)
    def _log_refused(self, message: LogRefused) -> None:
        said = kept(message.error)
        if said is not message.error:  # the file went away before the watch said so: it looks now
            self.files.look_now()
        message.bar.refused(str(said))

    def _close_log(self, bar: LogBar) -> None:
        bar.remove()
        self.view.focus()

    # -- snooze and delete -------------------------------------------------------------------------------------
    def action_snooze(self) -> None:
        if self.bulk_snooze():
            return
        card = None if self._refuse_readonly() else self._aimed()
        if card is None:
            return
        from tuikanban.ui.dialogs.ask import AskScreen

        asleep = is_snoozed(card.snoozed_until, clock.today())  # (shown by the filter snoozed:yes)
        prompt = SNOOZE_PROMPT
        if asleep and card.snoozed_until is not None:
            prompt = (f"It is snoozed until {card.snoozed_until.isoformat()}. Leave the line empty to wake it now, "
                      f"or type a new date: {SNOOZE_PROMPT[0].lower()}{SNOOZE_PROMPT[1:]}")

        def make(db: Database, _model: object) -> AskScreen[DealView]:
            apply = SnoozeApply(self.gateway, db, self.session.user, card.id, card.version, card.title,
                                snoozed=asleep)
            return AskScreen(f"Snooze '{display(card.title, max_length=40)}'", prompt, apply,
                             placeholder="empty: wake it now" if asleep else "+1w waiting for the budget")

        self._open(make, self._snoozed)

    def _snoozed(self, deal: DealView | None) -> None:
        if deal is None or self.model is None:
            return
        if deal.snoozed_until is None:  # woken
            self._say(f"Woke '{display(deal.title)}': it is back on the board. Press u to undo.", timeout=5)
            self.reload(focus_deal=deal.id)
            return
        self.model.remove(deal.id)
        self.view.model_changed()
        self._update_header()
        until = deal.snoozed_until.isoformat() if deal.snoozed_until else "later"
        self._say(f"Snoozed '{display(deal.title)}' until {until}; the filter snoozed:yes shows it. Press u to undo.",
                  timeout=5)
        self.reload()

    def action_delete(self) -> None:
        if self.bulk_delete():
            return
        card = None if self._refuse_readonly() else self._aimed()
        if card is None:
            return
        from tuikanban.ui.dialogs.confirm import ConfirmScreen

        value = format_money(card.value_minor, card.currency) if card.value_minor else "no value"
        what = f"'{display(card.title)}' ({value})"

        def answered(yes: bool | None) -> None:
            if yes:
                note = f"Deleted {what}. Press u to undo."
                self._write(partial(delete_job, self.gateway, card.id, card.version, card.title, note), "delete")

        self.app.push_screen(ConfirmScreen(f"Delete {what}? It leaves every list and metric; u undoes it.",
                                           title="Delete deal"), answered)

    # -- the Today queue ---------------------------------------------------------------------------------------
    def action_today(self) -> None:
        from tuikanban.ui.screens.today import TodayScreen

        def closed(changed: bool | None) -> None:
            if changed:
                self.reload()
            self._warm_today()

        ahead, self.today_ahead = self.today_ahead, None  # (at once: while the database opens its read waits)
        self.app.push_screen(TodayScreen(self.session.database(), self.session.user, ahead=ahead), closed)
