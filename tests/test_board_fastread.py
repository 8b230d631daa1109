"""The board's plain-sqlite3 read path gives what the services give, and reads only what it knows."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tuikanban.domain.errors import NotFoundError
from tuikanban.services import deals as ds
from tuikanban.services import pipelines as ps
from tuikanban.services.board import load_board as service_load_board
from tuikanban.store import fastread
from tuikanban.store.engine import Database
from tuikanban.store.tables import SCHEMA_VERSION

pytestmark = pytest.mark.engines  # the tests that use a database run on SQLite and on PostgreSQL


@pytest.fixture
def filled(db: Database, fixed_now: str) -> int:
    p = ps.create_pipeline(db, "Sales", ["Lead", "Qualified", "Proposal"], types=["New", "Renewal"])
    ps.set_stage(db, p.id, "Proposal", wip_max=2, wip_min=1, expected_days=5, probability=60, exit_criteria="Sent")
    made = []
    for i in range(12):
        made.append(ds.create_deal(
            db, p.id, f"Deal {i}", user="tester", stage=["Lead", "Qualified", "Proposal"][i % 3],
            dtype=["New", "Renewal", None][i % 3], value=str(1000 * (i + 1)) if i % 4 else None,
            company=f"Co {i}", contact=f"Person {i}", owner=["alice", "bob"][i % 2],
            close="2026-04-01" if i % 2 else None, at=f"2026-02-{10 + i:02d}T09:30:00", force_reason="test",
        ).id)
    ds.move_deal(db, made[0], "Qualified", user="tester")
    ds.win_deal(db, made[1], user="tester")
    ds.lose_deal(db, made[2], "Price", user="tester")
    ds.reorder_deal(db, made[6], -1, user="tester")
    return p.id


def test_schema_version_is_the_store_one() -> None:
    assert fastread.FAST_SCHEMA == SCHEMA_VERSION


def test_board_read_matches_the_service_read_model(db: Database, filled: int) -> None:
    con = fastread.connect_live_target(db.target)
    try:
        read = fastread.load_board(con, None)
    finally:
        con.close()
    expected = service_load_board(db, filled)
    assert read.board is not None and not read.board.partial
    board = read.board
    assert board.pipeline == expected.pipeline
    assert board.stages == expected.stages
    assert board.types == expected.types
    assert board.counts == expected.counts and board.sums == expected.sums
    # the same cards in the same board order (stage position, rank, id)
    assert [fastread.card_from_deal(d) for d in expected.cards] == board.cards
    assert len(board.cards) == 10  # 12 made, 1 won, 1 lost
    assert read.signature is not None and read.signature.max_event > 0


def test_windowed_first_read_holds_the_top_of_every_cell_and_true_counts(db: Database, filled: int) -> None:
    con = fastread.connect_live_target(db.target)
    try:
        full = fastread.load_board(con, None).board
        first = fastread.load_board(con, None, window=1).board
    finally:
        con.close()
    assert full is not None and first is not None and first.partial
    assert first.counts == full.counts and first.sums == full.sums
    assert first.cell_counts is not None
    cells: dict[tuple[int, int | None], list[fastread.BoardCard]] = {}
    for card in full.cards:
        cells.setdefault((card.stage_id, card.type_id), []).append(card)
    assert {k: len(v) for k, v in cells.items()} == first.cell_counts
    assert sorted(first.cards, key=lambda c: c.id) == sorted((v[0] for v in cells.values()), key=lambda c: c.id)


@pytest.mark.sqlite_only  # files that are not current boards
def test_connect_refuses_what_it_does_not_know(tmp_path: Path, db: Database, filled: int) -> None:
    assert fastread.connect(tmp_path / "missing.db") is None
    empty = tmp_path / "empty.db"
    empty.write_bytes(b"")
    assert fastread.connect(empty) is None
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    assert fastread.connect(text) is None
    foreign = tmp_path / "other.db"
    sqlite3.connect(foreign).execute("CREATE TABLE t (x)").connection.commit()
    assert fastread.connect(foreign) is None
    older = tmp_path / "older.db"
    con = sqlite3.connect(older)
    con.execute("CREATE TABLE tk_meta (key TEXT PRIMARY KEY, value TEXT)")
    con.execute("INSERT INTO tk_meta VALUES ('app', 'tuikanban'), ('schema_version', ?)", (str(SCHEMA_VERSION - 1),))
    con.commit()
    con.close()
    assert fastread.connect(older) is None  # needs a migration: the full path does it
    ours = fastread.connect(db.path)
    assert ours is not None
    ours.close()


def test_pipeline_resolution(db: Database, filled: int) -> None:
    other = ps.create_pipeline(db, "Partners", "Intro,Pilot").id
    con = fastread.connect_live_target(db.target)
    try:
        assert fastread.resolve_pipeline(con, "partners")[0].id == other  # type: ignore[union-attr]
        assert fastread.resolve_pipeline(con, None) == (ps.get_pipeline(db, filled), True)  # several, no default
        with pytest.raises(NotFoundError, match="There is no pipeline named 'Nope'"):
            fastread.resolve_pipeline(con, "Nope")
        ps.update_pipeline(db, other, make_default=True)
        p, ambiguous = fastread.resolve_pipeline(con, None)
        assert p is not None and p.id == other and not ambiguous
    finally:
        con.close()


def test_a_windowed_read_goes_deeper_in_the_cell_of_a_deal_it_must_show(db: Database, filled: int) -> None:
    con = fastread.connect_live_target(db.target)
    try:
        full = fastread.load_board(con, None).board
        assert full is not None
        cells: dict[tuple[int, int | None], list[fastread.BoardCard]] = {}
        for card in full.cards:
            cells.setdefault((card.stage_id, card.type_id), []).append(card)
        key, biggest = max(cells.items(), key=lambda kv: len(kv[1]))
        assert len(biggest) >= 2
        last = biggest[-1]
        assert fastread.cell_depth(con, last.id) == (key, len(biggest))
        assert fastread.cell_depth(con, biggest[0].id) == (key, 1)
        deeper = fastread.load_board(con, None, window=1, deeper={key: len(biggest)}).board
        assert deeper is not None
        got = [c.id for c in deeper.cards if (c.stage_id, c.type_id) == key]
        assert got == [c.id for c in biggest]  # the whole cell, in rank order
        others = [c for c in deeper.cards if (c.stage_id, c.type_id) != key]
        assert len(others) == sum(1 for k, v in cells.items() if k != key and v)  # one each elsewhere
        cards, n, _v = fastread.load_stage(con, full.pipeline.id, key[0], limit=1)
        assert len(cards) == 1 and n == full.counts[key[0]]
    finally:
        con.close()
