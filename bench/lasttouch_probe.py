"""What a writer-kept per-deal "last touched" column would buy `changes --since 90d`, and what it would cost the
writers: a measurement on a copy of a board, not a feature (the schema is not changed by this tree).

    python bench/lasttouch_probe.py --db big.db --copy /tmp/probe.db [--since '2026-09-08 16:00:00.000000']
        [--until '2026-12-07 16:00:00.000000'] [--runs 5]

On the copy (the source board is never written) it adds `deal.last_touch` (the later of a deal's last event but
reorders and its last activity) with a backfill and an index `(pipeline_id, last_touch, created_at, id)`, then
times, alternated run by run (A B A B; medians and ranges, with the load average):

- the older deals' GROUP BY of `services.review_reads._read_deals` as it is (the period's range of
  ix_event_review_slim, with its probe of the period's creates) against the same GROUP BY driven from the deals
  touched since and created before the period (ix_deal_touch, then ix_event_deal_state per deal); the rows must
  be the same;
- the idle list's last touches of the open deals (`services.review_idle`, 500 ids a query) against reading the
  column;
- the writers: 2,000 single-event transactions (a card move: an event and the deal's row) and one transaction of
  100,000 event rows (an import's log), without and with an AFTER INSERT trigger on event that keeps the column.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import statistics
import time
from pathlib import Path

KINDS = "('create', 'reopen', 'won', 'lost', 'deleted', 'restored', 'undo', 'redo', 'move', 'edit')"
LAST_EVENT = ("(SELECT event.at FROM event WHERE event.deal_id = deal.id AND event.at <= :until"
              " AND event.kind != 'reorder' ORDER BY event.at DESC LIMIT 1)")
LAST_ACTIVITY = "(SELECT max(activity.at) FROM activity WHERE activity.deal_id = deal.id AND activity.at <= :until)"
TRIGGER = ("CREATE TRIGGER tr_event_touch AFTER INSERT ON event WHEN NEW.deal_id IS NOT NULL"
           " AND NEW.kind != 'reorder' BEGIN UPDATE deal SET last_touch = NEW.at WHERE id = NEW.deal_id"
           " AND (last_touch IS NULL OR last_touch < NEW.at); END")


def grouped(source: str) -> str:
    """The older deals' GROUP BY (its columns trimmed to the ones that cost: every event of the period is read)."""
    cols = ("sum(CASE WHEN kind = 'create' THEN 1 ELSE 0 END), min(CASE WHEN kind IN ('edit', 'undo', 'redo') AND"
            " field = 'close' THEN CAST(at AS TEXT) || '|' || coalesce(old_value, '') END), min(CASE WHEN kind IN"
            " ('move', 'won', 'lost') THEN CAST(at AS TEXT) || '|' || coalesce(CAST(from_stage_id AS VARCHAR), '')"
            " END), max(CASE WHEN kind = 'create' THEN to_stage_id END)")
    if source == "log":
        return (f"SELECT +deal_id, {cols} FROM event WHERE pipeline_id = :p AND at > :since AND kind IN {KINDS}"
                " AND (field IS NULL OR field != 'value') AND deal_id NOT IN (SELECT deal_id FROM event WHERE"
                " pipeline_id = :p AND at > :since AND kind = 'create' AND deal_id IS NOT NULL) GROUP BY +deal_id")
    return (f"SELECT d0.id, {cols} FROM deal AS d0 JOIN event ON event.deal_id = d0.id WHERE d0.pipeline_id = :p"
            f" AND d0.last_touch > :since AND d0.created_at <= :since AND event.at > :since AND kind IN {KINDS}"
            " AND (field IS NULL OR field != 'value') AND event.pipeline_id = :p GROUP BY d0.id")


def timed(fn, runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return out


def show(name: str, a: list[float], b: list[float]) -> None:
    print(f"{name}: A {statistics.median(a):.1f} ms ({min(a):.1f}-{max(a):.1f}) -> B {statistics.median(b):.1f} ms"
          f" ({min(b):.1f}-{max(b):.1f}); load {os.getloadavg()[0]:.2f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", type=Path, required=True)
    ap.add_argument("--copy", type=Path, required=True)
    ap.add_argument("--since", default="2026-09-08 16:00:00.000000")
    ap.add_argument("--until", default="2026-12-07 16:00:00.000000")
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    shutil.copyfile(args.db, args.copy)
    con = sqlite3.connect(args.copy, isolation_level=None)
    p = {"p": 1, "since": args.since, "until": args.until}
    t = time.perf_counter()
    con.execute("BEGIN")
    con.execute("ALTER TABLE deal ADD COLUMN last_touch DATETIME")
    con.execute(f"UPDATE deal SET last_touch = (SELECT max(coalesce(e, a), coalesce(a, e)) FROM (SELECT"
                f" {LAST_EVENT.replace(' AND event.at <= :until', '')} AS e,"
                f" {LAST_ACTIVITY.replace(' AND activity.at <= :until', '')} AS a))")
    con.execute("CREATE INDEX ix_deal_touch ON deal (pipeline_id, last_touch, created_at, id)")
    con.execute("COMMIT")
    print(f"backfill and index of {con.execute('SELECT count(*) FROM deal').fetchone()[0]:,} deals:"
          f" {(time.perf_counter() - t) * 1000:.0f} ms; load {os.getloadavg()[0]:.2f}")

    log_rows = sorted(con.execute(grouped("log"), p).fetchall())
    touch_rows = sorted(con.execute(grouped("touch"), p).fetchall())
    print(f"GROUP BY rows: {len(log_rows):,}, the same both ways: {log_rows == touch_rows}")
    a: list[float] = []
    b: list[float] = []
    for _ in range(args.runs):
        a += timed(lambda: con.execute(grouped("log"), p).fetchall(), 1)
        b += timed(lambda: con.execute(grouped("touch"), p).fetchall(), 1)
    show("older deals' GROUP BY (A: the log's range with its probe, B: from ix_deal_touch)", a, b)

    ids = [i for (i,) in con.execute("SELECT id FROM deal WHERE pipeline_id = 1 AND status = 'open' ORDER BY id")]

    def lookups() -> None:
        for k in range(0, len(ids), 500):
            chunk = ids[k:k + 500]
            marks = ", ".join("?" * len(chunk))
            con.execute(f"SELECT id, max(coalesce(e, a), coalesce(a, e)) FROM (SELECT deal.id AS id, "
                        f"{LAST_EVENT.replace(':until', '?')} AS e, {LAST_ACTIVITY.replace(':until', '?')} AS a"
                        f" FROM deal WHERE deal.id IN ({marks}))", (args.until, args.until, *chunk)).fetchall()

    def column() -> None:
        con.execute("SELECT id, last_touch FROM deal WHERE pipeline_id = 1 AND status = 'open'").fetchall()

    a, b = [], []
    for _ in range(args.runs):
        a += timed(lookups, 1)
        b += timed(column, 1)
    show(f"last touches of {len(ids):,} open deals (A: per-deal seeks, B: the column)", a, b)

    top = con.execute("SELECT max(id) FROM deal").fetchone()[0]
    stage = con.execute("SELECT stage_id FROM deal WHERE id = ?", (top,)).fetchone()[0]

    def moves(n: int = 2000) -> None:
        for k in range(n):
            con.execute("BEGIN")
            con.execute("INSERT INTO event (pipeline_id, deal_id, kind, at, user, from_stage_id, to_stage_id)"
                        " VALUES (1, ?, 'move', '2027-01-01 00:00:00.000000', 'bench', ?, ?)",
                        (top - k % 1000, stage, stage))
            con.execute("UPDATE deal SET version = version + 1 WHERE id = ?", (top - k % 1000,))
            con.execute("COMMIT")

    def bulk(n: int = 100_000) -> None:
        con.execute("BEGIN")
        con.executemany("INSERT INTO event (pipeline_id, deal_id, kind, at, user, to_stage_id)"
                        " VALUES (1, ?, 'create', '2027-01-02 00:00:00.000000', 'bench', ?)",
                        ((1 + k % top, stage) for k in range(n)))
        con.execute("COMMIT")

    con.execute("PRAGMA synchronous = NORMAL")
    for name, fn in (("2,000 card moves, one transaction each", moves), ("100,000 event rows, one transaction", bulk)):
        a, b = [], []
        for _ in range(max(3, args.runs // 2)):
            con.execute("DROP TRIGGER IF EXISTS tr_event_touch")
            a += timed(fn, 1)
            con.execute(TRIGGER)
            b += timed(fn, 1)
        con.execute("DROP TRIGGER IF EXISTS tr_event_touch")
        show(f"{name} (A: no trigger, B: the trigger keeps last_touch)", a, b)
    con.close()


if __name__ == "__main__":
    main()
