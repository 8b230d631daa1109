"""Benchmark: bulk actions on 100 marked deals in one transaction, and their undo, at 10,000 open deals (the
bar: a bulk move under a second).

    python bench/bulk_bench.py                        # builds /tmp/bulk_bench.db once with bench/gen.py
    python bench/bulk_bench.py --regen --runs 7

Each round takes 100 open deals of the first stage that has that many and, one after the other (interleaved, so
a change of the machine's load hits every action alike): moves them one stage on (forced past a WIP limit, as a
rep would after the refusal) with `bulk_step`, snoozes them a week with `bulk_snooze`, deletes them with
`bulk_delete`, each followed by `undo_last` of the batch, which puts the database back as it was. The floor is
an empty write transaction (`Database.write` of nothing: the lock, BEGIN IMMEDIATE and COMMIT) measured in the
same rounds. Prints the median and best wall time, the median CPU time and the median's ratio to the floor.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

sys.path.insert(0, str(Path(__file__).resolve().parent))

from aging_bench import show, timed

if TYPE_CHECKING:
    from tuikanban.domain.bulk import BulkResult


def summary(runs: list[tuple[float, float, float, object]]) -> tuple[float, float, float, object]:
    """The median wall, best wall and median CPU time of single timed runs."""
    return (statistics.median(r[0] for r in runs), min(r[1] for r in runs), statistics.median(r[2] for r in runs),
            None)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", type=Path, default=Path("/tmp/bulk_bench.db"))
    ap.add_argument("--regen", action="store_true", help="rebuild the database even if it exists")
    ap.add_argument("--deals", type=int, default=30_000)
    ap.add_argument("--open", type=int, default=10_000)
    ap.add_argument("--events", type=int, default=300_000)
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--profile", action="store_true",
                    help="instead of timing, profile one bulk move and its undo (cProfile, the top 25 by own time)")
    args = ap.parse_args(argv)

    if args.regen or not args.db.exists():
        from gen import generate

        t0 = time.perf_counter()
        info = generate(args.db, deals=args.deals, open_deals=args.open, events=args.events)
        print(f"generated {args.db}: {info['deals']} deals ({info['open']} open), {info['events']} events "
              f"in {time.perf_counter() - t0:.0f} s")

    from tuikanban.services.bulk import bulk_delete, bulk_snooze, bulk_step
    from tuikanban.services.undo import undo_last
    from tuikanban.store.engine import open_database

    con = sqlite3.connect(f"file:{args.db}?mode=ro", uri=True)
    pipeline, stage = con.execute(
        "SELECT d.pipeline_id, d.stage_id FROM deal d JOIN stage s ON s.id = d.stage_id WHERE d.status = 'open' "
        "GROUP BY d.pipeline_id, d.stage_id HAVING count(*) >= ? ORDER BY min(s.position) LIMIT 1",
        (args.batch,)).fetchone()
    ids = [r[0] for r in con.execute("SELECT id FROM deal WHERE stage_id = ? AND status = 'open' ORDER BY id "
                                      "LIMIT ?", (stage, args.batch))]
    n_open = con.execute("SELECT count(*) FROM deal WHERE status = 'open'").fetchone()[0]
    con.close()
    db = open_database(args.db)
    print(f"database: {n_open:,} open deals; {len(ids)} deals of stage {stage}; load average "
          + " ".join(f"{x:.1f}" for x in os.getloadavg()) + f" on {os.cpu_count()} cores")
    actions: dict[str, Callable[[], BulkResult]] = {
        "bulk_step": lambda: bulk_step(db, ids, 1, user="bench", force_reason="bench"),
        "bulk_snooze": lambda: bulk_snooze(db, ids, "+1w", user="bench", reason="bench"),
        "bulk_delete": lambda: bulk_delete(db, ids, user="bench"),
    }
    if args.profile:
        import cProfile
        import pstats

        for name, fn in (("bulk_step", actions["bulk_step"]),
                         ("undo", lambda: undo_last(db, pipeline, user="bench", force_reason="bench"))):
            prof = cProfile.Profile()
            prof.runcall(fn)
            print(f"--- {name}")
            pstats.Stats(prof).sort_stats("tottime").print_stats(25)
        db.close()
        return
    runs: dict[str, list[tuple[float, float, float, object]]] = {"floor": []}
    for _ in range(args.runs):
        runs["floor"].append(timed(lambda: db.write(lambda _s: None), 1))
        for name, act in actions.items():
            runs.setdefault(name, []).append(timed(act, 1))
            assert len(runs[name][-1][3].done) == len(ids)  # type: ignore[attr-defined]
            runs.setdefault(f"undo of {name}", []).append(
                timed(lambda: undo_last(db, pipeline, user="bench", force_reason="bench"), 1))
    floor = summary(runs["floor"])
    show("floor: an empty write transaction", floor)
    for name, figures in runs.items():
        if name != "floor":
            s = summary(figures)
            show(f"{name} ({len(ids)} deals)", s, f"{s[0] / floor[0]:.0f}x floor" if floor[0] else "")
    move = summary(runs["bulk_step"])
    print(f"load average after: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print(f"bar: a bulk move of {len(ids)} under 1000 ms -> " + ("met" if move[0] < 1000 else "NOT met"))
    db.close()


if __name__ == "__main__":
    main()
