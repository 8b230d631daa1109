"""A board (or any terminal program) on a pseudo-terminal of its own, for the byte and CPU benchmarks.

`PtyProgram` spawns a command on a fresh pty of COLS x ROWS in its own session, reads everything it writes on a
thread (each chunk timestamped), and answers the few terminal queries a program may wait for (cursor position,
device attributes). What the benchmarks need from it:

- `wait_for(text)`: the output so far holds `text` (a stage name: the board is painted);
- `quiet(ms)`: wait until the program has written nothing for `ms` milliseconds;
- `written_since(t)` / `mark()`: bytes written to the terminal since a moment;
- `cpu_seconds()`: user + system CPU of the process (all its threads), from /proc;
- `key(name)`: write a key press;
- `row(y)`: a line of the screen as a terminal shows it (with `screen=True`: everything written is fed to pyte);
  `lines()`: all of them at once;
- `watch(fn)`: `fn(arrival, lines)` on the reading thread after each chunk is fed to the screen, with the chunk's
  arrival time, so that a benchmark times what it looks for by when its bytes came, not by when it looked.

pyte renders a line character by character (about 0.2 ms a line of 160 columns on a quiet core, several times that
under load): `row(y)` renders line `y` alone (pyte's `display` renders all of them), and a benchmark that looks at
the whole screen takes `lines()` once. Before, a look at the whole screen called `row(y)` for each of 45 lines, each
rendering the whole screen: 45 renders of it, 0.1-0.4 s of the benchmark's CPU per look, during which the reading
thread waited for the lock (docs/PERFORMANCE.md, Round 6: where a key's time goes).

Nothing here asserts a figure; bench/board_bench.py and bench/boards_bench.py print them.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import pty
import queue
import signal
import struct
import subprocess
import termios
import threading
import time
from typing import Any

KEYS = {
    "up": b"\x1b[A", "down": b"\x1b[B", "right": b"\x1b[C", "left": b"\x1b[D",
    "shift+right": b"\x1b[1;2C", "shift+left": b"\x1b[1;2D", "enter": b"\r", "escape": b"\x1b",
}
TICKS = os.sysconf("SC_CLK_TCK")


class PtyProgram:
    def __init__(self, cmd: list[str], *, env: dict[str, str], cols: int = 160, rows: int = 45,
                 screen: bool = False) -> None:
        self.cols, self.rows = cols, rows
        self.screen: Any = None  # with `screen`, a pyte screen fed everything written (`row(y)`)
        if screen:
            import pyte

            self.screen = pyte.Screen(cols, rows)
            self._stream = pyte.ByteStream(self.screen)
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        full_env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": str(cols), "LINES": str(rows), **env}

        def controlling_tty() -> None:
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)

        self.started = time.monotonic()
        self.proc = subprocess.Popen(cmd, stdin=slave, stdout=slave, stderr=slave, env=full_env,
                                     start_new_session=True, preexec_fn=controlling_tty, close_fds=True)
        os.close(slave)
        self.master = master
        self.chunks: list[tuple[float, int]] = []  # (arrival, bytes)
        self.text = bytearray()  # everything written (for markers)
        self.total = 0
        self._lock = threading.Lock()
        self._watch: Any = None  # (watch)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        """Read and timestamp; the screen is fed on a thread of its own (`_feed`), so that a slow parse never delays
        the next read, nor the next chunk's timestamp."""
        feeding: queue.SimpleQueue[tuple[float, bytes] | None] | None = None
        if self.screen is not None:
            feeding = queue.SimpleQueue()
            threading.Thread(target=self._feed, args=(feeding,), daemon=True).start()
        try:
            while True:
                try:
                    data = os.read(self.master, 65536)
                except OSError:
                    return
                if not data:
                    return
                now = time.monotonic()
                with self._lock:
                    self.chunks.append((now, len(data)))
                    self.total += len(data)
                    self.text += data
                    if len(self.text) > 4_000_000:
                        del self.text[:2_000_000]
                if feeding is not None:
                    feeding.put((now, data))
                self._answer(data)
        finally:
            if feeding is not None:
                feeding.put(None)

    def _feed(self, feeding: queue.SimpleQueue[tuple[float, bytes] | None]) -> None:
        while (item := feeding.get()) is not None:
            arrival, data = item
            with self._lock:
                try:
                    self._stream.feed(data)
                except (TypeError, ValueError, StopIteration):  # (pyte cannot parse a sequence, e.g. a cursor
                    import pyte  # position with a third parameter; it killed this thread: a new parser from here)

                    self._stream = pyte.ByteStream(self.screen)
                if self._watch is not None:
                    self._watch(arrival, self._lines())

    def _answer(self, data: bytes) -> None:
        """Reply to the queries a terminal answers (a program may wait for them)."""
        if b"\x1b[6n" in data:
            os.write(self.master, b"\x1b[1;1R")
        if b"\x1b[c" in data or b"\x1b[0c" in data:
            os.write(self.master, b"\x1b[?62;22c")

    # -- waiting -------------------------------------------------------------------------------------------------
    def wait_for(self, marker: str, timeout: float = 60.0) -> float:
        """Seconds from spawn until `marker` was written (raises TimeoutError)."""
        needle = marker.encode()
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with self._lock:
                if needle in self.text:
                    return time.monotonic() - self.started
            if self.proc.poll() is not None:
                raise RuntimeError(f"the program exited ({self.proc.returncode}): {bytes(self.text[-400:])!r}")
            time.sleep(0.005)
        raise TimeoutError(f"{marker!r} not on screen within {timeout} s")

    def last_write(self) -> float:
        with self._lock:
            return self.chunks[-1][0] if self.chunks else self.started

    def quiet(self, ms: float, max_s: float = 30.0) -> None:
        """Wait until nothing was written for `ms` milliseconds (or `max_s` passed)."""
        end = time.monotonic() + max_s
        while time.monotonic() < end:
            idle = time.monotonic() - self.last_write()
            if idle >= ms / 1000:
                return
            time.sleep(min(0.01, ms / 1000 - idle + 0.001))

    def mark(self) -> int:
        with self._lock:
            return self.total

    def since(self, mark: int) -> int:
        with self._lock:
            return self.total - mark

    def row(self, y: int) -> str:
        """The text on line `y` (0-based) of the screen (needs `screen=True`)."""
        with self._lock:
            return self._line(y)

    def lines(self) -> list[str]:
        """Every line of the screen (needs `screen=True`)."""
        with self._lock:
            return self._lines()

    def watch(self, fn: Any) -> None:
        """Call `fn(arrival, lines)` after each chunk written from now on (None: no more), on the reading thread
        (needs `screen=True`)."""
        with self._lock:
            self._watch = fn

    def _lines(self) -> list[str]:
        return [self._line(y) for y in range(self.rows)]

    def _line(self, y: int) -> str:
        """pyte's `Screen.display` for one line: the characters of its cells, a wide one's stub left out."""
        from wcwidth import wcwidth

        line, out, wide = self.screen.buffer[y], [], False
        for x in range(self.screen.columns):
            if wide:
                wide = False
                continue
            char = line[x].data
            wide = wcwidth(char[0]) == 2
            out.append(char)
        return "".join(out)

    def first_write_after(self, t: float) -> float | None:
        with self._lock:
            return next((at for at, _n in self.chunks if at >= t), None)

    def bytes_between(self, t0: float, t1: float) -> int:
        with self._lock:
            return sum(n for at, n in self.chunks if t0 <= at < t1)

    # -- acting --------------------------------------------------------------------------------------------------
    def key(self, name: str) -> float:
        os.write(self.master, KEYS.get(name, name.encode()))
        return time.monotonic()

    def cpu_seconds(self) -> float:
        with open(f"/proc/{self.proc.pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICKS

    def stop(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(3)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        with contextlib.suppress(OSError):
            os.close(self.master)
