"""A windowed board's catch-up after another rep's move, in one process: the window read again (what a big
pipeline's board did at any outside change: `BoardGateway.load`, the cells' counts and each cell's top cards, and
the model built) against the catch-up from the events (`ui.board.live.catch_up` and `apply_caught_up`), in turns.

    python bench/window_catchup_bench.py --db /tmp/copy-of-a-big-board.db --moves 15
    python bench/window_catchup_bench.py --db postgresql:///DB --moves 15

Each round moves the top card of the second column one column right and back (the services' `move_deal`, not
timed), then times both reads of the same state, their order alternating round by round. Wall and this process's
CPU (on PostgreSQL the server's work is not in the CPU). The aging and the repaint that follow a whole read are not
counted: this is the reads alone. Writes to the database: use a copy. Figures only: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from tuikanban.services import deals as ds
from tuikanban.store import fastread
from tuikanban.store.engine import open_database
from tuikanban.ui.board import gateway as board_gateway
from tuikanban.ui.board.gateway import BoardGateway
from tuikanban.ui.board.live import apply_caught_up, catch_up
from tuikanban.ui.board.state import BoardState


def timed(fn: object) -> tuple[float, float]:
    w, c = time.perf_counter(), time.process_time()
    fn()  # type: ignore[operator]
    return (time.perf_counter() - w) * 1000, (time.process_time() - c) * 1000


def show(name: str, xs: list[float]) -> str:
    q = statistics.quantiles(xs, n=4) if len(xs) > 1 else [xs[0]] * 3
    return f"{name} {statistics.median(xs):.1f} ms (IQR {q[0]:.1f}-{q[2]:.1f})"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", required=True, help="a copy of a big board: a file or a postgresql:// URL")
    ap.add_argument("--moves", type=int, default=15)
    a = ap.parse_args()
    os.environ.setdefault("TUIKANBAN_DB", a.db)
    writer = open_database(a.db)
    gw = BoardGateway(path=a.db, user="bench", db=None, con=None)
    loaded = gw.load(None, BoardState())  # (sets the window: a big pipeline)
    loaded = gw.load(None, BoardState())
    model = loaded.model
    assert model is not None and model.partial, "not a windowed board: use a pipeline of more than LAZY_ABOVE deals"
    second, third = model.stages[1].id, model.stages[2].id
    print(f"{sum(model.data.counts.values()):,} open deals, window {gw.window} (LAZY_ABOVE "
          f"{board_gateway.LAZY_ABOVE}); load {os.getloadavg()[0]:.1f}", flush=True)
    whole: list[tuple[float, float]] = []
    events: list[tuple[float, float]] = []
    for i in range(a.moves * 2):
        top = model.stage_cards[second][0] if i % 2 == 0 else None
        moved = top.id if top is not None else moved  # noqa: F821 (the card moved right the round before)
        ds.move_deal(writer, moved, third if i % 2 == 0 else second, user="other")

        def incremental() -> None:
            apply_caught_up(model, catch_up(gw, model, snoozed=False))

        def reread() -> None:
            seen = gw.seen
            gw.load(model.data.pipeline.id, BoardState())
            gw.seen = seen  # (the incremental catch-up, timed in the same round, reads from where it was)

        first, then = (incremental, reread) if i % 2 == 0 else (reread, incremental)
        a_t, b_t = timed(first), timed(then)
        (events if first is incremental else whole).append(a_t)
        (whole if first is incremental else events).append(b_t)
    con = fastread.connect_live_target(gw.target)
    fresh = fastread.load_board(con, model.data.pipeline.id, window=gw.window).board
    assert fresh is not None and {k: v for k, v in fresh.counts.items() if v} == {
        k: v for k, v in model.data.counts.items() if v}, "the catch-up's counts differ from a fresh read"
    assert {k: v for k, v in (fresh.cell_counts or {}).items() if v} == {
        k: v for k, v in (model.data.cell_counts or {}).items() if v}, "the catch-up's cells differ from a fresh read"
    con.close()
    print(show("window read again: wall", [w for w, _ in whole]), show("CPU", [c for _, c in whole]))
    print(show("from the events:   wall", [w for w, _ in events]), show("CPU", [c for _, c in events]))
    print(f"load {os.getloadavg()[0]:.1f}")
    writer.close()
    gw.close()


if __name__ == "__main__":
    main()
