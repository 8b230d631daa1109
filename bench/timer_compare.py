"""Do two timers agree? The bare Textual app and the board timed by both, one run of each in turn (A B A B).

    python bench/board_bench.py --sizes 10,10000 --runs 5 --compare-timer OTHER_TIMER.py

bench/board_bench.py times the board with bench/ptytimer.py unless --timer names another script with the same
options and JSON. This prints, side by side, what --timer and --compare-timer measure on the same programs in the
same minutes: first paint, peak RSS, key-to-paint (first change and settled) and card moves, with the load average
before and after. Figures only: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from board_bench import build, fmt, med, p90, timer


def compare_timers(a: argparse.Namespace, sizes: list[int], tuikanban: str, base_env: dict[str, str],
                   bare: Path) -> None:
    """The same figures from two timer scripts, one run of each in turn (A B A B), to check that they agree."""
    timers = {"timer": a.timer, "compare": a.compare_timer}
    targets: list[tuple[str, list[str], dict[str, str], str]] = [
        ("bare app", [sys.executable, str(bare)], {}, "BARE-TEXTUAL-APP")]
    for n in sizes:
        targets.append((f"{n:,} open", [tuikanban], {**base_env, "TUIKANBAN_DB": str(build(a.dir, n))}, "Prospecting"))
    print(f"load average before: {Path('/proc/loadavg').read_text().strip()}")
    rows_ = []
    for label, cmd, env, marker in targets:
        got: dict[str, dict[str, list]] = {t: {"paint": [], "rss": [], "focus": [], "focus_settled": [],
                                               "move": []} for t in timers}
        for _ in range(a.runs):
            for name, path in timers.items():
                paint = timer(path, cmd, marker=marker, keys=[], runs=1, env=env, cols=a.cols, rows=a.rows)
                got[name]["paint"] += [r["marker_ms"] for r in paint["runs"]]
                got[name]["rss"] += [r["max_rss_kb"] for r in paint["runs"]]
        keys = ["right", "left"] * (a.keys // 2) if marker == "Prospecting" else ["ctrl+p", "escape"] * (a.keys // 2)
        for name, path in timers.items():
            focus = timer(path, cmd, marker=marker, keys=keys, runs=1, env=env, cols=a.cols, rows=a.rows)
            got[name]["focus"] += [k["first_change_ms"] for r in focus["runs"] for k in r["keys"]]
            got[name]["focus_settled"] += [k["settled_ms"] for r in focus["runs"] for k in r["keys"]]
            if marker == "Prospecting":
                moves = timer(path, cmd, marker=marker, keys=["shift+right", "shift+left"] * (a.keys // 2), runs=1,
                              env=env, cols=a.cols, rows=a.rows, settle_ms=400)
                got[name]["move"] += [k["first_change_ms"] for r in moves["runs"] for k in r["keys"]]
        rows_.append((label, got))
    print(f"load average after: {Path('/proc/loadavg').read_text().strip()}")
    print(f"\ntimer A: {a.timer}\ntimer B: {a.compare_timer}\n{a.runs} interleaved first paints each; keys: "
          f"{a.keys} presses per timer (bare app: ctrl+p / escape; board: right / left, shift+right / shift+left)")
    head = (f"{'':>14} | {'first paint A / B':>19} | {'peak RSS A / B':>15} | {'key A / B (med, p90)':>25} | "
            f"{'settled A / B':>15} | {'card move A / B':>25}")
    print(head + "\n" + "-" * len(head))

    def pair(xs: list, ys: list, scale: float = 1.0) -> str:
        x, y = med(xs), med(ys)
        return f"{fmt(x and x / scale)} / {fmt(y and y / scale)}"

    def pair90(xs: list, ys: list) -> str:
        return f"{fmt(med(xs))},{fmt(p90(xs))} / {fmt(med(ys))},{fmt(p90(ys))}"

    for label, got in rows_:
        ta, tb = got["timer"], got["compare"]
        paint = pair(ta["paint"], tb["paint"]) + " ms"
        rss = pair(ta["rss"], tb["rss"], 1024) + " MB"
        focus = pair90(ta["focus"], tb["focus"]) + " ms"
        settled = pair(ta["focus_settled"], tb["focus_settled"]) + " ms"
        move = pair90(ta["move"], tb["move"]) + " ms" if ta["move"] else "-"
        print(f"{label:>14} | {paint:>19} | {rss:>15} | {focus:>25} | {settled:>15} | {move:>25}")
    print("first paint and key columns: medians of the runs (p90 after the comma); settled: when the key's screen "
          "stopped changing (B may count its last byte instead).")
    (a.dir / "compare.json").write_text(json.dumps({label: got for label, got in rows_}, indent=1))
