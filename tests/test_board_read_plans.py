"""The board's reads run no subquery once per row and no pass they can do without, on either engine: the pipeline's
currency in the cells' sums is read once (PostgreSQL ran a subquery naming `deal.pipeline_id` for each of 100,000
open deals, most of a second; docs/PERFORMANCE.md, The board on PostgreSQL), SQLite still counts the cells from the
covering index alone, the deals valued in another currency are counted with the columns' totals (read by currency
only when there are some), and one column's totals are that column's, not the pipeline's."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tuikanban.services.deals import create_deal
from tuikanban.services.pipelines import create_pipeline
from tuikanban.store import fastread
from tuikanban.store.engine import Database

pytestmark = pytest.mark.engines


def _recorded(db: Database, read: Callable[[Any], object]) -> list[tuple[str, str]]:
    """(statement, its plan as one line) of every SELECT `read(connection)` runs on a live board connection."""
    con: Any = fastread.connect_live_target(db.target)
    seen: list[tuple[str, Any]] = []
    try:
        if db.target.path is not None:  # sqlite3: each statement as run, its values in it
            con.set_trace_callback(lambda sql: seen.append((sql, ())))
            read(con)
            con.set_trace_callback(None)
            explain, run = "EXPLAIN QUERY PLAN ", con.execute
        else:
            run = con.execute

            def recording(sql: str, params: Any = ()) -> Any:
                seen.append((sql, params))
                return run(sql, params)

            con.execute = recording
            read(con)
            explain = "EXPLAIN "
        return [(sql, " | ".join(str(r[-1]) for r in run(explain + sql, params).fetchall()))
                for sql, params in seen if sql.lstrip().upper().startswith("SELECT")]
    finally:
        con.close()


def _board(db: Database, *, euros: bool) -> None:
    create_pipeline(db, "Sales", ["Lead", "Proposal"])  # in USD
    create_deal(db, "Sales", "Acme", value="10k", user="alice")
    create_deal(db, "Sales", "Globex", value="2.5k", stage="Proposal", user="alice")
    create_deal(db, "Sales", "No value", user="alice")
    if euros:
        create_deal(db, "Sales", "Berlin GmbH", value="7k", currency="EUR", user="alice")
        create_deal(db, "Sales", "Paris SA", value="1k", currency="EUR", stage="Proposal", user="alice")


@pytest.mark.parametrize("window", [None, 3])
def test_the_boards_read_runs_no_subquery_per_row(db: Database, fixed_now: str, window: int | None) -> None:
    _board(db, euros=True)  # (other_currencies is read)
    plans = _recorded(db, lambda con: fastread.load_board(con, None, window=window))
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


@pytest.mark.parametrize("euros", [True, False])
def test_totals_and_other_currencies_in_one_pass(db: Database, fixed_now: str, euros: bool) -> None:
    """What a live board reads at every change another rep makes (ui/board/live.py, `catch_up`)."""
    _board(db, euros=euros)
    got: list[Any] = []
    plans = _recorded(db, lambda con: got.append(fastread.totals_and_others(con, 1)))
    totals, others = got[0]
    # Lead: Acme $10k and No value (and Berlin GmbH, counted, its euros not added); Proposal: Globex $2.5k (and Paris)
    lead, proposal = sorted(totals)
    assert totals[lead] == ((3, 1_000_000) if euros else (2, 1_000_000))
    assert totals[proposal] == ((2, 250_000) if euros else (1, 250_000))
    assert others == ({"EUR": 2} if euros else {})
    # one pass over the open deals; the second, by currency, only when some are in another currency
    by_currency = [sql for sql, _p in plans if "GROUP BY currency" in sql]
    assert len(by_currency) == (1 if euros else 0)
    assert len(plans) == (2 if euros else 1)


def test_one_columns_totals_are_read_from_that_column(db: Database, fixed_now: str) -> None:
    _board(db, euros=True)
    whole: list[Any] = []
    plans = _recorded(db, lambda con: whole.append((fastread.stage_totals(con, 1),
                                                    fastread.load_stage(con, 1, 2))))
    totals, (cards, n, v) = whole[0]
    assert (n, v) == totals[2] == (2, 250_000)
    assert sorted(c.title for c in cards) == ["Globex", "Paris SA"]
    sums = [sql for sql, _p in plans if "sum(CASE WHEN currency" in sql]
    assert len(sums) == 2 and "stage_id = " not in sums[0] and "stage_id = " in sums[1]
    if db.target.path is not None:
        one = next(p for sql, p in plans if sql == sums[1])
        assert "ix_deal_cells (pipeline_id=? AND status=? AND stage_id=?)" in one, one
