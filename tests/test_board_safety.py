"""Pilot tests of the board's side of "never lose a rep's work": undo and redo keys (forced past a WIP limit with
a reason), and what the board does when another process changes what it shows."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual import events
from textual.pilot import Pilot
from textual.widgets import Input, Static, TextArea

from board_helpers import press, settle
from test_board import record_notifications
from tuikanban.services import deals as ds
from tuikanban.services import pipelines as ps
from tuikanban.store.engine import Database, open_database
from tuikanban.ui.app import TuikanbanApp
from tuikanban.ui.board import file_watch
from tuikanban.ui.dialogs.confirm import ConfirmScreen
from tuikanban.ui.dialogs.reason import ReasonScreen
from tuikanban.ui.screens.deal_form import DealFormScreen

pytestmark = pytest.mark.engines  # the tests that use a database run on SQLite and on PostgreSQL

SIZE = (160, 45)


@pytest.fixture
def sales(db: Database, fixed_now: str) -> dict[str, int]:
    """Lead: Initech (top), Acme; Qualified: Hooli; Proposal (WIP max 1): Umbrella."""
    p = ps.create_pipeline(db, "Sales", ["Lead", "Qualified", "Proposal"])
    ps.set_stage(db, p.id, "Proposal", wip_max=1)

    def deal(title: str, stage: str, value: str) -> int:
        return ds.create_deal(db, p.id, title, user="other", stage=stage, value=value, owner="tester").id

    ids = {"acme": deal("Acme pilot", "Lead", "12500"), "initech": deal("Initech rollout", "Lead", "30000"),
           "hooli": deal("Hooli expansion", "Qualified", "5000"),
           "umbrella": deal("Umbrella deal", "Proposal", "70000")}
    ids["pipeline"] = p.id
    return ids


def focused_title(app: TuikanbanApp) -> str | None:
    card = app.board_screen.view.focused_card
    return card.title if card else None


async def test_u_undoes_and_shift_u_and_ctrl_r_redo(db: Database, sales: dict[str, int]) -> None:
    app = TuikanbanApp(db, "tester")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert focused_title(app) == "Initech rollout"
        await press(pilot, "L")
        assert ds.get_deal(db, sales["initech"]).stage_name == "Qualified"
        await press(pilot, "u")
        assert ds.get_deal(db, sales["initech"]).stage_name == "Lead"
        await press(pilot, "U")
        assert ds.get_deal(db, sales["initech"]).stage_name == "Qualified"
        await press(pilot, "u")
        await press(pilot, "ctrl+r")
        assert ds.get_deal(db, sales["initech"]).stage_name == "Qualified"
        kinds = [e.kind for e in ds.deal_history(db, sales["initech"])]
        assert kinds[-4:] == ["undo", "redo", "undo", "redo"]


async def test_undo_into_a_full_stage_asks_a_reason_and_forces(
    db: Database, sales: dict[str, int], db_target: str
) -> None:
    app = TuikanbanApp(db, "tester")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        # tester wins Umbrella (Proposal empties), then another rep moves Hooli into Proposal (now full, 1/1)
        ds.win_deal(db, sales["umbrella"], user="tester")
        other = open_database(db_target)
        try:
            ds.move_deal(other, sales["hooli"], "Proposal", user="bob")
        finally:
            other.close()
        await press(pilot, "u")
        assert isinstance(app.screen, ReasonScreen)
        assert ds.get_deal(db, sales["umbrella"]).status == "won"  # nothing happened yet
        await pilot.press(*"CEO asked")
        await press(pilot, "enter")
        umbrella = ds.get_deal(db, sales["umbrella"])
        assert (umbrella.status, umbrella.stage_name) == ("open", "Proposal")
        assert any(e.kind == "wip_override" for e in ds.deal_history(db, sales["umbrella"]))


# -- the board's file replaced or restored under it -------------------------------------------------------------


async def wait_for(pilot: Pilot[Any], done: Callable[[], bool], seconds: float = 5.0,
                   why: Callable[[], object] = lambda: None) -> None:
    for _ in range(int(seconds / 0.05)):
        if done():
            return
        await asyncio.sleep(0.05)
        await pilot.pause()
    await settle(pilot)
    assert done(), why()


def log_size(path: Path) -> int:
    try:
        return Path(f"{path}-wal").stat().st_size
    except FileNotFoundError:
        return 0


def other_board(path: Path) -> None:
    """Another board file: pipeline Other with one deal."""
    other = open_database(path)
    try:
        p = ps.create_pipeline(other, "Other", ["Start", "End"])
        ds.create_deal(other, p.id, "Stark upgrade", user="dana")
    finally:
        other.close()


@pytest.mark.sqlite_only  # the file moved over the open board
async def test_a_replaced_file_stops_writes_keeps_the_form_text_and_r_reopens(
    db: Database, sales: dict[str, int], db_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(file_watch, "WATCH_SECONDS", 0.1)
    other_board(tmp_path / "other.db")
    db.close()  # the board alone has the file open, as when a rep runs `tuikanban`
    app = TuikanbanApp(db_path=db_path, user="tester")
    said = record_notifications(app)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "e")  # the form on Initech: the rep types notes
        form = app.screen
        assert isinstance(form, DealFormScreen)
        form.query_one("#f-notes", TextArea).text = "Budget approved"
        # The board folds its log after each write, but not while a reader is in it (the watch's look, every 0.1 s
        # here): wait for the log to be empty, as it is at rest, or `r` rightly refuses to read it into the new file.
        await wait_for(pilot, lambda: log_size(db_path) == 0)
        os.replace(tmp_path / "other.db", db_path)  # mv other.db board.db under the open board
        await wait_for(pilot, lambda: board.files.gone is not None if (board := app.board_screen) else False)
        assert any(f"The board file {db_path} was replaced by another file" in text for text, *_ in said)
        await press(pilot, "ctrl+s")
        assert app.screen is form  # not saved, not closed: the text is still there, with the reason
        assert form.query_one("#f-notes", TextArea).text == "Budget approved"
        assert "What you typed is kept here: press ctrl+r" in str(form.query_one("#form-banner", Static).visual)
        await press(pilot, "escape", "y")  # (it asks first: the notes were typed)
        await press(pilot, "L")  # the board refuses too, with the sentence
        assert said[-1][0].endswith("Press r to reopen the file at that path.")
        await press(pilot, "r")  # the board let go of the old file (and its log was empty): the new one opens
        await wait_for(pilot, lambda: "Stark upgrade" in {c.title for c in app.board_screen.model.by_id.values()}
                       if app.board_screen.model else False, why=lambda: [text for text, *_ in said])
        assert not app.board_screen.session.readonly
    after = open_database(db_path)
    try:
        assert [d.title for d in ds.list_deals(after, None)] == ["Stark upgrade"]
    finally:
        after.close()


@pytest.mark.sqlite_only  # a backup file restored into the open board's file
async def test_a_restore_under_the_open_board_reloads_and_says_who_restored_it(
    db: Database, sales: dict[str, int], db_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tuikanban.services.restore import restore
    from tuikanban.store.engine import backup_file

    monkeypatch.setattr(file_watch, "WATCH_SECONDS", 0.1)
    backup_file(db_path, tmp_path / "monday.db")  # four deals
    ds.create_deal(db, sales["pipeline"], "Late deal", user="tester")
    app = TuikanbanApp(db, "tester")
    said = record_notifications(app)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.board_screen.model is not None and app.board_screen.model.open_total == 5
        restore(db_path, tmp_path / "monday.db", user="bob")
        sentence = "The board was restored from monday.db by bob."
        await wait_for(pilot, lambda: any(text == sentence for text, *_ in said))
        await settle(pilot)
        assert app.board_screen.model is not None and app.board_screen.model.open_total == 4
        assert not app.board_screen.session.readonly  # a restore is not a replaced file
        await asyncio.sleep(0.3)
        await settle(pilot)
        assert [text for text, *_ in said].count(sentence) == 1  # said once


# -- nothing typed is lost by a key -------------------------------------------------------------------------------


async def test_w_asks_before_marking_won(db: Database, sales: dict[str, int]) -> None:
    app = TuikanbanApp(db, "tester")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "w")
        assert isinstance(app.screen, ConfirmScreen)
        assert str(app.screen.query_one("#confirm-message", Static).visual) == "Mark 'Initech rollout' ($30,000) won?"
        await press(pilot, "n")
        assert ds.get_deal(db, sales["initech"]).status == "open"
        await press(pilot, "w", "y")
        assert ds.get_deal(db, sales["initech"]).status == "won"


async def test_ctrl_c_quits_asking_first_when_a_form_holds_typed_text(db: Database, sales: dict[str, int]) -> None:
    app = TuikanbanApp(db, "tester")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "n")
        await pilot.press(*"Stark")
        await press(pilot, "ctrl+c")
        assert isinstance(app.screen, ConfirmScreen)
        await press(pilot, "n")
        assert isinstance(app.screen, DealFormScreen) and app.screen.query_one("#f-title", Input).value == "Stark"
        await press(pilot, "ctrl+c", "y")
        assert not app.is_running


async def test_ctrl_c_on_the_board_quits(db: Database, sales: dict[str, int]) -> None:
    app = TuikanbanApp(db, "tester")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+c")
        await pilot.pause()
        assert not app.is_running


def burst(pilot: Pilot[Any], *keys: str) -> None:
    """Every key queued at once, as one read of a fast typist or a paste (see tests/test_forms_keys.py)."""
    for key in keys:
        pilot.app.post_message(events.Key(key, key if len(key) == 1 else None))


async def test_keys_typed_in_the_same_burst_as_n_reach_the_new_deal_form(db: Database, sales: dict[str, int]) -> None:
    app = TuikanbanApp(db, "tester")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        burst(pilot, "n", *"Stark", "ctrl+s")
        await settle(pilot)
        await pilot.pause(0.2)
        await settle(pilot)
    titles = {d.title for d in ds.list_deals(db, sales["pipeline"])}
    assert "Stark" in titles
    assert ds.get_deal(db, sales["initech"]).stage_name == "Lead"  # the S and k did not act on the board


async def test_keys_typed_in_the_same_burst_as_e_reach_the_edit_form(db: Database, sales: dict[str, int]) -> None:
    app = TuikanbanApp(db, "tester")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)  # the board is read (Initech focused)
        await press(pilot, "j")  # Acme
        burst(pilot, "e", "ctrl+u", *"Acme", "ctrl+s")  # its new title, typed with the e
        await settle(pilot)
        await pilot.pause(0.2)
        await settle(pilot)
    assert ds.get_deal(db, sales["acme"]).title == "Acme"
    assert ds.get_deal(db, sales["initech"]).title == "Initech rollout"


# -- the deal detail says what undo and redo did --------------------------------------------------------------------


def test_detail_history_describes_undo_redo_and_skipped_undos_in_words(db: Database, sales: dict[str, int]) -> None:
    from tuikanban.services.undo import redo_last, undo_last
    from tuikanban.ui.screens.deal_detail import describe_event

    pid, acme = sales["pipeline"], sales["acme"]
    assert ds.reorder_deal(db, sales["initech"], 1, user="tester")
    undo_last(db, pid, user="tester")
    ds.move_deal(db, acme, "Qualified", user="tester")
    undo_last(db, pid, user="tester")
    redo_last(db, pid, user="tester")
    ds.edit_deal(db, acme, {"value": "20000"}, user="tester")
    undo_last(db, pid, user="tester")
    ds.edit_deal(db, sales["hooli"], {"company": "Hooli"}, user="tester")
    ds.edit_deal(db, sales["hooli"], {"company": "Hooli Inc"}, user="bob")
    undo_last(db, pid, user="tester")  # bob changed it since: skipped
    lines = [str(describe_event(e, "USD", {}).plain).split("  ", 2)[-1]
             for d in ("acme", "initech", "hooli") for e in ds.deal_history(db, sales[d])
             if e.kind in ("undo", "redo", "undo_skipped")]
    assert lines[:3] == ["undo: moved Qualified → Lead", "redo: moved Lead → Qualified",
                         "undo: value: $20,000 → $12,500"]
    assert lines[3] == "undo: reordered in Lead"
    assert lines[4].startswith("skipped an undo: ") and "bob" in lines[4]


# -- the board and the detail follow other reps ------------------------------------------------------------------


async def test_focus_moves_to_the_nearest_card_when_the_focused_card_leaves(
    db: Database, sales: dict[str, int], db_target: str
) -> None:
    app = TuikanbanApp(db, "tester")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "l")
        assert focused_title(app) == "Hooli expansion"  # alone in Qualified
        other = open_database(db_target)
        try:
            ds.win_deal(other, sales["hooli"], user="bob")
        finally:
            other.close()
        await wait_for(pilot, lambda: focused_title(app) != "Hooli expansion")
        assert focused_title(app) == "Initech rollout"  # the nearest column's card, not an empty cell


async def test_an_open_deal_detail_follows_another_reps_change(
    db: Database, sales: dict[str, int], db_target: str
) -> None:
    from tuikanban.ui.screens.deal_detail import DealDetailScreen

    app = TuikanbanApp(db, "tester")
    said = record_notifications(app)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "enter")
        detail = app.screen
        assert isinstance(detail, DealDetailScreen)
        await settle(pilot)
        other = open_database(db_target)
        try:
            ds.move_deal(other, sales["initech"], "Qualified", user="bob")
        finally:
            other.close()
        await wait_for(pilot, lambda: "Qualified" in str(detail.query_one(".dialog").border_subtitle))
        assert ("Changed by bob; shown as it is now.", "", "information") in said
        assert app.screen is detail  # still open
