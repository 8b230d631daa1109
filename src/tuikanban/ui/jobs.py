"""Database work off the UI thread: the one way the UI runs it.

A `Lane` is one thread that runs jobs in the order they were submitted. A job is a plain function that does its
database work and returns the typed message that reports its result (`DealMoved`, `MetricsComputed`, ...), or
None when there is nothing to report. The lane posts that message to the widget or screen that submitted the job,
which handles it on the UI thread with `@on(...)` like any other message. An exception that escapes a job is
posted to the same target as `JobFailed` (with the job's name): refusals the caller expects (a WIP limit, a stale
edit) are better caught inside the job and returned as their own typed message (`MoveRefused`).

Why lanes and not one Textual thread worker per call: order. Two quick moves of one deal must reach the database
in the order they were typed, and a form's save must not overtake the move made just before it. So every write
goes on the app's one `writes` lane. Reads that take long and must never hold up a key (the aging of a whole
pipeline, the metrics) go on the `reads` lane. Both lanes are this class; nothing in the UI starts a thread of its
own.

`Lane.pending` counts the jobs submitted whose message has not been handled yet (tests wait for it to reach 0):
after posting a job's message the lane queues a callback on the same target, which runs after the message's
handler because a target handles its queue in order.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import deque
from collections.abc import Callable

from textual.message import Message
from textual.message_pump import MessagePump

Job = Callable[[], Message | None]

# A screen opening: long background work that can pause (the imports after the first paint, in steps) waits until
# this long after it, so that the screen has the interpreter to itself (docs/PERFORMANCE.md, After the first paint).
SCREEN_QUIET_S = 0.5
STEP_ASIDE_AT_MOST_S = 2.0  # (per step: screens opened one after the other never stop the work for good)
# A key: the same work waits until this long after its bytes came (noted on the terminal's input thread, before the
# event loop has seen the key), long enough for the key's own frame (docs/PERFORMANCE.md, Round 6: a key before
# the work after the start).
KEY_QUIET_S = 0.15
_last_screen = 0.0
_last_key = 0.0


def screen_opening() -> None:
    """Note that a screen is being shown (the app calls this on the UI thread whenever its screen changes)."""
    global _last_screen
    _last_screen = time.monotonic()


def key_arrived() -> None:
    """Note that a key came (any thread: the terminal's input thread calls it as it reads the key)."""
    global _last_key
    _last_key = time.monotonic()


def step_aside() -> None:
    """Between the steps of long background work: wait while a screen opened less than SCREEN_QUIET_S ago, or a
    key came less than KEY_QUIET_S ago. Only one thread runs Python at a time, so a lane importing modules takes
    half the interpreter from a key being handled and a screen opening. On a lane's thread, the EARLY jobs waiting
    (a card move pressed meanwhile) run first (`Lane.run_early`), and the work does not wait while another job waits
    for it to end (the deal detail's read, opened in the first second, comes after the opening:
    `Lane.waited_for`)."""
    lane = getattr(_running, "lane", None)
    end = time.monotonic() + STEP_ASIDE_AT_MOST_S
    while True:
        if lane is not None:
            lane.run_early()
            if lane.waited_for():
                return  # a job (a screen's read) waits for this work to end: pausing it would only delay that
        now = time.monotonic()
        if not (now < end and (now - _last_screen < SCREEN_QUIET_S or now - _last_key < KEY_QUIET_S)):
            return
        time.sleep(0.02)


class JobFailed(Message):
    """A job raised `error`; `job` names it (the caller's label, for the log and for telling jobs apart)."""

    def __init__(self, job: str, error: BaseException) -> None:
        super().__init__()
        self.job = job
        self.error = error


_Item = tuple[MessagePump, Job, str, str]  # (target, job, name, kind: "", WARM or EARLY)
WARM = "warm"  # warm-up work after the first paint (imports, the opening): nothing waits for it in order
EARLY = "early"  # a user's action that may run ahead of the warm-up work queued before it (and only of that)
_running = threading.local()  # the lane whose thread this is (for `step_aside`)


class Lane:
    """One thread that runs jobs in submission order and posts each job's message to the job's target.

    One exception to the order: a job submitted as EARLY (a card move, written without the ORM) runs before the
    WARM jobs queued ahead of it (the screens' and the ORM's imports, the database's opening), never before any
    other job; and a WARM job running meanwhile lets it run between two of its steps (`step_aside`). So the first
    move after start does not wait for the warm-up (docs/PERFORMANCE.md, After the first paint)."""

    def __init__(self, name: str, *, on_stop: Callable[[], None] | None = None) -> None:
        self.name = name
        self._items: deque[_Item | None] = deque()
        self._ready = threading.Condition()
        self._on_stop = on_stop
        self._lock = threading.Lock()
        self._pending = 0
        self._in_early = False
        # Started with its first job (after the first paint, for the app's lanes): a thread started before it waits
        # for a turn of the interpreter and of a core, which a loaded machine makes the first paint wait for too.
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._started = False

    @property
    def pending(self) -> int:
        """Jobs submitted whose result has not been handled on the UI thread yet."""
        return self._pending

    def submit(self, target: MessagePump, job: Job, *, name: str = "", kind: str = "") -> None:
        """Run `job` after every job submitted before it (an EARLY job: after every one but the WARM ones); post
        its message (or `JobFailed`) to `target`."""
        with self._lock:
            self._pending += 1
        self._put((target, job, name or getattr(job, "__name__", "job"), kind))

    def stop(self) -> None:
        """Finish the jobs already queued, then run `on_stop` (on the lane's thread) and end the thread."""
        self._put(None)

    def join(self, timeout: float) -> None:
        with self._ready:
            if not self._started:
                return  # (never given a job: nothing to wait for)
        self._thread.join(timeout)

    def _put(self, item: _Item | None) -> None:
        with self._ready:
            self._items.append(item)
            self._ready.notify()
            if not self._started:
                self._started = True
                self._thread.start()

    def _early_index(self) -> int | None:
        """Where the first job that is not WARM waits, if it is EARLY (only WARM jobs before it)."""
        for i, item in enumerate(self._items):
            if item is None or item[3] != WARM:
                return i if item is not None and item[3] == EARLY else None
        return None

    def _take(self) -> _Item | None:
        with self._ready:
            while not self._items:
                self._ready.wait()
            i = self._early_index()
            if i is None:
                return self._items.popleft()
            item = self._items[i]
            del self._items[i]
            return item

    def waited_for(self) -> bool:
        """Whether a job that is not WARM waits behind the WARM ones (it runs only once they are done)."""
        with self._ready:
            return any(item is None or item[3] != WARM for item in self._items)

    def run_early(self) -> None:
        """Run the EARLY jobs waiting (on this lane's thread, between two steps of a WARM job)."""
        if self._in_early:
            return
        self._in_early = True
        try:
            while True:
                with self._ready:
                    i = self._early_index()
                    if i is None:
                        return
                    item = self._items[i]
                    del self._items[i]
                assert item is not None
                self._run(item)
        finally:
            self._in_early = False

    def _settled(self) -> None:
        with self._lock:
            self._pending -= 1

    def _loop(self) -> None:
        _running.lane = self
        while True:
            item = self._take()
            if item is None:
                if self._on_stop is not None:  # connections are closed by the thread that used them
                    with contextlib.suppress(Exception):  # closing at exit: nothing left to tell the user
                        self._on_stop()
                return
            self._run(item)
            item = None  # (not kept while the next is waited for: a closed screen's job would keep the screen)

    def _run(self, item: _Item) -> None:
        target, job, name, _kind = item
        message: Message | None
        try:
            message = job()
        except Exception as exc:  # delivered to the UI thread, which shows it
            message = JobFailed(name, exc)
        delivered = True
        if message is not None:
            delivered = target.post_message(message)
        # Runs after the message's handler: a target handles its queue in order.
        if not (delivered and target.call_later(self._settled)):
            self._settled()  # the target has closed: nobody will handle anything


class Lanes:
    """The app's two lanes: `writes` (every write, and the reads that must follow them in order) and `reads`
    (long reads that must not hold up a key). The app owns one `Lanes` as `app.lanes` and stops it at exit."""

    def __init__(self, *, on_stop: Callable[[], None] | None = None) -> None:
        self.writes = Lane("tuikanban-db", on_stop=on_stop)
        self.reads = Lane("tuikanban-reads")

    @property
    def pending(self) -> int:
        return self.writes.pending + self.reads.pending

    def stop(self) -> None:
        self.reads.stop()
        self.writes.stop()

    def join(self, timeout: float) -> None:
        self.writes.join(timeout)
        self.reads.join(timeout)


def lanes_of(node: MessagePump) -> Lanes:
    """The lanes of `node`'s app (`app.lanes`); an app without them (a test harness) gets a pair on first use."""
    app = node.app
    lanes = getattr(app, "lanes", None)
    if not isinstance(lanes, Lanes):
        lanes = Lanes()
        app.lanes = lanes  # type: ignore[attr-defined]
    return lanes
