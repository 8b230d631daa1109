"""`store.lean.lean_cache`: a one-off big read on a small SQLite page cache, the connection's own size set back after
(also when the read fails); on PostgreSQL it changes nothing."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text

from tuikanban.store.lean import LEAN_CACHE_KIB, lean_cache

pytestmark = pytest.mark.engines  # on SQLite and on PostgreSQL


def cache_size(conn: Any) -> int:
    return int(conn.exec_driver_sql("PRAGMA cache_size").scalar_one())


def test_a_lean_read_uses_a_small_cache_and_sets_it_back(db: Any) -> None:
    with db.read() as s:
        conn = s.connection()
        if conn.dialect.name != "sqlite":
            with lean_cache(conn):
                assert conn.execute(text("SELECT count(*) FROM deal")).scalar_one() == 0
            return
        before = cache_size(conn)
        assert before != -LEAN_CACHE_KIB
        with lean_cache(conn):
            assert cache_size(conn) == -LEAN_CACHE_KIB
            assert conn.execute(text("SELECT count(*) FROM deal")).scalar_one() == 0
        assert cache_size(conn) == before
        with pytest.raises(ZeroDivisionError), lean_cache(conn):
            _ = 1 / 0
        assert cache_size(conn) == before


def test_a_lean_read_gives_the_heaps_free_pages_back_after_it(db: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """After the block (also when it fails), SQLite's spare memory and then the C allocator's free pages are given
    back (`trim_heap`: glibc's malloc_trim), once; on PostgreSQL nothing is done."""
    from tuikanban.store import lean

    calls: list[int] = []
    monkeypatch.setattr(lean, "trim_heap", lambda: calls.append(1))
    with db.read() as s:
        conn = s.connection()
        sqlite = conn.dialect.name == "sqlite"
        with lean_cache(conn):
            assert calls == []
        assert calls == ([1] if sqlite else [])
        with pytest.raises(ZeroDivisionError), lean_cache(conn):
            _ = 1 / 0
        assert len(calls) == (2 if sqlite else 0)


def test_trim_heap_uses_glibcs_malloc_trim_where_there_is_one() -> None:
    import platform
    import sys

    from tuikanban.store import lean

    lean.trim_heap()
    lean.trim_heap()  # (the function found once, then called again)
    glibc = sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"
    assert callable(lean._TRIM) == glibc


def test_the_screens_big_reads_are_lean(db: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The reads of the screens that go through a whole pipeline once (the review's two jobs, the closed deals'
    page, the aging panel's page) run on the lean cache and give the memory back after (docs/PERFORMANCE.md,
    Memory of the screens): each calls `trim_heap` once on SQLite."""
    from datetime import timedelta

    from tuikanban.domain import clock
    from tuikanban.services import closed, pipelines
    from tuikanban.services.aging import panel_page
    from tuikanban.services.changes import add_idle, compute_changes
    from tuikanban.store import lean

    p = pipelines.create_pipeline(db, "Sales", ["Lead", "Proposal"])
    calls: list[str] = []
    monkeypatch.setattr(lean, "trim_heap", lambda: calls.append("trim"))
    with db.read() as s:
        sqlite = s.connection().dialect.name == "sqlite"
    report = compute_changes(db, p.id, since=clock.now() - timedelta(days=7), with_idle=False, keep=50)
    add_idle(db, report)
    closed.closed_page(db, p.id)
    closed.closed_page(db, p.id, needle="acme")
    panel_page(db, p.id, limit=200)
    assert len(calls) == (5 if sqlite else 0)
