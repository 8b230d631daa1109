"""A dialog over a full screen (the deal detail over the Today queue), trees side by side with a bare Textual app.

    python bench/dialog_over_bench.py --db /tmp/tuikanban-bench/board-10000.db --src A=OTHER/src --src B=src

For each round, one process per tree (A B A B ...) runs `bench/screens_cpu.py --only "deal detail" --over t` on its
own copy of the board (so no tree sees another's writes), and then the floor: a bare Textual app with a full screen
of text that pushes and closes a one-line modal dialog the same number of times, measured the same way (the bytes of
every frame as a terminal would get them, and the frames of the whole screen). Printed per tree: the medians and
ranges over the rounds of each process's medians (the first open left out) of the UI thread's CPU from the key to the
dialog drawn, the bytes written while it is open (`--open-wait` s), the whole frames among them, and the bytes and
whole frames of its close; the load average before and after each process. Figures only: nothing here asserts.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

BENCH = Path(__file__).resolve().parent

FLOOR = r'''
import asyncio, json, statistics, sys, time
from textual.app import App
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, Static

class Dialog(ModalScreen):
    DEFAULT_CSS = "Dialog { align: center middle; } Dialog Vertical { width: 60; height: 5; border: round $accent; }"
    def compose(self):
        with Vertical():
            yield Label("A one-line dialog")

class Bare(App):
    def compose(self):
        yield Static("\n".join(f"line {i:02} " + "text " * 28 for i in range(45)))

async def main(rounds, wait):
    app = Bare()
    out = {"ui": [], "bytes": [], "whole": [], "close": [], "close_whole": []}
    async with app.run_test(size=(160, 45)) as pilot:
        seen = {"bytes": 0, "whole": 0, "at": None}
        original = app._display
        def display(screen, renderable):
            original(screen, renderable)
            if renderable is not None and hasattr(renderable, "render_segments"):
                seen["bytes"] += len(renderable.render_segments(app.console).encode())
                seen["whole"] += type(renderable).__name__ == "LayoutUpdate"
                if seen["at"] is None and isinstance(app.screen, Dialog):
                    seen["at"] = time.thread_time()
        app._display = display
        await pilot.pause(0.5)
        for _ in range(rounds):
            seen.update(bytes=0, whole=0, at=None)
            t0 = time.thread_time()
            app.push_screen(Dialog())
            await pilot.pause(wait)
            out["ui"].append(((seen["at"] or t0) - t0) * 1000)
            out["bytes"].append(seen["bytes"]); out["whole"].append(seen["whole"])
            seen.update(bytes=0, whole=0)
            await pilot.press("escape")
            app.pop_screen() if isinstance(app.screen, Dialog) else None
            await pilot.pause(0.4)
            out["close"].append(seen["bytes"]); out["close_whole"].append(seen["whole"])
    print(json.dumps(out))

asyncio.run(main(int(sys.argv[1]), float(sys.argv[2])))
'''


def load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def med(xs: list[float]) -> str:
    return f"{statistics.median(xs):,.0f} [{min(xs):,.0f}-{max(xs):,.0f}]" if xs else "-"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", required=True, type=Path, help="a board file (bench/gen.py), copied for every process")
    ap.add_argument("--src", action="append", required=True, metavar="NAME=PATH", help="a tree's src (repeat)")
    ap.add_argument("--runs", type=int, default=5, help="processes per tree (and of the floor)")
    ap.add_argument("--rounds", type=int, default=5, help="opens per process (the first is left out)")
    ap.add_argument("--open-wait", type=float, default=0.3)
    a = ap.parse_args()
    if not a.db.exists():
        ap.error(f"no such board file: {a.db}")
    trees = dict(s.split("=", 1) for s in a.src)
    rows: dict[str, dict[str, list[float]]] = {n: {} for n in [*trees, "bare Textual app"]}
    loads: list[str] = []
    with tempfile.TemporaryDirectory(prefix="dialog-over-") as tmp:
        floor = Path(tmp) / "floor.py"
        floor.write_text(FLOOR)
        for run in range(a.runs):
            for name, src in trees.items():
                copy = Path(tmp) / f"{name}-{run}.db"
                shutil.copy(a.db, copy)
                env = {**os.environ, "PYTHONPATH": f"{Path(src).resolve()}{os.pathsep}{BENCH}"}
                before = load()
                res = subprocess.run([sys.executable, str(BENCH / "screens_cpu.py"), "--db", str(copy), "--only",
                                      "deal detail", "--over", "t", "--rounds", str(a.rounds), "--open-wait",
                                      str(a.open_wait), "--json"], env=env, capture_output=True, text=True,
                                     check=True)
                loads += [before, load()]
                got = json.loads(res.stdout.strip().splitlines()[-1])
                for key, label in (("ui", "UI CPU to frame, ms"), ("bytes", "bytes while open"),
                                   ("whole frames", "whole frames while open"), ("close bytes", "bytes of the close"),
                                   ("close whole frames", "whole frames of the close")):
                    xs = got[key]["deal detail"][1:]
                    rows[name].setdefault(label, []).append(statistics.median(xs))
            before = load()
            res = subprocess.run([sys.executable, str(floor), str(a.rounds), str(a.open_wait)], capture_output=True,
                                 text=True, check=True)
            loads += [before, load()]
            got = json.loads(res.stdout.strip().splitlines()[-1])
            for key, label in (("ui", "UI CPU to frame, ms"), ("bytes", "bytes while open"),
                               ("whole", "whole frames while open"), ("close", "bytes of the close"),
                               ("close_whole", "whole frames of the close")):
                rows["bare Textual app"].setdefault(label, []).append(statistics.median(got[key][1:]))
    print(f"the deal detail over the Today queue, 160x45, {a.runs} processes per tree, {a.rounds} opens each "
          "(medians of each process's opens after its first; then median [range] over the processes)")
    labels = list(next(iter(rows.values())))
    print(" | ".join(["tree", *labels]))
    for name, figures in rows.items():
        print(" | ".join([name, *(med(figures[label]) for label in labels)]))
    print(f"load average (1, 5, 15 min) around the processes: {loads[0]} ... {loads[-1]}; 1-min range "
          f"{min(float(x.split()[0]) for x in loads):.1f}-{max(float(x.split()[0]) for x in loads):.1f}")


if __name__ == "__main__":
    main()
