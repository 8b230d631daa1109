"""The aging's close_pushed counts the pushes of the expected close date that still stand: a push undone is taken
back, a push redone counts again, and the undo of a pull (the date moved later again) is no push (docs/RULES.md,
What changed: a deal at a past moment). Histories built through the CLI with `--at`, each deal by its own user
(each user has an undo stack); the clock is fixed at 2026-03-02 12:00 and set for each undo and redo."""

from __future__ import annotations

from typing import Any

import pytest

from engines import upgraded_from

pytestmark = pytest.mark.engines  # on SQLite and on PostgreSQL


def ok(cli: Any, *args: str) -> str:
    r = cli(*args)
    assert r.code == 0, (args, r.err)
    return str(r.out)


@pytest.fixture
def pushes(cli: Any, monkeypatch: pytest.MonkeyPatch, fixed_now: str) -> Any:
    """Four open deals created 01-10 with close date 03-20:

    1 Acme:    04-01 on 02-10, 04-15 on 02-12                      -> 2 pushes
    2 Globex:  04-01 on 02-10, 04-15 on 02-12, the last undone     -> 1 push
    3 Initech: 04-01 on 02-10, 04-15 on 02-12, undone, then redone -> 2 pushes
    4 Hooli:   03-01 on 02-10 (pulled in), undone (back to 03-20, later, but no push), 04-01 on 02-12 -> 1 push
    """
    ok(cli, "pipeline", "create", "Sales", "--stages", "Lead,Qualified")
    for title in ("Acme", "Globex", "Initech", "Hooli"):
        ok(cli, "deal", "add", title, "--value", "1k", "--close", "2026-03-20", "--at", "2026-01-10")

    def as_user(n: int, *args: str, when: str | None = None) -> None:
        monkeypatch.setenv("TUIKANBAN_NOW", when or fixed_now)
        ok(cli, "--user", f"u{n}", *args)
        monkeypatch.setenv("TUIKANBAN_NOW", fixed_now)

    for deal in ("1", "2", "3"):
        as_user(int(deal), "deal", "edit", deal, "--close", "2026-04-01", "--at", "2026-02-10")
        as_user(int(deal), "deal", "edit", deal, "--close", "2026-04-15", "--at", "2026-02-12")
    as_user(2, "undo", when="2026-02-13T12:00:00+00:00")
    as_user(3, "undo", when="2026-02-13T12:00:00+00:00")
    as_user(3, "redo", when="2026-02-14T12:00:00+00:00")
    as_user(4, "deal", "edit", "4", "--close", "2026-03-01", "--at", "2026-02-10")
    as_user(4, "undo", when="2026-02-11T12:00:00+00:00")
    as_user(4, "deal", "edit", "4", "--close", "2026-04-01", "--at", "2026-02-12")
    return cli


def test_close_pushed_counts_the_pushes_that_still_stand(pushes: Any, db: Any) -> None:
    from tuikanban.services.aging import aging_report

    items = {i.title: i for i in aging_report(db, None)}
    assert {t: i.close_pushes for t, i in items.items()} == {"Acme": 2, "Globex": 1, "Initech": 2, "Hooli": 1}
    assert {t for t, i in items.items() if "close_pushed" in i.signals} == {"Acme", "Initech"}


def test_an_existing_board_gets_the_index_and_keeps_its_pushes(pushes: Any, db_target: str) -> None:
    """A board with this history at schema 7 (the index dropped, the version set back) is upgraded when opened:
    the migration creates the index on either engine, and the counts are the same."""
    from tuikanban.services.aging import aging_report

    db = upgraded_from(db_target, 7, ["ix_event_close_undo"])
    try:
        assert {i.title: i.close_pushes for i in aging_report(db, None)} == {
            "Acme": 2, "Globex": 1, "Initech": 2, "Hooli": 1}
    finally:
        db.close()
