"""Keeping the cards' aging (days-in-stage colours and risk marks, from `services.aging`) and the aging panel in
step with the board.

The aging is read after the board, never before its first paint (badges stay plain until it arrives). The whole
pipeline's read runs on the app's `reads` lane (about 0.1 s at 10,000 open deals), so that a key pressed meanwhile
does not queue behind it on the `writes` lane. After one of our writes, the written deal's aging is read on the
`writes` lane a moment later and patched in; everything is read again once the writes pause (a stay that ended
moves its stage's baseline, and so other deals' levels). A full read that started before one of our writes may
miss it: its result is dropped (the next one is scheduled).

The aging panel, while open, shows the board's own aging read (the full items are kept only then) under the
board's filter; for a big pipeline (a partial model) it reads its own pages instead, and is told to read them again
after each full read (docs/PERFORMANCE.md, The board at 100,000 deals).
"""

from __future__ import annotations

from bisect import insort
from functools import partial
from typing import TYPE_CHECKING

from textual.timer import Timer

from tuikanban.domain.errors import TuikanbanError
from tuikanban.ui.board.messages import AgingFailed, AgingRead, BoardAging
from tuikanban.ui.board.view import CardAging
from tuikanban.ui.jobs import lanes_of

if TYPE_CHECKING:
    from tuikanban.domain.aging import AgingSnapshot
    from tuikanban.ui.board.base import BoardBase


def patch_aging(snapshot: AgingSnapshot | None, cards: dict[int, CardAging], fresh: BoardAging) -> None:
    """Put the re-read deals of `fresh` into the board's aging (the items in severity order); drop those no longer
    open."""
    ids = set(fresh.deal_ids or ())
    for deal_id in ids:
        cards.pop(deal_id, None)
    cards.update(fresh.cards)
    if snapshot is None or fresh.snapshot is None:
        return
    from tuikanban.domain.aging import sort_key

    items = [i for i in snapshot.items if i.id not in ids]
    for item in fresh.snapshot.items:
        insort(items, item, key=sort_key)
    snapshot.items = items
    snapshot.stages = fresh.snapshot.stages


class AgingSync:
    """The board's aging reads, their timers and the write sequence that tells a stale read from a fresh one."""

    SETTLE_S = 1.0  # everything is read again once the writes pause for this long
    PATCH_DELAY_S = 0.1  # a written deal's own read waits this long (its repaint goes first)

    def __init__(self, screen: BoardBase) -> None:
        self.screen = screen
        # every open deal's aging item, kept while the aging panel is open (the cards need only view.aging)
        self.snapshot: AgingSnapshot | None = None
        self.write_seq = 0  # our writes so far (a full read started before the last one is stale)
        self.patches_due = 0  # written deals' reads waiting for their moment (PATCH_DELAY_S)
        self._settle: Timer | None = None

    def read_all(self) -> None:
        """Read the aging of every open deal of the pipeline shown (on the reads lane)."""
        if self._settle is not None:
            self._settle.stop()
            self._settle = None
        screen = self.screen
        pid = screen.pipeline_id
        if pid is None or screen.session.db is None:
            return
        model = screen.model
        # A big pipeline's board holds only each cell's top cards: their aging is read, not the pipeline's (the
        # aging panel, when open, reads its own pages then).
        ids = tuple(model.by_id) if model is not None and self.lazy else None
        items = screen.aging_panel is not None and not self.lazy
        job = partial(screen.gateway.aging_job, pid, self.write_seq, ids, items)
        lanes_of(screen).reads.submit(screen, job, name="aging")

    @property
    def lazy(self) -> bool:
        """A big pipeline: the board holds each cell's top cards, and the aging panel reads its own pages."""
        model = self.screen.model
        return model is not None and model.partial

    def after_write(self, deal_id: int) -> None:
        """A write of ours touched `deal_id`: read its aging in a moment, and everything once the writes pause."""
        screen = self.screen
        pid = screen.pipeline_id
        if pid is None or screen.session.db is None:
            return
        self.write_seq += 1
        self.patches_due += 1
        # A moment later, not at once: the write's repaint is still on its way to the terminal, and a thread
        # running Python meanwhile takes the GIL from it (measured: +5 ms on a card move at 10,000 deals).
        screen.set_timer(self.PATCH_DELAY_S, partial(self._read_written, pid, deal_id))
        if self._settle is not None:
            self._settle.stop()
        self._settle = screen.set_timer(self.SETTLE_S, self.read_all)

    def _read_written(self, pipeline_id: int, deal_id: int) -> None:
        self.patches_due -= 1
        screen = self.screen
        if screen.pipeline_id == pipeline_id:
            job = partial(screen.gateway.aging_job, pipeline_id, None, (deal_id,))
            lanes_of(screen).writes.submit(screen, job, name="aging")

    def received(self, message: AgingRead) -> None:
        screen = self.screen
        if screen.pipeline_id != message.pipeline_id:
            return  # another pipeline is shown now
        if message.write_seq is not None and message.write_seq != self.write_seq:
            return  # a full read that may predate one of our writes (the next one is scheduled)
        result = message.result
        view = screen.view
        if result.deal_ids is None or message.write_seq is not None:  # (every card the board holds)
            self.snapshot = result.snapshot if screen.aging_panel is not None else None
            view.set_aging(result.cards)
            if screen.aging_panel is not None and self.snapshot is None and not self.lazy:
                self.read_all()  # the panel opened while a read without the items was on its way
            self.show_in_panel(reread=True)
        else:
            cards = view.aging
            before = [cards.get(d) for d in result.deal_ids]
            patch_aging(self.snapshot, cards, result)
            if before != [cards.get(d) for d in result.deal_ids]:
                view.refresh()  # (not after a move, whose card was painted as it is now)
            self.show_in_panel()  # (a big pipeline's panel reads again after the full read that follows)

    def failed(self, message: AgingFailed) -> None:
        """The board works on without aging colours; the panel, if open, says why."""
        screen = self.screen
        screen.log.error(f"aging: {message.error!r}")
        if screen.aging_panel is not None:
            error = message.error
            screen.aging_panel.show_error(str(error) if isinstance(error, TuikanbanError)
                                          else "The aging of this pipeline could not be read.")

    def clear(self) -> None:
        self.snapshot = None
        self.screen.view.set_aging({})
        self.show_in_panel()

    def show_in_panel(self, *, reread: bool = False) -> None:
        """Show the board's aging in the panel, under the board's filter; a big pipeline's panel reads its own
        pages (again, with `reread`: the aging changed)."""
        screen = self.screen
        panel = screen.aging_panel
        if panel is None:
            return
        if self.lazy and screen.session.db is not None and screen.pipeline_id is not None:
            panel.follow(screen.session.db, screen.pipeline_id, reread=reread)
        elif self.snapshot is not None and self.snapshot.pipeline_id == screen.pipeline_id:
            panel.show_snapshot(self.snapshot, screen.state.filter)
        else:
            panel.show_waiting()
