"""What a person types into a deal's fields, cleaned and checked: text lengths, titles, money and dates."""

from __future__ import annotations

from datetime import date

from tuikanban.domain import clock
from tuikanban.domain.errors import ValidationError
from tuikanban.domain.money import parse_money
from tuikanban.domain.text import clean_text

MAX_TITLE = 300
MAX_FIELD = 300
MAX_NOTES = 20_000


def clean_field(value: str | None, what: str, limit: int = MAX_FIELD, *, multiline: bool = False) -> str:
    text = clean_text(value or "", multiline=multiline).strip()
    if len(text) > limit:
        raise ValidationError(f"The {what} is longer than {limit} characters ({len(text)}).")
    return text


def checked_title(title: str) -> str:
    text = clean_field(title, "title", MAX_TITLE)
    if not text:
        raise ValidationError("A deal needs a title.")
    return text


def checked_money(value: str | int | None, currency: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, int):
        if value < 0:
            raise ValidationError("A deal value must be zero or more.")
        return value
    if not value.strip():
        return None
    return parse_money(value, currency)


def close_date(value: str | date | None) -> date | None:
    if value is None or isinstance(value, date):
        return value
    if not value.strip():
        return None
    return clock.parse_date(value, what="close date")
