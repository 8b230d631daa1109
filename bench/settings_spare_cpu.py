"""The CPU of building the settings screen ahead of its key (ui/spares.py) on a big board, two source trees compared.

    python bench/settings_spare_cpu.py --db /tmp/tuikanban-bench/board-100000.db --src A=OTHER/src --src B=src

Each run is a fresh process: the board is started headless at 160x45 as `tuikanban` starts it, a key (down) puts it
in use (its less used screens are built ahead only then), and the run waits until the settings spare is built,
filled and drawn. Figures of each run:

- read CPU: the CPU time of the lane thread inside the settings' read(s) while it is built ahead
  (`services.screen_reads.pipeline_settings`), and how many whole-pipeline per-stage counts ran in the whole run
  outside the board's own reads (`store.fastread.stage_totals` without a stage);
- window CPU: the process's CPU from the spare's construction until it was drawn (the build's compose, mount,
  layout, read and drawing; a next spare's first step may fall in it);
- floor, measured in the same process after the run: the same read given the counts (pipeline, stages and
  types only: what the read must cost anyway), and the per-stage count alone.

The trees run interleaved (A B A B ...), `--rounds` times; medians with (min-max), and the load average. Figures
only: nothing here asserts.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any


async def one_run(db: str, user: str) -> dict[str, Any]:
    from tuikanban.domain.targets import parse_target
    from tuikanban.services import screen_reads
    from tuikanban.store import fastread
    from tuikanban.ui.app import TuikanbanApp
    from tuikanban.ui.board.gateway import BoardGateway
    from tuikanban.ui.board.state import BoardState
    from tuikanban.ui.screens import settings as settings_screen

    read_cpu: list[float] = []
    counted: list[int] = []
    whole_totals, whole_settings = fastread.stage_totals, screen_reads.pipeline_settings

    def stage_totals(con: Any, pipeline_id: int, stage_id: int | None = None) -> Any:
        if stage_id is None:
            counted.append(pipeline_id)
        return whole_totals(con, pipeline_id, stage_id)

    def pipeline_settings(*args: Any) -> Any:
        t0 = time.thread_time()
        try:
            return whole_settings(*args)
        finally:
            read_cpu.append(time.thread_time() - t0)

    fastread.stage_totals = stage_totals  # type: ignore[assignment]
    screen_reads.pipeline_settings = pipeline_settings  # type: ignore[assignment]
    window: dict[str, float] = {}
    made, drawn = settings_screen.PipelineSettingsScreen.__init__, settings_screen.PipelineSettingsScreen._render_ahead

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        window.setdefault("start", time.process_time())
        made(self, *args, **kwargs)

    def render_ahead(self: Any) -> None:
        drawn(self)
        window.setdefault("end", time.process_time())

    settings_screen.PipelineSettingsScreen.__init__ = init  # type: ignore[method-assign]
    settings_screen.PipelineSettingsScreen._render_ahead = render_ahead  # type: ignore[method-assign]

    target = parse_target(Path(db))
    con, pipeline = fastread.first_read(target, None, None)
    gateway = BoardGateway(path=target, user=user, db=None, con=con, owns_db=True)
    initial = gateway.load(pipeline, BoardState(), window=45 // 4 + 2)
    app = TuikanbanApp(None, user, pipeline, None, db_path=target, gateway=gateway, initial=initial)
    async with app.run_test(size=(160, 45)) as pilot:
        await asyncio.sleep(0.3)
        await pilot.press("down")
        end = time.monotonic() + 60
        while "end" not in window and time.monotonic() < end:
            await asyncio.sleep(0.02)
            await pilot.pause()
        spare_reads, counts = list(read_cpu), len(counted)
        pid = app.board_screen.model.data.pipeline.id if app.board_screen.model is not None else None
        app.exit()
    floor_read, floor_count = [], []
    if pid is not None:
        from tuikanban.store import screenreads

        for _ in range(3):
            c = fastread.first_read(target, None, None)[0]
            t0 = time.thread_time()
            screenreads.pipeline(c, pid), screenreads.stages(c, pid), screenreads.types(c, pid)
            t1 = time.thread_time()
            screenreads.stage_totals(c, pid)
            floor_read.append(t1 - t0)
            floor_count.append(time.thread_time() - t1)
            c.close()
    return {"read_cpu_ms": sum(spare_reads) * 1000, "reads": len(spare_reads), "counts": counts,
            "window_cpu_ms": (window["end"] - window["start"]) * 1000 if "end" in window else None,
            "floor_read_ms": min(floor_read) * 1000 if floor_read else None,
            "count_alone_ms": min(floor_count) * 1000 if floor_count else None}


def spread(xs: list[float | None]) -> str:
    ok = sorted(x for x in xs if x is not None)
    return f"{statistics.median(ok):,.1f} ({ok[0]:,.1f}-{ok[-1]:,.1f})" if ok else "-"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", required=True, help="a board file (bench/gen.py; it is only read)")
    ap.add_argument("--user", default="alice")
    ap.add_argument("--src", action="append", default=[], metavar="NAME=PATH", help="a source tree's src folder")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--one", action="store_true", help=argparse.SUPPRESS)  # (a run, in the tree of PYTHONPATH)
    a = ap.parse_args()
    if a.one:
        print(json.dumps(asyncio.run(one_run(a.db, a.user))))
        return
    trees = [(s.split("=", 1)[0], str(Path(s.split("=", 1)[1]).resolve())) for s in a.src] or [("src", "src")]
    got: dict[str, list[dict[str, Any]]] = {t: [] for t, _ in trees}
    loads = [Path("/proc/loadavg").read_text().split()[0]]
    for _ in range(a.rounds):
        for t, src in trees:
            out = subprocess.run([sys.executable, __file__, "--db", a.db, "--user", a.user, "--one"], check=True,
                                 capture_output=True, text=True, env={**os.environ, "PYTHONPATH": src})
            got[t].append(json.loads(out.stdout.strip().splitlines()[-1]))
        loads.append(Path("/proc/loadavg").read_text().split()[0])
    print(f"settings spare built ahead, {a.rounds} rounds interleaved; ms: median (min-max); load average (1 min) "
          f"{min(loads, key=float)}-{max(loads, key=float)}")
    for t, _src in trees:
        runs = got[t]
        print(f"  {t:<6} read CPU {spread([r['read_cpu_ms'] for r in runs]):>18} in {runs[0]['reads']} read(s), "
              f"{runs[0]['counts']} whole count(s) | window CPU {spread([r['window_cpu_ms'] for r in runs]):>20} | "
              f"floor: read without counting {spread([r['floor_read_ms'] for r in runs])}, the count alone "
              f"{spread([r['count_alone_ms'] for r in runs])}")


if __name__ == "__main__":
    main()
