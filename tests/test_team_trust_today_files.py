"""Round 8: the Today screen's done and snooze dialogs, and the board's snooze dialog, open when the board's file
is replaced or deleted. What the rep typed stays, the dialog says so with the sentence the other forms give
(`file_watch.KEPT_HINT`), and ctrl+r then save puts it into the file now at the path, also when the rep saved
before the board's watch had looked at the file (it looks every 2 seconds). A deleted file is not replaced by an
empty board on ctrl+r: the rep is told, and the text waits for the file to come back. Real files on SQLite (a
PostgreSQL board has no file to replace)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from board_helpers import press, settle, wait_until
from test_team_trust_files import SIZE, make_board, noted, titles_in
from tuikanban.services.activities import list_activities
from tuikanban.services.deals import get_deal
from tuikanban.services.tasks import add_task
from tuikanban.store.engine import backup_file, open_database
from tuikanban.store.walowner import foreign_log
from tuikanban.ui.app import TuikanbanApp
from tuikanban.ui.board import file_watch
from tuikanban.ui.dialogs.ask import AskScreen
from tuikanban.ui.dialogs.task_done import TaskDoneScreen

pytestmark = pytest.mark.sqlite_only  # a file moved over the open board, or deleted

KEPT = "What you typed is kept here: press ctrl+r to reopen the file at that path"
FIELDS = {"done": ("#td-note", "#td-error", "Budget agreed"), "snooze": ("#ask-input", "#ask-error", "+3d"),
          "board snooze": ("#ask-input", "#ask-error", "+3d")}


def board_with_task(path: Path, titles: list[str]) -> None:
    make_board(path, titles)
    db = open_database(path)
    try:
        add_task(db, 1, "Call Carl", "2026-03-02", user="dana")
    finally:
        db.close()


async def open_dialog(pilot: Pilot[Any], app: TuikanbanApp, dialog: str) -> None:
    if dialog != "board snooze":
        await press(pilot, "t")
        await settle(pilot)
    await press(pilot, "d" if dialog == "done" else "z")
    await settle(pilot)
    assert isinstance(app.screen, TaskDoneScreen if dialog == "done" else AskScreen)
    field, _, text = FIELDS[dialog]
    app.screen.query_one(field, Input).value = text


def kept(app: TuikanbanApp, dialog: str) -> tuple[str, str]:
    field, error, _ = FIELDS[dialog]
    return app.screen.query_one(field, Input).value, str(app.screen.query_one(error).render())


def landed(path: Path, dialog: str) -> bool:
    db = open_database(path)
    try:
        if dialog == "done":
            return [(a.kind, a.subject, a.done) for a in list_activities(db, 1)] == [
                ("note", "Budget agreed", False), ("task", "Call Carl", True)]
        if dialog == "snooze":
            return [str(a.due) for a in list_activities(db, 1)] == ["2026-03-05"]
        return str(get_deal(db, 1).snoozed_until) == "2026-03-05"
    finally:
        db.close()


@pytest.mark.parametrize("seen", [True, False], ids=["watch-looked", "saved-first"])
@pytest.mark.parametrize("dialog", ["done", "snooze", "board snooze"])
async def test_the_today_and_snooze_dialogs_keep_what_was_typed_over_a_replaced_file_and_save_after_ctrl_r(
        dialog: str, seen: bool, tmp_path: Path, fixed_now: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """dana is finishing a task (or snoozing it, or a deal) when a colleague moves another board file over hers.
    Saved before the board's watch had looked (`saved-first`), the dialog said only 'was replaced by another
    file; nothing was written to either.' and ctrl+r did nothing until the watch caught up. Now the sentence is the
    same as the other forms' either way, and ctrl+r then save puts it into the file now at the path."""
    monkeypatch.setattr(file_watch, "WATCH_SECONDS", 0.1 if seen else 600.0)
    board, other = tmp_path / "board.db", tmp_path / "other.db"
    board_with_task(board, ["Acme"])
    board_with_task(other, ["Acme", "Stark upgrade"])
    app = TuikanbanApp(db_path=board, user="dana")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await open_dialog(pilot, app, dialog)
        os.replace(other, board)  # mv other.db board.db, with the dialog open
        if seen:
            await wait_until(pilot, lambda: app.board_screen.files.gone is not None)
        await press(pilot, "ctrl+s" if dialog == "done" else "enter")
        await settle(pilot)
        text, said = kept(app, dialog)
        assert text == FIELDS[dialog][2] and "was replaced by another file" in said and KEPT in said, said
        await wait_until(pilot, lambda: foreign_log(board) is None)  # the board let go of the old file
        await press(pilot, "ctrl+r")  # from the dialog: it stays open
        await wait_until(pilot, lambda: not app.board_screen.session.readonly)
        await settle(pilot)
        assert kept(app, dialog)[0] == FIELDS[dialog][2]
        await press(pilot, "ctrl+s" if dialog == "done" else "enter")
        await settle(pilot)
        assert not isinstance(app.screen, TaskDoneScreen | AskScreen)
    assert titles_in(board) == ["Acme", "Stark upgrade"] and landed(board, dialog)


async def test_ctrl_r_over_a_deleted_file_creates_no_empty_board_and_keeps_the_text_until_the_file_is_back(
        tmp_path: Path, fixed_now: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The board file is deleted while dana types the outcome of a task. ctrl+r used to open the path anyway:
    SQLite created an empty board there, the first-run screen came up over her dialog, and her save said 'There is
    no pipeline with id 1.' Now ctrl+r creates nothing and says why; the dialog keeps the text; once this morning's
    backup is put back at the path, ctrl+r and save put the outcome into it."""
    monkeypatch.setattr(file_watch, "WATCH_SECONDS", 0.1)
    board, backup = tmp_path / "board.db", tmp_path / "backup.db"
    board_with_task(board, ["Acme"])
    backup_file(board, backup)
    app = TuikanbanApp(db_path=board, user="dana")
    said = noted(app, monkeypatch)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await open_dialog(pilot, app, "done")
        os.remove(board)
        await wait_until(pilot, lambda: app.board_screen.files.gone is not None)
        await press(pilot, "ctrl+s")
        await settle(pilot)
        assert "was deleted or moved away" in kept(app, "done")[1]
        await press(pilot, "ctrl+r")
        await wait_until(pilot, lambda: any("nothing was reopened" in s for s in said))
        await settle(pilot)
        assert not board.exists()  # no empty board created at the path
        assert isinstance(app.screen, TaskDoneScreen) and app.board_screen.session.readonly
        await press(pilot, "ctrl+s")
        await settle(pilot)
        text, sentence = kept(app, "done")
        assert text == "Budget agreed"
        assert sentence.startswith(f"There is no board file at {board} any more") and KEPT in sentence, sentence
        backup_file(backup, board)  # the backup put back at the path
        await press(pilot, "ctrl+r")
        await wait_until(pilot, lambda: not app.board_screen.session.readonly)
        await settle(pilot)
        await press(pilot, "ctrl+s")
        await settle(pilot)
        assert not isinstance(app.screen, TaskDoneScreen)
    assert "Traceback" not in " ".join(said) and landed(board, "done")

