"""Benchmark: key-to-screen of the board's screens (the deal detail `enter`, the new-deal and edit forms `n` `e`, the
metrics `m`, the pipeline settings `,`, the help `?`, the pipeline switcher `p`, closed deals `c`, Today `t`, the
review `v`, the aging panel `a`), pressed as the board appears and once it is quiet, two source trees side by side
(A B A B ...).

    python bench/first_keys_bench.py --src A=../base/src --src B=src --open 10 --open 10000 --runs 5
    python bench/first_keys_bench.py --src B=src --when warm --keys enter,n
    python bench/first_keys_bench.py --src A=../base/src --src B=src --keys enter,n,e,m,?,p,c,t,v,, --when first

Each run starts the real board (`python -m tuikanban`, the tree's `src` first on PYTHONPATH) on a pseudo-terminal
of its own (bench/ptyboard.py, 160x45), as a rep of a board built by bench/gen.py (cached in --dir), and waits for
its first paint. `first`: the key is pressed as soon as the first frame is written whole (the warm-up after the
first paint, which imports the screens and the ORM and opens the database, still under way); a number N: N ms after
that (`--when 500`: a key half a second after the board appears); `warm`: once the board has written nothing for
2.5 s. Timed from the key to the arrival of the bytes after which the screen, as a terminal shows it (pyte),
shows (the screen is looked at after each chunk the board writes, on the pty's feeding thread; the look's own
cost delays no timestamp):

- frame: the screen's own text is on screen (its box; its contents may still be reading);
- filled: what the screen read is shown: the detail's "History (N)", the form's stage list (its "…" gone), the
  settings' title with the pipeline's name, the metrics' figures (its title's "computed in": its frame shows the
  tiles' headings, "Velocity" among them, before them), the closed deals' title with the pipeline's name, Today's
  title without its "reading…", the switcher's list (a pipeline's name), the aging panel's counts ("N stalled ·");
  the help and the review: their frame;

and the CPU time the process spent from the key to "filled", all threads and the UI thread alone, and the UI
thread's to "frame" (from /proc, read as those bytes came). `--trace` runs each board under bench/key_trace.py and
prints what its UI thread ran from the key to a little after the frame (docs/PERFORMANCE.md, Round 6: where a key's
time goes).
Figures only: nothing here asserts a time. The machine's load average is printed with them.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from board_bench import build
from ptyboard import TICKS, PtyProgram

# key -> (bytes, frame text, test for "filled" on the screen's rows)
SCREENS = {
    "enter": (b"\r", "History", lambda rows: any("History (" in r for r in rows)),
    "n": (b"n", "New deal", lambda rows: any("New deal" in r for r in rows)
          and not any(re.search("Stage +…", r) for r in rows)),  # (the stage field's "…" until read)
    "m": (b"m", "Metrics", lambda rows: any("computed in" in r for r in rows)),
    ",": (b",", "Pipeline settings", lambda rows: any("Pipeline settings · " in r for r in rows)),
    "e": (b"e", "Edit deal", lambda rows: any("Edit deal" in r for r in rows)
          and not any(re.search("Stage +…", r) for r in rows)),
    "?": (b"?", "Navigate", lambda rows: any("Navigate" in r for r in rows)),
    "p": (b"p", "Pipelines", lambda rows: any("Pipelines" in r for r in rows)
          and any("Bench" in r and "Pipelines" not in r for r in rows)),  # (bench/gen.py's pipeline, listed)
    "c": (b"c", "Closed deals", lambda rows: any("Closed deals · " in r for r in rows)),
    "t": (b"t", "Today · ", lambda rows: any("Today · " in r and "reading" not in r for r in rows)),
    "v": (b"v", "Review", lambda rows: any("Review" in r for r in rows)),
    "a": (b"a", "Aging", lambda rows: any(" stalled · " in r for r in rows)),  # (the panel's counts: read)
}


FIELDS = ("frame_ms", "frame_ui_cpu_ms", "filled_ms", "cpu_ms", "ui_cpu_ms")


def thread_cpu(pid: int) -> float:
    """CPU seconds of the process's main thread (the board's UI thread: Textual runs the app on it)."""
    with open(f"/proc/{pid}/task/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def one_run(src: Path, db: Path, key: str, when: str, config: Path, timeout: float = 30.0,
            trace: Path | None = None) -> dict[str, float | None]:
    raw, frame_text, filled = SCREENS[key]
    env = {"PYTHONPATH": str(src), "TUIKANBAN_DB": str(db), "TUIKANBAN_USER": "alice",
           "XDG_CONFIG_HOME": str(config), "PYTHONFAULTHANDLER": "1"}  # (a start that hangs: `not_started`)
    cmd = [sys.executable, "-m", "tuikanban"]
    if trace is not None:
        env["TUIKANBAN_KEY_TRACE"] = str(trace)
        cmd = [sys.executable, str(Path(__file__).resolve().parent / "key_trace.py")]
    board = PtyProgram(cmd, env=env, screen=True)
    out: dict[str, float | None] = {f: None for f in FIELDS}
    try:
        try:
            board.wait_for("Prospecting")
        except (TimeoutError, RuntimeError) as exc:  # (not painted: counted as a run that never showed it)
            not_started(board, exc)
            return out
        if when == "first":
            board.quiet(30, max_s=2)  # (the first frame written whole)
        elif when == "warm":
            board.quiet(2500, max_s=60)
        else:  # N ms after the first frame (written whole)
            board.quiet(30, max_s=2)
            time.sleep(max(0.0, int(when) / 1000 - 0.03))
        pid = board.proc.pid
        done = threading.Event()

        def look(arrival: float, rows: list[str]) -> None:
            """On the pty's reading thread, after each chunk: timed by the chunk's arrival, the CPU read then."""
            if out["frame_ms"] is None and any(frame_text in r for r in rows):
                out["frame_ms"] = (arrival - pressed) * 1000
                out["frame_ui_cpu_ms"] = (thread_cpu(pid) - ui0) * 1000
            if out["filled_ms"] is None and filled(rows):
                out["filled_ms"] = (arrival - pressed) * 1000
                if out["frame_ms"] is None:
                    out["frame_ms"], out["frame_ui_cpu_ms"] = out["filled_ms"], (thread_cpu(pid) - ui0) * 1000
                out["cpu_ms"] = (board.cpu_seconds() - cpu0) * 1000
                out["ui_cpu_ms"] = (thread_cpu(pid) - ui0) * 1000
                done.set()

        cpu0, ui0 = board.cpu_seconds(), thread_cpu(pid)
        board.watch(look)
        pressed = time.monotonic()
        os.write(board.master, raw)
        done.wait(timeout)
        board.watch(None)
        if trace is not None:
            time.sleep(0.3)  # (what follows the frame, too)
            board.proc.send_signal(signal.SIGUSR1)
            for _ in range(200):
                if trace.exists():
                    break
                time.sleep(0.01)
            time.sleep(0.1)
            show_trace(trace, pressed, out)
    finally:
        board.stop()
    return out


def not_started(board: PtyProgram, exc: Exception) -> None:
    """Say why a board did not show itself: its exit status and last output, or (alive: a hang) every thread's
    stack, which Python's fault handler writes to the terminal on SIGABRT (`PYTHONFAULTHANDLER`)."""
    print(f"  the board did not start: {exc}", file=sys.stderr)
    if board.proc.poll() is None:
        mark = board.mark()
        board.proc.send_signal(signal.SIGABRT)
        time.sleep(1.0)
        with board._lock:
            dump = bytes(board.text[-(board.total - mark):]) if board.total > mark else b""
        text = re.sub(rb"\x1b\[[0-9;?]*[A-Za-z]", b"", dump).decode("utf-8", "replace")
        print("  its threads when stopped:\n" + text[-6000:], file=sys.stderr)


def show_trace(trace: Path, pressed: float, out: dict[str, float | None]) -> None:
    """The app's UI thread from the key to a little after its screen's frame: each step of 1 ms or more (wall ms
    from the key, wall and CPU ms of the step, what it ran) and each frame written."""
    import json

    rows = [json.loads(line) for line in trace.read_text().splitlines() if line.strip()]
    trace.unlink()
    frame, ui = out["frame_ms"], out["frame_ui_cpu_ms"]
    print(f"  trace: frame on the terminal at {frame if frame is None else round(frame)} ms"
          f" (UI-thread CPU {ui if ui is None else round(ui)} ms)")
    for r in sorted(rows, key=lambda r: r["t0"]):
        at = (r["t0"] - pressed) * 1000
        if at < -float(os.environ.get("TRACE_BEFORE_MS", "50")) or at > (frame or 0) + 300:
            continue
        if r["kind"] == "key":
            print(f"  {at:8.1f}  key {r['key']!r} made by the input thread at {(r['made'] - pressed) * 1000:.1f} ms,"
                  f" dispatched to {r['pump']}")
        elif r["kind"] == "frame":
            print(f"  {at:8.1f}  frame {r['renderable']} of {r['screen']} ({(r['t1'] - r['t0']) * 1000:.1f} ms,"
                  f" CPU {r['cpu'] * 1000:.1f})")
        elif r["kind"] == "callback":
            print(f"  {at:8.1f}      callback {(r['t1'] - r['t0']) * 1000:6.1f} ms, CPU {r['cpu'] * 1000:6.1f}: "
                  f"{r['what']}")
        else:
            print(f"  {at:8.1f}  step {(r['t1'] - r['t0']) * 1000:6.1f} ms, CPU {r['cpu'] * 1000:6.1f}: {r['what']}")


def summary(xs: list[float | None]) -> str:
    ok = sorted(x for x in xs if x is not None)
    if not ok:
        return "-"
    missing = f" ({len(xs) - len(ok)} never)" if len(ok) < len(xs) else ""
    return f"{statistics.median(ok):7.0f} [{ok[0]:.0f}-{ok[-1]:.0f}]{missing}"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--src", action="append", required=True, help="NAME=PATH of a source tree's src folder")
    ap.add_argument("--open", type=int, action="append", help="open deals (default 10)")
    ap.add_argument("--keys", default="enter,n,m,,", help="keys, comma-separated (`,` last: a trailing comma)")
    ap.add_argument("--when", default="both",
                    help="first, warm, both, or a number: the key that many ms after the first frame (first: 30)")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--trace", action="store_true",
                    help="run each board under bench/key_trace.py and print its UI thread's steps after the key")
    ap.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "tuikanban-bench")
    a = ap.parse_args(argv)
    srcs = [(s.split("=", 1)[0], Path(s.split("=", 1)[1]).resolve()) for s in a.src]
    keys = [k for k in a.keys.split(",") if k] + ([","] if a.keys.endswith(",") else [])
    whens = ["first", "warm"] if a.when == "both" else [a.when]
    a.dir.mkdir(parents=True, exist_ok=True)
    config = a.dir / "config-first-keys"
    config.mkdir(exist_ok=True)
    loads: list[str] = []
    for size in a.open or [10]:
        db = build(a.dir, size)
        for when in whens:
            results: dict[tuple[str, str], list[dict[str, float | None]]] = {}
            for _ in range(a.runs):
                for key in keys:
                    for name, src in srcs:  # interleaved: A B A B ...
                        trace = a.dir / f"trace-{os.getpid()}.jsonl" if a.trace else None
                        if trace is not None:
                            print(f"\n{name}, {key!r}, {when}:")
                        results.setdefault((key, name), []).append(one_run(src, db, key, when, config, trace=trace))
                loads.append(Path("/proc/loadavg").read_text().split()[0])
            said = {"first": "as the board appears", "warm": "once quiet"}.get(when, f"{when} ms after the first frame")
            print(f"\n{size:,} open deals, key pressed {said}"
                  f" ({a.runs} runs each; ms: median [min-max]):")
            print(f"  {'key':<6}{'tree':<6}{'frame':>20}{'UI CPU to frame':>20}{'filled':>20}"
                  f"{'CPU to filled':>20}{'UI CPU to filled':>20}")
            for key in keys:
                for name, _src in srcs:
                    rs = results[(key, name)]
                    cells = [summary([r[f] for r in rs]) for f in FIELDS]
                    print(f"  {key:<6}{name:<6}" + "".join(f"{c:>20}" for c in cells))
    print(f"\nload average (1 min) during the runs: {min(loads, key=float)}-{max(loads, key=float)}")


if __name__ == "__main__":
    main()
