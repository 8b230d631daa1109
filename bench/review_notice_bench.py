"""What the review screen's "N changes since you opened this" notice costs (docs/PERFORMANCE.md, Round 7: the
review says it is behind): the review's first step (`compute_review`: the bridge and the lists, now with the read
of the pipeline's newest event before it) with and without the notice, and the count the notice runs after
another rep's commit (`count_behind`), at 100,000 deals and 1,000,000 events.

    python bench/review_notice_bench.py --db big.db --base ../main-checkout --rounds 5

A is the code at `--base` (a checkout without the notice), B this checkout; each round runs A, B and the floor
(`python -c "import typer, sqlmodel"`) in fresh processes, interleaved, on one copy of the database (left as it
was: the review reads only). Prints each figure's median and spread (min-max) and the load average.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent

PROBE = r"""
import sys, time
t0 = time.perf_counter()
from tuikanban.store.engine import open_database
from tuikanban.ui.screens import review as rv
from tuikanban.services.pipelines import list_pipelines
db = open_database(sys.argv[1])
pid = list_pipelines(db)[0].id
ask = rv.ReviewAsk(pid, "bench", "7d", None, None)
rv.compute_review(db, 1, ask, True)  # (warm: imports, page cache)
t1 = time.perf_counter()
done = rv.compute_review(db, 1, ask, True)
t2 = time.perf_counter()
behind = -1.0
if hasattr(rv, "count_behind"):
    t3 = time.perf_counter()
    rv.count_behind(db, 1, pid, max(done.newest - 1000, 0))  # the last 1,000 events of the log
    behind = time.perf_counter() - t3
print(f"{(t2 - t1) * 1000:.1f} {behind * 1000:.1f}")
db.close()
"""


def run(src: Path, db: Path) -> tuple[float, float]:
    env = {**os.environ, "PYTHONPATH": str(src)}
    out = subprocess.run([sys.executable, "-c", PROBE, str(db)], capture_output=True, text=True, env=env,
                         check=True, timeout=600)
    first, behind = out.stdout.split()
    return float(first), float(behind)


def floor() -> float:
    import time

    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import typer, sqlmodel"], check=True)
    return (time.perf_counter() - t0) * 1000


def spread(xs: list[float]) -> str:
    return f"median {statistics.median(xs):,.1f} ms (min {min(xs):,.1f}, max {max(xs):,.1f})"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", type=Path, required=True)
    ap.add_argument("--base", type=Path, required=True, help="a checkout of the code before (A)")
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "review.db"
        shutil.copyfile(args.db, db)
        a: list[float] = []
        b: list[float] = []
        counts: list[float] = []
        floors: list[float] = []
        loads: list[float] = []
        for _ in range(args.rounds):
            loads.append(os.getloadavg()[0])
            a.append(run(args.base / "src", db)[0])
            first, behind = run(HERE / "src", db)
            b.append(first)
            counts.append(behind)
            floors.append(floor())
        print(f"A review first step (before): {spread(a)}")
        print(f"B review first step (notice): {spread(b)}")
        print(f"B count_behind (1,000 events): {spread(counts)}")
        print(f"floor import typer, sqlmodel: {spread(floors)}")
        print(f"load average (1 min) during the rounds: {min(loads):.1f}-{max(loads):.1f}")


if __name__ == "__main__":
    main()
