"""The review's reads beside each other (store.twin: a second SQLite connection on the same snapshot, reads on a
thread) and `changes`' report started as the command starts (cli.review_early): the same report as one
connection read in order, a write that lands between the two connections' starts leaves one connection, and
nothing runs beside when no core is free or on PostgreSQL (one connection there)."""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from test_changes import history, ok  # noqa: F401 - history is the fixture of test_changes (worked out by hand)
from tuikanban.cli.target import read_plain
from tuikanban.services.review_core import changes_json
from tuikanban.store import twin

pytestmark = pytest.mark.engines


def _machine(monkeypatch: pytest.MonkeyPatch, *, load: float) -> None:
    """A 2-core machine at this load (what `store.twin.second_core_free` reads)."""
    monkeypatch.setattr(os, "getloadavg", lambda: (load, load, load))
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: {0, 1}, raising=False)


def _review(db_target: str, since: str, until: str | None = None, **kw: Any) -> dict[str, Any]:
    from tuikanban.cli.review_early import report_in

    report = read_plain(db_target, lambda u: report_in(u, "tester", None, since, until, kw.get("owner"), None, 14),
                        twin=True)
    assert report is not None
    return changes_json(report)


@pytest.fixture
def beside(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Whether each review's reads ran beside each other (`Beside.parallel`), in order."""
    seen: list[bool] = []
    real = twin.Beside.__enter__

    def spy(self: twin.Beside) -> twin.Beside:
        seen.append(self.parallel)
        return real(self)

    monkeypatch.setattr(twin.Beside, "__enter__", spy)
    return seen


@pytest.mark.parametrize("ask", [{"since": "7d"}, {"since": "30d", "owner": "bob"},
                                 {"since": "2026-02-20", "until": "2026-02-27"}])
def test_the_reads_beside_each_other_give_the_report_of_one_connection(
        history: Any, db_target: str, engine: str, beside: list[bool], monkeypatch: pytest.MonkeyPatch,  # noqa: F811
        ask: dict[str, str]) -> None:
    """The new deals' rows and every open deal's last touch read on the second connection (SQLite, a core free):
    the same document as on one connection (the load too high for a second); PostgreSQL reads on one."""
    _machine(monkeypatch, load=3.0)
    alone = _review(db_target, **ask)
    _machine(monkeypatch, load=0.2)
    assert _review(db_target, **ask) == alone
    assert beside == [False, engine == "sqlite"]
    if ask["since"] == "7d":  # (test_changes: the new deals and the idle list, worked out by hand)
        assert [d["id"] for d in alone["new"]] == [3, 6] and [d["id"] for d in alone["idle"]] == [8]


@contextmanager
def _write_between(monkeypatch: pytest.MonkeyPatch, path: str) -> Iterator[None]:
    """A deal renamed (and committed) right after the first connection's snapshot started, before the second's,
    while another process has the board open (its write-ahead log in use: a file nobody has open is read as it
    is, `store.fastread.connect`, where a write needs a log first)."""
    real = twin._begin
    calls: list[sqlite3.Connection] = []
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("SELECT count(*) FROM deal").fetchone()  # (the log and its index are there now)

    def begin(con: sqlite3.Connection) -> None:
        real(con)
        calls.append(con)
        if len(calls) == 1:
            writer.execute("UPDATE deal SET title = 'Renamed' WHERE id = 8")

    monkeypatch.setattr(twin, "_begin", begin)
    try:
        yield
    finally:
        writer.close()
    assert len(calls) == 2  # (both connections started, the write between them)


@pytest.mark.sqlite_only
def test_a_write_between_the_two_starts_leaves_one_connection(history: Any, db_target: str,  # noqa: F811
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    from tuikanban.store import fastread

    with _write_between(monkeypatch, db_target):
        con = fastread.connect(Path(db_target))
        assert con is not None
        with twin.paired_snapshot(con, lambda: fastread.connect(Path(db_target))) as second:
            assert second is None
            assert con.execute("SELECT title FROM deal WHERE id = 8").fetchone()[0] == "Idle Co"  # before it
        con.close()


@pytest.mark.sqlite_only
def test_the_two_connections_read_one_snapshot(history: Any, db_target: str) -> None:  # noqa: F811
    """Without a write between the starts there is a second connection, and a commit after them is seen by
    neither."""
    from tuikanban.store import fastread

    writer = sqlite3.connect(db_target, isolation_level=None)
    writer.execute("SELECT count(*) FROM deal").fetchone()  # (another process has the board open)
    con = fastread.connect(Path(db_target))
    assert con is not None
    with twin.paired_snapshot(con, lambda: fastread.connect(Path(db_target))) as second:
        assert second is not None
        writer.execute("UPDATE deal SET title = 'Renamed' WHERE id = 8")
        for c in (con, second):
            assert c.execute("SELECT title FROM deal WHERE id = 8").fetchone()[0] == "Idle Co"
    con.close()
    writer.close()


@pytest.mark.sqlite_only
def test_the_review_after_a_write_between_reads_the_first_snapshot_alone(
        history: Any, db_target: str, beside: list[bool], monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    _machine(monkeypatch, load=0.2)
    before = _review(db_target, "7d")
    with _write_between(monkeypatch, db_target):
        got = _review(db_target, "7d")
    assert got == before and beside == [True, False]
    assert "Renamed" not in json.dumps(got)
    assert "Renamed" in json.dumps(_review(db_target, "7d"))  # (the write is there for the next review)


def test_changes_started_early_prints_what_it_prints_read_late(history: Any, engine: str,  # noqa: F811
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """`changes` reads its report on a thread while the output's modules are imported (a core free), and claims
    it: the same bytes as read in turn (no core free), with --json, as a table and for a mistake."""
    from tuikanban.cli import review_early

    claimed: list[bool | str] = []
    real = review_early.claim

    def spy(key: Any) -> Any:
        try:
            got = real(key)
        except Exception:
            claimed.append("raised")
            raise
        claimed.append(got is not None)
        return got

    monkeypatch.setattr(review_early, "claim", spy)
    asks = (("--since", "7d", "--json"), ("--since", "7d"), ("--since", "30d", "--owner", "bob", "--json"),
            ("--since", "7d", "-p", "Nope"))
    outputs = {}
    for load in (3.0, 0.2):
        _machine(monkeypatch, load=load)
        outputs[load] = [(r.code, r.out, r.err) for r in (history("changes", "--no-mark", *a) for a in asks)]
    assert outputs[0.2] == outputs[3.0]
    assert outputs[0.2][3] == (1, "", "There is no pipeline named 'Nope' (pipelines: Sales).\n")
    assert json.loads(outputs[0.2][0][1])["end_value"] == 29000  # (test_changes: the bridge worked out by hand)
    assert claimed == [False, False, False, False, True, True, True, "raised"]


def test_rows_at_once_are_the_rows_read_one_by_one() -> None:
    """One JSON array from SQLite (one step of the engine) holds the same values as the rows read one by one:
    hostile text, NULLs, large and negative integers, and a GROUP BY inside."""
    from tuikanban.store.uow import Unit

    con = sqlite3.connect(":memory:")
    con.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, title TEXT, value INTEGER, day TEXT)")
    texts = ['"quoted" \\ back', "line\nbreak\ttab", "\u2028\u202e\x1b[31mred", "emoji \U0001f600 é", "", None]
    con.executemany("INSERT INTO t (title, value, day) VALUES (?, ?, ?)",
                    [(t, v, d) for t, v, d in zip(texts, (2**62, -(2**40), 0, None, 7, 1),
                                                  ("2026-03-01", None, "2026-03-02", "x", "", None), strict=True)])
    u = Unit(con, postgres=False)
    for columns, tail, params in ((["id", "title", "value", "day"], "FROM t WHERE id > ? ORDER BY id", (0,)),
                                  (["value IS NULL", "count(*)", "max(title)"], "FROM t GROUP BY value IS NULL", ())):
        plain = [list(r) for r in con.execute(f"SELECT {', '.join(columns)} {tail}", params)]
        assert [list(r) for r in twin.rows_at_once(u, columns, tail, params)] == plain
        assert len(plain) > 1
    con.close()


@pytest.mark.sqlite_only
def test_the_reviews_connections_read_the_file_through_memory_mapping(history: Any, db_target: str,  # noqa: F811
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """The review's read (`twin=True`) maps the file on its connection and on the second one (a core free);
    another plain read keeps SQLite's default (no mapping)."""
    _machine(monkeypatch, load=0.2)

    def sizes(u: Any) -> list[int]:
        units = [u] if u.twin is None else [u, u.twin]
        return [int(x.scalar("PRAGMA mmap_size")) for x in units]

    assert read_plain(db_target, sizes, twin=True) == [twin.READ_MMAP_BYTES, twin.READ_MMAP_BYTES]
    _machine(monkeypatch, load=3.0)
    assert read_plain(db_target, sizes, twin=True) == [twin.READ_MMAP_BYTES]
    assert read_plain(db_target, sizes) == [0]


def test_the_idle_list_reads_every_open_deals_last_touch_at_once_on_one_connection(
        history: Any, db_target: str, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    """No core free (one connection): the idle list's last touches are one read of the pipeline's open deals
    (`review_idle.open_touches`), not one read per 500 listed deals; with an owner, only the owner's deals are
    read. The same list either way (test_changes: deal 8 alone is idle since 7 days)."""
    from tuikanban.services import review_core, review_idle

    _machine(monkeypatch, load=3.0)
    reads: list[str] = []
    real_open, real_listed = review_idle.open_touches, review_idle._touches

    def spy_open(*args: Any) -> Any:
        reads.append("open")
        return real_open(*args)

    def spy_listed(*args: Any) -> Any:
        reads.append("listed")
        return real_listed(*args)

    monkeypatch.setattr(review_core, "open_touches", spy_open)
    monkeypatch.setattr(review_idle, "_touches", spy_listed)
    assert [d["id"] for d in _review(db_target, "7d")["idle"]] == [8]
    assert reads == ["open"]
    reads.clear()
    assert [d["id"] for d in _review(db_target, "7d", owner="bob")["idle"]] == [8]
    assert reads == ["listed"]
