"""A one-off big read on a small SQLite page cache, and the connection's spare memory given back after it.

SQLite keeps up to `cache_size` pages per connection (2 MB by default), and a pooled connection keeps them for as
long as it lives. The metrics screen's reads (the figures' sums, the flow charts' sums over the stays, the
backtest's grouped reads of the log) go through tens of megabytes of pages once each: the cache fills with pages
that no later read of that connection wants, on top of the grouped reads' own sorting memory. Those pages are in
the operating system's file cache anyway, so reading them through a small cache costs the same CPU
(docs/PERFORMANCE.md, Memory of the screens). `lean_cache(conn)` sets the connection's cache to LEAN_CACHE_KIB
for the block, sets it back after, and lets SQLite free what it no longer needs (`PRAGMA shrink_memory`). Other
engines: nothing (PostgreSQL's buffers are the server's).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

LEAN_CACHE_KIB = 256


@contextmanager
def lean_cache(conn: Any) -> Iterator[None]:
    """Run the block with a page cache of LEAN_CACHE_KIB on `conn` (an SQLAlchemy connection) when it is SQLite."""
    if conn.dialect.name != "sqlite":
        yield
        return
    before = int(conn.exec_driver_sql("PRAGMA cache_size").scalar_one())
    conn.exec_driver_sql(f"PRAGMA cache_size=-{LEAN_CACHE_KIB}")
    try:
        yield
    finally:
        conn.exec_driver_sql(f"PRAGMA cache_size={before}")
        conn.exec_driver_sql("PRAGMA shrink_memory")


__all__ = ["LEAN_CACHE_KIB", "lean_cache"]
