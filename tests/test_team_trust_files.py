"""Round 7: a form open on a board whose file is replaced (`mv other.db board.db`, `cp backup.db board.db`) keeps
what the rep typed, says why it cannot save, and saves it into the file now at the path after ctrl+r reopens it
from the form. Real files on SQLite (a PostgreSQL board has no file to replace)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from board_helpers import press, settle, wait_until
from tuikanban.services import deals as ds
from tuikanban.services import pipelines as ps
from tuikanban.store.engine import open_database
from tuikanban.store.walowner import foreign_log
from tuikanban.ui.app import TuikanbanApp
from tuikanban.ui.board import file_watch
from tuikanban.ui.screens.deal_form import DealFormScreen
from tuikanban.ui.widgets.log_bar import LogBar

pytestmark = pytest.mark.sqlite_only  # a file moved over the open board

SIZE = (160, 45)


def make_board(path: Path, titles: list[str]) -> None:
    db = open_database(path)
    try:
        p = ps.create_pipeline(db, "Sales", ["Start", "End"])
        for title in titles:
            ds.create_deal(db, p.id, title, user="dana")
    finally:
        db.close()


def titles_in(path: Path) -> list[str]:
    db = open_database(path)
    try:
        return sorted(d.title for d in ds.list_deals(db, None))
    finally:
        db.close()


def noted(app: TuikanbanApp, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    said: list[str] = []
    notify = app.notify
    monkeypatch.setattr(app, "notify", lambda message, **kw: (said.append(str(message)), notify(message, **kw))[1])
    return said


async def replace_and_wait(pilot: Pilot[Any], app: TuikanbanApp, board: Path, other: Path) -> None:
    os.replace(other, board)  # mv other.db board.db, with the form open
    screen = app.board_screen
    await wait_until(pilot, lambda: screen.files.gone is not None)
    await wait_until(pilot, lambda: foreign_log(board) is None)  # the board let go of the old file


def two_boards(folder: Path) -> tuple[Path, Path]:
    """The rep's board and the file a colleague will move over it, each with one deal 'Acme'."""
    board, other = folder / "board.db", folder / "other.db"
    make_board(board, ["Acme"])
    make_board(other, ["Acme"])
    return board, other


async def log_typed(pilot: Pilot[Any], app: TuikanbanApp) -> LogBar:
    """The log bar open on the focused card ('Acme') with a line typed, not yet saved."""
    await settle(pilot)
    await press(pilot, "C")
    bar = app.board_screen.query_one(LogBar)
    bar.query_one(Input).value = "Rang them about the budget"
    return bar


@pytest.mark.parametrize("form", ["new", "edit"])
async def test_a_form_open_when_the_file_is_replaced_keeps_the_text_and_saves_it_after_ctrl_r(
        form: str, tmp_path: Path, fixed_now: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """ann types a new deal (or an edit) while a colleague moves another board file over hers. The save was refused
    ('no longer this board (press r on the board ...)') and r typed an r into the form: the only way to the
    board's r was escape, which threw the text away. The form now says the text is kept, ctrl+r reopens the file at
    that path from the form, and the next save puts the text there."""
    monkeypatch.setattr(file_watch, "WATCH_SECONDS", 0.1)
    board, other = tmp_path / "board.db", tmp_path / "other.db"
    make_board(board, ["Acme"])
    make_board(other, ["Acme", "Stark upgrade"])  # (deal 1 is 'Acme' in both: an edit lands on it)
    app = TuikanbanApp(db_path=board, user="ann")
    said = noted(app, monkeypatch)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "n" if form == "new" else "e")
        assert isinstance(app.screen, DealFormScreen)
        await settle(pilot)
        app.screen.query_one("#f-title", Input).value = "Typed by ann"
        await replace_and_wait(pilot, app, board, other)
        await press(pilot, "ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, DealFormScreen)  # refused, kept open with the text
        assert app.screen.query_one("#f-title", Input).value == "Typed by ann"
        banner = str(app.screen.query_one("#form-banner").render())
        assert "was replaced by another file" in banner and "What you typed is kept here: press ctrl+r" in banner
        await press(pilot, "ctrl+r")  # from the form: it stays open
        await wait_until(pilot, lambda: not app.board_screen.session.readonly)
        await settle(pilot)
        assert isinstance(app.screen, DealFormScreen)
        assert any(s.startswith("Reopened ") and "save again" in s for s in said), said
        await press(pilot, "ctrl+s")
        await settle(pilot)
        assert app.screen is app.board_screen
    expected = ["Acme", "Stark upgrade", "Typed by ann"] if form == "new" else ["Stark upgrade", "Typed by ann"]
    assert titles_in(board) == expected


@pytest.mark.parametrize("seen", [True, False], ids=["watch-looked", "saved-first"])
async def test_a_log_line_typed_when_the_file_is_replaced_is_kept_and_saved_after_ctrl_r(
        seen: bool, tmp_path: Path, fixed_now: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The log bar on the board: r typed into it, and escape asked to throw the line away. ctrl+r reopens.
    Round 8: saved in the moment before the watch looked at the file (`saved-first`), the bar said only 'was
    replaced by another file; nothing was written to either.' and ctrl+r was the board's redo."""
    from tuikanban.services.activities import list_activities

    monkeypatch.setattr(file_watch, "WATCH_SECONDS", 0.1 if seen else 600.0)
    board, other = two_boards(tmp_path)
    app = TuikanbanApp(db_path=board, user="ann")
    async with app.run_test(size=SIZE) as pilot:
        bar = await log_typed(pilot, app)
        if seen:
            await replace_and_wait(pilot, app, board, other)
        else:
            os.replace(other, board)
        await press(pilot, "enter")
        await settle(pilot)
        assert app.board_screen.query_one(LogBar).query_one(Input).value == "Rang them about the budget"
        said = str(bar.query_one("#log-error").render())  # (the bar shows 200 characters of it)
        assert "What you typed is kept" in said, said
        await wait_until(pilot, lambda: foreign_log(board) is None)  # the board let go of the old file
        await press(pilot, "ctrl+r")
        await wait_until(pilot, lambda: not app.board_screen.session.readonly)
        await settle(pilot)
        assert app.board_screen.query_one(LogBar).query_one(Input).value == "Rang them about the budget"
        await press(pilot, "enter")
        await settle(pilot)
        assert not app.board_screen.query(LogBar)
    db = open_database(board)
    try:
        assert [a.subject for a in list_activities(db, 1)] == ["Rang them about the budget"]
    finally:
        db.close()


async def test_the_gate_dialog_open_when_the_file_is_replaced_keeps_its_fields_and_moves_after_ctrl_r(
        tmp_path: Path, fixed_now: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The gate dialog hands what was typed to the board, whose write was refused once the file was replaced: the
    contact typed was lost. The dialog now stays with it until ctrl+r, then moves the deal in the file at the path
    (here this morning's backup copied over the board)."""
    from tuikanban.services.gates import set_gate
    from tuikanban.store.engine import backup_file
    from tuikanban.ui.dialogs.gate import GateScreen

    monkeypatch.setattr(file_watch, "WATCH_SECONDS", 0.1)
    board, backup = tmp_path / "board.db", tmp_path / "backup.db"
    make_board(board, ["Acme"])
    db = open_database(board)
    try:
        set_gate(db, "Sales", "End", require="contact")
    finally:
        db.close()
    backup_file(board, backup)
    app = TuikanbanApp(db_path=board, user="ann")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "L")
        assert isinstance(app.screen, GateScreen)
        app.screen.query_one("#gate-contact", Input).value = "Carl"
        await replace_and_wait(pilot, app, board, backup)
        await press(pilot, "ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, GateScreen)
        assert "press ctrl+r to reopen" in str(app.screen.query_one("#gate-error").render())
        assert app.screen.query_one("#gate-contact", Input).value == "Carl"
        await press(pilot, "ctrl+r")
        await wait_until(pilot, lambda: not app.board_screen.session.readonly)
        await settle(pilot)
        await press(pilot, "ctrl+s")
        await settle(pilot)
        assert app.screen is app.board_screen
    db = open_database(board)
    try:
        deal = ds.get_deal(db, 1)
        assert (deal.stage_name, deal.contact) == ("End", "Carl")
    finally:
        db.close()


def test_a_long_sentence_in_the_log_bar_loses_its_middle_not_what_it_asks() -> None:
    from tuikanban.domain.text import display_ends

    sentence = "The board file /" + "x" * 300 + "/board.db was replaced." + file_watch.KEPT_HINT
    shown = display_ends(sentence, max_length=200)
    assert len(shown) == 200
    assert shown.startswith("The board file /xxx") and "…" in shown
    assert shown.endswith(file_watch.KEPT_HINT.strip())
    assert display_ends("Short and whole.", max_length=200) == "Short and whole."


async def test_the_log_bar_keeps_the_ctrl_r_hint_when_the_board_sits_in_a_long_path(
        tmp_path: Path, fixed_now: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A board in a deeply nested folder: the bar's refusal names the path, and cutting the sentence at 200
    characters cut off 'press ctrl+r', the one thing the rep needed to read."""
    monkeypatch.setattr(file_watch, "WATCH_SECONDS", 0.1)
    folder = tmp_path / ("shared-sales-team-pipelines-" * 3) / ("quarterly-review-archive-" * 3)
    folder.mkdir(parents=True)
    board, other = two_boards(folder)
    app = TuikanbanApp(db_path=board, user="ann")
    async with app.run_test(size=SIZE) as pilot:
        bar = await log_typed(pilot, app)
        await replace_and_wait(pilot, app, board, other)
        await press(pilot, "enter")
        await settle(pilot)
        said = str(bar.query_one("#log-error").render())
        assert str(folder)[:40] in said.replace("\n", "")  # (the sentence names the path)
        assert "press ctrl+r" in said.replace("\n", " "), said
