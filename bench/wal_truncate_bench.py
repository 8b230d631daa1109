"""Benchmark: what emptying the write-ahead log after every write costs (see docs/RULES.md, "Replaced files and
the write-ahead log").

    python bench/wal_truncate_bench.py              # 5 rounds of 40 deal creations per variant, interleaved
    python bench/wal_truncate_bench.py --rounds 9 --writes 60

Each round times one `create_deal` at a time on a fresh file, first with `Database.write` as shipped (commit, then
`PRAGMA wal_checkpoint(TRUNCATE)`), then with the truncation switched off, and again (A B A B). A floor is measured
in the same run: the same number of `os.fsync` calls on a small file (the checkpoint's cost is mostly syncing).
Prints medians and the 90th percentile in milliseconds per write, the ratio, and the load average.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from tuikanban.services.deals import create_deal
from tuikanban.services.pipelines import create_pipeline
from tuikanban.store import engine


def one_round(folder: Path, name: str, writes: int, truncate: bool) -> list[float]:
    shipped = engine.Database._empty_log
    engine.Database._empty_log = shipped if truncate else (lambda self: None)  # type: ignore[method-assign]
    try:
        path = folder / f"{name}.db"
        db = engine.open_database(path)
        try:
            create_pipeline(db, "Sales", ["Lead", "Won over"])
            times = []
            for i in range(writes):
                start = time.perf_counter()
                create_deal(db, "Sales", f"Deal {i}", user="bench", value="1000")
                times.append(time.perf_counter() - start)
            return times
        finally:
            db.close()
    finally:
        engine.Database._empty_log = shipped  # type: ignore[method-assign]


def fsync_floor(folder: Path, writes: int) -> list[float]:
    times = []
    with open(folder / "floor.bin", "wb") as fh:
        for _ in range(writes):
            start = time.perf_counter()
            fh.write(b"x" * 4096)
            fh.flush()
            os.fsync(fh.fileno())
            times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--writes", type=int, default=40)
    args = parser.parse_args()
    found: dict[str, list[float]] = {"truncate": [], "no truncate": [], "fsync floor": []}
    with tempfile.TemporaryDirectory(prefix="wal-bench-") as tmp:
        folder = Path(tmp)
        for r in range(args.rounds):
            found["truncate"] += one_round(folder, f"a{r}", args.writes, True)
            found["no truncate"] += one_round(folder, f"b{r}", args.writes, False)
            found["fsync floor"] += fsync_floor(folder, args.writes)
    medians = {}
    for label, times in found.items():
        ms = sorted(t * 1000 for t in times)
        medians[label] = statistics.median(ms)
        print(f"{label:12s} median {medians[label]:6.2f} ms  p90 {ms[int(len(ms) * 0.9)]:6.2f} ms  n={len(ms)}")
    print(f"ratio truncate / no truncate (medians): {medians['truncate'] / medians['no truncate']:.2f}")
    print(f"load average: {Path('/proc/loadavg').read_text().strip()}")


if __name__ == "__main__":
    main()
