"""Live-update latency between two boards: from one board's commit to the other board showing the change.

    python bench/notify_bench.py --db postgresql:///tk_bench     # PostgreSQL (LISTEN/NOTIFY), beside SQLite
    python bench/notify_bench.py --moves 40

Two boards run headless in this process (Textual's test harness, 160x45), each with its own database handle,
lanes and change feed, as two reps' processes would have. Board B moves a deal back and forth (shift+right /
shift+left); for each move the time is taken from the moment B's write starts (its gateway's move is called)
until board A's re-read of the board returns ("re-read"), and until A holds the deal in its new column
("shown": A paints it in its next frame; checked every millisecond on the event loop both boards share, so B's
own repaint and aging read delay it). The
PostgreSQL board lives in a schema of its own (`bench_notify`, made again on every run) in the database --db
names; the SQLite one in a temporary file. Figures only: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "tests"))

from board_helpers import settle  # noqa: E402
from tuikanban.services import deals as ds  # noqa: E402
from tuikanban.services import pipelines as ps  # noqa: E402
from tuikanban.store.engine import open_database  # noqa: E402
from tuikanban.ui.app import TuikanbanApp  # noqa: E402

SCHEMA = "bench_notify"


def pg_schema(url: str) -> str:
    import psycopg

    from tuikanban.domain.targets import parse_target
    from tuikanban.store.pg import conninfo

    with psycopg.connect(conninfo(parse_target(url)), autocommit=True) as con:
        con.execute(f'DROP SCHEMA IF EXISTS "{SCHEMA}" CASCADE')
        con.execute(f'CREATE SCHEMA "{SCHEMA}"')
    return f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{SCHEMA}"


def seed(target: str) -> None:
    db = open_database(target)
    try:
        p = ps.create_pipeline(db, "Bench", ["Lead", "Qualified", "Proposal"])
        for i in range(20):
            ds.create_deal(db, p.id, f"Deal {i}", user="seed", stage="Lead")
    finally:
        db.close()


def stage_of(app: TuikanbanApp, deal_id: int) -> int | None:
    """The column the board shows the deal in."""
    model = app.board_screen.model
    found = model.locate(deal_id) if model is not None else None
    return found[1] if found is not None else None


async def measure(target: str, moves: int) -> list[tuple[float, float]]:
    db_a, db_b = open_database(target), open_database(target)
    a, b = TuikanbanApp(db_a, "ana"), TuikanbanApp(db_b, "ben")
    committed: list[float] = []
    original = b.gateway.move

    def timed_move(*args: Any, **kw: Any) -> Any:
        committed.append(time.perf_counter())  # (the write's own few milliseconds are counted in)
        return original(*args, **kw)

    b.gateway.move = timed_move  # type: ignore[method-assign]
    read: list[float] = []
    original_load = a.gateway.load

    def timed_load(*args: Any, **kw: Any) -> Any:
        result = original_load(*args, **kw)
        read.append(time.perf_counter())
        return result

    a.gateway.load = timed_load  # type: ignore[method-assign]
    # another rep's change is applied from its events (ui/board/live.py catch_up_job), a full load only when a
    # pipeline's settings changed: time whichever board A runs
    from tuikanban.ui.board import base as board_base

    original_catch_up = board_base.catch_up_job

    def timed_catch_up(gateway: Any, *args: Any, **kw: Any) -> Any:
        result = original_catch_up(gateway, *args, **kw)
        if gateway is a.gateway:
            read.append(time.perf_counter())
        return result

    board_base.catch_up_job = timed_catch_up  # type: ignore[assignment]
    latencies: list[tuple[float, float]] = []
    try:
        async with a.run_test(size=(160, 45)) as pa, b.run_test(size=(160, 45)) as pb:
            await settle(pa)
            await settle(pb)
            await asyncio.sleep(0.5)  # both feeds are listening
            for i in range(moves):
                card = b.board_screen.view.focused_card
                start = stage_of(a, card.id) if card is not None else None
                assert card is not None and start is not None
                moved_to = start + (1 if i % 2 == 0 else -1)
                await pb.press("shift+right" if i % 2 == 0 else "shift+left")  # no waiting for board B
                while len(committed) <= i or stage_of(a, card.id) != moved_to:
                    await asyncio.sleep(0.001)
                seen = time.perf_counter()
                reread = next(t for t in read if t >= committed[i])
                latencies.append(((reread - committed[i]) * 1000, (seen - committed[i]) * 1000))
                await settle(pa)
                await settle(pb)
    finally:
        db_a.close()
        db_b.close()
    return latencies


def report(name: str, what: str, ms: list[float]) -> None:
    ms = sorted(ms)
    p90 = ms[max(0, int(0.9 * len(ms)) - 1)]
    print(f"{name:>10} | {what:>8} | {statistics.median(ms):8.1f} ms | {p90:8.1f} ms | {ms[0]:6.1f} ms | "
          f"{ms[-1]:7.1f} ms | {len(ms)}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", default=None, help="a PostgreSQL database URL (a schema is made in it)")
    ap.add_argument("--moves", type=int, default=30)
    a = ap.parse_args()
    targets = []
    with tempfile.TemporaryDirectory() as tmp:
        targets.append(("sqlite", str(Path(tmp) / "board.db")))
        if a.db:
            targets.append(("postgresql", pg_schema(a.db)))
        print(f"{'engine':>10} | {'until':>8} | {'median':>11} | {'p90':>11} | {'min':>9} | {'max':>10} | moves")
        for name, target in targets:
            seed(target)
            pairs = asyncio.run(measure(target, a.moves))
            report(name, "re-read", [r for r, _s in pairs])
            report(name, "shown", [s for _r, s in pairs])
        print("re-read: board A's read of the changed board has returned (on its lane); shown: A's model holds the "
              "move (its next frame paints it), on an event loop shared with board B.")


if __name__ == "__main__":
    main()
