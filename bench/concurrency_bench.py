"""How many deal moves per second several processes sustain together on one database, with WIP limits held.

    .venv/bin/python bench/concurrency_bench.py [--processes 4] [--seconds 10] [--deals 200] [--db PATH|URL]

--db may name an empty PostgreSQL database (postgresql://user@host/db); the default is a new SQLite file.

Each process is one rep moving deals as fast as it can: read the deal, pick the next or previous stage, move it
(`services.deals.move_deal`: one write transaction under the write lock that checks the WIP limit and writes the
move, its
event and its stays). Two stages carry WIP limits, so many moves are refused at the limit. Afterwards the event log
is replayed in commit order to prove that no limit was exceeded at any moment, and that it matches the deal rows.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import random
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path

STAGES = ["Lead", "Qualified", "Discovery", "Proposal", "Negotiation"]
LIMITS = {"Discovery": 25, "Proposal": 12}


def set_up(path: str, n_deals: int) -> None:
    from tuikanban.services import deals, pipelines
    from tuikanban.store.engine import open_database

    db = open_database(path)
    pipelines.create_pipeline(db, "Sales", STAGES)
    for stage, limit in LIMITS.items():
        pipelines.set_stage(db, "Sales", stage, wip_max=limit)
    fill = {"Lead": n_deals // 2, "Qualified": n_deals - n_deals // 2 - 30, "Discovery": 20, "Proposal": 10}
    for stage, count in fill.items():
        for i in range(count):
            deals.create_deal(db, "Sales", f"{stage} deal {i}", user="setup", stage=stage, value="1000")
    db.close()


def worker(path: str, rep: str, seed: int, start_at: float, seconds: float, queue: mp.Queue) -> None:  # type: ignore[type-arg]
    from tuikanban.domain.errors import TuikanbanError, ValidationError, WipLimitError
    from tuikanban.services import deals
    from tuikanban.store.engine import open_database

    db = open_database(path)
    ids = [d.id for d in deals.list_deals(db, "Sales")]
    rng = random.Random(seed)
    stats: Counter[str] = Counter()
    latencies: list[float] = []
    errors: list[str] = []
    while time.time() < start_at:
        time.sleep(0.001)
    end = time.time() + seconds
    while time.time() < end:
        deal = deals.get_deal(db, rng.choice(ids))
        pos = STAGES.index(deal.stage_name)
        target = STAGES[pos + 1] if pos == 0 else STAGES[pos - 1] if pos == len(STAGES) - 1 else \
            STAGES[pos + rng.choice((-1, 1))]
        t0 = time.perf_counter()
        try:
            deals.move_deal(db, deal.id, target, user=rep)
            stats["moved"] += 1
        except WipLimitError:
            stats["refused at a WIP limit"] += 1
        except ValidationError:
            stats["moved by someone else first"] += 1
        except TuikanbanError as exc:
            stats["error"] += 1
            errors.append(str(exc))
        latencies.append(time.perf_counter() - t0)
    db.close()
    queue.put((rep, dict(stats), latencies, errors[:5]))


def replay_peaks(path: str) -> tuple[dict[str, int], list[str]]:
    """Most open deals each stage ever held, replaying the log in commit order; and log/row mismatches."""
    from tuikanban.store.engine import open_database

    db = open_database(path)
    con = db.engine.connect()
    names = dict(con.exec_driver_sql("SELECT id, name FROM stage").all())
    where: dict[int, int] = {}
    count: Counter[int] = Counter()
    peak: Counter[int] = Counter()
    problems: list[str] = []
    for deal, kind, src, dst in con.exec_driver_sql(
            "SELECT deal_id, kind, from_stage_id, to_stage_id FROM event ORDER BY id").all():
        if kind == "create":
            where[deal] = dst
        elif kind == "move":
            if where.get(deal) != src:
                problems.append(f"deal {deal} moved from {src} but was in {where.get(deal)}")
            count[src] -= 1
            where[deal] = dst
        else:
            continue
        count[dst] += 1
        peak[dst] = max(peak[dst], count[dst])
    rows = dict(con.exec_driver_sql("SELECT id, stage_id FROM deal").all())
    problems += [f"deal {d}: row in {s}, log in {where.get(d)}" for d, s in rows.items() if where.get(d) != s]
    if db.target.path is not None:
        integrity = con.exec_driver_sql("PRAGMA integrity_check").scalar()
        if integrity != "ok":
            problems.append(f"integrity_check: {integrity}")
    con.close()
    db.close()
    return {names[s]: n for s, n in peak.items()}, problems


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--processes", type=int, default=4)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--deals", type=int, default=200)
    ap.add_argument("--db", default=None, help="an SQLite file (default: a new one) or an empty PostgreSQL database")
    args = ap.parse_args()
    folder = tempfile.mkdtemp(prefix="tk-bench-")
    path = args.db or str(Path(folder) / "bench.db")
    set_up(path, args.deals)
    ctx = mp.get_context("spawn")
    queue: mp.Queue = ctx.Queue()  # type: ignore[type-arg]
    start_at = time.time() + 3.0  # time for every process to import and open the file
    procs = [ctx.Process(target=worker, args=(str(path), f"rep{i}", i, start_at, args.seconds, queue))
             for i in range(args.processes)]
    for p in procs:
        p.start()
    results = [queue.get(timeout=args.seconds + 120) for _ in procs]
    for p in procs:
        p.join()
    total: Counter[str] = Counter()
    latencies: list[float] = []
    errors: list[str] = []
    for _rep, stats, lat, errs in results:
        total.update(stats)
        latencies += lat
        errors += errs
    peaks, problems = replay_peaks(path)
    attempts = sum(total.values())
    latencies.sort()
    from tuikanban.domain.targets import parse_target

    where = "one file" if parse_target(path).path is not None else str(parse_target(path))
    print(f"{args.processes} processes x {args.seconds:g} s on {where} ({args.deals} deals, limits {LIMITS})")
    rate = total["moved"] / args.seconds
    print(f"  moves committed:              {total['moved']:,}  ({rate:,.0f} per second sustained)")
    print(f"  move attempts:                {attempts:,}  ({attempts / args.seconds:,.0f} per second)")
    for key in ("refused at a WIP limit", "moved by someone else first", "error"):
        print(f"  {key + ':':<30}{total[key]:,}")
    if latencies:
        p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
        print(f"  latency per move:             median {statistics.median(latencies) * 1000:.1f} ms, "
              f"p99 {p99 * 1000:.1f} ms, worst {latencies[-1] * 1000:.0f} ms")
    over = {s: n for s, n in peaks.items() if s in LIMITS and n > LIMITS[s]}
    print(f"  peak occupancy:               {', '.join(f'{s} {peaks.get(s, 0)}/{lim}' for s, lim in LIMITS.items())}")
    print(f"  limits exceeded:              {over or 'none'}")
    print(f"  log matches rows:             {'yes' if not problems else problems[:5]}")
    if errors:
        print(f"  errors seen:                  {errors[:5]}")
    if over or problems or errors:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
