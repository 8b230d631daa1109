"""Where a CSV import's time goes, in one process without the start-up: the rows (checked on the main thread while
the inserts' thread writes them), the deferred indexes built once at the end, and the commit; wall, the main
thread's CPU and the process's CPU for each. Source trees side by side, interleaved (A B A B ...), medians.

    python bench/csv_import_phases.py --src before=/tmp/base/src --src after=src --runs 5

The file is bench/io_bench.py's 100,000 rows (built in --dir when missing); each run imports it into a new SQLite
file with the benchmark's pipeline. Figures only: nothing here asserts a time.
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

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from io_bench import ENV, STAGES, TYPES, csv_file  # noqa: E402

CHILD = r"""
import contextlib, json, os, sys, time
from tuikanban.services import io as sio
from tuikanban.services.io import csv_import
from tuikanban.store.engine import open_database

db = open_database(sys.argv[1])
db.fold_each_write = False  # as a command: the log folded when closing
with open(sys.argv[2], encoding="utf-8") as fh:
    text = fh.read()
marks = {}
deferred = csv_import.indexes_deferred

def mark(name):
    marks[name] = (time.perf_counter(), time.thread_time(), time.process_time())

@contextlib.contextmanager
def timed_indexes(conn, tables, rows):
    with deferred(conn, tables, rows):
        yield
        mark("rows")
    mark("indexes")

csv_import.indexes_deferred = timed_indexes
mark("start")
sio.import_csv_text(db, text, "Bench", user="bench")
mark("end")
db.close()
order = ["start", "rows", "indexes", "end"]
print(json.dumps({b: [y - x for x, y in zip(marks[a], marks[b])] for a, b in zip(order, order[1:])}))
"""

PHASES = {"rows": "rows checked and inserted", "indexes": "indexes built", "end": "commit"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--src", action="append", default=[], metavar="NAME=PATH")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()))
    args = ap.parse_args()
    variants = {n: Path(p).resolve() for n, p in (s.split("=", 1) for s in args.src)} or {"this": ROOT / "src"}
    rows_csv = csv_file(args.dir, 100_000)
    got: dict[str, list[dict[str, list[float]]]] = {n: [] for n in variants}
    print("load average " + " ".join(f"{x:.2f}" for x in os.getloadavg()), flush=True)
    for _ in range(args.runs):
        for name, src in variants.items():
            env = {**ENV, "PYTHONPATH": str(src)}
            target = args.dir / f"csv-phases-{name}-{os.getpid()}.db"
            for suffix in ("", "-wal", "-shm"):
                Path(f"{target}{suffix}").unlink(missing_ok=True)
            subprocess.run([sys.executable, "-m", "tuikanban", "--db", str(target), "pipeline", "create", "Bench",
                            "--stages", STAGES, "--types", TYPES], env=env, check=True, stdout=subprocess.DEVNULL)
            out = subprocess.run([sys.executable, "-c", CHILD, str(target), str(rows_csv)], env=env, check=True,
                                 capture_output=True, text=True).stdout
            got[name].append(json.loads(out.strip().splitlines()[-1]))
    for name, runs in got.items():
        print(f"{name}:")
        for phase, label in PHASES.items():
            cells = []
            for i, what in enumerate(("wall", "main thread CPU", "process CPU")):
                values = [r[phase][i] for r in runs]
                cells.append(f"{what} {statistics.median(values):5.2f} s ({min(values):.2f}-{max(values):.2f})")
            print(f"  {label:<26} " + ", ".join(cells))
    print("load average " + " ".join(f"{x:.2f}" for x in os.getloadavg()), flush=True)


if __name__ == "__main__":
    main()
