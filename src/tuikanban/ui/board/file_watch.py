"""Is the board's file still the file? Watched every `WATCH_SECONDS` (a `stat` of the file and its log, on the
writes lane, then a small read only when they changed: an idle board's file is not opened again every tick), apart
from the change feed (`PRAGMA data_version`): a file moved or copied over the board changes no data version the
board's connection can see.

- The file was deleted, replaced, overwritten by an older copy or upgraded (`store.identity.what_changed`): the
  board stops writing (read-only, the sentence in a notification that stays, `r` reopens the file at that path)
  and the database the open forms hold refuses to write, so a form keeps its text and says why it cannot save.
  Then it lets go of the old file at once (`let_go`): its change feed stops and its connections close, so that no
  process of this board holds the write-ahead log (`board.db-wal`, `-shm`, found by name) that the new file at the
  path would otherwise share with it. Until then `store.engine.foreign_log` makes a command refuse to open the new
  file (see docs/RULES.md, "Shared boards").
- `tuikanban restore` wrote into the file: the board reads it again and says, once, who restored it from what
  (`services.restore.last_restore`); the restored file is the board's file from then on.
"""

from __future__ import annotations

import os
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from textual.message import Message

from tuikanban.store import fastread
from tuikanban.ui.jobs import lanes_of

if TYPE_CHECKING:
    from tuikanban.domain.errors import TuikanbanError
    from tuikanban.domain.targets import Target
    from tuikanban.store.feed import Change
    from tuikanban.store.identity import FileIdentity
    from tuikanban.ui.board.base import BoardBase
    from tuikanban.ui.board.gateway import BoardGateway
    from tuikanban.ui.board.live import LiveFeed

WATCH_SECONDS = 2.0
RESTORED_KEY = "restored"  # (services.restore.RESTORED_KEY: not imported, it would load the ORM before first paint)
REOPEN_HINT = " Press r to reopen the file at that path."
FORM_HINT = " (In a form, ctrl+r reopens it and keeps what you typed.)"  # said when a screen covers the board
WRITES_REFUSED = " because the file at that path is no longer this board (press r on the board to reopen it)"
# what a form's save says then (its Database refuses with it): the form stays open, and ctrl+r reopens from it
KEPT_HINT = (" What you typed is kept here: press ctrl+r to reopen the file at that path, then save again to put it "
             "there.")


Stamp = tuple[tuple[int, int, int, int, int] | None, ...]


class Seen(NamedTuple):
    """The file's identity and its `restored` mark, as last looked at; `stamp`, what `stat` said of the file and
    its log just before (unchanged since: nothing was written, moved or replaced, and the look is not repeated)."""

    identity: FileIdentity | None
    restored: str | None
    stamp: Stamp | None = None


def stamp(path: Path) -> Stamp:
    """Device, inode, size, modification and change times of the file, and the same but the change time of its
    write-ahead log (None: absent). Any commit writes the log (or the file), a checkpoint the file, a copy over it
    or a restore either, and a move or a replacement changes the inode; the file's change time cannot be set back
    by anyone. (The log's changes whenever a process running as root opens it: SQLite gives it the file's owner.)"""
    out: list[tuple[int, int, int, int, int] | None] = []
    for name in (str(path), f"{path}-wal"):
        try:
            st = os.stat(name)
        except OSError:
            out.append(None)
            continue
        out.append((st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns if name == str(path) else 0))
    return tuple(out)


class FileChecked(Message):
    """What the file at the board's path is now: `gone` says it is not the board's file any more, `restored` that
    a restore wrote into it (the sentence to say), `seen` is what was looked at."""

    def __init__(self, seen: Seen, gone: str | None, restored: str | None) -> None:
        super().__init__()
        self.seen = seen
        self.gone = gone
        self.restored = restored


def kept(error: TuikanbanError) -> TuikanbanError:
    """A form's write refused because the file at the path went away, before the watch said so (every write checks
    the file first): the refusal says too that what was typed is kept, and how to save it."""
    from tuikanban.domain.errors import FileReplacedError

    if isinstance(error, FileReplacedError) and "ctrl+r" not in str(error):
        return FileReplacedError(str(error) + KEPT_HINT)
    return error


class FileRefused(Message):
    """A form's write was refused because the file at the board's path is not the board's any more (the watch had
    not looked since): the board looks now."""


def look(path: Path) -> Seen:
    from tuikanban.store.identity import identity

    before = stamp(path)  # (taken first: a write during the look changes it, and the next tick looks again)
    mark: str | None = None
    try:
        con = fastread.connect_live(path)
        try:
            mark = fastread.meta_value(con, RESTORED_KEY)
        finally:
            con.close()
    except Exception:  # no readable board there: the identity says so
        mark = None
    return Seen(identity(path), mark, before)


def mark_job(target: Target, before: Seen | None) -> FileChecked:
    """A board on a database server has no file to watch, only the `restored` mark a restore writes."""
    from tuikanban.services.restore import last_restore
    from tuikanban.store import fastread_pg

    con = fastread_pg.connect_live(target)
    try:
        mark = fastread.meta_value(con, RESTORED_KEY)  # type: ignore[arg-type]  # (sqlite3-style calls)
    except Exception:  # the server is away: the change feed reconnects, and the next re-check looks again
        return FileChecked(before or Seen(None, None), None, None)
    finally:
        con.close()
    now = Seen(None, mark)
    if before is not None and mark is not None and mark != before.restored:
        return FileChecked(now, None, last_restore(mark) or "The board was restored from a backup.")
    return FileChecked(now, None, None)


def check_job(path: Path, before: Seen | None) -> FileChecked:
    """Look at the file and compare it with what the board opened (`before`; None: this is the first look)."""
    from tuikanban.services.restore import last_restore
    from tuikanban.store.identity import FileIdentity, what_changed

    if before is not None and before.identity is not None and before.stamp is not None \
            and before.stamp[0] is not None and stamp(path) == before.stamp:
        return FileChecked(before, None, None)  # nothing touched the file since the last look: two stats, no reads
    if before is not None and before.identity is not None:
        try:
            st = os.stat(path)
        except OSError:
            return FileChecked(before, what_changed(path, before.identity, None), None)
        if (st.st_dev, st.st_ino) != (before.identity.device, before.identity.inode):
            # Another file: never opened with SQLite here, since the old file's write-ahead log may still lie
            # beside it (this board's, or another board's) and would be read, or even recovered, into it.
            return FileChecked(before, what_changed(path, before.identity, FileIdentity(st.st_dev, st.st_ino, 0, 0)),
                               None)
    now = look(path)
    if before is None or before.identity is None:
        return FileChecked(now, None, None)
    if now.restored is not None and now.restored != before.restored:
        return FileChecked(now, None, last_restore(now.restored) or "The board was restored from a backup.")
    return FileChecked(now, what_changed(path, before.identity, now.identity), None)


def let_go(gateway: BoardGateway, reason: str, feed: LiveFeed | None = None) -> None:
    """Close every connection the board holds on the old file (on the writes lane, after the writes before it),
    and wait for the stopped change `feed` to close its own (its thread may be inside a wait on the old file for a
    moment yet): a reopen (`r`, queued behind this job) then finds nothing of this board on the old log.

    The write-ahead log is empty at rest (`Database.write` folds it in after each write), so closing leaves nothing
    of the old file for the new one to read in: on a moved file SQLite closes without folding (it sees the move) and
    leaves an empty log; on a file copied over (same inode) it folds an empty log and removes it."""
    gateway.close()
    if gateway.db is not None:  # (also a database handed in by the caller) refuses to connect again
        gateway.db.let_go(reason)
    if feed is not None:
        feed.join()


class FileWatch:
    """The board's watch over its file (held by the screen; the screen hands it `FileChecked`)."""

    def __init__(self, screen: BoardBase) -> None:
        self.screen = screen
        self.seen: Seen | None = None
        self.gone: str | None = None
        self._looking = False
        self._timer_started = False
        self._reopen_after = False  # ctrl+r came before the watch saw the file go: reopen once it has

    def start(self) -> None:
        """The database is open (again): take the file's identity now, then look every WATCH_SECONDS. A board on
        a database server has no file to watch: it looks at the `restored` mark when its change feed says that
        anything may have changed (`heard`)."""
        if self.screen.session.target.path is None:
            self._submit_mark()
            return
        if self.gone is not None:  # reopened after the file was replaced: read what is there now
            self.screen.reload()
        self.seen, self.gone = None, None
        self._submit()
        if not self._timer_started:
            self._timer_started = True
            self.screen.set_interval(WATCH_SECONDS, self.tick)

    def heard(self, change: Change) -> None:
        """The change feed heard a commit; one that may have changed anything may be a restore (on a server)."""
        if change.pipeline_ids is None and self.screen.session.target.path is None and not self._looking:
            self._submit_mark()

    def _submit_mark(self) -> None:
        self._looking = True
        job = partial(mark_job, self.screen.session.target, self.seen)
        lanes_of(self.screen).writes.submit(self.screen, job, name="restore mark")

    def look_now(self, *, reopen: bool = False) -> bool:
        """A write was refused because the file at the path is no longer the board's (the watch had not looked
        since): look now, not at the next tick, and with `reopen` (ctrl+r from a form) reopen the file at the path
        once the look has said so. False when there is nothing to look at (a database server) or the board knows
        already."""
        if self.screen.session.target.path is None or self.gone is not None or self.seen is None:
            return False
        self._reopen_after = self._reopen_after or reopen
        if not self._looking:
            self._submit()
        return True

    def tick(self) -> None:
        if self.seen is not None and self.gone is None and not self._looking:
            self._submit()

    def _submit(self) -> None:
        self._looking = True
        path = self.screen.session.target.path
        assert path is not None  # (start() watches files only)
        job = partial(check_job, path, self.seen)
        lanes_of(self.screen).writes.submit(self.screen, job, name="watch file")

    def received(self, message: FileChecked) -> bool:
        """Take the look's answer; True when ctrl+r asked to reopen (`look_now`) and the file is gone indeed."""
        self._looking = False
        reopen, self._reopen_after = self._reopen_after, False
        screen = self.screen
        if message.restored is not None:
            self.seen = message.seen
            screen.reload()
            screen.notify(message.restored, title="Restored", timeout=10, markup=False)
            return False
        if message.gone is None:
            self.seen = message.seen
            return False
        self.gone = message.gone
        session = screen.session
        session.gone = message.gone + REOPEN_HINT
        session.readonly = True
        if session.db is not None:  # the forms' writes through this database refuse too, with a sentence
            session.db.readonly, session.db.readonly_reason = True, WRITES_REFUSED
            session.db.refusal = message.gone + KEPT_HINT
        screen.header.update(readonly=True)
        covered = screen.app.screen is not screen
        screen.notify(session.gone + (FORM_HINT if covered else ""), title="Board file changed", severity="error",
                      timeout=3600, markup=False)
        feed = screen.stop_live()
        lanes_of(screen).writes.submit(screen, partial(let_go, screen.gateway, session.gone, feed),
                                       name="let go of the old file")
        return reopen


__all__ = ["KEPT_HINT", "WATCH_SECONDS", "FileChecked", "FileRefused", "FileWatch", "Seen", "check_job", "kept",
           "let_go", "look", "stamp"]
