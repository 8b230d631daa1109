"""Many boards on one database: idle CPU of each, and how fast one process's move reaches all of them.

    python bench/boards_bench.py                          # 10 boards on a board of 10 open deals
    python bench/boards_bench.py --boards 10 --open 10000 --idle 60 --moves 10
    python bench/boards_bench.py --db postgresql:///DB     # the same board copied into a PostgreSQL database

Each board is the real `tuikanban` on a pseudo-terminal of its own (bench/ptyboard.py, 160x45), every one as a
different rep, all on one SQLite file built by bench/gen.py (cached in --dir), or with --db on a copy of it in
a PostgreSQL database (schema `bench_<open>`, as bench/board_bench.py makes it). Once all are painted and quiet:

- idle: CPU (user + system, all threads, from /proc) of each board over --idle seconds, as % of one core, and the
  bytes each wrote meanwhile; a bare Textual app idles beside them as the floor;
- fan-out: this script moves a deal of the second column back and forth through the services (as another rep's
  process would), --moves times; for each move, the time from its commit until each board's screen (rendered
  with pyte) shows the new counts of the two stages, the slowest board, and each board's CPU (above its idle
  rate, and all of it from the commit until the boards are quiet) and bytes for the move;
- first action (--first N): N times, one more board starts beside the others, and as soon as its board is on the
  screen a key is pressed: a card move (shift+right; timed until its counts line changes) or the deal detail
  (enter; timed until its history is shown), alternately. The time from the key to the screen is what a rep waits
  when the first thing they do after start is a move or opening a deal: it must not wait for the database
  library's import or a whole read.

Figures only: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from board_bench import BARE_APP, build, outside_mover, pg_copy
from ptyboard import PtyProgram

COUNTS_ROW = 1  # the line under the header: each stage's name and open count (a move changes two counts)


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, max(0, round(q * (len(xs) - 1))))]


def calm(programs: list[PtyProgram], below_pct: float = 3.0, window_s: float = 2.0, max_s: float = 90) -> None:
    """Wait until every program used less than `below_pct` % of a core over `window_s` seconds."""
    end = time.monotonic() + max_s
    while time.monotonic() < end:
        before = [p.cpu_seconds() for p in programs]
        time.sleep(window_s)
        if all((p.cpu_seconds() - c) / window_s * 100 < below_pct for p, c in zip(programs, before, strict=True)):
            return


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--boards", type=int, default=10)
    ap.add_argument("--open", type=int, default=10, help="open deals on the board")
    ap.add_argument("--idle", type=float, default=30, help="seconds of idle CPU measured")
    ap.add_argument("--moves", type=int, default=10)
    ap.add_argument("--first", type=int, default=4, help="boards started for the first-action timing")
    ap.add_argument("--db", default=None, help="a PostgreSQL database URL: measure the boards there")
    ap.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "tuikanban-bench")
    a = ap.parse_args(argv)
    a.dir.mkdir(parents=True, exist_ok=True)
    built = build(a.dir, a.open)
    db: Path | str = a.dir / f"boards-{a.open}.db"  # a fresh copy each run: the moves below change the board
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(built, db)
    if a.db:
        db = pg_copy(a.db, Path(db), a.open, fresh=True)
    tuikanban = str(Path(sys.executable).with_name("tuikanban"))
    config = a.dir / "config-normal"
    (config / "tuikanban").mkdir(parents=True, exist_ok=True)
    (config / "tuikanban" / "config.toml").write_text('[density]\nbench = "normal"\n')
    bare_path = a.dir / "bare_app.py"
    bare_path.write_text(BARE_APP)

    boards: list[PtyProgram] = []
    bare = PtyProgram([sys.executable, str(bare_path)], env={})
    try:
        for i in range(a.boards):
            env = {"TUIKANBAN_USER": f"rep{i}", "XDG_CONFIG_HOME": str(config), "TUIKANBAN_DB": str(db)}
            boards.append(PtyProgram([tuikanban], env=env, screen=True))
        for b in boards:
            b.wait_for("Prospecting")
        bare.wait_for("BARE-TEXTUAL-APP")
        time.sleep(5)  # the database opened, presence joined, aging read, ...
        calm(boards)  # (on a loaded machine the start's work goes on for longer: it is not idle CPU)
        for b in boards:
            b.quiet(1000, max_s=10)
        load = Path("/proc/loadavg").read_text().strip()
        where = "one PostgreSQL database" if a.db else "one file"
        print(f"{a.boards} boards on {where} ({a.open:,} open deals), load {load}")

        cpu0 = [b.cpu_seconds() for b in [*boards, bare]]
        marks = [b.mark() for b in boards]
        t0 = time.monotonic()
        time.sleep(a.idle)
        elapsed = time.monotonic() - t0
        cpu = [(b.cpu_seconds() - c) / elapsed * 100 for b, c in zip([*boards, bare], cpu0, strict=True)]
        idle_bytes = [b.since(m) * 60 / elapsed for b, m in zip(boards, marks, strict=True)]
        board_cpu = cpu[:-1]
        idle_rates = [c / 100 for c in board_cpu]  # seconds of CPU per second, idle
        print(f"idle over {elapsed:.0f} s: CPU per board median {statistics.median(board_cpu):.2f} %, max "
              f"{max(board_cpu):.2f} %, min {min(board_cpu):.2f} % (bare Textual app {cpu[-1]:.2f} %); "
              f"bytes per board per minute median {statistics.median(idle_bytes):,.0f}, max {max(idle_bytes):,.0f}")

        if a.moves:
            fan_out(a, db, boards, idle_rates)
        if a.first:
            first_actions(a, db, env_of=lambda i: {"TUIKANBAN_USER": f"first{i}", "XDG_CONFIG_HOME": str(config),
                                                   "TUIKANBAN_DB": str(db)})
        print(f"load average at the end: {Path('/proc/loadavg').read_text().strip()}")
    finally:
        for b in [*boards, bare]:
            b.stop()


def fan_out(a: argparse.Namespace, db: Path | str, boards: list[PtyProgram], idle_rates: list[float]) -> None:
    """One process moves a deal back and forth; how soon each board shows it, and what each spends on it."""
    database, deal, stages = outside_mover(db)  # type: ignore[arg-type]
    from tuikanban.services.deals import move_deal

    firsts: list[float] = []
    slowest: list[float] = []
    move_cpu: list[float] = []
    move_bytes: list[int] = []
    window_cpu: list[float] = []  # all of a board's CPU from the commit until every board was quiet
    windows: list[float] = []
    missed = 0
    try:
        for i in range(a.moves):
            cpu_before = [b.cpu_seconds() for b in boards]
            marks = [b.mark() for b in boards]
            counts = [b.row(COUNTS_ROW) for b in boards]
            move_deal(database, deal, stages[(i + 1) % 2], user="mover")  # type: ignore[arg-type]
            committed = time.monotonic()
            seen: list[float | None] = [None] * len(boards)
            while time.monotonic() - committed < 5 and any(s is None for s in seen):
                for j, b in enumerate(boards):
                    if seen[j] is None and b.row(COUNTS_ROW) != counts[j]:
                        seen[j] = time.monotonic()
                time.sleep(0.002)
            got = [(s - committed) * 1000 for s in seen if s is not None]
            missed += len(boards) - len(got)
            firsts.extend(got)
            if got:
                slowest.append(max(got))
            time.sleep(2.5)
            for b in boards:
                b.quiet(300, max_s=5)
            took = time.monotonic() - committed
            move_cpu.extend((b.cpu_seconds() - c - idle_rate * took) * 1000
                            for b, c, idle_rate in zip(boards, cpu_before, idle_rates, strict=True))
            window_cpu.extend((b.cpu_seconds() - c) * 1000 for b, c in zip(boards, cpu_before, strict=True))
            windows.append(took)
            move_bytes.extend(b.since(m) for b, m in zip(boards, marks, strict=True))
    finally:
        database.close()  # type: ignore[attr-defined]
    print(f"fan-out of {a.moves} moves to {a.boards} boards: commit to a board showing it median "
          f"{statistics.median(firsts):.0f} ms, p90 {pct(firsts, 0.9):.0f} ms, max {max(firsts):.0f} ms; "
          f"slowest board per move median {statistics.median(slowest):.0f} ms, max {max(slowest):.0f} ms; "
          f"boards that showed nothing within 5 s: {missed}")
    print(f"per board per move (above its idle CPU): CPU median {statistics.median(move_cpu):.0f} ms, max "
          f"{max(move_cpu):.0f} ms; "
          f"bytes median {statistics.median(move_bytes):,.0f}, max {max(move_bytes):,}; all its CPU from the commit "
          f"until quiet ({statistics.median(windows):.1f} s, median) {statistics.median(window_cpu):.0f} ms")


def first_actions(a: argparse.Namespace, db: Path | str, env_of: Callable[[int], dict[str, str]]) -> None:
    tuikanban = str(Path(sys.executable).with_name("tuikanban"))
    took: dict[str, list[float]] = {"card move": [], "deal detail": []}
    for i in range(a.first):
        what = "card move" if i % 2 == 0 else "deal detail"
        board = PtyProgram([tuikanban], env=env_of(i), screen=True)
        try:
            try:
                board.wait_for("Prospecting")
            except TimeoutError:
                print(f"first action: the board was not painted within 60 s; its screen: "
                      f"{[board.row(y) for y in range(3)]!r}")
                continue
            board.quiet(30, max_s=2)  # (the first frame written whole)
            before = board.row(COUNTS_ROW)
            pressed = board.key("shift+right" if what == "card move" else "enter")
            end = pressed + 10
            while time.monotonic() < end:
                if (board.row(COUNTS_ROW) != before if what == "card move"
                        else any("History" in board.row(y) for y in range(board.rows))):
                    took[what].append((time.monotonic() - pressed) * 1000)
                    break
                time.sleep(0.002)
            if what == "card move":  # put the deal back (the next start shows the same board)
                board.quiet(500, max_s=5)
                board.key("shift+left")
                board.quiet(500, max_s=5)
        finally:
            board.stop()
    for what, xs in took.items():
        if xs:
            print(f"first action after start ({what}, pressed as the board appears): key to screen median "
                  f"{statistics.median(xs):.0f} ms, max {max(xs):.0f} ms, {len(xs)} runs: "
                  + ", ".join(f"{x:.0f}" for x in xs))


if __name__ == "__main__":
    main()
