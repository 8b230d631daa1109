"""The export's floor in SQLite: the big tables' text built by SQLite as the JSON export builds it
(`store.jsondump.rows`, one connection, one read transaction), thrown away instead of written; prints the wall
and CPU time of the reads alone (no start-up, no file), for bench/io_bench.py to show beside the export.

    PYTHONPATH=src python bench/export_floor.py DB
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from tuikanban.domain.money import exponent
from tuikanban.services.common import resolve_pipeline
from tuikanban.store import jsondump
from tuikanban.store.engine import open_database


def main(path: str) -> None:
    db = open_database(Path(path))
    with db.read() as s:
        p = resolve_pipeline(s, None)
        conn = s.connection()
        start, cpu = time.perf_counter(), time.process_time()
        size = 0
        for table in ("deal", "event", "stay", "activity"):
            money = (p.currency, exponent(p.currency))
            for chunk in jsondump.rows(conn, table, p.id, money=money) or ():
                size += sum(len(item) for item in chunk if isinstance(item, bytes))
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    print(f"wall {wall:.3f} cpu {cpu:.3f} bytes {size}")


if __name__ == "__main__":
    main(sys.argv[1])
