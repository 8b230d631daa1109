"""Everything the board does with the database: its reads, its writes, and "did someone else change it".

The gateway owns the board's connections: a plain one through `store.fastread` (the SQLite or PostgreSQL driver
itself: the first paint reads with it, before the ORM is imported) and the ORM database once opened for writing.
Its methods run on the app's lanes (`tuikanban.ui.jobs`), never on the UI thread (except the first read, before
the app starts); the `*_job` methods return the typed messages of `messages.py`.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from textual.message import Message

from tuikanban.domain.errors import DatabaseError, NotFoundError, ReadOnlyError, TuikanbanError, WipLimitError
from tuikanban.domain.models import StageInfo
from tuikanban.domain.targets import Target, parse_target
from tuikanban.store import fastread
from tuikanban.ui.board.messages import (
    AgingFailed,
    AgingRead,
    BoardAging,
    BoardLoaded,
    ChangeChecked,
    Changed,
    DbOpened,
    DealChanged,
    DealMoved,
    DealReordered,
    Loaded,
    LoadFailed,
    MoveRefused,
    OpenFailed,
    UndoDone,
    UndoRefused,
)
from tuikanban.ui.board.model import BoardModel
from tuikanban.ui.board.sorting import RANK
from tuikanban.ui.board.state import BoardState
from tuikanban.ui.board.view import card_agings

if TYPE_CHECKING:
    from tuikanban.domain.records import MoveResult
    from tuikanban.store.engine import Database


# A pipeline with more open deals than this is read a window at a time (store.fastread.load_board(window=...)):
# the top LAZY_WINDOW cards of each (stage, type) cell, deeper as the focus goes down; smaller ones whole.
LAZY_ABOVE = 3_000
LAZY_WINDOW = 120


class CellEnd(Message):
    """The last card of a cell a big pipeline's board has not read to its end (`end` on the board)."""

    def __init__(self, deal_id: int | None) -> None:
        super().__init__()
        self.deal_id = deal_id


class FileGone(DatabaseError):
    """The file at the board's path was deleted or replaced between the first read and the open (`file_watch`
    says the same of a file replaced later)."""


def nothing_to_reopen(path: Path) -> str:
    """What `r` (or ctrl+r from a form) says when the board's file was deleted and nothing is at its path now."""
    return (f"There is no board file at {path} any more, so nothing was reopened and no empty board was created "
            "there: put the file back at that path (or restore a backup to it).")


class BoardGateway:
    """The board's database work. One gateway per app; its connections are closed by the lane that used them."""

    def __init__(self, *, path: Path | Target, user: str, db: Database | None, con: fastread.Connection | None,
                 owns_db: bool = False, first_file: tuple[int, int] | None = None) -> None:
        self.target = parse_target(path)  # a file, or a PostgreSQL URL
        self.user = user
        self.db = db
        self._owns_db = owns_db or db is None  # a database handed in by the caller is closed by the caller
        self._con = con
        self.seen: fastread.Signature | None = None
        self.pipeline_id: int | None = None  # the pipeline last read (whose changes `check` looks for)
        self.blocked: str | None = None  # why the file at the path must not be opened now (reopen_job)
        # (device, inode) of the file the first screen was read from (`ui.first_read`), until the database is
        # opened: a file deleted or replaced in between is said, never created anew or opened in its place
        self.first_file = first_file
        # How much of a big pipeline the board reads (None: all of it): the top `window` cards of each cell, and
        # more of the cells in `deeper` (where a deal the board jumped to sits). Set by the reads themselves, and
        # by the board when the focus nears the end of what is loaded (`deepen`).
        self.window: int | None = None
        self.deeper: dict[tuple[int, int | None], int] = {}

    # -- connections -------------------------------------------------------------------------------------------
    def raw(self) -> fastread.Connection:
        if self._con is None and self.db is not None and self.db.let_go_reason:
            raise ReadOnlyError(self.db.let_go_reason)  # the file was replaced: only `reopen_job` opens it again
        if self._con is None:
            self._con = fastread.connect_live_target(self.target)
        return self._con

    def open(self, *, create: bool = True) -> Database:
        """Open the database for writing (this is where the ORM gets imported, after the first paint); `create`:
        a new file when there is none at the path (False: a reopen, refused)."""
        if self.blocked is not None:
            raise ReadOnlyError(self.blocked)
        if self.db is None:
            from tuikanban.store.engine import open_database

            self._still_first_file()
            self.db = open_database(self.target, create=create)
            self.first_file = None
            if self._con is not None:  # the first read may have used an immutable snapshot
                self._con.close()
                self._con = None
        return self.db

    def _still_first_file(self) -> None:
        """Refuse (`FileGone`) to open a path whose file is no longer the one the first screen was read from: the
        open after the first paint would have created an empty board in place of a deleted file (and offered to
        set up a pipeline in it), or written to a file moved there meanwhile under the old file's ids."""
        path = self.target.path
        if self.first_file is None or path is None:
            return
        from tuikanban.store.identity import FileIdentity, what_changed

        opened = FileIdentity(*self.first_file, 0, 0)
        try:
            st = os.stat(path)
        except OSError:
            now = None
        else:
            now = FileIdentity(st.st_dev, st.st_ino, 0, 0)
        gone = what_changed(path, opened, now)
        if gone is not None:
            self.first_file = None  # (`r` opens what is there now)
            raise FileGone(gone)

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None
        if self.db is not None and self._owns_db:
            self.db.close()

    # -- reads -------------------------------------------------------------------------------------------------
    def load(self, ref: str | int | None, state: BoardState, *, window: int | None = None,
             reveal: int | None = None, read: fastread.BoardRead | None = None) -> Loaded:
        """The board of pipeline `ref` under `state`: whole, or (a big pipeline, or `window`) the top cards of
        each cell, deep enough in its cell to hold the deal `reveal`. (`read`: that read, made already by
        `ui.first_read` for the first screen.)"""
        if read is None:
            read = self._read(ref, state, window, reveal)
        self.seen = read.signature
        if read.board is None:
            self.pipeline_id = None
            return Loaded(read, None)
        if read.board.pipeline.id != self.pipeline_id:
            self.deeper = {}
        self.pipeline_id = read.board.pipeline.id
        open_deals = sum(read.board.counts.values())
        if open_deals > LAZY_ABOVE:
            self.window = max(self.window or 0, LAZY_WINDOW)
        elif open_deals <= LAZY_ABOVE // 2:
            self.window, self.deeper = None, {}
        return Loaded(read, BoardModel(read.board, lanes_on=state.lanes_on, filter=state.filter,
                                       sort=state.sort))

    def _read(self, ref: str | int | None, state: BoardState, window: int | None, reveal: int | None
              ) -> fastread.BoardRead:
        con = self.raw()
        if window is None and not (state.filter.active or state.sort != RANK):
            window = self.window
        if window is not None and reveal is not None:
            where = fastread.cell_depth(con, reveal)
            if where is not None:
                cell, depth = where
                self.deeper[cell] = max(self.deeper.get(cell, 0), depth + LAZY_WINDOW // 2)
        try:
            return fastread.load_board(con, ref, window=window, snoozed=state.filter.snoozed,
                                       deeper=self.deeper if window is not None else None)
        except NotFoundError:
            if ref is None or isinstance(ref, str):
                raise
            return fastread.load_board(con, None, window=window)  # the pipeline was removed: show another one

    def deepen(self, depth: int) -> None:
        """Read at least `depth` cards of every cell from now on (the focus nears the end of what is loaded)."""
        if self.window is not None:
            self.window = max(self.window, depth)

    def stage_limit(self, stage_id: int) -> int | None:
        """How many cards of a column a windowed board reads again after a reorder (None: all)."""
        if self.window is None:
            return None
        deeper = max((n for (sid, _tid), n in self.deeper.items() if sid == stage_id), default=0)
        return max(self.window, deeper) * 4

    def check(self) -> bool:
        """Whether something the board shows changed since it was read (other than our own writes)."""
        if self.pipeline_id is None:
            return fastread.list_pipelines(self.raw()) != []
        sig = fastread.signature(self.raw(), self.pipeline_id)
        seen = self.seen
        if seen is None:
            return True
        return sig != seen and (sig.max_event > seen.max_event or sig.max_activity != seen.max_activity
                                or sig.config != seen.config)

    def absorb(self, deal_id: int) -> bool:
        """Mark this user's new events and activities on `deal_id` as seen. True if there are others too."""
        if self.seen is None:
            return True
        con = self.raw()
        events = fastread.events_since(con, self.seen.max_event)
        acts = fastread.activities_since(con, self.seen.max_activity)
        ours = all(d == deal_id and u == self.user for _i, d, u in events) and all(
            d == deal_id and u == self.user for _i, d, u in acts)
        if not ours:
            return True
        self.seen = replace(self.seen, max_event=events[-1][0] if events else self.seen.max_event,
                            max_activity=acts[-1][0] if acts else self.seen.max_activity)
        return False

    def aging(self, pipeline_id: int, deal_ids: tuple[int, ...] | None = None, items: bool = False) -> BoardAging:
        """Days in stage, baseline, level and risk signals of every open deal (or of `deal_ids` only), from the
        one aging function of the core (SQL aggregates; read after the board, never before its first paint).
        The items are kept only with `items` (the aging panel is open) or for a few deals."""
        from tuikanban.services.aging import aging_snapshot

        snap = aging_snapshot(self.open(), pipeline_id, deal_ids=deal_ids)
        return BoardAging(card_agings(snap.items), snap if items or deal_ids is not None else None, deal_ids)

    # -- writes ------------------------------------------------------------------------------------------------
    def move(self, deal_id: int, stage_id: int, force_reason: str | None, from_stage_id: int | None = None) -> Changed:
        """Move a deal; with `from_stage_id` (the stage the board showed, or the target of the move queued just
        before), only if it is still there: checked inside the write transaction, and refused with a sentence
        saying who moved it where (StaleMoveError)."""
        result = self._move_without_orm(deal_id, stage_id, force_reason, from_stage_id) if self.db is None else None
        if result is None:
            from tuikanban.services.deals import move_deal

            result = move_deal(self.open(), deal_id, stage_id, user=self.user, force_reason=force_reason,
                               seen_stage_id=from_stage_id)
        return Changed(fastread.card_from_deal(result.deal), self.absorb(deal_id), result)

    def _move_without_orm(self, deal_id: int, stage_id: int, force_reason: str | None,
                          from_stage_id: int | None) -> MoveResult | None:
        """A move pressed before the database is open (the ORM is imported after the first paint): written by the
        driver's own writer (`store.uow`, as `deal move` on the command line) through the same action
        (`services.deal_actions.move_deal`: WIP limits in the transaction, gates, the stale-view check, events, the
        undo record; NOTIFY by PostgreSQL's triggers), so it never waits for the ORM's import or the opening.
        None when that writer cannot use the database (the ORM path then opens, migrates or refuses it)."""
        if self.blocked is not None:
            return None
        from tuikanban.services.deal_actions import move_deal
        from tuikanban.store.uow import PgWriter, SqliteWriter

        path = self.target.path
        writer = SqliteWriter.open(path) if path is not None else PgWriter.open(self.target)
        if writer is None:
            return None
        if self._con is not None:  # the first read may have used an immutable snapshot: read live from now on
            self._con.close()
            self._con = None
        try:
            return move_deal(writer, deal_id, stage_id, user=self.user, force_reason=force_reason,
                             seen_stage_id=from_stage_id)
        finally:
            writer.close()  # (on SQLite this empties the write-ahead log, as the board's database does)

    # -- jobs (run on a lane; each returns the message that reports its result) ---------------------------------
    def load_job(self, ref: str | int | None, state: BoardState, focus_deal: int | None = None, *,
                 first: bool = False) -> BoardLoaded | LoadFailed:
        try:
            return BoardLoaded(self.load(ref, state, reveal=focus_deal), focus_deal, first)
        except Exception as exc:  # the board says why in place of the cards
            return LoadFailed(exc)

    def cell_end_job(self, pipeline_id: int, stage_id: int, type_id: int | None, any_type: bool) -> CellEnd:
        return CellEnd(fastread.last_in_cell(self.raw(), pipeline_id, stage_id, type_id, any_type=any_type))

    def open_job(self, *, create: bool = True) -> DbOpened | OpenFailed:
        try:
            return DbOpened(self.open(create=create))
        except Exception as exc:  # the board stays on screen, read-only
            return OpenFailed(exc)

    def reopen_job(self) -> DbOpened | OpenFailed:
        """Open the file now at the board's path (the one opened before was replaced or deleted). Refused while
        the old file's write-ahead log would be read into it (`store.identity.leftover_log`; another process
        still using it is refused by `open_database`)."""
        from tuikanban.store.identity import leftover_log

        path = self.target.path
        if path is not None and not path.exists():  # deleted: never an empty board created in its place
            return OpenFailed(FileGone(nothing_to_reopen(path)))
        old = self.db
        self.close()
        self.db, self._owns_db, self.seen = None, True, None
        self.blocked = leftover_log(path) if path is not None else None
        opened = self.open_job(create=False)
        if old is None or not old.let_go_reason:
            return opened
        if isinstance(opened, DbOpened):
            # the forms kept open over the replaced file hold the old database: it becomes the new one, so that
            # what their reps typed is saved into the file now at the path when they save again
            old.follow(opened.db)
            self.db = opened.db = old
        else:  # kept (refusing, with its reason) for the next reopen to make it follow, forms still holding it
            self.db = old
        return opened

    def check_job(self) -> ChangeChecked:
        try:
            return ChangeChecked(self.check())
        except Exception:  # the file went away or is locked: look again at the next poll
            return ChangeChecked(False)

    def aging_job(self, pipeline_id: int, write_seq: int | None, deal_ids: tuple[int, ...] | None = None,
                  items: bool = False) -> AgingRead | AgingFailed:
        try:
            return AgingRead(pipeline_id, write_seq, self.aging(pipeline_id, deal_ids, items))
        except Exception as exc:  # the board works on without aging colours
            return AgingFailed(exc)

    def move_job(self, card: fastread.BoardCard, stage: StageInfo, reason: str | None, from_stage_id: int,
                 target_col: int | None) -> DealMoved | MoveRefused:
        try:
            changed = self.move(card.id, stage.id, reason, from_stage_id)
        except TuikanbanError as exc:  # a WIP limit, or the deal changed meanwhile
            return MoveRefused(card, stage, target_col, from_stage_id, exc)
        return DealMoved(card.id, target_col, changed)

    def reorder_job(self, deal_id: int, stage_id: int, direction: int, same_type: bool) -> DealReordered:
        from tuikanban.services.deals import reorder_deal

        moved = reorder_deal(self.open(), deal_id, direction, user=self.user, same_type=same_type,
                             seen_stage_id=stage_id)
        assert self.pipeline_id is not None
        cards, n, v = (fastread.load_stage(self.raw(), self.pipeline_id, stage_id, limit=self.stage_limit(stage_id))
                       if moved else ([], 0, 0))
        return DealReordered(deal_id, stage_id, moved, cards, n, v, self.absorb(deal_id))

    def refresh_job(self, deal_id: int) -> DealChanged:
        self.open()
        return DealChanged(Changed(fastread.load_card(self.raw(), deal_id), self.absorb(deal_id)))

    def win_job(self, deal_id: int, note: str, seen_stage_id: int | None = None) -> DealChanged:
        from tuikanban.services.deals import win_deal

        deal = win_deal(self.open(), deal_id, user=self.user, seen_stage_id=seen_stage_id)
        return DealChanged(Changed(fastread.card_from_deal(deal), self.absorb(deal_id)), note)

    def lose_job(self, deal_id: int, reason: str, note: str, seen_stage_id: int | None = None) -> DealChanged:
        from tuikanban.services.deals import lose_deal

        deal = lose_deal(self.open(), deal_id, reason, user=self.user, seen_stage_id=seen_stage_id)
        return DealChanged(Changed(fastread.card_from_deal(deal), self.absorb(deal_id)), note)

    def remember_job(self, pipeline_name: str) -> None:
        """Remember the pipeline shown on this database for the next start (best effort: never raises)."""
        from tuikanban.settings import remember

        remember(db_path=self.target.path or self.target.display, pipeline=pipeline_name)

    def undo_job(self, pipeline_id: int, state: BoardState, redo: bool = False,
                 force_reason: str | None = None) -> UndoDone | UndoRefused:
        """Undo (or redo) this user's last action; a WIP limit comes back as `UndoRefused` (the board offers to
        force it with a reason)."""
        from tuikanban.services.undo import redo_last, undo_last

        before = self.seen.max_event if self.seen else 0
        try:
            text = (redo_last if redo else undo_last)(self.open(), pipeline_id, user=self.user,
                                                       force_reason=force_reason)
        except WipLimitError as exc:
            return UndoRefused(exc, redo)
        mine = [d for _i, d, u in fastread.events_since(self.raw(), before) if u == self.user and d is not None]
        return UndoDone(text, mine[-1] if mine else None, self.load(pipeline_id, state))
