"""What each screen costs in memory, measured inside one board process (headless, 160x45).

    python bench/screens_memory.py --db /tmp/tuikanban-bench/board-100000.db
    python bench/screens_memory.py --db FILE --only "aging panel,pipelines" --trace 12   # where it goes
    python bench/screens_memory.py --db FILE --repeat 20 --only "deal detail"           # growth over opens
    python bench/screens_memory.py --db FILE --repeat 100 --every 25 --only "aging panel" --moves 1000
    python bench/screens_memory.py --db FILE --only none --no-aging-spare   # the board without its hidden panel

The board is started on the database, left to settle, then every screen is opened (its key on the board's first
card), left to settle, and closed (escape), in turn. After each: the growth of the peak RSS (VmHWM) and of the
resident RSS (VmRSS, after a garbage collection) over the process before the screen's key. With `--trace N` the
process runs under tracemalloc and the N places (file:line, 6 frames) that keep the most memory after the screen
closed are printed (tracemalloc slows everything down and adds its own bytes: use it to see where, not how much).
With `--repeat K` each screen is opened and closed K times and the RSS after the first and after the last is shown
(`--every E`: also after every E-th). `--moves N`: then N card moves of the first card (right, left, ...), the RSS
after every N/4. `--no-aging-spare`: the board builds no aging panel hidden ahead of its key (what that spare
costs: compare the settled RSS with and without, interleaved runs).
At the end, the process's peak: the largest VmHWM of every stretch (the per-screen reset hides it from
`ru_maxrss`, which `/usr/bin/time` reports: that is the peak since the last screen's key only).

Peak RSS of the real terminal run is bench/board_bench.py --tour; this one says which screen makes it. Figures
only: nothing here asserts.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import time
import tracemalloc
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

# (name, key, how the screen is closed)
SCREENS: list[tuple[str, str]] = [
    ("deal detail", "enter"), ("new deal", "n"), ("edit deal", "e"), ("help", "question_mark"),
    ("settings", "comma"), ("closed deals", "c"), ("aging panel", "a"), ("metrics", "m"), ("pipelines", "p"),
    ("today", "t"), ("review", "v"),
]


def status_kb(name: str) -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(name + ":"):
                return int(line.split()[1])
    return 0


def reset_hwm() -> None:
    """Reset VmHWM to the current RSS (Linux: writing 5 to clear_refs), so each screen's peak is its own."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


async def settle(pilot: Any, limit: float = 120.0) -> None:
    """Until the board's jobs (and its screens' jobs) are done and shown, or `limit` seconds."""
    from tuikanban.ui.jobs import lanes_of

    app = pilot.app
    end = time.monotonic() + limit
    while time.monotonic() < end:
        await pilot.pause()
        busy = (app.board_screen.busy or any(not w.is_finished for w in app.workers) or lanes_of(app).pending > 0
                or app.board_screen.db is None)
        if not busy:
            await pilot.pause()
            return
        await asyncio.sleep(0.02)
    print(f"  (still busy after {limit} s: board busy {app.board_screen.busy}, workers "
          f"{[w.name for w in app.workers if not w.is_finished]}, lanes {lanes_of(app).pending}, "
          f"screen {type(app.screen).__name__})", flush=True)


async def settle_quiet(pilot: Any, seconds: float) -> None:
    await settle(pilot)
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        await asyncio.sleep(0.05)
        await pilot.pause()
    await settle(pilot)


async def move_series(pilot: Any, moves: int) -> None:
    """`moves` card moves of the focused card, right then left (each one written), the RSS after every quarter."""
    gc.collect()
    print(f"moves: RSS before {status_kb('VmRSS') / 1024:.1f} MB", flush=True)
    for i in range(moves):
        await pilot.press("shift+right" if i % 2 == 0 else "shift+left")
        await settle(pilot)
        if (i + 1) % max(1, moves // 4) == 0:
            gc.collect()
            print(f"    after {i + 1:>5} moves: RSS {status_kb('VmRSS') / 1024:.1f} MB", flush=True)


async def run(a: argparse.Namespace) -> None:
    from tuikanban.domain.targets import parse_target
    from tuikanban.store import fastread
    from tuikanban.ui.app import TuikanbanApp
    from tuikanban.ui.board.gateway import BoardGateway
    from tuikanban.ui.board.state import BoardState

    only = {x.strip() for x in a.only.split(",") if x.strip()}
    if a.no_aging_spare:
        from tuikanban.ui.spares import Spares

        Spares.want_widget = lambda *args, **kw: None  # type: ignore[method-assign]
    peaks: list[int] = []  # VmHWM before each reset: the process's peak is their largest
    # started as `tuikanban` starts it (ui/launch.py): the first screen read before the app, a big pipeline held
    # in part
    target = parse_target(Path(a.db))
    con, pipeline = fastread.first_read(target, None, None)
    gateway = BoardGateway(path=target, user=a.user, db=None, con=con, owns_db=True)
    initial = gateway.load(pipeline, BoardState(), window=45 // 4 + 2)
    app = TuikanbanApp(None, a.user, pipeline, None, db_path=target, gateway=gateway, initial=initial)
    async with app.run_test(size=(160, 45)) as pilot:
        await settle_quiet(pilot, a.wait)
        gc.collect()
        spares = getattr(app, "spares", None)
        ready = sorted(spares.ready) if spares is not None else []
        print(f"board settled: RSS {status_kb('VmRSS') / 1024:.1f} MB, peak {status_kb('VmHWM') / 1024:.1f} MB; "
              f"spares ready: {', '.join(ready) or 'none'}", flush=True)
        print(f"{'screen':<14} | {'peak +MB':>8} | {'kept +MB':>8} | {'RSS MB':>7} | after repeats", flush=True)
        for name, key in SCREENS:
            if only and name not in only:
                continue
            gc.collect()
            before_rss = status_kb("VmRSS")
            peaks.append(status_kb("VmHWM"))
            reset_hwm()
            snap = tracemalloc.take_snapshot() if a.trace else None
            kept_first = 0
            for i in range(a.repeat):
                await pilot.press(key)
                await settle_quiet(pilot, a.open_wait)
                await pilot.press("escape")
                await settle_quiet(pilot, 0.3)
                if app.screen is not app.board_screen:  # (a form that asks, a panel that needs a second escape)
                    await pilot.press("escape")
                    await settle_quiet(pilot, 0.3)
                gc.collect()
                if a.trim:
                    import ctypes

                    ctypes.CDLL("libc.so.6").malloc_trim(0)
                if i == 0:
                    kept_first = status_kb("VmRSS")
                if a.every and (i + 1) % a.every == 0:
                    print(f"    after {i + 1:>4} opens: RSS {status_kb('VmRSS') / 1024:.1f} MB", flush=True)
                if a.census and i in (1, a.repeat - 1):
                    from collections import Counter

                    counts = Counter(type(o).__name__ for o in gc.get_objects())
                    if i == 1:
                        census = counts
                    else:
                        grown = (counts - census).most_common(12)
                        print(f"    objects grown over {a.repeat - 2} opens: {grown}")
            after = status_kb("VmRSS")
            peak = status_kb("VmHWM")
            reps = f"{kept_first / 1024:.1f} -> {after / 1024:.1f} MB" if a.repeat > 1 else ""
            print(f"{name:<14} | {(peak - before_rss) / 1024:8.1f} | {(kept_first - before_rss) / 1024:8.1f} | "
                  f"{after / 1024:7.1f} | {reps}", flush=True)
            if snap is not None:
                now = tracemalloc.take_snapshot()
                stats = now.compare_to(snap, "traceback")
                for st in stats[: a.trace]:
                    if st.size_diff < 50_000:
                        break
                    print(f"    {st.size_diff / 1024:9.0f} KiB {st.count_diff:+8d} blocks")
                    for line in st.traceback.format()[-12:]:
                        print(f"        {line}")
        if a.moves:
            await move_series(pilot, a.moves)
        print(f"end: RSS {status_kb('VmRSS') / 1024:.1f} MB; load {Path('/proc/loadavg').read_text().strip()}")
        peaks.append(status_kb("VmHWM"))
    peaks.append(status_kb("VmHWM"))  # (the app closed)
    print(f"process peak: {max(peaks) / 1024:.1f} MB", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", required=True, help="a board file (bench/gen.py)")
    ap.add_argument("--user", default="alice")
    ap.add_argument("--only", default="", help="these screens only (comma-separated names)")
    ap.add_argument("--repeat", type=int, default=1, help="opens and closes of each screen")
    ap.add_argument("--wait", type=float, default=3.0, help="seconds the board is left to settle first")
    ap.add_argument("--open-wait", type=float, default=1.0, help="seconds each screen is left open")
    ap.add_argument("--every", type=int, default=0, help="with --repeat: the RSS after every E-th open too")
    ap.add_argument("--moves", type=int, default=0, help="after the screens: this many card moves (RSS after)")
    ap.add_argument("--no-aging-spare", action="store_true", help="no aging panel built hidden ahead of its key")
    ap.add_argument("--census", action="store_true", help="with --repeat: the types of objects that grew")
    ap.add_argument("--trim", action="store_true", help="malloc_trim(0) after each close (is the growth C's?)")
    ap.add_argument("--trace", type=int, default=0, metavar="N", help="tracemalloc: the N largest kept places")
    a = ap.parse_args()
    if not Path(a.db).exists():
        ap.error(f"no such board file: {a.db}")
    if a.trace:
        tracemalloc.start(6)
    asyncio.run(run(a))


if __name__ == "__main__":
    main()
