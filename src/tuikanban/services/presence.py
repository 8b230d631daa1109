"""Presence: who has the board open now, and which deal each of them is looking at or editing.

Each open board holds a `Seat`: `join` at start, `heartbeat` every HEARTBEAT_SECONDS, `leave` at exit. A board
that dies without leaving (kill -9, a dropped SSH session) stops beating, and its row counts as gone once it is
STALE_SECONDS old; rows of dead processes on this host are dropped at once.

Presence rows are not history: they write no events, and a heartbeat (which moves `seen` only) is not reported
by the SQLite change feed (`store.feed`: its wait reads a few maxima and small tables and goes back to sleep), so
it never makes another board read anything; a join, a leave or a deal opened or closed is reported as presence
alone. On PostgreSQL presence rows send no NOTIFY (heartbeats wake nobody); a join, a leave or a deal opened or
closed sends the `presence` one (store.pgddl.announce_presence). On either, boards then read presence and nothing
else.
A rep who can only read the board cannot be recorded; their seat is inactive and every call on it does nothing.
"""

from __future__ import annotations

import contextlib
import os
import socket
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select, update
from sqlmodel import Session

from tuikanban.domain import clock
from tuikanban.domain.errors import DatabaseError
from tuikanban.domain.text import display
from tuikanban.store.engine import Database
from tuikanban.store.pgddl import announce_presence
from tuikanban.store.tables import Presence

# Join, leave and a deal opened or closed are said at once (every board hears them); the heartbeat only keeps a
# seat from going stale, which matters for a board that died without leaving on another host (one on this host
# is dropped as soon as its process is gone). Ten boards beating every 10 s woke some board every second.
HEARTBEAT_SECONDS = 20.0
STALE_SECONDS = 60.0


@dataclass(frozen=True, slots=True)
class Seat:
    """One open board's place in the presence table (`active` is False for a read-only rep)."""

    db: Database
    token: str
    user: str
    host: str
    pid: int
    since: datetime
    active: bool = True


@dataclass(frozen=True, slots=True)
class Here:
    """Someone who has the board open: `viewing`/`editing` are deal ids or None."""

    token: str
    user: str
    host: str
    pid: int
    since: datetime
    seen: datetime
    viewing: int | None
    editing: int | None


_T = Presence.__table__.c  # type: ignore[attr-defined]


def _stale_before() -> datetime:
    return clock.now() - timedelta(seconds=STALE_SECONDS)


def _dead_here(host: str, pid: int) -> bool:
    """Whether `pid` on this host is a process that no longer exists (another user's live process counts as alive)."""
    if host != socket.gethostname() or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # EPERM: it exists, it is someone else's
        return False
    return False


def _prune(session: Session) -> None:
    session.execute(delete(Presence).where(_T.seen < _stale_before()))
    for token, host, pid in session.execute(select(_T.token, _T.host, _T.pid)).all():
        if _dead_here(host, pid):
            session.execute(delete(Presence).where(_T.token == token))


def join(db: Database, user: str, host: str | None = None, pid: int | None = None) -> Seat:
    """Record that `user` opened the board (host and pid default to this process's)."""
    seat = Seat(db, str(uuid.uuid4()), display(user)[:200], display(host or socket.gethostname())[:255],
                os.getpid() if pid is None else pid, clock.now(), active=not db.readonly)
    if not seat.active:
        return seat

    def work(session: Session) -> None:
        _prune(session)
        session.add(_row(seat, seat.since))
        announce_presence(session.connection())

    db.write(work)
    return seat


def _row(seat: Seat, seen: datetime) -> Presence:
    return Presence(token=seat.token, user=seat.user, host=seat.host, pid=seat.pid, since=seat.since, seen=seen)


def _touch(seat: Seat, **values: int | None) -> None:
    if not seat.active:
        return
    now = clock.now()

    def work(session: Session) -> None:
        _prune(session)
        found = session.connection().execute(
            update(Presence).where(_T.token == seat.token).values(seen=now, **values))
        if not found.rowcount:  # pruned while this board was stopped (ctrl+z, a suspended host): come back
            row = _row(seat, now)
            for name, value in values.items():
                setattr(row, name, value)
            session.add(row)
        if values:  # a deal opened or closed; a heartbeat wakes nobody on PostgreSQL
            announce_presence(session.connection())

    seat.db.write(work)


def heartbeat(seat: Seat) -> None:
    """Say the board is still open. Call every HEARTBEAT_SECONDS from the board's write lane."""
    _touch(seat)


def viewing(seat: Seat, deal_id: int | None) -> None:
    """The deal this board shows in detail now (None when it is closed)."""
    _touch(seat, viewing=deal_id)


def editing(seat: Seat, deal_id: int | None) -> None:
    """The deal this board has an edit form open for (None when the form closes)."""
    _touch(seat, editing=deal_id)


def leave(seat: Seat) -> None:
    """Remove the board's row (at exit). Never raises: a board must be able to close whatever the file does."""
    if not seat.active:
        return

    def work(session: Session) -> None:
        session.execute(delete(Presence).where(_T.token == seat.token))
        announce_presence(session.connection())

    with contextlib.suppress(DatabaseError):
        seat.db.write(work)


def who(db: Database, *, deal_id: int | None = None) -> list[Here]:
    """Everyone on the board now (stale rows and dead local processes left out), oldest first; with `deal_id`,
    only those viewing or editing that deal."""
    query = select(Presence).where(_T.seen >= _stale_before()).order_by(_T.since, _T.user, _T.token)
    if deal_id is not None:
        query = query.where(or_(_T.viewing == deal_id, _T.editing == deal_id))
    with db.read() as session:
        rows = [r[0] for r in session.execute(query).all()]
    return [Here(r.token, r.user, r.host, r.pid, r.since, r.seen, r.viewing, r.editing) for r in rows
            if not _dead_here(r.host, r.pid)]


def others(seat: Seat, *, deal_id: int | None = None) -> list[Here]:
    """`who`, without this board itself (what a header or a deal detail shows)."""
    return [h for h in who(seat.db, deal_id=deal_id) if h.token != seat.token]


__all__ = [
    "HEARTBEAT_SECONDS", "STALE_SECONDS", "Here", "Seat", "editing", "heartbeat", "join", "leave", "others",
    "viewing", "who",
]
