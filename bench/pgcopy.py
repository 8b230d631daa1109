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
