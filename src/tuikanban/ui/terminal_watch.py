"""The board ends when its terminal goes away (an SSH drop, `tmux kill-session`, the pty closed).

Without this a board whose terminal hung up would live on: Textual's input thread sees the dead terminal as
always readable and spins, and the rep's presence row would stay until it went stale. Two signs are watched: SIGHUP
(sent when the terminal that controls the board hangs up) and, for a terminal that is not the controlling one
(a board started by a program on a pty of its own), a hang-up seen by `poll` on stdin or stdout once a second.
Either way the app exits normally, so the board leaves its presence seat and closes the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import select
import signal
import sys
from typing import Any

from textual.app import App

from tuikanban.ui.textual_seam import outlive_a_dead_terminal

CHECK_SECONDS = 1.0
_GONE = select.POLLHUP | select.POLLERR | select.POLLNVAL


def terminal_gone(*fds: int) -> bool:
    """Whether any of `fds` is a terminal that hung up (or a descriptor that is no longer open)."""
    poller = select.poll()
    for fd in fds:
        poller.register(fd, select.POLLIN)
    return any(events & _GONE for _fd, events in poller.poll(0))


def _std_fds() -> tuple[int, ...]:
    fds: list[int] = []
    for stream in (sys.__stdin__, sys.__stdout__):
        with contextlib.suppress(AttributeError, OSError, ValueError):  # closed or replaced streams
            if stream is not None:
                fds.append(stream.fileno())
    return tuple(fds)


def watch_terminal(app: App[Any]) -> None:
    """Exit `app` within about CHECK_SECONDS of its terminal going away (nothing for a headless app)."""
    if app.is_headless:
        return
    outlive_a_dead_terminal()  # (Textual's output thread ends at the first write after a hang-up)
    fds = _std_fds()

    def lost() -> None:
        app.exit()

    with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):  # no signals here: the poll remains
        asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, lost)

    def check() -> None:
        if fds and terminal_gone(*fds):
            lost()

    app.set_interval(CHECK_SECONDS, check)
