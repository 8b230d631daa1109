"""Pilot tests of compact cards (`d`): one line per card, at least three times as many cards on a screen, the
focus kept, and the choice remembered per user in the settings file."""

from __future__ import annotations

import re

import pytest

from board_helpers import press, settle
from test_board import SIZE, focused_title, screen_text
from tuikanban.services import deals as ds
from tuikanban.services import pipelines as ps
from tuikanban.settings import load_settings
from tuikanban.store.engine import Database
from tuikanban.ui.app import TuikanbanApp
from tuikanban.ui.board import line_cache as board_view  # where the view builds its card lines

pytestmark = pytest.mark.engines  # the tests that use a database run on SQLite and on PostgreSQL


def fill(db: Database) -> None:
    p = ps.create_pipeline(db, "Sales", ["Lead", "Won over"])
    for i in range(60):
        ds.create_deal(db, p.id, f"Deal {i:02d}", user="tester", value="1000", owner="alice")


def shown(app: TuikanbanApp) -> set[str]:
    return set(re.findall(r"Deal \d\d", screen_text(app)))


async def test_compact_shows_three_times_the_cards_and_is_remembered(db: Database, fixed_now: str) -> None:
    fill(db)
    app = TuikanbanApp(db, "tester", None)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        normal = len(shown(app))
        await press(pilot, "d")
        compact = len(shown(app))
        # The board view is 43 rows: 3 of column headers leave 40. A card takes 4 rows (spacer + 3) and one row
        # says "↓ more": (40 - 1) // 4 = 9 cards. Compact: 1 row each, less one row above and one below: 38.
        assert (normal, compact) == (9, 38)
        assert compact >= 3 * normal  # the bar
        line = next(row for row in screen_text(app).splitlines() if "Deal 59" in row)
        assert "$1k" in line and "0d" in line  # title, value and days on one line
        await press(pilot, *["down"] * 45)  # the focus scrolls the column
        assert focused_title(app) == "Deal 14"  # the newest deal is on top: 59 .. 14 is 46 cards
        assert "Deal 14" in shown(app)
    assert load_settings().extra["density"] == {"tester": "compact"}
    again = TuikanbanApp(db, "tester", None)
    async with again.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert len(shown(again)) == compact
        await press(pilot, "d")
        assert len(shown(again)) == normal
    assert load_settings().extra["density"] == {"tester": "normal"}


async def test_a_focus_move_builds_only_the_two_cards_it_changes(
        db: Database, fixed_now: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """At either density the view keeps each card's drawn line(s): a focus move draws the card the focus leaves and
    the one it lands on, nothing else, and what is drawn is what a view without kept lines draws."""
    fill(db)
    built: list[str] = []
    for name in ("card_line", "compact_line"):
        draw = getattr(board_view, name)
        monkeypatch.setattr(board_view, name, lambda card, *a, _draw=draw, **kw: built.append(card.title)
                            or _draw(card, *a, **kw))
    for compact in (False, True):  # a board started at each density (`d` is remembered)
        app = TuikanbanApp(db, "tester", None)
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            view = app.board_screen.view
            assert view.compact == compact
            left = focused_title(app)
            built.clear()
            await press(pilot, "down")
            landed = focused_title(app)
            lines = 1 if compact else 3
            assert left != landed
            assert sorted(built) == sorted([left] * lines + [landed] * lines)
            drawn = [view.render_line(y) for y in range(view.size.height)]
            view._forget_drawing()
            assert drawn == [view.finish_line(view.build_line(y)) for y in range(view.size.height)]
            await press(pilot, "d")


async def test_compact_titles_keep_half_the_card_before_risk_marks(db: Database, fixed_now: str) -> None:
    """At 160 columns six stages make cards 26 cells wide: a compact line's value, risk marks and days left a long
    title 7 cells ("Deal 53…"). The title now keeps at least half the card; the marks go first, one at a time
    from the last, and stay where the title fits whole or the card is wide."""
    stages = ["Prospecting", "Qualification", "Discovery", "Proposal", "Negotiation", "Contract"]
    p = ps.create_pipeline(db, "Bench", stages)
    for title, stage in (("Deal 5339 Renewal", "Prospecting"), ("Pilot", "Qualification")):
        # created months ago and never touched: no activity, no next step (two risk marks: ◌→)
        ds.create_deal(db, p.id, title, user="tester", stage=stage, value="97300", at="2025-10-04")
    wide = ps.create_pipeline(db, "Wide", ["Lead", "Won over"])
    ds.create_deal(db, wide.id, "Deal 5339 Renewal", user="tester", value="97300", at="2025-10-04")
    app = TuikanbanApp(db, "tester", "Bench")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "d")
        line = next(row for row in screen_text(app).splitlines() if "Pilot" in row)
        # 26 cells: edge, tick, 23 inside (11 of title, a space, "$97.3k", a space, the days), and a space
        assert line.startswith("▌ Deal 5339 … $97.3k 149d  ")
        assert "Pilot    $97.3k ◌→ 149d" in line  # a short title leaves room for the marks
    app = TuikanbanApp(db, "tester", "Wide")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        line = next(row for row in screen_text(app).splitlines() if "Deal 5339" in row)
        assert "Deal 5339 Renewal" in line and "$97.3k ◌→ 149d" in line
