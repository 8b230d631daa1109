"""Rewinding through undo, redo, delete and restore: `changes` (and so the digest and the review screen, which read
the same report) and the forecast's backtest take a deal's value, close date and status at a past moment from
every event that changed them, not from the edits alone. Histories built through the CLI with `--at` and a fixed
clock (the undo, redo, delete and restore are stamped with the clock, so it is set before each); since = 7d =
2026-02-23 12:00. Every number is worked out by hand in the comments."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

pytestmark = pytest.mark.engines  # on SQLite and on PostgreSQL

NOW = "2026-03-02T12:00:00+00:00"


def ok(cli: Any, *args: str) -> str:
    r = cli(*args)
    assert r.code == 0, (args, r.err)
    return str(r.out)


def changes(cli: Any, *args: str) -> dict[str, Any]:
    return dict(json.loads(ok(cli, "changes", "--json", "--no-mark", "--since", "7d", *args)))


def buckets(doc: dict[str, Any]) -> dict[str, tuple[Any, list[int]]]:
    """The buckets that are not empty."""
    return {k: (v["value"], v["deals"]) for k, v in doc["bridge"].items() if v["deals"] or v["value"]}


def adds_up(doc: dict[str, Any]) -> bool:
    b = {k: v["value"] for k, v in doc["bridge"].items()}
    return bool(doc["start_value"] + b["created"] + b["reopened"] + b["pulled_in"] + b["increased"]
                - b["decreased"] - b["won"] - b["lost"] - b["deleted"] - b["pushed_out"] == doc["end_value"])


@pytest.fixture
def as_user(cli: Any, monkeypatch: pytest.MonkeyPatch, fixed_now: str) -> Any:
    """Run a command as user uN, with the clock at `when` (the undo, redo, delete and restore take their time from
    it), then set the clock back."""
    def run(n: int, *args: str, when: str | None = None) -> None:
        monkeypatch.setenv("TUIKANBAN_NOW", when or fixed_now)
        ok(cli, "--user", f"u{n}", *args)
        monkeypatch.setenv("TUIKANBAN_NOW", fixed_now)
    return run


@pytest.fixture
def edits(cli: Any, as_user: Any) -> Any:
    """Five open deals in Lead, created 01-10, each changed by its own user (each user has an undo stack):

    1 Acme    10,000 close 03-20: value 12,000 02-25 09:00; undone 02-26 12:00 (inside the period)
    2 Globex   5,000 close 03-20: value 8,000 02-20 (before the period); undone 02-24 06:00 (across its start)
    3 Initech  4,000 close 03-20: value 6,000 02-24 12:00; undone 02-25 12:00; redone 02-27 12:00
    4 Hooli    7,000 close 03-10: close 04-20 on 02-20 (before the period); undone 02-25 12:00
    5 Stark    3,000 close 03-15: close 04-30 on 02-24 12:00; undone 02-26 12:00
    and moves: Globex to Qualified 02-24 08:00, to Proposal 09:00, that move undone 10:00;
    Initech to Qualified 02-24 08:00, undone 09:00, redone 10:00 (users u0 and u9)
    """
    ok(cli, "pipeline", "create", "Sales", "--stages", "Lead,Qualified,Proposal")
    for title, value, close in (("Acme", "10k", "2026-03-20"), ("Globex", "5k", "2026-03-20"),
                                ("Initech", "4k", "2026-03-20"), ("Hooli", "7k", "2026-03-10"),
                                ("Stark", "3k", "2026-03-15")):
        ok(cli, "deal", "add", title, "--value", value, "--close", close, "--at", "2026-01-10")

    as_user(2, "deal", "edit", "2", "--value", "8k", "--at", "2026-02-20")
    as_user(4, "deal", "edit", "4", "--close", "2026-04-20", "--at", "2026-02-20")
    as_user(2, "undo", when="2026-02-24T06:00:00+00:00")
    as_user(0, "deal", "move", "2", "Qualified", "--at", "2026-02-24T08:00")
    as_user(0, "deal", "move", "2", "Proposal", "--at", "2026-02-24T09:00")
    as_user(0, "undo", when="2026-02-24T10:00:00+00:00")
    as_user(9, "deal", "move", "3", "Qualified", "--at", "2026-02-24T08:00")
    as_user(9, "undo", when="2026-02-24T09:00:00+00:00")
    as_user(9, "redo", when="2026-02-24T10:00:00+00:00")
    as_user(3, "deal", "edit", "3", "--value", "6k", "--at", "2026-02-24T12:00")
    as_user(5, "deal", "edit", "5", "--close", "2026-04-30", "--at", "2026-02-24T12:00")
    as_user(1, "deal", "edit", "1", "--value", "12k", "--at", "2026-02-25T09:00")
    as_user(3, "undo", when="2026-02-25T12:00:00+00:00")
    as_user(4, "undo", when="2026-02-25T12:00:00+00:00")
    as_user(1, "undo", when="2026-02-26T12:00:00+00:00")
    as_user(5, "undo", when="2026-02-26T12:00:00+00:00")
    as_user(3, "redo", when="2026-02-27T12:00:00+00:00")
    return cli


# Globex: two moves, the second undone: one move; Initech: a move undone and redone: one move (both on 02-24, both
# still closing in March: the same in every case below)
MOVED = [(2, "Lead", "Qualified", "forward", 1), (3, "Lead", "Qualified", "forward", 1)]
STARK_PUSHED = [(5, 1, "2026-03-15", "2026-04-30")]


@pytest.mark.parametrize(("args", "start", "end", "bridge", "pushed"), [
    # at 02-23 12:00: 10,000 + 8,000 (Globex's edit not undone yet) + 4,000 + 7,000 + 3,000 = 32,000
    # now: 10,000 (Acme's edit undone) + 5,000 + 6,000 (Initech's edit redone) + 7,000 + 3,000 = 31,000
    # Acme went 10,000 -> 12,000 -> 10,000 inside the period: in no bucket; 32,000 + 2,000 - 3,000 = 31,000
    # Stark's push was undone inside the period, Hooli's undo pulled its date back in: no push counted
    pytest.param((), 32000, 31000, {"increased": (2000, [3]), "decreased": (3000, [2])}, [],
                 id="value-undone-inside-and-across-the-start"),
    # at 02-26 00:00: 12,000 (Acme's edit, undone later) + 5,000 + 4,000 (Initech undone, not redone yet)
    # + 7,000 + 3,000 = 31,000; 32,000 + 2,000 - 3,000 = 31,000
    # Stark's push (03-15 -> 04-30) stands at 02-26 00:00; it is undone after
    pytest.param(("--until", "2026-02-26T00:00"), 32000, 31000,
                 {"increased": (2000, [1]), "decreased": (3000, [2])}, STARK_PUSHED,
                 id="period-ending-between-an-edit-and-its-undo"),
    # at 02-23 12:00, closing in March: Acme 10,000 + Globex 8,000 + Initech 4,000 + Stark 3,000 (03-15) = 25,000;
    # Hooli's close was 04-20 then (pushed 02-20, the undo on 02-25 brings it back to 03-10)
    # all five close in March now: 31,000 = 25,000 + 7,000 + 2,000 - 3,000; Stark's push undone: none
    pytest.param(("--closing", "2026-03"), 25000, 31000,
                 {"pulled_in": (7000, [4]), "increased": (2000, [3]), "decreased": (3000, [2])}, [],
                 id="close-dates-undone-with-a-closing-period"),
    # at 02-26 00:00: Acme 12,000 + Globex 5,000 + Initech 4,000 + Hooli 7,000 (03-10 again); Stark 04-30 is out
    # 25,000 + 7,000 + 2,000 - 3,000 - 3,000 = 28,000
    pytest.param(("--closing", "2026-03", "--until", "2026-02-26T00:00"), 25000, 28000,
                 {"pulled_in": (7000, [4]), "pushed_out": (3000, [5]), "increased": (2000, [1]),
                  "decreased": (3000, [2])}, STARK_PUSHED,
                 id="close-date-pushed-out-until-its-undo"),
])
def test_the_bridge_rewinds_edits_undone_and_redone(edits: Any, args: tuple[str, ...], start: int, end: int,
                                                     bridge: dict[str, Any], pushed: list[Any]) -> None:
    doc = changes(edits, *args)
    assert (doc["start_value"], doc["end_value"]) == (start, end)
    assert buckets(doc) == bridge
    assert adds_up(doc)
    assert [(p["id"], p["pushes"], p["close_before"], p["close_after"]) for p in doc["pushed"]] == pushed
    assert [(m["id"], m["from_stage"], m["to_stage"], m["direction"], m["moves"]) for m in doc["moved"]] == MOVED


def test_the_digest_rewinds_the_same_way(edits: Any) -> None:
    assert json.loads(ok(edits, "digest", "--format", "json", "--since", "7d")) == changes(edits)


def test_the_backtest_rewinds_undo_and_redo(edits: Any, db: Any) -> None:
    from sqlmodel import select

    from tuikanban.services.forecast_backtest import open_value_by_stage
    from tuikanban.store.tables import Stage

    points = [datetime(2026, 2, 23, 12, tzinfo=UTC), datetime(2026, 2, 25, 18, tzinfo=UTC),
              datetime(2026, 2, 27, 18, tzinfo=UTC)]
    with db.read() as s:
        conn = s.connection()
        out = open_value_by_stage(conn, 1, points, "USD", 30)
        stage = {name: i for i, name in s.exec(select(Stage.id, Stage.name))}
    lead, qualified = stage["Lead"], stage["Qualified"]
    # horizons 03-25, 03-27, 03-29 (values in minor units):
    # 02-23 12:00: Acme 10,000 + Globex 8,000 + Initech 4,000 + Stark 3,000 (Hooli's 04-20 is past the horizon)
    # 02-25 18:00: Acme 12,000 + Globex 5,000 + Initech 4,000 (undone) + Hooli 7,000 (03-10); Stark's 04-30 out
    # 02-27 18:00: Acme 10,000 + Globex 5,000 + Initech 6,000 (redone) + Hooli 7,000 + Stark 3,000
    # and Globex and Initech are in Qualified from 02-24 10:00 on (their moves undone and redone)
    assert out == [{lead: 2_500_000}, {lead: 1_900_000, qualified: 900_000}, {lead: 2_000_000, qualified: 1_100_000}]


@pytest.fixture
def statuses(cli: Any, as_user: Any) -> Any:
    """Four deals created 01-10 in Lead, no close date:

    1 Wonka   2,000: won 02-24 12:00; undone 02-25 12:00; redone 02-27 12:00 (won now)
    2 Dunder  1,000: deleted 02-24 12:00; restored 02-25 12:00 (open now)
    3 Oscorp  4,000: won 02-01 (before the period); deleted 02-24 12:00 (deleted now, and not open in between)
    4 Tyrell  5,000: deleted 02-20 (before the period); undone 02-25 12:00 (open now)
    """
    ok(cli, "pipeline", "create", "Sales", "--stages", "Lead,Qualified,Proposal")
    for title, value in (("Wonka", "2k"), ("Dunder", "1k"), ("Oscorp", "4k"), ("Tyrell", "5k")):
        ok(cli, "deal", "add", title, "--value", value, "--at", "2026-01-10")

    as_user(3, "deal", "won", "3", "--at", "2026-02-01")
    as_user(4, "deal", "delete", "4", "--yes", when="2026-02-20T00:00:00+00:00")
    as_user(1, "deal", "won", "1", "--at", "2026-02-24T12:00")
    as_user(2, "deal", "delete", "2", "--yes", when="2026-02-24T12:00:00+00:00")
    as_user(3, "deal", "delete", "3", "--yes", when="2026-02-24T12:00:00+00:00")
    as_user(1, "undo", when="2026-02-25T12:00:00+00:00")
    as_user(2, "deal", "restore", "2", when="2026-02-25T12:00:00+00:00")
    as_user(4, "undo", when="2026-02-25T12:00:00+00:00")
    as_user(1, "redo", when="2026-02-27T12:00:00+00:00")
    return cli


@pytest.mark.parametrize(("until", "end", "bridge"), [
    # open now: Dunder 1,000 + Tyrell 5,000 = 6,000 (Wonka won again, Oscorp deleted)
    # Tyrell comes back from deleted (a closed state) through `reopened`: 3,000 + 5,000 - 2,000 = 6,000
    pytest.param(None, 6000, {"reopened": (5000, [4]), "won": (2000, [1])}, id="now"),
    # at 02-24 18:00: Wonka won, Dunder, Oscorp and Tyrell deleted: nothing open; 3,000 - 2,000 - 1,000 = 0
    pytest.param("2026-02-24T18:00", 0, {"won": (2000, [1]), "deleted": (1000, [2])}, id="all-closed"),
    # at 02-26 00:00: Wonka open again (its win undone), Dunder restored, Tyrell's delete undone
    # 2,000 + 1,000 + 5,000 = 8,000 = 3,000 + 5,000
    pytest.param("2026-02-26T00:00", 8000, {"reopened": (5000, [4])}, id="undone-and-restored"),
])
def test_statuses_through_undo_redo_delete_and_restore(statuses: Any, until: str | None, end: int,
                                                       bridge: dict[str, Any]) -> None:
    doc = changes(statuses, *(("--until", until) if until else ()))
    # open at 02-23 12:00 (the same start in every case): Wonka 2,000 + Dunder 1,000 (Oscorp is won, Tyrell
    # deleted) = 3,000
    assert (doc["start_value"], doc["end_value"]) == (3000, end)
    assert buckets(doc) == bridge
    assert adds_up(doc)


def test_the_status_a_closed_deal_had(statuses: Any, db: Any) -> None:
    from tuikanban.services.changes import states_at

    moments = [datetime(2026, 2, 23, 12, tzinfo=UTC), datetime(2026, 2, 24, 18, tzinfo=UTC),
               datetime(2026, 2, 26, tzinfo=UTC)]
    with db.read() as s:
        got = states_at(s.connection(), 1, moments, "USD")
    # Wonka: open, won (02-24 12:00), open again (undone 02-25 12:00)
    assert [x.status for x in got[1]] == ["open", "won", "open"]
    # Dunder: open, deleted (02-24 12:00), restored open (02-25 12:00)
    assert [x.status for x in got[2]] == ["open", "deleted", "open"]
    # Oscorp: won on 02-01, deleted 02-24 12:00: won, not open, before its delete
    assert [x.status for x in got[3]] == ["won", "deleted", "deleted"]
    # Tyrell: deleted 02-20, undone 02-25 12:00
    assert [x.status for x in got[4]] == ["deleted", "deleted", "open"]
