"""A long listing (`cli.common.fitted_table` above PLAIN_TABLE_ROWS rows) printed by `print_block`: the lines written
as one string, cut to the width in Python where every character takes one cell, must be the bytes Rich printed
line by line (a `Text(line, no_wrap=True, overflow="ellipsis")` each), whatever the text: wide characters,
combining marks, the listing's own lines and arrows, lines longer and shorter than the terminal."""

from __future__ import annotations

import io

import pytest
from rich.console import Console, Group
from rich.text import Text

from tuikanban.cli import common
from tuikanban.domain.money import format_money, money_formatter

TITLES = ["Acme", "東京 Deal 日本語", "Café crème", "e\u0301clair", "🚀 Launch", "a" * 70, "x → y … z", "", "tab\tx",
          "Ω" * 30, "plain title"]


def rows(n: int) -> list[list[str]]:
    return [[str(i), common.cell_text(TITLES[i % len(TITLES)], 40), ["alice", "bob", "zoë"][i % 3], "Proposal",
             format_money(i * 12_345, "USD"), f"Lead → Proposal (forward, {i % 4} moves)"] for i in range(n)]


def rich_lines(block: common.PlainBlock) -> Group:
    """What the listing was before `print_block`: its head, then one ellipsis-cut Text per line, through Rich."""
    return Group(*block.head, *[Text(line, no_wrap=True, overflow="ellipsis") for line in block.body.lines])


@pytest.mark.parametrize("width", [20, 41, 80, 200])
def test_a_long_listing_prints_the_bytes_rich_printed(width: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(common, "PLAIN_TABLE_ROWS", 5)
    columns = ["Id", "Title", "Owner", "Stage", "Value", "Move"]
    block = common.fitted_table(columns, rows(40), title="Moved: 40")
    assert isinstance(block, common.PlainBlock)

    def printed(fn: object) -> str:
        console = Console(file=io.StringIO(), width=width, highlight=False, soft_wrap=False)
        fn(console)  # type: ignore[operator]
        return console.file.getvalue()  # type: ignore[attr-defined]

    expected = printed(lambda c: c.print(rich_lines(block)))
    assert printed(lambda c: common.print_block(c, block)) == expected
    assert printed(lambda c: c.print(block)) == expected  # printed as any renderable, the same
    assert "…" in expected or width == 200  # (the narrow widths cut lines)


def test_cells_and_narrow() -> None:
    from rich.cells import cell_len

    for text in [*TITLES, "│━╇", "東", "\x1b[31m", "a\u200bb"]:
        assert common.cells(text) == cell_len(text), text
    assert common.narrow("Lead → Proposal │ $1,000 …") and not common.narrow("東京") and not common.narrow("a\tb")


@pytest.mark.parametrize("max_length", [None, 1, 5, 40, 80])
def test_cell_texts_are_cell_text_of_each(max_length: int | None) -> None:
    """The column-at-once cut (all printable ASCII) and the per-cell fallback give `cell_text`'s strings."""
    plain = ["Acme", "  padded  ", "a" * 70, "", " x" * 30, "exactly five", "Deal 12 Platform expansion"]
    hostile = [*plain, *TITLES, None, 12, "\x1b[31mred\x1b[0m", "a\u202eb", "line\nbreak", "\u2028"]
    for values in (plain, hostile, [], [None], ["\t"]):
        assert common.cell_texts(values, max_length) == [common.cell_text(v, max_length) for v in values], values


def test_narrow_is_true_of_printable_ascii_and_the_drawn_characters_only() -> None:
    drawn = "│━╇→…"
    for text in ["", "abc", drawn, "a│b━c╇d→e…f", "a" * 10_000 + "→", "a\tb", "│\n", "é", "→é", "東京", "\x7f",
                 "…\u200b", "━" * 5000 + "ß"]:
        expected = all(ch in drawn or (ch.isascii() and ch.isprintable()) for ch in text)
        assert common.narrow(text) == expected, text


@pytest.mark.parametrize("currency", ["USD", "EUR", "JPY", "KWD", "XYZ", "chf"])
def test_money_formatter_writes_what_format_money_writes(currency: str) -> None:
    text = money_formatter(currency)
    for minor in [None, 0, 1, 5, 99, 100, 12_300, 12_345, -100, -12_345, 10**12, -(10**12) + 1, 1000, 123_000]:
        assert text(minor) == format_money(minor, currency), (currency, minor)


def ascii_rows(n: int) -> list[list[str]]:
    return [[str(i), f"Deal {i} " + "x" * (i % 50), ["alice", "bob"][i % 2], "Proposal", format_money(i * 100, "USD"),
             "" if i % 7 == 0 else "open"] for i in range(n)]


@pytest.mark.parametrize("make", [rows, ascii_rows])
@pytest.mark.parametrize("width", [20, 80, 200])
def test_a_listing_given_by_column_prints_what_the_same_rows_print(make: object, width: int) -> None:
    """`fitted_columns` (the review's long lists, cells given column by column) prints the bytes `fitted_table`
    prints for the same rows, with lines that all fit the width (the one-string path) and lines that do not."""
    columns = ["Id", "Title", "Owner", "Stage", "Value", "Status"]
    table_rows = make(1200)  # type: ignore[operator]
    by_rows = common.fitted_table(columns, table_rows, title="New deals: 1200")
    by_columns = common.fitted_columns(columns, [list(c) for c in zip(*table_rows, strict=True)],
                                       title="New deals: 1200")

    def printed(block: object) -> str:
        console = Console(file=io.StringIO(), width=width, highlight=False, soft_wrap=False)
        common.print_block(console, block)
        return console.file.getvalue()  # type: ignore[attr-defined]

    assert isinstance(by_columns, common.PlainBlock)
    assert printed(by_columns) == printed(by_rows)
    assert printed(by_columns) == printed(rich_lines(by_columns))  # (Rich's own rendering of each line)


@pytest.mark.parametrize("currency", ["USD", "EUR", "JPY", "KWD", "XYZ", "chf"])
def test_the_review_money_column_is_format_money_of_each(currency: str) -> None:
    from tuikanban.cli.review_report import money_column

    whole = [0, 100, 12_300, -100, 10**12, 1000, 123_000, 5_000_000]
    lists = [whole, [v * 1000 for v in whole], [*whole, 12_345], [*whole, None], [], [None], [1], [-(10**12) + 1]]
    for values in lists:
        assert money_column(values, currency) == [format_money(v, currency) for v in values], (currency, values)
