"""A benchmark database copied into a PostgreSQL schema of its own, fast (COPY), for the benchmarks' `--pg URL`.

`tuikanban copy --to` is the product's way (one transaction through the ORM); for a million events a benchmark
wants the copy in seconds, so this streams each table with COPY, with the NOTIFY triggers off for the copy
(session_replication_role = replica: the server's superuser or the schema's owner with that right), then moves
the id sequences past the copied ids. The copy is kept and reused while the row counts match.
"""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def schema_url(url: str, schema: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"


def copy_to_pg(url: str, source: Path, schema: str) -> str:
    """The URL of `schema` in the database `url`, holding a copy of the SQLite board `source`."""
    import psycopg

    sys.path.insert(0, str(ROOT / "src"))
    from sqlmodel import SQLModel

    from tuikanban.domain.targets import parse_target
    from tuikanban.store import pgddl
    from tuikanban.store.engine import open_database
    from tuikanban.store.pg import conninfo

    target_url = schema_url(url, schema)
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    counts = {t: src.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in ("deal", "event", "stay")}
    with psycopg.connect(conninfo(parse_target(url)), autocommit=True) as con:
        have = con.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = %s AND "
                           "table_name = 'deal'", (schema,)).fetchone()
        if have and have[0]:
            now = {t: con.execute(f'SELECT count(*) FROM "{schema}"."{t}"').fetchone()[0] for t in counts}  # type: ignore[index]
            if now == counts:
                src.close()
                return target_url
        con.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        con.execute(f'CREATE SCHEMA "{schema}"')
    open_database(target_url).close()  # the tables, indexes, identities and triggers of this tuikanban
    print(f"copying {source.name} to the schema {schema}...", file=sys.stderr, flush=True)
    with psycopg.connect(conninfo(parse_target(target_url))) as con:
        con.execute("SET session_replication_role = replica")
        tables = SQLModel.metadata.sorted_tables
        for table in reversed(tables):
            con.execute(f'DELETE FROM "{table.name}"')
        for table in tables:
            cols = [c.name for c in table.columns]
            names = ", ".join(f'"{c}"' for c in cols)
            with con.cursor().copy(f'COPY "{table.name}" ({names}) FROM STDIN') as cp:
                for row in src.execute(f'SELECT {names} FROM "{table.name}"'):
                    cp.write_row(row)
        con.execute("SET session_replication_role = origin")

        class _Conn:  # pgddl.sync_identities takes an SQLAlchemy connection; it runs one statement
            @staticmethod
            def exec_driver_sql(sql: str) -> object:
                cursor = con.execute(sql)
                return type("Result", (), {"all": staticmethod(cursor.fetchall)})()

        pgddl.sync_identities(_Conn())
        con.execute("ANALYZE")
    src.close()
    return target_url


class ServerCpu:
    """CPU seconds (user + system) spent by the server's backends serving one database, read from /proc: the server
    must run on this host. With it a PostgreSQL figure counts the work done on both sides of the socket, as a
    SQLite figure (all in this process) does. Parallel workers are not counted (they exit before they can be read);
    the figure is then a lower bound. `seconds()` is None when the backends cannot be read."""

    def __init__(self, url: str) -> None:
        import psycopg

        sys.path.insert(0, str(ROOT / "src"))
        from tuikanban.domain.targets import parse_target
        from tuikanban.store.pg import conninfo

        self.con = psycopg.connect(conninfo(parse_target(url), application_name="bench-monitor"), autocommit=True)

    def seconds(self) -> float | None:
        import os

        pids = [r[0] for r in self.con.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                                               "AND pid <> pg_backend_pid()")]
        ticks = 0
        for pid in pids:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                return None
            ticks += int(fields[11]) + int(fields[12])  # utime, stime (the 14th and 15th fields)
        return ticks / os.sysconf("SC_CLK_TCK")

    def close(self) -> None:
        self.con.close()


class Interleaved:
    """Times the same work on several engines in turns (A B A B ...), so that a change in the machine's load in the
    middle of a run falls on all of them alike. Per engine: wall, this process's CPU, and on PostgreSQL the server's
    CPU for the database (ServerCpu), each a list of one figure per run."""

    def __init__(self, servers: dict[str, ServerCpu | None]) -> None:
        self.servers = servers

    def run(self, work: dict[str, object], runs: int) -> dict[str, dict[str, list[float]]]:
        import time

        out: dict[str, dict[str, list[float]]] = {e: {"wall": [], "cpu": [], "server": []} for e in work}
        for _ in range(runs):
            for engine, fn in work.items():
                server = self.servers.get(engine)
                s0 = server.seconds() if server else None
                w0, c0 = time.perf_counter(), time.process_time()
                fn()  # type: ignore[operator]
                wall, cpu = time.perf_counter() - w0, time.process_time() - c0
                s1 = server.seconds() if server else None
                out[engine]["wall"].append(wall)
                out[engine]["cpu"].append(cpu)
                if s0 is not None and s1 is not None:
                    out[engine]["server"].append(s1 - s0)
        return out


def describe(figures: dict[str, list[float]]) -> str:
    """'median W ms wall (best B, worst X), C ms CPU here [+ S ms on the server = T ms]' of one engine's runs."""
    from statistics import median

    walls, cpus, server = figures["wall"], figures["cpu"], figures["server"]
    text = (f"median {median(walls) * 1000:6.0f} ms wall (best {min(walls) * 1000:.0f}, worst {max(walls) * 1000:.0f})"
            f", {median(cpus) * 1000:5.0f} ms CPU here")
    if server:
        totals = [c + s for c, s in zip(cpus, server, strict=True)]
        text += f" + {median(server) * 1000:.0f} ms on the server = {median(totals) * 1000:.0f} ms CPU"
    return text


def load_average() -> str:
    import os

    one, five, fifteen = os.getloadavg()
    return f"load average {one:.1f} / {five:.1f} / {fifteen:.1f} on {os.cpu_count()} cores"
