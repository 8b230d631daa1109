"""Commands on a big board, on SQLite and on PostgreSQL in turns, beside the floors, as real `tuikanban` processes.

    python bench/engines_cli.py --file /tmp/big.db --url 'postgresql:///tk?options=-csearch_path%3Dbig' --runs 7
    python bench/engines_cli.py --file F --url U --src before=/tmp/base/src --src after=src --only changes
    python bench/engines_cli.py --file F --url U --src before=B --src after=src --only export --engines postgresql \
        --server-cpu --runs 5

The board is one made by bench/gen.py and its copy in PostgreSQL (bench/pgcopy.py, or bench/board_bench.py's
schemas `bench_N`). Each round runs `python -c pass`, `python -c "import typer, sqlmodel"`, then every command on
the file and on the URL (and so for every `--src` tree), so that the machine's load falls on all of them alike.
Per figure: wall and CPU (the process's user + system, from wait4) as median (min-max), and PostgreSQL's over
SQLite's. TUIKANBAN_NOW is fixed, and each command's output must be the same on both engines (the forecast's
random trials aside: the forecast is left out of `metrics`' comparison).
The server's own CPU is counted only with `--server-cpu` (the server on this host): the backends of the command's
connections, read from /proc every 0.1 s while it runs (a lower bound: a backend's last tenth of a second before it
exits is lost). Figures only: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

COMMANDS: dict[str, list[str]] = {
    "changes": ["changes", "--since", "90d", "--json"],
    "metrics": ["metrics", "--json"],
    "aging": ["aging", "--json"],
    "deal list": ["deal", "list", "--json"],
    "stage list": ["stage", "list", "--json"],
    "export": ["export", "--format", "json", "--force", "-o", "{out}"],  # (the file's bytes are compared)
}
NOW = "2026-12-07T18:00:00+00:00"


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, float, bytes]:
    """Wall ms, CPU ms (the child's, from its rusage) and the output of one process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, check=False)
    wall = (time.perf_counter() - start) * 1000
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed: {proc.stderr.decode()[-400:]}")
    cpu = (after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) * 1000
    return wall, cpu, proc.stdout


class ServerCpu:
    """The CPU seconds of the server's backends serving `tuikanban` connections to the database of `url` while a
    command runs (`with ServerCpu(url) as cpu: ...; cpu.seconds`), polled from /proc on a thread."""

    def __init__(self, url: str) -> None:
        import psycopg

        sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
        from tuikanban.domain.targets import parse_target
        from tuikanban.store.pg import conninfo

        self._con = psycopg.connect(conninfo(parse_target(url), application_name="bench-monitor"), autocommit=True)
        self.seconds = 0.0

    def __enter__(self) -> ServerCpu:
        import threading

        self._ticks: dict[int, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()
        return self

    def _poll(self) -> None:
        while not self._stop.wait(0.1):
            pids = [r[0] for r in self._con.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                "AND application_name LIKE 'tuikanban%%'")]
            for pid in pids:
                try:
                    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                self._ticks[pid] = int(fields[11]) + int(fields[12])  # utime, stime

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.seconds = sum(self._ticks.values()) / os.sysconf("SC_CLK_TCK")

    @staticmethod
    def polling(server: ServerCpu | None) -> contextlib.AbstractContextManager[ServerCpu | None]:
        return server if server is not None else contextlib.nullcontext(None)


def spread(xs: list[float]) -> str:
    s = sorted(xs)
    return f"{statistics.median(s):,.0f} ({s[0]:,.0f}-{s[-1]:,.0f})"


def comparable(name: str, out: bytes) -> str:
    """A digest of the output, the parts that may differ between two runs left out (the forecast's trials)."""
    if name == "metrics":
        import json

        data = json.loads(out)
        data.pop("forecast", None)
        out = json.dumps(data, sort_keys=True).encode()
    return hashlib.sha256(out).hexdigest()[:12]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--file", required=True, help="the SQLite board")
    ap.add_argument("--url", required=True, help="the same board on PostgreSQL")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--only", default=",".join(c for c in COMMANDS if c != "export"),
                    help="these commands only (comma-separated: " + ", ".join(COMMANDS) + "; all but export by "
                         "default)")
    ap.add_argument("--src", action="append", default=[], metavar="NAME=PATH",
                    help="a source tree's src folder (repeatable; default: this checkout's)")
    ap.add_argument("--engines", default="sqlite,postgresql", help="these engines only (comma-separated)")
    ap.add_argument("--server-cpu", action="store_true", help="count the PostgreSQL backends' CPU too (local server)")
    a = ap.parse_args()
    engines = [(e, w) for e, w in (("sqlite", a.file), ("postgresql", a.url)) if e in a.engines.split(",")]
    server = ServerCpu(a.url) if a.server_cpu else None
    only = [c.strip() for c in a.only.split(",") if c.strip()]
    root = Path(__file__).resolve().parent.parent
    trees = [(s.split("=", 1)[0], str(Path(s.split("=", 1)[1]).resolve())) for s in a.src] or [("", str(root / "src"))]
    tuikanban = str(Path(sys.executable).with_name("tuikanban"))
    base = {**os.environ, "TUIKANBAN_NOW": NOW, "TUIKANBAN_USER": "bench", "COLUMNS": "160"}
    floors = {"python -c pass": [sys.executable, "-c", "pass"],
              "import typer, sqlmodel": [sys.executable, "-c", "import typer, sqlmodel"]}
    got: dict[str, list[tuple[float, float]]] = {}
    digests: dict[str, set[str]] = {}
    loads = [os.getloadavg()[0]]
    for _ in range(a.runs):
        for name, cmd in floors.items():
            w, c, _o = timed(cmd, base)
            got.setdefault(name, []).append((w, c))
        for cmd_name in only:
            for tname, src in trees:
                for engine, where in engines:
                    written = Path(tempfile.gettempdir()) / f"engines-cli-{os.getpid()}-{engine}.json"
                    args = [x.replace("{out}", str(written)) for x in COMMANDS[cmd_name]]
                    with ServerCpu.polling(server if engine == "postgresql" else None) as polled:
                        w, c, out = timed([tuikanban, "--db", where, *args], {**base, "PYTHONPATH": src})
                    if polled is not None:
                        got.setdefault(f"{cmd_name}|{tname}|server", []).append((polled.seconds * 1000, 0.0))
                    if "{out}" in COMMANDS[cmd_name]:
                        out = written.read_bytes()
                        written.unlink()
                    got.setdefault(f"{cmd_name}|{tname}|{engine}", []).append((w, c))
                    digests.setdefault(f"{cmd_name}|{tname}", set()).add(comparable(cmd_name, out))
        loads.append(os.getloadavg()[0])
    print(f"medians (min-max) of {a.runs} rounds, load average {min(loads):.1f}-{max(loads):.1f}")
    for name in floors:
        print(f"  {name:<34} wall {spread([w for w, _c in got[name]])} ms, CPU {spread([c for _w, c in got[name]])} ms")
    for cmd_name in only:
        for tname, _src in trees:
            same = "same output" if len(digests[f"{cmd_name}|{tname}"]) == 1 else "OUTPUTS DIFFER"
            for engine, _where in engines:
                xs = got[f"{cmd_name}|{tname}|{engine}"]
                print(f"  {cmd_name + ' ' + tname:<22} {engine:<11} wall {spread([w for w, _c in xs])} ms, "
                      f"CPU {spread([c for _w, c in xs])} ms ({same})")
            if f"{cmd_name}|{tname}|server" in got:
                print(f"  {'':<22} {'':<11} the server's backends: CPU "
                      f"{spread([w for w, _c in got[f'{cmd_name}|{tname}|server']])} ms")
            if len(engines) < 2:
                continue
            sq, pg = got[f"{cmd_name}|{tname}|sqlite"], got[f"{cmd_name}|{tname}|postgresql"]
            wr = statistics.median([w for w, _c in pg]) / statistics.median([w for w, _c in sq])
            cr = statistics.median([c for _w, c in pg]) / statistics.median([c for _w, c in sq])
            print(f"  {'':<22} PostgreSQL / SQLite: wall {wr:.2f}x, CPU {cr:.2f}x ({same})")
        if len(trees) > 1:
            alike = len({d for tname, _src in trees for d in digests[f"{cmd_name}|{tname}"]}) == 1
            print(f"  {cmd_name}: {'the same output from every tree' if alike else 'THE TREES OUTPUTS DIFFER'}")


if __name__ == "__main__":
    main()
