"""The board's aging side (issues 3 and 4): risk marks and level colours on the cards, the aging panel following the
board (filter, live reloads, its own keys), and the meaning of it all in the deal detail and the `?` help.

The clock is fixed (TUIKANBAN_NOW = 2026-03-02 12:00 UTC) and the history is back-filled with the services' `at=`
arguments; every expected level and mark below is worked out by hand in the fixture's comment.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from rich.segment import Segment
from textual.pilot import Pilot
from textual.widgets import Input, Static

from board_helpers import press, settle
from tuikanban.domain.aging import signal_marks
from tuikanban.services import deals as ds
from tuikanban.services import pipelines as ps
from tuikanban.services.aging import aging_report
from tuikanban.store.engine import Database, open_database
from tuikanban.ui.app import TuikanbanApp
from tuikanban.ui.board.aging_sync import AgingSync
from tuikanban.ui.board.footer import BoardFooter, KeyLine
from tuikanban.ui.board.keys import help_sections
from tuikanban.ui.board.view import BoardView
from tuikanban.ui.widgets.aging_panel import AgingPanel, AgingTable

pytestmark = pytest.mark.engines  # the tests that use a database run on SQLite and on PostgreSQL

SIZE = (160, 45)

# -- fixture ------------------------------------------------------------------------------------------------------
#
# Pipeline "Sales": Lead, Proposal (expected days 10), Closing; stale days 10 (the default). Now: 03-02 12:00.
#
# Lead's baseline comes from its history: H1, H2, H3 were created in Lead on 02-01 12:00 and moved on after 2, 4 and
# 6 days (then won), so three Lead stays ended in the last 180 days: average (2 + 4 + 6) / 3 = 4 days.
#
#   deal      stage     in stage since  days  baseline  days/baseline  level    signals                     marks
#   Atlas     Lead      02-26 12:00     4     4         1.0            ok       -                           ""
#   Borealis  Lead      02-24 12:00     6     4         1.5            aging    no_value (no value)         "∅"
#   Cobalt    Proposal  02-08 12:00     22    10        2.2            stalled  no_activity, past_close,    "◌!»"
#                                                                               close_pushed
#   Dynamo    Lead      02-24 00:00     6.5   4         1.625          aging    -                           ""
#
# Cobalt: close date 02-15, pushed to 02-20 on 02-09 and to 02-28 on 02-10 (two pushes; 02-28 is before today);
# its last event is the 02-10 edit, 20 days ago (>= 10: no_activity). Atlas closes 03-20; nobody else has a date.
# The others were touched at creation, at most 6.5 days ago (< 10).
#
# Aging panel (aging, stalled or with a signal, by days / baseline): Cobalt 2.2, Dynamo 1.625, Borealis 1.5.


@pytest.fixture
def sales(db: Database, fixed_now: str) -> dict[str, int]:
    p = ps.create_pipeline(db, "Sales", ["Lead", "Proposal", "Closing"])
    ps.set_stage(db, p.id, "Proposal", expected_days=10)
    # these tests are about the levels and the four deal-field signals; no_next_step (no open task) is tested in
    # tests/test_tasks.py, so it is off here
    ps.update_pipeline(db, p.id, next_step_signal=False)
    for title, moved in (("H1", "2026-02-03T12:00"), ("H2", "2026-02-05T12:00"), ("H3", "2026-02-07T12:00")):
        h = ds.create_deal(db, p.id, title, user="tester", value="100", at="2026-02-01T12:00")
        ds.move_deal(db, h.id, "Closing", user="tester", at=moved)
        ds.win_deal(db, h.id, user="tester", at="2026-02-08T12:00")
    cobalt = ds.create_deal(db, p.id, "Cobalt", user="tester", stage="Proposal", value="50000", owner="ann",
                            close="2026-02-15", at="2026-02-08T12:00")
    ds.edit_deal(db, cobalt.id, {"close": "2026-02-20"}, user="tester", at="2026-02-09T12:00")
    ds.edit_deal(db, cobalt.id, {"close": "2026-02-28"}, user="tester", at="2026-02-10T12:00")
    dynamo = ds.create_deal(db, p.id, "Dynamo", user="tester", value="500", owner="carol", at="2026-02-24T00:00")
    borealis = ds.create_deal(db, p.id, "Borealis", user="tester", owner="bob", at="2026-02-24T12:00")
    atlas = ds.create_deal(db, p.id, "Atlas", user="tester", value="1000", owner="ann", close="2026-03-20",
                           at="2026-02-26T12:00")
    return {"pipeline": p.id, "atlas": atlas.id, "borealis": borealis.id, "cobalt": cobalt.id, "dynamo": dynamo.id}


# -- helpers ------------------------------------------------------------------------------------------------------






async def wait_for(pilot: Pilot[Any], condition: Any, what: str) -> None:
    for _ in range(60):
        await asyncio.sleep(0.05)
        await settle(pilot)
        if condition():
            return
    raise AssertionError(f"timed out waiting for {what}")


def view_of(app: TuikanbanApp) -> BoardView:
    return app.board_screen.view


def card_top(app: TuikanbanApp, title: str) -> list[Segment]:
    """The segments of the first line of the card titled `title` (the line with the marks and the badge)."""
    view = view_of(app)
    for y in range(view.size.height):
        strip = view.render_line(y)
        if title in strip.text:
            segments = list(strip)
            start = next(i for i, s in enumerate(segments) if title in s.text)
            end = next(i for i in range(start, len(segments)) if segments[i].text.endswith("d")
                       and segments[i].text[:-1].isdigit())
            return segments[start:end + 1]
    raise AssertionError(f"no card titled {title!r} on screen")


def colour(segment: Segment) -> str:
    assert segment.style is not None and segment.style.color is not None
    assert segment.style.color.triplet is not None
    return segment.style.color.triplet.hex.lower()


def badge(app: TuikanbanApp, title: str) -> tuple[str, str, str]:
    """(marks, badge text, badge level) of a card, the level read back from the badge's colour."""
    segments = card_top(app, title)
    marks = "".join(s.text for s in segments[1:-1]).strip()
    days = segments[-1]
    variables = app.theme_variables
    by_colour = {variables["tk-aging"].lower()[:7]: "aging", variables["tk-stalled"].lower()[:7]: "stalled"}
    level = by_colour.get(colour(days), "ok")
    if marks:
        mark_segment = next(s for s in segments[1:-1] if s.text.strip())
        assert colour(mark_segment) == variables["tk-aging"].lower()[:7]  # the marks' colour is a theme variable
    return marks, days.text, level


def panel_rows(app: TuikanbanApp) -> list[str]:
    table = app.board_screen.query_one(AgingTable)
    return [table.get_row_at(i)[0].plain for i in range(table.row_count)] if table.display else []


def new_app(db: Database) -> TuikanbanApp:
    app = TuikanbanApp(db, "tester")
    app.theme = "textual-dark"  # a theme without tk-* overrides: the defaults ($warning, $error) apply
    return app


# -- the cards ----------------------------------------------------------------------------------------------------


async def test_cards_show_risk_marks_and_level_colours_from_the_core(db: Database, sales: dict[str, int]) -> None:
    app = new_app(db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert badge(app, "Atlas") == ("", "4d", "ok")
        assert badge(app, "Borealis") == ("∅", "6d", "aging")
        assert badge(app, "Cobalt") == ("◌!»", "22d", "stalled")
        assert badge(app, "Dynamo") == ("", "6d", "aging")
        # the data is the core's: the same function gives the CLI its report
        report = {i.id: (i.stage_id, i.level.value, signal_marks(i.signals)) for i in aging_report(db, "Sales")}
        assert view_of(app).aging == report
        assert report[sales["cobalt"]][1:] == ("stalled", "◌!»")


def _painted(app: Any, title: str) -> bool:
    try:
        badge(app, title)
    except AssertionError:
        return False
    return True


async def test_the_first_paint_does_not_wait_for_the_aging(db: Database, sales: dict[str, int]) -> None:
    # The aging is read on the board's database thread after the board: hold that read back, and the board is
    # painted (and answers keys) with plain badges; let it go, and the colours and marks appear.
    app = new_app(db)
    release = threading.Event()
    original = app.gateway.aging

    def held_aging(*args: Any) -> Any:
        release.wait(10)
        return original(*args)

    app.gateway.aging = held_aging  # type: ignore[method-assign]
    async with app.run_test(size=SIZE) as pilot:
        for _ in range(500):  # until the database is open and the board painted (the aging stays held)
            await pilot.pause(0.01)
            if app.board_screen.db is not None and app.board_screen.busy and _painted(app, "Cobalt"):
                break
        assert badge(app, "Cobalt") == ("", "22d", "ok")  # painted, without the aging yet
        assert view_of(app).aging == {}
        await pilot.press("right")  # keys work meanwhile
        assert view_of(app).focused_card is not None and view_of(app).focused_card.title == "Cobalt"
        release.set()
        await settle(pilot)
        assert badge(app, "Cobalt") == ("◌!»", "22d", "stalled")


async def test_marks_follow_moves_and_the_baselines_they_shift(
    db: Database, sales: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(AgingSync, "SETTLE_S", 0.05)
    app = new_app(db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        view = view_of(app)
        # Cobalt back to Lead: 0 days in stage (ok); the move is an event, so no_activity goes; the close date
        # signals stay.
        assert view.focus_on(sales["cobalt"])
        await press(pilot, "shift+left")
        assert ds.get_deal(db, sales["cobalt"]).stage_name == "Lead"
        assert badge(app, "Cobalt") == ("!»", "0d", "ok")
        # Borealis on to Proposal: 0 days, still no value. Its Lead stay (6 days) ended: Lead's baseline becomes
        # (2 + 4 + 6 + 6) / 4 = 4.5, so Dynamo (6.5 days) drops from aging (1.625) to ok (6.5 / 4.5 = 1.44), which
        # the full read after the writes shows.
        assert view.focus_on(sales["borealis"])
        await press(pilot, "shift+right")
        assert badge(app, "Borealis") == ("∅", "0d", "ok")
        await wait_for(pilot, lambda: view.aging[sales["dynamo"]][1] == "ok", "the full aging read")
        assert {i.id: i for i in aging_report(db, "Sales")}[sales["dynamo"]].baseline_days == 4.5
        assert badge(app, "Dynamo") == ("", "6d", "ok")
        assert badge(app, "Atlas") == ("", "4d", "ok")
        # won: the deal leaves the board and the aging
        assert view.focus_on(sales["atlas"])
        await press(pilot, "w", "y")
        assert sales["atlas"] not in view.aging


async def test_marks_follow_edits_and_activities(db: Database, sales: dict[str, int]) -> None:
    from tuikanban.ui.screens.deal_detail import DealDetailScreen
    from tuikanban.ui.screens.deal_form import DealFormScreen

    app = new_app(db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        view = view_of(app)
        # a value for Borealis: no_value goes
        assert view.focus_on(sales["borealis"])
        await press(pilot, "e")
        assert isinstance(app.screen, DealFormScreen)
        app.screen.query_one("#f-value", Input).value = "2500"
        await pilot.pause()
        await press(pilot, "ctrl+s")
        assert app.screen is app.board_screen
        assert badge(app, "Borealis") == ("", "6d", "aging")
        # a note logged on Cobalt from its detail: no_activity goes
        assert view.focus_on(sales["cobalt"])
        await press(pilot, "enter")
        assert isinstance(app.screen, DealDetailScreen)
        await press(pilot, "a")
        await pilot.press(*"Called the buyer")
        await press(pilot, "enter", "escape")
        assert app.screen is app.board_screen
        assert badge(app, "Cobalt") == ("!»", "22d", "stalled")


# -- the panel ----------------------------------------------------------------------------------------------------


async def test_panel_keeps_a_deal_just_written_with_its_re_read_aging(
    db: Database, sales: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Only the written deal's own re-read may reach the panel here: the full read that follows once the writes
    # pause is pushed out of the test's reach.
    monkeypatch.setattr(AgingSync, "SETTLE_S", 600)
    app = new_app(db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "a")
        assert panel_rows(app) == ["Cobalt", "Dynamo", "Borealis"]
        view = view_of(app)
        assert view.focus_on(sales["cobalt"])
        view.focus()  # (the panel took the focus; the move key acts on the board's card)
        await press(pilot, "shift+right")
        assert ds.get_deal(db, sales["cobalt"]).stage_name == "Closing"
        # Cobalt in Closing: 0 days in stage (ok, severity 0), the move is an event (no_activity goes), the close
        # date signals stay: still listed, at risk, now last by severity, with the stage and marks re-read.
        assert panel_rows(app) == ["Dynamo", "Borealis", "Cobalt"]
        table = app.board_screen.query_one(AgingTable)
        row = table.get_row(str(sales["cobalt"]))
        assert [c.plain for c in (row[1], row[4], row[5])] == ["Closing", "ok", "!»"]
        assert "0 stalled · 2 aging · 1 at risk" in str(app.board_screen.query_one("#aging-title", Static).render())


async def test_panel_follows_the_filter_and_live_changes(db: Database, sales: dict[str, int], db_target: str) -> None:
    app = new_app(db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "a")
        panel = app.board_screen.query_one(AgingPanel)
        assert panel_rows(app) == ["Cobalt", "Dynamo", "Borealis"]
        # the board's filter, typed in the filter bar: the panel narrows with the board
        await press(pilot, "slash")
        await pilot.press(*"owner:ann")
        await press(pilot, "enter")
        assert panel_rows(app) == ["Cobalt"]
        assert "owner:ann" in str(panel.query_one("#aging-title", Static).render())
        app.board_screen.apply_filter("bob")
        await settle(pilot)
        assert panel_rows(app) == ["Borealis"]
        app.board_screen.apply_filter("owner:ann")
        await settle(pilot)
        # another process moves Atlas's close date to yesterday: past_close, so it joins the list (ann's)
        other = open_database(db_target)
        try:
            ds.edit_deal(other, sales["atlas"], {"close": "2026-03-01"}, user="dana")
        finally:
            other.close()
        await wait_for(pilot, lambda: panel_rows(app) == ["Cobalt", "Atlas"], "the live update")
        assert badge(app, "Atlas") == ("!", "4d", "ok")
        # clearing the filter brings everyone back (escape on the board clears it; the panel stays open)
        app.board_screen.apply_filter("")
        await settle(pilot)
        assert panel_rows(app) == ["Cobalt", "Dynamo", "Borealis", "Atlas"]


async def test_panel_keys_up_down_tab_enter_escape(db: Database, sales: dict[str, int]) -> None:
    app = new_app(db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        view = view_of(app)
        board_deal = view.focus_deal
        await press(pilot, "a")  # the panel opens with the focus on its list
        table = app.board_screen.query_one(AgingTable)
        assert table.has_focus and table.cursor_row == 0
        await press(pilot, "down")
        assert table.cursor_row == 1 and view.focus_deal == board_deal  # the list moved, not the board
        await press(pilot, "j")
        assert table.cursor_row == 2
        await press(pilot, "k", "up")
        assert table.cursor_row == 0
        col = view.focus_col
        await press(pilot, "l", "shift+right")  # the board's card keys wait while the panel has the focus
        assert view.focus_col == col and view.focus_deal == board_deal
        assert ds.get_deal(db, board_deal or 0).stage_name == "Lead"
        # tab: to the board (down moves the board now), shift+tab: back to the list, where it was
        await press(pilot, "tab")
        assert view.has_focus
        await press(pilot, "down")
        assert view.focus_deal != board_deal and table.cursor_row == 0
        await press(pilot, "shift+tab")
        assert table.has_focus
        # enter on Dynamo's row shows it on the board
        await press(pilot, "down", "enter")
        assert view.focus_deal == sales["dynamo"] and view.has_focus
        # escape closes the panel
        await press(pilot, "shift+tab")
        assert table.has_focus
        await press(pilot, "escape")
        assert app.board_screen.aging_panel is None and view.has_focus
        assert not any(panel.display for panel in app.board_screen.query(AgingPanel))  # (a spare is hidden)


# -- help and detail ------------------------------------------------------------------------------------------------


async def test_help_explains_marks_and_level_colours(db: Database, sales: dict[str, int]) -> None:
    from tuikanban.ui.screens.help import HelpScreen

    rows = {str(key): what for _title, section in help_sections() for key, what in section}
    assert rows["◌"] == "No activity or change for the pipeline's stale days (no_activity)"
    assert rows["!"] == "Expected close date has passed (past_close)"
    assert rows["»"] == "Expected close date pushed later twice or more (close_pushed)"
    assert rows["∅"] == "No value set (no_value)"
    assert rows["11d"].startswith("aging: ") and rows["15d"].startswith("stalled: ")
    assert rows["tab / ⇧tab"] and rows["↑ / ↓, k / j"]
    app = new_app(db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "question_mark")
        assert isinstance(app.screen, HelpScreen)
        text = "\n".join(str(w.visual) for w in app.screen.query(".help-rows"))  # type: ignore[attr-defined]
        assert "∅" in text and "Expected close date has passed" in text and "stalled: In the stage for 2 x" in text


async def test_detail_shows_level_days_against_baseline_and_signals_in_words(
    db: Database, sales: dict[str, int]
) -> None:
    from tuikanban.ui.screens.deal_detail import DealDetailScreen

    app = new_app(db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert view_of(app).focus_on(sales["cobalt"])
        await press(pilot, "enter")
        assert isinstance(app.screen, DealDetailScreen)
        text = str(app.screen.query_one("#detail-aging", Static).visual)
        assert " stalled " in text
        assert "22 days in Proposal against a baseline of 10 days (the stage's expected days): 2.2 x" in text
        assert "◌ No activity or change for 10 days" in text
        assert "! Expected close date has passed" in text
        assert "» Expected close date pushed later twice or more" in text
        await press(pilot, "escape")
        assert view_of(app).focus_on(sales["atlas"])
        await press(pilot, "enter")
        text = str(app.screen.query_one("#detail-aging", Static).visual)
        assert " ok " in text and "4 days in Lead against a baseline of 4 days (the average stay" in text
        assert "No risk signals." in text


# -- the footer -----------------------------------------------------------------------------------------------------


async def test_footer_shows_every_spec_key_wide_and_on_two_lines_when_narrow(
    db: Database, sales: dict[str, int]
) -> None:
    spec_actions = {"column(-1)", "column(1)", "card(-1)", "card(1)", "move(-1)", "move(1)", "reorder(-1)",
                    "reorder(1)", "new_deal", "open_deal", "won", "lost", "aging", "metrics", "lanes", "pipeline",
                    "filter", "undo", "help", "command_palette", "close", "quit"}
    for width, rows in ((160, 1), (100, 2)):
        app = new_app(db)
        async with app.run_test(size=(width, 40)) as pilot:
            await settle(pilot)
            footer = app.board_screen.query_one(BoardFooter)
            assert footer.rows_used == rows
            lines = [line for line in footer.query(KeyLine) if line.display]  # the palette is one too
            assert len(lines) == rows + 1
            drawn = [(line, span) for line in lines for span in line.spans]
            assert spec_actions <= {span.key.binding.action for _line, span in drawn}
            for line, span in drawn:  # each key is on screen: inside its line, which is inside the terminal
                assert 0 <= span.start < span.end <= line.region.width and line.region.right <= width
                assert line.render().plain[span.start:span.end].startswith(app.get_key_display(span.key.binding))
            # and none runs into "^p palette" (docked right after its rule): at least one blank cell before the rule
            palette = footer.query_one("#footer-palette")
            first = footer.query_one("#footer-line-1")
            assert palette.region.y == first.region.y
            last_end = max(span.end for span in first.spans)
            assert first.region.x + last_end < palette.region.x, (last_end, first.region, palette.region)



# The keys of the metrics and review screens that the README lists for them (the metrics' `r`, which the figures
# do not need since they follow the team's commits, is the first to give way).
SCREEN_KEYS = {
    "m": {"back", "app.quit", "window(30)", "window(90)", "window(180)", "window(365)", "next_pipeline", "mine"},
    "v": {"back", "period('7d')", "period('monday')", "period('review')", "period('30d')", "closing"},
}


@pytest.mark.parametrize("width", [80, 100, 160])
async def test_the_metrics_and_review_footers_show_their_keys_down_to_80_columns(
    db: Database, sales: dict[str, int], width: int
) -> None:
    """At 80 columns Textual's footer cut the metrics keys after `p P` (and the review's `c`): these screens use
    the board's footer, which lets the extra keys give way and then wraps onto a second line."""
    app = new_app(db)
    async with app.run_test(size=(width, 40)) as pilot:
        await settle(pilot)
        for key, wanted in SCREEN_KEYS.items():
            await press(pilot, key)
            screen = app.screen
            footer = screen.query_one(BoardFooter)
            lines = [line for line in footer.query(KeyLine) if line.display]
            drawn = [(line, span) for line in lines for span in line.spans]
            assert wanted <= {span.key.binding.action for _line, span in drawn}, key
            for line, span in drawn:  # inside its line, which is inside the terminal
                assert 0 <= span.start < span.end <= line.region.width and line.region.right <= width
                shown = line.render().plain[span.start:span.end]
                assert shown.startswith(app.get_key_display(span.key.binding)), shown
            palette = footer.query_one("#footer-palette")
            first = footer.query_one("#footer-line-1", KeyLine)
            assert first.region.x + max(span.end for span in first.spans) < palette.region.x
            if width >= 160:
                assert footer.rows_used == 1 and footer.showing_extras
            await press(pilot, "escape")


async def test_panel_lists_the_most_severe_two_hundred_and_counts_the_rest(
    db: Database, sales: dict[str, int]
) -> None:
    # 250 stalled deals in one stage (baseline 10): deal k has been there 20 + k days, so the most severe are the
    # oldest; the list keeps the 200 oldest (k = 249 down to 50), the title counts all 250.
    from tuikanban.domain.aging import AgingItem, AgingSnapshot, Baseline, BaselineSource, Level, StageAging
    from tuikanban.ui.widgets.aging_panel import MAX_ROWS

    items = [AgingItem(id=1000 + k, title=f"Deal {k}", stage="Proposal", stage_id=1, owner="ann", type_name=None,
                       company="", value_minor=100, currency="USD", days_in_stage=20.0 + k, baseline_days=10.0,
                       level=Level.STALLED, signals=(), severity=(20.0 + k) / 10.0) for k in reversed(range(250))]
    snap = AgingSnapshot(1, "Big", 10, [StageAging(1, "Proposal", 0, Baseline(10.0, BaselineSource.EXPECTED))],
                         items)
    app = new_app(db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        panel = AgingPanel(id="big")
        await app.board_screen.query_one("#body").mount(panel)
        panel.show_snapshot(snap)
        await pilot.pause()
        table = panel.query_one(AgingTable)
        assert MAX_ROWS == 200 and table.row_count == 200
        assert table.get_row_at(0)[0].plain == "Deal 249" and table.get_row_at(199)[0].plain == "Deal 50"
        assert "the 200 most severe of 250 listed" in str(panel.query_one("#aging-title", Static).render())
