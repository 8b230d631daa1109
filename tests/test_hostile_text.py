"""Text from the file is inert on every screen: hostile text planted with sqlite3 in every text column (as any
rep who can write the shared file could) never reaches the terminal as an escape sequence.

The board runs as a real process on a pseudo-terminal (`pty_board.PtyBoard`); every screen is opened with its
keys, and every byte the board writes is scanned for the sequences planted: OSC 52 (a clipboard write), CSI and
DCS carrying the marker parameter 1337, the 8-bit C1 CSI and OSC, and bidi overrides. Each step also checks that
the data itself is on screen (its printable part, "evil"), so a screen that failed to open cannot pass."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from pty_board import PtyBoard
from tuikanban.services import presence
from tuikanban.store.engine import open_database

pytestmark = pytest.mark.sqlite_only  # hostile text planted in the shared file with sqlite3

HOSTILE = ("\x1b]52;c;SGFja2Vk\x07\x1b[1337;1H\x1b[31;1337mevil\x9b1337m\x9d52;c;eA==\x07"
           "\u202e\u2066\x1bP1337q\x1b\\\x07\x08\u200f")
# (table, column) of every text a rep can type or a program can write; enumerations, dates and keys stay valid
COLUMNS = [
    ("pipeline", "name"), ("stage", "name"), ("stage", "exit_criteria"), ("stage", "checklist"),
    ("deal_type", "name"), ("deal", "title"), ("deal", "company"), ("deal", "contact"), ("deal", "owner"),
    ("deal", "notes"), ("deal", "lost_reason"), ("event", "user"), ("event", "old_value"), ("event", "new_value"),
    ("event", "reason"), ("activity", "subject"), ("activity", "user"), ("presence", "user"), ("presence", "host"),
]
CSI = re.compile(rb"\x1b\[([0-?]*)[ -/]*[@-~]")
OSC = re.compile(rb"\x1b\]([^\x07\x1b]*)")
DCS = re.compile(rb"\x1b[P^_X]([^\x1b]*)")
C1 = re.compile(rb"\xc2[\x80-\x9f]")  # U+0080..U+009F in UTF-8: 8-bit controls (CSI, OSC, ST...)
BIDI = re.compile("[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]")


def data_sequences(raw: bytes) -> list[bytes]:
    """Every escape sequence or control in `raw` that came from the planted text (none of the board's own)."""
    found = [m.group(0) for m in CSI.finditer(raw) if b"1337" in re.split(rb"[;:?]", m.group(1))]
    found += [m.group(0) for m in OSC.finditer(raw) if m.group(1).startswith(b"52;") or b"evil" in m.group(1)]
    found += [m.group(0) for m in DCS.finditer(raw) if b"1337" in m.group(1)]
    found += [m.group(0) for m in C1.finditer(raw)]
    found += [m.group(0).encode() for m in BIDI.finditer(raw.decode("utf-8", "replace"))]
    return found


def test_the_scan_finds_planted_sequences() -> None:
    # what the board would write if it passed the text through unchanged
    assert len(data_sequences(HOSTILE.encode())) >= 6
    assert data_sequences(b"\x1b[38;2;13;37;0mplain\x1b[0m\x1b]0;title\x07") == []


def _plant(path: Path, seat_token: str) -> None:
    con = sqlite3.connect(path)
    try:
        with con:
            for table, column in COLUMNS:
                con.execute(f"UPDATE {table} SET {column} = {column} || ? WHERE {column} IS NOT NULL",
                            (HOSTILE,))
            con.execute("UPDATE pipeline SET lost_reasons = replace(lost_reasons, char(10), ? || char(10)) || ?",
                        (HOSTILE, HOSTILE))
            note = json.dumps({"from": "b.db" + HOSTILE, "by": "eve" + HOSTILE, "at": "2026-03-01T12:00:00+00:00"})
            con.execute("INSERT OR REPLACE INTO tk_meta (key, value) VALUES ('restored', ?)", (note,))
            assert con.execute("SELECT count(*) FROM presence WHERE token = ?", (seat_token,)).fetchone() == (1,)
    finally:
        con.close()


@pytest.fixture
def hostile_board(cli: Any, db_path: Path) -> Path:
    for args in (
        ["pipeline", "create", "Sales", "--stages", "Lead,Qualified,Proposal", "--types", "New,Renewal",
         "--target", "100k"],
        ["stage", "set", "Qualified", "--exit-criteria", "Budget confirmed", "--checklist", "Budget;Signed"],
        ["stage", "set", "Proposal", "--wip-max", "1"],
        ["deal", "add", "Acme pilot", "--company", "Acme", "--contact", "Ann", "--owner", "tester", "--type", "New",
         "--value", "12k", "--close", "2026-12-31", "--at", "2026-01-05"],
        ["deal", "add", "Globex", "--stage", "Proposal", "--value", "5k", "--type", "Renewal", "--at", "2026-01-06"],
        ["deal", "add", "Initech", "--value", "3k", "--at", "2026-01-07"],
        ["deal", "lost", "3", "--reason", "Price"],
        ["deal", "add", "Hooli", "--value", "8k", "--at", "2026-01-08"],
        ["deal", "won", "4"],
        ["deal", "log", "1", "call", "Called them", "--next", "2026-12-20", "Send the offer"],
        ["deal", "edit", "1", "--company", "Acme Corp"],
        ["deal", "add", "Umbrella", "--at", "2026-01-09"],
        ["deal", "move", "5", "Proposal", "--force", "--reason", "CEO asked"],
    ):
        result = cli(*args)
        assert result.code == 0, (args, result.err)
    db = open_database(db_path)
    try:
        seat = presence.join(db, "bob")  # another rep on the board (this process: alive)
        presence.viewing(seat, 1)
        presence.editing(seat, 1)
    finally:
        db.close()
    _plant(db_path, seat.token)
    return db_path


# (keys, what must be on screen after them) -- every screen of the board, in an order that leaves each one
STEPS: list[tuple[bytes, str]] = [
    (b"", "evil here"),  # the board: header (pipeline, presence), columns, lanes, cards
    (b"s", "evil"),  # swimlanes by type
    (b"\r", "editing this deal"),  # deal detail: fields, exit criteria, history, activities, who else is on it
    (b"\x1b", "evil"),
    (b"e", "editing this deal"),  # the edit form: every input's initial value
    (b"\x1b", "evil"),
    (b"n", "New deal"),  # the new deal form (types, stages)
    (b"\x1b", "evil"),
    (b"x", "lost"),  # lost: the pipeline's reasons
    (b"\x1b", "evil"),
    (b"L", "exit criteria"),  # into Qualified: the exit criteria notification
    (b"L", "WIP limit"),  # into Proposal (full): the refusal and the force dialog
    (b"\x1b", "evil"),
    (b"u", "evil"),  # undo: its sentence names the deal
    (b"a", "Needs attention"),  # aging panel
    (b"c", "┤"),  # aging chart
    (b"\x1b", "evil"),
    (b"m", "Bottleneck"),  # metrics: header, stages, owners, types, lost reasons
    (b"\x1b", "evil"),
    (b"p", "Pipelines"),  # pipeline switcher
    (b"\x1b", "evil"),
    (b"c", "Lost reason"),  # closed deals: titles, lost reasons
    (b"\x1b", "evil"),
    (b",", "Pipeline settings"),  # settings: stages, types, reasons, target
    (b"r", "Rename"),  # rename: the input starts with the stage's name
    (b"\x1b", "evil"),
    (b"\x1b", "evil"),
    (b"/", "Filter"),  # filter bar
    (b"evil\r", "evil"),
    (b"w", "won?"),  # won asks first: the question names the deal and its value
    (b"y", "Won"),  # won: the notification names the deal
    (b"?", "Keys"),  # help
    (b"\x1b", "evil"),
    (b"\x10", "Search for commands"),  # command palette
    (b"\x1b", "evil"),
]


def test_no_escape_sequence_from_the_file_reaches_the_terminal(hostile_board: Path) -> None:
    board = PtyBoard(hostile_board)
    try:
        assert board.wait_for(lambda s: "evil here" in s, 30), board.text()
        board.pump(1.5)  # the database opened for writing, the aging read
        missed: list[str] = []
        leaks: list[str] = []
        for keys, expected in STEPS:
            start = len(board.raw)
            if keys:
                board.send(keys, settle=0.8)
            if not board.wait_for(lambda s, e=expected: e in s, 5):
                missed.append(f"{keys!r}: {expected!r} not on screen:\n{board.text()}")
            found = data_sequences(bytes(board.raw[start:]))
            if found:
                leaks.append(f"after {keys!r}: {len(found)} sequences, first {found[0]!r}; screen:\n{board.text()}")
        board.send(b"q", settle=0.5)
        assert board.proc.wait(10) == 0
        board.pump(0.3)
        assert not leaks, "\n".join(leaks)
        assert data_sequences(bytes(board.raw)) == []  # (also across the steps' boundaries)
        assert not missed, "\n".join(missed)
    finally:
        board.close()
