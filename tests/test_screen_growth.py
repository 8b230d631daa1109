"""Opening and closing a screen again and again keeps nothing: the deal detail, the review and the metrics screen
(issue: each open of the deal detail used to keep about 1.1 MB, the footer's key widgets of every screen shown),
and the screens built before their key (ui/spares.py: the forms, the help kept for the whole run, settings).
The live widgets and screens, counted by type after each close, are the same after the fifth open as after the
second (the first may warm what stays for good). RSS over 100 opens at 100,000 open deals is measured by
`bench/screens_memory.py --repeat 100` (docs/PERFORMANCE.md, Memory of the screens)."""

from __future__ import annotations

import gc
from collections import Counter

import pytest
from textual.dom import DOMNode

from board_helpers import press, settle
from tuikanban.services import deals as D
from tuikanban.services.pipelines import create_pipeline
from tuikanban.store.engine import Database
from tuikanban.ui.app import TuikanbanApp

pytestmark = pytest.mark.engines  # the tests that use a database run on SQLite and on PostgreSQL

U = "tester"


def _live_nodes(app: TuikanbanApp) -> Counter[str]:
    """The live widgets and screens, but those of the screens built ahead for the next key (ui/spares.py: one of
    each kind at most, built when the board is idle: `test_spares_do_not_pile_up` counts them)."""
    gc.collect()
    spares = app.spares.screens()
    return Counter(type(o).__name__ for o in gc.get_objects()
                   if isinstance(o, DOMNode) and not any(node in spares for node in o.ancestors_with_self))


def _board_of_three(db: Database) -> TuikanbanApp:
    create_pipeline(db, "Sales", "Lead,Proposal,Negotiation")
    for title in ("Acme", "Beta", "Cobalt"):
        D.create_deal(db, "Sales", title, user=U, value="100", at="2026-02-01", close="2026-03-20")
    return TuikanbanApp(db, U, "Sales")


@pytest.mark.parametrize("key", ["enter", "v", "m", "n", "e", "question_mark", "comma"])
async def test_opening_a_screen_again_and_again_keeps_nothing(db: Database, fixed_now: str, key: str) -> None:
    app = _board_of_three(db)
    async with app.run_test(size=(140, 45)) as pilot:
        await settle(pilot)
        counts: list[Counter[str]] = []
        for _ in range(5):
            await press(pilot, key)
            assert app.screen is not app.board_screen
            for _ in range(3):  # (a screen's second job: the review's idle list, the metrics' flow charts)
                await settle(pilot)
                await pilot.pause(0.05)
            await press(pilot, "escape")
            assert app.screen is app.board_screen
            app.clear_notifications()  # (the review's "recorded" toast lives its 3 seconds, by design)
            await settle(pilot)
            counts.append(_live_nodes(app))
        grown = counts[-1] - counts[1]
        for _ in range(20):  # a closed screen is let go a few messages after it is dismissed (a loaded machine:
            if not grown:    # later); what is kept stays counted however long the wait
                break
            await settle(pilot)
            await pilot.pause(0.1)
            grown = _live_nodes(app) - counts[1]
        assert not grown, f"kept after 3 more opens of {key!r}: {dict(grown)}"


async def test_the_aging_panel_opened_again_and_again_leaves_one_panel(db: Database, fixed_now: str) -> None:
    """The aging panel is a widget of the board, and a fresh one is built hidden ahead of the next `a` after each
    close (ui/spares.py): the closed panel is let go, so one panel at most is alive beside the one shown (the
    spare), and nothing else of it piles up."""
    from tuikanban.ui.widgets.aging_panel import AgingPanel

    app = _board_of_three(db)
    counts: list[Counter[str]] = []  # the live widgets after each close
    async with app.run_test(size=(140, 45)) as pilot:
        await settle(pilot)
        while len(counts) < 5:
            await press(pilot, "a")
            assert app.board_screen.aging_panel is not None
            await settle(pilot)
            await press(pilot, "escape")
            assert app.board_screen.aging_panel is None
            await settle(pilot)
            await pilot.pause(0.4)  # (idle: the next spare panel is built)
            await settle(pilot)
            counts.append(_live_nodes(app))
            gc.collect()
            assert sum(isinstance(o, AgingPanel) for o in gc.get_objects()) <= 1
        assert not counts[-1] - counts[1], f"kept after 3 more opens of the aging panel: {dict(counts[-1] - counts[1])}"
