"""Run the board (as `python -m tuikanban`) with a trace of its UI thread, for bench/first_keys_bench.py --trace.

    TUIKANBAN_KEY_TRACE=FILE python bench/key_trace.py [tuikanban's arguments]

Before the app is imported, this wraps a few of asyncio's and Textual's functions so that every step of the event
loop (an `asyncio` callback: a task's step, a timer, a thread's `call_soon_threadsafe`) that takes 1 ms or more of
wall time is recorded with its wall time, its UI-thread CPU and what it ran (the message being dispatched by the
message pump whose task it is, or the callback's name); each frame written (`App._display`: the compositor's
update turned into bytes and handed to the output thread) with its size; and each key as Textual's input thread
made it (the event's own timestamp) and as the app received it. On SIGUSR1 the record is written to FILE as JSON
lines (times are `time.monotonic()`, the clock the bench uses) and the process carries on.

Nothing here changes what the board does; the wrappers cost a few microseconds per step.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from asyncio import events as aio_events
from asyncio import tasks as aio_tasks
from pathlib import Path
from typing import Any

RECORD: list[dict[str, Any]] = []
_CURRENT: dict[int, str] = {}  # id(task) -> the message its pump dispatches
_LAST: dict[int, str] = {}  # id(task) -> the last message its pump dispatched
_MIN_S = 0.001


def _name_of(callback: Any) -> str:
    task = getattr(callback, "__self__", None)
    if isinstance(task, aio_tasks.Task):
        doing = _CURRENT.get(id(task)) or _LAST.pop(id(task), None)
        if doing:
            return doing
        coro = task.get_coro()
        name = getattr(coro, "__qualname__", repr(coro))
        owner = getattr(getattr(coro, "cr_frame", None), "f_locals", {}).get("self")
        if name == "Timer._run_timer" and owner is not None:
            callback = getattr(owner, "_callback", None)
            return f"timer {getattr(owner, '_name', '')}: {getattr(callback, '__qualname__', callback)}"
        return name
    return getattr(callback, "__qualname__", repr(callback))


def install() -> None:
    original_run = aio_events.Handle._run

    def run(self: aio_events.Handle) -> None:
        t0, c0 = time.monotonic(), time.thread_time()
        original_run(self)
        t1 = time.monotonic()
        if t1 - t0 >= _MIN_S:
            RECORD.append({"kind": "step", "t0": t0, "t1": t1, "cpu": time.thread_time() - c0,
                           "what": _name_of(self._callback)})

    aio_events.Handle._run = run  # type: ignore[method-assign]

    from textual.app import App
    from textual.message_pump import MessagePump

    original_dispatch = MessagePump._dispatch_message

    async def dispatch(self: MessagePump, message: Any) -> None:
        import asyncio

        task = asyncio.current_task()
        key = id(task)
        before = _CURRENT.get(key)
        _CURRENT[key] = _LAST[key] = f"{type(self).__name__}:{type(message).__name__}"
        if type(message).__name__ == "Key":
            RECORD.append({"kind": "key", "made": message.time, "t0": time.monotonic(), "key": message.key,
                           "pump": type(self).__name__})
        try:
            await original_dispatch(self, message)
        finally:
            if before is None:
                _CURRENT.pop(key, None)
            else:
                _CURRENT[key] = before

    MessagePump._dispatch_message = dispatch  # type: ignore[method-assign]

    async def flush(self: MessagePump) -> None:  # (Textual's, each callback timed: call_after_refresh, call_next)
        from textual._callback import invoke

        callbacks = self._next_callbacks.copy()
        self._next_callbacks.clear()
        for callback in callbacks:
            t0, c0 = time.monotonic(), time.thread_time()
            try:
                with self.prevent(*callback._prevent):
                    await invoke(callback.callback)
            except Exception as error:
                self.app._handle_exception(error)
                break
            finally:
                if time.monotonic() - t0 >= _MIN_S:
                    fn = callback.callback
                    RECORD.append({"kind": "callback", "t0": t0, "t1": time.monotonic(),
                                   "cpu": time.thread_time() - c0,
                                   "what": f"{type(self).__name__}: {getattr(fn, '__qualname__', fn)}"})

    MessagePump._flush_next_callbacks = flush  # type: ignore[method-assign]

    from textual._callback import invoke
    from textual.screen import Screen

    async def after_refresh(self: Screen[Any]) -> None:  # (Textual's, each call_after_refresh callback timed)
        if self._callbacks:
            callbacks = self._callbacks[:]
            self._callbacks.clear()
            for callback, message_pump in callbacks:
                t0, c0 = time.monotonic(), time.thread_time()
                with message_pump._context():
                    await invoke(callback)
                if time.monotonic() - t0 >= _MIN_S:
                    RECORD.append({"kind": "callback", "t0": t0, "t1": time.monotonic(),
                                   "cpu": time.thread_time() - c0,
                                   "what": f"after refresh, {type(message_pump).__name__}: "
                                           f"{getattr(callback, '__qualname__', callback)}"})

    Screen._invoke_and_clear_callbacks = after_refresh  # type: ignore[method-assign]

    original_display = App._display

    def display(self: App[Any], screen: Any, renderable: Any) -> None:
        t0, c0 = time.monotonic(), time.thread_time()
        original_display(self, screen, renderable)
        RECORD.append({"kind": "frame", "t0": t0, "t1": time.monotonic(), "cpu": time.thread_time() - c0,
                       "screen": type(screen).__name__, "stack": [type(s).__name__ for s in self.screen_stack],
                       "renderable": type(renderable).__name__})

    App._display = display  # type: ignore[method-assign]

    def dump(_signum: int, _frame: Any) -> None:
        path = os.environ.get("TUIKANBAN_KEY_TRACE")
        if path:
            Path(path).write_text("".join(json.dumps(r) + "\n" for r in RECORD))

    signal.signal(signal.SIGUSR1, dump)


if __name__ == "__main__":
    install()
    sys.argv[0] = "tuikanban"
    from tuikanban.cli import main

    main()
