"""The CSV import's quick ways (docs/PERFORMANCE.md, Big files, round 7): a row of printable ASCII without quotes is
checked once for the row instead of cell by cell, and a plain amount is counted in integers. Each gives what the
general way gives: the same rows stored, the same sentences for every bad row."""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from tuikanban.domain.errors import ValidationError
from tuikanban.domain.money import parse_money, plain_minor
from tuikanban.services.io import csv_import

# The checks are the engine's neither; the two ways' boards are compared as SQLite files, statement for statement.
pytestmark = pytest.mark.sqlite_only

HEADER = ",".join(csv_import.CSV_COLUMNS)

# Rows every one of which imports: quotes, formula prefixes, accents, emoji, control and bidi characters, tabs, a
# no-break space, lines in a note, spaces around cells, cells missing and cells left empty past the header's.
GOOD = [
    "Plain deal,Acme,Jo,1000.50,,ann,Renewal,Lead,,2026-01-05T10:00:00+00:00,,,2026-04-30,",
    "O'Brien's deal,O'Brien & Co,Pat,12500,,bob,,Qualified,,2026-01-06,,,,",
    "'=SUM(A1),'+44 20 7946,'-x,,,carol,,,,,,,,'@home",
    "Café crème,Société,Zoë,\"12,500.50\",,ann,New business,Lead,won,2025-11-01,2026-02-01T09:30,,,",
    "Emoji 🚀 deal,Rocket,Bea,3k,,bob,,Lead,lost,2025-12-01,2026-01-20,No budget,,",
    "Bell\x07 and \x1b[31mred\x1b[0m,Evil\u202eCorp,Ctl,7,,carol,,,,,,,,\"line one\r\nline\ttwo\"",
    "  Padded  ,  Spaces  ,  x  , 42 ,  usd  ,  dan  ,  renewal  ,  lead  ,  OPEN  ,,,,,  note  ",
    "No\u00a0break,Firm\u00a0Ltd,,1 250,,ann,,,,,,,,",
    "Short row,Co",
    "Extra cells,Co,,,,,,,,,,,,,,,",
    "Yen-like,Co,,0,,ann,,,,,,,,",
    "Fraction,Co,,5.000,,ann,,,,,,,,",
]

# Rows each of which is refused, for one reason or several.
BAD = [
    "Bad value,,,abc,,,,,,,,,,",
    "Too precise,,,1.005,,,,,,,,,,",
    ",No title,,,,,,,,,,,,",
    "Nowhere,,,,,,,Nowhere,,,,,,",
    "Lost without reason,,,,,,,,lost,2026-01-01,,,,",
    "Future,,,,,,,,,2027-01-01,,,,",
    "Odd status,,,,,,,,pending,,,,,",
    "Bad date,,,,,,,,,,,,31/12/2026,",
    "Bad currency,,,5,dollars,,,,,,,,,",
    "Too large,,,99999999999999,,,,,,,,,,",
    "Wide,Co,,,,,,,,,,,,,surplus",
    "Unknown type,,,,,,Upsell,,,,,,,",
    "O'Brien bad,,,abc,,,,,,,,,,",
    "Café bad,,,1.005,,,,Nowhere,,,,,,",
    "'=Formula bad,,,,,,,,open,,2026-01-01,,,",
]


@pytest.fixture
def boards(cli: Any, tmp_path: Path, fixed_now: str) -> Any:
    """Two empty SQLite boards with the same pipeline: one for each way of checking the rows."""
    made = []
    for name in ("quick", "general"):
        path = tmp_path / f"{name}.db"
        r = cli("--db", str(path), "pipeline", "create", "Sales", "--stages", "Lead,Qualified,Proposal",
                "--types", "New business,Renewal")
        assert r.code == 0, r.err
        made.append(path)
    return made


def _dump(path: Path) -> list[str]:
    con = sqlite3.connect(path)
    try:
        return list(con.iterdump())
    finally:
        con.close()


def _import_both(cli: Any, boards: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                 rows: list[str]) -> tuple[Any, Any]:
    f = tmp_path / "deals.csv"
    f.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    quick = cli("--db", str(boards[0]), "import", str(f), "-p", "Sales")
    with monkeypatch.context() as m:
        m.setattr(csv_import, "_plain", lambda cells: False)  # every row checked cell by cell
        general = cli("--db", str(boards[1]), "import", str(f), "-p", "Sales")
    return quick, general


def test_hostile_rows_are_stored_as_the_cell_by_cell_check_stores_them(
        cli: Any, boards: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    plain = [f"Deal {i},Company {i},Contact {i},{1000 + i}.50,,rep{i % 3},Renewal,Proposal,"
             f"{('open', 'won', 'lost')[i % 3]},2025-{1 + i % 12:02d}-01T10:00:00+00:00,"
             f"{'' if i % 3 == 0 else '2026-01-01T00:00:00+00:00'},{'Price' if i % 3 == 2 else ''},2027-01-15,n"
             for i in range(30)]
    quick, general = _import_both(cli, boards, tmp_path, monkeypatch, GOOD + plain)
    assert quick.code == 0, quick.err
    assert (quick.code, quick.out, quick.err) == (general.code, general.out, general.err)
    assert _dump(boards[0]) == _dump(boards[1])


def test_bad_rows_get_the_sentences_of_the_cell_by_cell_check(
        cli: Any, boards: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    quick, general = _import_both(cli, boards, tmp_path, monkeypatch, GOOD + BAD)
    assert quick.code == 1
    assert len(quick.err.strip().splitlines()) == len(BAD) + 1  # a line for each bad row, then the summary
    assert (quick.out, quick.err) == (general.out, general.err)
    assert _dump(boards[0]) == _dump(boards[1])  # nothing imported either way


def test_a_plain_row_is_not_checked_cell_by_cell(cli: Any, boards: list[Path], tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []

    def counted(cell: str) -> str:
        calls.append(cell)
        return cell

    monkeypatch.setattr(csv_import, "unneutralise", counted)
    f = tmp_path / "plain.csv"
    f.write_text(HEADER + "\n" + "".join(f"Deal {i},Co,Jo,{100 + i}.25,,ann,,Lead,,,,,,\n" for i in range(50)),
                 encoding="utf-8")
    r = cli("--db", str(boards[0]), "import", str(f), "-p", "Sales")
    assert r.code == 0, r.err
    assert r.out.strip() == "Imported 50 deals into Sales (50 open, 0 won, 0 lost)."
    assert calls == []  # no cell of these rows was looked at for a formula prefix on its own


def test_plain_minor_is_parse_money() -> None:
    cases = ["0", "00", "7", "5.", "5.0", "5.00", "5.000", "5.0000", ".5", "12500", "1000.50", "999999999999",
             "999999999999.99", "9999999999999", "10000000000000", "12,500", "1 250", "12.5k", "\u0663", "\u00b2",
             "5.5.5", "0.001", "123.456", "1.000", "0012.30", "9999999999999.999"]
    rng = random.Random(7)
    cases += ["".join(rng.choice("0123456789.") for _ in range(rng.randint(1, 17))) for _ in range(3000)]

    def outcome(fn: Any, text: str, currency: str) -> Any:
        try:
            return fn(text, currency)
        except ValidationError as exc:
            return str(exc)

    for currency in ("USD", "usd", "JPY", "KWD", "EUR", "BHD", "CLP", "SEK"):
        for text in cases:
            assert outcome(plain_minor, text, currency) == outcome(parse_money, text, currency), (text, currency)
