"""A big pipeline's board reads a window at a time: the top cards of each cell, deeper as the focus goes down,
every card for a filter, deep enough for a deal it jumps to. The sizes are made small here (LAZY_ABOVE,
LAZY_WINDOW) so that a dozen deals make a "big" pipeline."""

from __future__ import annotations

import pytest
from textual import events

from board_helpers import press, settle
from tuikanban.services import deals as ds
from tuikanban.services import pipelines as ps
from tuikanban.store import fastread
from tuikanban.store.engine import Database
from tuikanban.ui.app import TuikanbanApp
from tuikanban.ui.board import base as board_base
from tuikanban.ui.board import gateway as board_gateway
from tuikanban.ui.board.gateway import BoardGateway
from tuikanban.ui.board.state import BoardState

pytestmark = pytest.mark.engines  # the tests that use a database run on SQLite and on PostgreSQL

SIZE = (160, 45)


@pytest.fixture
def column(db: Database, fixed_now: str, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Twelve deals in Lead, no deal types; their titles in board order (a new deal goes on top)."""
    monkeypatch.setattr(board_gateway, "LAZY_ABOVE", 4)
    monkeypatch.setattr(board_gateway, "LAZY_WINDOW", 3)
    monkeypatch.setattr(board_base.BoardBase, "MORE_MARGIN", 1)
    p = ps.create_pipeline(db, "Sales", ["Lead", "Qualified"])
    for i in range(12):
        ds.create_deal(db, p.id, f"Deal {i:02d}", user="tester", at=f"2026-02-{10 + i:02d}T09:30:00")
    return [f"Deal {i:02d}" for i in reversed(range(12))]


def started(db: Database) -> TuikanbanApp:
    """The app as `run_board` starts it: the first screen read in a window before the app runs."""
    gateway = BoardGateway(path=db.target, user="tester", db=db, con=fastread.connect_live_target(db.target))
    initial = gateway.load(None, BoardState(), window=2)
    return TuikanbanApp(db, "tester", db_path=db.target, gateway=gateway, initial=initial)


def focused(app: TuikanbanApp) -> str | None:
    card = app.board_screen.view.focused_card
    return card.title if card else None


async def test_the_focus_walks_the_whole_column_while_the_board_holds_only_its_top(
        db: Database, column: list[str]) -> None:
    app = started(db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        model = app.board_screen.model
        # the first screen's window stays (2 cards: what the first paint read); the focus reads deeper
        assert model is not None and model.partial and len(model.by_id) == 2
        assert set(app.board_screen.view.aging) == set(model.by_id)  # the aging read: of those cards only
        assert model.cell_total(0, 0) == 12 and model.count(model.stages[0].id) == 12
        seen = [focused(app)]
        for _ in range(11):
            await press(pilot, "down")
            seen.append(focused(app))
        assert seen == column
        model = app.board_screen.model
        assert model is not None and model.partial and len(model.by_id) == 12


async def test_a_filter_reads_every_card_and_clearing_it_goes_back_to_the_window(
        db: Database, column: list[str]) -> None:
    app = started(db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        board = app.board_screen
        board.apply_filter("Deal 01")  # the eleventh card: not loaded
        await settle(pilot)
        assert board.model is not None and not board.model.partial
        assert [c.title for c in board.model.cell(0, 0)] == ["Deal 01"]
        board.apply_filter("")
        await settle(pilot)
        assert board.model is not None and board.model.partial and len(board.model.by_id) == 3


async def test_jumping_to_a_deal_below_the_window_reads_down_to_it(db: Database, column: list[str]) -> None:
    app = started(db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        board = app.board_screen
        target = next(d for d in ds.list_deals(db, None) if d.title == "Deal 00")  # the last card of Lead
        assert board.view.focus_on(target.id) is False
        assert board.focus_or_read(target.id)
        await settle(pilot)
        assert focused(app) == "Deal 00"


async def test_a_card_moved_in_shows_on_top_and_the_counts_follow(db: Database, column: list[str]) -> None:
    app = started(db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "shift+right")  # Deal 11 to Qualified
        await settle(pilot)
        board = app.board_screen
        model = board.model
        assert model is not None and model.partial
        assert [c.title for c in model.cell(0, 1)] == ["Deal 11"]
        assert model.count(model.stages[0].id) == 11 and model.cell_total(0, 0) == 11
        assert [c.title for c in model.cell(0, 0)][:2] == ["Deal 10", "Deal 09"]


async def test_end_goes_to_the_last_card_of_the_cell_not_of_what_is_loaded(db: Database, column: list[str]) -> None:
    app = started(db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "end")
        await settle(pilot)
        assert focused(app) == column[-1]


def wheel(app: TuikanbanApp, down: bool) -> None:
    """A turn of the mouse wheel over the board's first column, as the terminal driver reports it."""
    view = app.board_screen.view
    x, y = view.region.x + 2, view.region.y + 6
    kind = events.MouseScrollDown if down else events.MouseScrollUp
    app.post_message(kind(None, x, y, 0, 1 if down else -1, 0, False, False, False, screen_x=x, screen_y=y))


async def test_the_mouse_wheel_reads_deeper_past_what_the_board_holds(db: Database, column: list[str]) -> None:
    app = started(db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        model = app.board_screen.model
        assert model is not None and model.partial and len(model.by_id) == 2  # (the first screen's window)
        seen = [focused(app)]
        for _ in range(11):
            wheel(app, down=True)
            await settle(pilot)
            seen.append(focused(app))
        assert seen == column  # the wheel did not stop at the second card, the last one first held
        model = app.board_screen.model
        assert model is not None and len(model.by_id) == 12
        wheel(app, down=False)
        await settle(pilot)
        assert focused(app) == column[-2]
