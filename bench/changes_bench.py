"""How long `changes --since 90d` takes on 100,000 deals and 1,000,000 events (goal: under 500 ms).

    python bench/changes_bench.py                      # generates /tmp/metrics_bench.db once, then times it
    python bench/changes_bench.py --db /tmp/big.db     # an existing database (from bench/gen.py)
    python bench/changes_bench.py --dump before.json   # also write every figure, to compare two versions

    python bench/changes_bench.py --mixed 400 --db /tmp/mixed.db --dump mixed.json   # a history of every kind
    python bench/changes_bench.py --cli --db /tmp/big9.db --base-src /tmp/base/src --base-db /tmp/big8.db
                                                       # the command, this tree and an older one alternated
    python bench/changes_bench.py --output --db /tmp/big.db   # `--json`'s document: dictionaries / by column
    python bench/changes_bench.py --split --db /tmp/big.db    # where the command's time goes: each statement,
                                                              # the report's Python, the two outputs
    python bench/changes_bench.py --instructions --db /tmp/big9.db --base-src /tmp/base/src --base-db /tmp/big8.db
                                                       # the command's instructions under callgrind (no load)

--mixed N builds (once) a smaller history through the services themselves with every kind of change the review
rewinds (moves both ways, wins, losses, reopens, value, close-date, owner and currency edits, undo, delete and
restore) for N deals, with TUIKANBAN_NOW stepping through half a year.
With --dump, the figures of several reviews (periods, an owner, closing periods, a period in the past), the
deals' states at the backtest's 12 points (a digest) and `metrics --json --backtest` are written as JSON: run it
before and after a change (with TUIKANBAN_NOW fixed) and compare the files; a speed-up must not change a figure.

Prints the median and worst of several runs of `compute_changes` (the bridge, moved, pushed, new, idle and
closing-soon lists), with and without an owner filter and a closing period; then the metrics as they were before
the open-deal forecast (goal for `metrics --json`: within 1.5x of it), `metrics --json` as it is now (the
forecast without its backtest), and the 12-point backtest of `metrics --json --backtest` (goal: under 2 s).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))


def floor(runs: int = 5) -> str:
    """The machine's pace now: `python -c "import typer, sqlmodel"` in a child, median wall and CPU."""
    import resource
    import subprocess

    walls, cpus = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        w0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import typer, sqlmodel"], check=True)
        walls.append(time.perf_counter() - w0)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    return (f"floor (python -c 'import typer, sqlmodel'): median {statistics.median(walls) * 1000:.0f} ms wall, "
            f"{statistics.median(cpus) * 1000:.0f} ms CPU; load average {os.getloadavg()[0]:.1f}")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", type=Path, default=Path("/tmp/metrics_bench.db"))
    ap.add_argument("--deals", type=int, default=100_000)
    ap.add_argument("--open", type=int, default=10_000)
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--days", type=int, default=90)
    ap.add_argument("--mixed", type=int, default=0, help="build a history of N deals of every kind of change")
    ap.add_argument("--dump", type=Path, default=None, help="write every figure to this JSON file and stop")
    ap.add_argument("--cli", action="store_true",
                    help="time the command itself (`changes --since Nd`, table and --json) in child processes, "
                         "start-up included, and stop")
    ap.add_argument("--base-src", type=Path, default=None,
                    help="with --cli: also time another version (its src directory, e.g. an export of an older "
                         "commit) on --base-db, the two alternated run by run (A B A B)")
    ap.add_argument("--base-db", type=Path, default=None, help="the database for --base-src (its own schema)")
    ap.add_argument("--json-only", action="store_true", help="with --cli: only `--json`")
    ap.add_argument("--output", action="store_true",
                    help="time the writing of `changes --json`'s document in process, the lists of deals as "
                         "dictionaries (changes_json, document_text) and by column (changes_text) alternated, "
                         "and stop")
    ap.add_argument("--split", action="store_true",
                    help="time, in process on one connection, each SQL statement of the review replayed alone, "
                         "the whole report, `--json`'s document and the tables' text, alternated, and stop")
    ap.add_argument("--instructions", action="store_true",
                    help="with the versions of --cli: count the instructions of the command (table and --json) "
                         "and of the floors under valgrind's callgrind, every thread, and stop")
    args = ap.parse_args(argv)

    if not args.db.exists() and args.mixed:
        print(f"building {args.db} ({args.mixed:,} deals through the services)...", file=sys.stderr)
        mixed_history(args.db, args.mixed)
    if not args.db.exists():
        import gen  # bench/gen.py

        print(f"generating {args.db} ({args.deals:,} deals, {args.events:,} events)...", file=sys.stderr)
        gen.generate(args.db, deals=args.deals, open_deals=args.open, events=args.events)

    from tuikanban.domain import clock
    from tuikanban.domain.periods import parse_period
    from tuikanban.services.changes import compute_changes
    from tuikanban.store.engine import open_database

    if args.cli or args.instructions:
        versions = [("this tree", None, args.db)]
        if args.base_src is not None:
            versions.insert(0, ("base", args.base_src, args.base_db or args.db))
        if args.instructions:
            print(cli_instructions(versions, args.days, json_only=args.json_only))
        else:
            print(cli_times(versions, args.days, args.runs, json_only=args.json_only))
        return
    if args.output:
        print(output_times(args.db, args.days, args.runs))
        return
    if args.split:
        print(split_times(args.db, args.days, args.runs))
        return
    db = open_database(args.db)
    if args.dump is not None:
        args.dump.write_text(json.dumps(figures(db), indent=1, sort_keys=True, default=str))
        db.close()
        return
    since = clock.now() - timedelta(days=args.days)
    compute_changes(db, None, since=since)  # warm the page and statement caches

    def timed(fn: Any) -> tuple[tuple[list[float], list[float]], Any]:
        walls, cpus, result = [], [], None
        for _ in range(args.runs):
            w0, c0 = time.perf_counter(), time.process_time()
            result = fn()
            walls.append(time.perf_counter() - w0)
            cpus.append(time.process_time() - c0)
        return (walls, cpus), result

    def ms(times: tuple[list[float], list[float]]) -> str:
        walls, cpus = times
        return (f"median {statistics.median(walls) * 1000:.0f} ms wall (worst {max(walls) * 1000:.0f}), "
                f"{statistics.median(cpus) * 1000:.0f} ms CPU")

    print(floor(), flush=True)
    walls, report = timed(lambda: compute_changes(db, None, since=since))
    o_walls, _ = timed(lambda: compute_changes(db, None, since=since, owner="alice"))
    period = parse_period("this-quarter", today=clock.now().date())
    c_walls, _ = timed(lambda: compute_changes(db, None, since=since, closing=period))
    from tuikanban.services.forecast_open import open_forecast
    from tuikanban.services.metrics import compute_metrics, metrics_json

    def metrics_doc(backtest: bool | None) -> dict[str, Any]:
        """What `metrics --json` computes; None: the metrics alone, as before the open-deal forecast."""
        report = compute_metrics(db, None, window_days=90, seed=1)
        doc = metrics_json(report)
        if backtest is not None:
            doc.update(open_forecast(db, report.pipeline.id, seed=1, now=report.now, backtest=backtest))
        return doc

    m_walls, _ = timed(lambda: metrics_doc(None))
    j_walls, _ = timed(lambda: metrics_doc(False))
    runs = args.runs
    args.runs = max(3, runs // 2)
    b_walls, _ = timed(lambda: metrics_doc(True))
    db.close()
    print(floor())
    touched = sum(len(b.deals) for b in report.bridge.values())
    print(f"database {args.db}; since {args.days} days; load average {os.getloadavg()[0]:.1f} on "
          f"{os.cpu_count()} cores")
    print(f"  bridge entries {touched:,}, moved {len(report.moved):,}, idle {len(report.idle):,}, "
          f"closing soon {len(report.closing_soon):,}")
    print(f"changes --since {args.days}d:              {ms(walls)} over {runs} runs")
    print(f"  with --owner alice:             {ms(o_walls)}")
    print(f"  with --closing this-quarter:    {ms(c_walls)}")
    print(f"metrics, without the forecast:    {ms(m_walls)}")
    print(f"metrics --json:                   {ms(j_walls)}")
    print(f"metrics --json --backtest:        {ms(b_walls)} over {args.runs} runs")


def cli_times(versions: list[tuple[str, Path | None, Path]], days: int, runs: int, *, json_only: bool = False
              ) -> str:
    """`tuikanban changes --since Nd --no-mark` as a user runs it (its own process, start-up included, the output
    to /dev/null), table and --json taken in turn, for each version (label, its src directory or None for this
    tree, its database) alternated run by run: median wall and CPU (user + system) of each, and the floors
    (`python -c pass`, the command line's start and `import typer, sqlmodel`, in the same rounds)."""
    import resource
    import subprocess

    kinds = (("--json", ["--json"]),) if json_only else (("table", []), ("--json", ["--json"]))
    times: dict[tuple[str, str], tuple[list[float], list[float]]] = {
        (label, kind): ([], []) for label, _src, _db in versions for kind, _extra in kinds}
    loads: list[float] = []
    # the floors, in the same rounds: the interpreter alone, and the command line's own start (the fast path's
    # imports, what every fast command pays before its work), with this tree
    floors = {"python -c pass": [sys.executable, "-c", "pass"],
              "CLI start (import tuikanban.cli.fast)": [sys.executable, "-c", "import tuikanban.cli.fast"],
              "import typer, sqlmodel": [sys.executable, "-c", "import typer, sqlmodel"]}
    for name in floors:
        times["floor", name] = ([], [])
    for _ in range(runs):
        for name, command in floors.items():
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            w0 = time.perf_counter()
            subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
            times["floor", name][0].append(time.perf_counter() - w0)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            times["floor", name][1].append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
        for label, src, path in versions:
            env = dict(os.environ)
            if src is not None:
                env["PYTHONPATH"] = str(src)
            command = _command(path, days)
            for kind, extra in kinds:
                before = resource.getrusage(resource.RUSAGE_CHILDREN)
                w0 = time.perf_counter()
                subprocess.run(command + extra, check=True, stdout=subprocess.DEVNULL, env=env)
                times[label, kind][0].append(time.perf_counter() - w0)
                after = resource.getrusage(resource.RUSAGE_CHILDREN)
                times[label, kind][1].append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
                loads.append(os.getloadavg()[0])
    lines = []
    for (label, kind), (walls, cpus) in times.items():
        what = kind if label == "floor" else f"changes --since {days}d ({kind})"
        lines.append(f"{label}: {what}: median {statistics.median(walls) * 1000:.0f} ms "
                     f"wall ({min(walls) * 1000:.0f}-{max(walls) * 1000:.0f}), "
                     f"{statistics.median(cpus) * 1000:.0f} ms CPU "
                     f"({min(cpus) * 1000:.0f}-{max(cpus) * 1000:.0f}) over {runs} runs")
    lines.append(f"load average {min(loads):.1f}-{max(loads):.1f} on {os.cpu_count()} cores")
    # this tree reads beside the command's start and on a second connection only with a core free (store.twin):
    # at a higher load both versions read in turn, and the figures compare the rest
    free = sum(load <= (os.cpu_count() or 1) - 1 for load in loads)
    lines.append(f"a core free (this tree's reads beside each other) at {free} of {len(loads)} runs")
    return "\n".join(lines)


def _command(path: Path, days: int) -> list[str]:
    """`tuikanban changes --since Nd --no-mark` on `path`, as this interpreter runs it."""
    return [sys.executable, "-m", "tuikanban", "--db", str(path), "changes", "--since", f"{days}d", "--no-mark"]


def cli_instructions(versions: list[tuple[str, Path | None, Path]], days: int, *, json_only: bool = False) -> str:
    """The instructions (callgrind's Ir, every thread) of `changes --since Nd --no-mark` for each version (table
    and --json), and of the floors (`python -c pass`, `import typer, sqlmodel`), one run each: a count repeats
    within a fraction of a percent from run to run whatever the machine's load, where wall and CPU times on a
    shared machine move by a third. Whether the report read on a second connection (the load average with a
    core free, `store.twin`) changes the count: the load average is printed."""
    import re
    import subprocess

    def count(command: list[str], env: dict[str, str]) -> int:
        done = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", *command],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, check=True)
        found = re.search(r"Collected\s*:\s*(\d+)", done.stderr)
        if found is None:
            raise SystemExit(f"no instruction count from valgrind: {done.stderr[-300:]}")
        return int(found.group(1))

    kinds = (("--json", ["--json"]),) if json_only else (("table", []), ("--json", ["--json"]))
    floors = {"python -c pass": [sys.executable, "-c", "pass"],
              "import typer, sqlmodel": [sys.executable, "-c", "import typer, sqlmodel"]}
    counts = {name: count(command, dict(os.environ)) for name, command in floors.items()}
    floor_count = counts["import typer, sqlmodel"]
    lines = [f"floor: {name}: {n / 1e6:,.0f} M instructions" for name, n in counts.items()]
    for label, src, path in versions:
        env = dict(os.environ)
        if src is not None:
            env["PYTHONPATH"] = str(src)
        for kind, extra in kinds:
            n = count(_command(path, days) + extra, env)
            lines.append(f"{label}: changes --since {days}d ({kind}): {n / 1e6:,.0f} M instructions, "
                         f"{n / floor_count:.2f}x import typer, sqlmodel")
    lines.append(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    return "\n".join(lines)


def _in_turn(ways: dict[str, Any], runs: int, clock: Any) -> tuple[dict[str, list[float]], dict[str, Any]]:
    """Each of `ways` called in turn, `runs` rounds, the garbage collector paused (as the command runs): the
    times by `clock` of each, and what each returned last."""
    from tuikanban.services.review_core import collector_paused

    times: dict[str, list[float]] = {name: [] for name in ways}
    last: dict[str, Any] = {}
    with collector_paused():
        for _ in range(runs):
            for name, way in ways.items():
                t0 = clock()
                last[name] = way()
                times[name].append(clock() - t0)
    return times, last


def output_times(path: Path, days: int, runs: int) -> str:
    """`changes --since Nd --json`'s document built from one report, in process (the garbage collector paused, as
    the command runs it): the lists as dictionaries then one encoder call per list (`document_text(changes_json)`)
    and written by column (`changes_text`), alternated run by run; CPU medians and ranges, and whether the two
    texts are the same."""
    from tuikanban.cli import review_early
    from tuikanban.cli.review_report import changes_text, document_text
    from tuikanban.cli.target import read_plain
    from tuikanban.services.review_core import changes_json

    report = read_plain(path, lambda u: review_early.report_in(u, "bench", None, f"{days}d", None, None, None, 14))
    ways = {"dictionaries": lambda: document_text(changes_json(report)), "by column": lambda: changes_text(report)}
    cpus, texts = _in_turn(ways, runs, time.process_time)
    lines = [f"{name}: median {statistics.median(c) * 1000:.0f} ms CPU ({min(c) * 1000:.0f}-{max(c) * 1000:.0f}) "
             f"over {runs} runs" for name, c in cpus.items()]
    lines.append(f"the same text: {len(set(texts.values())) == 1} ({len(texts['by column']):,} characters); "
                 f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    return "\n".join(lines)


def split_times(path: Path, days: int, runs: int) -> str:
    """Where `changes --since Nd` spends its time after its imports, in process, on one connection (no second
    one: the figures of a machine with no core free): each statement the review runs, replayed alone on a fresh
    snapshot (rows fetched), the whole report (`report_in`, its SQL and its Python), `--json`'s document and the
    tables' text from one report; taken in turn run by run, medians and ranges of wall time (one thread, so
    close to its CPU time on a machine with a core free). The report's Python is the report less its SQL."""
    import io

    from rich.console import Console

    from tuikanban.cli import review_early
    from tuikanban.cli.common import print_block
    from tuikanban.cli.review_report import changes_text, render_changes
    from tuikanban.domain.text import json_safe
    from tuikanban.services.review_core import collector_paused
    from tuikanban.store import fastread
    from tuikanban.store.twin import mapped
    from tuikanban.store.uow import Unit

    statements: list[tuple[str, tuple[Any, ...]]] = []

    class Recording(Unit):
        def execute(self, sql: str, params: Any = (), *, binary: bool = False) -> Any:
            statements.append((sql, tuple(params)))
            return super().execute(sql, params, binary=binary)

    def connection() -> Any:
        con = mapped(fastread.connect(path))  # (as the command's read: the file mapped, store.twin)
        if con is None:
            raise SystemExit(f"{path}: not a tuikanban database of the current schema")
        return con

    def report(unit_type: type[Unit] = Unit) -> Any:
        con = connection()
        try:
            with fastread.snapshot(con), collector_paused():
                return review_early.report_in(unit_type(con, postgres=False), "bench", None, f"{days}d", None,
                                              None, None, 14)
        finally:
            con.close()

    one = report(Recording)

    def replay(sql: str, params: tuple[Any, ...]) -> Any:
        con = connection()
        try:
            with fastread.snapshot(con):
                return len(con.execute(sql, params).fetchall())
        finally:
            con.close()

    def tables() -> str:
        out = Console(file=io.StringIO(), width=160, color_system=None, force_terminal=False)
        for i, part in enumerate(render_changes(one)):
            if i:
                out.print()
            print_block(out, part)
        return str(out.file.getvalue())  # type: ignore[attr-defined]

    steps: dict[str, Any] = {f"sql {i + 1}": (lambda q=q: replay(*q)) for i, q in enumerate(statements)}
    steps["the report (SQL and Python)"] = report
    steps["--json's document"] = lambda: json_safe(changes_text(one))
    steps["the tables' text"] = tables
    walls, results = _in_turn(steps, runs, time.perf_counter)
    sizes = {name: result if isinstance(result, int) else None for name, result in results.items()}

    def median(name: str) -> float:
        return statistics.median(walls[name]) * 1000

    lines = []
    for i, (sql, _params) in enumerate(statements):
        name = f"sql {i + 1}"
        text = " ".join(sql.split())
        lines.append(f"{name}: median {median(name):.1f} ms ({min(walls[name]) * 1000:.1f}-"
                     f"{max(walls[name]) * 1000:.1f}), {sizes[name]:,} rows: {text[:110]}")
    sql_total = sum(median(f"sql {i + 1}") for i in range(len(statements)))
    for name in list(steps)[len(statements):]:
        lines.append(f"{name}: median {median(name):.0f} ms ({min(walls[name]) * 1000:.0f}-"
                     f"{max(walls[name]) * 1000:.0f})")
    lines.append(f"the statements together {sql_total:.0f} ms; the report's Python about "
                 f"{median('the report (SQL and Python)') - sql_total:.0f} ms; over {runs} runs; load average "
                 f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    return "\n".join(lines)


def mixed_history(path: Path, deals: int, seed: int = 11) -> None:
    """Every kind of change the review rewinds, at random, through the services, the clock stepping forward."""
    import random
    from datetime import UTC

    from tuikanban.domain import clock
    from tuikanban.domain.errors import TuikanbanError
    from tuikanban.services import deals as svc
    from tuikanban.services.lifecycle import delete_deal, restore_deal
    from tuikanban.services.pipelines import create_pipeline, set_stage
    from tuikanban.services.undo import undo_last
    from tuikanban.store.engine import open_database

    rng = random.Random(seed)
    fixed = os.environ.get(clock.ENV_NOW)
    end = clock.now()
    t = end - timedelta(days=200)
    db = open_database(path)
    stages = ["Lead", "Qualified", "Proposal", "Negotiation", "Contract"]
    p = create_pipeline(db, "Mixed", stages)
    for name, prob in zip(stages, (10, 25, 50, 70, 90), strict=True):
        set_stage(db, p.id, name, probability=prob)
    users = ("alice", "bob", "carol")
    ids: list[int] = []
    try:
        while t < end - timedelta(hours=1):
            t += timedelta(minutes=rng.randint(5, 200 * 24 * 60 * 2 // (deals * 10)))
            os.environ[clock.ENV_NOW] = t.astimezone(UTC).isoformat()
            user = rng.choice(users)
            roll = rng.random()
            try:
                if not ids or (roll < 0.12 and len(ids) < deals):
                    close = (t + timedelta(days=rng.randint(-10, 120))).date()
                    d = svc.create_deal(db, None, f"Deal {len(ids) + 1}", user=user, value=rng.randrange(1, 500) * 100,
                                        currency="EUR" if rng.random() < 0.05 else None, owner=rng.choice(users),
                                        close=close if rng.random() < 0.9 else None,
                                        stage=rng.choice(stages[:3]))
                    ids.append(d.id)
                    continue
                deal_id = rng.choice(ids)
                if roll < 0.35:
                    svc.move_deal(db, deal_id, rng.choice(stages), user=user)
                elif roll < 0.45:
                    svc.win_deal(db, deal_id, user=user)
                elif roll < 0.52:
                    svc.lose_deal(db, deal_id, "Price", user=user)
                elif roll < 0.58:
                    svc.reopen_deal(db, deal_id, rng.choice(stages), user=user)
                elif roll < 0.70:
                    svc.edit_deal(db, deal_id, {"value": rng.randrange(0, 600) * 100}, user=user)
                elif roll < 0.82:
                    new_close = t.date() + timedelta(days=rng.randint(-20, 150))
                    svc.edit_deal(db, deal_id, {"close": new_close if rng.random() < 0.95 else ""}, user=user)
                elif roll < 0.86:
                    svc.edit_deal(db, deal_id, {"owner": rng.choice(users)}, user=user)
                elif roll < 0.87:
                    svc.edit_deal(db, deal_id, {"currency": rng.choice(("USD", "EUR"))}, user=user)
                elif roll < 0.94:
                    undo_last(db, None, user=user)
                elif roll < 0.97:
                    delete_deal(db, deal_id, user=user)
                else:
                    restore_deal(db, deal_id, user=user)
            except TuikanbanError:
                pass
    finally:
        if fixed is None:
            os.environ.pop(clock.ENV_NOW, None)
        else:
            os.environ[clock.ENV_NOW] = fixed
        db.close()


def figures(db: Any) -> dict[str, Any]:
    """Every figure the speed-ups must keep: reviews, states at the backtest's points, the metrics' forecast."""
    from tuikanban.domain import clock
    from tuikanban.domain.periods import parse_period
    from tuikanban.services.changes import changes_json, compute_changes, states_at
    from tuikanban.services.forecast_open import BACKTEST_POINTS, BACKTEST_STEP_DAYS, open_forecast
    from tuikanban.services.metrics import compute_metrics, metrics_json

    now = clock.now()
    today = now.date()
    day = timedelta(days=1)
    asks: dict[str, dict[str, Any]] = {
        "90d": {"since": now - 90 * day},
        "7d": {"since": now - 7 * day},
        "past": {"since": now - 60 * day, "until": now - 20 * day},
        "owner": {"since": now - 90 * day, "owner": "alice"},
        "quarter": {"since": now - 90 * day, "closing": parse_period("this-quarter", today=today)},
        "month-past": {"since": now - 45 * day, "until": now - 3 * day,
                       "closing": parse_period(f"{today:%Y-%m}", today=today)},
        "idle30": {"since": now - 30 * day, "idle_days": 30},
    }
    out: dict[str, Any] = {k: changes_json(compute_changes(db, None, **kw)) for k, kw in asks.items()}
    points = [now - timedelta(days=BACKTEST_STEP_DAYS * k) for k in range(BACKTEST_POINTS, 0, -1)]
    with db.read() as s:
        from tuikanban.services.common import resolve_pipeline

        p = resolve_pipeline(s, None)
        states = states_at(s.connection(), p.id, points, p.currency)
    digest = hashlib.sha256()
    for deal_id in sorted(states):
        digest.update(repr((deal_id, [(x.status, x.value, x.close, x.owner, x.stage_id)
                                      for x in states[deal_id]])).encode())
    out["states_at"] = {"deals": len(states), "sha256": digest.hexdigest()}
    report = compute_metrics(db, None, window_days=90, seed=1)
    doc = metrics_json(report)
    doc.update(open_forecast(db, report.pipeline.id, seed=1, now=report.now, backtest=True))
    out["metrics"] = doc
    return out


if __name__ == "__main__":
    main()
