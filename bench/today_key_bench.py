"""Benchmark: key-to-paint of the Today screen (`t` on the board) for a rep with 500 open tasks across 10,000 open
deals, in a real pseudo-terminal, measured like the board's keys (bench/board_bench.py).

    python bench/today_key_bench.py                  # builds the database once (bench/gen.py + today_bench's tasks)
    python bench/today_key_bench.py --runs 9

Each run starts the board as alice (every open deal is hers: the worst case), waits for the first paint, presses
`t` once the screen has been quiet for --settle ms (the database open and the aging read, as a rep would press it,
not during start-up), and times until the queue itself is on screen (its title line "... to do", drawn when the
queue has been read, not the empty screen before it). Figures only: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from board_bench import DEFAULT_TIMER, build
from today_bench import add_tasks


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--open", type=int, default=10_000, help="open deals")
    ap.add_argument("--tasks", type=int, default=500, help="open tasks of the rep")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--settle", type=int, default=1500,
                    help="quiet ms before the key: the board has opened the database and read its aging")
    ap.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "tuikanban-bench")
    ap.add_argument("--timer", type=Path, default=DEFAULT_TIMER,
                    help="a timer script with bench/ptytimer.py's options and JSON (default: bench/ptytimer.py)")
    a = ap.parse_args(argv)
    a.dir.mkdir(parents=True, exist_ok=True)
    db = a.dir / f"today-{a.open}-{a.tasks}.db"
    if not db.exists():
        base = build(a.dir, a.open)
        db.write_bytes(base.read_bytes())
        add_tasks(db, open_tasks=a.tasks, done_tasks=a.tasks)
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as fh:
        out = fh.name
    env = {"TUIKANBAN_USER": "alice", "TUIKANBAN_DB": str(db), "XDG_CONFIG_HOME": str(a.dir / "config")}
    args = [sys.executable, str(a.timer), "--cols", "160", "--rows", "45", "--marker", "Prospecting",
            "--after-marker", " to do", "--key", "t", "--runs", str(a.runs), "--settle", str(a.settle), "--json", out,
            "--quiet", "--timeout", "60"]
    for k, v in env.items():
        args += ["--env", f"{k}={v}"]
    subprocess.run([*args, "--", str(Path(sys.executable).with_name("tuikanban"))], check=False,
                   stdout=subprocess.DEVNULL)
    data = json.loads(Path(out).read_text())
    os.unlink(out)
    times = [k["first_change_ms"] for r in data["runs"] for k in r["keys"] if k["first_change_ms"] is not None]
    print(f"Today key-to-paint ({a.tasks} open tasks, {a.open:,} open deals, {len(times)} of {a.runs} runs): "
          f"median {statistics.median(times):.1f} ms, best {min(times):.1f} ms, worst {max(times):.1f} ms"
          if times else "no run showed the queue")


if __name__ == "__main__":
    main()
