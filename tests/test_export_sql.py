"""The JSON export's rows written by SQLite (store/jsondump.py) against the rows converted in Python: the same
bytes, on a pipeline with every kind of value (quotes, control characters, other scripts, empty and NULL
fields, times with and without a fraction, deleted deals, events of no deal), and the Python path for times in
another form."""

from __future__ import annotations

import io
import json
import sqlite3
from pathlib import Path

import pytest

from export_boards import varied_board
from tuikanban.services.deals import create_deal
from tuikanban.services.io import write_pipeline_json
from tuikanban.services.pipelines import create_pipeline
from tuikanban.store import jsondump
from tuikanban.store.engine import Database

pytestmark = pytest.mark.sqlite_only  # the JSON rows SQLite's own functions write (store/jsondump.py)


def _export(db: Database) -> str:
    out = io.StringIO()
    write_pipeline_json(db, "Sales", out)
    return out.getvalue()


def _python_export(db: Database, monkeypatch: pytest.MonkeyPatch) -> str:
    with monkeypatch.context() as m:
        m.setattr(jsondump, "_driver", lambda conn: None)
        return _export(db)


@pytest.fixture
def varied(db: Database, fixed_now: str) -> Database:
    return varied_board(db)


def test_sql_rows_are_the_python_rows(varied: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    fast = _export(varied)
    assert fast == _python_export(varied, monkeypatch)
    doc = json.loads(fast)
    assert len(doc["deals"]) == 5 and doc["activities"] and doc["stays"] and doc["events"]
    assert {d["id"] for d in doc["deals"]} == {1, 2, 3, 5, 6}  # deal 4 was deleted, deal 7 is of Other


def test_a_time_in_another_form_is_converted_in_python(varied: Database, db_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    con = sqlite3.connect(db_path)
    con.execute("UPDATE event SET at = '2026-02-01 10:00:00.5' WHERE id = 1")  # SQLAlchemy reads it as 0.5 s
    con.execute("UPDATE deal SET closed_at = '2026-02-11 10:00:00.25' WHERE id = 2")
    con.commit()
    con.close()
    with varied.read() as s:  # only those rows are left to Python (as their ids), not their tables
        events = [item for chunk in jsondump.rows(s.connection(), "event", 1) or () for item in chunk]
        assert events[0] == 1 and all(isinstance(e, bytes) for e in events[1:])
        deals = [item for chunk in jsondump.rows(s.connection(), "deal", 1, money=("USD", 2)) or () for item in chunk]
        assert deals[1] == 2 and all(isinstance(d, bytes) for i, d in enumerate(deals) if i != 1)
        assert all(isinstance(y, bytes) for chunk in jsondump.rows(s.connection(), "stay", 1) or () for y in chunk)
    assert _export(varied) == _python_export(varied, monkeypatch)
    assert "\"at\":\"2026-02-01T10:00:00.500000+00:00\"" in _export(varied)
    assert "\"closed_at\":\"2026-02-11T10:00:00.250000+00:00\"" in _export(varied)


@pytest.mark.parametrize("value", [
    "2026-02-01 10:00:00.5", "2026-02-01T10:00:00.000000", "2026-02-01 10:00:00 000", "2026/02/01 10:00:00",
    "2026-02-01 10-00:00.000000", "2026-02-01", "x" * 26, "2026-02-01 10:00 00", "2026-02-01 10:00:00.00000 ",
    "2026-02-01 10:00:00,000000"])
def test_every_other_time_form_is_left_to_python(varied: Database, db_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 value: str) -> None:
    """The form check made on each row as SQLite writes it: a stored time in any form but the two it rewrites
    (wrong length, separator, a second space; a date alone) makes its row Python's, which writes what SQLAlchemy
    reads from it (or fails as it would)."""
    con = sqlite3.connect(db_path)
    con.execute("UPDATE stay SET entered_at = ? WHERE id = 2", (value,))
    con.commit()
    con.close()
    with varied.read() as s:
        stays = [item for chunk in jsondump.rows(s.connection(), "stay", 1) or () for item in chunk]
    assert 2 in stays and all(isinstance(y, bytes) for y in stays if y != 2)
    try:
        expected = _python_export(varied, monkeypatch)
    except ValueError:  # SQLAlchemy cannot read it: neither can the export
        with pytest.raises(ValueError):
            _export(varied)
        return
    assert _export(varied) == expected


def test_a_date_in_another_form_is_left_to_python(varied: Database, db_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    con = sqlite3.connect(db_path)
    con.execute("UPDATE deal SET expected_close = '2026-W14-3' WHERE id = 2")  # a week date, ten characters too
    con.commit()
    con.close()
    with varied.read() as s:
        deals = [item for chunk in jsondump.rows(s.connection(), "deal", 1, money=("USD", 2)) or () for item in chunk]
    assert deals[1] == 2
    assert _export(varied) == _python_export(varied, monkeypatch)
    from datetime import date

    assert f'"expected_close":"{date.fromisoformat("2026-W14-3").isoformat()}"' in _export(varied)


def test_the_deals_values_are_the_json_numbers_of_to_json_number() -> None:
    """json_number_text (the export's quick way to a deal's value) against repr(to_json_number) (what json.dumps
    writes for it): every currency exponent, values with and without minor units, the edges of the quick way."""
    import random

    from tuikanban.domain.money import json_number_text, to_json_number

    rng = random.Random(3)
    values = [*range(0, 2100), *(10**k + d for k in range(19) for d in (-1, 0, 1, 5, 50)),
              *(rng.randrange(10 ** rng.randrange(1, 19)) for _ in range(20_000)), -1, -150, -10**16]
    for currency in ("USD", "usd", "EUR", "JPY", "jpy", "BHD", "KWD", "XYZ"):
        for value in values:
            assert json_number_text(value, currency) == repr(to_json_number(value, currency)), (value, currency)
    assert json_number_text(None, "USD") == "null"
    assert json_number_text(1250050, "USD") == "12500.5" and json_number_text(5, "BHD") == "0.005"


def test_bulk_inserts_store_what_sqlalchemy_stores(db: Database, db_path: Path) -> None:
    from datetime import UTC, date, datetime, timedelta, timezone

    from sqlalchemy import insert

    from tuikanban.store.bulk import insert_rows
    from tuikanban.store.tables import Activity, Deal

    p = create_pipeline(db, "Sales", "Lead")
    create_deal(db, "Sales", "Anchor", user="x")
    plus_two = timezone(timedelta(hours=2))
    at = [datetime(2026, 2, 1, 10, 0, tzinfo=UTC), datetime(2026, 2, 1, 10, 0, 0, 5, tzinfo=plus_two),
          datetime(999, 1, 2, 3, 4, 5)]
    rows = [{"deal_id": 1, "pipeline_id": p.id, "kind": "task", "subject": f"s{i}", "at": t, "user": "u",
             "due": d, "done": done} for i, (t, d, done) in enumerate(zip(at, [date(2026, 3, 1), None, date(5, 6, 7)],
                                                                       [True, False, True], strict=True))]
    table = Activity.__table__  # type: ignore[attr-defined]

    def stored() -> list[tuple[object, ...]]:
        con = sqlite3.connect(db_path)
        try:
            return con.execute("SELECT deal_id, pipeline_id, kind, subject, at, user, due, done FROM activity "
                               "ORDER BY id").fetchall()
        finally:
            con.close()

    db.write(lambda s: s.connection().execute(insert(table), rows))
    by_sqlalchemy = stored()
    db.write(lambda s: insert_rows(s.connection(), table, rows))
    both = stored()
    assert len(by_sqlalchemy) == 3 and both == by_sqlalchemy + by_sqlalchemy
    assert by_sqlalchemy[1][4] == "2026-02-01 08:00:00.000005"  # aware times are stored as naive UTC
    # a table whose rows leave out a column with a default goes through SQLAlchemy, which fills it in
    deal = {"pipeline_id": p.id, "title": "T", "stage_id": 1, "created_at": at[0], "stage_entered_at": at[0]}
    db.write(lambda s: insert_rows(s.connection(), Deal.__table__, [deal]))  # type: ignore[attr-defined]
    con = sqlite3.connect(db_path)
    assert con.execute("SELECT currency, status, rank, version FROM deal WHERE title = 'T'").fetchone() == (
        "USD", "open", 0, 1)
    con.close()


def test_the_fast_paths_of_import_checks_agree_with_the_full_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    """parse_money's plain-number path and clean_text's printable-ASCII path give what the full rules give."""
    import re
    import string

    from tuikanban.domain import money, text
    from tuikanban.domain.errors import ValidationError

    def outcome(raw: str, currency: str) -> object:
        try:
            return money.parse_money(raw, currency)
        except ValidationError as exc:
            return str(exc)

    amounts = ["0", "7", "007", "12500", "12500.5", "12500.50", "12500.505", "1.500", "1.500,5", "999999999999999",
               "99999999999999999", "0.1", "10.000", "3.14159", " 42 ", "1.2.3"]
    currencies = ["USD", "EUR", "JPY", "BHD"]
    fast = {(a, c): outcome(a, c) for a in amounts for c in currencies}
    monkeypatch.setattr(money, "_PLAIN", re.compile("(?!)"))  # matches nothing: every amount takes the full path
    assert {(a, c): outcome(a, c) for a in amounts for c in currencies} == fast
    assert fast[("12500.50", "USD")] == 1250050 and fast[("1.500", "EUR")] == 150000  # dots are thousands in EUR

    # printable ASCII takes the quick path; with a NUL added it takes the full one, which turns the NUL into a
    # space on one line and drops it from multi-line text: the rest must come out the same
    samples = [string.printable.strip(), "Deal 42 <b>[red]", "  padded  ", "x" * 300]
    for sample in samples:
        assert text.clean_text(sample) + " " == text.clean_text(sample + "\x00")
        assert text.clean_text(sample, multiline=True) == text.clean_text(sample + "\x00", multiline=True)
    for sample in (s for s in samples if len(s) > 20):  # cut at 20 either way, before the NUL
        assert text.clean_text(sample, max_length=20) == text.clean_text(sample + "\x00", max_length=20)


def test_events_read_two_ranges_at_once_are_the_same_bytes(varied: Database, db_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """The events in ranges of ids, every other range read on a thread through a second connection that reads the
    same snapshot, come out as the one-connection export does (small ranges, so that there are many)."""
    import contextlib
    from collections.abc import Iterator
    from typing import Any

    one = _export(varied)
    used: list[object] = []
    real = jsondump.snapshot_pair

    @contextlib.contextmanager
    def spy(conn: Any, path: Path | None) -> Iterator[sqlite3.Connection | None]:
        with real(conn, path) as twin:
            used.append(twin)
            yield twin

    monkeypatch.setattr(jsondump, "RANGE", 2)
    monkeypatch.setattr(jsondump, "snapshot_pair", spy)
    _machine(monkeypatch, load=0.3, cores=2)
    assert _export(varied) == one
    assert used and used[0] is not None
    with sqlite3.connect(db_path) as con:
        assert con.execute("SELECT count(*) FROM event").fetchone()[0] > 8  # several ranges of two ids


def _machine(monkeypatch: pytest.MonkeyPatch, *, load: float, cores: int) -> None:
    import os

    monkeypatch.setattr(os, "getloadavg", lambda: (load, load, load))
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: set(range(cores)), raising=False)


@pytest.mark.parametrize(("load", "cores", "twin"), [(0.3, 2, True), (1.0, 2, True), (1.4, 2, False),
                                                     (3.7, 4, False), (2.5, 4, True), (0.0, 1, False)])
def test_the_second_connection_only_when_a_core_is_free(varied: Database, monkeypatch: pytest.MonkeyPatch,
                                                        load: float, cores: int, twin: bool) -> None:
    """Two ranges at once only while the load leaves a core idle besides the export's own; the bytes are the same
    either way."""
    import contextlib
    from collections.abc import Iterator
    from typing import Any

    from tuikanban.services.io import json_export

    paths: list[Path | None] = []
    real = jsondump.snapshot_pair

    @contextlib.contextmanager
    def spy(conn: Any, path: Path | None) -> Iterator[sqlite3.Connection | None]:
        paths.append(path)
        with real(conn, path) as got:
            yield got

    one = _export(varied)
    monkeypatch.setattr(jsondump, "snapshot_pair", spy)
    _machine(monkeypatch, load=load, cores=cores)
    assert json_export.second_core_free() is twin
    assert _export(varied) == one
    assert (paths[0] is not None) is twin


def test_a_commit_cannot_fall_between_the_two_snapshots(varied: Database, db_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """A commit between the starts of the two snapshots leaves the export on one connection (store.twin checks the
    data version); once the twin exists, a commit is seen by neither connection. A writer that holds the lock
    without committing does not matter: both snapshots are of the same committed state."""
    from tuikanban.store import twin as store_twin

    writer = sqlite3.connect(db_path, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    with varied.read() as s, jsondump.snapshot_pair(s.connection(), db_path) as got:
        assert got is not None
    writer.execute("ROLLBACK")

    real = store_twin._start
    starts: list[object] = []

    def start(con: sqlite3.Connection) -> None:  # the export's snapshot starts, then another process commits
        real(con)
        starts.append(con)
        if len(starts) == 1:
            writer.execute("UPDATE deal SET title = 'Renamed' WHERE id = 1")

    monkeypatch.setattr(store_twin, "_start", start)
    with varied.read() as s, jsondump.snapshot_pair(s.connection(), db_path) as got:
        assert got is None
        assert s.connection().exec_driver_sql("SELECT title FROM deal WHERE id = 1").scalar_one() != "Renamed"
    assert len(starts) == 2  # (both connections started, the write between them)
    monkeypatch.setattr(store_twin, "_start", real)

    with varied.read() as s, jsondump.snapshot_pair(s.connection(), db_path) as got:
        assert got is not None
        writer.execute("INSERT INTO event (pipeline_id, kind, at, \"user\") VALUES (1, 'create', "
                       "'2026-03-01 10:00:00.000000', 'w')")
        mine = s.connection().exec_driver_sql("SELECT count(*) FROM event").scalar_one()
        assert got.execute("SELECT count(*) FROM event").fetchone()[0] == mine
    writer.close()
    with varied.read() as s:
        assert s.connection().exec_driver_sql("SELECT count(*) FROM event").scalar_one() == mine + 1


class _Recorded(io.BytesIO):
    """A file that keeps every object written to it (a text stream's buffer)."""

    def __init__(self) -> None:
        super().__init__()
        self.written: list[bytes] = []

    def write(self, data: object) -> int:
        self.written.append(data)  # type: ignore[arg-type]
        return super().write(data)  # type: ignore[arg-type]


def test_a_ranges_text_reaches_the_file_as_sqlite_gave_it(varied: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each range's text goes to the file as the object the driver returned (not copied once more to put its
    separator before it), and the file is the same export."""
    from typing import Any

    one = _export(varied)
    texts: list[bytes] = []
    real = jsondump.rows

    def rows(*args: Any, **kwargs: Any) -> Any:
        for chunk in real(*args, **kwargs) or ():
            texts.extend(item for item in chunk if isinstance(item, bytes))
            yield chunk

    monkeypatch.setattr(jsondump, "rows", rows)
    raw = _Recorded()
    out = io.TextIOWrapper(raw, encoding="utf-8", newline="")
    write_pipeline_json(varied, "Sales", out)
    out.flush()
    assert raw.getvalue().decode() == one
    assert len(texts) >= 4  # (deals, events, stays, activities)
    assert all(any(w is text for w in raw.written) for text in texts)


def test_a_commit_while_the_export_runs_is_not_in_its_file(varied: Database, db_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """Another process commits while the export writes its events (a new event, every event, stay and activity
    changed, the last event deleted), read two ranges at once: the file is the state at the export's start, byte
    for byte; the next export has the changes."""
    one = _export(varied)
    monkeypatch.setattr(jsondump, "RANGE", 2)
    _machine(monkeypatch, load=0.3, cores=2)
    writer = sqlite3.connect(db_path, isolation_level=None)
    done: list[str] = []

    class Busy(io.StringIO):
        def write(self, text: str) -> int:
            if '"events"' in self.getvalue() and not done:  # the events are being written: another process writes
                writer.execute("INSERT INTO event (pipeline_id, deal_id, kind, at, \"user\") VALUES "
                               "(1, 1, 'note', '2026-03-01 10:00:00.000000', 'w')")
                writer.execute("UPDATE event SET \"user\" = 'Renamed'")  # (the ranges not read yet too)
                writer.execute("UPDATE stay SET outcome = 'won'")
                writer.execute("UPDATE activity SET subject = 'Renamed'")
                writer.execute("DELETE FROM event WHERE id = (SELECT max(id) FROM event)")
                done.append(text)
            return super().write(text)

    out = Busy()
    write_pipeline_json(varied, "Sales", out)
    writer.close()
    assert done
    assert out.getvalue() == one
    assert "Renamed" in _export(varied)


def test_a_write_that_fails_stops_the_second_reader(varied: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    import threading

    class Full(io.StringIO):
        def write(self, text: str) -> int:
            if '"events"' in self.getvalue():
                raise OSError(28, "No space left on device")
            return super().write(text)

    monkeypatch.setattr(jsondump, "RANGE", 1)
    with pytest.raises(OSError, match="No space left"):
        write_pipeline_json(varied, "Sales", Full())
    assert not [t for t in threading.enumerate() if t.name == "tuikanban-export"]


def test_the_csv_texts_quick_way_is_the_full_rules() -> None:
    """csv_import._text takes printable ASCII as it is: the same as cleaning it and removing a formula's prefix."""
    from tuikanban.domain.text import clean_text
    from tuikanban.services.io import csv_import
    from tuikanban.services.io.common import unneutralise

    cells = ["Deal 1", "  padded  ", "'=SUM(A1)", "'plain", "'", "=x", "tab\there", "é", "a\u202eb", "\x1b[31mred",
             "line\nbreak", "", " ", "x" * 30]
    for multiline in (False, True):
        for cell in cells:
            problems: list[str] = []
            got = csv_import._text(cell, False, "thing", 20, problems, multiline=multiline)
            full = clean_text(unneutralise(cell), multiline=multiline).strip()
            assert got == full, cell
            assert bool(problems) == (len(full) > 20)


def test_sqlite_escapes_every_character_as_python_does() -> None:
    """What the rows' text rests on: json_object writes a text value (every code point up to U+3000, the line
    separators, the last of the plane and one beyond it) and a key exactly as json.dumps does without spaces."""
    con = sqlite3.connect(":memory:")
    points = [*range(1, 0x3001), 0x2028, 0x2029, 0xFEFF, 0xFFFD, 0xFFFF, 0x1F600, 0x10FFFF]
    texts = [chr(p) for p in points] + ["", "a\"b\\c\nd\te\x7f", "\u00e9t\u00e9 \u4e2d\u6587"]
    for text in texts:
        value, key = con.execute("SELECT CAST(json_object('k', ?) AS BLOB), CAST(json_object(?, 1) AS BLOB)",
                                 (text, text)).fetchone()
        assert value.decode() == json.dumps({"k": text}, ensure_ascii=False, separators=(",", ":")), text
        assert key.decode() == json.dumps({text: 1}, ensure_ascii=False, separators=(",", ":")), text
    con.close()


def test_the_export_rows_have_no_spaces_and_older_exports_import(varied: Database, tmp_path: Path) -> None:
    """The rows are written without spaces (json_object's form); a file of the older form, a space after each
    ':' and ',' of a row, imports to the same pipeline."""
    import contextlib

    from tuikanban.services.io import import_pipeline_json, open_json
    from tuikanban.store.engine import open_database

    text = _export(varied)
    rows = [line for line in text.split("\n") if line.startswith("  {")]
    assert rows and all(json.dumps(json.loads(r.rstrip(",")), ensure_ascii=False, separators=(",", ":"))
                        == r.rstrip(",").strip() for r in rows)
    doc = json.loads(text)
    older = json.dumps(doc, ensure_ascii=False, indent=1)  # members spaced, one a line: any layout imports
    exported = []
    for name, body in (("compact", text), ("older", older)):
        path = tmp_path / f"{name}.json"
        path.write_text(body, encoding="utf-8")
        db = open_database(tmp_path / f"{name}.db")
        with contextlib.closing(open_json(path)) as source:
            import_pipeline_json(db, source, user="tester")
        exported.append(json.loads(_export(db)))
        db.close()
    assert exported[0] == exported[1] and exported[0]["events"] == doc["events"]


@pytest.mark.parametrize("pipeline_currency", ["USD", "JPY", "BHD"])
def test_the_deals_values_written_by_sqlite_are_pythons(
        varied: Database, db_path: Path, monkeypatch: pytest.MonkeyPatch, pipeline_currency: str) -> None:
    """A deal's value as SQLite writes it (the pipeline's currency, 0 to 10^15 - 1 minor units) against Python's
    json_number_text; any other value or currency is left to Python (its row comes as its id)."""
    values = [0, 1, 5, 10, 50, 99, 100, 101, 110, 1000, 1250050, 1250000, 999, 123456789, 10**15 - 1, 10**15,
              -5, -100, None, 10**18]
    con = sqlite3.connect(db_path)
    con.execute("UPDATE pipeline SET currency = ? WHERE name = 'Sales'", (pipeline_currency,))
    con.commit()
    for value in values:
        for currency in (pipeline_currency, "EUR"):
            con.execute("UPDATE deal SET value_minor = ?, currency = ? WHERE id = 1", (value, currency))
            con.commit()
            with varied.read() as s:
                exp = {"USD": 2, "JPY": 0, "BHD": 3}[pipeline_currency]
                deals = [item for chunk in jsondump.rows(s.connection(), "deal", 1, money=(pipeline_currency, exp))
                         or () for item in chunk]
            quick = value is None or (currency == pipeline_currency and 0 <= value < 10**15)
            assert (deals[0] == 1) is not quick, (value, currency)
            assert _export(varied) == _python_export(varied, monkeypatch), (value, currency)
    con.close()
