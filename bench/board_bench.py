"""Benchmark the board in a real pseudo-terminal: first paint, key-to-paint, peak memory.

    python bench/board_bench.py                      # 10 / 1,000 / 10,000 / 50,000 open deals, 160x45
    python bench/board_bench.py --sizes 10,10000 --runs 5
    python bench/board_bench.py --sizes 10000 --density compact   # compact cards (`d`)
    python bench/board_bench.py --sizes 10000 --density normal,compact --runs 7   # the two, interleaved
    python bench/board_bench.py --sizes 10,10000 --db postgresql:///tk_bench   # the same boards on PostgreSQL
    python bench/board_bench.py --src A=../main/src --src B=src --sizes 10,10000,100000 --runs 7   # two trees

For each size it builds a database with bench/gen.py (twice as many deals as open ones; cached in --dir), then
runs the real `tuikanban` command under bench/ptytimer.py (or another timer script with the same options and JSON:
--timer PATH), which renders the terminal with pyte and timestamps every byte:

- first paint: from spawning the process until the board (a stage name in a column header) is on screen;
- focus move: key-to-paint of right / left (focus to the next column and back; the screen's first change);
- card move: key-to-paint of shift+right / shift+left (alternating, so the deal goes back and forth);
- peak RSS: VmHWM of the board process at the end of the key run (after the full read and the ORM import);
- bytes written to the terminal (bench/ptyboard.py reads the pty and counts): the first paint until the board is
  settled (aging marks shown, then nothing written for three seconds), a focus move (right / left), a card move
  (shift+right / shift+left, until its aging re-reads are painted and nothing is written for 0.7 s; the first
  move after start on its own line, with the time to its last write and the board's CPU: a big pipeline's first
  write reads each cell's window again), another process's move (a deal of the second
  column moved back and forth by this script through the services) and a minute idle (`--idle` seconds, scaled
  to a minute). `--bytes-only` measures only these. `--dialog-bytes` adds the deal detail's opening (enter) and
  closing (escape); `--covered SECONDS` the bytes and CPU while the metrics, review, settings and closed-deals
  screens each stay open over the board for that long (nothing there changes: the floor is 0).

With `--db URL` (an existing PostgreSQL database) each size's file is copied into a schema of its own in that
database (`tuikanban copy --to`, once; the schema `bench_<size>` is dropped and made again when it holds another
board) and the board is measured there, beside the same board in its SQLite file.

With two densities (`--density normal,compact`) only the first paint and the keys are measured, one start of each
density in turn (A B A B), and printed side by side with the CPU time of each (the board process's threads: at the
first paint, and per key until its screen is settled; the keys are pressed once the start-up work is done).

With `--src NAME=PATH` (twice or more: source trees' `src` folders) only the first paint and the settled time are
measured, each tree's board started with its `src` on PYTHONPATH, one start of the bare app and then of each tree in
turn (bare A B, bare A B, ...), so every tree is compared with the bare app started beside it and with the other
trees on the machine as it was loaded then; the load average is printed with each size's figures.

A bare Textual app that paints one line is measured the same way for comparison, and `python -X importtime`
shows where start-up time goes. Figures only: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ptyboard import PtyProgram
from ptytimer import cpu_ms

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_TIMER = Path(__file__).resolve().parent / "ptytimer.py"
BARE_APP = '''
from textual.app import App
from textual.widgets import Static


class Bare(App):
    def compose(self):
        yield Static("BARE-TEXTUAL-APP")


Bare().run()
'''


def build(dir_: Path, open_deals: int) -> Path:
    path = dir_ / f"board-{open_deals}.db"
    if path.exists():
        return path
    print(f"building {path.name} ({open_deals:,} open deals)...", file=sys.stderr, flush=True)
    subprocess.run([sys.executable, str(ROOT / "bench" / "gen.py"), "--deals", str(open_deals * 2), "--open",
                    str(open_deals), "--out", str(path)], check=True, stdout=subprocess.DEVNULL)
    return path


def pg_copy(url: str, source: Path, open_deals: int, *, fresh: bool = False) -> str:
    """The URL of schema `bench_<open_deals>` in the database `url`, holding a copy of `source` (with `fresh`, copied
    again even when it is there)."""
    import psycopg

    sys.path.insert(0, str(ROOT / "src"))
    from tuikanban.domain.targets import parse_target
    from tuikanban.store.pg import conninfo

    schema = f"bench_{open_deals}"
    target_url = f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"
    with psycopg.connect(conninfo(parse_target(url)), autocommit=True) as con:
        done = con.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = %s AND "
                           "table_name = 'deal'", (schema,)).fetchone()
        if done and done[0] and not fresh:
            deals = con.execute(f'SELECT count(*) FROM "{schema}".deal WHERE status = \'open\'').fetchone()
            if deals and deals[0] == open_deals:
                return target_url
        con.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        con.execute(f'CREATE SCHEMA "{schema}"')
    print(f"copying {source.name} to {schema}...", file=sys.stderr, flush=True)
    tuikanban = str(Path(sys.executable).with_name("tuikanban"))
    subprocess.run([tuikanban, "--db", str(source), "copy", "--to", target_url], check=True,
                   stdout=subprocess.DEVNULL)
    # A server's autovacuum soon analyzes the copied tables and sets their visibility map (without which the cell
    # counts cannot be read from the index alone); the benchmark does it at once rather than time a fresh copy.
    with psycopg.connect(conninfo(parse_target(url)), autocommit=True) as con:
        for (table,) in con.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
                                    (schema,)).fetchall():
            con.execute(f'VACUUM ANALYZE "{schema}"."{table}"')
    return target_url


def timer(timer_path: Path, cmd: list[str], *, marker: str, keys: list[str], runs: int, env: dict[str, str],
          cols: int, rows: int, settle_ms: int = 250, after_marker: str | None = None, cpu_quiet_ms: int = 0) -> dict:
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as fh:
        out = fh.name
    args = [sys.executable, str(timer_path), "--cols", str(cols), "--rows", str(rows), "--marker", marker,
            "--runs", str(runs), "--settle", str(settle_ms), "--json", out, "--quiet", "--timeout", "60"]
    for k in keys:
        args += ["--key", k]
    if after_marker:
        args += ["--after-marker", after_marker]
    if cpu_quiet_ms:
        args += ["--cpu-quiet", str(cpu_quiet_ms)]
    for k, v in env.items():
        args += ["--env", f"{k}={v}"]
    subprocess.run([*args, "--", *cmd], check=False, stdout=subprocess.DEVNULL)
    with open(out) as fh:
        data = json.load(fh)
    os.unlink(out)
    return data


def med(xs: list[float]) -> float | None:
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def p90(xs: list[float]) -> float | None:
    xs = sorted(x for x in xs if x is not None)
    if not xs:
        return None
    return xs[min(len(xs) - 1, max(0, math.ceil(0.9 * len(xs)) - 1))]


def fmt(x: float | None, unit: str = "") -> str:
    return "-" if x is None else f"{x:,.0f}{unit}"


def importtime(top: int) -> list[tuple[float, str]]:
    """Cumulative import times (ms) of what `tuikanban` imports before its first paint."""
    code = ("import tuikanban.cli, tuikanban.cli.board, tuikanban.ui.launch, sys; "
            "print('orm-before-first-paint', any(m.startswith(('sqlalchemy', 'sqlmodel', 'pydantic')) "
            "for m in sys.modules))")
    proc = subprocess.run([sys.executable, "-X", "importtime", "-c", code], capture_output=True, text=True,
                          check=True)
    rows = []
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        _self, cum, name = (part.strip() for part in line[len("import time:"):].split("|"))
        if cum.isdigit():
            rows.append((int(cum) / 1000, name))
    print(proc.stdout.strip())
    rows.sort(reverse=True)
    return rows[:top]


def outside_mover(db: Path, on_screen: bool = False) -> tuple[object, int, list[int]]:
    """(database, deal, [its stage, the next stage]): the first deal of the second column, to move back and forth;
    with `on_screen`, the first of the second column's first swimlane (the top card on screen: the move shifts
    every card under it in two columns), or its first in any lane when that lane has none (a small board)."""
    sys.path.insert(0, str(ROOT / "src"))
    from tuikanban.domain.targets import parse_target
    from tuikanban.store import fastread
    from tuikanban.store.engine import open_database

    con = fastread.connect_live_target(parse_target(str(db)))
    board = fastread.load_board(con, None).board
    con.close()
    assert board is not None
    second, third = board.stages[1].id, board.stages[2].id
    first_type = board.types[0].id if on_screen and board.types else None
    in_second = [c for c in board.cards if c.stage_id == second]
    if not in_second:
        raise SystemExit(f"{db}: the second column holds no deal to move")
    deal = next((c.id for c in in_second if first_type is None or c.type_id == first_type), in_second[0].id)
    return open_database(db), deal, [second, third]


AGING_MARK = "◌"  # a risk mark (no activity) that many of the generated deals carry (domain.aging.SIGNAL_LEGEND)


def settle(board: PtyProgram) -> None:
    """Wait until the board is settled: its aging marks painted, then nothing written for three seconds.

    The first screen holds the top cards without their aging; the marks come with the whole board's read once the
    database is open. On a loaded machine that read can take longer than three silent seconds, and the marks (about
    7.8 KB at 10,000 deals, 160x45) then landed in the bytes of the first keys: one focus move of each run wrote
    8.6-8.8 KB (docs/PERFORMANCE.md, "Bytes written to the terminal"). A board without such a mark waits a minute
    at most, then only for the quiet seconds."""
    with contextlib.suppress(TimeoutError):
        board.wait_for(AGING_MARK, timeout=60)
    board.quiet(3000)


COVERING = [("metrics", "m"), ("review", "v"), ("settings", ","), ("closed", "c")]  # screens over the board (keys)


def covered_bytes(board: PtyProgram, seconds: float) -> dict[str, dict[str, float]]:
    """For each screen of COVERING: open it, wait until it is drawn and quiet, then count the bytes the board
    process writes (and the CPU it spends) for `seconds` while the screen stays open, and go back (escape)."""
    out = {}
    for name, key in COVERING:
        board.quiet(500)
        board.key(key)
        time.sleep(2.0)
        board.quiet(1000)
        mark, cpu = board.mark(), board.cpu_seconds()
        time.sleep(seconds)
        out[name] = {"bytes": board.since(mark), "cpu_ms": (board.cpu_seconds() - cpu) * 1000}
        board.key("escape")
        time.sleep(1.0)
    return out


def byte_counts(tuikanban: str, env: dict[str, str], db: Path, *, keys: int, idle_s: float, cols: int,
                rows: int, on_screen: bool = False, dialog: bool = False, covered_s: float = 0) -> dict:
    """Bytes the board writes to its terminal: first paint (settled), focus move, card move, another process's
    move, and idle (per minute)."""
    from tuikanban.services.deals import move_deal

    board = PtyProgram([tuikanban], env=env, cols=cols, rows=rows)
    try:
        board.wait_for("Prospecting")
        settle(board)
        first = board.mark()

        def per_key(names: list[str], window_s: float) -> list[int]:
            out = []
            for name in names:
                board.quiet(300)
                mark = board.mark()
                board.key(name)
                time.sleep(window_s)
                out.append(board.since(mark))
            return out

        focus = per_key(["right", "left"] * (keys // 2), 0.6)
        # card moves: until written and quiet (a big pipeline's first move reads each cell's window again, which
        # can outlast a fixed window on a loaded machine), with the time to its last write and the board's CPU
        moves, move_times = [], []
        for name in ["shift+right", "shift+left"] * (keys // 2):
            board.quiet(300)
            mark, cpu = board.mark(), board.cpu_seconds()
            pressed = board.key(name)
            time.sleep(2.5)
            board.quiet(700)
            moves.append(board.since(mark))
            move_times.append({"done_ms": (board.last_write() - pressed) * 1000,
                               "cpu_ms": (board.cpu_seconds() - cpu) * 1000})
        # enter opens the focused deal's detail, escape goes back to the board (both until painted)
        dialog_bytes = per_key(["enter", "escape"] * (keys // 2), 1.5) if dialog else []
        covered = covered_bytes(board, covered_s) if covered_s else {}
        database, deal, stages = outside_mover(db, on_screen)
        outside = []
        try:
            for i in range(keys):
                board.quiet(300)
                mark = board.mark()
                move_deal(database, deal, stages[(i + 1) % 2], user="someone-else")  # type: ignore[arg-type]
                time.sleep(2.5)
                outside.append(board.since(mark))
        finally:
            database.close()  # type: ignore[attr-defined]
        board.quiet(2000)
        mark = board.mark()
        time.sleep(idle_s)
        idle = board.since(mark) * 60 / idle_s if idle_s else 0.0
        return {"first_paint_bytes": first, "focus_bytes": focus, "move_bytes": moves, "move_times": move_times,
                "outside_bytes": outside,
                "idle_bytes_per_min": idle, "open_dialog_bytes": dialog_bytes[0::2],
                "close_dialog_bytes": dialog_bytes[1::2], "covered": covered}
    finally:
        board.stop()


def kb(x: float | None) -> str:
    return "-" if x is None else f"{x / 1024:,.1f} KB"


def compile_package() -> None:
    """Write the package's bytecode first, as `pip install` does: a run where PYTHONDONTWRITEBYTECODE is set (or the
    source is read-only) would otherwise compile every module of the board from source at each start, which an
    installed board never does, while the bare app's Textual is installed with its bytecode."""
    import compileall
    import importlib.util

    spec = importlib.util.find_spec("tuikanban")
    if spec is not None and spec.origin is not None:
        compileall.compile_dir(str(Path(spec.origin).parent), quiet=1)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="10,1000,10000,50000,100000", help="open deals, comma-separated")
    ap.add_argument("--runs", type=int, default=5, help="first-paint runs per size")
    ap.add_argument("--keys", type=int, default=20, help="key presses per key measurement")
    ap.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "tuikanban-bench")
    ap.add_argument("--timer", type=Path, default=DEFAULT_TIMER,
                    help="a timer script with bench/ptytimer.py's options and JSON (default: bench/ptytimer.py)")
    ap.add_argument("--compare-timer", type=Path, default=None, metavar="PATH",
                    help="only compare --timer with this timer script: first paint and keys, runs interleaved "
                         "(bench/timer_compare.py)")
    ap.add_argument("--cols", type=int, default=160)
    ap.add_argument("--rows", type=int, default=45)
    ap.add_argument("--density", choices=("normal", "compact", "normal,compact", "compact,normal"),
                    default="normal",
                    help="card density the board starts with (remembered in the settings file); two: compare them, "
                         "interleaved")
    ap.add_argument("--db", default=None, help="a PostgreSQL database URL: measure the boards there too")
    ap.add_argument("--idle", type=float, default=60, help="seconds of idle board whose bytes are counted")
    ap.add_argument("--bytes-only", action="store_true", help="only the bytes written (no timing runs)")
    ap.add_argument("--outside-on-screen", action="store_true",
                    help="the outside move takes the top card of the second column's first swimlane (on screen)")
    ap.add_argument("--dialog-bytes", action="store_true",
                    help="also the bytes of enter (the deal detail opens) and escape (back to the board)")
    ap.add_argument("--covered", type=float, default=0, metavar="SECONDS",
                    help="also the bytes written (and the CPU) while each of the metrics, review, settings and "
                         "closed-deals screens stays open over the board for SECONDS")
    ap.add_argument("--settled-runs", type=int, default=3,
                    help="starts per size timed until the board stops working (0: skip)")
    ap.add_argument("--settled-key", default=None, metavar="KEY",
                    help="with --src: press KEY (e.g. down) at the first paint of each settled run: a board in use, "
                         "which builds its less used screens ahead too")
    ap.add_argument("--tour", action="store_true",
                    help="in the settled runs, open every screen once, then the deal detail and card moves "
                         "--repeats times, and read the memory")
    ap.add_argument("--repeats", type=int, default=100, help="deal detail opens and card moves of --tour")
    ap.add_argument("--screens", type=int, default=None, metavar="OPEN",
                    help="time every screen's key on the board of OPEN open deals (right after start and warm)")
    ap.add_argument("--screen-runs", type=int, default=5)
    ap.add_argument("--only", default="", help="with --screens: these screens only (comma-separated names)")
    ap.add_argument("--no-paint", action="store_true", help="skip the first-paint and key runs")
    ap.add_argument("--no-bytes", action="store_true", help="skip the bytes written to the terminal")
    ap.add_argument("--src", action="append", default=[], metavar="NAME=PATH",
                    help="a source tree's src folder (repeatable): first paint and settled time of each, interleaved")
    a = ap.parse_args(argv)
    a.dir.mkdir(parents=True, exist_ok=True)
    if a.src:
        trees_compare(a)
        return
    compile_package()
    sizes = [int(s) for s in a.sizes.split(",") if s.strip()]
    tuikanban = str(Path(sys.executable).with_name("tuikanban"))
    if "," in a.density:
        density_compare(a, sizes, tuikanban)
        return
    base_env = density_env(a.dir, a.density)

    bare = a.dir / "bare_app.py"
    bare.write_text(BARE_APP)
    if a.bytes_only:
        bytes_table(a, sizes, tuikanban, base_env, bare)
        return
    if a.compare_timer:
        from timer_compare import compare_timers

        compare_timers(a, sizes, tuikanban, base_env, bare)
        return
    bare_run = timer(a.timer, [sys.executable, str(bare)], marker="BARE-TEXTUAL-APP", keys=[], runs=a.runs, env={},
                     cols=a.cols, rows=a.rows)
    bare_ms = bare_run["summary"]["marker_ms_median"]
    bare_rss = bare_run["summary"]["max_rss_kb_median"]

    results = []
    boards: list[tuple[int, str, str]] = []  # (open deals, engine, target)
    for n in sizes:
        db = build(a.dir, n)
        boards.append((n, "sqlite", str(db)))
        if a.db:
            boards.append((n, "postgresql", pg_copy(a.db, db, n)))
    for n, engine, where in ([] if a.no_paint else boards):
        env = {**base_env, "TUIKANBAN_DB": where}
        cmd = [tuikanban]
        # the board's starts alternate with the bare app's (A B A B): its ratio is to the bare app measured beside
        # it, on the machine as loaded then, not to the one measured before every board
        paint_runs: list[dict] = []
        bare_here: list[dict] = []
        paint_failures = 0
        for _ in range(a.runs):
            bare_here += timer(a.timer, [sys.executable, str(bare)], marker="BARE-TEXTUAL-APP", keys=[], runs=1,
                               env={}, cols=a.cols, rows=a.rows)["runs"]
            one = timer(a.timer, cmd, marker="Prospecting", keys=[], runs=1, env=env, cols=a.cols, rows=a.rows)
            paint_runs += one["runs"]
            paint_failures += one["summary"]["failures"]
        focus = timer(a.timer, cmd, marker="Prospecting", keys=["right", "left"] * (a.keys // 2), runs=1, env=env,
                      cols=a.cols, rows=a.rows)
        moves = timer(a.timer, cmd, marker="Prospecting", keys=["shift+right", "shift+left"] * (a.keys // 2),
                      runs=1, env=env, cols=a.cols, rows=a.rows, settle_ms=400)
        focus_ms = [k["first_change_ms"] for r in focus["runs"] for k in r["keys"]]
        move_ms = [k["first_change_ms"] for r in moves["runs"] for k in r["keys"]]
        results.append({
            "open": n, "engine": engine, "first_paint_ms": med([r["marker_ms"] for r in paint_runs]),
            "first_paint_runs": [r["marker_ms"] for r in paint_runs],
            "first_paint_cpu_ms": med([r.get("marker_cpu_ms") for r in paint_runs]),
            "bare_beside_ms": med([r["marker_ms"] for r in bare_here]),
            "bare_beside_cpu_ms": med([r.get("marker_cpu_ms") for r in bare_here]),
            "focus_median_ms": med(focus_ms), "focus_p90_ms": p90(focus_ms),
            "move_median_ms": med(move_ms), "move_p90_ms": p90(move_ms), "move_all_ms": move_ms,
            "peak_rss_kb": max(r["max_rss_kb"] or 0 for r in moves["runs"]),
            "failures": f'{paint_failures}/{focus["summary"]["failures"]}/{moves["summary"]["failures"]}',
        })

    bases: dict[str, float] = {}  # each engine's board compared with its own smallest one
    for r in results:
        bases.setdefault(r["engine"], r["first_paint_ms"])
    print(f"\nboard benchmark, {a.cols}x{a.rows}, medians; bare Textual app (one line): {fmt(bare_ms, ' ms')} "
          f"first paint, {fmt(bare_rss / 1024 if bare_rss else None, ' MB')} RSS\n")
    head = (f"{'open deals':>10} | {'engine':>10} | {'first paint':>11} | {'vs ' + str(sizes[0]):>7} | "
            f"{'vs bare':>7} | {'bare beside':>11} | {'CPU vs bare':>11} | "
            f"{'focus move':>14} | {'card move':>14} | {'peak RSS':>8} | failed runs (paint/focus/move)")
    print(head)
    print("-" * len(head))

    def ratio_of(x: float | None, y: float | None) -> str:
        return f"{x / y:.2f}x" if x and y else "-"

    for r in results:
        base = bases[r["engine"]]
        print(f"{r['open']:>10,} | {r['engine']:>10} | {fmt(r['first_paint_ms'], ' ms'):>11} | "
              f"{ratio_of(r['first_paint_ms'], base):>7} | {ratio_of(r['first_paint_ms'], r['bare_beside_ms']):>7} | "
              f"{fmt(r['bare_beside_ms'], ' ms'):>11} | "
              f"{ratio_of(r['first_paint_cpu_ms'], r['bare_beside_cpu_ms']):>11} | "
              f"{fmt(r['focus_median_ms'])}/{fmt(r['focus_p90_ms'])} ms{'':>3} | "
              f"{fmt(r['move_median_ms'])}/{fmt(r['move_p90_ms'])} ms{'':>3} | "
              f"{fmt(r['peak_rss_kb'] / 1024, ' MB'):>8} | {r['failures']}")
    print("\nvs bare: the first paint against the bare app's, their starts alternating (bare beside: its median); "
          "CPU vs bare: the same for the process's CPU time up to the first paint (every thread's, ended ones too).")
    print("key columns: median/p90 of the first screen change after the key; the first card move may wait for "
          "the database to finish opening (the ORM is imported after the first paint).")
    print("\nwhere start-up goes (python -X importtime, cumulative ms, before the first paint):")
    for ms, name in importtime(12):
        print(f"  {ms:7.1f}  {name}")
    (a.dir / "results.json").write_text(json.dumps({"bare_ms": bare_ms, "results": results}, indent=1))
    extras(a, boards, base_env, tuikanban, bare)
    if not a.no_bytes:
        bytes_table(a, sizes, tuikanban, base_env, bare)


TOUR_RSS = (("settled", "rss_settled_kb"), ("peak after the tour", "hwm_tour_kb"),
            ("after the detail's opens", "rss_after_opens_kb"), ("after the moves", "rss_after_moves_kb"),
            ("peak at the end", "hwm_end_kb"))


def trees_compare(a: argparse.Namespace) -> None:
    """First paint (the bare app beside every start) and settled time of each source tree (`--src NAME=PATH`), one
    start of the bare app and then of each tree in turn per round, at every size; medians with (min-max). With
    `--tour`, the settled runs tour the screens too (`settled_run`), and each tree's RSS figures are shown."""
    import compileall

    trees = [(s.split("=", 1)[0], str(Path(s.split("=", 1)[1]).resolve())) for s in a.src]
    for _name, src in trees:  # their bytecode first, as an installed copy has it (compile_package)
        compileall.compile_dir(src, quiet=1)
    sizes = [int(s) for s in a.sizes.split(",") if s.strip()]
    base_env = density_env(a.dir, a.density)
    bare = a.dir / "bare_app.py"
    bare.write_text(BARE_APP)
    tuikanban = str(Path(sys.executable).with_name("tuikanban"))
    boards: list[tuple[int, str, str]] = []
    for n in sizes:
        db = build(a.dir, n)
        boards.append((n, "sqlite", str(db)))
        if a.db:
            boards.append((n, "postgresql", pg_copy(a.db, db, n)))

    def spread(xs: list[float], unit: float = 1.0) -> str:
        ok = sorted(x * unit for x in xs if x is not None)
        return f"{statistics.median(ok):,.0f} ({ok[0]:,.0f}-{ok[-1]:,.0f})" if ok else "-"

    def ratio(xs: list[float], ys: list[float]) -> str:
        x, y = med(xs), med(ys)
        return f"{x / y:.2f}x" if x and y else "-"

    print(f"trees interleaved (bare {' '.join(t for t, _ in trees)}, then again), {a.cols}x{a.rows}; ms: median "
          f"(min-max); vs bare: median over the median of the bare app's starts beside them", flush=True)
    for n, engine, where in boards:
        env = {**base_env, "TUIKANBAN_DB": where}
        bare_runs: list[dict] = []
        got: dict[str, list[dict]] = {t: [] for t, _ in trees}
        loads = [Path("/proc/loadavg").read_text().split()[0]]
        for _ in range(a.runs if not a.no_paint else 0):
            bare_runs += timer(a.timer, [sys.executable, str(bare)], marker="BARE-TEXTUAL-APP", keys=[], runs=1,
                               env={}, cols=a.cols, rows=a.rows)["runs"]
            for t, src in trees:
                got[t] += timer(a.timer, [tuikanban], marker="Prospecting", keys=[], runs=1,
                                env={**env, "PYTHONPATH": src}, cols=a.cols, rows=a.rows)["runs"]
            loads.append(Path("/proc/loadavg").read_text().split()[0])
        settled: dict[str, list[dict]] = {t: [] for t, _ in trees}
        for _ in range(a.settled_runs if engine == "sqlite" else 0):
            for t, src in trees:
                settled[t].append(settled_run([tuikanban], {**env, "PYTHONPATH": src}, a.cols, a.rows,
                                              marker="Prospecting", tour=a.tour, repeats=a.repeats,
                                              key=a.settled_key))
            loads.append(Path("/proc/loadavg").read_text().split()[0])
        bare_ms = [r["marker_ms"] for r in bare_runs]
        bare_cpu = [r.get("marker_cpu_ms") for r in bare_runs]
        print(f"\n{n:,} open deals, {engine}: bare app {spread(bare_ms)} ms, CPU {spread(bare_cpu)} ms; "
              f"load average (1 min) {min(loads, key=float)}-{max(loads, key=float)}")
        for t, _src in trees:
            paint = [r["marker_ms"] for r in got[t]]
            cpu = [r.get("marker_cpu_ms") for r in got[t]]
            after = [r.get("settled_after_paint_s") for r in settled[t]]
            fails = sum(1 for r in got[t] if r.get("marker_ms") is None)
            print(f"  {t:<8} first paint {spread(paint):>20} ms  {ratio(paint, bare_ms):>6} | CPU {spread(cpu):>18} "
                  f"ms {ratio(cpu, bare_cpu):>6} | settled after paint {spread(after, 1000):>20} ms"
                  + (f" | {fails} runs never painted" if fails else ""), flush=True)
            if a.tour:
                print(f"  {t:<8} RSS MB, median (min-max): " + ", ".join(
                    f"{label} {spread([r.get(key) for r in settled[t]], 1 / 1024)}" for label, key in TOUR_RSS),
                    flush=True)
    print(f"load average after: {Path('/proc/loadavg').read_text().strip()}")


def density_env(dir_: Path, density: str) -> dict[str, str]:
    """The board's environment: user `bench`, a config of its own (no remembered theme or pipeline) that starts it
    with cards of `density`."""
    config = dir_ / f"config-{density}"
    (config / "tuikanban").mkdir(parents=True, exist_ok=True)
    (config / "tuikanban" / "config.toml").write_text(f'[density]\nbench = "{density}"\n')
    return {"TUIKANBAN_USER": "bench", "XDG_CONFIG_HOME": str(config)}


def density_compare(a: argparse.Namespace, sizes: list[int], tuikanban: str) -> None:
    """First paint, focus move and card move of each density, one start of each in turn per round (A B A B), with
    the CPU time of the board's threads (at the first paint; per key until settled). Each round starts three
    boards per density (one for the paint, one for focus moves, one for card moves); all three first paints count."""
    densities = a.density.split(",")
    print(f"load average before: {Path('/proc/loadavg').read_text().strip()}")
    head = (f"{'open deals':>10} | {'density':>8} | {'first paint':>13} | {'paint CPU':>13} | {'focus move':>13} | "
            f"{'focus CPU':>9} | {'card move':>13} | {'move CPU':>8}")
    rows_: list[str] = []
    for n in sizes:
        db = build(a.dir, n)
        got = {d: {"paint": [], "paint_cpu": [], "focus": [], "focus_cpu": [], "move": [], "move_cpu": []}
               for d in densities}
        for _ in range(a.runs):
            for d in densities:
                env = {**density_env(a.dir, d), "TUIKANBAN_DB": str(db)}
                runs = [timer(a.timer, [tuikanban], marker="Prospecting", keys=[], runs=1, env=env, cols=a.cols,
                              rows=a.rows)]
                for kind, keys, settle_ms in (("focus", ["right", "left"], 250), ("move", ["shift+right",
                                                                                           "shift+left"], 400)):
                    data = timer(a.timer, [tuikanban], marker="Prospecting", keys=keys * (a.keys // 2), runs=1,
                                 env=env, cols=a.cols, rows=a.rows, settle_ms=settle_ms, cpu_quiet_ms=300)
                    runs.append(data)
                    got[d][kind] += [k["first_change_ms"] for r in data["runs"] for k in r["keys"]]
                    got[d][f"{kind}_cpu"] += [k.get("cpu_ms") for r in data["runs"] for k in r["keys"]]
                for data in runs:
                    got[d]["paint"] += [r["marker_ms"] for r in data["runs"]]
                    got[d]["paint_cpu"] += [r.get("marker_cpu_ms") for r in data["runs"]]

        def spread(xs: list[float | None]) -> str:
            ok = [x for x in xs if x is not None]
            return f"{fmt(med(ok))} ({fmt(min(ok, default=None))}-{fmt(max(ok, default=None))})" if ok else "-"

        for d in densities:
            g = got[d]
            focus = f"{fmt(med(g['focus']))}/{fmt(p90(g['focus']))} ms"
            move = f"{fmt(med(g['move']))}/{fmt(p90(g['move']))} ms"
            rows_.append(f"{n:>10,} | {d:>8} | {spread(g['paint']):>13} | {spread(g['paint_cpu']):>13} | {focus:>13} | "
                         f"{fmt(med(g['focus_cpu']), ' ms'):>9} | {move:>13} | {fmt(med(g['move_cpu']), ' ms'):>8}")
        (a.dir / f"density-{n}.json").write_text(json.dumps(got, indent=1))
    print(f"\ndensities interleaved, {a.cols}x{a.rows}, {a.runs} rounds (ms: median (min-max) of the first paints; "
          f"keys median/p90 of the first screen change, CPU median per key)")
    print(head + "\n" + "-" * len(head))
    print("\n".join(rows_))
    print(f"load average after: {Path('/proc/loadavg').read_text().strip()}")


def bytes_table(a: argparse.Namespace, sizes: list[int], tuikanban: str, base_env: dict[str, str],
                bare: Path) -> None:
    """Bytes written to the terminal, per size (SQLite boards), beside a bare Textual app's first paint."""
    floor = PtyProgram([sys.executable, str(bare)], env={}, cols=a.cols, rows=a.rows)
    try:
        floor.wait_for("BARE-TEXTUAL-APP")
        floor.quiet(1000)
        bare_bytes = floor.mark()
    finally:
        floor.stop()
    print(f"\nbytes written to the terminal, {a.cols}x{a.rows} (load {Path('/proc/loadavg').read_text().strip()}); "
          f"bare Textual app first paint: {kb(bare_bytes)}")
    head = (f"{'open deals':>10} | {'first paint':>11} | {'focus move':>17} | {'card move':>17} | "
            f"{'outside move':>17} | {'idle':>12}")
    print(head + "\n" + "-" * len(head))
    out = []
    for n in sizes:
        db = build(a.dir, n)
        r = byte_counts(tuikanban, {**base_env, "TUIKANBAN_DB": str(db)}, db, keys=a.keys, idle_s=a.idle,
                        cols=a.cols, rows=a.rows, on_screen=a.outside_on_screen, dialog=a.dialog_bytes,
                        covered_s=a.covered)
        out.append({"open": n, **r})

        def mm(xs: list[int]) -> str:
            return f"{kb(med(xs))}/{kb(max(xs))}" if xs else "-"

        print(f"{n:>10,} | {kb(r['first_paint_bytes']):>11} | {mm(r['focus_bytes']):>17} | "
              f"{mm(r['move_bytes']):>17} | {mm(r['outside_bytes']):>17} | {kb(r['idle_bytes_per_min']) + '/min':>12}",
              flush=True)
        if r["move_bytes"]:
            t = r["move_times"]
            rest = t[1:] or t
            print(f"{'':>10}   first card move: {kb(r['move_bytes'][0])}, last write {t[0]['done_ms']:,.0f} ms, "
                  f"CPU {t[0]['cpu_ms']:,.0f} ms (the others: last write {med([x['done_ms'] for x in rest]):,.0f} ms, "
                  f"CPU {med([x['cpu_ms'] for x in rest]):,.0f} ms, medians)", flush=True)
        if a.dialog_bytes:
            print(f"{'':>10}   deal detail: enter {mm(r['open_dialog_bytes'])}, escape {mm(r['close_dialog_bytes'])}",
                  flush=True)
        if r["covered"]:
            print(f"{'':>10}   {a.covered:g} s under a screen: " + ", ".join(
                f"{name} {kb(x['bytes'])} ({x['cpu_ms']:,.0f} ms CPU)" for name, x in r["covered"].items())
                + f" (load {Path('/proc/loadavg').read_text().split()[0]})", flush=True)
    print("moves: median/max per key or per outside move (until its re-reads are painted); first paint until the "
          "board settled; idle scaled to a minute.")
    (a.dir / "bytes.json").write_text(json.dumps({"bare_bytes": bare_bytes, "results": out}, indent=1))


def extras(a: argparse.Namespace, boards: list[tuple[int, str, str]], base_env: dict[str, str], tuikanban: str,
           bare: Path) -> None:
    """Settled time and memory per size (bare app interleaved), and every screen's key-to-screen."""
    print(f"\nload average: {Path('/proc/loadavg').read_text().strip()}")
    if a.settled_runs:
        rows_: list[dict] = [{"open": 0, "runs": []}] + [{"open": n, "runs": []} for n, e, _w in boards
                                                          if e == "sqlite"]
        for _ in range(a.settled_runs):  # interleaved: bare, then every size, then again
            rows_[0]["runs"].append(settled_run([sys.executable, str(bare)], {}, a.cols, a.rows,
                                                marker="BARE-TEXTUAL-APP", tour=False, repeats=0))
            for row, (_n, _e, where) in zip(rows_[1:], [b for b in boards if b[1] == "sqlite"], strict=True):
                env = {**base_env, "TUIKANBAN_DB": where}
                row["runs"].append(settled_run([tuikanban], env, a.cols, a.rows, marker="Prospecting", tour=a.tour,
                                               repeats=a.repeats))
        print("(open deals 0: the bare Textual app)")
        print_settled(rows_)
        if a.tour:
            print_tour(rows_[1:])
    if a.screens:
        where = str(build(a.dir, a.screens))
        env = {**base_env, "TUIKANBAN_DB": where, "TUIKANBAN_USER": "alice"}
        only = {x.strip() for x in a.only.split(",") if x.strip()} or None
        cold = screens_run(a.timer, [tuikanban], env, a.cols, a.rows, runs=a.screen_runs, settle_ms=0, only=only)
        warm = screens_run(a.timer, [tuikanban], env, a.cols, a.rows, runs=a.screen_runs, settle_ms=2500, only=only)
        print_screens(f"{a.screens:,} open deals, pressed right after the first paint", cold)
        print_screens(f"{a.screens:,} open deals, pressed once the board is quiet (2.5 s)", warm)
        print(f"load average: {Path('/proc/loadavg').read_text().strip()}")


# -- settled time, peak memory after a tour of the screens, and key-to-screen (bigboard) -----------------------------

# Each screen: (name, key, text on screen once it is open). The key is pressed on the board's first card.
SCREENS: list[tuple[str, str, str]] = [
    ("deal detail", "enter", "History"),
    ("new deal", "n", "New deal"),
    ("edit deal", "e", "Edit deal"),
    ("help", "?", "Navigate"),
    ("settings", ",", "Pipeline settings"),
    ("closed deals", "c", "Closed deals"),
    ("aging panel", "a", "Aging"),
    ("metrics", "m", "Velocity"),
    ("pipelines", "p", "Pipelines"),
    ("today", "t", "Today · "),
    ("review", "v", "Review"),
]
_KEY_BYTES = {"enter": b"\r", "escape": b"\x1b", "shift+right": b"\x1b[1;2C", "shift+left": b"\x1b[1;2D",
              "right": b"\x1b[C", "left": b"\x1b[D", "down": b"\x1b[B", "up": b"\x1b[A"}


class PtyRun:
    """The board in a pseudo-terminal of its own, for what the timer does not give: when the process stops working
    after the first paint (its CPU time read from /proc every 10 ms, `cpu_s`), and its memory after a run of
    keys."""

    def __init__(self, cmd: list[str], env: dict[str, str], cols: int, rows: int) -> None:
        import fcntl
        import pty
        import struct
        import termios
        import threading
        import time

        self.time = time
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        full_env = {**os.environ, "TERM": "xterm-256color", "COLORTERM": "truecolor", "LANG": "C.UTF-8", **env}
        for k in ("COLUMNS", "LINES", "TMUX"):
            full_env.pop(k, None)
        self.t0 = time.perf_counter()
        self.proc = subprocess.Popen(cmd, stdin=slave, stdout=slave, stderr=slave, env=full_env,
                                     start_new_session=True, close_fds=True)
        os.close(slave)
        self.master = master
        self.out = bytearray()
        self.last_byte = self.t0
        self.lock = threading.Lock()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        while True:
            try:
                data = os.read(self.master, 65536)
            except OSError:
                return
            if not data:
                return
            with self.lock:
                self.out += data
                self.last_byte = self.time.perf_counter()

    def wait_for(self, text: str, timeout: float = 60.0, start: int = 0) -> float | None:
        """Seconds from spawn until `text` is in the output after byte `start` (None: not within timeout)."""
        needle = text.encode()
        end = self.time.perf_counter() + timeout
        while self.time.perf_counter() < end:
            with self.lock:
                if needle in self.out[start:]:
                    return self.time.perf_counter() - self.t0
            self.time.sleep(0.005)
        return None

    def cpu_s(self) -> float:
        """The process's CPU time so far: every thread's run time in nanoseconds (/proc/PID/task/*/schedstat).
        utime + stime of /proc/PID/stat count whole clock ticks (10 ms) charged to whoever runs when a tick
        comes, so a few milliseconds of timers that fire together could read as 30 ms in a 100 ms window: a
        "busy" window (`settled`) of an idle board."""
        ms = cpu_ms(self.proc.pid)
        if ms is None:
            raise ProcessLookupError(self.proc.pid)
        return ms / 1000

    def status_kb(self, name: str) -> int | None:
        with open(f"/proc/{self.proc.pid}/status") as fh:
            for line in fh:
                if line.startswith(name + ":"):
                    return int(line.split()[1])
        return None

    def settled(self, watch_s: float = 10.0, busy: float = 0.3, window_s: float = 0.1) -> float:
        """Seconds from spawn until the last `window_s` in which the process used more than `busy` of a CPU,
        watched for `watch_s` (its timers' small polls stay under that)."""
        samples: list[tuple[float, float]] = []
        end = self.time.perf_counter() + watch_s
        while self.time.perf_counter() < end:
            samples.append((self.time.perf_counter(), self.cpu_s()))
            self.time.sleep(0.01)
        last_busy = samples[0][0]
        j = 0
        for i, (t, c) in enumerate(samples):
            while samples[j][0] < t - window_s:
                j += 1
            if i > j and (c - samples[j][1]) / max(t - samples[j][0], 1e-3) > busy:
                last_busy = t
        return last_busy - self.t0

    def quiet(self, limit_s: float = 90.0, window_s: float = 0.5, busy: float = 0.3) -> float:
        """Wait until the process used less than `busy` of a CPU over the last `window_s` (at most `limit_s`);
        the seconds waited."""
        t0 = self.time.perf_counter()
        last_t, last_c = t0, self.cpu_s()
        while self.time.perf_counter() - t0 < limit_s:
            self.time.sleep(window_s)
            t, c = self.time.perf_counter(), self.cpu_s()
            if (c - last_c) / max(t - last_t, 1e-3) < busy:
                break
            last_t, last_c = t, c
        return self.time.perf_counter() - t0

    def press(self, key: str, pause: float) -> None:
        data = _KEY_BYTES.get(key, key.encode())
        os.write(self.master, data)
        self.time.sleep(pause)

    def stop(self) -> None:
        import signal

        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        os.close(self.master)


def settled_run(cmd: list[str], env: dict[str, str], cols: int, rows: int, *, marker: str, tour: bool,
                repeats: int, key: str | None = None) -> dict:
    """First paint, settled time and peak RSS of one start; with `key`, that key pressed at the first paint (a board
    in use builds its less used screens ahead too: ui/spares.py); with `tour`, every screen opened and closed once
    (peak RSS after it), then the deal detail opened `repeats` times and `repeats` card moves (RSS before/after)."""
    run = PtyRun(cmd, env, cols, rows)
    try:
        paint = run.wait_for(marker)
        if paint is None:
            return {"first_paint_s": None}
        if key:
            run.press(key, 0)
        settled = run.settled()
        res: dict = {"first_paint_s": paint, "settled_s": settled, "settled_after_paint_s": settled - paint,
                     "rss_settled_kb": run.status_kb("VmRSS"), "hwm_settled_kb": run.status_kb("VmHWM")}
        if tour:
            # each screen used: its text shown and the process quiet again (its reads done), then escape (which
            # closes the aging panel too); the peak of each screen over the RSS before its key
            res["screens"] = {}
            for name, key, text in SCREENS:
                before = run.status_kb("VmRSS") or 0
                start = len(run.out)
                run.press(key, 0.1)
                shown = run.wait_for(text, timeout=60, start=start)
                run.quiet()
                run.press("escape", 0.4)
                run.quiet()
                res["screens"][name] = {"shown": shown is not None, "rss_before_kb": before,
                                        "hwm_kb": run.status_kb("VmHWM"), "rss_after_kb": run.status_kb("VmRSS")}
            res["hwm_tour_kb"] = run.status_kb("VmHWM")
            res["rss_tour_kb"] = run.status_kb("VmRSS")
            for _ in range(repeats):
                run.press("enter", 0.15)
                run.press("escape", 0.15)
            res["rss_after_opens_kb"] = run.status_kb("VmRSS")
            for i in range(repeats):
                run.press("shift+right" if i % 2 == 0 else "shift+left", 0.05)
            run.time.sleep(1.5)
            res["rss_after_moves_kb"] = run.status_kb("VmRSS")
            res["hwm_end_kb"] = run.status_kb("VmHWM")
        return res
    finally:
        run.stop()


def screens_run(timer_path: Path, cmd: list[str], env: dict[str, str], cols: int, rows: int, *, runs: int,
                settle_ms: int, only: set[str] | None = None) -> dict[str, list[float]]:
    """Key-to-screen of every screen (SCREENS): a fresh board per run, the key pressed once the screen has been
    quiet for `settle_ms` (0: right after the first paint), timed until the screen's own text is shown."""
    out: dict[str, list[float]] = {}
    for name, key, text in SCREENS:
        if only and name not in only:
            continue
        data = timer(timer_path, cmd, marker="Prospecting", keys=[key], runs=runs, env=env, cols=cols, rows=rows,
                     settle_ms=settle_ms, after_marker=text)
        out[name] = [k["first_change_ms"] for r in data["runs"] for k in r["keys"]]
    return out


def print_settled(rows_: list[dict]) -> None:
    print("\nsettled (CPU quiet after the first paint) and memory; runs are medians, RSS in MB:")
    head = (f"{'open deals':>10} | {'first paint':>11} | {'settled':>8} | {'after paint':>11} | {'RSS settled':>11} | "
            f"{'peak tour':>9} | {'after opens':>11} | {'after moves':>11} | {'peak end':>8}")
    print(head)
    print("-" * len(head))

    def mb(key: str, r: dict) -> str:
        xs = [x[key] for x in r["runs"] if x.get(key)]
        return "-" if not xs else f"{statistics.median(xs) / 1024:.0f}"

    def ms(key: str, r: dict) -> str:
        xs = [x[key] for x in r["runs"] if x.get(key) is not None]
        return "-" if not xs else f"{statistics.median(xs) * 1000:,.0f} ms"

    for r in rows_:
        print(f"{r['open']:>10,} | {ms('first_paint_s', r):>11} | {ms('settled_s', r):>8} | "
              f"{ms('settled_after_paint_s', r):>11} | {mb('rss_settled_kb', r):>11} | {mb('hwm_tour_kb', r):>9} | "
              f"{mb('rss_after_opens_kb', r):>11} | {mb('rss_after_moves_kb', r):>11} | {mb('hwm_end_kb', r):>8}")


def print_tour(rows_: list[dict]) -> None:
    """Per screen of the tour: the peak RSS once it was used (MB, median of the runs) and the RSS after it closed."""
    print("\ntour, screen by screen (MB, medians): peak so far / RSS after closing (* never showed its text)")
    for r in rows_:
        names = [name for name, _key, _text in SCREENS]
        cells = []
        for name in names:
            got = [x["screens"][name] for x in r["runs"] if name in x.get("screens", {})]
            if not got:
                continue
            hwm = statistics.median(g["hwm_kb"] or 0 for g in got) / 1024
            after = statistics.median(g["rss_after_kb"] or 0 for g in got) / 1024
            star = "" if all(g["shown"] for g in got) else "*"
            cells.append(f"{name}{star} {hwm:.0f}/{after:.0f}")
        print(f"{r['open']:>10,}: " + ", ".join(cells))


def print_screens(label: str, result: dict[str, list[float]]) -> None:
    print(f"\nkey-to-screen, {label} (ms, median / p90 / worst of the runs):")
    for name, xs in result.items():
        ok = [x for x in xs if x is not None]
        failed = len(xs) - len(ok)
        line = (f"{med(ok):7.0f} / {p90(ok):5.0f} / {max(ok):5.0f}" if ok else "      -")
        print(f"  {name:<14} {line}{f'   ({failed} runs never showed it)' if failed else ''}")


if __name__ == "__main__":
    main()
