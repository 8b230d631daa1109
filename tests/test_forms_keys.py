"""Keys typed fast: SSH and pastes deliver several keys at once, and every one must land where it was meant to.

`burst` posts all the keys to the app in one go, as the terminal driver does with one read of several keys: the
app routes each key to the widget focused at that moment, before any widget has handled the previous keys. (Pilot's
`press(*keys)` lets the app go idle between keys, which hides this kind of bug; both are used below.)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from textual import events
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.keys import _character_to_key  # the key name Pilot and the driver give a typed character
from textual.pilot import Pilot
from textual.screen import Screen
from textual.widgets import DataTable, Input, Label, OptionList, Select, Static, TextArea

from tuikanban.services import deals as ds
from tuikanban.services import pipelines as ps
from tuikanban.store.engine import Database
from tuikanban.ui.dialogs.ask import AskScreen
from tuikanban.ui.dialogs.fields import FieldError
from tuikanban.ui.dialogs.reason import ReasonScreen
from tuikanban.ui.jobs import lanes_of
from tuikanban.ui.screens.closed import ClosedDealsScreen, StagePickScreen
from tuikanban.ui.screens.deal_form import DealFormScreen
from tuikanban.ui.screens.first_run import FirstRunScreen
from tuikanban.ui.screens.pipelines import PipelineSwitcher
from tuikanban.ui.screens.settings import PipelineSettingsScreen
from tuikanban.ui.screens.stage_edit import StageEditScreen

pytestmark = pytest.mark.engines  # the tests that use a database run on SQLite and on PostgreSQL

SIZE = (120, 40)
_CONTROL_CHARACTERS = {"enter": "\r", "tab": "\t", "backspace": "\x7f", "escape": "\x1b", "ctrl+s": "\x13",
                       "ctrl+u": "\x15"}


class Host(App[None]):
    """Pushes one screen on mount and records what it is dismissed with."""

    def __init__(self, make: Callable[[], Screen[Any]]) -> None:
        super().__init__()
        self.make = make
        self.results: list[Any] = []

    def on_mount(self) -> None:
        self.push_screen(self.make(), self.results.append)


def key_event(key: str) -> events.Key:
    if len(key) == 1:
        return events.Key(key if key.isalnum() else _character_to_key(key), key)
    return events.Key(key, _CONTROL_CHARACTERS.get(key))


def burst(pilot: Pilot[Any], *keys: str) -> None:
    """Queue every key on the app at once (no pause in between): one read of a fast typist or a paste."""
    for key in keys:
        pilot.app.post_message(key_event(key))


def typed(text: str) -> list[str]:
    return list(text)


async def settle(pilot: Pilot[Any]) -> None:
    """Let the keys be handled, dialogs open and database jobs finish (a result may submit another job)."""
    lanes = lanes_of(pilot.app)
    for _ in range(12):
        await pilot.pause()
        for _ in range(400):
            if lanes.pending == 0:
                break
            await pilot.pause(0.01)
    await pilot.pause()


def value(screen: Screen[Any], selector: str) -> str:
    return screen.query_one(selector, Input).value


def error_of(screen: Screen[Any], selector: str) -> str:
    return screen.query_one(selector, FieldError).message


def lit_labels(screen: Screen[Any]) -> list[str]:
    """The field labels drawn highlighted (bold): only the focused field's."""
    return [str(label.visual) for label in screen.query(".field-label").results(Label)
            if label.styles.text_style.bold]


@pytest.fixture
def sales(db: Database) -> int:
    return ps.create_pipeline(db, "Sales", list(ps.STARTER_STAGES), types=["New business", "Renewal"]).id


# -- the deal form ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("delivery", ["burst", "pilot"])
async def test_deal_form_keys_after_enter_go_to_the_next_field(db: Database, sales: int, delivery: str) -> None:
    app = Host(lambda: DealFormScreen(db, sales, "alice"))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        keys = [*typed("Eps"), "enter", "8", "8", "tab", *typed("+3d")]
        if delivery == "burst":
            burst(pilot, *keys)
        else:
            await pilot.press(*keys)
        await settle(pilot)
        form = app.screen
        assert (value(form, "#f-title"), value(form, "#f-value"), value(form, "#f-close")) == ("Eps", "88", "+3d")
        assert form.focused is form.query_one("#f-close", Input)
    assert app.results == []


async def test_deal_form_burst_after_a_refused_save_fills_each_field_and_saves_nothing(
    db: Database, sales: int
) -> None:
    app = Host(lambda: DealFormScreen(db, sales, "alice"))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+s")  # empty title: refused, the title focused again
        await settle(pilot)
        form = app.screen
        assert error_of(form, "#e-title") == "A deal needs a title."
        burst(pilot, *typed("   "), "enter", *typed("abc"), "enter", *typed("2026-02-30"), "ctrl+s")
        await settle(pilot)
        assert (value(form, "#f-title"), value(form, "#f-value"), value(form, "#f-close")) == (
            "   ", "abc", "2026-02-30")
        assert error_of(form, "#e-title") == "A deal needs a title."
        assert "'abc' is not an amount" in error_of(form, "#e-value")
        assert "2026-02-30" in error_of(form, "#e-close")  # 30 February does not exist
        assert form.focused is form.query_one("#f-title", Input)  # the first field to fix
        assert app.screen is form
    assert app.results == []
    assert ds.list_deals(db, sales, status="all") == []


async def test_deal_form_whole_form_in_one_burst(db: Database, sales: int, fixed_now: str) -> None:
    proposal = next(s.id for s in ps.list_stages(db, sales) if s.name == "Proposal")
    app = Host(lambda: DealFormScreen(db, sales, "alice", stage_id=proposal))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        burst(pilot,
              *typed("Acmx"), "backspace", "e", "enter",  # the backspace edits the title, not the value
              *typed("12.5k"), "enter",
              *typed("+30d"), "enter",
              *typed("Acme Ltd"), "enter",
              *typed("Jane"), "enter",
              *typed("bob"), "enter",  # the owner's "alice" is selected when focus arrives: typing replaces it
              "enter",  # past the deal type (left empty)
              "enter",  # past the stage (Proposal)
              *typed("first line"), "enter", *typed("second"),  # enter in the notes is a new line
              "ctrl+s")
        await settle(pilot)
    assert len(app.results) == 1
    [deal] = ds.list_deals(db, sales)
    assert deal.id == app.results[0].id
    assert deal.title == "Acme"
    assert deal.value_minor == 1_250_000  # 12,500.00 in cents
    assert deal.expected_close is not None and deal.expected_close.isoformat() == "2026-04-01"  # 2 Mar + 30 days
    assert (deal.company, deal.contact, deal.owner) == ("Acme Ltd", "Jane", "bob")
    assert (deal.type_name, deal.stage_name) == (None, "Proposal")
    assert deal.notes == "first line\nsecond"


async def test_deal_form_keys_typed_while_it_opens_land_in_the_title(db: Database, sales: int) -> None:
    app = Host(lambda: DealFormScreen(db, sales, "alice"))
    async with app.run_test(size=SIZE) as pilot:
        # no settle: the form may still be reading the pipeline; ctrl+s waits for that, then saves
        burst(pilot, *typed("Quick"), "enter", *typed("5k"), "ctrl+s")
        await settle(pilot)
    assert [(d.title, d.value_minor) for d in ds.list_deals(db, sales)] == [("Quick", 500_000)]
    assert len(app.results) == 1


async def test_deal_form_edit_keeps_what_was_typed_before_the_deal_was_read(db: Database, sales: int) -> None:
    deal = ds.create_deal(db, sales, "Globex", user="alice", value="10k", company="Globex Ltd")
    app = Host(lambda: DealFormScreen(db, sales, "alice", deal_id=deal.id))
    async with app.run_test(size=SIZE) as pilot:
        burst(pilot, *typed("Globex 2"), "ctrl+s")  # typed straight away: it replaces the title
        await settle(pilot)
    after = ds.get_deal(db, deal.id)
    assert (after.title, after.value_minor, after.company) == ("Globex 2", 1_000_000, "Globex Ltd")


async def test_deal_form_highlights_the_label_of_the_focused_field(db: Database, sales: int) -> None:
    app = Host(lambda: DealFormScreen(db, sales, "alice"))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert lit_labels(app.screen) == ["Title"]
        await pilot.press("enter")
        assert lit_labels(app.screen) == ["Value (USD)"]
        await pilot.press("tab", "tab")  # value -> expected close -> company
        assert lit_labels(app.screen) == ["Company"]
        await pilot.press("shift+tab")
        assert lit_labels(app.screen) == ["Expected close"]


async def test_deal_form_hint_line_says_enter_moves_and_ctrl_s_saves(db: Database, sales: int) -> None:
    app = Host(lambda: DealFormScreen(db, sales, "alice"))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        hints = str(app.screen.query_one(".hints", Static).visual)
        assert "enter next field" in hints and "ctrl+s save" in hints


# -- the stage form and the settings screen --------------------------------------------------------------------


async def test_stage_form_enter_walks_every_field_and_nothing_leaks_into_settings(db: Database, sales: int) -> None:
    app = Host(lambda: PipelineSettingsScreen(db, sales, "alice"))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        settings = app.screen
        # enter opens the first stage's form; its name is focused (and selected, so typing replaces it)
        burst(pilot, "enter", *typed("Intro"), "enter", "5", "enter", "1", "enter", "2", "enter", "9", "enter",
              "4", "0", "enter",  # enter on the probability goes on to the exit criteria: no save yet
              *typed("Budget agreed, rw"), "ctrl+s")
        await settle(pilot)
        assert app.screen is settings  # saved and closed; "r" and "w" did not open Rename or WIP max
        assert settings.query_one("#stage-table", DataTable).has_focus
    stage = ps.list_stages(db, sales)[0]
    assert (stage.name, stage.wip_max, stage.wip_min, stage.rep_wip_max, stage.expected_days, stage.probability) == (
        "Intro", 5, 1, 2, 9, 40)
    assert stage.exit_criteria == "Budget agreed, rw"
    assert [s.name for s in ps.list_stages(db, sales)][1:] == list(ps.STARTER_STAGES)[1:]
    assert app.results == []  # the settings screen is still open


async def test_stage_form_starts_on_the_name_and_lights_the_focused_label(db: Database, sales: int) -> None:
    app = Host(lambda: PipelineSettingsScreen(db, sales, "alice"))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, StageEditScreen)
        assert form.focused is form.query_one("#se-name", Input)
        assert lit_labels(form) == ["Name"]
        await pilot.press("enter")
        assert form.focused is form.query_one("#se-wip_max", Input)
        assert lit_labels(form) == ["WIP max"]
        await pilot.press("enter", "enter", "enter", "enter", "enter")
        assert form.focused is form.query_one("#se-exit_criteria", TextArea)
        assert lit_labels(form) == ["Exit criteria"]
        hints = str(form.query_one(".hints", Static).visual)
        assert "enter next field" in hints and "ctrl+s save" in hints


async def test_settings_dialog_gets_the_keys_typed_right_after_its_key(db: Database, sales: int) -> None:
    app = Host(lambda: PipelineSettingsScreen(db, sales, "alice"))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        settings = app.screen
        burst(pilot, "a", *typed("abc"), "enter")  # add a stage after the first one
        await settle(pilot)
        assert app.screen is settings
        assert [s.name for s in ps.list_stages(db, sales)][:3] == ["Prospecting", "abc", "Qualification"]
        burst(pilot, "w", "7", "enter")  # WIP max of the highlighted (new) stage
        await settle(pilot)
        assert next(s.wip_max for s in ps.list_stages(db, sales) if s.name == "abc") == 7
        settings.set_focus(settings.query_one("#type-list", OptionList))
        burst(pilot, "a", *typed("Upsell"), "enter")
        await settle(pilot)
        assert [t.name for t in ps.list_types(db, sales)] == ["New business", "Renewal", "Upsell"]
        assert app.screen is settings


async def test_settings_letters_in_the_pipeline_fields_are_text_not_commands(db: Database, sales: int) -> None:
    app = Host(lambda: PipelineSettingsScreen(db, sales, "alice"))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        settings = app.screen
        settings.set_focus(settings.query_one("#pp-lost_reasons", Input))
        burst(pilot, "ctrl+u", *typed("Price, award, wrong"), "enter")  # enter on the last field saves
        await settle(pilot)
        assert app.screen is settings and not isinstance(app.screen, AskScreen)
    assert ps.get_pipeline(db, sales).lost_reasons == ("Price", "award", "wrong")


# -- the other dialogs ----------------------------------------------------------------------------------------


class Opener(Screen[None]):
    """Opens a dialog with a priority key, as a board key should (see the report on ui/app.py)."""

    BINDINGS = [Binding("x", "open", priority=True)]

    def __init__(self, make: Callable[[], Screen[Any]]) -> None:
        super().__init__()
        self.make = make
        self.results: list[Any] = []

    def compose(self) -> ComposeResult:
        yield Static("board")

    def action_open(self) -> None:
        self.app.push_screen(self.make(), self.results.append)


async def test_reason_dialog_gets_the_keys_typed_right_after_the_key_that_opens_it() -> None:
    opener = Opener(lambda: ReasonScreen("Mark lost", "Why was it lost?"))
    app = Host(lambda: opener)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        burst(pilot, "x", *typed("Too pricey"), "enter")
        await settle(pilot)
    assert opener.results == ["Too pricey"]


async def test_deal_form_gets_the_keys_typed_right_after_the_key_that_opens_it(db: Database, sales: int) -> None:
    opener = Opener(lambda: DealFormScreen(db, sales, "alice"))
    app = Host(lambda: opener)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        burst(pilot, "x", *typed("Eps"), "enter", "8", "8", "ctrl+s")
        await settle(pilot)
    assert [(d.title, d.value_minor) for d in ds.list_deals(db, sales)] == [("Eps", 8800)]
    assert len(opener.results) == 1


async def test_first_run_custom_pipeline_in_one_burst(db: Database) -> None:
    app = Host(lambda: FirstRunScreen(db, "alice"))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        burst(pilot, "down", "enter", *typed("Consulting"), "enter", *typed("Lead, Won"), "enter",
              "enter",  # the currency stays USD
              *typed("Retainer"), "enter")  # enter on the last field creates
        await settle(pilot)
    assert len(app.results) == 1
    p = ps.get_pipeline(db, app.results[0])
    assert (p.name, p.currency) == ("Consulting", "USD")
    assert [s.name for s in ps.list_stages(db, p.id)] == ["Lead", "Won"]
    assert [t.name for t in ps.list_types(db, p.id)] == ["Retainer"]


async def test_switcher_new_pipeline_in_one_burst(db: Database, sales: int) -> None:
    app = Host(lambda: PipelineSwitcher(db, sales))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        burst(pilot, "ctrl+n", *typed("Renewals"), "enter",
              *typed("Due, Signed"), "enter",  # replaces the starter stages, selected when focus arrives
              "enter", "ctrl+s")
        await settle(pilot)
    assert len(app.results) == 1
    created = ps.get_pipeline(db, app.results[0])
    assert created.name == "Renewals"
    assert [s.name for s in ps.list_stages(db, created.id)] == ["Due", "Signed"]


async def test_switcher_lists_stage_counts_in_the_singular_and_plural(db: Database, sales: int) -> None:
    ps.create_pipeline(db, "Tiny", ["Only"])
    app = Host(lambda: PipelineSwitcher(db, sales))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        box = app.screen.query_one("#pick-list", OptionList)
        prompts = [str(box.get_option_at_index(i).prompt) for i in range(box.option_count)]
    assert "· 5 stages ·" in prompts[0]  # Sales: the five starter stages
    assert "· 1 stage ·" in prompts[1]


async def test_closed_deals_search_and_reopen_in_one_burst(db: Database, sales: int) -> None:
    won = ds.create_deal(db, sales, "Won deal", user="alice", stage="Negotiation")
    ds.win_deal(db, won.id, user="alice")
    lost = ds.create_deal(db, sales, "Lost deal", user="alice")
    ds.lose_deal(db, lost.id, "Price", user="alice")
    app = Host(lambda: ClosedDealsScreen(db, sales, "alice"))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        count = app.screen.query_one("#closed-count", Static)
        assert str(count.visual) == "2 of 2 closed deals."
        # "/" searches ("won" are letters there, not the w filter); enter back to the table; enter reopens
        burst(pilot, "slash", *typed("won"), "enter", "enter", "up", "enter")
        await settle(pilot)
        assert not isinstance(app.screen, StagePickScreen)
    assert app.results == [won.id]
    assert ds.get_deal(db, won.id).stage_name == "Proposal"  # one stage up from Negotiation


async def test_closed_deals_count_in_the_singular(db: Database, sales: int) -> None:
    gone = ds.create_deal(db, sales, "Gone", user="alice")
    ds.lose_deal(db, gone.id, "Timing", user="alice")
    app = Host(lambda: ClosedDealsScreen(db, sales, "alice"))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert str(app.screen.query_one("#closed-count", Static).visual) == "1 of 1 closed deal."


async def test_select_opens_with_space_and_enter_picks_inside_it(db: Database, sales: int) -> None:
    # (Textual's Select moves focus to its list after the keys already queued, so this is typed, not a burst)
    app = Host(lambda: DealFormScreen(db, sales, "alice"))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        form = app.screen
        form.set_focus(form.query_one("#f-type", Select))
        await pilot.press("space", "down", "enter")  # open: (none) -> New business, picked
        assert form.query_one("#f-type", Select).value == next(
            t.id for t in ps.list_types(db, sales) if t.name == "New business")
        assert form.focused is form.query_one("#f-type", Select)
        await pilot.press("enter")  # closed again: enter goes on to the stage
        assert form.focused is form.query_one("#f-stage", Select)
