"""How long all metrics of one pipeline take (the target: 100,000 deals and 1,000,000 events in well under a second).

    python bench/metrics_bench.py                      # generates /tmp/metrics_bench.db once, then times it
    python bench/metrics_bench.py --db /tmp/big.db     # an existing database (from bench/gen.py)
    python bench/metrics_bench.py --pg postgresql:///tk_bench   # the same board copied to PostgreSQL, measured too

Prints the median and worst of several runs of `compute_metrics` (every figure, the stage table, the
breakdowns, the weekly trend and the 10,000-trial forecast), then the same split into SQL and forecast.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", type=Path, default=Path("/tmp/metrics_bench.db"))
    ap.add_argument("--deals", type=int, default=100_000)
    ap.add_argument("--open", type=int, default=10_000)
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--window", type=int, default=90)
    ap.add_argument("--pg", default=None, help="a PostgreSQL database URL: measure a copy there after the file")
    args = ap.parse_args(argv)

    if not args.db.exists():
        import gen  # bench/gen.py

        print(f"generating {args.db} ({args.deals:,} deals, {args.events:,} events)...", file=sys.stderr)
        gen.generate(args.db, deals=args.deals, open_deals=args.open, events=args.events)

    import sqlite3

    con = sqlite3.connect(f"file:{args.db}?mode=ro", uri=True)
    n_deals = con.execute("SELECT count(*) FROM deal").fetchone()[0]
    n_events = con.execute("SELECT count(*) FROM event").fetchone()[0]
    n_stays = con.execute("SELECT count(*) FROM stay").fetchone()[0]
    pipeline = con.execute("SELECT id FROM pipeline ORDER BY id LIMIT 1").fetchone()[0]
    con.close()

    from tuikanban.store.engine import open_database

    targets: list[tuple[str, Any]] = [("sqlite", args.db)]
    if args.pg:
        from pgcopy import copy_to_pg  # bench/pgcopy.py

        targets.append(("postgresql", copy_to_pg(args.pg, args.db, "bench_metrics")))
    for engine, target in targets:
        print(f"--- {engine}")
        measure(args, open_database(target), pipeline, n_deals, n_events, n_stays)


def measure(args: Any, db: Any, pipeline: int, n_deals: int, n_events: int, n_stays: int) -> None:
    from tuikanban.services.forecast import forecast_from_days
    from tuikanban.services.metrics import compute_metrics

    warm = compute_metrics(db, pipeline, window_days=args.window, seed=1)  # warm the page and statement caches
    f = warm.forecast
    report_days = [(1, 100)] * f.history_days if f.history_days else [(1, 100)] * 90
    def timed(fn: Any) -> tuple[list[float], list[float], Any]:
        walls, cpus, result = [], [], None
        for i in range(args.runs):
            w0, c0 = time.perf_counter(), time.process_time()
            result = fn(i)
            walls.append(time.perf_counter() - w0)
            cpus.append(time.process_time() - c0)
        return walls, cpus, result

    walls, cpus, report = timed(lambda i: compute_metrics(db, pipeline, window_days=args.window, seed=i))
    f_walls, f_cpus, _ = timed(lambda i: forecast_from_days(report_days, seed=i))
    owner = report.by_owner[0].key if report.by_owner else None
    o_walls, o_cpus, _ = timed(lambda i: compute_metrics(db, pipeline, window_days=args.window, owner=owner,
                                                         seed=i))
    db.close()

    def ms(walls: list[float], cpus: list[float]) -> str:
        return (f"median {statistics.median(walls) * 1000:.0f} ms wall (worst {max(walls) * 1000:.0f}), "
                f"{statistics.median(cpus) * 1000:.0f} ms CPU")

    print(f"database: {n_deals:,} deals, {n_events:,} events, {n_stays:,} stays; window {args.window} days; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"  closed in window: {report.closed_deals:,}; stays ended in window: {report.stays_ended:,}")
    print(f"all metrics (compute_metrics):    {ms(walls, cpus)}  over {args.runs} runs")
    print(f"  of which the forecast:          {ms(f_walls, f_cpus)}")
    print(f"with an owner filter ({owner}):  {ms(o_walls, o_cpus)}")


if __name__ == "__main__":
    main()
