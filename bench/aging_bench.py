"""Benchmark: the aging function for 10,000 open deals with 1,000,000 events (the issue's bar: under 300 ms).

    python bench/aging_bench.py                       # builds /tmp/aging_bench.db once with bench/gen.py
    python bench/aging_bench.py --db /tmp/big.db      # or time an existing database
    python bench/aging_bench.py --regen --runs 9

Prints the median and best of several runs of `aging_report` (every open deal: baseline, level, signals),
of `stage_baselines` alone, and of a filtered call (the panel with the board's filter on).
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))


def _ts(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def add_close_pushes(path: Path, *, deals: int, seed: int = 11) -> int:
    """Give some open deals close-date edits (pushed later, or earlier) so the close_pushed aggregate has work."""
    rng = random.Random(seed)
    con = sqlite3.connect(str(path))
    rows = con.execute(
        "SELECT id, pipeline_id, owner, created_at FROM deal WHERE status='open' ORDER BY id LIMIT ?", (deals,)
    ).fetchall()
    now = datetime.now(UTC)
    events = []
    for deal_id, pipeline_id, owner, created in rows:
        start = datetime.fromisoformat(created).replace(tzinfo=UTC)
        close = (start + timedelta(days=30)).date()
        for _ in range(rng.randint(1, 4)):
            new = close + timedelta(days=rng.choice((-7, 14, 21, 30)))
            at = start + (now - start) * rng.random()
            events.append((pipeline_id, deal_id, "edit", _ts(at), owner, "close", close.isoformat(), new.isoformat()))
            close = new
    con.executemany(
        "INSERT INTO event (pipeline_id, deal_id, kind, at, user, field, old_value, new_value) "
        "VALUES (?,?,?,?,?,?,?,?)",
        events,
    )
    con.commit()
    con.close()
    return len(events)


def timed(fn, runs: int) -> tuple[float, float, object]:  # type: ignore[no-untyped-def]
    times, result = [], None
    for _ in range(runs):
        start = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), min(times), result


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", type=Path, default=Path("/tmp/aging_bench.db"))
    ap.add_argument("--regen", action="store_true", help="rebuild the database even if it exists")
    ap.add_argument("--deals", type=int, default=100_000)
    ap.add_argument("--open", type=int, default=10_000)
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=7)
    args = ap.parse_args(argv)

    if args.regen or not args.db.exists():
        from gen import generate

        t0 = time.perf_counter()
        info = generate(args.db, deals=args.deals, open_deals=args.open, events=args.events)
        pushes = add_close_pushes(args.db, deals=min(args.open, 2_000))
        print(f"generated {args.db}: {info['deals']} deals ({info['open']} open), {info['events']} events "
              f"+ {pushes} close-date edits in {time.perf_counter() - t0:.0f} s")

    from tuikanban.domain.filters import DealFilter
    from tuikanban.services.aging import aging_report, stage_baselines
    from tuikanban.store.engine import open_database

    db = open_database(args.db)
    con = sqlite3.connect(f"file:{args.db}?mode=ro", uri=True)
    n_open = con.execute("SELECT count(*) FROM deal WHERE status='open'").fetchone()[0]
    n_events = con.execute("SELECT count(*) FROM event").fetchone()[0]
    pipeline = con.execute("SELECT id FROM pipeline ORDER BY id LIMIT 1").fetchone()[0]
    con.close()
    aging_report(db, pipeline)  # warm the page cache once, as the board would have

    med, best, items = timed(lambda: aging_report(db, pipeline), args.runs)
    assert isinstance(items, list)
    levels = {lv: sum(1 for i in items if i.level == lv) for lv in ("ok", "aging", "stalled")}
    signals = {s: sum(1 for i in items if s in i.signals)
               for s in ("no_activity", "past_close", "close_pushed", "no_value")}
    print(f"database: {n_open:,} open deals, {n_events:,} events")
    print(f"aging_report:   median {med:6.1f} ms  best {best:6.1f} ms  ({len(items):,} deals; {levels}; {signals})")
    med_b, best_b, _ = timed(lambda: stage_baselines(db, pipeline), args.runs)
    print(f"stage_baselines: median {med_b:6.1f} ms  best {best_b:6.1f} ms")
    flt = DealFilter(owner="alice")
    med_f, best_f, shown = timed(lambda: aging_report(db, pipeline, deal_filter=flt), args.runs)
    assert isinstance(shown, list)
    print(f"filtered (owner:alice): median {med_f:6.1f} ms  best {best_f:6.1f} ms  ({len(shown):,} deals)")
    print("bar: under 300 ms -> " + ("met" if med < 300 else "NOT met"))
    db.close()


if __name__ == "__main__":
    main()
