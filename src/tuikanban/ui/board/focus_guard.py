"""When another rep's change moves the focus (the focused card was moved, closed, deleted, snoozed or filtered out
elsewhere), the board says which card has the focus now and why, and for a moment (`FocusGuard.seconds`) a key
that changes the newly focused deal (move, reorder, won, lost, delete, edit, snooze, owner) is answered with one
sentence instead of acting: the rep pressed it for the card that was there. Pressing it again acts; reading keys
(arrows, enter) are never held.

`BoardBase` arms the guard after applying an outside change (`armed`), then reads the old card's newest event on
the writes lane (`last_change_job`) to say who did what (`moved_sentence`). While a screen covers the board (a dialog,
a form, a full screen) no key reaches the board, so nothing is held; a change by the rep themself seen then is not
said either (`said`): it is the covering dialog's own write, read by the feed before the dialog's result.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from textual.message import Message

from tuikanban.domain.text import display
from tuikanban.store import fastread
from tuikanban.store.fastread import LastChange

if TYPE_CHECKING:
    from tuikanban.ui.board.gateway import BoardGateway

GUARD_S = 0.6  # how long a changing key aimed at the newly focused card is held


class FocusGuard:
    """The deal the focus moved to because of an outside change, until when keys aimed at it are held, and the
    sentence that answers such a key."""

    seconds = GUARD_S

    def __init__(self) -> None:
        self.deal_id: int | None = None
        self.until = 0.0
        self.sentence = ""

    def arm(self, deal_id: int | None, sentence: str) -> None:
        self.deal_id, self.sentence = deal_id, sentence
        self.until = time.monotonic() + self.seconds

    def disarm(self) -> None:
        self.deal_id = None

    def holds(self, deal_id: int | None) -> str | None:
        """The sentence when a changing key aimed at `deal_id` must not act now (the guard is then spent: the
        next press acts), else None."""
        if deal_id is None or deal_id != self.deal_id:
            return None
        self.deal_id = None
        return self.sentence if time.monotonic() < self.until else None


class LastChangeRead(Message):
    """The newest event of the deal that left the focus (None when it could not be read), with what the board
    knew when the focus moved."""

    def __init__(self, change: LastChange | None, title: str, now_focused: str | None, followed: bool,
                 hidden: bool, covered: bool = False) -> None:
        super().__init__()
        self.change = change
        self.title = title
        self.now_focused = now_focused
        self.followed = followed
        self.hidden = hidden
        self.covered = covered  # (a screen covered the board when the change was applied)


def last_change_job(gateway: BoardGateway, deal_id: int, title: str, now_focused: str | None, followed: bool,
                    hidden: bool, covered: bool = False) -> LastChangeRead:
    try:
        change = fastread.last_change(gateway.raw(), deal_id)
    except Exception:  # (the file went away, the server is down: the sentence says less)
        change = None
    return LastChangeRead(change, title, now_focused, followed, hidden, covered)


def said(message: LastChangeRead, me: str) -> bool:
    """Whether the board says why the focus moved. Not for a change of the rep's own seen while a screen covered
    the board: that is, as a rule, the covering dialog's own write (a snooze, an edit), which the board's feed can
    read before the dialog's result comes back; it is no news to the rep, and 'by you elsewhere' would be wrong."""
    return not (message.covered and message.change is not None and message.change.user == me)


def what_happened(change: LastChange | None, me: str, *, hidden: bool) -> str:
    """'was moved to Won by bob': what the newest event did to the deal, and who did it."""
    if change is None:
        return "was changed elsewhere" if not hidden else "was changed elsewhere, and the filter hides it now"
    who = "you elsewhere" if change.user == me else display(change.user, max_length=40)
    kind = change.kind
    if kind in ("move", "reopen") and change.to_stage:
        what = f"was {'moved' if kind == 'move' else 'reopened'} to {display(change.to_stage, max_length=40)}"
    elif kind in ("won", "lost"):
        what = f"was moved to {kind.capitalize()}"
    elif kind == "deleted":
        what = "was deleted"
    elif kind == "snoozed":
        what = "was snoozed"
    elif kind in ("undo", "redo"):
        return f"was changed by {who}'s {kind}"
    elif kind == "edit" and change.field:
        what = f"was edited ({change.field})"
    else:
        what = "was changed"
    sentence = f"{what} by {who}"
    return f"{sentence}, and the filter hides it now" if hidden and kind == "edit" else sentence


def moved_sentence(message: LastChangeRead, me: str) -> str:
    """'Acme renewal' was moved to Won by bob; the focus moved to 'Globex'."""
    title = display(message.title, max_length=60)
    what = what_happened(message.change, me, hidden=message.hidden)
    if message.followed:
        return f"'{title}' {what}; the focus went with it."
    if message.now_focused is None:
        return f"'{title}' {what}; no card is focused here now."
    return f"'{title}' {what}; the focus moved to '{display(message.now_focused, max_length=60)}'."


def held_sentence(title: str, *, followed: bool) -> str:
    """What a changing key pressed in the guard's moment is answered with."""
    shown = display(title, max_length=60)
    if followed:
        return f"'{shown}' was just moved by someone else; press again."
    return f"Focus moved to '{shown}'; press again."
