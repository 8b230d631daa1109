"""`WholeOnce`: a full screen drawn whole once when it is shown again, not three times.

Textual draws a screen whole in the layout pass of its `ScreenResume`, then asks for a whole repaint again (its own
refresh, and the one its layout asked for); and each time it removes a screen from above it (a dialog closed), it
asks the screen that is now on top for a layout and a whole repaint, twice, after the frame that drew it. Each of
those is a full frame of what is on the terminal already (8.7 KB for the Today screen at 160x45, 20-40 KB for the
board): a rep over SSH paid three of them to close a dialog. A `WholeOnce` screen drops those repeats:

- while its resume draws it at a new size (the first show, a resize under a dialog), a whole repaint asked for
  meanwhile is that same frame, and is left out (a layout asked for still runs, without the repaint);
- once it has been shown at the terminal's size, a layout with a whole repaint asked for it keeps the layout, which
  repaints whatever it moves or resizes, without the whole repaint; whatever changed inside a widget repaints
  itself.

A repaint of some regions, or of a widget, is never touched. Mix in before the screen class
(`class X(WholeOnce, Screen[T])`); its `on_screen_resume` runs beside the screen's own (Textual calls the handler of
every class of the MRO). See docs/PERFORMANCE.md, Bytes to the terminal.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Self

from textual.message_pump import MessagePump

if TYPE_CHECKING:
    from textual.geometry import Region, Size


class WholeOnce(MessagePump):
    """Mix in before the screen class (see the module). Not a DOM node itself, as `StyledOnce`."""

    _drawn_by_resume = False  # Textual's resume is drawing the whole screen at a new size
    _shown = False  # the screen was shown and laid out at least once
    if TYPE_CHECKING:
        outer_size: Size

    def on_screen_resume(self) -> None:
        """(Runs before Textual's own resume handler.)"""
        self._drawn_by_resume = self.outer_size != self.app.size
        self.call_later(self._resume_done)

    def _resume_done(self) -> None:
        self._drawn_by_resume = False
        self._shown = True

    def refresh(self, *regions: Region, repaint: bool = True, layout: bool = False, recompose: bool = False
                ) -> Self:
        if self._drawn_by_resume and not regions and not recompose:
            # the layout under way draws the whole screen at once: a repaint asked for meanwhile is that frame again
            if not layout:
                return self
            repaint = False
        elif layout and repaint and not regions and not recompose and self._shown and self.outer_size == self.app.size:
            repaint = False  # (a screen above it closed: the frame that showed it again drew it whole)
        return super().refresh(*regions, repaint=repaint, layout=layout,  # type: ignore[misc]
                               recompose=recompose)


__all__ = ["WholeOnce"]
