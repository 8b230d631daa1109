"""The same boards on SQLite and on PostgreSQL, measured in turns beside a bare Textual app.

    python bench/engines_bench.py --db postgresql:///tk_bench --sizes 10,10000,100000 --runs 7
    python bench/engines_bench.py --db postgresql:///tk_bench --src before=/tmp/base/src --src after=src

The boards are bench/board_bench.py's (built with bench/gen.py in --dir, twice as many deals as open ones; a
`board-N.db` already in --dir is used as it is) and their PostgreSQL copies (schemas `bench_N` of --db, made once).
For each size, each round starts the bare app, then the board on SQLite, then on PostgreSQL (and so for every
`--src` tree), so that the machine's load falls on all of them alike: first paint and its CPU (bench/ptytimer.py),
then the settled time (bench/board_bench.py's settled run: aging marks shown, then nothing written). Then, in turns
again, a focus move (right / left) and a card move (shift+right / shift+left), --keys presses per start. The load
average is printed with each size. With --live N, another process's change reaching a board: a board started in
turns on each engine, settled, then this process moves the top card of its second column back and forth N times
(the services' move_deal, as another rep's board or command writes it) and times from the end of each write (the
commit: NOTIFY on PostgreSQL, the file's change on SQLite) until the board's first write to its terminal.
Figures only: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from board_bench import (
    BARE_APP,
    DEFAULT_TIMER,
    build,
    compile_package,
    density_env,
    outside_mover,
    p90,
    pg_copy,
    settle,
    settled_run,
    timer,
)


def spread(xs: list[float | None]) -> str:
    ok = sorted(x for x in xs if x is not None)
    return f"{statistics.median(ok):,.0f} ({ok[0]:,.0f}-{ok[-1]:,.0f})" if ok else "-"


def median(xs: list[float | None]) -> float | None:
    ok = [x for x in xs if x is not None]
    return statistics.median(ok) if ok else None


def load() -> str:
    return Path("/proc/loadavg").read_text().split()[0]


def live(cmd: list[str], env: dict[str, str], where: str, moves: int, cols: int, rows: int) -> list[float]:
    """Milliseconds from the end of another process's write until the board's first write after it, per move."""
    import time

    from ptyboard import PtyProgram

    from tuikanban.services.deals import move_deal

    board = PtyProgram(cmd, env=env, cols=cols, rows=rows)
    out: list[float] = []
    try:
        board.wait_for("Prospecting")
        settle(board)
        database, deal, stages = outside_mover(where, on_screen=True)  # type: ignore[arg-type]
        try:
            for i in range(moves):
                board.quiet(300)
                move_deal(database, deal, stages[(i + 1) % 2], user="someone-else")  # type: ignore[arg-type]
                done = time.monotonic()
                end = done + 5
                while (first := board.first_write_after(done)) is None and time.monotonic() < end:
                    time.sleep(0.001)
                if first is not None:
                    out.append((first - done) * 1000)
        finally:
            database.close()  # type: ignore[attr-defined]
    finally:
        board.stop()
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", required=True, help="a PostgreSQL database URL (schemas bench_N are made in it)")
    ap.add_argument("--sizes", default="10,10000,100000", help="open deals, comma-separated")
    ap.add_argument("--runs", type=int, default=5, help="rounds of first paint and settled time per size")
    ap.add_argument("--keys", type=int, default=20, help="key presses per start for the focus and card moves")
    ap.add_argument("--key-runs", type=int, default=2, help="starts per engine for the keys (in turns)")
    ap.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "tuikanban-bench")
    ap.add_argument("--cols", type=int, default=160)
    ap.add_argument("--rows", type=int, default=45)
    ap.add_argument("--src", action="append", default=[], metavar="NAME=PATH",
                    help="a source tree's src folder (repeatable; default: the installed command as it is)")
    ap.add_argument("--live", type=int, default=0, metavar="N",
                    help="another process's N moves per board start, timed until the board repaints")
    ap.add_argument("--no-settled", action="store_true", help="first paint only, no settled time")
    a = ap.parse_args(argv)
    a.dir.mkdir(parents=True, exist_ok=True)
    compile_package()
    trees = [(s.split("=", 1)[0], str(Path(s.split("=", 1)[1]).resolve())) for s in a.src] or [("", "")]
    if a.src:
        import compileall

        for _name, src in trees:
            compileall.compile_dir(src, quiet=1)
    tuikanban = str(Path(sys.executable).with_name("tuikanban"))
    bare = a.dir / "bare_app.py"
    bare.write_text(BARE_APP)
    base_env = density_env(a.dir, "normal")
    cols, rows = a.cols, a.rows
    print(f"{cols}x{rows}; ms, median (min-max) of {a.runs} rounds: bare app, then each board in turn; "
          "CPU: the process's up to the first paint", flush=True)
    for n in [int(s) for s in a.sizes.split(",") if s.strip()]:
        db = build(a.dir, n)
        variants: list[tuple[str, dict[str, str]]] = []
        for engine, where in (("sqlite", str(db)), ("postgresql", pg_copy(a.db, db, n))):
            for tname, src in trees:
                env = {**base_env, "TUIKANBAN_DB": where, **({"PYTHONPATH": src} if src else {})}
                variants.append((f"{engine} {tname}".strip(), env))
        loads = [load()]
        bare_runs: list[dict] = []
        bare_settled: list[dict] = []
        paint: dict[str, list[dict]] = {v: [] for v, _ in variants}
        settled: dict[str, list[dict]] = {v: [] for v, _ in variants}
        for _ in range(a.runs):
            bare_runs += timer(DEFAULT_TIMER, [sys.executable, str(bare)], marker="BARE-TEXTUAL-APP", keys=[],
                               runs=1, env={}, cols=cols, rows=rows)["runs"]
            for v, env in variants:
                paint[v] += timer(DEFAULT_TIMER, [tuikanban], marker="Prospecting", keys=[], runs=1, env=env,
                                  cols=cols, rows=rows)["runs"]
            if not a.no_settled:
                bare_settled.append(settled_run([sys.executable, str(bare)], {}, cols, rows,
                                                marker="BARE-TEXTUAL-APP", tour=False, repeats=0))
                for v, env in variants:
                    settled[v].append(settled_run([tuikanban], env, cols, rows, marker="Prospecting", tour=False,
                                                  repeats=0))
            loads.append(load())
        focus: dict[str, list[float]] = {v: [] for v, _ in variants}
        moves: dict[str, list[float]] = {v: [] for v, _ in variants}
        for _ in range(a.key_runs):
            for v, env in variants:
                got = timer(DEFAULT_TIMER, [tuikanban], marker="Prospecting", keys=["right", "left"] * (a.keys // 2),
                            runs=1, env=env, cols=cols, rows=rows)
                focus[v] += [k["first_change_ms"] for r in got["runs"] for k in r["keys"]]
            for v, env in variants:
                got = timer(DEFAULT_TIMER, [tuikanban], marker="Prospecting",
                            keys=["shift+right", "shift+left"] * (a.keys // 2), runs=1, env=env, cols=cols, rows=rows,
                            settle_ms=400)
                moves[v] += [k["first_change_ms"] for r in got["runs"] for k in r["keys"]]
        changes: dict[str, list[float]] = {v: [] for v, _ in variants}
        for _ in range(a.key_runs if a.live else 0):
            for v, env in variants:
                changes[v] += live([tuikanban], env, env["TUIKANBAN_DB"], a.live, cols, rows)
        loads.append(load())
        bare_ms = median([r["marker_ms"] for r in bare_runs])
        bare_cpu = spread([r.get("marker_cpu_ms") for r in bare_runs])
        print(f"\n{n:,} open deals (load average {min(loads)}-{max(loads)}); bare app: first paint "
              f"{spread([r['marker_ms'] for r in bare_runs])}, CPU {bare_cpu}"
              + ("" if a.no_settled else
                 f", settled {spread([s.get('settled_s') and s['settled_s'] * 1000 for s in bare_settled])}"))
        sqlite_ms = median([r["marker_ms"] for r in paint[variants[0][0]]])
        for v, _env in variants:
            ms = [r["marker_ms"] for r in paint[v]]
            m = median(ms)
            settled_ms = [s.get("settled_s") and s["settled_s"] * 1000 for s in settled[v]]
            print(f"  {v:<22} first paint {spread(ms)} ({m / bare_ms:.2f}x bare, {m / sqlite_ms:.2f}x SQLite), "
                  f"CPU {spread([r.get('marker_cpu_ms') for r in paint[v]])}"
                  + ("" if a.no_settled else f", settled {spread(settled_ms)}") if m and bare_ms and sqlite_ms else
                  f"  {v:<22} failed", flush=True)
            print(f"  {'':<22} focus move {median(focus[v]) or 0:,.0f} / p90 {p90(focus[v]) or 0:,.0f} ms, "
                  f"card move {median(moves[v]) or 0:,.0f} / p90 {p90(moves[v]) or 0:,.0f} ms "
                  f"({len(focus[v])} and {len(moves[v])} keys)", flush=True)
            if changes[v]:
                print(f"  {'':<22} another process's move to repaint {median(changes[v]):,.0f} / p90 "
                      f"{p90(changes[v]) or 0:,.0f} ms ({len(changes[v])} moves)", flush=True)


if __name__ == "__main__":
    main()
