"""The one clock: TUIKANBAN_NOW fixes it, naive times are UTC, bad values give one sentence."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from tuikanban.domain import clock
from tuikanban.domain.errors import ValidationError


def test_now_is_aware_utc_without_the_variable() -> None:
    before = datetime.now(UTC)
    value = clock.now()
    after = datetime.now(UTC)
    assert value.tzinfo is not None
    assert value.utcoffset() == timedelta(0)
    assert before <= value <= after


def test_tuikanban_now_fixes_the_clock(fixed_now: str) -> None:
    assert clock.now() == datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
    assert clock.now() == clock.now()
    assert clock.today() == date(2026, 3, 2)


def test_tuikanban_now_naive_means_utc(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TUIKANBAN_NOW", "2026-03-02T09:30:00")
    assert clock.now() == datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def test_tuikanban_now_with_offset_and_z(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TUIKANBAN_NOW", "2026-03-02T09:30:00+02:00")
    assert clock.now() == datetime(2026, 3, 2, 7, 30, tzinfo=UTC)  # 09:30 at +02:00 is 07:30 UTC
    assert clock.now().tzinfo == UTC
    monkeypatch.setenv("TUIKANBAN_NOW", "2026-03-02T09:30:00Z")
    assert clock.now() == datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
    monkeypatch.setenv("TUIKANBAN_NOW", "2026-03-02")
    assert clock.now() == datetime(2026, 3, 2, 0, 0, tzinfo=UTC)


def test_bad_tuikanban_now_is_one_sentence(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TUIKANBAN_NOW", "next tuesday")
    with pytest.raises(ValidationError) as info:
        clock.now()
    assert str(info.value) == (
        "'next tuesday' is not a valid TUIKANBAN_NOW value; use ISO 8601 such as 2026-03-01 or 2026-03-01T14:30."
    )


def test_empty_tuikanban_now_means_the_real_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TUIKANBAN_NOW", "")
    assert abs((clock.now() - datetime.now(UTC)).total_seconds()) < 60


@pytest.mark.parametrize("text", ["2026-13-01", "2026-02-30", "yesterday", "12/03/2026", "2026", "14:30"])
def test_parse_instant_refuses(text: str) -> None:
    with pytest.raises(ValidationError, match=rf"^'{text}' is not a valid --at time; use ISO 8601"):
        clock.parse_instant(text, what="--at time")


def test_parse_instant_empty() -> None:
    with pytest.raises(ValidationError, match="The time is empty"):
        clock.parse_instant("  ")


def test_parse_date() -> None:
    assert clock.parse_date("2026-03-31") == date(2026, 3, 31)
    with pytest.raises(ValidationError, match=r"^'2026-02-30' is not a valid close date; use YYYY-MM-DD"):
        clock.parse_date("2026-02-30", what="close date")
    with pytest.raises(ValidationError):
        clock.parse_date("31/03/2026")


def test_as_utc_and_days_between() -> None:
    naive = datetime(2026, 3, 1, 12, 0)
    assert clock.as_utc(naive) == datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    plus_two = timezone(timedelta(hours=2))
    assert clock.as_utc(datetime(2026, 3, 1, 14, 0, tzinfo=plus_two)) == datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    # 1 March 12:00 to 3 March 00:00 is 36 hours = 1.5 days; a naive end is taken as UTC.
    assert clock.days_between(datetime(2026, 3, 1, 12, 0, tzinfo=UTC), datetime(2026, 3, 3)) == 1.5
