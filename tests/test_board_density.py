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
