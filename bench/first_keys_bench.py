"""Benchmark: key-to-screen of the board's screens (the deal detail `enter`, the new-deal and edit forms `n` `e`, the
metrics `m`, the pipeline settings `,`, the help `?`, the pipeline switcher `p`, closed deals `c`, Today `t`, the
review `v`), pressed as the board appears and once it is quiet, two source trees side by side (A B A B ...).

    python bench/first_keys_bench.py --src A=../base/src --src B=src --open 10 --open 10000 --runs 5
    python bench/first_keys_bench.py --src B=src --when warm --keys enter,n
    python bench/first_keys_bench.py --src A=../base/src --src B=src --keys enter,n,e,m,?,p,c,t,v,, --when first

Each run starts the real board (`python -m tuikanban`, the tree's `src` first on PYTHONPATH) on a pseudo-terminal
of its own (bench/ptyboard.py, 160x45), as a rep of a board built by bench/gen.py (cached in --dir), and waits for
its first paint. `first`: the key is pressed as soon as the first frame is written whole (the warm-up after the
first paint, which imports the screens and the ORM and opens the database, still under way); `warm`: once the
board has written nothing for 2.5 s. Timed from the key, on the screen as a terminal shows it (pyte):

- frame: the screen's own text is on screen (its box; its contents may still be reading);
- filled: what the screen read is shown: the detail's "History (N)", the form's stage list (its "…" gone), the
  settings' title with the pipeline's name, the metrics' figures (its title's "computed in": its frame shows the
  tiles' headings, "Velocity" among them, before them), the closed deals' title with the pipeline's name, Today's
  title without its "reading…", the switcher's list (a pipeline's name); the help and the review: their frame;

and the CPU time the process spent from the key to "filled", all threads and the UI thread alone (from /proc).
Figures only: nothing here asserts a time. The machine's load average is printed with them.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import tempfile
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
}


def thread_cpu(pid: int) -> float:
    """CPU seconds of the process's main thread (the board's UI thread: Textual runs the app on it)."""
    with open(f"/proc/{pid}/task/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def one_run(src: Path, db: Path, key: str, when: str, config: Path, timeout: float = 30.0) -> dict[str, float | None]:
    raw, frame_text, filled = SCREENS[key]
    env = {"PYTHONPATH": str(src), "TUIKANBAN_DB": str(db), "TUIKANBAN_USER": "alice",
           "XDG_CONFIG_HOME": str(config)}
    board = PtyProgram([sys.executable, "-m", "tuikanban"], env=env, screen=True)
    out: dict[str, float | None] = {"frame_ms": None, "filled_ms": None, "cpu_ms": None, "ui_cpu_ms": None}
    try:
        try:
            board.wait_for("Prospecting")
        except (TimeoutError, RuntimeError) as exc:  # (not painted: counted as a run that never showed it)
            print(f"  the board did not start: {exc}", file=sys.stderr)
            return out
        if when == "first":
            board.quiet(30, max_s=2)  # (the first frame written whole)
        else:
            board.quiet(2500, max_s=60)
        cpu0, ui0 = board.cpu_seconds(), thread_cpu(board.proc.pid)
        os.write(board.master, raw)
        pressed = time.monotonic()
        end = pressed + timeout
        while time.monotonic() < end:
            rows = [board.row(y) for y in range(board.rows)]
            now = time.monotonic()
            if out["frame_ms"] is None and any(frame_text in r for r in rows):
                out["frame_ms"] = (now - pressed) * 1000
            if filled(rows):
                out["filled_ms"] = (now - pressed) * 1000
                out["frame_ms"] = out["frame_ms"] if out["frame_ms"] is not None else out["filled_ms"]
                out["cpu_ms"] = (board.cpu_seconds() - cpu0) * 1000
                out["ui_cpu_ms"] = (thread_cpu(board.proc.pid) - ui0) * 1000
                break
            time.sleep(0.002)
    finally:
        board.stop()
    return out


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
    ap.add_argument("--when", choices=("first", "warm", "both"), default="both")
    ap.add_argument("--runs", type=int, default=5)
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
                        results.setdefault((key, name), []).append(one_run(src, db, key, when, config))
                loads.append(Path("/proc/loadavg").read_text().split()[0])
            print(f"\n{size:,} open deals, key pressed {'as the board appears' if when == 'first' else 'once quiet'}"
                  f" ({a.runs} runs each; ms: median [min-max]):")
            print(f"  {'key':<6}{'tree':<6}{'frame':>24}{'filled':>24}{'CPU, all threads':>24}{'CPU, UI thread':>24}")
            for key in keys:
                for name, _src in srcs:
                    rs = results[(key, name)]
                    cells = [summary([r[f] for r in rs]) for f in ("frame_ms", "filled_ms", "cpu_ms", "ui_cpu_ms")]
                    print(f"  {key:<6}{name:<6}" + "".join(f"{c:>24}" for c in cells))
    print(f"\nload average (1 min) during the runs: {min(loads, key=float)}-{max(loads, key=float)}")


if __name__ == "__main__":
    main()
