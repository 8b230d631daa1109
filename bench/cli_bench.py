"""Benchmark the command line: wall time and peak RSS of real `tuikanban` processes, next to the floors measured
in the same run (`python -c pass`, and `python -c "import typer, sqlmodel"`, the cost the issue compares with).

    python bench/cli_bench.py                 # small board commands, deal list at 10,000, batch, big files
    python bench/cli_bench.py --runs 3 --adds 50 --no-big
    python bench/cli_bench.py --no-big --no-batch --no-list --before /tmp/old/src --pg postgresql:///postgres

- small board (10 open deals): `deal add`, `deal move`, `deal list --json`, `aging --json` (with --before SRC,
  also from another source tree, interleaved; with --pg URL, also on PostgreSQL);
- `deal list` of 10,000 open deals, as a table (COLUMNS=160) and as JSON;
- with --first-read TARGET,...: the board's read before its first paint (what `ui.launch.run_board` does before
  the app starts: `store.fastread.first_read` and the windowed `load_board` of a 45-line terminal) in a process
  of its own, per target (a file or a postgresql:// URL), for this tree and --before's, interleaved;
- `batch` of N `deal add` lines against N separate `deal add` processes (the processes once: they take minutes);
- big files (unless --no-big): JSON export of a pipeline of 100,000 deals and about 1,000,000 events to a file,
  and a CSV import of its 100,000 deals into an empty pipeline (databases built with bench/gen.py, cached in
  --dir).

The variants run interleaved (A B C A B C ...), each figure is the median of --runs with its spread, and the
load average is printed before and after. Figures only: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ENV = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "TUIKANBAN_USER": "bench", "COLUMNS": "160"}
ENV.pop("TUIKANBAN_DB", None)


Sample = tuple[float, float, float]  # wall seconds, peak RSS in MB, CPU seconds (user + system)


def timed(cmd: list[str], *, stdin: str | None = None, env: dict[str, str] | None = None) -> Sample:
    """(wall seconds, peak RSS in MB, CPU seconds) of one process, its output thrown away; the RSS and the CPU
    time (user + system: steadier than wall time on a loaded machine) come from wait4."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env or ENV, stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    if stdin is not None:
        assert proc.stdin is not None
        proc.stdin.write(stdin.encode())
        proc.stdin.close()
    _pid, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    assert proc.stderr is not None
    err = proc.stderr.read().decode(errors="replace")
    proc.stderr.close()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        print(f"  ! {' '.join(cmd[3:])[:120]} exited {proc.returncode}: {err.strip()[:300]}", file=sys.stderr)
    return wall, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime


def tk(db: Path | str, *args: str) -> list[str]:
    return [sys.executable, "-m", "tuikanban", "--db", str(db), *args]


def show(label: str, samples: list[Sample], floor: float | None = None, sqlite: list[Sample] | None = None) -> None:
    """One line: median wall (spread), median CPU, peak RSS; the ratio to the floor, and with `sqlite` (the same
    command on SQLite) the wall and CPU ratios to it."""
    walls = [w for w, _, _ in samples]
    rss = max(r for _, r, _ in samples)
    med = statistics.median(walls)
    cpu = statistics.median(c for _, _, c in samples)
    ratio = f"  {med / floor:.2f}x the Typer+SQLModel import" if floor else ""
    if sqlite:
        ratio += (f"  {med / statistics.median(w for w, _, _ in sqlite):.2f}x SQLite wall, "
                  f"{cpu / statistics.median(c for _, _, c in sqlite):.2f}x CPU")
    print(f"  {label:<34} median {med * 1000:7.0f} ms  (spread {min(walls) * 1000:.0f}-{max(walls) * 1000:.0f} ms, "
          f"n={len(walls)})  CPU {cpu * 1000:5.0f} ms  peak RSS {rss:5.1f} MB{ratio}", flush=True)


def load() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def small_board(dir_: Path, target: str | None = None) -> Path | str:
    """A board of 10 open deals: a file in `dir_`, or the PostgreSQL `target` (its tables dropped first)."""
    db: Path | str
    if target is not None:
        import psycopg

        with psycopg.connect(target.split("?")[0], autocommit=True) as con:
            con.execute("DROP SCHEMA IF EXISTS tk_cli_bench CASCADE")
            con.execute("CREATE SCHEMA tk_cli_bench")
        db = target
    else:
        db = dir_ / "cli-small.db"
        db.unlink(missing_ok=True)
    subprocess.run(tk(db, "pipeline", "create", "Sales", "--stages", "Lead,Qualified,Proposal"), env=ENV,
                   check=True, stdout=subprocess.DEVNULL)
    for i in range(10):
        subprocess.run(tk(db, "deal", "add", f"Deal {i}", "--value", str(1000 + i)), env=ENV, check=True,
                       stdout=subprocess.DEVNULL)
    return db


def generated(dir_: Path, name: str, *args: str) -> Path:
    path = dir_ / name
    if not path.exists():
        print(f"building {path} ...", file=sys.stderr, flush=True)
        subprocess.run([sys.executable, str(ROOT / "bench" / "gen.py"), *args, "--out", str(path)], env=ENV,
                       check=True, stdout=subprocess.DEVNULL)
    return path


PG_SCHEMA_OPTION = "?options=-csearch_path%3Dtk_cli_bench"


def commands(dir_: Path, runs: int, *, before: Path | None = None, pg: str | None = None,
             big: bool = True) -> None:
    """The small-board commands, interleaved with the floors; with `before`, the same commands from another source
    tree (a checkout of the code before a change) in the same run; with `pg`, on PostgreSQL too."""
    db = small_board(dir_)
    trees: dict[str, dict[str, str] | None] = {"": None}
    if before is not None:
        trees[" (before)"] = {**ENV, "PYTHONPATH": str(before.resolve())}
    boards: dict[str, Path | str] = {"": db}
    if pg is not None:
        boards[" [pg]"] = small_board(dir_, pg + PG_SCHEMA_OPTION)
    variants: dict[str, tuple[list[str], dict[str, str] | None]] = {
        "python -c pass": ([sys.executable, "-c", "pass"], None),
        "import typer, sqlmodel": ([sys.executable, "-c", "import typer, sqlmodel"], None),
    }
    if pg is not None:  # the floors of a PostgreSQL command: psycopg's import, and connecting with it
        variants["import psycopg"] = ([sys.executable, "-c", "import psycopg"], None)
        variants["psycopg.connect + SELECT 1"] = (
            [sys.executable, "-c", f"import psycopg; psycopg.connect({pg!r}).execute('SELECT 1').fetchone()"], None)
    for deal, (tree, env) in enumerate(trees.items(), 1):
        for where, board in boards.items():
            variants[f"deal add{where}{tree}"] = (tk(board, "deal", "add", "Bench deal", "--value", "1200"), env)
            variants[f"deal move{where}{tree}"] = (tk(board, "deal", "move", str(deal)), env)  # the stage: below
            variants[f"deal list --json{where}{tree}"] = (tk(board, "deal", "list", "--json"), env)
            variants[f"aging --json{where}{tree}"] = (tk(board, "aging", "--json"), env)
    if big:
        listing = generated(dir_, "cli-list-10000.db", "--deals", "20000", "--open", "10000")
        variants["deal list (10,000, table)"] = (tk(listing, "deal", "list"), None)
        variants["deal list --json (10,000)"] = (tk(listing, "deal", "list", "--json"), None)
    samples: dict[str, list[Sample]] = {k: [] for k in variants}
    for run in range(runs):
        for label, (cmd, env) in variants.items():
            if label.startswith("deal move"):  # each tree moves its own deal back and forth between two stages
                cmd = [*cmd, "Qualified" if run % 2 == 0 else "Lead"]
            samples[label].append(timed(cmd, env=env))
    floor = statistics.median(w for w, _, _ in samples["import typer, sqlmodel"])
    print(f"Commands ({runs} interleaved runs each; the ratio is to `import typer, sqlmodel`; on PostgreSQL, also to "
          "the same command on SQLite):")
    for label, got in samples.items():
        on_sqlite = samples.get(label.replace(" [pg]", "")) if " [pg]" in label else None
        show(label, got, None if label.startswith(("python", "import", "psycopg")) else floor, on_sqlite)


FIRST_READ = """\
import sys
from tuikanban.domain.targets import parse_target
from tuikanban.store import fastread
target = parse_target(sys.argv[1])
con, pipeline = fastread.first_read(target, None, None)
assert con is not None, "not a tuikanban database of the known schema"
read = fastread.load_board(con, pipeline, window=13)
assert read.board is not None
"""


def first_reads(targets: list[str], runs: int, before: Path | None) -> None:
    """The board's read before the first paint, in a process: imports, connecting, the windowed read."""
    trees: dict[str, dict[str, str]] = {"": ENV}
    if before is not None:
        trees[" (before)"] = {**ENV, "PYTHONPATH": str(before.resolve())}
    variants = {f"{t.split('?')[0]}{tree}": ([sys.executable, "-c", FIRST_READ, t], env)
                for t in targets for tree, env in trees.items()}
    samples: dict[str, list[Sample]] = {k: [] for k in variants}
    for _ in range(runs):
        for label, (cmd, env) in variants.items():
            samples[label].append(timed(cmd, env=env))
    print(f"The board's read before its first paint ({runs} interleaved runs each):")
    for label, got in samples.items():
        show(label[-40:], got)


def batch(dir_: Path, adds: int) -> None:
    db = small_board(dir_)
    lines = "".join(f"deal add 'Batch deal {i}' --value {i}\n" for i in range(adds))
    in_batch = [timed(tk(db, "batch", "-"), stdin=lines) for _ in range(3)]
    separate = time.perf_counter()
    for i in range(adds):
        timed(tk(db, "deal", "add", f"Process deal {i}", "--value", str(i)))
    separate = time.perf_counter() - separate
    print(f"Batch of {adds} `deal add` lines against {adds} processes:")
    show(f"batch ({adds} lines)", in_batch)
    print(f"  {adds} separate processes{'':<17} total  {separate * 1000:7.0f} ms  "
          f"({statistics.median(w for w, _, _ in in_batch) / separate:.3f} of it for the batch)", flush=True)


def big_files(dir_: Path, runs: int) -> None:
    big = generated(dir_, "cli-big-100000.db", "--deals", "100000", "--open", "10000", "--events", "1000000")
    out = dir_ / "cli-big-export.json"
    csv = dir_ / "cli-big-export.csv"
    subprocess.run(tk(big, "export", "--format", "csv", "-o", str(csv), "--force"), env=ENV, check=True,
                   stdout=subprocess.DEVNULL)
    exports, imports = [], []
    for _ in range(runs):
        exports.append(timed(tk(big, "export", "--format", "json", "-o", str(out), "--force")))
        target = dir_ / "cli-import.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{target}{suffix}").unlink(missing_ok=True)
        subprocess.run(tk(target, "pipeline", "create", "Bench", "--stages",
                          "Prospecting,Qualification,Discovery,Proposal,Negotiation,Contract",
                          "--types", "New business,Expansion,Renewal"), env=ENV, check=True, stdout=subprocess.DEVNULL)
        imports.append(timed(tk(target, "import", str(csv), "-p", "Bench")))
    size = out.stat().st_size / 1e6
    print(f"Big files (100,000 deals, {size:.0f} MB of JSON):")
    show("export --format json -o FILE", exports)
    show("import FILE.csv (100,000 rows)", imports)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--adds", type=int, default=300, help="deal add lines in the batch comparison")
    ap.add_argument("--no-big", action="store_true", help="skip the 100,000-deal export and import")
    ap.add_argument("--no-batch", action="store_true", help="skip the batch comparison")
    ap.add_argument("--no-list", action="store_true", help="skip the 10,000-deal listings")
    ap.add_argument("--before", type=Path, help="another source tree (src/ of the code before a change) whose "
                    "small-board commands run interleaved with this one's")
    ap.add_argument("--pg", help="a postgresql:// URL: the small-board commands on PostgreSQL too (in a schema "
                    "tk_cli_bench, dropped and created)")
    ap.add_argument("--first-read", default="", metavar="TARGET,...", help="time the board's first read on these "
                    "databases (files or postgresql:// URLs) instead of the commands")
    ap.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()))
    ap.add_argument("--src", type=Path, default=ROOT / "src", help="the tuikanban source tree to measure "
                    "(another checkout's src/, for before-and-after figures)")
    args = ap.parse_args(argv)
    ENV["PYTHONPATH"] = str(args.src.resolve())
    print(load(), flush=True)
    if args.first_read:
        first_reads(args.first_read.split(","), args.runs, args.before)
        print(load(), flush=True)
        return
    commands(args.dir, args.runs, before=args.before, pg=args.pg, big=not args.no_list)
    if not args.no_batch:
        batch(args.dir, args.adds)
    if not args.no_big:
        big_files(args.dir, max(1, min(args.runs, 3)))
    print(load(), flush=True)


if __name__ == "__main__":
    main()
