"""How long all metrics of one pipeline take (the target: 100,000 deals and 1,000,000 events in well under a second).

    python bench/metrics_bench.py                      # generates /tmp/metrics_bench.db once, then times it
    python bench/metrics_bench.py --db /tmp/big.db     # an existing database (from bench/gen.py)
    python bench/metrics_bench.py --pg postgresql:///tk_bench   # the same board copied to PostgreSQL, measured too

Prints the median, best and worst of several runs of `compute_metrics` (every figure, the stage table, the
breakdowns, the weekly trend and the 10,000-trial forecast), then the forecast alone and an owner's metrics; with
--pg each figure is taken on both engines in turns, with this process's CPU and the server's ("pg serial": the
server with parallel query off, whose CPU figure counts all of the server's work).
"""

from __future__ import annotations

import argparse
import sys
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
    ap.add_argument("--pg", default=None, help="a PostgreSQL database URL: measure a copy there too, in turns with "
                                               "the file (the server's CPU read from /proc when it runs here)")
    ap.add_argument("--pg-schema", default="bench_metrics", help="the schema of that copy (kept and reused)")
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

    targets: dict[str, Any] = {"sqlite": args.db}
    servers: dict[str, Any] = {}
    if args.pg:
        from pgcopy import ServerCpu, copy_to_pg  # bench/pgcopy.py

        targets["postgresql"] = copy_to_pg(args.pg, args.db, args.pg_schema)
        # The server's parallel workers exit before their CPU can be read: the same again with parallel query off
        # gives a server figure that counts everything (and shows what the workers bring to the wall time).
        targets["pg serial"] = targets["postgresql"] + "%20-cmax_parallel_workers_per_gather%3D0"
        for engine in ("postgresql", "pg serial"):
            servers[engine] = ServerCpu(targets[engine])
    dbs = {engine: open_database(target) for engine, target in targets.items()}
    try:
        measure(args, dbs, servers, pipeline, n_deals, n_events, n_stays)
    finally:
        for db in dbs.values():
            db.close()
        for server in servers.values():
            server.close()


def measure(args: Any, dbs: dict[str, Any], servers: dict[str, Any], pipeline: int, n_deals: int, n_events: int,
            n_stays: int) -> None:
    """Every figure on each engine in turns (sqlite, postgresql, sqlite, ...): the same load on both."""
    from pgcopy import Interleaved, describe, load_average  # bench/pgcopy.py

    from tuikanban.services.forecast import forecast_from_days
    from tuikanban.services.metrics import compute_metrics

    warm = {e: compute_metrics(db, pipeline, window_days=args.window, seed=1) for e, db in dbs.items()}  # caches
    report = warm["sqlite"]
    for engine, other in warm.items():  # the same board: the same numbers
        assert (other.closed_deals, other.stays_ended) == (report.closed_deals, report.stays_ended), engine
    f = report.forecast
    report_days = [(1, 100)] * f.history_days if f.history_days else [(1, 100)] * 90
    owner = report.by_owner[0].key if report.by_owner else None
    seed = iter(range(1_000_000))
    timer = Interleaved(servers)
    print(f"database: {n_deals:,} deals, {n_events:,} events, {n_stays:,} stays; window {args.window} days; "
          f"{args.runs} runs per figure, engines in turns")
    print(f"  closed in window: {report.closed_deals:,}; stays ended in window: {report.stays_ended:,}")
    print(f"  before: {load_average()}")
    every = timer.run({e: (lambda db=db: compute_metrics(db, pipeline, window_days=args.window, seed=next(seed)))
                       for e, db in dbs.items()}, args.runs)
    forecast = timer.run({"no database": lambda: forecast_from_days(report_days, seed=next(seed))}, args.runs)
    by_owner = timer.run({e: (lambda db=db: compute_metrics(db, pipeline, window_days=args.window, owner=owner,
                                                           seed=next(seed))) for e, db in dbs.items()}, args.runs)
    print(f"  after:  {load_average()}")
    for engine in dbs:
        print(f"all metrics (compute_metrics), {engine + ':':12s} {describe(every[engine])}")
    print(f"  of which the forecast:                   {describe(forecast['no database'])}")
    for engine in dbs:
        print(f"with an owner filter ({owner}), {engine + ':':12s} {describe(by_owner[engine])}")


if __name__ == "__main__":
    main()
