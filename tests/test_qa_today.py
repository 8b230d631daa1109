"""The Today queue's `L` (move the deal one stage on) against another rep's move: it moves on from the stage the
line showed, or says who moved the deal, never two stages past what the rep saw."""

from __future__ import annotations

import pytest

from tuikanban.services import deals as ds
from tuikanban.services import pipelines as ps
from tuikanban.store.engine import Database
from tuikanban.ui.screens.today import TodayRefused, TodayWritten, move_on_job

pytestmark = pytest.mark.engines  # the tests that use a database run on SQLite and on PostgreSQL


@pytest.fixture
def deal(db: Database, fixed_now: str) -> int:
    ps.create_pipeline(db, "Sales", ["Lead", "Qualified", "Demo", "Proposal"])
    return ds.create_deal(db, "Sales", "Acme", user="tester", owner="tester").id


def test_l_on_a_line_another_rep_moved_meanwhile_is_refused_with_who_did_it(db: Database, deal: int) -> None:
    ds.move_deal(db, deal, "Qualified", user="carol")  # while the queue still shows the deal in Lead
    result = move_on_job(db, "tester", deal, "Lead")
    assert isinstance(result, TodayRefused)
    assert str(result.error) == "carol moved this deal to Qualified a moment ago, so it was not moved."
    assert ds.get_deal(db, deal).stage_name == "Qualified"


def test_l_moves_on_from_the_stage_the_line_showed(db: Database, deal: int) -> None:
    result = move_on_job(db, "tester", deal, "Lead")
    assert isinstance(result, TodayWritten) and result.note == "Moved 'Acme' to Qualified."
    assert ds.get_deal(db, deal).stage_name == "Qualified"


async def test_escape_in_the_done_form_asks_before_dropping_what_was_typed(db: Database, deal: int) -> None:
    from test_screens import Host
    from tuikanban.services.tasks import add_task
    from tuikanban.ui.dialogs.confirm import ConfirmScreen
    from tuikanban.ui.dialogs.task_done import TaskDoneScreen

    task = add_task(db, deal, "Call back", "today", user="tester")
    app = Host(lambda: TaskDoneScreen(db, "tester", task.id, "Call back", "Acme"))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.press(*"CFO agreed")
        await pilot.pause()
        assert app.screen.query_one("#td-note").value == "CFO agreed", app.screen
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")
        await pilot.pause()
        assert isinstance(app.screen, TaskDoneScreen) and app.screen.query_one("#td-note").value == "CFO agreed"
        await pilot.press("escape", "y")
        await pilot.pause()
    assert app.results == [None]


async def test_escape_in_an_empty_done_form_closes_it_at_once(db: Database, deal: int) -> None:
    from test_screens import Host
    from tuikanban.services.tasks import add_task
    from tuikanban.ui.dialogs.task_done import TaskDoneScreen

    task = add_task(db, deal, "Call back", "today", user="tester")
    app = Host(lambda: TaskDoneScreen(db, "tester", task.id, "Call back", "Acme"))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.press("escape")
        await pilot.pause()
    assert app.results == [None]


@pytest.mark.parametrize("width", [80, 60])
async def test_the_today_hints_show_every_key_at_80_columns_and_below(db: Database, deal: int, width: int) -> None:
    """At 80 columns the hint line was cut after `L next stage ·`: `a` (every rep's queue) and `esc` were not shown."""
    from textual.geometry import Region

    from test_screens import Host
    from tuikanban.ui.screens.today import TodayScreen

    app = Host(lambda: TodayScreen(db, "tester"))
    async with app.run_test(size=(width, 24)) as pilot:
        await pilot.pause()
        await pilot.pause()
        hints = app.screen.query_one("#today-hints")
        lines = hints.render_lines(Region(0, 0, hints.size.width, hints.size.height))
        shown = " ".join(line.text for line in lines)
        for key in ("d done", "z snooze", "enter open", "L next stage", "a mine", "esc board"):
            assert key in shown, shown
