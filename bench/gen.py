"""Generate a large synthetic tuikanban database for benchmarks.

    python bench/gen.py --deals 100000 --open 10000 --events 1000000 --out /tmp/big.db

The schema comes from tuikanban itself (open_database); rows are bulk-inserted with sqlite3 in the exact storage
format SQLAlchemy uses, and stays/events are consistent with what the services would write (create, move, won,
lost and edit events; one stay per stage visit with its outcome).
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

STAGES = ("Prospecting", "Qualification", "Discovery", "Proposal", "Negotiation", "Contract")
TYPES = ("New business", "Expansion", "Renewal")
OWNERS = ("alice", "bob", "carol", "dave", "erin", "frank")
REASONS = ("Price", "Lost to competitor", "No budget", "No decision", "Timing")


def ts(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def generate(path: Path, *, deals: int, open_deals: int, events: int, seed: int = 7,
             now: datetime | None = None, wip_max: int | None = None) -> dict[str, int]:
    from tuikanban.services.pipelines import create_pipeline, set_stage
    from tuikanban.store.engine import open_database

    if path.exists():
        path.unlink()
    for suffix in ("-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    now = now or datetime.now(UTC)
    rng = random.Random(seed)
    db = open_database(path)
    p = create_pipeline(db, "Bench", list(STAGES), target=str(deals * 1000), types=list(TYPES))
    expected = (5, 7, 10, 14, 10, 7)
    for name, days, prob in zip(STAGES, expected, (10, 20, 35, 55, 75, 90), strict=True):
        set_stage(db, p.id, name, expected_days=days, probability=prob)
    if wip_max is not None:
        set_stage(db, p.id, STAGES[3], wip_max=wip_max)
    db.close()

    con = sqlite3.connect(str(path))
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=OFF")
    stage_ids = [r[0] for r in con.execute("SELECT id FROM stage WHERE pipeline_id=? ORDER BY position", (p.id,))]
    type_ids = [r[0] for r in con.execute("SELECT id FROM deal_type WHERE pipeline_id=? ORDER BY position", (p.id,))]
    extra_per_deal = max(0.0, events / max(deals, 1) - 4.0)
    deal_rows, event_rows, stay_rows = [], [], []
    n_events = 0
    start = time.perf_counter()
    for i in range(deals):
        deal_id = i + 1
        is_open = i < open_deals
        created = now - timedelta(days=rng.uniform(1, 360), seconds=rng.randint(0, 86400))
        t = created
        owner = OWNERS[rng.randrange(len(OWNERS))]
        value = rng.randrange(1_000, 200_000) * 100
        final_idx = rng.randrange(len(STAGES))
        idx = 0
        entered = t
        event_rows.append((p.id, deal_id, "create", ts(t), owner, None, stage_ids[0], None, None, None, None))
        while idx < final_idx:
            t = t + timedelta(days=rng.uniform(0.5, 2 * expected[idx]))
            if t >= now:  # between entering and now: a stay never ends before it started (docs/RULES.md, Stays)
                t = entered + (now - entered) * rng.uniform(0.5, 0.95)
            nxt = idx + 1
            stay_rows.append((p.id, deal_id, stage_ids[idx], ts(entered), ts(t), "advanced"))
            event_rows.append((p.id, deal_id, "move", ts(t), owner, stage_ids[idx], stage_ids[nxt], None, None,
                               None, None))
            idx, entered = nxt, t
        status, closed, reason = "open", None, ""
        if not is_open:
            t = max(entered, min(now - timedelta(minutes=1), t + timedelta(days=rng.uniform(0.5, 2 * expected[idx]))))
            won = rng.random() < 0.35
            status = "won" if won else "lost"
            closed = t
            reason = "" if won else REASONS[rng.randrange(len(REASONS))]
            stay_rows.append((p.id, deal_id, stage_ids[idx], ts(entered), ts(t), "advanced" if won else "dropped"))
            event_rows.append((p.id, deal_id, status, ts(t), owner, stage_ids[idx], None, None, None,
                               reason or None, None))
        else:
            stay_rows.append((p.id, deal_id, stage_ids[idx], ts(entered), None, None))
        extra = int(extra_per_deal) + (1 if rng.random() < extra_per_deal % 1 else 0)
        span = max((t - created).total_seconds(), 60.0)
        for at in sorted(created + timedelta(seconds=rng.uniform(0, span)) for _ in range(extra)):
            # each edit starts from the value the last one left, and the deal keeps the last (the import checks it)
            new = max(value // 100 + rng.randrange(-500, 500), 0) * 100
            event_rows.append((p.id, deal_id, "edit", ts(at), owner, None, None, "value", str(value), str(new), None))
            value = new
        close_date = (now + timedelta(days=rng.randint(-20, 90))).date().isoformat()
        deal_rows.append((
            deal_id, p.id, f"Deal {deal_id} {rng.choice(('Platform', 'Renewal', 'Pilot', 'Upgrade', 'Rollout'))}",
            f"Company {rng.randrange(5000)}", f"Contact {rng.randrange(9000)}", value, "USD", owner,
            type_ids[rng.randrange(len(type_ids))], close_date, "", stage_ids[idx], status, reason, ts(created),
            ts(entered), ts(closed) if closed else None, None, -rng.randrange(1_000_000), 1,
        ))
        if len(event_rows) > 200_000:
            n_events += _flush(con, deal_rows, event_rows, stay_rows)
    n_events += _flush(con, deal_rows, event_rows, stay_rows)
    con.commit()
    con.execute("ANALYZE")
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    return {"deals": deals, "open": open_deals, "events": n_events, "seconds": int(time.perf_counter() - start)}


def _flush(con: sqlite3.Connection, deals: list, events: list, stays: list) -> int:  # type: ignore[type-arg]
    con.executemany(
        "INSERT INTO deal (id, pipeline_id, title, company, contact, value_minor, currency, owner, type_id, "
        "expected_close, notes, stage_id, status, lost_reason, created_at, stage_entered_at, closed_at, "
        "last_activity_at, rank, version) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", deals)
    con.executemany(
        "INSERT INTO event (pipeline_id, deal_id, kind, at, user, from_stage_id, to_stage_id, field, old_value, "
        "new_value, reason) VALUES (?,?,?,?,?,?,?,?,?,?,?)", events)
    con.executemany(
        "INSERT INTO stay (pipeline_id, deal_id, stage_id, entered_at, left_at, outcome) VALUES (?,?,?,?,?,?)",
        stays)
    n = len(events)
    deals.clear()
    events.clear()
    stays.clear()
    return n


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--deals", type=int, default=1000)
    ap.add_argument("--open", type=int, default=None, help="open deals (default: all)")
    ap.add_argument("--events", type=int, default=None, help="about this many events (default: what the moves make)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--wip-max", type=int, default=None, help="WIP limit on the Proposal stage")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    open_deals = args.deals if args.open is None else args.open
    events = args.events if args.events is not None else args.deals * 4
    info = generate(args.out, deals=args.deals, open_deals=open_deals, events=events, seed=args.seed,
                    wip_max=args.wip_max)
    print(f"wrote {args.out}: {info['deals']} deals ({info['open']} open), {info['events']} events", file=sys.stderr)


if __name__ == "__main__":
    main()
