"""`deal list` review filters and sorts, and the filter terms `closing:<30d` / `idle:>14d`; clock fixed at
2026-03-02 12:00 UTC, history built through the CLI with --at."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

import pytest

from tuikanban.domain.filters import DealFilter, closes_within, is_idle, parse_filter

pytestmark = pytest.mark.engines  # the tests that use a database run on SQLite and on PostgreSQL


def ok(cli: Any, *args: str) -> str:
    r = cli(*args)
    assert r.code == 0, (args, r.err)
    return str(r.out)


@pytest.fixture
def board(cli: Any, fixed_now: str) -> Any:
    ok(cli, "pipeline", "create", "Sales", "--stages", "Lead,Proposal", "--types", "Renewal")
    ok(cli, "deal", "add", "A", "--value", "5k", "--owner", "alice", "--close", "2026-03-10", "--at", "2026-02-01")
    ok(cli, "deal", "add", "B", "--value", "20k", "--owner", "bob", "--close", "2026-04-15", "--at", "2026-02-20")
    ok(cli, "deal", "add", "C", "--value", "1k", "--owner", "alice", "--type", "renewal", "--close", "2026-03-30",
       "--at", "2026-02-27")
    ok(cli, "deal", "add", "D", "--value", "8k", "--owner", "Alice", "--at", "2026-01-15")
    ok(cli, "deal", "add", "E", "--value", "2k", "--owner", "bob", "--at", "2026-01-10")
    ok(cli, "deal", "won", "5", "--at", "2026-01-20")
    ok(cli, "deal", "move", "2", "Proposal", "--at", "2026-02-25")
    ok(cli, "deal", "edit", "4", "--value", "9k", "--at", "2026-02-28")
    return cli


def ids(cli: Any, *args: str) -> list[int]:
    return [d["id"] for d in json.loads(ok(cli, "deal", "list", "--json", *args))["deals"]]


def test_filters_and_sorts(board: Any) -> None:
    assert ids(board, "--owner", "ALICE", "--sort", "value") == [4, 1, 3]  # 9,000 > 5,000 > 1,000
    # closing from 03-02 to 04-01: A (03-10) and C (03-30); B closes 04-15, D has no date
    assert ids(board, "--closing-within", "30", "--sort", "close") == [1, 3]
    # no event or activity since 02-16 12:00: only A (created 02-01); D was edited 02-28, B moved 02-25
    assert ids(board, "--idle-days", "14") == [1]
    assert ids(board, "--created-since", "2026-02-15", "--sort", "created") == [3, 2]  # newest first
    assert ids(board, "--stage", "proposal") == [2]
    assert ids(board, "--type", "Renewal") == [3]
    # longest in its stage first: D (01-15), A (02-01), B (Proposal since 02-25), C (02-27)
    assert ids(board, "--sort", "age") == [4, 1, 2, 3]
    assert ids(board, "--sort", "age", "--limit", "2") == [4, 1]
    assert sorted(ids(board, "--status", "all", "--owner", "bob")) == [2, 5]


def test_bad_options(board: Any) -> None:
    for args in (("--sort", "size"), ("--limit", "0"), ("--created-since", "soon"), ("--stage", "Nowhere")):
        r = board("deal", "list", *args)
        assert r.code == 1 and r.err.strip().count("\n") == 0 and "Traceback" not in r.err, args


def test_filter_terms() -> None:
    f = parse_filter('acme closing:<30d idle:>14d owner:bob type:"new business"')
    assert (f.text, f.owner, f.type_name, f.closing_within, f.idle_over) == ("acme", "bob", "new business", 30, 14)
    assert f.active and f.describe() == '"acme" owner:bob type:new business closing:<30d idle:>14d'
    assert parse_filter("closing:soon").text == "closing:soon"  # not a term: free text, as before
    assert parse_filter("acme owner:al") == DealFilter("acme", "al", "")
    now = datetime(2026, 3, 2, 12, tzinfo=UTC)
    assert closes_within(date(2026, 4, 1), now.date(), 30) and not closes_within(date(2026, 4, 2), now.date(), 30)
    assert not closes_within(date(2026, 3, 1), now.date(), 30)  # overdue is not "closing"
    assert is_idle(datetime(2026, 2, 16, 12, tzinfo=UTC), now, 14)
    assert not is_idle(datetime(2026, 2, 16, 12, 1, tzinfo=UTC), now, 14)
    assert is_idle(None, now, 14)
    g = DealFilter(closing_within=30)
    assert g.matches_review(date(2026, 3, 20), None, now) and not g.matches_review(None, None, now)
