"""How long `changes --since 90d` takes on 100,000 deals and 1,000,000 events (goal: under 500 ms).

    python bench/changes_bench.py                      # generates /tmp/metrics_bench.db once, then times it
    python bench/changes_bench.py --db /tmp/big.db     # an existing database (from bench/gen.py)

Prints the median and worst of several runs of `compute_changes` (the bridge, moved, pushed, new, idle and
closing-soon lists), with and without an owner filter and a closing period; then the metrics as they were before
the open-deal forecast (goal for `metrics --json`: within 1.5x of it), `metrics --json` as it is now (the
forecast without its backtest), and the 12-point backtest of `metrics --json --backtest` (goal: under 2 s).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import timedelta
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
    ap.add_argument("--days", type=int, default=90)
    args = ap.parse_args(argv)

    if not args.db.exists():
        import gen  # bench/gen.py

        print(f"generating {args.db} ({args.deals:,} deals, {args.events:,} events)...", file=sys.stderr)
        gen.generate(args.db, deals=args.deals, open_deals=args.open, events=args.events)

    from tuikanban.domain import clock
    from tuikanban.domain.periods import parse_period
    from tuikanban.services.changes import compute_changes
    from tuikanban.store.engine import open_database

    db = open_database(args.db)
    since = clock.now() - timedelta(days=args.days)
    compute_changes(db, None, since=since)  # warm the page and statement caches

    def timed(fn: Any) -> tuple[tuple[list[float], list[float]], Any]:
        walls, cpus, result = [], [], None
        for _ in range(args.runs):
            w0, c0 = time.perf_counter(), time.process_time()
            result = fn()
            walls.append(time.perf_counter() - w0)
            cpus.append(time.process_time() - c0)
        return (walls, cpus), result

    def ms(times: tuple[list[float], list[float]]) -> str:
        walls, cpus = times
        return (f"median {statistics.median(walls) * 1000:.0f} ms wall (worst {max(walls) * 1000:.0f}), "
                f"{statistics.median(cpus) * 1000:.0f} ms CPU")

    walls, report = timed(lambda: compute_changes(db, None, since=since))
    o_walls, _ = timed(lambda: compute_changes(db, None, since=since, owner="alice"))
    period = parse_period("this-quarter", today=clock.now().date())
    c_walls, _ = timed(lambda: compute_changes(db, None, since=since, closing=period))
    from tuikanban.services.forecast_open import open_forecast
    from tuikanban.services.metrics import compute_metrics, metrics_json

    def metrics_doc(backtest: bool | None) -> dict[str, Any]:
        """What `metrics --json` computes; None: the metrics alone, as before the open-deal forecast."""
        report = compute_metrics(db, None, window_days=90, seed=1)
        doc = metrics_json(report)
        if backtest is not None:
            doc.update(open_forecast(db, report.pipeline.id, seed=1, now=report.now, backtest=backtest))
        return doc

    m_walls, _ = timed(lambda: metrics_doc(None))
    j_walls, _ = timed(lambda: metrics_doc(False))
    runs = args.runs
    args.runs = max(3, runs // 2)
    b_walls, _ = timed(lambda: metrics_doc(True))
    db.close()
    touched = sum(len(b.deals) for b in report.bridge.values())
    print(f"database {args.db}; since {args.days} days; load average {os.getloadavg()[0]:.1f} on "
          f"{os.cpu_count()} cores")
    print(f"  bridge entries {touched:,}, moved {len(report.moved):,}, idle {len(report.idle):,}, "
          f"closing soon {len(report.closing_soon):,}")
    print(f"changes --since {args.days}d:              {ms(walls)} over {runs} runs")
    print(f"  with --owner alice:             {ms(o_walls)}")
    print(f"  with --closing this-quarter:    {ms(c_walls)}")
    print(f"metrics, without the forecast:    {ms(m_walls)}")
    print(f"metrics --json:                   {ms(j_walls)}")
    print(f"metrics --json --backtest:        {ms(b_walls)} over {args.runs} runs")


if __name__ == "__main__":
    main()
