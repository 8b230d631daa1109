"""Money: what people type becomes exact integer minor units; formatting and JSON never go through a float sum."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from tuikanban.domain.errors import ValidationError
from tuikanban.domain.money import (
    MAX_MINOR,
    exponent,
    format_money,
    normalise_currency,
    parse_money,
    to_decimal,
    to_json_number,
)


@pytest.mark.parametrize(
    ("text", "minor"),
    [
        ("12500", 1_250_000),  # 12,500.00 USD = 1,250,000 cents
        ("12,500.50", 1_250_050),
        ("12.5k", 1_250_000),  # 12.5 x 1,000 = 12,500
        ("$1.2M", 120_000_000),  # 1.2 x 1,000,000 = 1,200,000 dollars
        ("1 250 000", 125_000_000),
        ("0", 0),
        ("0.01", 1),
        (".5", 50),
        ("  42  ", 4_200),
        ("+7", 700),
        ("1,000,000", 100_000_000),
        ("1_000", 100_000),
        ("2.5K", 250_000),
        ("3m", 300_000_000),
        ("1.5bn", 150_000_000_000),  # 1.5 x 10^9 dollars
        ("USD 100", 10_000),
        ("100 usd", 10_000),
        ("1\u00a0250", 125_000),  # a no-break space as the thousands separator
    ],
)
def test_accepted_amounts_in_usd(text: str, minor: int) -> None:
    assert parse_money(text) == minor
    assert isinstance(parse_money(text), int)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("abc", "'abc' is not an amount"),
        ("-5", "'-5' is negative"),
        ("$-5", "is negative"),
        ("(5)", "is negative"),
        ("1e400", "'1e400' is in exponent notation"),
        ("1E5", "exponent notation"),
        ("", "The value is empty"),
        ("   ", "The value is empty"),
        ("1.2.3", "is not an amount"),
        ("12,50", "'12,50' uses a decimal comma; in USD type 12.50"),
        ("1,2345", "is not an amount"),
        ("++5", "is not an amount"),
        ("k", "is not an amount"),
        ("$", "is not an amount"),
        ("NaN", "is not an amount"),
        ("inf", "is not an amount"),
        ("0.001", "more precision than USD allows (at most 2 decimals)"),
        ("10000000000000", "too large"),
    ],
)
def test_refused_amounts_say_why_in_one_sentence(text: str, fragment: str) -> None:
    with pytest.raises(ValidationError) as info:
        parse_money(text)
    message = str(info.value)
    assert fragment in message
    assert message.endswith(".")
    assert "\n" not in message
    assert "Traceback" not in message


def test_currency_exponents() -> None:
    assert exponent("USD") == 2
    assert exponent("jpy") == 0
    assert exponent("KWD") == 3
    # JPY has no minor unit: 1,000 yen is 1,000 units; a fraction of a yen is refused.
    assert parse_money("1000", "JPY") == 1_000
    assert parse_money("12.5k", "JPY") == 12_500
    with pytest.raises(ValidationError, match=r"more precision than JPY allows \(no decimals\)"):
        parse_money("1.5", "JPY")
    # KWD has three decimals: 1.234 KWD = 1,234 fils; four decimals are refused.
    assert parse_money("1.234", "KWD") == 1_234
    assert parse_money("1.5", "KWD") == 1_500
    with pytest.raises(ValidationError, match=r"at most 3 decimals"):
        parse_money("1.2345", "KWD")


def test_largest_amount_depends_on_the_minor_unit() -> None:
    # 15 digits of minor units at most (so that JSON numbers stay exact).
    assert MAX_MINOR == 999_999_999_999_999
    assert parse_money("9999999999999.99", "USD") == 999_999_999_999_999
    assert parse_money("999999999999.999", "KWD") == 999_999_999_999_999
    with pytest.raises(ValidationError, match=r"the largest value is 999,999,999,999\.999\."):
        parse_money("1000000000000", "KWD")
    with pytest.raises(ValidationError, match=r"the largest value is 9,999,999,999,999\."):
        parse_money("10000000000000", "JPY")


def test_format_money() -> None:
    assert format_money(1_250_050, "USD") == "$12,500.50"
    assert format_money(1_250_000, "USD") == "$12,500"  # whole amounts drop ".00"
    assert format_money(5, "USD") == "$0.05"
    assert format_money(0, "USD") == "$0"
    assert format_money(None, "USD") == "n/a"
    assert format_money(1_000, "JPY") == "¥1,000"
    assert format_money(1_234, "KWD") == "KWD 1.234"
    assert format_money(1_200, "KWD") == "KWD 1.200"  # not a whole amount: keep the three decimals
    assert format_money(100, "XYZ") == "XYZ 1"
    assert format_money(1_250_050, "EUR", symbol=False) == "12,500.50"


def test_compact_format_picks_the_unit_after_rounding() -> None:
    assert format_money(1_250_050, "USD", compact=True) == "$12.5k"
    assert format_money(120_000_000, "USD", compact=True) == "$1.2M"
    assert format_money(150_000_000_000, "USD", compact=True) == "$1.5B"
    assert format_money(99_949, "USD", compact=True) == "$999"  # 999.49
    assert format_money(99_950, "USD", compact=True) == "$1k"  # 999.50 rounds to 1,000
    assert format_money(99_999_900, "USD", compact=True) == "$1M"  # 999,999 is 1M, not 1000k
    assert format_money(99_994_999, "USD", compact=True) == "$999.9k"
    assert format_money(0, "USD", compact=True) == "$0"
    # three significant digits below ten units: 1,250,000 is $1.25M (not $1.3M), 1,234 is $1.23k
    assert format_money(125_000_000, "USD", compact=True) == "$1.25M"
    assert format_money(123_400, "USD", compact=True) == "$1.23k"
    assert format_money(999_500, "USD", compact=True) == "$10k"  # 9,995 rounds to 10.00k


def test_json_numbers_are_exact_to_the_minor_unit() -> None:
    assert to_json_number(1_250_050, "USD") == 12500.5
    assert json.dumps(to_json_number(1_250_050, "USD")) == "12500.5"
    assert json.dumps(to_json_number(1_250_000, "USD")) == "12500"
    assert isinstance(to_json_number(1_250_000, "USD"), int)
    assert json.dumps(to_json_number(1, "USD")) == "0.01"
    assert json.dumps(to_json_number(1_234, "KWD")) == "1.234"
    assert json.dumps(to_json_number(1_000, "JPY")) == "1000"
    assert to_json_number(None, "USD") is None
    # The largest amounts still print exactly (15 significant digits fit a double).
    assert json.dumps(to_json_number(999_999_999_999_999, "USD")) == "9999999999999.99"
    assert json.dumps(to_json_number(999_999_999_999_999, "KWD")) == "999999999999.999"
    assert json.dumps(to_json_number(123_456_789_012_345, "KWD")) == "123456789012.345"


def test_round_trip_parse_format_parse() -> None:
    for text, currency in (("12,500.50", "USD"), ("1,000", "JPY"), ("1.234", "KWD"), ("0.07", "EUR")):
        minor = parse_money(text, currency)
        shown = format_money(minor, currency, symbol=False)
        assert parse_money(shown, currency) == minor
        assert to_decimal(minor, currency) == Decimal(text.replace(",", ""))


def test_currency_codes() -> None:
    assert normalise_currency(" eur ") == "EUR"
    with pytest.raises(ValidationError, match="'EURO' is not a currency code"):
        normalise_currency("EURO")
    with pytest.raises(ValidationError):
        normalise_currency("U$D")


def test_no_float_in_the_money_module() -> None:
    import inspect

    import tuikanban.domain.money as money

    source = inspect.getsource(money)
    # The only float is the last step of to_json_number, made from the exact decimal text.
    assert source.count("float(") == 1
    assert "float(str(value.normalize()))" in source


@pytest.mark.parametrize(
    ("text", "currency", "minor"),
    [
        ("5.000,50", "EUR", 500050),  # dots for thousands, a comma for decimals: 5000.50 euros
        ("12,50", "EUR", 1250),
        ("1.234.567,8", "EUR", 123456780),
        ("5.000", "EUR", 500000),  # in a decimal-comma currency a dot group is thousands
        ("12,500", "EUR", 1250000),  # three digits after a comma stay thousands everywhere
        ("12.5k", "EUR", 1250000),
        ("€5k", "EUR", 500000),
        ("5k EUR", "EUR", 500000),
        ("CA$3", "CAD", 300),
        ("$3", "AUD", 300),  # "$" stands for every dollar
    ],
)
def test_amounts_in_the_pipelines_own_writing(text: str, currency: str, minor: int) -> None:
    assert parse_money(text, currency) == minor


@pytest.mark.parametrize(
    ("text", "currency", "message"),
    [
        ("$5k", "EUR", "'$5k' is in dollars, but this pipeline counts in EUR; type the amount without the symbol, "
                       "in EUR."),
        ("£3", "USD", "'£3' is in pounds, but this pipeline counts in USD; type the amount without the symbol, "
                      "in USD."),
        ("5000 USD", "EUR", "'5000 USD' is in USD, but this pipeline counts in EUR; type the amount in EUR "
                            "(deals are not converted)."),
        ("5.000,50", "USD", "'5.000,50' uses a decimal comma; in USD type 5000.50 (a dot for decimals, commas for "
                            "thousands)."),
    ],
)
def test_another_currencys_amount_is_refused(text: str, currency: str, message: str) -> None:
    with pytest.raises(ValidationError) as info:
        parse_money(text, currency)
    assert str(info.value) == message
