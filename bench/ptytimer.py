"""Time a terminal program as a user sees it: first paint, key-to-paint and peak memory, on a pseudo-terminal.

    python bench/ptytimer.py --marker Prospecting -- tuikanban
    python bench/ptytimer.py --marker Prospecting --key right --key left --repeat 10 --json - -- tuikanban
    python bench/ptytimer.py --marker Prospecting --key t --after-marker " to do" --settle 1500 -- tuikanban

The command runs in a session of its own on a fresh pty of COLS x ROWS. A thread reads what it writes and stamps
each chunk with the time it arrived; the main thread feeds the chunks to a pyte screen (so parsing costs nothing
to the figures) and answers the queries a real terminal answers (device attributes, cursor position, mode
reports), so that no program waits for a reply. Figures, from just before the spawn:

- first paint (`marker_ms`): until the rendered screen shows the --marker text, and the program's CPU time by then
  (`marker_cpu_ms`: every thread's run time, which a loaded machine stretches less than the wall time);
- per key (`keys`): the screen is first left alone until it has not changed for --settle ms; then the key is
  written and timed until the screen (text, colours or attributes) first differs from what it was
  (`first_change_ms`; with --after-marker, only once that text is visible too), and until it stopped changing:
  the last change before a quiet --settle ms (`settled_ms`), and the program's CPU time from the key until then
  (`cpu_ms`); with --cpu-quiet, the first key waits until the program's CPU is quiet (its start-up work done);
- peak memory (`max_rss_kb`): the VmHWM of the process and of its children (/proc), read before it is stopped.

The JSON (--json FILE, '-' for stdout) holds `summary` (medians of the runs: marker_ms_median,
first_output_ms_median, max_rss_kb_median, key_first_change_ms_median / _p90, key_settled_ms_median / _p90,
failures) and `runs` (one object per run with marker_ms, first_output_ms, max_rss_kb, keys). Exit status 0 when
every run showed the marker and every key changed the screen. Figures only: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import math
import os
import pty
import queue
import re
import signal
import statistics
import struct
import subprocess
import sys
import termios
import threading
import time
from pathlib import Path
from typing import Any

import pyte
from ptyboard import KEYS as _BOARD_KEYS

KEYS: dict[str, bytes] = {
    **_BOARD_KEYS,
    "home": b"\x1b[H", "end": b"\x1b[F", "pageup": b"\x1b[5~", "pagedown": b"\x1b[6~", "delete": b"\x1b[3~",
    "tab": b"\t", "shift+tab": b"\x1b[Z", "space": b" ", "backspace": b"\x7f", "esc": b"\x1b",
    "shift+up": b"\x1b[1;2A", "shift+down": b"\x1b[1;2B",
}


def key_bytes(name: str) -> bytes:
    """The bytes a terminal sends for a key: a name above, ctrl+LETTER, or one character."""
    if name.lower() in KEYS:
        return KEYS[name.lower()]
    if name.lower().startswith("ctrl+") and len(name) == 6 and name[5].isalpha():
        return bytes([ord(name[5].lower()) - 96])
    if len(name) == 1:
        return name.encode()
    raise SystemExit(f"ptytimer: no such key {name!r}")


# -- what a terminal answers, and what pyte should not see -------------------------------------------------------

_CSI = re.compile(rb"\x1b\[([0-?]*)([ -/]*)([@-~])")
_STRING = re.compile(rb"\x1b[\]P_^](.*?)(\x07|\x1b\\)", re.S)  # OSC, DCS, APC, PM (ended by BEL or ST)


class Terminal:
    """Replies to queries and strips the sequences pyte would draw as text; keeps an unfinished tail for later."""

    def __init__(self, reply: Any, screen: pyte.Screen) -> None:
        self.reply = reply
        self.screen = screen
        self.tail = b""

    def clean(self, data: bytes) -> bytes:
        data = self.tail + data
        self.tail = b""
        cut = data.rfind(b"\x1b")
        if cut >= 0 and not self._complete(data[cut:]):
            data, self.tail = data[:cut], data[cut:]
        data = _STRING.sub(self._string, data)
        return _CSI.sub(self._csi, data)

    @staticmethod
    def _complete(seq: bytes) -> bool:
        if len(seq) < 2:
            return False
        if seq[1:2] == b"[":
            return _CSI.match(seq) is not None or len(seq) > 64
        if seq[1:2] in (b"]", b"P", b"_", b"^"):
            return _STRING.match(seq) is not None or len(seq) > 65536
        if seq[1:2] in b"()*+#%":
            return len(seq) >= 3
        return True

    def _string(self, m: re.Match[bytes]) -> bytes:
        body = m.group(1)
        num, _, rest = body.partition(b";")
        if rest == b"?" and num in (b"10", b"11", b"12"):  # foreground / background / cursor colour
            colour = b"0000/0000/0000" if num == b"11" else b"ffff/ffff/ffff"
            self.reply(b"\x1b]" + num + b";rgb:" + colour + b"\x1b\\")
        return m.group(0) if m.group(0)[1:2] == b"]" and num in (b"0", b"1", b"2") else b""  # keep titles only

    def _csi(self, m: re.Match[bytes]) -> bytes:
        params, inter, final = (g.decode("latin-1") for g in m.groups())
        if inter == "$" and final == "p":  # DECRQM: synchronized output (2026) is supported and reset
            mode = params.lstrip("?")
            self.reply(f"\x1b[{'?' if params.startswith('?') else ''}{mode};{2 if mode == '2026' else 0}$y".encode())
            return b""
        if final == "c" and params in ("", "0"):
            self.reply(b"\x1b[?62;22c")
            return b""
        if final == "c" and params.startswith(">"):
            self.reply(b"\x1b[>1;10;0c")
            return b""
        if final == "n" and params in ("5", "6", "?6"):
            cur = self.screen.cursor
            self.reply(b"\x1b[0n" if params == "5" else
                       f"\x1b[{'?' if params == '?6' else ''}{cur.y + 1};{cur.x + 1}R".encode())
            return b""
        if final == "u" and params.startswith("?"):  # kitty keyboard: no flags
            self.reply(b"\x1b[?0u")
            return b""
        if params in ("?2026",) and final in "hl":  # frame brackets: no effect on the screen
            return b""
        if params[:1] in ("<", "=", ">") or inter:  # pyte would print these
            return b""
        return m.group(0)


# -- one run ---------------------------------------------------------------------------------------------------

def tree_vmhwm_kb(pid: int) -> int | None:
    """VmHWM of `pid` plus that of its descendants (kB); None when /proc has none of them."""
    total, seen, todo = 0, False, [pid]
    while todo:
        p = todo.pop()
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    total += int(line.split()[1])
                    seen = True
            for task in Path(f"/proc/{p}/task").iterdir():
                with contextlib.suppress(OSError):
                    todo += [int(c) for c in (task / "children").read_text().split()]
    return total if seen else None


def _ticks(stat: Path) -> int:
    """utime + stime of a /proc stat file, in clock ticks."""
    fields = stat.read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def cpu_ms(pid: int) -> float | None:
    """CPU time of `pid` so far (ms, every thread's run time from /proc/PID/task/*/schedstat, in nanoseconds, so a
    key's few milliseconds are not lost to the clock ticks of /proc/PID/stat); None once it is gone.

    A thread that has ended has no schedstat any more (the board's first read runs on a thread of its own that ends
    before the first paint): its time is the process's ticks less those of the threads still there (to a tick)."""
    total, seen, live_ticks = 0, False, 0
    with contextlib.suppress(OSError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            with contextlib.suppress(OSError, ValueError, IndexError):
                ns = int((task / "schedstat").read_text().split()[0])
                ticks = _ticks(task / "stat")
                total += ns
                live_ticks += ticks
                seen = True
    if not seen:
        return None
    ended = 0
    with contextlib.suppress(OSError, ValueError, IndexError):
        ended = max(0, _ticks(Path(f"/proc/{pid}/stat")) - live_ticks)
    return total / 1e6 + ended * 1000 / os.sysconf("SC_CLK_TCK")


class Session:
    """The program on its pty, its output rendered on a pyte screen as it arrives."""

    def __init__(self, cmd: list[str], *, cols: int, rows: int, env: dict[str, str]) -> None:
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        full_env = {**os.environ, "LANG": os.environ.get("LANG", "C.UTF-8"), "TERM": "xterm-256color",
                    "COLORTERM": "truecolor"}
        for name in ("COLUMNS", "LINES", "TMUX", "TMUX_PANE", "TERM_PROGRAM"):
            full_env.pop(name, None)
        full_env.update(env)
        self.screen = pyte.Screen(cols, rows)
        self.screen.write_process_input = lambda _data: None  # the Terminal answers instead
        self.stream = pyte.ByteStream(self.screen)
        self.master = master
        self.terminal = Terminal(self._write, self.screen)
        self.chunks: queue.Queue[tuple[float, bytes]] = queue.Queue()
        self.ended = False
        self.first_byte: float | None = None

        def controlling_tty() -> None:
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)

        self.t0 = time.perf_counter()
        self.proc = subprocess.Popen(cmd, stdin=slave, stdout=slave, stderr=slave, env=full_env, close_fds=True,
                                     start_new_session=True, preexec_fn=controlling_tty)
        os.close(slave)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        while True:
            try:
                data = os.read(self.master, 65536)
            except OSError:
                data = b""
            self.chunks.put((time.perf_counter(), data))
            if not data:
                return

    def _write(self, data: bytes) -> None:
        with contextlib.suppress(OSError):
            os.write(self.master, data)

    def next_chunk(self, wait_s: float) -> float | None:
        """Render the next chunk (waiting up to `wait_s`); its arrival time, or None (nothing came, or the end)."""
        if self.ended:
            time.sleep(max(0.0, min(wait_s, 0.05)))
            return None
        try:
            at, data = self.chunks.get(timeout=max(0.0, wait_s))
        except queue.Empty:
            return None
        if not data:
            self.ended = True
            return None
        if self.first_byte is None:
            self.first_byte = at
        self.stream.feed(self.terminal.clean(data))
        return at

    def lines(self, ys: Any = None) -> dict[int, tuple[Any, ...]]:
        buf, cols = self.screen.buffer, self.screen.columns
        return {y: tuple(buf[y][x] for x in range(cols)) for y in (range(self.screen.lines) if ys is None else ys)}

    def shows(self, text: str) -> bool:
        return any(text in line for line in self.screen.display)

    def changed_since(self, before: dict[int, tuple[Any, ...]]) -> bool:
        """Did a line pyte touched since the last call end up different from `before`?"""
        dirty = set(self.screen.dirty)
        self.screen.dirty.clear()
        return any(line != before[y] for y, line in self.lines(dirty).items())

    def last_change(self, quiet_s: float, max_s: float) -> float | None:
        """Render until the screen has not changed for `quiet_s` (at most `max_s`): when it last changed."""
        before = self.lines()
        self.screen.dirty.clear()
        last = None
        quiet_until = time.perf_counter() + quiet_s
        end = time.perf_counter() + max_s
        while (now := time.perf_counter()) < min(quiet_until, end) and not self.ended:
            at = self.next_chunk(min(quiet_until, end) - now)
            if at is not None and self.changed_since(before):
                before = self.lines()
                last = at
                quiet_until = at + quiet_s
        return last

    def cpu_quiet(self, window_s: float, max_s: float, busy: float = 0.05) -> None:
        """Render (keep reading) until the program used under `busy` of a CPU for `window_s` (at most `max_s`)."""
        end = time.perf_counter() + max_s
        while time.perf_counter() < end and not self.ended:
            t0, c0 = time.perf_counter(), cpu_ms(self.proc.pid)
            while (now := time.perf_counter()) < t0 + window_s:
                self.next_chunk(t0 + window_s - now)
            c1 = cpu_ms(self.proc.pid)
            if c0 is None or c1 is None or (c1 - c0) / 1000 < busy * (time.perf_counter() - t0):
                return

    def stop(self, grace_s: float = 2.0) -> int | None:
        try:
            for sig in (signal.SIGTERM, signal.SIGKILL):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, sig)  # the program's own session only
                end = time.perf_counter() + grace_s
                while time.perf_counter() < end:
                    if self.proc.poll() is not None:
                        return self.proc.returncode
                    with contextlib.suppress(queue.Empty):
                        self.chunks.get(timeout=0.02)  # keep reading: a full pty would block the program
            return None
        finally:
            with contextlib.suppress(OSError):
                os.close(self.master)


def one_run(cmd: list[str], a: argparse.Namespace, env: dict[str, str]) -> dict:
    s = Session(cmd, cols=a.cols, rows=a.rows, env=env)
    res: dict[str, Any] = {"first_output_ms": None, "marker_ms": None, "marker_cpu_ms": None, "keys": [],
                           "max_rss_kb": None, "exit": None, "ok": False}
    try:
        end = s.t0 + a.timeout
        while (now := time.perf_counter()) < end and not s.ended:
            at = s.next_chunk(end - now)
            if at is not None and s.screen.dirty and s.shows(a.marker):
                res["marker_ms"] = (at - s.t0) * 1000
                res["marker_cpu_ms"] = cpu_ms(s.proc.pid)
                break
        ok = res["marker_ms"] is not None
        if ok and a.cpu_quiet:  # the work after the first paint done (imports, reads) before the first key
            s.cpu_quiet(a.cpu_quiet / 1000, a.timeout)
        for name in ([k for _ in range(a.repeat) for k in a.key] if ok else []):
            s.last_change(a.settle / 1000, a.timeout)  # the screen left alone first
            before = s.lines()
            s.screen.dirty.clear()
            cpu0 = cpu_ms(s.proc.pid)
            pressed = time.perf_counter()
            s._write(key_bytes(name))
            rec: dict[str, Any] = {"key": name, "first_change_ms": None, "settled_ms": None, "cpu_ms": None}
            give_up = pressed + a.key_timeout
            while (now := time.perf_counter()) < give_up and not s.ended:
                at = s.next_chunk(give_up - now)
                if at is not None and s.changed_since(before) and (not a.after_marker or s.shows(a.after_marker)):
                    rec["first_change_ms"] = (at - pressed) * 1000
                    later = s.last_change(a.settle / 1000, a.timeout)
                    rec["settled_ms"] = ((later or at) - pressed) * 1000
                    cpu1 = cpu_ms(s.proc.pid)
                    if cpu0 is not None and cpu1 is not None:  # the key's work, until settled and quiet
                        rec["cpu_ms"] = cpu1 - cpu0
                    break
            ok = ok and rec["first_change_ms"] is not None
            res["keys"].append(rec)
        res["ok"] = ok
        if s.first_byte is not None:
            res["first_output_ms"] = (s.first_byte - s.t0) * 1000
        if a.dump_screen:
            Path(a.dump_screen).write_text("\n".join(line.rstrip() for line in s.screen.display) + "\n")
    finally:
        res["max_rss_kb"] = tree_vmhwm_kb(s.proc.pid)
        res["exit"] = s.stop()
    return res


def median(xs: Any) -> float | None:
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def p90(xs: Any) -> float | None:
    xs = sorted(x for x in xs if x is not None)
    return xs[max(0, math.ceil(0.9 * len(xs)) - 1)] if xs else None


def summarize(cmd: list[str], a: argparse.Namespace, runs: list[dict]) -> dict:
    first = [k["first_change_ms"] for r in runs for k in r["keys"]]
    settled = [k["settled_ms"] for r in runs for k in r["keys"]]
    return {"cmd": cmd, "cols": a.cols, "rows": a.rows, "runs": len(runs),
            "marker_ms_median": median(r["marker_ms"] for r in runs),
            "first_output_ms_median": median(r["first_output_ms"] for r in runs),
            "max_rss_kb_median": median(r["max_rss_kb"] for r in runs),
            "key_first_change_ms_median": median(first), "key_first_change_ms_p90": p90(first),
            "key_settled_ms_median": median(settled), "key_settled_ms_p90": p90(settled),
            "failures": sum(not r["ok"] for r in runs)}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    split = argv.index("--") if "--" in argv else len(argv)
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
                                 usage="ptytimer.py [options] -- command [args...]")
    ap.add_argument("--cols", type=int, default=160)
    ap.add_argument("--rows", type=int, default=45)
    ap.add_argument("--marker", required=True, help="text whose appearance on the screen is the first paint")
    ap.add_argument("--key", action="append", default=[], help="a key to press after the first paint (repeatable)")
    ap.add_argument("--repeat", type=int, default=1, help="press the --key list this many times")
    ap.add_argument("--after-marker", help="a key's screen counts only once this text is visible")
    ap.add_argument("--settle", type=float, default=150, help="quiet ms: before each key, and after its change")
    ap.add_argument("--cpu-quiet", type=float, default=0, metavar="MS",
                    help="before the first key, wait until the program used under 5%% of a CPU for MS ms (its work "
                         "after the first paint done)")
    ap.add_argument("--runs", type=int, default=1, help="fresh processes to time")
    ap.add_argument("--timeout", type=float, default=30, help="seconds to wait for the marker")
    ap.add_argument("--key-timeout", type=float, default=5, help="seconds to wait for a key's change")
    ap.add_argument("--env", action="append", default=[], help="K=V for the program (repeatable)")
    ap.add_argument("--json", help="write the figures as JSON here ('-': stdout)")
    ap.add_argument("--dump-screen", help="write the last run's final screen text here")
    ap.add_argument("--quiet", action="store_true", help="no line per run on stderr")
    a = ap.parse_args(argv[:split])
    cmd = argv[split + 1:]
    if not cmd:
        ap.error("give the command after --")
    env = dict(kv.partition("=")[::2] for kv in a.env)
    sys.setswitchinterval(0.0005)  # the reader thread stamps a chunk soon after it arrives
    runs = []
    for i in range(a.runs):
        try:
            runs.append(one_run(cmd, a, env))
        except OSError as e:
            print(f"ptytimer: cannot run {cmd[0]}: {e.strerror or e}", file=sys.stderr)
            return 2
        if not a.quiet:
            r = runs[-1]
            print(f"run {i + 1}: marker {fmt(r['marker_ms'])} ms, peak RSS {fmt(r['max_rss_kb'])} kB, keys median "
                  f"{fmt(median(k['first_change_ms'] for k in r['keys']))} ms", file=sys.stderr)
    out = {"summary": summarize(cmd, a, runs), "runs": runs}
    if a.json == "-":
        print(json.dumps(out, indent=1))
    elif a.json:
        Path(a.json).write_text(json.dumps(out, indent=1))
    sm = out["summary"]
    if a.json != "-":
        print(f"first paint median {fmt(sm['marker_ms_median'])} ms | peak RSS median {fmt(sm['max_rss_kb_median'])} kB"
              + (f" | key first change median {fmt(sm['key_first_change_ms_median'])} ms, p90 "
                 f"{fmt(sm['key_first_change_ms_p90'])} | settled median {fmt(sm['key_settled_ms_median'])} ms, "
                 f"p90 {fmt(sm['key_settled_ms_p90'])}" if a.key else "")
              + f" | failed runs {sm['failures']}/{a.runs}")
    return 0 if sm["failures"] == 0 else 1


def fmt(x: float | None) -> str:
    return "-" if x is None else f"{x:.1f}"


if __name__ == "__main__":
    sys.exit(main())
