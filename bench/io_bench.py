"""Benchmark big files: JSON export of 100,000 deals with about 1,000,000 events, and imports of 100,000 rows
(CSV, and the JSON export of those 100,000 deals with their 140,000 events and 100,000 stays), as real
`tuikanban` processes: wall time, CPU time and peak RSS, next to the floors measured in the same run
(`python -c pass`, `python -c "import typer, sqlmodel"`; for the export also `cat` of its file to /dev/null and
SQLite alone building the text it writes, bench/export_floor.py, whose figures are the reads' own without start-up).

    python bench/io_bench.py                                   # this checkout, 3 runs
    python bench/io_bench.py --src before=/tmp/base/src --src after=src --runs 5
    python bench/io_bench.py --big /data/big.db --dir /tmp/mine --only export   # a database made elsewhere
    python bench/io_bench.py --pg postgresql:///bench --src before=/tmp/base/src --src after=src   # on PostgreSQL
    python bench/io_bench.py --pg postgresql:///bench --server-cpu --compare-imports --only csv --only json \
        --src before=/tmp/base/src --src after=src --runs 5       # the imports with the server's CPU, same data
    python bench/io_bench.py --pg URL --server-cpu --only json --doc BIG.json --runs 1   # another JSON file

Each `--src NAME=PATH` is a tuikanban source tree (another checkout's src/, for before-and-after figures); the
variants and the floors run interleaved (A B A B ...), each figure is the median of --runs with its spread, and
the load average is printed before and after. Databases are built once with bench/gen.py and cached in --dir.
The exports of every variant are compared byte for byte (they must be identical but for `exported_at`, which
TUIKANBAN_NOW fixes; a source tree from before the rows were written without spaces writes other bytes of the
same content: compare those with `json.load`). Figures only: nothing here asserts a time.

With `--pg URL` (a PostgreSQL database the benchmark may create schemas in) the same work runs there: the export
reads a copy of the big board in the schema `io_bench_big` (bench/pgcopy.py, made once and kept), each import goes
into a new empty schema, dropped afterwards. The CPU figure is the tuikanban process's only; with `--server-cpu`
(the server on this host) the imports' lines add the server's: the backends of the `tuikanban` connections, read
from /proc every 0.1 s while the command runs (bench/engines_cli.py ServerCpu; a lower bound).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ENV = {**os.environ, "TUIKANBAN_USER": "bench", "COLUMNS": "160", "TUIKANBAN_NOW": "2026-12-01T12:00:00+00:00"}
ENV.pop("TUIKANBAN_DB", None)
STAGES = "Prospecting,Qualification,Discovery,Proposal,Negotiation,Contract"
TYPES = "New business,Expansion,Renewal"

Sample = tuple[float, float, float]  # wall seconds, peak RSS in MB, CPU seconds (user + system)
SERVER: dict[str, list[float]] = {}  # label -> the server's CPU seconds of each run (--server-cpu)


def on_server(label: str, server: object, cmd: list[str], src: Path) -> Sample:
    """`timed`, the server's CPU for the command kept under `label` when `server` (an engines_cli.ServerCpu)."""
    if server is None:
        return timed(cmd, src)
    with server as polled:  # type: ignore[attr-defined]
        sample = timed(cmd, src)
    SERVER.setdefault(label, []).append(polled.seconds)
    return sample


def timed(cmd: list[str], src: Path | None = None) -> Sample:
    """(wall seconds, peak RSS in MB, CPU seconds) of one process, its output thrown away; RSS and CPU come from
    wait4 (the CPU time says more than the wall time on a machine that others load)."""
    env = dict(ENV)
    if src is not None:
        env["PYTHONPATH"] = str(src)
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    assert proc.stderr is not None
    err = proc.stderr.read().decode(errors="replace")
    _pid, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.stderr.close()
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        print(f"  ! {' '.join(cmd[3:])[:120]} exited {code}: {err.strip()[:300]}", file=sys.stderr)
    return wall, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime


def tk(db: Path | str, *args: str) -> list[str]:
    return [sys.executable, "-m", "tuikanban", "--db", str(db), *args]


def load() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def show(label: str, samples: list[Sample], floor: float | None = None) -> None:
    walls = [w for w, _, _ in samples]
    rss = max(r for _, r, _ in samples)
    cpu = statistics.median(c for _, _, c in samples)
    med = statistics.median(walls)
    ratio = f"  {med / floor:5.1f}x the Typer+SQLModel import" if floor else ""
    print(f"  {label:<38} median {med * 1000:6.0f} ms (spread {min(walls) * 1000:.0f}-{max(walls) * 1000:.0f}, "
          f"n={len(walls)})  CPU {cpu * 1000:6.0f} ms  peak RSS {rss:6.1f} MB{ratio}", flush=True)
    if label in SERVER:
        got = SERVER[label]
        print(f"  {'':<38} the server's CPU median {statistics.median(got) * 1000:6.0f} ms "
              f"(spread {min(got) * 1000:.0f}-{max(got) * 1000:.0f})", flush=True)


def generated(dir_: Path, name: str, src: Path, *args: str) -> Path:
    path = dir_ / name
    if not path.exists():
        print(f"building {path} ...", file=sys.stderr, flush=True)
        subprocess.run([sys.executable, str(ROOT / "bench" / "gen.py"), *args, "--out", str(path)],
                       env={**ENV, "PYTHONPATH": str(src)}, check=True, stdout=subprocess.DEVNULL)
    return path


def csv_file(dir_: Path, rows: int) -> Path:
    """100,000 rows of every column, a fifth won and a fifth lost (hand-made, not an export)."""
    path = dir_ / f"io-bench-{rows}.csv"
    if path.exists():
        return path
    stages = STAGES.split(",")
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["title", "company", "contact", "value", "currency", "owner", "type", "stage", "status",
                    "created_at", "closed_at", "lost_reason", "expected_close", "notes"])
        for i in range(rows):
            status = ("open", "open", "open", "won", "lost")[i % 5]
            w.writerow([f"Deal {i} Platform", f"Company {i % 5000}", f"Contact {i % 9000}", f"{1000 + i % 90000}.50",
                        "", ("alice", "bob", "carol")[i % 3], TYPES.split(",")[i % 3], stages[i % 6], status,
                        f"2025-{1 + i % 12:02d}-{1 + i % 28:02d}T10:00:00+00:00",
                        "2026-06-30T12:00:00+00:00" if status != "open" else "", "Price" if status == "lost" else "",
                        "2027-01-15", "notes" if i % 7 == 0 else ""])
    return path


def fresh(target: Path | str, src: Path, *, pipeline: bool) -> None:
    if isinstance(target, str):  # a PostgreSQL schema's URL: an empty schema
        pg_schema(target, create=True)
    else:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{target}{suffix}").unlink(missing_ok=True)
    if pipeline:
        subprocess.run(tk(target, "pipeline", "create", "Bench", "--stages", STAGES, "--types", TYPES),
                       env={**ENV, "PYTHONPATH": str(src)}, check=True, stdout=subprocess.DEVNULL)


def pg_schema(url: str, *, create: bool) -> None:
    """Drop the schema of a `pgcopy.schema_url` URL, and create it again empty when `create`."""
    import psycopg

    base, _, options = url.partition("?options=-csearch_path%3D")
    with psycopg.connect(base, autocommit=True) as con:
        con.execute(f'DROP SCHEMA IF EXISTS "{options}" CASCADE')
        if create:
            con.execute(f'CREATE SCHEMA "{options}"')


def digest(path: Path) -> str:
    """The file's hash, read a MB at a time: a child inherits its parent's peak RSS on Linux, so the benchmark
    itself must stay small for the children's peaks to mean anything."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(1 << 20):
            h.update(block)
    return h.hexdigest()[:16]


def sql_alone(big: Path | str, src: Path, samples: dict[str, list[Sample]]) -> None:
    """The export's floor in SQLite: its big tables' text built and thrown away (bench/export_floor.py), the reads'
    own wall and CPU time (no start-up, no file), and the whole process's."""
    env = {**ENV, "PYTHONPATH": str(src)}
    got = subprocess.run([sys.executable, str(ROOT / "bench" / "export_floor.py"), str(big)], env=env,
                         capture_output=True, text=True, check=True).stdout.split()
    values = dict(zip(got[::2], got[1::2], strict=True))
    samples.setdefault("floor: SQLite builds the text (reads alone)", []).append(
        (float(values["wall"]), 0.0, float(values["cpu"])))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()))
    ap.add_argument("--src", action="append", default=[], metavar="NAME=PATH",
                    help="a tuikanban source tree to measure (repeat for before-and-after; default: this one)")
    ap.add_argument("--big", type=Path, metavar="DB",
                    help="a database made by bench/gen.py (100,000 deals, about 1,000,000 events) to export instead "
                         "of building one: copied into --dir first, never written")
    ap.add_argument("--pg", metavar="URL", help="run everything on PostgreSQL, in schemas of this database")
    ap.add_argument("--server-cpu", action="store_true",
                    help="with --pg on this host: count the server's backends' CPU for the imports too")
    ap.add_argument("--doc", type=Path, metavar="JSON",
                    help="a JSON export to import instead of the benchmark's own (the big board's, say)")
    ap.add_argument("--compare-imports", action="store_true",
                    help="export each import's board (JSON) and compare the files across the variants")
    ap.add_argument("--only", choices=("export", "csv", "json"), action="append", default=[],
                    help="measure only these (repeat); default: all three")
    args = ap.parse_args(argv)
    variants = {name: Path(path).resolve() for name, path in (s.split("=", 1) for s in args.src)} or {
        "this": ROOT / "src"}
    first = next(iter(variants.values()))
    only = set(args.only or ("export", "csv", "json"))
    big: Path | str = args.dir / "io-bench-100000x1m.db"  # only the export reads it: the imports need none built
    if "export" in only and args.big is not None and not Path(big).exists():
        for suffix in ("", "-wal"):  # with its log, if it has one (nothing may be writing to it meanwhile)
            if Path(f"{args.big}{suffix}").exists():
                shutil.copyfile(f"{args.big}{suffix}", args.dir / f"io-bench-100000x1m.db{suffix}")
    if "export" in only:
        big = generated(args.dir, "io-bench-100000x1m.db", first, "--deals", "100000", "--open", "10000",
                        "--events", "1000000")
    server: object = None
    if args.pg:
        sys.path.insert(0, str(ROOT / "bench"))
        if args.server_cpu:
            from engines_cli import ServerCpu

            server = ServerCpu(args.pg)
    if args.pg and "export" in only:
        from pgcopy import copy_to_pg

        big = copy_to_pg(args.pg, Path(big), "io_bench_big")
    rows_csv = csv_file(args.dir, 100_000)
    doc = args.doc or args.dir / "io-bench-100000-deals.json"
    if "json" in only and not doc.exists():  # the CSV's deals imported, then exported: a history that agrees
        source = args.dir / "io-bench-json-source.db"
        fresh(source, first, pipeline=True)
        for cmd in (tk(source, "import", str(rows_csv), "-p", "Bench"),
                    tk(source, "export", "--format", "json", "-o", str(doc), "--force")):
            subprocess.run(cmd, env={**ENV, "PYTHONPATH": str(first)}, check=True, stdout=subprocess.DEVNULL)

    print(load(), flush=True)
    samples: dict[str, list[Sample]] = {"python -c pass": [], "import typer, sqlmodel": []}
    digests: dict[str, set[str]] = {}
    imported: dict[str, set[str]] = {}  # the digests of the imported boards' exports (--compare-imports)
    for _run in range(args.runs):
        samples["python -c pass"].append(timed([sys.executable, "-c", "pass"]))
        samples["import typer, sqlmodel"].append(timed([sys.executable, "-c", "import typer, sqlmodel"]))
        if "export" in only and not args.pg:
            sql_alone(big, first, samples)
        for name, src in variants.items():
            if "export" in only:
                out = args.dir / f"io-bench-export-{name}.json"
                samples.setdefault(f"{name}: export json (1M events)", []).append(
                    timed(tk(big, "export", "--format", "json", "-o", str(out), "--force"), src))
                digests.setdefault(name, set()).add(digest(out))
                samples.setdefault("floor: cat of the export > /dev/null", []).append(timed(["cat", str(out)]))
            target: Path | str = args.dir / f"io-bench-import-{name}-{os.getpid()}.db"  # another run may be under way
            if args.pg:
                from pgcopy import schema_url

                target = schema_url(args.pg, f"io_bench_import_{os.getpid()}")
            if "csv" in only:
                fresh(target, src, pipeline=True)
                label = f"{name}: import csv (100,000 rows)"
                samples.setdefault(label, []).append(
                    on_server(label, server, tk(target, "import", str(rows_csv), "-p", "Bench"), src))
            if "json" in only:
                fresh(target, src, pipeline=False)
                label = f"{name}: import json (100,000 deals)"
                samples.setdefault(label, []).append(on_server(label, server, tk(target, "import", str(doc)), src))
                if args.compare_imports:
                    imported.setdefault(name, set()).add(exported(target, src, args.dir, name))
            if isinstance(target, str):
                pg_schema(target, create=False)
    floor = statistics.median(w for w, _, _ in samples["import typer, sqlmodel"])
    print(f"Big files ({args.runs} interleaved runs; ratios to `import typer, sqlmodel`):")
    for label, got in samples.items():
        show(label, got, None if label in ("python -c pass", "import typer, sqlmodel") or label.startswith("floor")
             else floor)
    if digests:
        same = len({d for ds in digests.values() for d in ds}) == 1
        print(f"  exports {'identical' if same else 'DIFFER'}: " + ", ".join(
            f"{name} {'/'.join(sorted(ds))}" for name, ds in digests.items()))
    if imported:
        same = len({d for ds in imported.values() for d in ds}) == 1
        print(f"  imported boards {'identical' if same else 'DIFFER'}: " + ", ".join(
            f"{name} {'/'.join(sorted(ds))}" for name, ds in imported.items()))
    print(load(), flush=True)


def exported(target: Path | str, src: Path, dir_: Path, name: str) -> str:
    """The digest of the JSON export of an imported board (its `exported_at` fixed by TUIKANBAN_NOW; the head's
    `schema_version` left out, so that trees of two schemas holding the same data compare equal)."""
    import re

    out = dir_ / f"io-bench-imported-{name}-{os.getpid()}.json"
    subprocess.run(tk(target, "export", "--format", "json", "-o", str(out), "--force"),
                   env={**ENV, "PYTHONPATH": str(src)}, check=True, stdout=subprocess.DEVNULL)
    h = hashlib.sha256()
    with out.open("rb") as fh:
        h.update(re.sub(rb'"schema_version": ?\d+', b"", fh.read(1 << 10), count=1))
        while block := fh.read(1 << 20):
            h.update(block)
    out.unlink()
    return h.hexdigest()[:16]


if __name__ == "__main__":
    main()
