"""Exact money: parsing what people type, formatting for screens and JSON. No float anywhere.

Amounts are stored as integers in the currency's minor unit (cents for USD, yen for JPY); see docs/RULES.md, Money.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from tuikanban.domain.errors import ValidationError

# ISO 4217 exponents that differ from 2.
_EXPONENTS: dict[str, int] = {
    "BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0, "PYG": 0,
    "RWF": 0, "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
    "BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
}
_SYMBOLS: dict[str, str] = {
    "USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "INR": "₹", "KRW": "₩", "CHF": "CHF ",
    "CAD": "CA$", "AUD": "A$", "NZD": "NZ$", "BRL": "R$", "CNY": "CN¥", "SEK": "SEK ",
}
_SYMBOL_CHARS = "$€£¥₹₩"
# Which currencies each symbol stands for: "$5k" typed into a EUR pipeline is refused, not read as euros.
_SYMBOL_CURRENCIES: dict[str, frozenset[str]] = {
    "$": frozenset({"USD", "CAD", "AUD", "NZD", "BRL", "MXN", "SGD", "HKD", "TWD", "ARS", "CLP", "COP"}),
    "€": frozenset({"EUR"}), "£": frozenset({"GBP"}), "¥": frozenset({"JPY", "CNY"}), "₹": frozenset({"INR"}),
    "₩": frozenset({"KRW"}),
}
_SYMBOL_NAMES = {"$": "dollars", "€": "euros", "£": "pounds", "¥": "yen or yuan", "₹": "rupees", "₩": "won"}
# Currencies usually written with a decimal comma ("5.000,50"): there that form is read as people mean it.
DECIMAL_COMMA = frozenset({"EUR", "BRL", "SEK", "NOK", "DKK", "PLN", "CZK", "HUF", "TRY", "RUB", "IDR", "ARS",
                           "COP", "CLP", "VND"})
_COMMA_DECIMALS = re.compile(r"^(?P<int>\d{1,3}(?:\.\d{3})+|\d+),(?P<frac>\d{1,2})$|^(?P<int2>\d{1,3}(?:\.\d{3})+)$")
_MULTIPLIERS = {"": 1, "k": 1_000, "m": 1_000_000, "mm": 1_000_000, "b": 1_000_000_000, "bn": 1_000_000_000}
# The largest amount we accept, in major units: well inside a signed 64-bit integer of minor units.
MAX_MAJOR = Decimal(10) ** 13
# ... and in minor units: at most 15 digits, so that a JSON number (a double) carries every amount exactly
# (a double holds any 15-digit decimal; 16 digits, as KWD 9,999,999,999,999.999 would need, it may not).
MAX_MINOR = 10**15 - 1
_PLAIN = re.compile(r"[0-9]+(?:\.[0-9]+)?")
_NUMBER = re.compile(r"^(?P<int>\d{1,3}(?:[, \u00a0\u202f_]\d{3})+|\d+)?(?:\.(?P<frac>\d+))?$")


def normalise_currency(code: str) -> str:
    """Upper-case a three-letter ISO 4217 code or refuse it."""
    cleaned = code.strip().upper()
    if not re.fullmatch(r"[A-Z]{3}", cleaned):
        raise ValidationError(f"'{code}' is not a currency code; use three letters such as USD or EUR.")
    return cleaned


def exponent(currency: str) -> int:
    """How many decimal places the currency's minor unit has."""
    return _EXPONENTS.get(currency.upper(), 2)


def parse_money(text: str, currency: str = "USD") -> int:
    """Parse what a person types ("12,500.50", "12.5k", "$1.2M", "1 250 000") into minor units.

    Refuses negative amounts, exponents, more decimals than the currency has, and absurd sizes.
    """
    raw = text.strip()
    if not raw:
        raise ValidationError("The value is empty; type an amount such as 12500 or 12.5k.")
    if _PLAIN.fullmatch(raw) and not _COMMA_DECIMALS.fullmatch(raw):
        return _minor(raw, Decimal(raw), currency.upper())  # digits and a decimal point: no check below applies
    cleaned = raw.replace("\u00a0", " ").strip()
    upper = cleaned.upper()
    cur = currency.upper()
    own = _SYMBOLS.get(cur, "").strip()  # what format_money writes ("CA$", "CHF") reads back
    if len(own) > 1 and upper.startswith(own.upper()):
        cleaned = cleaned[len(own):].strip()
    elif upper.startswith(cur):
        cleaned = cleaned[len(cur):].strip()
    elif upper.endswith(cur):
        cleaned = cleaned[: -len(cur)].strip()
    else:
        _refuse_other_currency(raw, cleaned, cur)
    if re.fullmatch(r"[-+]?[^\d\s]?\s*[\d.,]+e[-+]?\d+", cleaned, re.IGNORECASE):
        raise ValidationError(f"'{raw}' is in exponent notation; type the amount in full, such as 12500 or 12.5k.")
    if cleaned.startswith("-") or cleaned.startswith("(") or "-" in cleaned:
        raise ValidationError(f"'{raw}' is negative; a deal value must be zero or more.")
    if cleaned.startswith("+"):
        cleaned = cleaned[1:].strip()
    cleaned = cleaned.lstrip(_SYMBOL_CHARS).strip()
    match = re.fullmatch(r"(?P<num>[\d.,\s_\u202f]+?)\s*(?P<suffix>k|m|mm|b|bn)?", cleaned, re.IGNORECASE)
    if not match:
        raise ValidationError(f"'{raw}' is not an amount; type a number such as 12500, 12,500.50 or 12.5k.")
    number = _decimal_comma(raw, match.group("num").strip(), cur)
    suffix = (match.group("suffix") or "").lower()
    parts = _NUMBER.fullmatch(number)
    if not parts or (parts.group("int") is None and parts.group("frac") is None):
        raise ValidationError(f"'{raw}' is not an amount; type a number such as 12500, 12,500.50 or 12.5k.")
    digits = re.sub(r"[, \u00a0\u202f_]", "", parts.group("int") or "0")
    frac = parts.group("frac") or ""
    try:
        amount = Decimal(f"{digits}.{frac or '0'}") * _MULTIPLIERS[suffix]
    except InvalidOperation:
        raise ValidationError(f"'{raw}' is not an amount; type a number such as 12500 or 12.5k.") from None
    return _minor(raw, amount, cur)


def plain_minor(text: str, currency: str = "USD") -> int:
    """`parse_money`, sooner for the digits a file mostly holds ("12500", "1000.50"): whole units and at most as many
    decimals as the currency has are counted in integers, without `Decimal`. Anything else (a longer fraction, a
    thousands separator, an amount near the largest, any other form) is `parse_money`'s, with its sentences."""
    whole, dot, frac = text.partition(".")
    if whole.isdigit() and whole.isascii() and len(whole) <= 12 and (not dot or (frac.isdigit() and frac.isascii())):
        cur = currency.upper()
        exp = exponent(cur)
        if len(frac) <= exp and len(frac) != 3:  # ("5.000" may be five thousand: parse_money knows where)
            minor: int = int(whole) * 10**exp + (int(frac.ljust(exp, "0")) if frac else 0)
            if minor <= MAX_MINOR:
                return minor
    return parse_money(text, currency)


def _minor(raw: str, amount: Decimal, cur: str) -> int:
    """An amount in major units as minor units, refused when too large or more precise than the currency."""
    exp = exponent(cur)
    minor = amount * (Decimal(10) ** exp)
    if amount >= MAX_MAJOR or minor > MAX_MINOR:
        largest = format_money(min(MAX_MINOR, int(MAX_MAJOR.scaleb(exp)) - 1), cur, symbol=False)
        raise ValidationError(f"'{raw}' is too large; the largest value is {largest}.")
    if minor != minor.to_integral_value():
        places = "no decimals" if exp == 0 else f"at most {exp} decimals"
        raise ValidationError(f"'{raw}' has more precision than {cur} allows ({places}).")
    return int(minor)


def _refuse_other_currency(raw: str, cleaned: str, currency: str) -> None:
    """Refuse an amount marked as another currency (a symbol or an ISO code that is not the pipeline's)."""
    code = re.fullmatch(r"([A-Za-z]{3})\s*[\d.,].*|.*[\d.,kmb]\s*([A-Za-z]{3})", cleaned)
    if code is not None:
        other = (code.group(1) or code.group(2)).upper()
        if other not in ("K", "M", "MM", "B", "BN") and re.fullmatch(r"[A-Z]{3}", other):
            raise ValidationError(f"'{raw}' is in {other}, but this pipeline counts in {currency}; type the amount "
                                  f"in {currency} (deals are not converted).")
    for where in (cleaned[:1], cleaned[-1:]):
        if where and where in _SYMBOL_CURRENCIES and currency not in _SYMBOL_CURRENCIES[where]:
            raise ValidationError(f"'{raw}' is in {_SYMBOL_NAMES[where]}, but this pipeline counts in {currency}; "
                                  f"type the amount without the symbol, in {currency}.")


def _decimal_comma(raw: str, number: str, currency: str) -> str:
    """"5.000,50" as 5000.50 where the currency is written that way; elsewhere a sentence saying how to type it.

    A comma followed by exactly three digits stays a thousands separator everywhere ("12,500")."""
    form = _COMMA_DECIMALS.fullmatch(number)
    if form is None or (form.group("int2") is not None and currency not in DECIMAL_COMMA):
        return number
    whole = (form.group("int") or form.group("int2")).replace(".", "")
    frac = form.group("frac")
    if currency not in DECIMAL_COMMA:
        raise ValidationError(f"'{raw}' uses a decimal comma; in {currency} type {whole}.{frac} "
                              "(a dot for decimals, commas for thousands).")
    return f"{whole}.{frac}" if frac is not None else whole


def to_decimal(minor: int, currency: str) -> Decimal:
    """Minor units to an exact Decimal of major units."""
    return Decimal(minor).scaleb(-exponent(currency))


def to_json_number(minor: int | None, currency: str) -> int | float | None:
    """Major units as a JSON number, exact to the minor unit (12500.5).

    The float is produced from the exact decimal string, so it round-trips to the same text in JSON.
    """
    if minor is None:
        return None
    value = to_decimal(minor, currency)
    if value == value.to_integral_value():
        return int(value)
    return float(str(value.normalize()))


def money_formatter(currency: str) -> Callable[[int | None], str]:
    """`format_money(minor, currency)` for many amounts of one currency: a whole amount (most values) is written
    from the integer, without Decimal; the same text."""
    cur = currency.upper()
    unit = 10 ** exponent(cur)
    prefix = _SYMBOLS.get(cur, f"{cur} ")

    def text(minor: int | None) -> str:
        if minor is not None and minor % unit == 0:
            return f"{prefix}{minor // unit:,}"
        return format_money(minor, currency)

    return text


# below this many minor units a value has at most 15 digits: float repr gives them back as they are
_EXACT_FLOAT = 10**15


def json_number_text(minor: int | None, currency: str) -> str:
    """The JSON text of `to_json_number(minor, currency)` ("12500.5", "12500", "null"), quickly for the values a
    float holds digit for digit: the digits themselves, without the Decimal and float round trip (the JSON export
    writes it for every deal). Any other value goes through `to_json_number`."""
    if minor is None:
        return "null"
    exp = _EXPONENTS.get(currency, 2) if currency.isupper() else exponent(currency)  # stored codes are upper case
    if exp == 0:
        return str(minor)
    if not 0 <= minor < _EXACT_FLOAT:
        return repr(to_json_number(minor, currency))
    whole, part = divmod(minor, 100 if exp == 2 else 10**exp)
    if not part:
        return str(whole)
    return f"{whole}.{part:0{exp}d}".rstrip("0")


def format_money(minor: int | None, currency: str, *, compact: bool = False, symbol: bool = True) -> str:
    """Human text: "$12,500.50", compact "$12.5k", "n/a" when there is no value."""
    if minor is None:
        return "n/a"
    cur = currency.upper()
    value = to_decimal(minor, cur)
    prefix = _SYMBOLS.get(cur, f"{cur} ") if symbol else ""
    if compact:
        sign = "-" if value < 0 else ""
        magnitude = abs(value)
        whole = magnitude.quantize(Decimal(1), rounding=ROUND_HALF_UP)
        if whole < 1000:
            return f"{sign}{prefix}{whole:f}"
        # Pick the unit after rounding, so that 999,999 shows as 1M rather than 1000k.
        for limit, suffix in ((Decimal(10) ** 3, "k"), (Decimal(10) ** 6, "M"), (Decimal(10) ** 9, "B")):
            ratio = magnitude / limit
            # three significant digits where it matters: $1.25M, $12.5k, $354.5k
            scaled = ratio.quantize(Decimal("0.01") if ratio < 10 else Decimal("0.1"), rounding=ROUND_HALF_UP)
            if scaled < 1000 or suffix == "B":
                text = f"{scaled:,f}".rstrip("0").rstrip(".")
                return f"{sign}{prefix}{text}{suffix}"
    exp = exponent(cur)
    quant = Decimal(1).scaleb(-exp)
    text = f"{value.quantize(quant):,f}"
    if exp and text.endswith("." + "0" * exp):
        text = text[: -(exp + 1)]
    return f"{prefix}{text}"
