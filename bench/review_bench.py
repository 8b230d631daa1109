"""How long the review screen (`v` on the board) takes to open at 10,000 open deals (goal: within 200 ms).

    python bench/review_bench.py                       # generates /tmp/tuikanban-bench/review.db once, then times it
    python bench/review_bench.py --db /tmp/big.db      # an existing database (from bench/gen.py)

Runs the board headless (Textual's `run_test`), presses `v` and times until the screen shows the bridge (the
report computed on the reads lane and painted), then until the whole report is in (the idle list, the second
step), then escape; several runs, the median and worst. The first figure is how soon the screen itself is up with
its loading line (the computation follows). Figures only.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))


async def _measure(db_path: Path, runs: int) -> tuple[list[float], list[float], list[float]]:
    from textual.widgets import OptionList

    from tuikanban.store.engine import open_database
    from tuikanban.ui.app import TuikanbanApp
    from tuikanban.ui.jobs import lanes_of
    from tuikanban.ui.screens.review import ReviewScreen

    db = open_database(db_path)
    app = TuikanbanApp(db, "bench")
    up: list[float] = []
    shown: list[float] = []
    full: list[float] = []
    async with app.run_test(size=(160, 45)) as pilot:
        while app.board_screen.busy or app.board_screen.db is None or lanes_of(app).pending:
            await asyncio.sleep(0.02)
        for _ in range(runs):
            t0 = time.perf_counter()
            app.board_screen.action_review()  # (pilot.press would wait for the app to be idle)
            while not (isinstance(app.screen, ReviewScreen) and app.screen.is_mounted):
                await asyncio.sleep(0)
            up.append(time.perf_counter() - t0)
            while app.screen.query_one("#rv-list", OptionList).option_count == 0:
                await asyncio.sleep(0)
            shown.append(time.perf_counter() - t0)
            screen = app.screen
            assert isinstance(screen, ReviewScreen)
            while screen.report is None or getattr(screen.report, "idle_pending", False):
                await asyncio.sleep(0)
            full.append(time.perf_counter() - t0)
            while lanes_of(app).pending:  # the review mark
                await asyncio.sleep(0.01)
            await pilot.press("escape")
            await pilot.pause()
    db.close()
    return up, shown, full


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", type=Path, default=Path("/tmp/tuikanban-bench/review.db"))
    ap.add_argument("--open", type=int, default=10_000)
    ap.add_argument("--runs", type=int, default=7)
    args = ap.parse_args(argv)
    if not args.db.exists():
        import gen  # bench/gen.py

        args.db.parent.mkdir(parents=True, exist_ok=True)
        print(f"generating {args.db} ({args.open:,} open deals)...", file=sys.stderr)
        gen.generate(args.db, deals=args.open * 2, open_deals=args.open, events=args.open * 20)
    up, shown, full = asyncio.run(_measure(args.db, args.runs))

    def ms(xs: list[float]) -> str:
        return f"median {statistics.median(xs) * 1000:,.0f} ms, worst {max(xs) * 1000:,.0f} ms"

    print(f"review screen up (loading line): {ms(up)}")
    print(f"review shown (bridge painted):   {ms(shown)}")
    print(f"whole report (idle list in):     {ms(full)}")
    print(f"load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
