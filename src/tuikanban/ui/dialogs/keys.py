"""Keys typed fast (SSH, a paste) arrive together; in the board's dialogs each must act where it was typed.

Textual routes each key to the widget focused when the app reads it, but a widget's bindings are looked up only
when the key has bubbled back to the app, and `Widget.focus()` takes effect after the keys already queued. So:

- the dialogs' widgets resolve their own bindings on the key they were sent (`OwnKeys`): a backspace meant for one
  field never edits the next one;
- the keys that move focus or open a dialog are priority bindings (they run when the app reads them, before it
  routes the next key), focus is set with `Screen.set_focus` (at once), and those bindings first wait
  (`settle_keys`) until the keys routed before them are fully applied;
- dialog openers await `push_screen`: the dialog is mounted and its field focused before the next key is routed.
"""

from __future__ import annotations

import asyncio

from textual import events
from textual.widget import Widget

from tuikanban.ui.textual_seam import current_message_pump, own_bindings


async def run_own_binding(widget: Widget, event: events.Key) -> bool:
    """Run `widget`'s own (non-priority) binding for the key on `widget` itself; True when one ran."""
    for binding in own_bindings(widget, event.key):
        if not binding.priority and await widget.app.run_action(binding.action, widget):
            event.stop()
            event.prevent_default()  # the widget's usual key handling (below in its class chain) is skipped
            return True
    return False


class OwnKeys:
    """Mixin (first base, before the widget class): the widget's own bindings run in the widget, on the key it was
    sent, before its usual key handling. Not a DOMNode itself, so Textual's CSS inheritance follows the widget class.

    Textual calls the key handler of every class in the widget's class chain in turn, this one first, and stops
    once one of them prevents the default."""

    async def on_key(self, event: events.Key) -> None:
        assert isinstance(self, Widget)
        await run_own_binding(self, event)


async def drain(pumps: list[Widget]) -> None:
    """Wait (at most a second) until each widget has handled the messages already in its queue."""
    loop = asyncio.get_running_loop()
    pending: list[asyncio.Future[None]] = []
    for pump in pumps:
        if not pump.is_running:
            continue
        done: asyncio.Future[None] = loop.create_future()

        def finish(future: asyncio.Future[None] = done) -> None:
            if not future.done():
                future.set_result(None)

        if pump.call_later(finish):
            pending.append(done)
    if pending:
        await asyncio.wait(pending, timeout=1.0)


async def settle_keys(root: Widget) -> None:
    """Wait until the keys already routed to `root`'s widgets, and the messages they caused, are handled.

    A priority binding runs as soon as the app reads its key: in a burst, the keys typed just before it may still
    wait in the widgets' queues (characters for a field, a down arrow for a list). A callback posted behind them
    runs once they are applied; doing that from the deepest widgets up to `root` lets what they posted (Changed,
    OptionSelected...) bubble up and be handled too.
    """
    current = current_message_pump()  # a pump cannot wait for itself
    levels: dict[int, list[Widget]] = {}
    for node in root.walk_children(Widget):
        levels.setdefault(len(node.ancestors), []).append(node)
    for depth in sorted(levels, reverse=True):
        await drain([node for node in levels[depth] if node is not current])
    if root is not current:
        await drain([root])


__all__ = ["OwnKeys", "drain", "run_own_binding", "settle_keys"]
