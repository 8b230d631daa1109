"""Run every benchmark and print the figures (nothing here asserts a time).

    python bench/run.py            # all: board (10 / 1,000 / 10,000 / 50,000 open deals), metrics, aging, concurrency
    python bench/run.py --quick    # smaller: board at 10 / 10,000, fewer runs
    python bench/run.py --pg postgresql:///tk_bench   # metrics and aging on PostgreSQL too, in turns with SQLite

- bench/board_bench.py: first paint, key-to-paint (focus move, card move) and peak RSS of the real `tuikanban` in a
  pseudo-terminal (bench/ptytimer.py renders it with pyte), against a bare Textual app;
  and the bytes it writes to the terminal (first paint, focus move, card move, another process's move, idle);
- bench/boards_bench.py: ten boards on one file: idle CPU of each, and one move's fan-out to all of them;
- bench/metrics_bench.py: all metrics of one pipeline with 100,000 deals and 1,000,000 events;
- bench/aging_bench.py: aging of 10,000 open deals with 1,000,000 events;
- bench/changes_bench.py: `changes --since 90d` with 100,000 deals and 1,000,000 events;
- bench/concurrency_bench.py: moves per second that four processes sustain on one file, no limit exceeded;
- bench/cli_bench.py: commands on a small board and `deal list` of 10,000 deals against `import typer, sqlmodel`,
  a batch of `deal add` lines against as many processes, and a JSON export and CSV import of 100,000 deals.
- bench/notify_bench.py: live-update latency between two boards (SQLite here; `--db URL` adds PostgreSQL, as
  `board_bench.py --db URL` does for the first paint).
Databases are generated with bench/gen.py and cached in the temp folder.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def run(script: str, *args: str) -> int:
    print(f"\n=== {script} {' '.join(args)}".rstrip(), flush=True)
    return subprocess.run([sys.executable, str(HERE / script), *args], check=False).returncode


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="fewer sizes and runs")
    ap.add_argument("--pg", default=None, help="a PostgreSQL database URL: metrics and aging measured there too")
    args = ap.parse_args()
    pg = ("--pg", args.pg) if args.pg else ()
    codes = []
    if args.quick:
        codes.append(run("board_bench.py", "--sizes", "10,10000", "--runs", "3", "--keys", "10"))
        codes.append(run("metrics_bench.py", "--runs", "3", *pg))
        codes.append(run("aging_bench.py", "--runs", "3", *pg))
        codes.append(run("changes_bench.py", "--runs", "3"))
        codes.append(run("concurrency_bench.py", "--seconds", "5"))
        codes.append(run("cli_bench.py", "--runs", "3", "--adds", "50", "--no-big"))
        codes.append(run("notify_bench.py", "--moves", "10"))
        codes.append(run("boards_bench.py", "--idle", "15", "--moves", "5"))
    else:
        codes.append(run("board_bench.py"))
        codes.append(run("metrics_bench.py", *pg))
        codes.append(run("aging_bench.py", *pg))
        codes.append(run("changes_bench.py"))
        codes.append(run("concurrency_bench.py"))
        codes.append(run("cli_bench.py"))
        codes.append(run("notify_bench.py"))
        codes.append(run("boards_bench.py"))
    sys.exit(max(codes))


if __name__ == "__main__":
    main()
