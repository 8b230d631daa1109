"""The rep's day on the board: next steps on the cards, logging in one key, snooze and delete, and the Today screen
(`t`). By hand, on Monday 2026-03-02 12:00 UTC (the `fixed_now` clock)."""

from __future__ import annotations

from datetime import date

import pytest

from board_helpers import press, settle
from tuikanban.domain.tasks import split_date_line, split_log_line
from tuikanban.services import pipelines as ps
from tuikanban.services.deals import create_deal, get_deal
from tuikanban.services.tasks import add_task, list_tasks, next_steps
from tuikanban.store.engine import Database
from tuikanban.ui.app import TuikanbanApp
from tuikanban.ui.board.card import owner_line, step_text
from tuikanban.ui.screens.today import TodayScreen
from tuikanban.ui.widgets.log_bar import LogBar

pytestmark = pytest.mark.engines  # the tests that use a database run on SQLite and on PostgreSQL

SIZE = (140, 40)
MONDAY = date(2026, 3, 2)


@pytest.fixture
def day(db: Database, fixed_now: str) -> dict[str, int]:
    """Sales: Lead, Qualified. "Acme" (tester's) has a task 3 days overdue; "Birch" (tester's) none; "Cedar"
    (bob's) a task on Friday."""
    ps.create_pipeline(db, "Sales", ["Lead", "Qualified"])
    ids = {name: create_deal(db, "Sales", name, user="tester", owner=owner, value="100").id
           for name, owner in (("Acme", "tester"), ("Birch", "tester"), ("Cedar", "bob"))}
    ids["t_acme"] = add_task(db, ids["Acme"], "Send the quote", "2026-02-27", user="tester").id
    ids["t_cedar"] = add_task(db, ids["Cedar"], "Demo", "fri", user="bob").id
    return ids


def card_text(app: TuikanbanApp) -> str:
    view = app.board_screen.view
    return "\n".join(view.render_line(y).text for y in range(view.size.height))


def test_log_line_and_date_line_syntax() -> None:
    assert split_log_line("Talked to Ann >> fri send the quote") == ("Talked to Ann", "fri", "send the quote")
    assert split_log_line("Left a message >> +3d") == ("Left a message", "+3d", "Follow up")
    assert split_log_line("Just a note") == ("Just a note", None, None)
    assert split_log_line("Nothing next >>  ") == ("Nothing next", None, None)
    assert split_date_line("+2w back from holiday") == ("+2w", "back from holiday")
    assert split_date_line("eom") == ("eom", None)


def test_step_text_on_a_card(db: Database, day: dict[str, int]) -> None:
    steps = next_steps(db, [day["Acme"], day["Birch"], day["Cedar"]], today=MONDAY)
    assert step_text(steps[day["Acme"]], MONDAY) == ("3d late", "step-late")  # due Fri 02-27: 3 days
    assert step_text(steps[day["Birch"]], MONDAY) == ("", "")  # missing: the risk mark says so
    assert step_text(steps[day["Cedar"]], MONDAY) == ("→Fri", "card-muted")  # 03-06, within the week
    assert step_text(None, MONDAY) == ("", "")  # not read yet


def test_owner_line_keeps_the_owner_whole() -> None:
    # 20 cells: "@frances" (8) + " " + "3d late" (7) fits; the close date (6) would cut the owner: dropped
    left, pieces = owner_line("@frances", [("3d late", "step-late"), ("12 Mar", "card-muted")], 20)
    assert left == "@frances     " and pieces == [("3d late", "step-late")]
    left, pieces = owner_line("@frances", [("3d late", "step-late"), ("12 Mar", "card-muted")], 30)
    assert left.strip() == "@frances" and [t for t, _s in pieces] == ["3d late", "12 Mar"]
    assert len(left) + len("3d late 12 Mar") == 30


async def test_cards_show_next_steps_after_the_first_paint(db: Database, day: dict[str, int]) -> None:
    app = TuikanbanApp(db, "tester", "Sales")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        text = card_text(app)
        assert "@tester" in text and "3d late" in text and "→Fri" in text


async def test_call_logged_from_the_board_with_a_next_step(db: Database, day: dict[str, int]) -> None:
    app = TuikanbanApp(db, "tester", "Sales")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.board_screen.view.focused_card is not None
        focused = app.board_screen.view.focused_card.id
        await press(pilot, "C")
        bar = app.board_screen.query_one(LogBar)
        assert bar.kind == "call" and bar.deal_id == focused
        for key in "Rang them >> bogus":
            await pilot.press("space" if key == " " else key)
        await press(pilot, "enter")
        # refused: said in the bar, which keeps the text
        assert app.board_screen.query(LogBar) and "bogus" in str(bar.query_one("#log-error").render())
        await press(pilot, *["backspace"] * 5, "+", "3", "d", "enter")
        assert not app.board_screen.query(LogBar)
        await settle(pilot)
        tasks = list_tasks(db, deal_id=focused)
        assert [(t.text, t.due) for t in tasks if t.due == date(2026, 3, 5)] == [("Follow up", date(2026, 3, 5))]


async def test_snooze_leaves_the_board_and_delete_asks_then_undo(db: Database, day: dict[str, int]) -> None:
    app = TuikanbanApp(db, "tester", "Sales")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = app.board_screen
        first = screen.view.focused_card
        assert first is not None
        await press(pilot, "z")
        for key in "fri":
            await pilot.press(key)
        await press(pilot, "enter")
        await settle(pilot)
        assert get_deal(db, first.id).snoozed_until == date(2026, 3, 6)
        assert screen.model is not None and screen.model.locate(first.id) is None
        screen.apply_filter("snoozed:yes")
        await settle(pilot)
        assert screen.model.locate(first.id) is not None
        screen.apply_filter("")
        await settle(pilot)
        target = screen.view.focused_card
        assert target is not None and target.id != first.id
        await press(pilot, "D")
        assert "Delete deal" in str(app.screen.query_one(".dialog").border_title)
        await press(pilot, "y")
        assert get_deal(db, target.id).status == "deleted"
        assert screen.model.locate(target.id) is None
        await press(pilot, "u")
        assert get_deal(db, target.id).status == "open"


async def test_a_deal_snoozed_until_friday_is_back_on_the_board_on_friday(db: Database, day: dict[str, int],
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    app = TuikanbanApp(db, "tester", "Sales")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.board_screen.view.focus_on(day["Birch"])
        await press(pilot, "z", "f", "r", "i", "enter")
        await settle(pilot)
        assert "Birch" not in card_text(app)
    monkeypatch.setenv("TUIKANBAN_NOW", "2026-03-05T23:59:00+00:00")  # Thursday night: still away
    thursday = TuikanbanApp(db, "tester", "Sales")
    async with thursday.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert "Birch" not in card_text(thursday) and "Acme" in card_text(thursday)
    monkeypatch.setenv("TUIKANBAN_NOW", "2026-03-06T08:00:00+00:00")  # Friday: back, with nothing run between
    friday = TuikanbanApp(db, "tester", "Sales")
    async with friday.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert "Birch" in card_text(friday)
        assert friday.board_screen.view.focus_on(day["Birch"])


async def test_z_on_a_snoozed_deal_wakes_it_with_an_empty_line_and_u_snoozes_it_again(db: Database,
                                                                                     day: dict[str, int]) -> None:
    from tuikanban.services.lifecycle import snooze_deal

    snooze_deal(db, day["Birch"], "fri", user="tester")
    app = TuikanbanApp(db, "tester", "Sales")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = app.board_screen
        screen.apply_filter("snoozed:yes")
        await settle(pilot)
        assert screen.view.focus_on(day["Birch"])
        await press(pilot, "z")
        assert "snoozed until 2026-03-06. Leave the line empty to wake it now" in str(
            app.screen.query_one("#ask-prompt").render())
        await press(pilot, "enter")
        await settle(pilot)
        assert get_deal(db, day["Birch"]).snoozed_until is None
        screen.apply_filter("")
        await settle(pilot)
        assert "Birch" in card_text(app)
        await press(pilot, "u")  # the wake undone: snoozed until Friday again
        await settle(pilot)
        assert get_deal(db, day["Birch"]).snoozed_until == date(2026, 3, 6)
        assert "Birch" not in card_text(app)


async def test_today_screen_done_with_next_step(db: Database, day: dict[str, int]) -> None:
    app = TuikanbanApp(db, "tester", "Sales")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "t")
        await settle(pilot)
        today = app.screen
        assert isinstance(today, TodayScreen)
        # tester's: Acme's overdue task, then Birch without a next step (Cedar is bob's)
        assert [(i.kind, i.title) for i in today.items.values()] == [("overdue", "Acme"), ("no_next_step", "Birch")]
        await press(pilot, "a")
        await settle(pilot)
        assert {i.title for i in today.items.values()} == {"Acme", "Birch"}  # Cedar's task is not due yet
        await press(pilot, "d")
        for key in "Sent":
            await pilot.press(key)
        await press(pilot, "enter", "+", "1", "w", "enter")
        for key in "Chase":
            await pilot.press(key)
        await press(pilot, "enter")
        await settle(pilot)
        tasks = list_tasks(db, deal_id=day["Acme"], include_done=True)
        assert [(t.text, t.due, t.done) for t in tasks] == [
            ("Send the quote", date(2026, 2, 27), True), ("Chase", date(2026, 3, 9), False)]
        assert app.screen is today and [i.title for i in today.items.values()] == ["Birch"]


def test_close_date_takes_the_due_date_shortcuts_too() -> None:
    from tuikanban.domain.errors import ValidationError
    from tuikanban.ui.screens.deal_form import parse_close_date

    assert parse_close_date("fri", MONDAY) == date(2026, 3, 6)  # the parser of due dates: the next Friday
    assert parse_close_date("eow", MONDAY) == date(2026, 3, 6)
    assert parse_close_date("+3m", MONDAY) == date(2026, 6, 2)  # the close date's own shortcuts still work
    with pytest.raises(ValidationError, match="'soonish' is not a date"):
        parse_close_date("soonish", MONDAY)


async def test_owner_completes_from_known_reps_and_says_when_new(db: Database, day: dict[str, int]) -> None:
    from tuikanban.ui.screens.deal_form import DealFormScreen

    app = TuikanbanApp(db, "tester", "Sales")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "n")
        form = app.screen
        assert isinstance(form, DealFormScreen)
        owner = form.query_one("#f-owner")
        owner.focus()
        owner.value = ""  # type: ignore[attr-defined]
        await press(pilot, "b")
        assert await owner.suggester.get_suggestion("b") == "bob"  # type: ignore[attr-defined]
        assert "new rep" not in str(form.query_one("#e-owner").render()).lower()
        await press(pilot, "x")  # "bx": nobody's
        assert "new rep" in str(form.query_one("#e-owner").render()).lower()


async def test_call_logged_from_the_deal_detail(db: Database, day: dict[str, int]) -> None:
    from tuikanban.ui.screens.deal_detail import DealDetailScreen

    app = TuikanbanApp(db, "tester", "Sales")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "enter")
        detail = app.screen
        assert isinstance(detail, DealDetailScreen)
        await press(pilot, "E")
        for key in "Sent pricing":
            await pilot.press("space" if key == " " else key)
        await press(pilot, "enter")
        await settle(pilot)
        assert not detail.query(LogBar)
        acts = [a for a in detail.detail.activities if a.kind == "email"] if detail.detail else []
        assert [a.subject for a in acts] == ["Sent pricing"]


def test_filter_grammar_me_prefix_quotes_and_either() -> None:
    from tuikanban.domain.filters import DealFilter, parse_filter

    f = parse_filter('owner:me type:new', me="Ann Lee")
    assert f.owners == ("Ann Lee",) and f.types == ("new",)
    assert f.matches_fields("t", "", "", "ann lee", "New business")  # "new" starts "New business"
    assert not f.matches_fields("t", "", "", "ann lee", "Renewal")
    quoted = parse_filter('owner:"Ann Lee" acme')
    assert quoted.owners == ("Ann Lee",) and quoted.text == "acme"
    either = parse_filter("owner:bo owner:car")
    assert either.owners == ("bo", "car") and either.describe() == "owner:bo owner:car"
    assert [either.matches_fields("t", "", "", o, None) for o in ("Bob", "Carol", "Dave")] == [True, True, False]
    assert parse_filter("owner:me") == DealFilter("", "me", "")  # without a user, "me" is a name like any other
    assert parse_filter("snoozed:yes").snoozed and parse_filter("snoozed:yes").describe() == "snoozed:yes"


async def test_the_view_is_remembered_per_user_and_pipeline(db: Database, day: dict[str, int]) -> None:
    from tuikanban.settings import load_settings, saved_view

    ps.add_type(db, "Sales", "New")  # (swimlanes need deal types)
    app = TuikanbanApp(db, "tester", "Sales")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = app.board_screen
        screen.apply_filter("owner:me")
        await settle(pilot)
        assert screen.view.focus_on(day["Birch"])
        await press(pilot, "s")  # swimlanes off
        await pilot.pause(0.6)  # the focused deal is noted every half second
    where = db.target.path or db.target.display  # (a file's path, or a server's URL without its password)
    view = saved_view(load_settings(), where, "tester", "Sales")
    assert view is not None and (view.lanes_on, view.query, view.focus_deal) == (False, "owner:me", day["Birch"])
    assert saved_view(load_settings(), where, "bob", "Sales") is None  # another rep's view is their own
    again = TuikanbanApp(db, "tester", "Sales")
    async with again.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = again.board_screen
        assert screen.state.query == "owner:me" and screen.state.filter.owners == ("tester",)
        assert not screen.state.lanes_on and screen.view.focus_deal == day["Birch"]


async def test_today_screen_snooze_move_and_open(db: Database, day: dict[str, int]) -> None:
    from tuikanban.ui.screens.deal_detail import DealDetailScreen

    app = TuikanbanApp(db, "tester", "Sales")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "t")
        await settle(pilot)
        today = app.screen
        assert isinstance(today, TodayScreen)
        await press(pilot, "z", "t", "o", "m", "o", "r", "r", "o", "w", "enter")  # Acme's overdue task
        await settle(pilot)
        assert [t.due for t in list_tasks(db, deal_id=day["Acme"])] == [date(2026, 3, 3)]
        assert [(i.kind, i.title) for i in today.items.values()] == [("no_next_step", "Birch")]
        await press(pilot, "L")  # Birch: Lead -> Qualified
        await settle(pilot)
        assert get_deal(db, day["Birch"]).stage_name == "Qualified"
        await press(pilot, "enter")
        assert isinstance(app.screen, DealDetailScreen) and app.screen.deal_id == day["Birch"]


async def test_text_typed_in_the_same_burst_as_c_lands_in_the_log_bar(db: Database, day: dict[str, int]) -> None:
    """`C` then the text at once (a paste, SSH): every letter goes to the bar, none to the board (`e` would edit,
    `a` open the aging panel, `l` change column)."""
    from textual import events
    from textual.widgets import Input

    app = TuikanbanApp(db, "tester")
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        for key in ("C", *"called alex", "space", *"re deal"):
            app.post_message(events.Key(key, " " if key == "space" else key))
        await settle(pilot)
        await pilot.pause(0.2)
        assert app.screen is app.board_screen and app.board_screen.aging_panel is None
        bar = app.board_screen.query_one(LogBar)
        assert bar.query_one(Input).value == "called alex re deal"
