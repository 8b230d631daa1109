"""The rep's view remembered per user and pipeline in the settings file (`tuikanban.settings.saved_view`):
swimlanes on or off, the filter as typed, the order within the columns (`o`), the card density (`d`) and the
focused deal. Restored when a pipeline is first shown, saved when the board switches to another pipeline and when
it closes. A pipeline never seen before keeps the view as it is (the density at start: the one the user chose last,
`density.py`). Best effort: a settings file that cannot be written is said once, and the board works on.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

from textual.css.query import NoMatches

from tuikanban.settings import SavedView, load_settings, remember_view, saved_view
from tuikanban.ui.board import sorting
from tuikanban.ui.board.density import COMPACT, NORMAL
from tuikanban.ui.board.state import BoardState

if TYPE_CHECKING:
    from tuikanban.ui.board.base import BoardBase


class ViewMemory:
    def __init__(self, screen: BoardBase) -> None:
        self.screen = screen
        self.pipeline: str | None = None  # the pipeline whose view is shown (saved under its name)
        self.focus_deal: int | None = None  # the focused deal, as last seen (the view is gone when the board closes)
        self.density: str | None = None  # the density, as last seen
        self._warned = False
        self._listening = False

    def _look(self) -> None:
        with contextlib.suppress(NoMatches):  # (the board is closing: its view is gone)
            self.focus_deal = self.screen.view.focus_deal
            self.density = COMPACT if self.screen.view.compact else NORMAL

    def _focus_moved(self, deal_id: int | None) -> None:
        self.focus_deal = deal_id

    def noted(self) -> None:
        """Take in a change of the view now (the density, the focus) rather than at the next look: the board may
        close before it, and it is then no longer there to be looked at."""
        self._look()

    def switched(self, pipeline: str) -> None:
        """The board now shows `pipeline`: save the view of the one before, and restore this one's."""
        if pipeline == self.pipeline:
            return
        screen = self.screen
        if not self._listening:  # the view says when the focus moves (no timer wakes an idle board to look)
            self._listening = True
            screen.view.focus_listener = self._focus_moved
        self.save()
        self.pipeline = pipeline
        self.focus_deal = None
        where = screen.session.target.path or screen.session.target.display
        view = saved_view(load_settings(), where, screen.session.user, pipeline)
        if view is None:
            self._look()
            return
        if view.density is not None and (view.density == COMPACT) != screen.view.compact:
            screen.view.compact = view.density == COMPACT
            screen.view.model_changed()
        sort = view.sort if view.sort in sorting.SORTS else sorting.RANK
        screen.state = BoardState(lanes_on=view.lanes_on, sort=sort).with_query(view.query, me=screen.session.user)
        if view.focus_deal is not None:
            screen.view.focus_on(view.focus_deal)
        self._look()  # (what is shown now: the board may close before the next look)

    def save(self) -> None:
        screen = self.screen
        if self.pipeline is None:
            return
        self._look()
        view = SavedView(screen.state.lanes_on, screen.state.query, self.focus_deal, screen.state.sort,
                         self.density)
        where = screen.session.target.path or screen.session.target.display
        problem = remember_view(where, screen.session.user, self.pipeline, view)
        if problem and not self._warned:
            self._warned = True
            screen.notify(problem, severity="warning", timeout=8, markup=False)
