"""A big pipeline's board (a window of each cell's top cards) applies another process's change from the deals its
events name (`ui/board/live.py`, `BoardModel.place_outside`), without reading its window again, unless the
pipeline's configuration changed. After each change the board's counts, sums and cell counts are those a fresh
read gives, and every cell it holds is the true top of that cell. The sizes are made small (LAZY_ABOVE,
LAZY_WINDOW) so that a few dozen deals make a "big" pipeline."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from textual.pilot import Pilot

from board_helpers import press, settle
from tuikanban.services import deals as ds
from tuikanban.services import lifecycle
from tuikanban.services import pipelines as ps
from tuikanban.store import fastread
from tuikanban.store.engine import Database, open_database
from tuikanban.ui.app import TuikanbanApp
from tuikanban.ui.board import base as board_base
from tuikanban.ui.board import gateway as board_gateway
from tuikanban.ui.board.gateway import BoardGateway
from tuikanban.ui.board.model import BoardModel
from tuikanban.ui.board.state import BoardState

pytestmark = pytest.mark.engines  # the tests that use a database run on SQLite and on PostgreSQL

SIZE = (160, 45)
WINDOW = 3


@pytest.fixture
def board(db: Database, fixed_now: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Lead holds twelve "New" deals (Deal 11 on top, Deal 00 last) and five "Renewal" ones (Renew 4 on top), each
    worth 100.00; a won deal waits to be reopened; Qualified and Proposal are empty. Title -> deal id."""
    monkeypatch.setattr(board_gateway, "LAZY_ABOVE", 4)
    monkeypatch.setattr(board_gateway, "LAZY_WINDOW", WINDOW)
    monkeypatch.setattr(board_base.BoardBase, "MORE_MARGIN", 1)
    p = ps.create_pipeline(db, "Sales", ["Lead", "Qualified", "Proposal"])
    ps.add_type(db, p.id, "New")
    ps.add_type(db, p.id, "Renewal")
    ids = {"pipeline": p.id}
    for i in range(12):
        ids[f"Deal {i:02d}"] = ds.create_deal(db, p.id, f"Deal {i:02d}", user="tester", dtype="New", value="100",
                                              at=f"2026-02-{10 + i:02d}T09:30:00").id
    for i in range(5):
        ids[f"Renew {i}"] = ds.create_deal(db, p.id, f"Renew {i}", user="tester", dtype="Renewal", value="100",
                                           at=f"2026-02-{10 + i:02d}T10:30:00").id
    ids["Won"] = ds.create_deal(db, p.id, "Won deal", user="tester", dtype="New", value="250",
                                at="2026-02-01T09:30:00").id
    ds.win_deal(db, ids["Won"], user="tester", at="2026-02-02T09:30:00")
    return ids


async def started(pilot: Pilot[Any], app: TuikanbanApp, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Wait for the board and its window (the first screen's two cards, then each cell's WINDOW): the list it
    returns grows by one at each whole read of the board from then on."""
    await settle(pilot)
    app.board_screen.reload()
    await settle(pilot)
    model = app.board_screen.model
    assert model is not None and model.partial
    loads: list[int] = []
    original = app.gateway.load
    monkeypatch.setattr(app.gateway, "load", lambda *a, **kw: loads.append(1) or original(*a, **kw))
    return loads


def make_app(db: Database) -> TuikanbanApp:
    gateway = BoardGateway(path=db.target, user="tester", db=db, con=fastread.connect_live_target(db.target))
    initial = gateway.load(None, BoardState(), window=2)
    return TuikanbanApp(db, "tester", db_path=db.target, gateway=gateway, initial=initial)


def shown(app: TuikanbanApp) -> BoardModel:
    model = app.board_screen.model
    assert model is not None
    return model


def by_other_rep(db_target: str, work: Callable[[Database], object]) -> None:
    other = open_database(db_target)
    try:
        work(other)
    finally:
        other.close()


async def until(pilot: Pilot[Any], done: Callable[[], bool]) -> None:
    for _ in range(100):
        await asyncio.sleep(0.05)
        await pilot.pause()
        if done():
            break
    await settle(pilot)


def assert_exact(app: TuikanbanApp, db: Database) -> None:
    """The board's counts are a fresh read's, and each cell it holds is the top of that cell in rank order."""
    model = shown(app)
    con = fastread.connect_live_target(db.target)
    try:
        fresh = fastread.load_board(con, model.data.pipeline.id, window=WINDOW).board
        whole = fastread.load_board(con, model.data.pipeline.id).board
    finally:
        con.close()
    assert fresh is not None and whole is not None
    assert model.partial
    assert {k: v for k, v in model.data.counts.items() if v} == {k: v for k, v in fresh.counts.items() if v}
    assert {k: v for k, v in model.data.sums.items() if v} == {k: v for k, v in fresh.sums.items() if v}
    assert {k: v for k, v in (model.data.cell_counts or {}).items() if v} == {
        k: v for k, v in (fresh.cell_counts or {}).items() if v}
    assert model.data.other_currencies == fresh.other_currencies
    truth: dict[tuple[int, int | None], list[fastread.BoardCard]] = {}
    for card in whole.cards:
        truth.setdefault((card.stage_id, card.type_id), []).append(card)
    held: dict[tuple[int, int | None], list[fastread.BoardCard]] = {}
    for cards in model.stage_cards.values():
        for card in cards:
            held.setdefault((card.stage_id, card.type_id), []).append(card)
    for key, cards in held.items():  # (each card as it is now: its rank, stage, value)
        assert cards == truth.get(key, [])[:len(cards)], key
    assert set(model.by_id) == {c.id for cards in held.values() for c in cards}


def titles(model: BoardModel, lane: int, col: int) -> list[str]:
    return [c.title for c in model.cell(lane, col)]


async def test_a_window_card_moved_by_another_rep_is_applied_in_place_and_the_focus_stays(
        db: Database, board: dict[str, int], db_target: str, monkeypatch: pytest.MonkeyPatch) -> None:
    app = make_app(db)
    async with app.run_test(size=SIZE) as pilot:
        loads = await started(pilot, app, monkeypatch)
        await press(pilot, "down")
        assert app.board_screen.view.focus_deal == board["Deal 10"]
        by_other_rep(db_target, lambda other: ds.move_deal(other, board["Deal 11"], "Qualified", user="dana"))
        await until(pilot, lambda: shown(app).count(shown(app).stages[1].id) == 1)
        model = shown(app)
        assert loads == []
        assert titles(model, 0, 1) == ["Deal 11"]
        assert titles(model, 0, 0)[:2] == ["Deal 10", "Deal 09"]
        assert model.count(model.stages[0].id) == 16 and model.value(model.stages[1].id) == 10_000
        assert model.cell_total(0, 0) == 11 and model.cell_total(1, 0) == 5
        assert app.board_screen.view.focus_deal == board["Deal 10"]
        assert_exact(app, db)


async def test_deals_below_the_window_won_lost_deleted_and_moved_are_counted(
        db: Database, board: dict[str, int], db_target: str, monkeypatch: pytest.MonkeyPatch) -> None:
    app = make_app(db)
    async with app.run_test(size=SIZE) as pilot:
        loads = await started(pilot, app, monkeypatch)
        held = set(shown(app).by_id)

        def work(other: Database) -> None:
            ds.win_deal(other, board["Deal 00"], user="dana")
            ds.lose_deal(other, board["Deal 01"], "budget", user="dana")
            lifecycle.delete_deal(other, board["Deal 02"], user="dana")
            ds.move_deal(other, board["Deal 03"], "Proposal", user="dana")  # Proposal was empty: shown there

        by_other_rep(db_target, work)
        await until(pilot, lambda: shown(app).count(shown(app).stages[0].id) == 13)
        model = shown(app)
        assert loads == []
        assert model.count(model.stages[0].id) == 13 and model.count(model.stages[2].id) == 1
        assert model.value(model.stages[0].id) == 130_000 and model.value(model.stages[2].id) == 10_000
        assert titles(model, 0, 2) == ["Deal 03"]
        assert set(model.by_id) == held | {board["Deal 03"]}
        assert_exact(app, db)


async def test_a_reopened_deal_and_reorders_at_the_window_edge_keep_each_cell_its_true_top(
        db: Database, board: dict[str, int], db_target: str, monkeypatch: pytest.MonkeyPatch) -> None:
    app = make_app(db)
    async with app.run_test(size=SIZE) as pilot:
        loads = await started(pilot, app, monkeypatch)

        # the first card not held goes above the last one held (which goes down: its rank changes, unnamed)
        by_other_rep(db_target, lambda other: ds.reorder_deal(other, board["Deal 08"], -1, user="dana",
                                                              same_type=True))
        await until(pilot, lambda: "Deal 08" in titles(shown(app), 0, 0))
        assert titles(shown(app), 0, 0)[:4] == ["Deal 11", "Deal 10", "Deal 08", "Deal 09"]
        assert_exact(app, db)

        def work(other: Database) -> None:
            ds.reopen_deal(other, board["Won"], "Lead", user="dana")
            ds.reorder_deal(other, board["Renew 2"], +1, user="dana", same_type=True)  # the last card held

        by_other_rep(db_target, work)
        await until(pilot, lambda: shown(app).count(shown(app).stages[0].id) == 18)
        model = shown(app)
        assert loads == []
        assert model.count(model.stages[0].id) == 18 and model.value(model.stages[0].id) == 195_000
        assert titles(model, 1, 0)[:3] == ["Renew 4", "Renew 3", "Renew 1"]
        assert_exact(app, db)


async def test_a_change_in_another_swimlane_leaves_the_focus_where_it_was(
        db: Database, board: dict[str, int], db_target: str, monkeypatch: pytest.MonkeyPatch) -> None:
    app = make_app(db)
    async with app.run_test(size=SIZE) as pilot:
        loads = await started(pilot, app, monkeypatch)
        await press(pilot, "down")
        focus = app.board_screen.view.focus_deal
        assert focus == board["Deal 10"]

        def work(other: Database) -> None:
            ds.move_deal(other, board["Renew 4"], "Proposal", user="dana")
            ds.create_deal(other, board["pipeline"], "Renew 9", user="dana", dtype="Renewal", value="40",
                           currency="EUR")

        by_other_rep(db_target, work)
        await until(pilot, lambda: bool(shown(app).data.other_currencies))
        model = shown(app)
        assert loads == []
        assert model.data.other_currencies == {"EUR": 1}
        assert titles(model, 1, 2) == ["Renew 4"]
        assert titles(model, 1, 0)[0] == "Renew 9"  # a new deal goes on top
        assert model.cell_total(1, 0) == 5 and model.count(model.stages[0].id) == 17
        assert app.board_screen.view.focus_deal == focus
        assert_exact(app, db)


async def test_a_stage_renamed_by_another_rep_reads_the_window_again(
        db: Database, board: dict[str, int], db_target: str, monkeypatch: pytest.MonkeyPatch) -> None:
    app = make_app(db)
    async with app.run_test(size=SIZE) as pilot:
        loads = await started(pilot, app, monkeypatch)
        by_other_rep(db_target, lambda other: ps.rename_stage(other, board["pipeline"], "Qualified", "Discovery"))
        await until(pilot, lambda: shown(app).stages[1].name == "Discovery")
        assert loads != []
        assert shown(app).partial
        assert_exact(app, db)
