"""The board's first read (store.fastread.load_board) runs no subquery once per row, on either engine: the pipeline's
currency in the cells' sums is read once (PostgreSQL ran a subquery naming `deal.pipeline_id` for each of 100,000
open deals, most of a second; docs/PERFORMANCE.md, The board on PostgreSQL), and SQLite still counts the cells from
the covering index alone."""

from __future__ import annotations

from typing import Any

import pytest

from tuikanban.services.deals import create_deal
from tuikanban.services.pipelines import create_pipeline
from tuikanban.store.engine import Database

pytestmark = pytest.mark.engines


def _plans(db: Database, window: int | None) -> list[tuple[str, str]]:
    """(statement, its plan as one line) of every SELECT the board's read runs."""
    from tuikanban.store import fastread

    con: Any = fastread.connect_live_target(db.target)
    seen: list[tuple[str, Any]] = []
    try:
        if db.target.path is not None:  # sqlite3: each statement as run, its values in it
            con.set_trace_callback(lambda sql: seen.append((sql, ())))
            assert fastread.load_board(con, None, window=window).board is not None
            con.set_trace_callback(None)
            explain, run = "EXPLAIN QUERY PLAN ", con.execute
        else:
            run = con.execute

            def recording(sql: str, params: Any = ()) -> Any:
                seen.append((sql, params))
                return run(sql, params)

            con.execute = recording
            assert fastread.load_board(con, None, window=window).board is not None
            explain = "EXPLAIN "
        return [(sql, " | ".join(str(r[-1]) for r in run(explain + sql, params).fetchall()))
                for sql, params in seen if sql.lstrip().upper().startswith("SELECT")]
    finally:
        con.close()


@pytest.mark.parametrize("window", [None, 3])
def test_the_boards_read_runs_no_subquery_per_row(db: Database, fixed_now: str, window: int | None) -> None:
    create_pipeline(db, "Sales", ["Lead", "Proposal"])
    create_deal(db, "Sales", "Acme", value="10k", user="alice")
    create_deal(db, "Sales", "Berlin GmbH", value="7k", currency="EUR", user="alice")  # (other_currencies is read)
    plans = _plans(db, window)
    sums = [p for sql, p in plans if "sum(CASE WHEN currency" in sql]
    assert sums, "the read's sums were not seen"
    # every statement that looks up the pipeline's currency: the sums, the cells' counts, other_currencies
    currency = [(sql, p) for sql, p in plans if "FROM pipeline WHERE id" in sql]
    assert len(currency) >= 2
    for sql, plan in currency:
        assert "CORRELATED" not in plan and "SubPlan" not in plan, (sql, plan)
    if db.target.path is not None and window is not None:
        # the cells' counts and sums still come from the index alone
        assert all("COVERING INDEX ix_deal_cells" in p for p in sums), sums
