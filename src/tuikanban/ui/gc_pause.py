"""No garbage collection while a screen opens: from its key until it has been drawn.

Opening a screen allocates tens of thousands of objects (widgets, styles, strips), enough for CPython's collector
to run a full pass during most opens, and a full pass over what the board holds after the start costs 40-90 ms of
CPU (most of it the previous screen's widgets, which only a full pass frees): measured in a board at 10,000 open
deals, 16 full passes in 18 opens and closes of three dialogs, a median of 61 ms each. The board
already keeps the collector off until its first paint (`cli.board`, `board.base.collect_garbage_again`); a screen
now does the same for its own first frame: `pause()` turns the collector off (when it is on) and
`resume_once_drawn(app, screen)` back on once the screen has been drawn, and at the latest PAUSE_AT_MOST_S later.
The same passes run, after the frame instead of before it, and free what they freed before. The app pauses it for
every screen it pushes (`TuikanbanApp.push_screen`) but one whose `PAUSE_GC_ON_OPEN` is false (none since the
metrics screen opens with its frame only: docs/PERFORMANCE.md, The metrics screen at once), the board for its aging
panel. See docs/PERFORMANCE.md, Every screen opens at once.
"""

from __future__ import annotations

import gc
from typing import Any

from textual.app import App
from textual.message_pump import MessagePump

PAUSE_AT_MOST_S = 1.0

_paused = False


def _resume() -> None:
    global _paused
    if _paused:
        _paused = False
        gc.enable()


def pause() -> None:
    """Turn the collector off for an opening (when it is on: off for the start, it is left to whoever turned it
    off); `resume_once_drawn` turns it on again."""
    global _paused
    if gc.isenabled():
        gc.disable()
        _paused = True


def resume_once_drawn(app: App[Any], node: MessagePump) -> None:
    """Turn the collector on again (if `pause` turned it off) once `node` (a screen just pushed, a widget just
    mounted) has been drawn, and at the latest PAUSE_AT_MOST_S from now."""
    if not _paused:
        return
    if not node.call_after_refresh(_resume):
        _resume()
        return
    app.set_timer(PAUSE_AT_MOST_S, _resume)  # (the app's timer: the screen's would stop with the screen)


def paused() -> bool:
    """True while an opening keeps the collector off."""
    return _paused


__all__ = ["PAUSE_AT_MOST_S", "pause", "paused", "resume_once_drawn"]
