"""Big files on PostgreSQL: the exports and the JSON import's history read their rows from a server-side cursor, a
few thousand at a time. psycopg's own cursor fetches the whole result before the first row: a million events held
at once (385 MB for the benchmark's board), and the connection idle in its transaction while Python converted them,
until the server's idle-in-transaction timeout closed it and the export failed. And the JSON import's quick checks
give what the full ones give."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from engines import rows
from tuikanban.services.activities import add_activity
from tuikanban.services.deals import create_deal, lose_deal, move_deal, win_deal
from tuikanban.services.io import import_pipeline_json, json_checks, read_json, write_csv, write_pipeline_json
from tuikanban.services.pipelines import create_pipeline
from tuikanban.store.engine import Database, open_database

pytestmark = pytest.mark.engines


@pytest.fixture
def history(db: Database, fixed_now: str) -> Database:
    create_pipeline(db, "Sales", "Lead,Proposal,Won")
    for i in range(3):
        create_deal(db, "Sales", f"Deal {i}", user="ann", value=f"{i}00.5", at=f"2026-02-0{i + 1}T10:00:00+00:00")
    move_deal(db, 1, "Proposal", user="ann", at="2026-02-10T10:00:00+00:00")
    win_deal(db, 2, user="ann")
    lose_deal(db, 3, "Price", user="ann")
    return db


@pytest.fixture
def selects(db: Database) -> Iterator[list[tuple[str, bool]]]:
    """(the SELECT's table, whether it ran on a server-side cursor) of every SELECT of the big tables."""
    seen: list[tuple[str, bool]] = []

    def note(_conn: Any, cursor: Any, statement: str, *_rest: Any) -> None:
        text = " ".join(statement.split())
        if text.startswith("SELECT"):
            for table in ("deal", "event", "stay", "activity"):
                if f"FROM {table} " in f"{text} " or f'FROM "{table}" ' in f"{text} ":
                    seen.append((table, getattr(cursor, "name", None) is not None))  # psycopg's ServerCursor

    engine = db.engine
    event.listen(engine, "before_cursor_execute", note)
    yield seen
    event.remove(engine, "before_cursor_execute", note)


@pytest.fixture
def statements(db: Database, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, bool, str]]]:
    """(the table, whether on a server-side cursor, the statement's text) of every SELECT from a big table, as psycopg
    sends it (through SQLAlchemy, or on the driver's connections: the export's ranges)."""
    import psycopg

    seen: list[tuple[str, bool, str]] = []

    def spying(cls: Any) -> None:
        real = cls.execute

        def execute(cursor: Any, statement: Any, *args: Any, **kwargs: Any) -> Any:
            text = " ".join(str(statement).split())
            if text.startswith("SELECT"):
                for table in ("deal", "event", "stay", "activity"):
                    if f"FROM {table} " in f"{text} ":
                        seen.append((table, isinstance(cursor, psycopg.ServerCursor), text))
            return real(cursor, statement, *args, **kwargs)

        monkeypatch.setattr(cls, "execute", execute)

    spying(psycopg.Cursor)
    spying(psycopg.ServerCursor)
    yield seen


@pytest.mark.postgres_only
def test_the_json_export_reads_every_big_table_in_bounded_pieces(
        history: Database, statements: list[tuple[str, bool, str]]) -> None:
    """The server builds the rows' text a range of ids at a time (`store.jsondump_pg`); whatever reads rows of a big
    table does so on a server-side cursor or for one range of ids, never the whole table in one result. (The other
    SELECTs are the deals' count, the ranges' bounds and the probe for a deleted deal: one row each.)"""
    add_activity(history, 1, "call", "Budget call", user="ann", at="2026-02-11T10:00:00+00:00")
    statements.clear()
    out = io.StringIO()
    write_pipeline_json(history, "Sales", out)

    def bounded(text: str) -> bool:
        return "t.id BETWEEN" in text

    def one_row(text: str) -> bool:
        return text.startswith(("SELECT min(t.id), max(t.id)", "SELECT count(*)")) or text.endswith("LIMIT 1")

    read = {table for table, server_side, text in statements if server_side or bounded(text)}
    assert read >= {"deal", "event", "stay", "activity"}, statements
    whole = [text for _table, server_side, text in statements if not (server_side or bounded(text) or one_row(text))]
    assert whole == []
    assert '"title":"Deal 2"' in out.getvalue()


@pytest.mark.postgres_only
def test_the_csv_export_streams_the_deals(history: Database, selects: list[tuple[str, bool]]) -> None:
    out = io.StringIO()
    assert write_csv(history, "Sales", out) == 3
    assert ("deal", True) in selects, selects


@pytest.mark.postgres_only
def test_the_json_imports_history_read_streams(history: Database, db_target: str, tmp_path: Path,
                                               selects: list[tuple[str, bool]]) -> None:
    out = io.StringIO()
    write_pipeline_json(history, "Sales", out)
    selects.clear()
    result = import_pipeline_json(history, read_json(out.getvalue()), name="Copy", user="ann")
    assert (result.deals, result.won, result.lost) == (3, 1, 1)
    streamed = {table for table, server_side in selects if server_side}
    assert streamed >= {"deal", "event", "stay"}, selects


def test_an_export_reads_back_the_same_on_both_engines(history: Database, tmp_path: Path) -> None:
    """The streamed rows are the same rows: an export imported into an empty board exports the same bytes."""
    first = io.StringIO()
    write_pipeline_json(history, "Sales", first)
    copy = open_database(tmp_path / "copy.db", create=True)
    try:
        import_pipeline_json(copy, read_json(first.getvalue()), user="ann")
        again = io.StringIO()
        write_pipeline_json(copy, "Sales", again)
    finally:
        copy.close()
    assert again.getvalue() == first.getvalue()


def _full(method: str, *args: Any, **kwargs: Any) -> tuple[Any, list[str]]:
    """What a check gives on the full way (the quick way's first test always fails for an object of another class):
    the value and the problems."""
    chk = json_checks.Checker()
    return getattr(chk, method)(*args, **kwargs), chk.problems


class _Str(str):
    """A str whose class is not str: the checks' quick ways do not take it."""


class _Int(int):
    pass


@pytest.mark.parametrize("raw", [
    "Deal 42", "  padded  ", "", " ", "x" * 30, "tab\there", "é", "a\u202eb", "\x1b[31mred", "line\nbreak", None, 7,
])
@pytest.mark.parametrize("required", [False, True])
def test_the_quick_text_checks_are_the_full_ones(raw: Any, required: bool) -> None:
    for multiline in (False, True):
        chk = json_checks.Checker()
        got = chk.text("w", {"k": raw}, "k", 20, multiline=multiline, required=required)
        slow = _Str(raw) if isinstance(raw, str) else raw
        assert (got, chk.problems) == _full("text", "w", {"k": slow}, "k", 20, multiline=multiline,
                                            required=required)
    chk = json_checks.Checker()
    got = chk.opt_text("w", {"k": raw}, "k")
    assert (got, chk.problems) == _full("opt_text", "w", {"k": _Str(raw) if isinstance(raw, str) else raw}, "k")


@pytest.mark.parametrize("raw", [0, 1, -1, 5, 2**31 - 1, 2**31, -(2**31), -(2**31) - 1, True, False, None, 1.0,
                                 "3", Decimal("2")])
def test_the_quick_number_checks_are_the_full_ones(raw: Any) -> None:
    slow = _Int(raw) if type(raw) is int else raw
    for kwargs in ({}, {"minimum": 0}, {"minimum": 1}, {"optional": False}, {"maximum": 10}):
        chk = json_checks.Checker()
        assert (chk.integer("w", {"k": raw}, "k", **kwargs), chk.problems) == _full("integer", "w", {"k": slow}, "k",
                                                                                    **kwargs)
    known = {0: 10, 1: 11, 5: 15, -1: 9}
    for optional in (True, False):
        chk = json_checks.Checker()
        got = chk.ref("w", {"k": raw}, "k", known, optional=optional)
        assert (got, chk.problems) == _full("ref", "w", {"k": slow}, "k", known, optional=optional)


@pytest.mark.parametrize("raw", [
    "2026-03-01T10:00:00+00:00", "2026-03-01T10:00:00.123456+00:00", "2026-03-01T10:00:00Z", "2026-03-01T12:00+02:00",
    "2026-03-01T10:00:00", "2026-03-01", " 2026-03-01T10:00:00+00:00 ", "2026-02-30T10:00:00+00:00", "2026-W09-1",
    "yesterday", "", None, 5,
])
def test_the_quick_time_checks_are_the_full_ones(raw: Any) -> None:
    slow = _Str(raw) if isinstance(raw, str) else raw
    for optional in (False, True):
        chk = json_checks.Checker()
        got = chk.instant("w", {"k": raw}, "k", optional=optional)
        want = _full("instant", "w", {"k": slow}, "k", optional=optional)
        assert (got, chk.problems) == want
        assert got is None or (got.tzinfo is UTC and isinstance(got, datetime))
    chk = json_checks.Checker()
    got_day = chk.day("w", {"k": raw}, "k")
    assert (got_day, chk.problems) == _full("day", "w", {"k": slow}, "k")
    assert got_day is None or isinstance(got_day, date)


def test_a_csv_cell_met_again_gives_the_same_answer(cli: Any, db_target: str, tmp_path: Path, fixed_now: str) -> None:
    """The CSV import keeps what each stage, type and currency cell gave: a cell that names nothing is a problem on
    every line it is on, and the same name written otherwise still finds its stage."""
    assert cli("pipeline", "create", "Sales", "--stages", "Lead,Won", "--types", "New").code == 0
    bad = tmp_path / "bad.csv"
    bad.write_text("title,stage,type,currency\nA,Lead,New,usd\nB,Nope,New,USD\nC,Nope,Old,usd\nD,lead, new ,xx\n"
                   "E,Lead,Old,xx\n", encoding="utf-8")
    r = cli("import", str(bad))
    assert r.code == 1
    lines = r.err.strip().splitlines()
    assert [line.split(":")[0] for line in lines[:-1]] == ["line 3", "line 4", "line 5", "line 6"]
    assert "no stage named 'Nope'" in lines[0] and "no stage named 'Nope'" in lines[1]
    assert "no deal type named 'Old'" in lines[1] and "no deal type named 'Old'" in lines[3]
    assert "'xx' is not a currency code" in lines[2] and "'xx' is not a currency code" in lines[3]
    good = tmp_path / "good.csv"
    good.write_text("title,stage,type,currency\nA,Lead,New,usd\nB,won,new,USD\nC, WON ,New,usd\nD,,,\n",
                    encoding="utf-8")
    r = cli("import", str(good))
    assert r.code == 0, r.err
    assert rows(db_target, "SELECT d.title, s.name, d.type_id IS NOT NULL, d.currency FROM deal d JOIN stage s ON "
                           "s.id = d.stage_id ORDER BY d.id") == [
        ("A", "Lead", True, "USD"), ("B", "Won", True, "USD"), ("C", "Won", True, "USD"), ("D", "Lead", False, "USD")]
