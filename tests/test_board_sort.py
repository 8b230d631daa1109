"""Pilot tests of the order within a column (`o`: rank, value, close date, days in stage), on the fixture of
test_board.py: Lead / New holds Initech rollout ($30k, created 02-27) above Acme pilot ($12.5k, created 02-20)."""

from __future__ import annotations

import pytest

from board_helpers import press, settle
from test_board import SIZE, new_app, record_notifications, sales, screen_text
from tuikanban.services import deals as ds
from tuikanban.services import pipelines as ps
from tuikanban.store.engine import Database
from tuikanban.ui.board.sorting import next_sort

pytestmark = pytest.mark.engines  # the tests that use a database run on SQLite and on PostgreSQL

__all__ = ["sales"]  # the fixture


def lead_order(text: str) -> list[str]:
    return sorted(("Initech rollout", "Acme pilot"), key=text.index)


def test_the_cycle_comes_back_to_rank() -> None:
    assert [next_sort(s) for s in ("rank", "value", "close", "days", "bogus")] == [
        "value", "close", "days", "rank", "rank"]


async def test_o_cycles_the_order_and_reorder_needs_rank(db: Database, sales: dict[str, int]) -> None:
    ds.edit_deal(db, sales["acme"], {"close": "2026-03-10"}, user="tester")
    ds.edit_deal(db, sales["initech"], {"value": "5000"}, user="tester")  # now the smaller one
    app = new_app(db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        notes = record_notifications(app)
        assert lead_order(screen_text(app)) == ["Initech rollout", "Acme pilot"]  # rank: newest on top
        await press(pilot, "o")  # value, largest first
        assert lead_order(screen_text(app)) == ["Acme pilot", "Initech rollout"]
        assert "sorted by value" in app.board_screen.header.render().plain
        await press(pilot, "o")  # close date, soonest first; Initech has none
        assert lead_order(screen_text(app)) == ["Acme pilot", "Initech rollout"]
        await press(pilot, "o")  # days in stage, longest first: Acme entered 02-20, Initech 02-27
        assert lead_order(screen_text(app)) == ["Acme pilot", "Initech rollout"]
        await press(pilot, "J")
        assert any(n[0].startswith("The cards are sorted by days in stage; reordering works in rank order")
                   for n in notes)
        await press(pilot, "o")  # rank again
        assert lead_order(screen_text(app)) == ["Initech rollout", "Acme pilot"]
        assert "sorted by" not in app.board_screen.header.render().plain
        await press(pilot, "J")  # and reordering works again
        assert lead_order(screen_text(app)) == ["Acme pilot", "Initech rollout"]


async def test_sort_and_density_are_remembered_per_user_and_pipeline(db: Database, sales: dict[str, int]) -> None:
    from tuikanban.settings import load_settings, saved_view

    partners = ps.create_pipeline(db, "Partners", ["Talk", "Signed"])
    ds.create_deal(db, partners.id, "Reseller", user="tester")
    ds.edit_deal(db, sales["initech"], {"value": "5000"}, user="tester")  # by value, Acme ($12.5k) comes first
    app = new_app(db, "Sales")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = app.board_screen
        await press(pilot, "o", "d")  # Sales: by value, compact
        screen.reload(pipeline=partners.id)
        await settle(pilot)
        assert (screen.state.sort, screen.view.compact) == ("value", True)  # a pipeline never seen keeps the view
        await press(pilot, "o", "o", "o", "d")  # Partners: by rank again, normal cards
        assert (screen.state.sort, screen.view.compact) == ("rank", False)
        screen.reload(pipeline=sales["pipeline"])
        await settle(pilot)
        assert (screen.state.sort, screen.view.compact) == ("value", True)
    settings = load_settings()
    where = app.board_screen.session.target.path or app.board_screen.session.target.display  # (a file, or a URL)
    sales_view, partners_view = (saved_view(settings, where, "tester", p) for p in ("Sales", "Partners"))
    assert sales_view is not None and (sales_view.sort, sales_view.density) == ("value", "compact")
    assert partners_view is not None and (partners_view.sort, partners_view.density) == ("rank", "normal")
    again = new_app(db, "Partners")
    async with again.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = again.board_screen
        assert (screen.state.sort, screen.view.compact) == ("rank", False)
        screen.reload(pipeline=sales["pipeline"])
        await settle(pilot)
        assert (screen.state.sort, screen.view.compact) == ("value", True)
        assert "sorted by value" in screen.header.render().plain
        assert lead_order(screen_text(again)) == ["Acme pilot", "Initech rollout"]  # by value, not by rank


async def test_a_sort_or_density_the_board_does_not_know_is_left_aside(db: Database, sales: dict[str, int]) -> None:
    from tuikanban.settings import SavedView, remember_view

    app = new_app(db, "Sales")
    target = app.board_screen.session.target
    assert remember_view(target.path or target.display, "tester", "Sales",
                         SavedView(query="owner:alice", sort="bogus", density="tiny")) is None
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = app.board_screen
        assert screen.state.query == "owner:alice"  # the rest of the view is restored
        assert (screen.state.sort, screen.view.compact) == ("rank", False)
