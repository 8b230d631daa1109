"""A one-off big read on a small SQLite page cache, and the connection's spare memory given back after it.

SQLite keeps up to `cache_size` pages per connection (2 MB by default), and a pooled connection keeps them for as
long as it lives. The metrics screen's reads (the figures' sums, the flow charts' sums over the stays, the
backtest's grouped reads of the log) go through tens of megabytes of pages once each: the cache fills with pages
that no later read of that connection wants, on top of the grouped reads' own sorting memory. Those pages are in
the operating system's file cache anyway, so reading them through a small cache costs the same CPU
(docs/PERFORMANCE.md, Memory of the screens). `lean_cache(conn)` sets the connection's cache to LEAN_CACHE_KIB
for the block, sets it back after, and lets SQLite free what it no longer needs (`PRAGMA shrink_memory`), then asks
the C allocator to give the free pages of its heaps back to the system (`malloc_trim`, glibc only): the pages such
a read freed stay resident otherwise, and a later screen's work, on another thread's heap or in Python's own
arenas, does not reuse them (about 2 MB of the peak after every screen: docs/PERFORMANCE.md, Memory of the
screens). Other engines: nothing (PostgreSQL's buffers are the server's).
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tuikanban.store.uow import Unit

LEAN_CACHE_KIB = 256
_SIZE = "PRAGMA cache_size"


@contextmanager
def lean_cache(conn: Any) -> Iterator[None]:
    """Run the block with a page cache of LEAN_CACHE_KIB on `conn` (an SQLAlchemy connection) when it is SQLite."""
    if conn.dialect.name != "sqlite":
        yield
        return
    with _lean(lambda sql: conn.exec_driver_sql(sql).scalar_one() if sql == _SIZE else conn.exec_driver_sql(sql)):
        yield


@contextmanager
def lean_unit(u: Unit) -> Iterator[None]:
    """`lean_cache` on a `store.uow.Unit` (the plain-SQL reads' connection) when it is SQLite."""
    if u.postgres:
        yield
        return
    with _lean(lambda sql: u.scalar(sql) if sql == _SIZE else u.run(sql)):
        yield


@contextmanager
def _lean(sql: Callable[[str], Any]) -> Iterator[None]:
    """The block on a small cache; `sql` runs one statement and returns the value of `_SIZE`'s row."""
    before = int(sql(_SIZE))
    sql(f"PRAGMA cache_size=-{LEAN_CACHE_KIB}")
    try:
        yield
    finally:
        sql(f"PRAGMA cache_size={before}")
        sql("PRAGMA shrink_memory")
        trim_heap()


def trim_heap() -> None:
    """glibc's `malloc_trim(0)`: the free pages of every heap given back (a few milliseconds); nothing elsewhere."""
    global _TRIM
    if _TRIM is None:
        _TRIM = False
        if sys.platform.startswith("linux"):
            import ctypes

            with contextlib.suppress(OSError, AttributeError):  # (another C library: musl has no malloc_trim)
                _TRIM = ctypes.CDLL("libc.so.6").malloc_trim
    if _TRIM:
        _TRIM(0)


_TRIM: Any = None  # (glibc's malloc_trim once found, or False)


__all__ = ["LEAN_CACHE_KIB", "lean_cache", "lean_unit", "trim_heap"]
