"""Two real boards on one file, as two reps in two terminals (`pty_board.PtyBoard`): bob edits a deal's notes
while alice moves the deal with H; bob's save keeps both. When both changed the notes, bob's form stays open with
his text and alice's beside it. Marked slow: two board processes start and are driven key by key."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from pty_board import PtyBoard
from tuikanban.services import deals as ds
from tuikanban.services import pipelines as ps
from tuikanban.store.engine import integrity_report, open_database

pytestmark = [pytest.mark.slow, pytest.mark.sqlite_only]  # two real board processes on one file
START_S = 60.0


def _board_file(tmp_path: Path) -> tuple[Path, int]:
    path = tmp_path / "board.db"
    db = open_database(path)
    try:
        ps.create_pipeline(db, "Sales", ["Lead", "Qualified"])
        deal = ds.create_deal(db, "Sales", "Acme pilot", user="dana", stage="Qualified", value="12500")
    finally:
        db.close()
    return path, deal.id


def _deal(path: Path, deal_id: int) -> tuple[str, str]:
    db = open_database(path)
    try:
        d = ds.get_deal(db, deal_id)
        return d.stage_name, d.notes or ""
    finally:
        db.close()


def _until(check: object, seconds: float, *boards: PtyBoard) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        for b in boards:
            b.pump(0.05)
        if check():  # type: ignore[operator]
            return True
    return False


def _open_notes(bob: PtyBoard) -> None:
    """e on the focused deal, then tab down to the notes (title, value, close, company, contact, owner, type,
    stage, notes)."""
    bob.send(b"e", settle=1.0)
    assert bob.wait_for(lambda s: "Notes" in s and "ctrl+s" in s, 20), bob.text()
    for _ in range(8):
        bob.send(b"\t", settle=0.15)


def _two_boards(path: Path) -> tuple[PtyBoard, PtyBoard]:
    bob, alice = PtyBoard(path, user="bob"), PtyBoard(path, user="alice")
    for board in (bob, alice):
        assert board.wait_for(lambda s: "Acme pilot" in s, START_S), board.text()
    # each sees the other (presence): both have opened the file for writing
    assert _until(lambda: "alice" in bob.text() and "bob" in alice.text(), 30, bob, alice), bob.text()
    return bob, alice


def test_bob_saves_notes_after_alice_moved_the_deal_and_both_changes_stay(tmp_path: Path) -> None:
    path, deal_id = _board_file(tmp_path)
    bob, alice = _two_boards(path)
    try:
        _open_notes(bob)
        bob.send(b"Budget approved", settle=0.5)
        alice.send(b"H", settle=0.5)  # alice moves the deal back to Lead
        assert _until(lambda: _deal(path, deal_id)[0] == "Lead", 20, bob, alice)
        bob.send(b"\x13", settle=0.5)  # ctrl+s
        assert _until(lambda: _deal(path, deal_id) == ("Lead", "Budget approved"), 20, bob, alice), bob.text()
        assert bob.wait_for(lambda s: "Notes" not in s, 10), bob.text()  # the form closed: saved
    finally:
        bob.close()
        alice.close()
    assert integrity_report(path) == ["ok"]


def test_a_same_field_conflict_keeps_bobs_typed_text_on_screen(tmp_path: Path) -> None:
    path, deal_id = _board_file(tmp_path)
    bob, alice = _two_boards(path)
    try:
        _open_notes(bob)
        bob.send(b"Budget approved", settle=0.5)
        _open_notes(alice)
        alice.send(b"Call back Monday", settle=0.5)
        alice.send(b"\x13", settle=0.5)
        assert _until(lambda: _deal(path, deal_id)[1] == "Call back Monday", 20, bob, alice), alice.text()
        bob.send(b"\x13", settle=1.0)
        assert bob.wait_for(lambda s: "alice saved: Call back Monday" in s, 20), bob.text()
        assert "Budget approved" in bob.text()  # his text is still in the form
        assert _deal(path, deal_id)[1] == "Call back Monday"  # nothing of his was saved over hers
        bob.send(b"\x0f", settle=0.5)  # ctrl+o: keep mine
        bob.send(b"\x13", settle=0.5)
        assert _until(lambda: _deal(path, deal_id)[1] == "Budget approved", 20, bob, alice), bob.text()
    finally:
        bob.close()
        alice.close()
    assert integrity_report(path) == ["ok"]
