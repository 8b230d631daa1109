"""Every private name of Textual that the UI relies on, in one place.

Textual does not promise to keep names that start with an underscore from one release to the next, so each one the
UI needs is wrapped here in a small function, and `tests/test_textual_seam.py` checks that each still exists (its
failure names the installed Textual version). When Textual offers a public way, replace the function's body here.

- `current_message_pump()`: `textual._context.active_message_pump`, the pump (app, screen or widget) whose handler
  is running. A dialog that waits for the keys already routed to its widgets must not wait for the very pump it
  runs in (it would wait for itself).
- `own_bindings(widget, key)`: `Widget._bindings`, the bindings a widget declares, with the user's keymap applied.
  The public `Screen.active_bindings` follows the focus of the moment; in a burst of keys focus may already have
  moved on, and a key must be resolved against the widget it was sent to.
- `forget_closed_widgets()`: `textual._styles_cache.StylesCache.get_inner_outer`, an `lru_cache` on a method, so
  its keys hold up to 1,024 widgets' style caches (and every line they drew) alive after their screen closed:
  opening and closing the deal detail 20 times kept about 20 MB. Cleared whenever the board is shown again.
- `write_from_span_start()`: `textual._compositor.ChopsUpdate.render_segments`, which writes a dirty line of a
  widget from the widget's left edge even when only cells further right changed (its `__rich_console__` twin skips
  the segments before the change). The board repaints only the cells that changed (`ui/board/paint.py`); with
  this, another rep's move in the third column no longer sends the first two columns again.
"""

from __future__ import annotations

from rich.console import Console
from rich.control import Control
from rich.segment import Segment
from textual._compositor import ChopsUpdate
from textual._context import active_message_pump
from textual._styles_cache import StylesCache
from textual.binding import Binding
from textual.message_pump import MessagePump
from textual.strip import Strip
from textual.widget import Widget


def current_message_pump() -> MessagePump | None:
    """The app, screen or widget whose message handler is running now; None outside any handler."""
    return active_message_pump.get(None)


def own_bindings(widget: Widget, key: str) -> list[Binding]:
    """The bindings `widget` itself declares for `key` (keymap applied), in declaration order."""
    return list(widget._bindings.key_to_bindings.get(key, ()))


__all__ = ["current_message_pump", "own_bindings"]


def forget_closed_widgets() -> None:
    """Let go of the style caches Textual's `get_inner_outer` cache keeps of widgets that are gone."""
    StylesCache.get_inner_outer.cache_clear()


def _from_span_start(strip: Strip, x: int, x1: int) -> tuple[Strip, int]:
    """`strip` (drawn from column `x`) without its segments that end at or before column `x1`, and where it now
    starts. Whole segments only: a wide character is never cut."""
    segments: list[Segment] = list(strip)
    for i, segment in enumerate(segments):
        width = segment.cell_length
        if x + width > x1:
            return (Strip(segments[i:]) if i else strip), x
        x += width
    return Strip([]), x


def _render_segments(self: ChopsUpdate, console: Console) -> str:
    """`ChopsUpdate.render_segments` (Textual 8), writing each chop from the segment that holds the span's start."""
    sequences: list[str] = []
    append = sequences.append
    move_to = Control.move_to
    last_y = self.spans[-1][0]
    for y, x1, x2 in self.spans:
        line, ends = self.chops[y], self.chop_ends[y]
        for end, (x, strip) in zip(ends, line.items(), strict=False):
            if strip is None or x > x2 or end <= x1:
                continue
            if x < x1:
                strip, x = _from_span_start(strip, x, x1)
            if x2 > x and end > x2:
                strip = strip.crop(0, x2 - x)
            if strip.cell_length:
                append(move_to(x, y).segment.text)
                append(strip.render(console))
        if y != last_y:
            append("\n")
    return "".join(sequences)


def write_from_span_start() -> None:
    """Make Textual write a partly changed line from the changed cells' segment rather than from the widget's edge
    (once per process; see the module)."""
    ChopsUpdate.render_segments = _render_segments  # type: ignore[method-assign]
