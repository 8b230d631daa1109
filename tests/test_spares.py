"""Screens built before their key (`ui/spares.py`): the key shows a screen composed in idle time, which reads what
it shows at the key, for the deal and pipeline of the key, and carries nothing from an earlier open."""

from __future__ import annotations

import asyncio
import gc
import threading
import time
from typing import Any

import pytest
from textual.containers import Vertical, VerticalScroll
from textual.pilot import Pilot
from textual.widgets import DataTable, Input, Static

from board_helpers import press, settle
from tuikanban.services import deals as ds
from tuikanban.services import pipelines as ps
from tuikanban.store import fastread
from tuikanban.store.engine import Database, open_database
from tuikanban.ui import spares
from tuikanban.ui.app import TuikanbanApp
from tuikanban.ui.dialogs.confirm import ConfirmScreen
from tuikanban.ui.presence import HereLine
from tuikanban.ui.screens.deal_detail import DealDetailScreen
from tuikanban.ui.screens.deal_form import DealFormScreen
from tuikanban.ui.screens.help import HelpScreen
from tuikanban.ui.screens.settings import PipelineSettingsScreen
from tuikanban.ui.widgets.checklist import Checklist

pytestmark = pytest.mark.engines  # the tests that use a database run on SQLite and on PostgreSQL

U = "alice"
SIZE = (140, 45)


async def spares_ready(pilot: Pilot[Any], *names: str) -> None:
    """Until the board has built the spares `names` (in idle time: nothing is pressed meanwhile)."""
    app = pilot.app
    assert isinstance(app, TuikanbanApp)
    for _ in range(500):
        if all(name in app.spares.ready for name in names):
            return
        await asyncio.sleep(0.02)
        await pilot.pause()
    raise AssertionError(f"not built: {[n for n in names if n not in app.spares.ready]}")


async def spare_ready(pilot: Pilot[Any], name: str) -> Any:
    """The spare `name`, once the board has settled and built it."""
    await settle(pilot)
    await spares_ready(pilot, name)
    app = pilot.app
    assert isinstance(app, TuikanbanApp)
    return app.spares.ready[name].screen


def presence_marks(app: TuikanbanApp) -> list[tuple[str, int | None]]:
    """What the board tells the others it views or edits, from now on (each mark as it is made)."""
    marks: list[tuple[str, int | None]] = []
    original = app.presence.mark
    app.presence.mark = lambda mode, deal_id: (marks.append((mode, deal_id)), original(mode, deal_id))[1]  # type: ignore[method-assign]
    return marks


def title_of(screen: Any) -> str:
    return str(screen.query_one("#detail-title", Static).visual)


async def test_the_new_deal_form_is_built_ahead_and_starts_empty_every_time(db: Database) -> None:
    p = ps.create_pipeline(db, "Sales", "Lead,Won")
    ds.create_deal(db, p.id, "Acme", user=U)
    app = TuikanbanApp(db, U, "Sales")
    async with app.run_test(size=SIZE) as pilot:
        spare = await spare_ready(pilot, "deal form")
        await press(pilot, "n")
        first = app.screen
        assert first is spare and isinstance(first, DealFormScreen) and first.built_ahead
        assert first.focused is first.query_one("#f-title", Input)  # the keys typed next land in the title
        await press(pilot, *"Left behind")
        assert first.query_one("#f-title", Input).value == "Left behind"
        await press(pilot, "escape")  # typed text: asks first
        assert isinstance(app.screen, ConfirmScreen)
        await press(pilot, "y")
        assert app.screen is app.board_screen
        await spares_ready(pilot, "deal form")
        await press(pilot, "n")
        second = app.screen
        assert isinstance(second, DealFormScreen) and second.built_ahead and second is not first
        assert second.query_one("#f-title", Input).value == ""
        assert second.query_one("#f-owner", Input).value == U
        await press(pilot, *"Globex", "ctrl+s")
        assert app.screen is app.board_screen
    assert sorted(d.title for d in ds.list_deals(db, p.id)) == ["Acme", "Globex"]


async def test_a_detail_built_ahead_shows_the_deal_of_the_key_as_it_is_at_the_key(db: Database) -> None:
    p = ps.create_pipeline(db, "Sales", "Lead,Won")
    deals = {d.id: d for d in (ds.create_deal(db, p.id, title, user=U) for title in ("Acme", "Beta"))}
    app = TuikanbanApp(db, U, "Sales")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await spares_ready(pilot, "deal detail")
        focused = app.board_screen.view.focused_card
        assert focused is not None
        a = deals.pop(focused.id)
        b = deals.popitem()[1]
        ds.edit_deal(db, a.id, {"title": "Acme renamed"}, user="bob")  # another rep, after the spare was built
        await press(pilot, "enter")
        detail = app.screen
        assert isinstance(detail, DealDetailScreen) and detail.built_ahead and detail.deal_id == a.id
        assert title_of(detail) == "Acme renamed"
        assert detail.query_one(".dialog", Vertical).border_title == f"Deal #{a.id}"
        assert detail.query_one(HereLine).deal_id == a.id and detail.query_one(Checklist).deal_id == a.id
        await press(pilot, "escape")
        await spares_ready(pilot, "deal detail")
        await press(pilot, "down")
        await press(pilot, "enter")
        other = app.screen
        assert isinstance(other, DealDetailScreen) and other.built_ahead and other is not detail
        assert other.deal_id == b.id and title_of(other) == b.title
        await press(pilot, "escape")


async def test_an_edit_form_built_ahead_edits_the_deal_of_the_key(db: Database) -> None:
    p = ps.create_pipeline(db, "Sales", "Lead,Won")
    for title in ("Acme", "Beta"):
        ds.create_deal(db, p.id, title, user=U, company=f"{title} Inc")
    app = TuikanbanApp(db, U, "Sales")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await spares_ready(pilot, "deal form")
        a = app.board_screen.view.focused_card
        assert a is not None
        await press(pilot, "e")
        form = app.screen
        assert isinstance(form, DealFormScreen) and form.built_ahead and form.deal_id == a.id
        assert form.query_one(".dialog", Vertical).border_title == f"Edit deal #{a.id}"
        assert form.query_one("#f-company", Input).value == f"{a.title} Inc"
        assert form.query_one("#f-owner", Input).value == U
        form.query_one("#f-company", Input).value = "Changed Corp"
        await press(pilot, "ctrl+s")
        assert app.screen is app.board_screen
    assert {d.id: d.company for d in ds.list_deals(db, p.id)} == {
        d.id: "Changed Corp" if d.id == a.id else f"{d.title} Inc" for d in ds.list_deals(db, p.id)}
    assert sorted(d.company for d in ds.list_deals(db, p.id)) != ["Changed Corp", "Changed Corp"]


async def test_the_help_is_shown_again_from_its_top(db: Database) -> None:
    ps.create_pipeline(db, "Sales", "Lead,Won")
    app = TuikanbanApp(db, U, "Sales")
    async with app.run_test(size=(100, 20)) as pilot:  # (short: the help scrolls)
        await settle(pilot)
        await press(pilot, "question_mark", "escape")  # (made at its key: the help's spare is built after a screen)
        await spares_ready(pilot, "help")
        await press(pilot, "question_mark")
        help_screen = app.screen
        assert isinstance(help_screen, HelpScreen)
        body = help_screen.query_one("#help-body", VerticalScroll)
        await press(pilot, "pagedown", "pagedown")
        assert body.scroll_y > 0
        await press(pilot, "escape")
        assert app.screen is app.board_screen
        await press(pilot, "question_mark")
        assert app.screen is help_screen  # the same one, kept
        await pilot.pause()
        assert body.scroll_y == 0
        await press(pilot, "escape")


async def test_a_spare_tells_nobody_it_is_shown_until_its_key(db: Database) -> None:
    p = ps.create_pipeline(db, "Sales", "Lead,Won")
    a = ds.create_deal(db, p.id, "Acme", user=U)
    app = TuikanbanApp(db, U, "Sales")
    async with app.run_test(size=SIZE) as pilot:
        marks = presence_marks(app)
        await settle(pilot)
        await spares_ready(pilot, "deal detail", "deal form")
        assert marks == []  # built, mounted, and not shown: nobody is told this board views or edits a deal
        await press(pilot, "enter")
        assert marks == [("viewing", a.id)]
        await press(pilot, "escape")
        assert marks == [("viewing", a.id), ("viewing", None)]


async def test_spares_follow_the_pipeline_and_do_not_pile_up(db: Database) -> None:
    ps.create_pipeline(db, "Sales", "Lead,Won")
    ps.create_pipeline(db, "Renewals", "Due,Renewed")
    app = TuikanbanApp(db, U, "Sales")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "comma", "escape")  # (made at its key: the settings' spare is built after a screen)
        for _ in range(4):
            await spares_ready(pilot, "settings")
            await press(pilot, "comma")
            assert isinstance(app.screen, PipelineSettingsScreen) and app.screen.built_ahead
            await press(pilot, "escape")
        await spares_ready(pilot, "settings", "deal form")
        for _ in range(20):  # (a closed screen is let go a few messages after it is dismissed)
            gc.collect()
            live = [o for o in gc.get_objects() if isinstance(o, PipelineSettingsScreen)]
            if len(live) == 1:
                break
            await settle(pilot)
            await pilot.pause(0.1)
        spare = app.spares.ready["settings"].screen
        assert live == [spare], live  # the four shown are gone; one spare is kept
        app.board_screen.reload(pipeline=next(x.id for x in ps.list_pipelines(db) if x.name == "Renewals"))
        await settle(pilot)
        await spares_ready(pilot, "deal form")  # (the Sales form was let go when Renewals was read)
        await press(pilot, "n")
        form = app.screen
        assert isinstance(form, DealFormScreen) and form.built_ahead
        await settle(pilot)
        assert str(form.query_one(".dialog", Vertical).border_title) == "New deal · Renewals"
        await press(pilot, "escape")


async def test_the_deal_its_form_and_the_aging_panel_are_built_at_start_the_other_screens_once_settled(
        db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    p = ps.create_pipeline(db, "Sales", "Lead,Won")
    ds.create_deal(db, p.id, "Acme", user=U)
    ds.create_deal(db, p.id, "Beta", user=U)
    monkeypatch.setattr(spares, "SETTLED_S", 2.0)
    app = TuikanbanApp(db, U, "Sales")
    later = ["closed deals", "help", "metrics", "pipelines", "settings"]
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await spares_ready(pilot, "deal detail", "deal form", "aging panel")
        await pilot.pause(2.5)  # (idle: time enough for more)
        first = ["aging panel", "deal detail", "deal form"]
        assert sorted(app.spares.ready) == first  # a board only looked at stays quiet
        for _ in range(6):  # keys keep coming: the board in use has not settled
            await press(pilot, "down", "up")
            await pilot.pause(0.3)
            assert not set(later) & set(app.spares.ready)
        # a board used for moves alone builds them once quiet: their first key finds them, no screen shown before
        await spares_ready(pilot, *later)
        assert sorted(app.spares.ready) == sorted([*first, *later])
        await press(pilot, "comma")
        assert isinstance(app.screen, PipelineSettingsScreen) and app.screen.built_ahead
        await press(pilot, "escape")


async def test_one_spare_form_serves_the_new_deal_and_the_edit_keys(db: Database) -> None:
    p = ps.create_pipeline(db, "Sales", "Lead,Won")
    deal = ds.create_deal(db, p.id, "Acme", user=U, owner="bob", company="Acme Inc")
    app = TuikanbanApp(db, U, "Sales")
    async with app.run_test(size=SIZE) as pilot:
        marks = presence_marks(app)
        await settle(pilot)
        await spares_ready(pilot, "deal form")
        assert "edit deal" not in app.spares.ready and "new deal" not in app.spares.ready
        await press(pilot, "n")
        new = app.screen
        assert isinstance(new, DealFormScreen) and new.built_ahead and new.deal_id is None
        await settle(pilot)
        assert str(new.query_one(".dialog", Vertical).border_title) == "New deal · Sales"
        assert new.query_one("#f-owner", Input).value == U
        assert marks == []  # a new deal is nobody's deal: no "editing" line for others
        await press(pilot, "escape")
        spare = await spare_ready(pilot, "deal form")
        await press(pilot, "e")
        form = app.screen
        assert form is spare and isinstance(form, DealFormScreen) and form.deal_id == deal.id
        await settle(pilot)
        assert form.query_one(".dialog", Vertical).border_title == f"Edit deal #{deal.id}"
        assert form.query_one("#f-owner", Input).value == "bob"  # the deal's owner, not the user's name
        assert form.query_one("#f-company", Input).value == "Acme Inc"
        assert marks == [("editing", deal.id)]
        await press(pilot, "escape")
        assert marks == [("editing", deal.id), ("editing", None)]


async def test_a_key_during_a_build_goes_before_the_builds_next_step(db: Database,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    ps.create_pipeline(db, "Sales", "Lead,Won")
    app = TuikanbanApp(db, U, "Sales")
    keys: list[float] = []
    layouts: list[float] = []
    build, lay_out = spares.build_screen, spares.lay_out

    async def built_while_a_key_came(app_: Any, screen: Any) -> None:
        await build(app_, screen)
        app_.spares.touch()  # (what a key pressed while the screen was composed does)
        keys.append(time.monotonic())

    def laid_out(screen: Any, size: Any) -> None:
        layouts.append(time.monotonic())
        lay_out(screen, size)

    monkeypatch.setattr(spares, "build_screen", built_while_a_key_came)
    monkeypatch.setattr(spares, "lay_out", laid_out)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await spares_ready(pilot, "deal detail")
        assert keys and layouts
        assert layouts[0] - keys[0] >= spares.IDLE_S  # the layout waited until no key had come for IDLE_S


async def test_a_key_read_from_the_terminal_holds_the_builds_and_the_warm_up_before_the_app_sees_it(
        db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    from textual import events

    from tuikanban.ui import jobs

    ps.create_pipeline(db, "Sales", "Lead,Won")
    app = TuikanbanApp(db, U, "Sales")
    monkeypatch.setattr(jobs, "_last_key", 0.0)
    driver = app.get_driver_class()(app, debug=False, mouse=False, size=(80, 24))
    sent: list[Any] = []
    driver.send_message = sent.append  # type: ignore[method-assign]  # (the event loop has not seen it yet)
    driver.process_message(events.Resize.from_dimensions((80, 24), None))
    assert jobs._last_key == 0.0 and app.spares._idle_in() == 0  # not a key: nothing held
    key = events.Key("m", "m")
    driver.process_message(key)  # (on the terminal's input thread, as the key is read)
    assert sent[-1] is key
    assert time.monotonic() - jobs._last_key < jobs.KEY_QUIET_S  # the warm-up steps aside (jobs.step_aside) ...
    assert app.spares._idle_in() > 0  # ... and no spare starts a build step before the key is handled


async def test_a_key_before_the_database_opens_finds_the_deal_and_its_form_built(
        db: Database, db_target: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from tuikanban.domain.targets import parse_target
    from tuikanban.store import fastread
    from tuikanban.ui.board import warm
    from tuikanban.ui.board.gateway import BoardGateway
    from tuikanban.ui.board.state import BoardState

    p = ps.create_pipeline(db, "Sales", "Lead,Won")
    acme = ds.create_deal(db, p.id, "Acme", user=U)
    release = threading.Event()

    def orm_job() -> None:  # the ORM's import, and the opening after it, under way until the test says
        release.wait(30)

    monkeypatch.setattr(warm, "orm_job", orm_job)
    where = parse_target(db_target)  # the app as `run_board` makes it: the database not open yet
    con, pipeline = fastread.first_read(where, None, None)
    gateway = BoardGateway(path=where, user=U, db=None, con=con, owns_db=True)
    app = TuikanbanApp(None, U, pipeline, None, db_path=where, gateway=gateway,
                       initial=gateway.load(pipeline, BoardState(), window=8))
    try:
        async with app.run_test(size=SIZE) as pilot:
            await spares_ready(pilot, "deal detail", "deal form")
            assert app.board_screen.session.db is None  # still opening
            spare = app.spares.ready["deal detail"].screen
            await pilot.press("enter")
            await pilot.pause()
            assert app.screen is spare
            release.set()
            for _ in range(500):  # (what it shows: read at the key, the database opened meanwhile or not)
                if title_of(app.screen) == acme.title:
                    break
                await asyncio.sleep(0.02)
                await pilot.pause()
            assert title_of(app.screen) == acme.title
    finally:
        release.set()


async def test_the_settings_spare_is_filled_ahead_and_its_key_shows_the_pipeline_as_it_is_at_the_key(
        db: Database) -> None:
    """The spare is filled (and drawn) in idle time, so that its key only shows it; the key reads again, and a
    change made after the spare was filled is what the screen shows."""
    p = ps.create_pipeline(db, "Sales", "Lead,Won")
    app = TuikanbanApp(db, U, "Sales")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "comma", "escape")  # (made at its key: the settings' spare is built after a screen)
        await spares_ready(pilot, "settings")
        await settle(pilot)
        spare = app.spares.ready["settings"].screen
        assert isinstance(spare, PipelineSettingsScreen)
        table = spare.query_one("#stage-table", DataTable)
        assert [str(table.get_row_at(i)[1]) for i in range(table.row_count)] == ["Lead", "Won"]
        assert spare.query_one("#pp-name", Input).value == "Sales"
        lead = next(s for s in ps.list_stages(db, p.id) if s.name == "Lead")
        ps.rename_stage(db, p.id, lead.id, "Qualified")  # another rep, after the spare was filled
        await press(pilot, "comma")
        assert app.screen is spare
        await settle(pilot)
        assert [str(table.get_row_at(i)[1]) for i in range(table.row_count)] == ["Qualified", "Won"]
        await press(pilot, "escape")


async def test_the_today_screen_opens_the_deal_in_the_detail_built_ahead(db: Database, fixed_now: str) -> None:
    """Enter on a Today line takes the board's spare deal detail (the same user's), given the line's deal, as the
    board's enter does; a line opened with no spare ready composes its detail as before."""
    from tuikanban.ui.screens.today import TodayScreen

    ps.create_pipeline(db, "Sales", "Lead,Won")
    deal = ds.create_deal(db, "Sales", "Acme", user=U, owner=U)  # no next step: on the Today queue
    app = TuikanbanApp(db, U, "Sales")
    async with app.run_test(size=SIZE) as pilot:
        spare = await spare_ready(pilot, "deal detail")
        await press(pilot, "t")
        today = app.screen
        assert isinstance(today, TodayScreen)
        for _ in range(100):
            if today.items:
                break
            await pilot.pause(0.02)
        await press(pilot, "enter")
        detail = app.screen
        assert detail is spare and isinstance(detail, DealDetailScreen) and detail.deal_id == deal.id
        assert title_of(detail) == "Acme" and detail.query_one(HereLine).deal_id == deal.id
        assert "deal detail" not in app.spares.ready  # taken: one open per spare
        await press(pilot, "escape")
        await press(pilot, "enter")  # (no spare is built while Today covers the board)
        again = app.screen
        assert isinstance(again, DealDetailScreen) and again is not spare and again.deal_id == deal.id
        await press(pilot, "escape")
        assert app.screen is today


def open_counts(screen: PipelineSettingsScreen) -> dict[str, str]:
    """The settings' stage table: stage name -> its "Open" cell, as shown."""
    table = screen.query_one("#stage-table", DataTable)
    return {str(table.get_row_at(i)[1]): str(table.get_row_at(i)[2]) for i in range(table.row_count)}


async def test_the_settings_show_the_boards_counters_as_they_are_at_the_key_after_another_process_moved_a_deal(
        db: Database, db_target: str) -> None:
    """The settings take the open deals per stage from the board's counters (handed down, not counted again): after
    another process moved a deal, the board's feed updates its counters and the key shows those, not the counts the
    spare was filled with."""
    p = ps.create_pipeline(db, "Sales", "Lead,Demo,Won")
    moved = ds.create_deal(db, p.id, "Acme", user=U)
    ds.create_deal(db, p.id, "Beta", user=U)
    app = TuikanbanApp(db, U, "Sales")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "comma", "escape")  # (made at its key: the settings' spare is built after a screen)
        spare = await spare_ready(pilot, "settings")
        assert isinstance(spare, PipelineSettingsScreen)
        assert open_counts(spare) == {"Lead": "2", "Demo": "0", "Won": "0"}  # (filled ahead)
        other = open_database(db_target)
        try:
            ds.move_deal(other, moved.id, "Demo", user="dana")
        finally:
            other.close()
        demo = next(s.id for s in ps.list_stages(db, p.id) if s.name == "Demo")
        for _ in range(100):  # the board's feed brings the move: its counters follow
            await asyncio.sleep(0.05)
            await settle(pilot)
            model = app.board_screen.model
            if model is not None and model.count(demo) == 1:
                break
        else:
            raise AssertionError("the board's counters did not follow the other process's move")
        await press(pilot, "comma")
        assert app.screen is spare
        await settle(pilot)
        assert open_counts(spare) == {"Lead": "1", "Demo": "1", "Won": "0"}
        await press(pilot, "escape")


async def test_the_settings_built_ahead_do_not_count_the_pipelines_open_deals_again(
        db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    """The board holds the open deals per stage: neither the spare's fill nor its key runs the per-stage count over
    the pipeline's open deals (at 100,000 open deals, 45-80 ms after the first paint); a screen opened without
    them (no board) still counts them itself."""
    p = ps.create_pipeline(db, "Sales", "Lead,Won")
    ds.create_deal(db, p.id, "Acme", user=U)
    counted: list[int] = []
    whole = fastread.stage_totals

    def counting(con: Any, pipeline_id: int, stage_id: int | None = None) -> dict[int, tuple[int, int]]:
        if stage_id is None:  # (the aggregate over all the pipeline's open deals, not one stage's)
            counted.append(pipeline_id)
        return whole(con, pipeline_id, stage_id)

    monkeypatch.setattr(fastread, "stage_totals", counting)
    app = TuikanbanApp(db, U, "Sales")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "question_mark", "escape")  # (a screen shown: the settings' spare is built)
        spare = await spare_ready(pilot, "settings")
        assert isinstance(spare, PipelineSettingsScreen)
        await press(pilot, "comma")
        assert app.screen is spare
        await settle(pilot)
        assert open_counts(spare) == {"Lead": "1", "Won": "0"}
        assert counted == []
        await press(pilot, "escape")
        await app.push_screen(PipelineSettingsScreen(db, p.id, U))  # (opened from elsewhere: no board's counts)
        await settle(pilot)
        assert open_counts(app.screen) == {"Lead": "1", "Won": "0"}  # type: ignore[arg-type]
        assert counted == [p.id]
