"""Pilot tests of the board: every key path of the README's Keys table, live updates, first run, read-only; the board
as `run_board` starts it (the first screen read without the ORM), its change feed, and two boards racing for a place.

The tests that use a database run on SQLite and on PostgreSQL (one is about PostgreSQL's LISTEN connection).

The board runs its database jobs on its own thread; `settle` waits until they are done and their results are on
screen. Expected numbers are worked out by hand from the fixture below.
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest
from textual.theme import Theme
from textual.widgets import Input

from board_helpers import press, settle
from engines import rows
from tuikanban.domain.models import DealView
from tuikanban.domain.targets import parse_target
from tuikanban.services import deals as ds
from tuikanban.services import pipelines as ps
from tuikanban.store import fastread
from tuikanban.store.engine import Database, open_database
from tuikanban.store.feed import Change, ChangeFeed
from tuikanban.ui.app import TuikanbanApp
from tuikanban.ui.board import live
from tuikanban.ui.board.gateway import BoardGateway
from tuikanban.ui.board.keys import BINDING_SECTIONS, help_sections
from tuikanban.ui.board.screen import BoardScreen
from tuikanban.ui.board.state import BoardState
from tuikanban.ui.board.view import BoardView

SIZE = (160, 45)

pytestmark = pytest.mark.engines  # the tests that use a database run on SQLite and on PostgreSQL


# -- fixture data -----------------------------------------------------------------------------------------------
#
# Pipeline "Sales": Lead, Qualified (exit criteria), Proposal (WIP max 1); deal types New, Renewal.
#   Lead / New:        Initech rollout ($30k, carol, 02-27)  above  Acme pilot ($12.5k, alice, 02-20)
#   Lead / Renewal:    Globex renewal ($8k, bob, 02-25)
#   Qualified / New:   Hooli expansion ($5k, alice, 02-10)
#   Proposal / Renewal: Umbrella deal ($70k, bob, 01-15)
# Newer deals go on top of their column (create puts a deal above the others).


@pytest.fixture
def sales(db: Database, fixed_now: str) -> dict[str, int]:
    p = ps.create_pipeline(db, "Sales", ["Lead", "Qualified", "Proposal"], types=["New", "Renewal"])
    ps.set_stage(db, p.id, "Qualified", exit_criteria="Budget confirmed by the buyer.")
    ps.set_stage(db, p.id, "Proposal", wip_max=1)

    def deal(title: str, stage: str, dtype: str, value: str, owner: str, at: str, company: str = "") -> int:
        return ds.create_deal(db, p.id, title, user="tester", stage=stage, dtype=dtype, value=value, owner=owner,
                              company=company, at=at).id

    ids = {
        "acme": deal("Acme pilot", "Lead", "New", "12500", "alice", "2026-02-20", "Acme Corp"),
        "globex": deal("Globex renewal", "Lead", "Renewal", "8000", "bob", "2026-02-25", "Globex"),
        "initech": deal("Initech rollout", "Lead", "New", "30000", "carol", "2026-02-27", "Initech"),
        "hooli": deal("Hooli expansion", "Qualified", "New", "5000", "alice", "2026-02-10", "Hooli"),
        "umbrella": deal("Umbrella deal", "Proposal", "Renewal", "70000", "bob", "2026-01-15", "Umbrella"),
    }
    ids["pipeline"] = p.id
    return ids


# -- helpers ------------------------------------------------------------------------------------------------------


def board_of(app: TuikanbanApp) -> BoardScreen:
    return app.board_screen


def view_of(app: TuikanbanApp) -> BoardView:
    return app.board_screen.view






def screen_text(app: TuikanbanApp) -> str:
    view = view_of(app)
    return "\n".join(view.render_line(y).text for y in range(view.size.height))


def focused_title(app: TuikanbanApp) -> str | None:
    card = view_of(app).focused_card
    return card.title if card else None


def record_notifications(app: TuikanbanApp) -> list[tuple[str, str, str]]:
    """(message, title, severity) of every notification from now on."""
    seen: list[tuple[str, str, str]] = []
    original = app.notify

    def notify(message: str, *, title: str = "", severity: Any = "information", timeout: Any = None,
               markup: bool = True) -> None:
        seen.append((message, title, str(severity)))
        original(message, title=title, severity=severity, timeout=timeout, markup=markup)

    app.notify = notify  # type: ignore[method-assign]
    return seen


def new_app(db: Database, pipeline: str | None = None) -> TuikanbanApp:
    return TuikanbanApp(db, "tester", pipeline)


# -- painting -------------------------------------------------------------------------------------------------------


async def test_board_paints_columns_counters_lanes_and_cards(db: Database, sales: dict[str, int]) -> None:
    app = new_app(db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        text = screen_text(app)
        lines = text.splitlines()
        # headers: name and WIP counter (count/max, or count without a limit), then the stage's total value
        assert "Lead" in lines[0] and " 3 " in lines[0]
        assert "Qualified" in lines[0] and " 1 " in lines[0]
        assert "Proposal" in lines[0] and " 1/1 " in lines[0]
        assert "$50.5k" in lines[1] and "$5k" in lines[1] and "$70k" in lines[1]
        # lanes in type order, with their counts (New: Acme, Initech, Hooli; Renewal: Globex, Umbrella)
        new_at = text.index("▾ New · 3")
        renewal_at = text.index("▾ Renewal · 2")
        assert new_at < renewal_at
        # cards: title, company, compact value, owner; Initech was created after Acme so it sits above it
        assert text.index("Initech rollout") < text.index("Acme pilot") < renewal_at
        assert "Globex renewal" in text[renewal_at:] and "Umbrella deal" in text[renewal_at:]
        assert "Acme Corp" in text and "$12.5k" in text and "@alice" in text
        # days in stage: Acme entered 2026-02-20 00:00, now is 2026-03-02 12:00 -> 10.5 days
        acme_line = next(line for line in lines if "Acme pilot" in line)
        assert "10d" in acme_line
        header = str(app.board_screen.header.render())
        assert "Sales" in header and "5 open" in header and "$125.5k" in header and "tester" in header
        assert focused_title(app) == "Initech rollout"


async def test_wip_counter_colours_come_from_theme_variables(db: Database, sales: dict[str, int]) -> None:
    app = new_app(db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.theme = "textual-dark"  # a theme that does not set the tk-* variables: the defaults apply
        await pilot.pause()
        variables = app.theme_variables
        assert variables["tk-wip-limit"] == variables["error"]
        assert variables["tk-wip-under"] == variables["warning"]
        assert variables["tk-card-focus"] == variables["accent"]
        view = view_of(app)
        at_limit = next(seg for seg in view.render_line(0) if "1/1" in seg.text)
        assert at_limit.style is not None and at_limit.style.color is not None
        assert at_limit.style.color.triplet is not None
        assert at_limit.style.color.triplet.hex.lower() == variables["error"].lower()[:7]
        # a theme may override the variable: the counter follows
        app.register_theme(Theme("test-wip", primary="#004578", dark=True, variables={"tk-wip-limit": "#00ff00"}))
        app.theme = "test-wip"
        await pilot.pause()
        at_limit = next(seg for seg in view.render_line(0) if "1/1" in seg.text)
        assert at_limit.style is not None and at_limit.style.color is not None
        assert at_limit.style.color.triplet is not None and at_limit.style.color.triplet.hex == "#00ff00"


async def test_aging_badges_use_stage_baselines(db: Database, sales: dict[str, int]) -> None:
    # No expected days and no history: the baseline is 7 days, aging from 10.5, stalled from 14.
    app = new_app(db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        view = view_of(app)
        assert view.aging  # read (services.aging) once the database is open
        variables = app.theme_variables

        def badge_colour(title: str, badge: str) -> str:
            for y in range(view.size.height):
                strip = view.render_line(y)
                if title in strip.text:
                    seg = next(s for s in strip if s.text.strip() == badge)
                    assert seg.style is not None and seg.style.color is not None
                    assert seg.style.color.triplet is not None
                    return seg.style.color.triplet.hex.lower()
            raise AssertionError(title)

        assert badge_colour("Acme pilot", "10d") == variables["tk-aging"].lower()[:7]  # 10.5 days: aging
        assert badge_colour("Umbrella deal", "46d") == variables["tk-stalled"].lower()[:7]  # 46.5 days: stalled


# -- navigation -----------------------------------------------------------------------------------------------------


async def test_navigation_across_columns_and_lanes(db: Database, sales: dict[str, int]) -> None:
    app = new_app(db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert focused_title(app) == "Initech rollout"
        await press(pilot, "down")
        assert focused_title(app) == "Acme pilot"
        await press(pilot, "down")  # past the last New card of Lead: on into the Renewal lane
        assert focused_title(app) == "Globex renewal"
        await press(pilot, "j")  # nothing below: stays
        assert focused_title(app) == "Globex renewal"
        await press(pilot, "k", "up")
        assert focused_title(app) == "Initech rollout"
        await press(pilot, "right")
        assert focused_title(app) == "Hooli expansion"
        await press(pilot, "l")  # Proposal has nothing in the New lane: the empty cell is focused
        view = view_of(app)
        assert view.focus_col == 2 and view.focused_card is None
        assert "empty · n adds a deal" in screen_text(app)
        await press(pilot, "down")  # and down continues into the Renewal lane
        assert focused_title(app) == "Umbrella deal"
        await press(pilot, "h")
        assert view.focus_col == 1 and view.focused_card is None
        await press(pilot, "left")
        assert focused_title(app) == "Globex renewal"


# -- moving ---------------------------------------------------------------------------------------------------------


async def test_move_updates_two_columns_keeps_focus_and_shows_exit_criteria(
    db: Database, sales: dict[str, int]
) -> None:
    app = new_app(db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        loads: list[Any] = []
        original_load = app.gateway.load
        app.gateway.load = lambda *a, **k: loads.append(a) or original_load(*a, **k)  # type: ignore[method-assign]
        notes = record_notifications(app)
        await press(pilot, "shift+right")
        assert ds.get_deal(db, sales["initech"]).stage_name == "Qualified"
        assert focused_title(app) == "Initech rollout" and view_of(app).focus_col == 1
        model = board_of(app).model
        assert model is not None
        stages = {s.name: s.id for s in model.stages}
        assert model.count(stages["Lead"]) == 2 and model.count(stages["Qualified"]) == 2
        assert model.value(stages["Lead"]) == 2_050_000 and model.value(stages["Qualified"]) == 3_500_000
        assert ("Budget confirmed by the buyer.", "Qualified: exit criteria", "information") in notes
        # the move was applied to the two columns: no board re-read, even after a few polls of data_version
        await asyncio.sleep(1.2)
        await settle(pilot)
        assert loads == []
        await press(pilot, "H")  # and back with the vim key
        assert ds.get_deal(db, sales["initech"]).stage_name == "Lead"
        assert focused_title(app) == "Initech rollout" and view_of(app).focus_col == 0
        await press(pilot, "H")  # already in the first stage: says so, changes nothing
        assert any("already in the first stage" in n[0] for n in notes)


async def test_refused_move_names_stage_and_limit_and_force_asks_a_reason(
    db: Database, sales: dict[str, int]
) -> None:
    from tuikanban.ui.dialogs.reason import ReasonScreen

    app = new_app(db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        notes = record_notifications(app)
        await press(pilot, "right")  # Hooli expansion, in Qualified
        await press(pilot, "shift+right")  # Proposal holds 1 of 1
        assert ("Proposal is at its WIP limit (1/1).", "WIP limit", "warning") in notes
        assert isinstance(app.screen, ReasonScreen)
        await press(pilot, "escape")  # no reason: nothing moves
        assert app.screen is app.board_screen
        assert ds.get_deal(db, sales["hooli"]).stage_name == "Qualified"
        await press(pilot, "L")
        assert isinstance(app.screen, ReasonScreen)
        app.screen.query_one("#reason-input", Input).value = "Board approved it"
        await pilot.pause()
        app.screen.query_one("#reason-input", Input).focus()
        await press(pilot, "enter")
        deal = ds.get_deal(db, sales["hooli"])
        assert deal.stage_name == "Proposal"
        history = ds.deal_history(db, deal.id)
        assert [e.reason for e in history if e.kind == "wip_override"] == ["Board approved it"]
        assert focused_title(app) == "Hooli expansion"
        assert "2/1 over" in screen_text(app).splitlines()[0]


async def test_reorder_within_the_cell(db: Database, sales: dict[str, int]) -> None:
    app = new_app(db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "shift+down")  # Initech below Acme
        text = screen_text(app)
        assert text.index("Acme pilot") < text.index("Initech rollout")
        assert focused_title(app) == "Initech rollout"
        lead = [d.title for d in ds.list_deals(db, sales["pipeline"]) if d.stage_name == "Lead"]
        assert lead.index("Acme pilot") < lead.index("Initech rollout")
        await press(pilot, "K")  # and back up
        text = screen_text(app)
        assert text.index("Initech rollout") < text.index("Acme pilot")


# -- closing, undo --------------------------------------------------------------------------------------------------


async def test_won_lost_with_reason_and_undo(db: Database, sales: dict[str, int]) -> None:
    from tuikanban.ui.dialogs.reason import ReasonScreen

    app = new_app(db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "w")
        assert ds.get_deal(db, sales["initech"]).status == "open"  # it asks first, naming the deal and its value
        assert "Mark 'Initech rollout' ($30,000) won?" in str(app.screen.query_one("#confirm-message").visual)
        await press(pilot, "y")
        assert ds.get_deal(db, sales["initech"]).status == "won"
        assert "Initech rollout" not in screen_text(app)
        assert focused_title(app) == "Acme pilot"  # the next card takes the focus
        model = board_of(app).model
        assert model is not None
        lead = model.stages[0].id
        assert model.count(lead) == 2
        await press(pilot, "x")
        assert isinstance(app.screen, ReasonScreen)
        await press(pilot, "enter")  # the first of the pipeline's lost reasons
        acme = ds.get_deal(db, sales["acme"])
        assert (acme.status, acme.lost_reason) == ("lost", "Price")
        assert model.count(lead) == 1
        await press(pilot, "u")  # undo the last close: Acme is open again, focused
        assert ds.get_deal(db, sales["acme"]).status == "open"
        assert focused_title(app) == "Acme pilot"
        assert board_of(app).model is not None and board_of(app).model.count(lead) == 2  # type: ignore[union-attr]


# -- filter, lanes --------------------------------------------------------------------------------------------------


async def test_filter_by_text_owner_and_type_keeps_counters(db: Database, sales: dict[str, int]) -> None:
    app = new_app(db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "slash")
        field = app.board_screen.query_one("#filter", Input)
        assert field.has_focus
        await pilot.press(*"acme")
        await asyncio.sleep(0.3)
        await settle(pilot)
        text = screen_text(app)
        assert "Acme pilot" in text and "Initech rollout" not in text and "Umbrella deal" not in text
        assert " 3 " in text.splitlines()[0]  # the counter still counts every open deal of Lead
        assert "1 shown" in text.splitlines()[1]
        await press(pilot, "enter")  # keep it, back to the board
        assert not app.board_screen.query_one("#filter-bar").display
        header = str(app.board_screen.header.render())
        assert 'filter: "acme" (1 shown)' in header
        assert focused_title(app) == "Acme pilot"
        await press(pilot, "escape")  # clears it
        assert "Initech rollout" in screen_text(app)
        await press(pilot, "slash")
        await pilot.press(*"owner:bob")
        await press(pilot, "enter")
        text = screen_text(app)
        assert "Globex renewal" in text and "Umbrella deal" in text and "Acme pilot" not in text
        await press(pilot, "slash")
        field.value = "type:new"
        await press(pilot, "enter")
        text = screen_text(app)
        assert "Acme pilot" in text and "Hooli expansion" in text and "Globex renewal" not in text


async def test_a_column_the_filter_empties_says_no_match(db: Database, sales: dict[str, int]) -> None:
    app = new_app(db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "slash")
        app.board_screen.query_one("#filter", Input).value = "acme"
        await press(pilot, "enter")
        text = screen_text(app)
        # Lead keeps Acme pilot; Qualified (Hooli) and Proposal (Umbrella) have open deals, all hidden
        assert "Acme pilot" in text
        assert text.count("no match") == 2
        assert "n adds a deal" not in text
        await press(pilot, "right")  # focus the emptied Qualified column: still "no match"
        text = screen_text(app)
        assert text.count("no match") == 2 and "n adds a deal" not in text
        await press(pilot, "escape")  # the filter cleared: no "no match" anywhere
        assert "no match" not in screen_text(app)


async def test_an_unknown_type_in_the_filter_names_the_known_types(db: Database, sales: dict[str, int]) -> None:
    app = new_app(db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        notes = record_notifications(app)
        await press(pilot, "slash")
        app.board_screen.query_one("#filter", Input).value = "type:upsell"
        await press(pilot, "enter")
        warnings = [m for m, _t, severity in notes if severity == "warning"]
        assert warnings == ["No deal type 'upsell' in this pipeline, so no card matches (types: New, Renewal)."]
        await press(pilot, "slash")
        app.board_screen.query_one("#filter", Input).value = "type:renewal"  # a known type (any case): no warning
        await press(pilot, "enter")
        assert len([m for m, _t, severity in notes if severity == "warning"]) == 1
        assert "Umbrella deal" in screen_text(app)


async def test_lanes_toggle_keeps_focus(db: Database, sales: dict[str, int]) -> None:
    app = new_app(db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "down", "down")
        assert focused_title(app) == "Globex renewal"
        await press(pilot, "s")
        text = screen_text(app)
        assert "▾ New" not in text and "▾ Renewal" not in text
        assert focused_title(app) == "Globex renewal"
        # one list per column, in rank order: Initech, Globex, Acme (created 02-20, 02-25, 02-27, newest on top)
        assert text.index("Initech rollout") < text.index("Globex renewal") < text.index("Acme pilot")
        await press(pilot, "s")
        assert "▾ New · 3" in screen_text(app)
        assert focused_title(app) == "Globex renewal"


# -- forms --------------------------------------------------------------------------------------------------------


async def test_new_deal_form_refuses_bad_input_then_creates_in_the_focused_cell(
    db: Database, sales: dict[str, int]
) -> None:
    from tuikanban.ui.screens.deal_form import DealFormScreen

    app = new_app(db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "right", "n")
        form = app.screen
        assert isinstance(form, DealFormScreen)
        form.query_one("#f-value", Input).value = "12x"
        await press(pilot, "ctrl+s")
        assert app.screen is form  # nothing saved: no title, bad value
        assert len(ds.list_deals(db, sales["pipeline"])) == 5
        form.query_one("#f-title", Input).value = "Wayne pilot"
        form.query_one("#f-value", Input).value = "45k"
        await press(pilot, "ctrl+s")
        assert app.screen is app.board_screen
        created = [d for d in ds.list_deals(db, sales["pipeline"]) if d.title == "Wayne pilot"]
        assert len(created) == 1
        deal: DealView = created[0]
        assert (deal.stage_name, deal.type_name, deal.value_minor, deal.owner) == ("Qualified", "New", 4_500_000,
                                                                                   "tester")
        assert focused_title(app) == "Wayne pilot"
        assert "Wayne pilot" in screen_text(app)


async def test_edit_focused_deal(db: Database, sales: dict[str, int]) -> None:
    from tuikanban.ui.screens.deal_form import DealFormScreen

    app = new_app(db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "e")
        form = app.screen
        assert isinstance(form, DealFormScreen)
        assert form.query_one("#f-title", Input).value == "Initech rollout"
        form.query_one("#f-title", Input).value = "Initech rollout, phase 2"
        await press(pilot, "ctrl+s")
        assert ds.get_deal(db, sales["initech"]).title == "Initech rollout, phase 2"
        assert focused_title(app) == "Initech rollout, phase 2"


async def test_enter_opens_the_deal_detail(db: Database, sales: dict[str, int]) -> None:
    from tuikanban.ui.screens.deal_detail import DealDetailScreen

    app = new_app(db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "enter")
        assert isinstance(app.screen, DealDetailScreen)
        assert app.screen.deal_id == sales["initech"]
        await press(pilot, "escape")
        assert app.screen is app.board_screen


# -- pipelines, first run -------------------------------------------------------------------------------------------


async def test_pipeline_switch(db: Database, sales: dict[str, int]) -> None:
    from tuikanban.ui.screens.pipelines import PipelineSwitcher

    other = ps.create_pipeline(db, "Partners", "Intro,Pilot").id
    ds.create_deal(db, other, "Contoso reseller", user="tester", stage="Pilot")
    app = new_app(db, "Sales")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "p")
        assert isinstance(app.screen, PipelineSwitcher)
        await pilot.press(*"part")
        await press(pilot, "enter")
        assert app.screen is app.board_screen
        text = screen_text(app)
        assert "Intro" in text.splitlines()[0] and "Contoso reseller" in text
        assert "Partners" in str(app.board_screen.header.render())
        assert focused_title(app) == "Contoso reseller"  # a new board starts on its first card


async def test_first_run_offers_the_starter_pipeline(db: Database) -> None:
    from tuikanban.ui.screens.first_run import FirstRunScreen

    app = new_app(db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, FirstRunScreen)
        await press(pilot, "enter")
        assert app.screen is app.board_screen
        first = screen_text(app).splitlines()[0]
        for name in ps.STARTER_STAGES:
            assert name in first


async def test_first_run_declined_leaves_a_clear_message(db: Database) -> None:
    app = new_app(db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "escape")
        assert app.screen is app.board_screen
        assert "This database has no pipeline yet." in screen_text(app)
        assert ps.list_pipelines(db) == []


# -- the board as `run_board` starts it; live updates -------------------------------------------------------------


def fast_app(url: str, user: str = "tester") -> TuikanbanApp:
    """The app as `run_board` starts it: the first screen read without the ORM, the database opened after."""
    target = parse_target(url)
    con, pipeline = fastread.first_read(target, None, None)
    assert con is not None, "the fast path should read a current database"
    gateway = BoardGateway(path=target, user=user, db=None, con=con, owns_db=True)
    initial = gateway.load(pipeline, BoardState(), window=8)
    return TuikanbanApp(None, user, pipeline, None, db_path=target, gateway=gateway, initial=initial)


def with_password(url: str, password: str) -> str:
    """`url` with a password for its user (the local test server trusts root, so any password logs in)."""
    t = parse_target(url)
    user = t.user or "root"
    rest = url.split("://", 1)[1]
    rest = rest.split("@", 1)[1] if "@" in rest else rest
    return f"postgresql://{user}:{password}@{rest}"


async def shows(pilot: Any, app: TuikanbanApp, text: str, within: float) -> float | None:
    """Seconds until `text` is on the board (None if it is not there within `within` seconds); no key pressed."""
    start = time.monotonic()
    while time.monotonic() - start < within:
        await pilot.pause()
        if text in screen_text(app):
            return time.monotonic() - start
        await asyncio.sleep(0.01)
    return None


async def test_first_read_without_the_orm_paints_and_the_header_shows_the_target(
        db_target: str, sales: dict[str, int], engine: str) -> None:
    url = with_password(db_target, "s3cr3t-pw") if engine == "postgresql" else db_target
    app = fast_app(url)
    assert app.board_screen.session.db is None  # painted before the database is opened for writing
    async with app.run_test(size=SIZE) as pilot:
        assert "Umbrella deal" in screen_text(app)
        await settle(pilot)
        header = app.board_screen.header.render().plain
        assert str(parse_target(url)) in header and "s3cr3t" not in header
        assert app.board_screen.session.db is not None and not app.board_screen.session.readonly
        await press(pilot, "shift+right")  # Initech rollout (Lead, newest on top) to Qualified
        assert rows(db_target, "SELECT s.name FROM deal d JOIN stage s ON s.id = d.stage_id WHERE d.id = :i",
                    i=sales["initech"]) == [("Qualified",)]


async def test_another_process_change_shows_within_a_second_and_focus_stays(
    sales: dict[str, int], db_target: str
) -> None:
    app = fast_app(db_target)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "down")
        assert focused_title(app) == "Acme pilot"
        other = open_database(db_target)  # another rep's process (the CLI, or another host's board)
        try:
            ds.create_deal(other, sales["pipeline"], "Stark upgrade", user="dana", stage="Lead", dtype="New")
            ds.move_deal(other, sales["hooli"], "Lead", user="dana")
        finally:
            other.close()
        # no key press: the change feed (data_version on SQLite, NOTIFY on PostgreSQL) repaints the board
        took = await shows(pilot, app, "Stark upgrade", within=1.0)
        assert took is not None, "another rep's new deal did not show within a second"
        await settle(pilot)
        model = board_of(app).model
        assert model is not None
        assert model.count(model.stages[0].id) == 5 and model.count(model.stages[1].id) == 0
        assert focused_title(app) == "Acme pilot"


@pytest.mark.postgres_only  # the feed's LISTEN connection
async def test_after_a_dropped_connection_the_feed_reconnects_and_the_board_catches_up(
        db: Database, db_target: str, sales: dict[str, int]) -> None:
    app = fast_app(db_target)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await asyncio.sleep(0.3)  # the feed is listening
        cut = rows(db_target, "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE "
                              "application_name IN ('tuikanban-feed', 'tuikanban-board') AND pid <> pg_backend_pid() "
                              "AND datname = current_database()")  # (this test's database only)
        assert cut[0][0] >= 1  # the board's feed (and its read connection, when open)
        ds.create_deal(db, sales["pipeline"], "Written while the feed was away", user="dana", stage="Lead")
        assert await shows(pilot, app, "Written while the feed was away", within=5.0) is not None
        ds.create_deal(db, sales["pipeline"], "Heard after the reconnect", user="dana", stage="Lead")
        took = await shows(pilot, app, "Heard after the reconnect", within=1.0)
        assert took is not None


async def test_two_boards_racing_for_the_last_place_in_a_stage(
        db: Database, db_target: str, sales: dict[str, int]) -> None:
    ps.set_stage(db, sales["pipeline"], "Proposal", wip_max=2)  # Umbrella is there: one place left
    ds.move_deal(db, sales["initech"], "Qualified", user="tester")  # Qualified: Initech, Hooli (both New)
    a, b = fast_app(db_target, "ana"), fast_app(db_target, "ben")
    async with a.run_test(size=SIZE) as pa, b.run_test(size=SIZE) as pb:
        await settle(pa)
        await settle(pb)
        await press(pa, "l")
        await press(pb, "l", "down")
        assert {focused_title(a), focused_title(b)} == {"Initech rollout", "Hooli expansion"}
        notes_a, notes_b = record_notifications(a), record_notifications(b)
        await asyncio.gather(pa.press("shift+right"), pb.press("shift+right"))
        await settle(pa)
        await settle(pb)
        in_proposal = rows(db_target, "SELECT count(*) FROM deal d JOIN stage s ON s.id = d.stage_id "
                                      "WHERE s.name = 'Proposal' AND d.status = 'open'")
        assert in_proposal == [(2,)]  # never 3: one of the two moves was refused
        refusals = [n for n in notes_a + notes_b if "WIP limit (2/2)" in n[0]]
        assert len(refusals) == 1, notes_a + notes_b
        for app, pilot in ((a, pa), (b, pb)):  # and both boards show the winner, by live update
            for _ in range(100):
                model = app.board_screen.model
                assert model is not None
                proposal = next(s.id for s in model.stages if s.name == "Proposal")
                if model.count(proposal) == 2:
                    break
                await asyncio.sleep(0.02)
                await pilot.pause()
            assert model.count(proposal) == 2


async def test_a_closed_board_leaves_no_feed_behind(db_target: str, sales: dict[str, int], engine: str) -> None:
    def feeds() -> list[str]:
        return [t.name for t in threading.enumerate() if t.name == "tuikanban-feed"]

    app = fast_app(db_target)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert feeds() == ["tuikanban-feed"]
    for _ in range(100):  # the wait returns within a quarter of a second of the board closing
        if not feeds():
            break
        await asyncio.sleep(0.01)
    assert feeds() == []
    if engine == "postgresql":
        listening = rows(db_target, "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'tuikanban-feed' "
                                    "AND datname = current_database()")
        assert listening == [(0,)]


async def test_a_move_refused_because_another_user_closed_the_deal_is_a_message(
    db: Database, sales: dict[str, int], db_target: str
) -> None:
    app = new_app(db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        notes = record_notifications(app)
        # The board has not heard of the win yet (as between two polls): its live feed is stopped first, or a poll
        # on a busy machine could take the card off the board before the key and the move would not be tried.
        app.board_screen.stop_live()
        other = open_database(db_target)
        try:
            ds.win_deal(other, sales["initech"], user="dana")
        finally:
            other.close()
        assert view_of(app).focused_card.title == "Initech rollout"  # the board still shows it
        await press(pilot, "shift+right")
        await settle(pilot)  # (the refusal comes back from the writes lane: on a busy machine, after the key's frame)
        assert any(sev == "error" and "won" in msg for msg, _t, sev in notes), notes
        assert "Initech rollout" not in screen_text(app)  # the refusal read the deal again: it left the board


class HeldFeed(ChangeFeed):
    """A change feed whose first wait is under way until the test lets it hear a commit (`release`)."""

    def __init__(self) -> None:
        super().__init__()
        self.waiting, self.release, self.closed = threading.Event(), threading.Event(), threading.Event()

    def wait(self, timeout: float) -> Change | None:
        self.waiting.set()
        self.release.wait(10)
        return Change(None)  # (a commit: anything may have changed)

    def close(self) -> None:
        self.closed.set()  # (the feed's lane closes it after posting what the wait heard)


async def test_a_commit_heard_by_a_feed_stopped_meanwhile_does_not_change_the_board(
    db: Database, sales: dict[str, int], db_target: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The race behind the test above failing every other run: the feed's wait was under way when the board stopped
    # it, heard the win, and the board caught up with it anyway; the card left the board between the check and
    # the key, and the key moved the card focused then (Acme into Qualified) instead of being refused.
    feed = HeldFeed()
    monkeypatch.setattr(live, "open_feed", lambda _target: feed)
    app = new_app(db)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            notes = record_notifications(app)
            assert feed.waiting.wait(5)
            app.board_screen.stop_live()
            other = open_database(db_target)
            try:
                ds.win_deal(other, sales["initech"], user="dana")
            finally:
                other.close()
            feed.release.set()  # the wait under way hears the win
            assert feed.closed.wait(5)  # (what it heard is posted to the board by now)
            await settle(pilot)
            assert view_of(app).focused_card.title == "Initech rollout"  # the stopped feed changed nothing
            await press(pilot, "shift+right")
            assert any(sev == "error" and "won" in msg for msg, _t, sev in notes), notes
            assert ds.get_deal(db, sales["acme"]).stage_name == "Lead"
    finally:
        feed.release.set()


# -- read-only, help, safety ----------------------------------------------------------------------------------------


async def test_read_only_database_says_so_and_refuses_writes(db: Database, sales: dict[str, int],
                                                             db_target: str) -> None:
    ro = open_database(db_target, readonly=True)
    try:
        app = TuikanbanApp(ro, "tester")
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            assert "read-only" in str(app.board_screen.header.render())
            notes = record_notifications(app)
            await press(pilot, "shift+right")
            assert any("read-only" in msg and sev == "error" for msg, _t, sev in notes)
            assert ds.get_deal(db, sales["initech"]).stage_name == "Lead"
    finally:
        ro.close()


async def test_help_lists_every_key_of_the_spec(db: Database, sales: dict[str, int]) -> None:
    from tuikanban.ui.screens.help import HelpScreen

    sections = help_sections()
    keys = " ".join(str(key) for _title, rows in sections for key, _desc in rows)  # (badges are Content)
    for key in ("←", "→", "h", "l", "↑", "↓", "k", "j", "⇧→", "⇧←", "L", "H", "⇧↑", "⇧↓", "K", "J", "n", "enter",
                "w", "x", "a", "m", "s", "p", "/", "u", "?", "ctrl+p", "esc", "q", "e", "c", ",", "r"):
        assert key in keys.split(), key
    for _title, bindings in BINDING_SECTIONS:
        for binding in bindings:
            assert binding.id and binding.id.startswith("board.")
    app = new_app(db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "question_mark")
        assert isinstance(app.screen, HelpScreen)
        await press(pilot, "escape")
        assert app.screen is app.board_screen


async def test_help_uses_two_columns_on_a_wide_terminal(db: Database, sales: dict[str, int]) -> None:
    from textual.containers import VerticalScroll

    from tuikanban.ui.screens.help import HelpScreen

    titles = [title for title, _rows in help_sections()]
    app = new_app(db)
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        await press(pilot, "question_mark")
        assert isinstance(app.screen, HelpScreen)
        assert app.screen.has_class("-wide")
        columns = list(app.screen.query(".help-column"))
        assert len(columns) == 2 and columns[0].region.x < columns[1].region.x
        body = app.screen.query_one("#help-body", VerticalScroll)
        # every section is in the help, in one of the two columns; each column starts on screen (the longer column
        # scrolls with the body once the keys outgrow the terminal)
        sections = list(app.screen.query(".help-section"))
        assert sorted(str(w.render()) for w in sections) == sorted(titles)
        firsts = [next(w for w in sections if column in w.ancestors) for column in columns]
        assert all(body.region.contains_region(w.region) for w in firsts)
    app = new_app(db)
    async with app.run_test(size=(100, 45)) as pilot:  # narrow: one column, as before
        await settle(pilot)
        await press(pilot, "question_mark")
        assert isinstance(app.screen, HelpScreen)
        assert not app.screen.has_class("-wide") and not list(app.screen.query(".help-column"))


async def test_user_text_is_shown_literally(db: Database, fixed_now: str) -> None:
    p = ps.create_pipeline(db, "Sales", ["Lead"])
    ds.create_deal(db, p.id, "[bold red]Boom[/] \x1b]52;c;aGk=\x07deal", user="tester", company="[link=x]Co[/link]")
    app = new_app(db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        text = screen_text(app)
        assert "[bold red]Boom[/]" in text and "[link=x]Co[/link]" in text
        assert "\x1b" not in text and "\x07" not in text
        notes = record_notifications(app)
        await press(pilot, "w", "y")  # the notification quotes the title literally too
        assert any("[bold red]Boom[/]" in msg for msg, _t, _s in notes)


# -- the other screens the board opens ------------------------------------------------------------------------------


async def test_closed_deals_reopen_focuses_the_deal(db: Database, sales: dict[str, int]) -> None:
    from tuikanban.ui.screens.closed import ClosedDealsScreen, StagePickScreen

    app = new_app(db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "w", "y")  # Initech won
        assert "Initech rollout" not in screen_text(app)
        await press(pilot, "c")
        assert isinstance(app.screen, ClosedDealsScreen)
        await press(pilot, "enter")  # reopen the only closed deal
        assert isinstance(app.screen, StagePickScreen)
        await press(pilot, "home", "enter")  # into Lead
        assert app.screen is app.board_screen
        assert ds.get_deal(db, sales["initech"]).status == "open"
        # the reopen's reload and focus land after the modal closes: allow the board a moment under load
        for _ in range(100):
            if focused_title(app) == "Initech rollout":
                break
            await pilot.pause(0.02)
        assert focused_title(app) == "Initech rollout"


async def test_settings_change_shows_on_the_board(db: Database, sales: dict[str, int]) -> None:
    from tuikanban.ui.screens.settings import PipelineSettingsScreen

    app = new_app(db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "comma")
        assert isinstance(app.screen, PipelineSettingsScreen)
        ps.set_stage(db, sales["pipeline"], "Lead", wip_max=5)  # as if done in the screen
        app.screen.changed = True  # type: ignore[attr-defined]
        await press(pilot, "escape")
        assert app.screen is app.board_screen
        assert " 3/5 " in screen_text(app).splitlines()[0]


async def test_metrics_screen_opens_and_closes(db: Database, sales: dict[str, int]) -> None:
    from tuikanban.ui.screens.metrics import MetricsScreen

    app = new_app(db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "m")
        assert isinstance(app.screen, MetricsScreen)
        await press(pilot, "escape")
        assert app.screen is app.board_screen
        assert focused_title(app) == "Initech rollout"


async def test_aging_panel_toggles_and_focuses_the_chosen_deal(db: Database, sales: dict[str, int]) -> None:
    from tuikanban.ui.widgets.aging_panel import AgingPanel

    app = new_app(db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "a")
        panel = app.board_screen.query_one(AgingPanel)
        await settle(pilot)
        panel.post_message(AgingPanel.FocusDeal(sales["umbrella"]))  # what enter on its row sends
        await settle(pilot)
        assert focused_title(app) == "Umbrella deal"
        assert view_of(app).has_focus
        await press(pilot, "a")
        assert app.board_screen.aging_panel is None
        assert not any(panel.display for panel in app.board_screen.query(AgingPanel))  # (a spare is hidden)


async def test_command_palette_lists_board_actions(db: Database, sales: dict[str, int]) -> None:
    app = new_app(db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        titles = [c.title for c in app.get_system_commands(app.board_screen)]
        assert "Move the focused deal to the next stage" in titles
        assert "Swimlanes by deal type on/off" in titles
        assert "Redo what you last undid" in titles  # not in the footer (room), but in the palette


async def test_refresh_rereads_and_quit_exits(db: Database, sales: dict[str, int]) -> None:
    app = new_app(db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        loads: list[Any] = []
        original_load = app.gateway.load
        app.gateway.load = lambda *a, **k: loads.append(a) or original_load(*a, **k)  # type: ignore[method-assign]
        await press(pilot, "r")
        assert len(loads) == 1 and focused_title(app) == "Initech rollout"
        await pilot.press("q")
        await pilot.pause()
        assert not app.is_running


async def test_quick_repeated_moves_go_stage_by_stage_and_never_skip_a_refusal(
    db: Database, sales: dict[str, int]
) -> None:
    from tuikanban.ui.dialogs.reason import ReasonScreen

    ps.set_stage(db, sales["pipeline"], "Proposal", wip_max=None)
    app = new_app(db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        board_of(app).action_move(1)  # two presses before the first result is back
        board_of(app).action_move(1)
        await settle(pilot)
        assert ds.get_deal(db, sales["initech"]).stage_name == "Proposal"
        assert focused_title(app) == "Initech rollout"
        await press(pilot, "H", "H")
        assert ds.get_deal(db, sales["initech"]).stage_name == "Lead"
        ps.set_stage(db, sales["pipeline"], "Qualified", wip_max=1)  # Hooli fills it
        await asyncio.sleep(0.7)
        await settle(pilot)
        notes = record_notifications(app)
        board_of(app).action_move(1)  # the first is refused: the second must not jump past it
        board_of(app).action_move(1)
        await settle(pilot)
        assert isinstance(app.screen, ReasonScreen)
        assert ds.get_deal(db, sales["initech"]).stage_name == "Lead"
        assert any("is not in Qualified (the move before was refused" in msg for msg, _t, _s in notes)
        await press(pilot, "escape")
        assert ds.get_deal(db, sales["initech"]).stage_name == "Lead"


# -- the deal detail's activity lines -----------------------------------------------------------------------------


def _activity(kind: str, done: bool, subject: str = "Sent proposal v1") -> Any:
    from datetime import UTC, datetime

    from tuikanban.domain.records import ActivityView

    return ActivityView(id=1, deal_id=1, kind=kind, subject=subject, at=datetime(2026, 2, 21, 12, tzinfo=UTC),
                        user="carol", due=None, done=done)


def _struck(content: Any, text: str) -> bool:
    """Whether the span of `content` that reads `text` is struck through."""
    start = content.plain.index(text)
    return any("strike" in str(span.style) for span in content.spans
               if span.start <= start and span.end >= start + len(text))


def test_only_a_finished_task_is_struck_through() -> None:
    from tuikanban.ui.screens.deal_detail import describe_activity

    # logged emails, calls and meetings are stored done; they are history, not finished work
    for kind in ("email", "call", "meeting", "note"):
        assert not _struck(describe_activity(_activity(kind, True)), "Sent proposal v1"), kind
    assert _struck(describe_activity(_activity("task", True)), "Sent proposal v1")
    assert not _struck(describe_activity(_activity("task", False)), "Sent proposal v1")


def test_an_activity_shows_who_and_when_on_its_own_line() -> None:
    from tuikanban.ui.screens.deal_detail import describe_activity

    lines = describe_activity(_activity("email", True)).plain.split("\n")
    assert lines[0] == "• email   Sent proposal v1"
    # indented under the subject (mark 2 + kind 8 = 10 columns); the day is the local date of 2026-02-21 12:00 UTC
    assert lines[1].startswith(" " * 10 + "carol, 2026-02-2")
    assert len(lines) == 2


def test_detail_plurals() -> None:
    from tuikanban.domain.metrics import plural
    from tuikanban.ui.screens.deal_detail import _days

    assert plural(1, "open task") == "1 open task"
    assert plural(2, "open task") == "2 open tasks"
    assert plural(1, "day") == "1 day" and plural(0, "day") == "0 days"
    assert _days(1.0) == "1 day" and _days(6.5) == "6.5 days" and _days(1.04) == "1 day"


def test_a_close_date_shows_its_year_when_not_this_year() -> None:
    from datetime import UTC, date, datetime

    from tuikanban.store.fastread import BoardCard
    from tuikanban.ui.board.card import close_text

    def card(close: date | None) -> BoardCard:
        return BoardCard(id=1, pipeline_id=1, title="Acme", company="", contact="", value_minor=None, currency="USD",
                         owner="", type_id=None, type_name=None, expected_close=close, stage_id=1, status="open",
                         rank=1, stage_entered_at=datetime(2026, 1, 1, tzinfo=UTC), version=1)

    now = datetime(2026, 3, 2, 12, tzinfo=UTC)  # the clock's year is 2026; a Monday
    assert close_text(card(date(2026, 3, 11)), now) == "11 Mar"
    assert close_text(card(date(2026, 3, 6)), now) == "Fri"  # within the coming week: its weekday
    assert close_text(card(date(2027, 1, 11)), now) == "Jan '27"
    assert close_text(card(date(2025, 12, 30)), now) == "Dec '25"
    assert close_text(card(None), now) == ""
