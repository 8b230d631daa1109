"""Which index each read of the event log uses: every statement that reads `event`, traced while real commands run,
with its plan on SQLite (`EXPLAIN QUERY PLAN`) and, with --pg, the index scans PostgreSQL counted meanwhile.

    python bench/event_plans.py --db /tmp/big-copy.db                  # a COPY: the commands write review marks
    python bench/event_plans.py --db /tmp/big-copy.db --without ix_event_review   # the plans on a copy without it
    python bench/event_plans.py --pg postgresql:///bench_copy          # PostgreSQL: idx_scan of each event index
    python bench/event_plans.py --src /tmp/base/src --db /tmp/big-copy.db   # the commands of another tree

The commands: `changes` (table, --json, --closing), `metrics` (table, --json, --json --backtest), `aging` (table,
--json), `deal list --json`, `today`, `digest --format json`, `deal show`, both exports, and in process the
figures of `bench/changes_bench.py --dump` (seven reviews, `states_at` at the backtest's 12 points). On SQLite
each statement is traced in the commands' own processes (a sqlite3 trace callback installed by a sitecustomize
module), statements differing only in their literals counted once, and each plan's lines that name the event
table printed. `--without NAME` explains them again on a copy of the file without that index (the copy is made
next to --db and removed). TUIKANBAN_NOW is fixed so that both runs read the same moments.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TRACER = '''import os, sqlite3, sqlite3.dbapi2 as _d
_connect = sqlite3.connect
def connect(*a, **k):
    con = _connect(*a, **k)
    out = open(os.environ["EVENT_PLANS_TRACE"], "a")
    con.set_trace_callback(lambda s: out.write(" ".join(s.split()) + "\\n") or out.flush())
    return con
sqlite3.connect = _d.connect = connect
'''
COMMANDS = [["changes", "--since", "90d", "--no-mark"], ["changes", "--since", "90d", "--json", "--no-mark"],
            ["changes", "--since", "30d", "--closing", "this-quarter", "--json", "--no-mark"],
            ["metrics"], ["metrics", "--json"], ["metrics", "--json", "--backtest"], ["aging"], ["aging", "--json"],
            ["deal", "list", "--json"], ["today"], ["digest", "--format", "json"]]


def run_commands(db: str, env: dict[str, str], scratch: Path) -> None:
    deal = "1"
    if not db.startswith("postgresql"):
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        deal = str(con.execute("SELECT min(id) FROM deal WHERE status = 'open'").fetchone()[0])
        con.close()
    extra = [["deal", "show", deal], ["export", "-o", str(scratch / "x.csv"), "--force"],
             ["export", "--format", "json", "-o", str(scratch / "x.json"), "--force"]]
    for args in [*COMMANDS, *extra]:
        done = subprocess.run([sys.executable, "-m", "tuikanban", "--db", db, *args], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if done.returncode:
            print(f"  ({' '.join(args)}: {done.stderr.strip().splitlines()[-1:]})")
    if not db.startswith("postgresql"):
        subprocess.run([sys.executable, str(ROOT / "bench" / "changes_bench.py"), "--db", db, "--dump",
                        str(scratch / "dump.json")], env=env, check=True, stdout=subprocess.DEVNULL)


def statements(trace: Path) -> list[str]:
    seen: dict[str, str] = {}
    for line in trace.read_text().splitlines():
        if re.match(r"(?i)\s*(with|select)\b", line) and re.search(r"\bevent\b", line):
            seen.setdefault(re.sub(r"'[^']*'|\b\d+(\.\d+)?\b", "?", line), line)
    return list(seen.values())


def plans(db: Path, sqls: list[str]) -> list[list[str]]:
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    out = [[r[3] for r in con.execute("EXPLAIN QUERY PLAN " + s) if "event" in r[3]] for s in sqls]
    con.close()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", type=Path, help="a copy of a benchmark board (the commands write to it)")
    ap.add_argument("--pg", help="a PostgreSQL URL of a copy (bench/pgcopy.py)")
    ap.add_argument("--src", type=Path, default=ROOT / "src", help="the tuikanban source tree that runs them")
    ap.add_argument("--without", default=None, metavar="INDEX", help="also explain without this index")
    args = ap.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="event-plans-"))
    env = {**os.environ, "PYTHONPATH": f"{args.src.resolve()}{os.pathsep}{scratch}",
           "TUIKANBAN_NOW": os.environ.get("TUIKANBAN_NOW", "2026-12-08T00:30:00")}
    try:
        if args.pg:
            import psycopg

            sys.path.insert(0, str(args.src.resolve()))
            from tuikanban.domain.targets import parse_target
            from tuikanban.store.pg import conninfo

            with psycopg.connect(conninfo(parse_target(args.pg)), autocommit=True) as con:
                con.execute("SELECT pg_stat_reset()")
                run_commands(args.pg, env, scratch)
                rows = con.execute("SELECT indexrelname, idx_scan, idx_tup_read FROM pg_stat_user_indexes "
                                   "WHERE relname = 'event' ORDER BY 1").fetchall()
            for name, scans, tuples in rows:
                print(f"{name:24} {scans:>8,} scans {tuples:>12,} entries read")
            return
        (scratch / "sitecustomize.py").write_text(TRACER)
        env["EVENT_PLANS_TRACE"] = str(scratch / "trace.sql")
        run_commands(str(args.db), env, scratch)
        sqls = statements(scratch / "trace.sql")
        with_index = plans(args.db, sqls)
        without = None
        if args.without:
            copy = args.db.with_name(args.db.name + ".without")
            shutil.copyfile(args.db, copy)
            try:
                sqlite3.connect(copy).execute(f'DROP INDEX IF EXISTS "{args.without}"')
                without = plans(copy, sqls)
            finally:
                copy.unlink()
        for i, sql in enumerate(sqls):
            print(f"{i:3} {sql[:150]}")
            for line in with_index[i]:
                print(f"      {line}")
            if without is not None and without[i] != with_index[i]:
                for line in without[i]:
                    print(f"    without {args.without}: {line}")
        users = [i for i, p in enumerate(with_index) if any(re.search(r"\bix_event_review\b", x) for x in p)]
        print(f"{len(sqls)} statements read the event table; ix_event_review in the plans of: {users or 'none'}")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
