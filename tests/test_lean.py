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
