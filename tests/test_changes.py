"""`tuikanban changes`: the pipeline-value bridge and the review lists, from a history built through the CLI with
--at and a fixed clock (2026-03-02 12:00 UTC, a Monday). Every number below is worked out by hand in comments."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, date, datetime
from typing import Any

import pytest

from engines import upgraded_from
from tuikanban.domain.errors import ValidationError
from tuikanban.domain.periods import parse_period, parse_when

pytestmark = pytest.mark.engines  # the tests that use a database run on SQLite and on PostgreSQL

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def ok(cli: Any, *args: str) -> str:
    r = cli(*args)
    assert r.code == 0, (args, r.err)
    return str(r.out)


@pytest.fixture
def history(cli: Any, fixed_now: str) -> Any:
    """Nine deals; since = 7d = 2026-02-23 12:00.

    1 Acme     10,000 close 03-20, Lead; -> Proposal 02-24; value 12,000 02-25; close 04-10 02-26 10:00, 05-01 02-28
    2 Globex    5,000 close 03-10; won 02-27
    3 Initech   3,000 close 03-25, created 02-26 09:00
    4 Hooli     8,000; lost 02-10; reopened in Qualified 02-25; value 7,000 02-26 10:00
    5 Umbrella 20,000; value 15,000 02-24; lost 02-28
    6 Stark     4,000 created 02-24, won 02-25
    7 Wayne     6,000 close 04-15; -> Proposal 01-05; back to Qualified 02-27, close 03-31 02-27 (pulled in)
    8 Idle Co   1,000 close 03-15, owner bob, created 02-01, nothing since
    9 Old       9,000 won 01-20 (closed before the period)
    """
    ok(cli, "pipeline", "create", "Sales", "--stages", "Lead,Qualified,Proposal,Negotiation")
    add = ("deal", "add")
    ok(cli, *add, "Acme", "--value", "10k", "--close", "2026-03-20", "--at", "2026-01-10")
    ok(cli, *add, "Globex", "--value", "5k", "--close", "2026-03-10", "--at", "2026-01-15")
    ok(cli, *add, "Initech", "--value", "3k", "--close", "2026-03-25", "--at", "2026-02-26T09:00")
    ok(cli, *add, "Hooli", "--value", "8k", "--at", "2026-01-20")
    ok(cli, *add, "Umbrella", "--value", "20k", "--at", "2026-01-05")
    ok(cli, *add, "Stark", "--value", "4k", "--at", "2026-02-24")
    ok(cli, *add, "Wayne", "--value", "6k", "--close", "2026-04-15", "--at", "2026-01-01")
    ok(cli, *add, "Idle Co", "--value", "1k", "--close", "2026-03-15", "--owner", "bob", "--at", "2026-02-01")
    ok(cli, *add, "Old", "--value", "9k", "--at", "2026-01-02")
    ok(cli, "deal", "won", "9", "--at", "2026-01-20")
    ok(cli, "deal", "move", "7", "Proposal", "--at", "2026-01-05")
    ok(cli, "deal", "lost", "4", "--reason", "Price", "--at", "2026-02-10")
    ok(cli, "deal", "move", "1", "Proposal", "--at", "2026-02-24")
    ok(cli, "deal", "edit", "5", "--value", "15k", "--at", "2026-02-24")
    ok(cli, "deal", "edit", "1", "--value", "12k", "--at", "2026-02-25")
    ok(cli, "deal", "won", "6", "--at", "2026-02-25")
    ok(cli, "deal", "reopen", "4", "Qualified", "--at", "2026-02-25")
    ok(cli, "deal", "edit", "1", "--close", "2026-04-10", "--at", "2026-02-26T10:00")
    ok(cli, "deal", "edit", "4", "--value", "7k", "--at", "2026-02-26T10:00")
    ok(cli, "deal", "won", "2", "--at", "2026-02-27")
    ok(cli, "deal", "move", "7", "Qualified", "--at", "2026-02-27")
    ok(cli, "deal", "edit", "7", "--close", "2026-03-31", "--at", "2026-02-27")
    ok(cli, "deal", "edit", "1", "--close", "2026-05-01", "--at", "2026-02-28")
    ok(cli, "deal", "lost", "5", "--reason", "Price", "--at", "2026-02-28")
    return cli


def changes(cli: Any, *args: str) -> dict[str, Any]:
    return dict(json.loads(ok(cli, "changes", "--json", "--no-mark", *args)))


def buckets(doc: dict[str, Any]) -> dict[str, tuple[Any, list[int]]]:
    return {k: (v["value"], v["deals"]) for k, v in doc["bridge"].items()}


def test_the_bridge_adds_up_and_names_the_deals(history: Any) -> None:
    doc = changes(history, "--since", "7d")
    assert doc["since"] == "2026-02-23T12:00:00+00:00" and doc["until"] == "2026-03-02T12:00:00+00:00"
    # open at 02-23 12:00: 1 (10,000) + 2 (5,000) + 5 (20,000) + 7 (6,000) + 8 (1,000) = 42,000
    assert doc["start_value"] == 42000
    # open now: 1 (12,000) + 3 (3,000) + 4 (7,000) + 7 (6,000) + 8 (1,000) = 29,000
    assert doc["end_value"] == 29000
    assert buckets(doc) == {
        "created": (7000, [3, 6]),  # 3,000 + 4,000 (Stark was created and won inside the period)
        "reopened": (7000, [4]),  # at its value at the end
        "increased": (2000, [1]),  # 10,000 -> 12,000
        "decreased": (5000, [5]),  # 20,000 -> 15,000, then lost
        "won": (9000, [2, 6]),  # 5,000 + 4,000
        "lost": (15000, [5]),
        "deleted": (0, []),
        "pulled_in": (0, []),
        "pushed_out": (0, []),
    }
    # 42,000 + 7,000 + 7,000 + 2,000 - 5,000 - 9,000 - 15,000 = 29,000
    b = doc["bridge"]
    assert (doc["start_value"] + b["created"]["value"] + b["reopened"]["value"] + b["increased"]["value"]
            - b["decreased"]["value"] - b["won"]["value"] - b["lost"]["value"] - b["deleted"]["value"]
            == doc["end_value"])


def test_the_lists(history: Any) -> None:
    doc = changes(history, "--since", "7d")
    assert [(m["id"], m["from_stage"], m["to_stage"], m["direction"], m["moves"]) for m in doc["moved"]] == [
        (1, "Lead", "Proposal", "forward", 1), (7, "Proposal", "Qualified", "back", 1)]
    # Acme's close date was pushed twice (03-20 -> 04-10 -> 05-01); Wayne's was pulled in, which is no push
    assert [(p["id"], p["pushes"], p["close_before"], p["close_after"]) for p in doc["pushed"]] == [
        (1, 2, "2026-03-20", "2026-05-01")]
    assert [(n["id"], n["status"]) for n in doc["new"]] == [(3, "open"), (6, "won")]
    # Idle Co: created 02-01 00:00, nothing since: 29.5 days before now, shown as 29 whole days
    assert [(i["id"], i["idle_days"], i["owner"]) for i in doc["idle"]] == [(8, 29, "bob")]
    # open deals closing between 03-02 and 04-01: Idle Co 03-15, Initech 03-25, Wayne 03-31
    assert [(c["id"], c["expected_close"]) for c in doc["closing_soon"]] == [
        (8, "2026-03-15"), (3, "2026-03-25"), (7, "2026-03-31")]


def test_a_period_in_the_past_is_rebuilt_at_both_ends(history: Any) -> None:
    doc = changes(history, "--since", "2026-02-23T12:00", "--until", "2026-02-26")
    assert doc["start_value"] == 42000
    # at 02-26 00:00: 1 (12,000) + 2 (5,000) + 4 (reopened, still 8,000) + 5 (15,000) + 7 (6,000) + 8 (1,000)
    assert doc["end_value"] == 47000
    assert buckets(doc)["created"] == (4000, [6])
    assert buckets(doc)["reopened"] == (8000, [4])
    assert buckets(doc)["won"] == (4000, [6])
    assert buckets(doc)["lost"] == (0, [])
    # 42,000 + 4,000 + 8,000 + 2,000 - 5,000 - 4,000 = 47,000
    assert buckets(doc)["increased"] == (2000, [1]) and buckets(doc)["decreased"] == (5000, [5])
    assert doc["pushed"] == [] and [m["id"] for m in doc["moved"]] == [1]


def test_closing_period_pulls_in_and_pushes_out(history: Any) -> None:
    doc = changes(history, "--since", "7d", "--closing", "2026-03")
    assert doc["closing"] == {"from": "2026-03-01", "to": "2026-03-31"}
    # open with a March close date at the start: 1 (03-20, 10,000) + 2 (03-10, 5,000) + 8 (03-15, 1,000)
    assert doc["start_value"] == 16000
    # now: 3 (03-25, 3,000) + 7 (pulled in to 03-31, 6,000) + 8 (1,000); Acme moved to May
    assert doc["end_value"] == 10000
    assert buckets(doc) == {
        "created": (3000, [3]), "reopened": (0, []), "pulled_in": (6000, [7]), "increased": (2000, [1]),
        "decreased": (0, []), "won": (5000, [2]), "lost": (0, []), "deleted": (0, []),
        "pushed_out": (12000, [1]),  # leaves at its end value; its 2,000 increase is in `increased`
    }
    # 16,000 + 3,000 + 6,000 + 2,000 - 5,000 - 12,000 = 10,000


def test_owner_filter(history: Any) -> None:
    doc = changes(history, "--since", "7d", "--owner", "BOB")
    assert (doc["start_value"], doc["end_value"], doc["owner"]) == (1000, 1000, "BOB")
    assert all(not v["deals"] for v in doc["bridge"].values())
    r = history("changes", "--since", "7d", "--owner", "nobody")
    assert r.code == 1 and "nobody" in r.err


def test_last_review_is_remembered_per_user(history: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    r = history("changes", "--since", "last-review")
    assert r.code == 1 and "no review recorded" in r.err
    ok(history, "changes", "--since", "7d")  # records now (03-02 12:00) as tester's last review
    ok(history, "changes", "--since", "7d", "--owner", "bob")  # someone else's deals: not recorded
    ok(history, "changes", "--since", "7d", "--until", "2026-03-01")  # a past period: not recorded
    monkeypatch.setenv("TUIKANBAN_NOW", "2026-03-04T09:00:00")
    ok(history, "deal", "move", "3", "Qualified", "--at", "2026-03-03")
    doc = changes(history, "--since", "last-review")
    assert doc["since"] == "2026-03-02T12:00:00+00:00"
    assert [m["id"] for m in doc["moved"]] == [3]
    r = history("--user", "carol", "changes", "--since", "last-review")
    assert r.code == 1  # carol never reviewed


def test_human_table(history: Any) -> None:
    text = ok(history, "changes", "--since", "7d", "--no-mark")
    assert "open at the start" in text and "$42,000" in text and "$29,000" in text
    assert "Lead → Proposal (forward, 1 move)" in text


@pytest.mark.parametrize("bad", ["yesterday-ish", "", "7x", "2026-02-30"])
def test_bad_since(history: Any, bad: str) -> None:
    r = history("changes", "--since", bad)
    assert r.code == 1 and "\n" not in r.err.strip() and "Traceback" not in r.err


def test_parse_when() -> None:
    assert parse_when("7d", now=NOW) == datetime(2026, 2, 23, 12, tzinfo=UTC)
    assert parse_when("2w", now=NOW) == datetime(2026, 2, 16, 12, tzinfo=UTC)
    # 2026-03-02 is a Monday: last-monday is a week before, at 00:00
    assert parse_when("last-monday", now=NOW) == datetime(2026, 2, 23, tzinfo=UTC)
    assert parse_when("last-monday", now=datetime(2026, 3, 4, 8, tzinfo=UTC)) == datetime(2026, 3, 2, tzinfo=UTC)
    assert parse_when("2026-02-01", now=NOW) == datetime(2026, 2, 1, tzinfo=UTC)
    assert parse_when("2026-02-01T10:30+01:00", now=NOW) == datetime(2026, 2, 1, 9, 30, tzinfo=UTC)
    mark = datetime(2026, 2, 27, 8, tzinfo=UTC)
    assert parse_when("last-review", now=NOW, last_review=mark) == mark
    with pytest.raises(ValidationError):
        parse_when("last-review", now=NOW)


def test_parse_period() -> None:
    today = date(2026, 3, 2)
    assert parse_period("this-quarter", today=today) == (date(2026, 1, 1), date(2026, 3, 31))
    assert parse_period("next-quarter", today=today) == (date(2026, 4, 1), date(2026, 6, 30))
    assert parse_period("next-quarter", today=date(2026, 11, 5)) == (date(2027, 1, 1), date(2027, 3, 31))
    assert parse_period("2027-Q1", today=today) == (date(2027, 1, 1), date(2027, 3, 31))
    assert parse_period("2027-q4", today=today) == (date(2027, 10, 1), date(2027, 12, 31))
    assert parse_period("2027-02", today=today) == (date(2027, 2, 1), date(2027, 2, 28))
    assert parse_period("next-month", today=date(2026, 12, 9)) == (date(2027, 1, 1), date(2027, 1, 31))
    for bad in ("2027-13", "Q1", "2027-Q5"):
        with pytest.raises(ValidationError):
            parse_period(bad, today=today)


def test_digest_formats_and_never_records_a_review(history: Any) -> None:
    md = ok(history, "digest", "--format", "markdown")
    assert "| open at the start | $42,000 | |" in md
    assert "| - won | $9,000 | 2, 6 |" in md and "| **open at the end** | **$29,000** | |" in md
    assert "## Close date pushed: 1\n- #1 Acme (tester, Proposal, $12,000): 2 pushes, now 2026-05-01" in md
    assert json.loads(ok(history, "digest", "--format", "json", "--since", "7d")) == changes(history, "--since", "7d")
    assert "open at the start" in ok(history, "digest")
    r = history("changes", "--since", "last-review")
    assert r.code == 1  # the digests above recorded nothing
    r = history("digest", "--format", "html")
    assert r.code == 1 and r.err.strip() == "--format takes text, markdown or json, not 'html'."


def test_states_at_several_moments_in_one_read(history: Any, db: Any) -> None:
    """states_at rewinds a deal once per slice of events and shares the state with the moments before: the same
    states as one read per moment, and hand-checked for Hooli (4) and Initech (3)."""
    from tuikanban.services.changes import states_at

    moments = [datetime(2026, 2, 20, tzinfo=UTC), datetime(2026, 2, 25, 12, tzinfo=UTC),
               datetime(2026, 2, 26, 12, tzinfo=UTC), datetime(2026, 2, 28, 12, tzinfo=UTC)]
    with db.read() as s:
        conn = s.connection()
        together = states_at(conn, 1, moments, "USD")
        alone = [states_at(conn, 1, [m], "USD") for m in moments]
    for i, one in enumerate(alone):
        assert {d: st[0] for d, st in one.items()} == {d: st[i] for d, st in together.items() if d in one}
    # Hooli: lost 02-10, reopened 02-25 00:00, 8,000 -> 7,000 on 02-26 10:00 (value in minor units)
    assert [(x.status, x.value) for x in together[4]] == [("lost", 800_000), ("open", 800_000), ("open", 700_000),
                                                          ("open", 700_000)]
    # Initech: created 02-26 09:00 with 3,000
    assert [(x.status, x.value) for x in together[3]] == [("absent", 300_000), ("absent", 300_000),
                                                          ("open", 300_000), ("open", 300_000)]


# -- without the ORM: the plain-SQL rules of services.review_reads and review_bridge against their SQLAlchemy
# spelling in services.changes (which the backtest uses), the command's imports, the review mark written through
# store.uow, and long lists printed as plain lines


def test_the_plain_sql_rewinds_as_the_sqlalchemy_rules_do(history: Any, db: Any) -> None:
    """Every deal's state at several moments from review_reads' one GROUP BY equals states_at's (services.changes'
    SQLAlchemy expressions): the two spellings of the rewind rules agree. A deal created after the moment has no
    value then (review_reads leaves its value changes out), so only its other fields are compared."""
    from tuikanban.services import review_bridge, review_reads
    from tuikanban.services.changes import states_at
    from tuikanban.store.uow import of_session

    now = datetime(2026, 3, 2, 12, tzinfo=UTC)
    moments = [datetime(2026, 1, 3, tzinfo=UTC), datetime(2026, 2, 20, tzinfo=UTC),
               datetime(2026, 2, 25, 12, tzinfo=UTC), datetime(2026, 2, 26, 9, 30, tzinfo=UTC),
               datetime(2026, 2, 28, 12, tzinfo=UTC)]
    with db.read() as s:
        u = of_session(s)
        for moment in moments:
            expected = states_at(s.connection(), 1, [moment], "USD")
            steady: list[Any] = []  # (the open deals unchanged since: handed on as they are now, not returned)
            rows = review_reads._read_deals(u, 1, [moment], now, steady.append) + steady
            got = {r[0]: review_bridge._rewind(review_bridge._current(r, "USD"), r, review_reads._at(0), "USD")
                   for r in rows}
            assert set(got) <= set(expected)  # (states_at also lists deals with other events only: as they are)
            for deal_id, state in got.items():
                want = expected[deal_id][0]
                assert (state.status, state.close, state.owner, state.stage_id) == (
                    want.status, want.close, want.owner, want.stage_id), (moment, deal_id)
                if state.status != "absent":
                    assert state.value == want.value, (moment, deal_id)
    # hand-checked: at 02-25 12:00 Initech (3, created 02-26) did not exist, Hooli (4) was open again (reopened
    # 02-25) at 8,000.00, Acme (1) was open at 12,000.00 (edited 02-25; values in cents)
    with db.read() as s:
        u = of_session(s)
        steady = []
        rows = {r[0]: r for r in review_reads._read_deals(u, 1, [moments[2]], now, steady.append) + steady}
        at = {i: review_bridge._rewind(review_bridge._current(r, "USD"), r, review_reads._at(0), "USD")
              for i, r in rows.items()}
    assert at[3].status == "absent"
    assert (at[4].status, at[4].value) == ("open", 800000)
    assert (at[1].status, at[1].value) == ("open", 1200000)


def test_the_report_keeps_each_changed_deal_as_columns_of_its_two_states(history: Any, db: Any) -> None:
    """What the report keeps of a changed deal (docs/PERFORMANCE.md, Memory of the screens): `_read_deals` hands
    each row on as it is read and returns none, and `ChangedDeals` (one array per field) gives back the same two
    states `_states` makes from the rows held, the deal's title, its value as shown, its moves and pushes; for two
    moments (the screen's: until a moment before now), one moment (until now), and an owner's deals only."""
    from tuikanban.domain.text import name_key
    from tuikanban.services import review_bridge, review_reads
    from tuikanban.store.uow import of_session

    now = datetime(2026, 3, 2, 12, tzinfo=UTC)
    since, until = datetime(2026, 2, 23, 12, tzinfo=UTC), datetime(2026, 2, 27, tzinfo=UTC)
    for moments, owner in (([since, until], None), ([since], None), ([since, until], "bob"), ([since], "alice")):
        owner_key = None if owner is None else name_key(owner)
        rewound_end = len(moments) == 2
        with db.read() as s:
            u = of_session(s)
            steady: list[Any] = []
            rows = review_reads._read_deals(u, 1, moments, now, steady.append)
            handed: list[Any] = []
            changed = review_bridge.ChangedDeals("USD", owner_key, rewound_end=rewound_end)

            def take(r: Any, changed: Any = changed, handed: list[Any] = handed) -> None:
                handed.append(r)
                changed.add(r)

            assert review_reads._read_deals(u, 1, moments, now, [].append, None, changed=take) == []
        assert handed == rows and len(rows) >= 5, (moments, owner)
        want = review_bridge._states(rows, "USD", owner_key, rewound_end=rewound_end)
        got = {changed.ids[k]: changed.pair(k) for k in range(len(changed))}
        assert got == want, (moments, owner)
        assert owner_key is None or all(name_key(b.owner) == owner_key for _a, b in got.values())
        by_id = {r[0]: r for r in rows}
        for k in range(len(changed)):
            r = by_id[changed.ids[k]]
            assert changed.title[k] == r[review_reads._TITLE]
            assert changed.value_shown(k) == (r[review_reads._VALUE] if r[review_reads._CUR] == "USD" else None)
            assert (changed.moves[k], changed.pushes[k]) == review_bridge._moves_pushes(r)
    # hand-checked (the history above, 02-23 12:00 to 02-27 00:00): Acme (1) moved to Proposal, its close date
    # 04-10 (02-26) and its value 12,000 (02-25) at the end; Stark (6) absent, then won
    with db.read() as s:
        changed = review_bridge.ChangedDeals("USD", None, rewound_end=True)
        review_reads._read_deals(of_session(s), 1, [since, until], now, [].append, None, changed=changed.add)
    k = {changed.ids[k]: k for k in range(len(changed))}
    acme, stark = changed.pair(k[1]), changed.pair(k[6])
    assert (acme[0].stage_id != acme[1].stage_id, acme[1].close, acme[1].value) == (True, date(2026, 4, 10),
                                                                                      1_200_000)
    assert (stark[0].status, stark[1].status, stark[1].value) == ("absent", "won", 400_000)


def test_the_command_imports_neither_the_orm_nor_typer(history: Any, db_target: str) -> None:
    """Nor Rich, with `--json` (its consoles are made when something is printed through them)."""
    code = (
        "import sys\n"
        "from tuikanban.cli import main\n"
        "try:\n"
        "    main(['--db', sys.argv[1], 'changes', '--since', '7d', '--json'])\n"
        "except SystemExit as exc:\n"
        "    assert not exc.code, exc.code\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('sqlalchemy', 'sqlmodel', 'typer', 'rich'))\n"
        "print(heavy, file=sys.stderr)\n"
    )
    r = subprocess.run([sys.executable, "-c", code, db_target], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stderr.strip() == "[]"
    assert json.loads(r.stdout)["end_value"] == 29000  # (test_changes: the bridge worked out by hand)


def test_the_review_mark_written_without_the_orm_is_the_boards(history: Any, db: Any) -> None:
    """`changes` records the mark through store.uow's writer; the ORM's reader (the board, the review screen)
    reads the same moment, and a second review replaces it (one row per user and pipeline)."""
    from tuikanban.services.reviews import last_review

    ok(history, "changes", "--since", "7d")
    assert last_review(db, None, "tester") == datetime(2026, 3, 2, 12, tzinfo=UTC)
    ok(history, "changes", "--since", "7d", "--no-mark")  # (not recorded)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TUIKANBAN_NOW", "2026-03-03T08:15:00")
        ok(history, "changes", "--since", "last-review")
    assert last_review(db, None, "tester") == datetime(2026, 3, 3, 8, 15, tzinfo=UTC)
    with db.read() as s:
        from tuikanban.store.uow import of_session

        assert of_session(s).scalar("SELECT count(*) FROM review_mark") == 1


def test_a_long_list_is_printed_as_plain_lines(history: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Above PLAIN_TABLE_ROWS rows a list is aligned plain text (a Rich table of 25,000 rows takes half a
    minute); the same cells as the table."""
    table = ok(history, "changes", "--since", "7d", "--no-mark")
    monkeypatch.setattr("tuikanban.cli.review_report.PLAIN_TABLE_ROWS", 2)
    monkeypatch.setattr("tuikanban.cli.common.PLAIN_TABLE_ROWS", 2)
    plain = ok(history, "changes", "--since", "7d", "--no-mark")
    assert "Closing in the next 30 days: 3" in plain and "New deals: 2" in plain
    lines = [line.rstrip() for line in plain.splitlines()]
    start = lines.index("Closing in the next 30 days: 3")
    assert lines[start + 1].split() == ["Id", "│", "Title", "│", "Owner", "│", "Stage", "│", "Value", "│", "Close"]
    assert [line.split(" │ ")[0].strip() for line in lines[start + 3:start + 6]] == ["8", "3", "7"]
    assert lines[start + 3].split(" │ ")[-1] == "2026-03-15"
    # the two-row list stays a table, and the bridge is the same either way
    assert table.split("Closing in the next 30 days")[0] == plain.split("Closing in the next 30 days")[0]


def test_the_fast_path_and_the_typer_path_print_the_same(history: Any) -> None:
    """A repeated option goes to Typer (which takes the last value): the same document as the fast path's; a
    value Typer refuses gets the Typer path's sentence. The fast path never changes what the command accepts."""
    fast = changes(history, "--since", "7d", "--pipeline=Sales", "--idle-days", "20")
    typer_doc = changes(history, "--since", "7d", "-p", "Sales", "--idle-days", "5", "--idle-days", "20")
    assert typer_doc == fast and fast["idle_days"] == 20
    r = history("changes", "--since", "7d", "--idle-days", "0x")
    assert r.code == 1 and r.err.strip() == ("Invalid value for '--idle-days': it must be a whole number "
                                             "(see 'tuikanban changes --help').")


# -- the review's three reads (schema 10: the period's events but value changes, each deal's value changes, the
# period's new deals; services.review_reads._read_deals) and the JSON written in one encoder call per list


def test_new_deals_and_value_only_changes_through_the_split_reads(history: Any) -> None:
    """Four more deals, each taking one of the new reads' paths; every number worked out by hand.

    10 Pushy  2,000 close 03-05, created 02-24; close 03-12 (02-25), 03-19 (02-26 10:00); won 02-27: a new deal
              closed now whose pushes and first close date are still read
    11 Quiet  5,000, created 01-10; value 6,000 on 02-26 10:00 and nothing else: an open deal changed only by a
              value edit (its row comes from the value changes alone)
    12 Fresh  1,000, created 02-24 in Lead, moved to Qualified 02-25: a new deal open now, moved
    13 Late     500, created 02-28: after the end of a period in the past, in no part of that review
    """
    add = ("deal", "add")
    ok(history, *add, "Pushy", "--value", "2k", "--close", "2026-03-05", "--at", "2026-02-24")
    ok(history, *add, "Quiet", "--value", "5k", "--at", "2026-01-10")
    ok(history, *add, "Fresh", "--value", "1k", "--at", "2026-02-24")
    ok(history, *add, "Late", "--value", "500", "--at", "2026-02-28")
    ok(history, "deal", "edit", "10", "--close", "2026-03-12", "--at", "2026-02-25")
    ok(history, "deal", "edit", "10", "--close", "2026-03-19", "--at", "2026-02-26T10:00")
    ok(history, "deal", "won", "10", "--at", "2026-02-27")
    ok(history, "deal", "edit", "11", "--value", "6k", "--at", "2026-02-26T10:00")
    ok(history, "deal", "move", "12", "Qualified", "--at", "2026-02-25")

    doc = changes(history, "--since", "7d")
    # start: 42,000 (test_the_bridge_adds_up_and_names_the_deals) + Quiet 5,000
    assert doc["start_value"] == 47000
    # end: 29,000 + Quiet 6,000 + Fresh 1,000 + Late 500
    assert doc["end_value"] == 36500
    assert buckets(doc) == {
        "created": (10500, [3, 6, 10, 12, 13]),  # 3,000 + 4,000 + 2,000 + 1,000 + 500
        "reopened": (7000, [4]),
        "increased": (3000, [1, 11]),  # Acme 10,000 -> 12,000, Quiet 5,000 -> 6,000
        "decreased": (5000, [5]),
        "won": (11000, [2, 6, 10]),  # 5,000 + 4,000 + 2,000
        "lost": (15000, [5]),
        "deleted": (0, []),
        "pulled_in": (0, []),
        "pushed_out": (0, []),
    }
    # 47,000 + 10,500 + 7,000 + 3,000 - 5,000 - 11,000 - 15,000 = 36,500
    assert [(m["id"], m["from_stage"], m["to_stage"], m["direction"], m["moves"]) for m in doc["moved"]] == [
        (1, "Lead", "Proposal", "forward", 1), (12, "Lead", "Qualified", "forward", 1),
        (7, "Proposal", "Qualified", "back", 1)]
    assert [(p["id"], p["pushes"], p["close_before"], p["close_after"]) for p in doc["pushed"]] == [
        (1, 2, "2026-03-20", "2026-05-01"), (10, 2, "2026-03-05", "2026-03-19")]
    assert [(n["id"], n["status"]) for n in doc["new"]] == [(3, "open"), (6, "won"), (10, "won"), (12, "open"),
                                                            (13, "open")]

    past = changes(history, "--since", "2026-02-23T12:00", "--until", "2026-02-26")
    assert past["start_value"] == 47000
    # at 02-26 00:00: 47,000 (test_a_period_in_the_past_is_rebuilt_at_both_ends) + Quiet 5,000 (edited later)
    # + Pushy 2,000 + Fresh 1,000; Late did not exist yet
    assert past["end_value"] == 55000
    assert buckets(past)["created"] == (7000, [6, 10, 12])
    assert buckets(past)["increased"] == (2000, [1])
    assert [m["id"] for m in past["moved"]] == [1, 12]
    # Pushy's first push only (the second is after the end)
    assert [(p["id"], p["pushes"], p["close_before"], p["close_after"]) for p in past["pushed"]] == [
        (10, 1, "2026-03-05", "2026-03-12")]
    assert 13 not in {x["id"] for key in ("new", "moved", "pushed", "idle", "closing_soon") for x in past[key]}


def test_schema_9_is_upgraded_with_the_review_indexes_and_the_same_review(history: Any, db_target: str) -> None:
    """A board at schema 9 (the three indexes dropped, the version set back) gets them when opened, on either
    engine, and its review is the same document."""
    before = changes(history, "--since", "7d")
    upgraded_from(db_target, 9, ["ix_event_review_slim", "ix_event_value", "ix_event_create"]).close()
    assert changes(history, "--since", "7d") == before


def test_the_review_json_is_the_indented_dump_byte_for_byte() -> None:
    """The lists of deals written in one encoder call each (cli.review_report.document_text) give the bytes of
    json.dumps(indent=2), also with text holding the control characters the encoder's separators use."""
    from tuikanban.cli.common import dumps
    from tuikanban.cli.review_report import document_text

    doc = {
        "pipeline": "Sales", "closing": None, "start_value": 1.5,
        "bridge": {"created": {"value": 0, "deals": [1, 2]}, "won": {"value": 0, "deals": []}},
        "new": [{"id": 1, "title": "a},\x01{\"b\x02", "owner": "é\u202e", "value": None, "status": "open"},
                {"id": 2, "title": "}, {", "owner": "", "value": 12.25, "status": "won"}],
        "moved": [], "pushed": [{"id": 3, "pushes": 2, "close_before": None}], "idle_days": 14,
    }
    assert document_text(doc) == dumps(doc) == json.dumps(doc, ensure_ascii=False, indent=2, default=str)


def test_the_review_json_written_by_column_is_the_indented_dump_byte_for_byte() -> None:
    """`changes --json` writes its lists of deals from the report's lines column by column
    (cli.review_report.changes_text): the bytes of json.dumps(changes_json(report), indent=2), with hostile text,
    amounts that are not whole, none and other currencies' (null), dates and times, and a list whose lines carry
    different details (written the other way)."""
    from tuikanban.cli.common import dumps
    from tuikanban.cli.review_report import changes_text
    from tuikanban.domain.models import PipelineInfo
    from tuikanban.services.review_core import Bucket, ChangesReport, DealLine, changes_json

    hostile = ("a},\x01{\"b\x02", "}, {", "é\u202e\\", "%s %(x)s", "tab\there\nnewline", "\x7f\x1b[31m", "")
    at = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
    report = ChangesReport(
        pipeline=PipelineInfo(1, "Sales \"%s\"", "EUR", None, 14, (), True), since=at, until=NOW, owner=None,
        closing=(date(2026, 1, 1), date(2026, 3, 31)), idle_days=14, start_value_minor=150, end_value_minor=1225,
        bridge={"created": Bucket(1075, (1, 2)), "won": Bucket(0, ())},
        new=tuple(DealLine(i, t, hostile[-1 - i], hostile[i // 2], (None, 1225, 100, 7)[i % 4], {"status": "won"})
                  for i, t in enumerate(hostile)),
        moved=(DealLine(3, "m", "o", "s", 5, {"from_stage": "a", "to_stage": "%d", "moves": 2, "direction": "back"}),),
        pushed=(DealLine(4, hostile[0], "o", "s", None, {"pushes": 2, "close_before": None,
                                                           "close_after": date(2026, 4, 1)}),
                DealLine(5, "p", "o", "s", 99, {"pushes": 1, "close_before": date(2026, 3, 5),
                                                "close_after": date(2026, 3, 6)})),
        idle=(DealLine(6, "i", "o", "s", 300, {"idle_days": None, "last_touch": None}),
              DealLine(7, "j", "o", "s", 0, {"idle_days": 20, "last_touch": at})),
        closing_soon=(DealLine(8, "c", "o", "s", 1, {"expected_close": date(2026, 3, 20)}),
                      DealLine(9, "d", "o", "s", 2, {"other": True, "expected_close": date(2026, 3, 21)})),
    )
    assert changes_text(report) == dumps(changes_json(report)) == json.dumps(
        changes_json(report), ensure_ascii=False, indent=2, default=str)
    empty = ChangesReport(**{**{k: getattr(report, k) for k in ChangesReport.__dataclass_fields__},
                             "new": (), "moved": (), "pushed": (), "idle": (), "closing_soon": ()})
    assert changes_text(empty) == dumps(changes_json(empty))


def test_a_deals_last_touch_is_its_later_event_or_activity_up_to_the_end(history: Any, db: Any) -> None:
    """The idle list's last touch (`review_idle.last_touches`): the later of the deal's last event and its last
    activity, each up to the end of the period; a deal without activities has its last event.

    8 Idle Co: created 02-01, a call 02-20 08:30            -> 02-20 08:30 (the activity is later)
    7 Wayne:   events 01-01, 01-05, 02-27 (move, close), a note 02-03 10:00
               -> 02-27 00:00 at the end; 02-03 10:00 with the end 02-25 12:00 (the 02-27 events are after it)
    9 Old:     created 01-02, won 01-20, no activity    -> 01-20 00:00 (at either end)"""
    from tuikanban.services.activities import add_activity
    from tuikanban.services.review_idle import last_touches
    from tuikanban.store.uow import of_session

    add_activity(db, 8, "call", "Checked in", user="alice", at="2026-02-20T08:30")
    add_activity(db, 7, "note", "An old note", user="alice", at="2026-02-03T10:00")
    with db.read() as s:
        now = last_touches(of_session(s), [7, 8, 9], NOW)
        earlier = last_touches(of_session(s), [7, 8, 9], datetime(2026, 2, 25, 12, 0, tzinfo=UTC))
    assert now == {8: datetime(2026, 2, 20, 8, 30, tzinfo=UTC), 7: datetime(2026, 2, 27, tzinfo=UTC),
                   9: datetime(2026, 1, 20, tzinfo=UTC)}
    assert earlier == {8: datetime(2026, 2, 20, 8, 30, tzinfo=UTC), 7: datetime(2026, 2, 3, 10, 0, tzinfo=UTC),
                       9: datetime(2026, 1, 20, tzinfo=UTC)}
    idle = {d["id"]: d["last_touch"] for d in changes(history, "--since", "7d", "--idle-days", "3")["idle"]}
    assert idle[8] == "2026-02-20T08:30:00+00:00" and idle[7] == "2026-02-27T00:00:00+00:00"
