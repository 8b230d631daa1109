"""What each screen's key costs in CPU, from the key until the screen's text is drawn, inside one board process.

    python bench/screens_cpu.py --db /tmp/tuikanban-bench/board-10000.db --rounds 7
    python bench/screens_cpu.py --db FILE --only "new deal" --profile 25      # where the time goes (cProfile)
    python bench/screens_cpu.py --db FILE --only settings --rounds 2 --move-first  # its first open, after a move
    PYTHONPATH=OTHER/src python bench/screens_cpu.py --db FILE --json       # another copy (A/B, interleave runs)

The board is started headless at 160x45 (`--cols`, `--rows`) as `tuikanban` starts it (ui/launch.py), left to
settle, then each screen is opened (its key on the board's first card) and closed (escape), one screen after
another, `--rounds` times (so a round is every screen once; the first round is each screen's first open). For each
open: the CPU time of the UI thread (`time.thread_time`: the thread that handles the key and draws; the pilot runs
on it too) and of the whole process (`time.process_time`: the lanes' reads too) from just before the key until the
frame in which the screen's own text (as `board_bench.py --screens` looks for it) is drawn. Every frame is also
turned into the bytes a terminal would get (`render_segments`), which a headless app skips, so that work is counted;
looking for the text is not (its CPU is taken off). Figures: median, p90 and worst of the rounds after the first,
and the first open on its own. The metrics screen may show its frame before its figures: its row times "Velocity" (a
tile's heading), "metrics filled" the frame whose title says "computed in" (the figures drawn), "metrics charts" the
frame whose cycle-time scatter shows its percentile lines ("─ 50%": the flow charts drawn; the board needs won deals
in the window, and the charts on screen: `--rows 100`); the forecast's panels, later still, are not waited for.

`--move-first` presses down and up on the board as it starts (a rep looking around before opening a screen: the
board builds its less used screens ahead only once it is in use, ui/spares.py), before the settling wait.

The bytes a terminal would get are counted too, from the key until the screen has been left open `--open-wait`
seconds. `--over KEY` opens a screen first (t: Today) and presses the dialog's key on it (`--only "deal detail"`:
enter opens the deal detail over Today), to compare a dialog over a full screen with one over the board. Also
counted: how many of those frames were of the whole screen, and the bytes and whole frames of the close (from escape
until the screen below is quiet again).

`--profile N` runs the opens under cProfile (the UI thread only, from the key to the drawn frame; the first round
is left out) and prints the N functions with the most cumulative and own time per screen; with `--profile-filled`,
until the metrics' figures are drawn (the UI thread's work between the frame and them is in it).

`bench/board_bench.py --screens` times the same keys on a real terminal (wall time, a fresh board per run); this
one says how much of that is the app's own work, and where it goes. Figures only: nothing here asserts.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import pstats
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from screens_memory import settle as settle_jobs

ROOT = Path(__file__).resolve().parent.parent

# (name, key, the text that says it is shown) as bench/board_bench.py's SCREENS, with pilot key names
SCREENS: list[tuple[str, str, str]] = [
    ("deal detail", "enter", "History"),
    ("new deal", "n", "New deal"),
    ("edit deal", "e", "Edit deal"),
    ("help", "question_mark", "Navigate"),
    ("settings", "comma", "Pipeline settings"),
    ("closed deals", "c", "Closed deals"),
    ("aging panel", "a", "Aging"),
    ("pipelines", "p", "Pipelines"),
    ("today", "t", "Today · "),
    ("review", "v", "Review"),
    ("metrics", "m", "Velocity"),  # last: its figures are computed in threads for a while after it closes
]
# screens whose figures come after their frame: (row name, the text that says they came), in the order they come
FILLED = {"metrics": [("metrics filled", "computed in"), ("metrics charts", "─ 50%")]}


def cpu() -> float:
    """CPU time of the UI thread (the one that handles the key and draws; the pilot runs on it too)."""
    return time.thread_time()


def process_cpu() -> float:
    return time.process_time()


class Watch:
    """Hooks the app's `_display`: each frame rendered to bytes, and the CPU at the frame whose text has `want`."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.want: str | None = None
        self.before = 0.0  # the screen the key was pressed on
        self.overhead = 0.0
        self.shown_at: float | None = None
        self.shown_all_at = 0.0
        self.filled: list[tuple[str, str]] = []  # (FILLED) the texts still awaited: (row, text)
        self.filled_at: dict[str, tuple[float, float]] = {}  # row -> (UI-thread CPU, process CPU) at its frame
        self.frames = 0
        self.profile: cProfile.Profile | None = None
        self.profile_filled = False  # (--profile-filled: the profile runs on until the FILLED texts are drawn)
        self.bytes = 0  # written to the terminal since `arm` (every frame, the screen's own and those after it)
        self.whole = 0  # ... of which frames of the whole screen
        original = app._display

        def display(screen: Any, renderable: Any) -> None:
            original(screen, renderable)
            if renderable is not None and hasattr(renderable, "render_segments"):
                # what a terminal's frame costs beyond headless
                self.bytes += len(renderable.render_segments(app.console).encode())
                self.whole += type(renderable).__name__ == "LayoutUpdate"  # (a frame of the whole screen)
            waiting_filled = bool(self.filled)
            if (self.want is None or self.shown_at is not None) and not waiting_filled:
                return
            self.frames += 1
            now, now_all = cpu(), process_cpu()
            if self.profile is not None:
                self.profile.disable()
            text = "\n".join(strip.text for strip in app.screen._compositor.render_strips())
            if waiting_filled and app.screen is not self.before:
                for row, want in list(self.filled):
                    if want in text:
                        self.filled_at[row] = (now - self.overhead, now_all - self.overhead)
                        self.filled.remove((row, want))
            if self.want is None or self.shown_at is not None:
                self.overhead += cpu() - now
                if self.profile is not None and self.profile_filled and self.filled:
                    self.profile.enable()
                return
            if self.want in text and (app.screen is not self.before or self.want not in self.before_text):
                self.shown_at = now - self.overhead
                self.shown_all_at = now_all - self.overhead
                self.want = None
                if self.profile is not None and self.profile_filled and self.filled:
                    self.profile.enable()
            else:
                self.overhead += cpu() - now
                if self.profile is not None:
                    self.profile.enable()

        app._display = display
        self.before_text = ""

    def arm(self, want: str, filled: list[tuple[str, str]] | None = None) -> tuple[float, float]:
        self.before = self.app.screen
        self.before_text = "\n".join(strip.text for strip in self.app.screen._compositor.render_strips())
        self.want, self.shown_at, self.overhead, self.frames, self.bytes, self.whole = want, None, 0.0, 0, 0, 0
        self.filled, self.filled_at = list(filled or []), {}
        return cpu(), process_cpu()


async def settle(pilot: Any, limit: float = 20.0) -> None:
    """Until the board's jobs (and its screens' jobs) are done and shown, or `limit` seconds (20 here)."""
    await settle_jobs(pilot, limit)


async def quiet(pilot: Any, seconds: float, limit: float = 20.0) -> None:
    await settle(pilot, limit)
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        await asyncio.sleep(0.05)
        await pilot.pause()
    await settle(pilot, limit)


async def run(a: argparse.Namespace) -> dict[str, list[float]]:
    from tuikanban.domain.targets import parse_target
    from tuikanban.store import fastread
    from tuikanban.ui.app import TuikanbanApp
    from tuikanban.ui.board.gateway import BoardGateway
    from tuikanban.ui.board.state import BoardState

    only = {x.strip() for x in a.only.split(",") if x.strip()}
    target = parse_target(Path(a.db))
    con, pipeline = fastread.first_read(target, None, None)
    gateway = BoardGateway(path=target, user=a.user, db=None, con=con, owns_db=True)
    initial = gateway.load(pipeline, BoardState(), window=a.rows // 4 + 2)
    app = TuikanbanApp(None, a.user, pipeline, None, db_path=target, gateway=gateway, initial=initial)
    out: dict[str, list[float]] = {name: [] for name, _k, _t in SCREENS if not only or name in only}
    out.update({row: [] for name, rows in FILLED.items() if name in out for row, _text in rows})
    out_all: dict[str, list[float]] = {name: [] for name in out}
    out_bytes: dict[str, list[float]] = {name: [] for name, _k, _t in SCREENS if name in out}
    out_whole: dict[str, list[float]] = {name: [] for name in out_bytes}  # whole frames among them
    out_close: dict[str, list[float]] = {name: [] for name in out_bytes}  # bytes of the close (escape), until quiet
    out_close_whole: dict[str, list[float]] = {name: [] for name in out_bytes}
    profiles: dict[str, cProfile.Profile] = {}
    async with app.run_test(size=(a.cols, a.rows)) as pilot:
        watch = Watch(app)
        if a.move_first:
            await pilot.press("down", "up")
        await quiet(pilot, a.wait)
        for round_ in range(a.rounds):
            for name, key, text in SCREENS:
                if name not in out:
                    continue
                if a.over:  # (the screen `--over` opens first; the dialog's key is pressed on it)
                    await pilot.press(a.over)
                    await quiet(pilot, a.open_wait, 5.0)
                profile = profiles.setdefault(name, cProfile.Profile()) if a.profile and round_ else None
                watch.profile = profile
                watch.profile_filled = a.profile_filled
                t0, t0_all = watch.arm(text, FILLED.get(name))
                if profile is not None:
                    profile.enable()
                await pilot.press(key)
                end = time.monotonic() + 10
                while watch.shown_at is None and time.monotonic() < end:
                    await asyncio.sleep(0.002)
                if profile is not None and watch.shown_at is None:
                    profile.disable()
                watch.want = None
                shown = watch.shown_at is not None
                out[name].append((watch.shown_at - t0) * 1000 if shown else float("nan"))
                out_all[name].append((watch.shown_all_at - t0_all) * 1000 if shown else float("nan"))
                if name in FILLED:  # (the profile, if any, covers the frame only, or with --profile-filled these)
                    end = time.monotonic() + 30
                    while watch.filled and time.monotonic() < end:
                        await asyncio.sleep(0.01)
                    for row, _text in FILLED[name]:
                        got = watch.filled_at.get(row)
                        out[row].append((got[0] - t0) * 1000 if got else float("nan"))
                        out_all[row].append((got[1] - t0_all) * 1000 if got else float("nan"))
                    watch.filled = []
                    if profile is not None:
                        profile.disable()
                await quiet(pilot, a.open_wait, 5.0)  # (the metrics may compute for longer: not waited for)
                out_bytes[name].append(float(watch.bytes))
                out_whole[name].append(float(watch.whole))
                watch.bytes = watch.whole = 0
                for _ in range(3):
                    if app.screen is app.board_screen and app.board_screen.aging_panel is None:
                        break
                    await pilot.press("escape")
                    await quiet(pilot, 0.2, 5.0)
                await quiet(pilot, 0.2, 5.0)
                out_close[name].append(float(watch.bytes))
                out_close_whole[name].append(float(watch.whole))
    if a.profile:
        for name, profile in profiles.items():
            for order in ("cumulative", "tottime"):
                buf = io.StringIO()
                pstats.Stats(profile, stream=buf).sort_stats(order).print_stats(a.profile)
                print(f"\n=== {name}: by {order} ===")
                print("\n".join(line for line in buf.getvalue().splitlines()[6:] if line.strip()))
    return {"ui": out, "process": out_all, "bytes": out_bytes, "whole frames": out_whole, "close bytes": out_close,
            "close whole frames": out_close_whole}


def p90(xs: list[float]) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(0.9 * (len(xs) - 1)))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", required=True, help="a board file (bench/gen.py)")
    ap.add_argument("--user", default="alice")
    ap.add_argument("--only", default="", help="these screens only (comma-separated names)")
    ap.add_argument("--cols", type=int, default=160)
    ap.add_argument("--rows", type=int, default=45,
                    help="terminal rows (the metrics screen's flow charts are on screen from about 90)")
    ap.add_argument("--rounds", type=int, default=6, help="opens of every screen (the first is shown apart)")
    ap.add_argument("--wait", type=float, default=3.0, help="seconds the board is left to settle first")
    ap.add_argument("--open-wait", type=float, default=0.3, help="seconds each screen is left open")
    ap.add_argument("--profile", type=int, default=0, metavar="N", help="cProfile: the N largest functions")
    ap.add_argument("--json", action="store_true", help="the figures as JSON (one line)")
    ap.add_argument("--profile-filled", action="store_true",
                    help="with --profile: profile on until the metrics' figures are drawn (FILLED), not the frame")
    ap.add_argument("--move-first", action="store_true", help="press down and up as the board starts")
    ap.add_argument("--over", default="", metavar="KEY",
                    help="open this screen first (t: Today) and the dialogs over it (enter: the deal detail)")
    a = ap.parse_args()
    if not Path(a.db).exists():
        ap.error(f"no such board file: {a.db}")
    load0 = Path("/proc/loadavg").read_text().split()[:3]
    res = asyncio.run(run(a))
    load = Path("/proc/loadavg").read_text().split()[:3]
    if a.json:
        import json

        print(json.dumps({**res, "load": [load0, load]}))
        return
    for what, out in res.items():
        if what in ("bytes", "whole frames", "close bytes", "close whole frames"):
            when = "from escape until quiet" if what.startswith("close") else f"until it was left open {a.open_wait} s"
            print(f"\n{what.capitalize()} to the terminal, {when}: first open | median / p90 / worst of the next "
                  f"{a.rounds - 1}")
        else:
            print(f"\nCPU from the key to the screen drawn ({'the UI thread' if what == 'ui' else 'all threads'}, "
                  f"ms): first open | median / p90 / worst of the next {a.rounds - 1}")
        for name, xs in out.items():
            rest = xs[1:] or xs
            print(f"  {name:<16} {xs[0]:7.0f} | {statistics.median(rest):6.0f} / {p90(rest):5.0f} / "
                  f"{max(rest):5.0f}")
    print(f"load average: {' '.join(load0)} at the start, {' '.join(load)} at the end")
    print(f"load average: {' '.join(load)}")


if __name__ == "__main__":
    sys.exit(main())
