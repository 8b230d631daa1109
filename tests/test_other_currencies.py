"""Deals valued in another currency than their pipeline's are never added to its money: they are counted and said,
on the board, in `stage list`, and in the metrics (the JSON key `other_currency_deals` already had them)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from board_helpers import settle
from tuikanban.services.deals import create_deal, move_deal
from tuikanban.services.pipelines import create_pipeline
from tuikanban.store.engine import Database
from tuikanban.ui.app import TuikanbanApp

pytestmark = pytest.mark.engines  # the tests that use a database run on SQLite and on PostgreSQL


def _board(db: Database) -> None:
    create_pipeline(db, "Sales", ["Lead", "Proposal"])  # in USD
    create_deal(db, "Sales", "Acme", value="10k", user="alice")
    create_deal(db, "Sales", "Globex", value="2.5k", user="alice")
    create_deal(db, "Sales", "Berlin GmbH", value="7k", currency="EUR", user="alice")
    create_deal(db, "Sales", "Paris SA", value="1k", currency="EUR", user="alice")


async def test_the_board_counts_them_and_says_so(db: Database, fixed_now: str) -> None:
    _board(db)
    app = TuikanbanApp(db, "tester")
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        header = str(app.board_screen.header.render())
        # 4 open deals; $10k + $2.5k = $12.5k (the euros are not added as dollars)
        assert "4 open · $12.5k (2 deals in EUR not included)" in header
        # a move keeps the cache right: Paris SA to Proposal changes nothing in the sums
        move_deal(db, 4, "Proposal", user="bob")
        app.board_screen.reload()
        await settle(pilot)
        header = str(app.board_screen.header.render())
        assert "4 open · $12.5k (2 deals in EUR not included)" in header


@pytest.mark.parametrize("with_euros", [True, False])
def test_a_windowed_read_counts_them_as_a_whole_read_does(db: Database, fixed_now: str, with_euros: bool) -> None:
    """The first screen's read counts them with the cells' counts and reads them by currency only when there are
    some (store.fastread.load_board)."""
    from tuikanban.store import fastread

    if with_euros:
        _board(db)
    else:
        create_pipeline(db, "Sales", ["Lead", "Proposal"])
    create_deal(db, "Sales", "No value", user="alice")  # (no value: in no currency's count)
    con = fastread.connect_live_target(db.target)
    try:
        whole = fastread.load_board(con, None).board
        window = fastread.load_board(con, None, window=1).board
    finally:
        con.close()
    assert whole is not None and window is not None and window.partial
    assert window.other_currencies == whole.other_currencies == ({"EUR": 2} if with_euros else {})
    assert window.counts == whole.counts and window.sums == whole.sums


def test_stage_list_and_metrics_leave_them_out(cli: Any, db: Database, fixed_now: str) -> None:
    _board(db)
    stages = json.loads(cli("stage", "list", "--json").out)["stages"]
    lead = next(s for s in stages if s["name"] == "Lead")
    assert (lead["open_deals"], lead["open_value"]) == (4, 12500)
    report = cli("metrics")
    assert report.code == 0, report.err
    assert "(2 deals in other currencies than USD not included)" in " ".join(report.out.split())
    assert json.loads(cli("metrics", "--json").out)["open_value"] == 12500
