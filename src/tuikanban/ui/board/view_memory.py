"""The rep's view remembered per user and pipeline in the settings file (`tuikanban.settings.saved_view`):
swimlanes on or off, the filter as typed, and the focused deal. Restored when a pipeline is first shown, saved
when the board switches to another pipeline and when it closes. Best effort: a settings file that cannot be
written is said once, and the board works on.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

from textual.css.query import NoMatches
from textual.timer import Timer

from tuikanban.settings import SavedView, load_settings, remember_view, saved_view
from tuikanban.ui.board.state import BoardState

if TYPE_CHECKING:
    from tuikanban.ui.board.base import BoardBase


class ViewMemory:
    LOOK_S = 0.5  # how often the focused deal is noted

    def __init__(self, screen: BoardBase) -> None:
        self.screen = screen
        self.pipeline: str | None = None  # the pipeline whose view is shown (saved under its name)
        self.focus_deal: int | None = None  # the focused deal, as last seen (the view is gone when the board closes)
        self._warned = False
        self._timer: Timer | None = None

    def _look(self) -> None:
        with contextlib.suppress(NoMatches):  # (the board is closing: its view is gone)
            self.focus_deal = self.screen.view.focus_deal

    def switched(self, pipeline: str) -> None:
        """The board now shows `pipeline`: save the view of the one before, and restore this one's."""
        if pipeline == self.pipeline:
            return
        screen = self.screen
        if self._timer is None:
            self._timer = screen.set_interval(self.LOOK_S, self._look)
        self.save()
        self.pipeline = pipeline
        self.focus_deal = None
        where = screen.session.target.path or screen.session.target.display
        view = saved_view(load_settings(), where, screen.session.user, pipeline)
        if view is None:
            return
        screen.state = BoardState(lanes_on=view.lanes_on).with_query(view.query, me=screen.session.user)
        if view.focus_deal is not None and screen.view.focus_on(view.focus_deal):
            self.focus_deal = view.focus_deal

    def save(self) -> None:
        screen = self.screen
        if self.pipeline is None:
            return
        self._look()
        view = SavedView(screen.state.lanes_on, screen.state.query, self.focus_deal)
        where = screen.session.target.path or screen.session.target.display
        problem = remember_view(where, screen.session.user, self.pipeline, view)
        if problem and not self._warned:
            self._warned = True
            screen.notify(problem, severity="warning", timeout=8, markup=False)
