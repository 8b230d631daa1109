"""Presence on the board: this board's seat (`services.presence`), who else has the board open, and which deal.

The app owns one `PresenceLink` (`presence_of(node)`). The board joins once the database is open for writing
(after the first paint), beats every HEARTBEAT_SECONDS and reads `others` again after each beat and whenever the
change feed reports a commit or a presence change (presence writes do not change what the board's change check
looks at, so the board asks on its own; a heartbeat elsewhere is not reported, so it makes no board read).
Every call is a job on the app's writes lane: the seat's writes stay in order with the board's own, and the UI
thread never waits on the file. Each job reports `PresenceRead` to the board screen, which hands the list to the
link; the link publishes it (`changed`), and the header and the `HereLine` of an open deal detail or edit form
repaint from it.

A `HereLine` says which deal this board shows: mounted in a deal detail it records `viewing`, in an edit form
`editing`, and unmounting clears it, whichever way the screen was opened or closed. Leaving is the last job at
exit (`leave_at_exit`), before the lane closes the database.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from rich.text import Text
from textual.dom import DOMNode
from textual.message import Message
from textual.message_pump import MessagePump
from textual.signal import Signal
from textual.widgets import Static

from tuikanban.domain.text import display
from tuikanban.ui.jobs import Lane, lanes_of
from tuikanban.ui.spares import waiting_for_key

if TYPE_CHECKING:
    from tuikanban.services.presence import Here, Seat
    from tuikanban.store.engine import Database

MANY = 3  # more names than this are shown as "bob, carol, dave +2"
Mode = Literal["viewing", "editing"]


class PresenceRead(Message):
    """Everyone else on the board now (read on the writes lane after a presence write or a change)."""

    def __init__(self, others: tuple[Here, ...]) -> None:
        super().__init__()
        self.others = others


def names(others: tuple[Here, ...] | list[Here]) -> list[str]:
    """The others' names, safe for a terminal, each once (a rep with two boards open is one rep), in order."""
    seen: list[str] = []
    for here in others:
        name = display(here.user) or "someone"
        if name not in seen:
            seen.append(name)
    return seen


def here_line(others: tuple[Here, ...] | list[Here]) -> str:
    """The header's words: "" alone, "bob here", "bob, carol here", "bob, carol, dave +2 here"."""
    shown = names(others)
    if not shown:
        return ""
    extra = len(shown) - MANY
    listed = ", ".join(shown[:MANY] if extra > 0 else shown)
    return f"{listed} +{extra} here" if extra > 0 else f"{listed} here"


def _joined(people: list[str]) -> str:
    return people[0] if len(people) == 1 else ", ".join(people[:-1]) + " and " + people[-1]


def on_deal_line(others: tuple[Here, ...] | list[Here], deal_id: int, mode: Mode) -> str:
    """What an open deal says about the others on it: who is editing it first (in an edit form, that is the
    warning to read before typing), then who else has it open."""
    editing = names([h for h in others if h.editing == deal_id])
    viewing = [n for n in names([h for h in others if h.viewing == deal_id]) if n not in editing]
    parts: list[str] = []
    if editing:
        parts.append(f"{_joined(editing)} {'is' if len(editing) == 1 else 'are'} editing this deal")
    if viewing and (editing or mode == "editing"):
        parts.append(f"{_joined(viewing)} {'has' if len(viewing) == 1 else 'have'} it open")
    elif viewing:
        parts.append(f"Also open on {viewing[0]}'s board" if len(viewing) == 1
                     else f"Also open on the boards of {_joined(viewing)}")
    return "; ".join(parts) + ("." if parts else "")


class PresenceLink:
    """This board's seat and the last list of the others (see the module's docstring)."""

    def __init__(self, owner: DOMNode, user: str) -> None:
        self.owner = owner
        self.user = user
        self.seat: Seat | None = None
        self.others: tuple[Here, ...] = ()
        self.changed: Signal[tuple[Here, ...]] = Signal(owner, "presence")
        self.target: MessagePump | None = None  # where `PresenceRead` goes: the board screen

    # -- jobs (each runs on the writes lane and reports PresenceRead) -------------------------------------------
    def _lane(self) -> Lane:
        return lanes_of(self.owner).writes

    def _submit(self, name: str, act: str, deal_id: int | None = None) -> None:
        target = self.target
        if target is None:
            return
        self._lane().submit(target, lambda: self._run(act, deal_id), name=f"presence {name}")

    def _run(self, act: str, deal_id: int | None) -> PresenceRead | None:
        from tuikanban.services import presence

        seat = self.seat
        if seat is None:
            return None
        if act == "heartbeat":
            presence.heartbeat(seat)
        elif act == "viewing":
            presence.viewing(seat, deal_id)
        elif act == "editing":
            presence.editing(seat, deal_id)
        return PresenceRead(tuple(presence.others(seat)))

    def join(self, target: MessagePump, db: Database, *, again: bool = False) -> None:
        """Take a seat (once the database is open for writing); `target` receives every `PresenceRead`. A board
        that reopened its file (the file at its path was replaced: `again`) takes a seat in the new database, even
        through the same `Database` (which follows the new file: `Database.follow`)."""
        self.target = target

        def job() -> PresenceRead | None:
            from tuikanban.services import presence

            if again or self.seat is None or self.seat.db is not db:
                self.seat = presence.join(db, self.user)
            return self._run("read", None)

        self._lane().submit(target, job, name="presence join")

    def heartbeat(self) -> None:
        self._submit("heartbeat", "heartbeat")

    def refresh(self) -> None:
        """Read the others again (the file changed: someone may have joined or left)."""
        self._submit("read", "read")

    def mark(self, mode: Mode, deal_id: int | None) -> None:
        self._submit(mode, mode, deal_id)

    def received(self, message: PresenceRead) -> None:
        if message.others != self.others:
            self.others = message.others
            self.changed.publish(message.others)

    def leave_at_exit(self) -> None:
        """The last job before the writes lane closes the database (see `TuikanbanApp.on_unmount`)."""
        seat, self.seat = self.seat, None
        if seat is None or self.target is None:
            return

        def job() -> None:
            from tuikanban.services import presence

            presence.leave(seat)

        self._lane().submit(self.target, job, name="presence leave")


def presence_of(node: MessagePump) -> PresenceLink:
    """The presence link of `node`'s app (`app.presence`); an app without one (a test harness) gets one."""
    app = node.app
    link = getattr(app, "presence", None)
    if not isinstance(link, PresenceLink):
        link = PresenceLink(app, "")
        app.presence = link  # type: ignore[attr-defined]
    return link


class HereLine(Static):
    """One line in a deal detail or edit form naming the others on this deal; it records that this board shows
    the deal (`mode`) while it is mounted. Hidden when nobody else is on the deal."""

    DEFAULT_CSS = "HereLine { height: auto; color: $warning; display: none; }"

    def __init__(self, deal_id: int, mode: Mode, *, id: str | None = None) -> None:
        super().__init__("", id=id, markup=False)
        self.deal_id = deal_id
        self.mode: Mode = mode

    _marked = False

    def on_mount(self) -> None:
        if not waiting_for_key(self.screen):  # (a screen built before its key: `follow` when it is taken)
            self.follow(self.deal_id)

    def follow(self, deal_id: int) -> None:
        """Name the others on `deal_id`, and record that this board shows it."""
        self.deal_id = deal_id
        link = presence_of(self)
        link.changed.subscribe(self, self._show)
        self._show(link.others)
        link.mark(self.mode, self.deal_id)
        self._marked = True

    def on_unmount(self) -> None:
        if not self._marked:
            return
        link = presence_of(self)
        link.changed.unsubscribe(self)
        link.mark(self.mode, None)

    def _show(self, others: tuple[Here, ...]) -> None:
        line = on_deal_line(others, self.deal_id, self.mode)
        self.update(Text(line))
        self.display = bool(line)
