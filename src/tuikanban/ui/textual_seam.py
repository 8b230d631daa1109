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
"""

from __future__ import annotations

from textual._context import active_message_pump
from textual._styles_cache import StylesCache
from textual.binding import Binding
from textual.message_pump import MessagePump
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
