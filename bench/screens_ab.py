"""Two source trees' screen opens side by side: `bench/screens_cpu.py` run for each tree in turn (A B A B ...), each
on a copy of its own of the board, with the floor (`python -c pass`, wall time) measured between them.

    python bench/screens_ab.py --db BOARD --src A=../base/src --src B=src --only "aging panel,metrics" --runs 5

For each tree and screen: the median and range, over the runs, of each run's median UI-thread CPU from the key to
the frame (the opens after its first), of each run's p90, and of its first open; the load average before and
after each run. Figures only: nothing here asserts.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def p90(xs: list[float]) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(0.9 * (len(xs) - 1)))]


def floor_ms() -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    return (time.perf_counter() - started) * 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", required=True, type=Path, help="a board file (copied for each tree)")
    ap.add_argument("--src", action="append", required=True, help="NAME=PATH of a source tree's src folder")
    ap.add_argument("--only", default="aging panel,metrics")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=5, help="opens of each screen per run")
    ap.add_argument("--extra", default="", help="more options for screens_cpu.py (one string)")
    a = ap.parse_args()
    trees = [tuple(s.split("=", 1)) for s in a.src]
    work = Path(tempfile.mkdtemp(prefix="screens-ab-"))
    try:
        copies = {}
        for name, _src in trees:
            copies[name] = work / f"{name}.db"
            shutil.copyfile(a.db, copies[name])
        got: dict[str, dict[str, dict[str, list[float]]]] = {n: {} for n, _s in trees}
        floors: list[float] = []
        loads: list[str] = []
        for run in range(a.runs):
            for name, src in trees:
                floors.append(floor_ms())
                env = dict(os.environ, PYTHONPATH=str(Path(src).resolve()))
                cmd = [sys.executable, str(HERE / "screens_cpu.py"), "--db", str(copies[name]), "--only", a.only,
                       "--rounds", str(a.rounds), "--json", *a.extra.split()]
                out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout
                doc = json.loads(out.strip().splitlines()[-1])
                loads.append(f"{doc['load'][0][0]}-{doc['load'][-1][0]}")
                for screen, xs in doc["ui"].items():
                    rows = got[name].setdefault(screen, {"median": [], "p90": [], "first": []})
                    rows["first"].append(xs[0])
                    rows["median"].append(statistics.median(xs[1:]))
                    rows["p90"].append(p90(xs[1:]))
                print(f"run {run + 1} {name}: " + ", ".join(
                    f"{s} {statistics.median(xs[1:]):.0f}" for s, xs in doc["ui"].items()), flush=True)
        print(f"load average (1 min) at each run's start-end: {', '.join(loads)}")
        print(f"floor, python -c pass: median {statistics.median(floors):.0f} ms "
              f"[{min(floors):.0f}-{max(floors):.0f}]")
        print("UI-thread CPU from the key to the frame, ms: median of the runs' medians [range]; of their p90s; "
              "of their first opens")
        for name, _src in trees:
            for screen, rows in got[name].items():
                cells = [f"{k} {statistics.median(v):.0f} [{min(v):.0f}-{max(v):.0f}]" for k, v in rows.items()]
                print(f"  {name} {screen}: " + "; ".join(cells))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
