"""`StyledOnce`: a screen whose first showing does not match the stylesheet against its widgets a second time.

When a screen is pushed, Textual styles it and every widget it composes as they are registered (all siblings
registered first, so `:first-child` and the like are right), then sends the screen a `ScreenResume` whose
`refresh_styles` makes it match the whole stylesheet against every widget of the screen again: a third of the CPU
of opening the new-deal form (`bench/screens_cpu.py --profile`), for styles nothing has changed in between. A
`StyledOnce` screen takes that second pass off its first `ScreenResume` only; a later one (the screen shown again
after a screen above it closed, or pushed again) refreshes its styles as Textual does. Focus, classes set in
`on_mount` and widgets composed later restyle themselves as they change, as on any screen already shown. See
docs/PERFORMANCE.md, Every screen opens at once.
"""

from __future__ import annotations

from textual import events
from textual.message import Message
from textual.message_pump import MessagePump


class StyledOnce(MessagePump):
    """Mix in before the screen class (`class X(StyledOnce, Screen[T])`). Not a DOM node itself, so Textual's
    CSS inheritance (which follows a class's first DOM-node base) still goes through the screen class."""

    _styled_once = False

    def post_message(self, message: Message) -> bool:
        if isinstance(message, events.ScreenResume) and not self._styled_once:
            self._styled_once = True
            message.refresh_styles = False  # styled as registered, a moment ago (see the module)
        return super().post_message(message)


__all__ = ["StyledOnce"]
