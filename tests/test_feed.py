"""The change feed (store.feed) on both engines: a commit on one connection is seen by a feed on another within a
second; on PostgreSQL the feed names the pipeline and comes back after a dropped connection."""

from __future__ import annotations

import time
from typing import Any

import pytest

from engines import rows
from tuikanban.services.deals import create_deal, move_deal
from tuikanban.services.pipelines import create_pipeline
from tuikanban.store.engine import Database, open_database
from tuikanban.store.feed import Change, PostgresFeed, SqliteFeed, open_feed

pytestmark = pytest.mark.engines


def _wait_for_change(feed: object, seconds: float = 1.0) -> tuple[Change | None, float]:
    start = time.monotonic()
    change = feed.wait(seconds)  # type: ignore[attr-defined]
    return change, time.monotonic() - start


def test_a_commit_elsewhere_is_seen_within_a_second(db: Database, db_target: str, engine: str) -> None:
    sales = create_pipeline(db, "Sales", "Lead,Won")
    other = open_database(db_target)  # another connection (another rep)
    feed = open_feed(db_target)
    try:
        assert isinstance(feed, SqliteFeed if engine == "sqlite" else PostgresFeed)
        assert feed.wait(0.05) is None  # nothing committed since the feed opened
        create_deal(other, "Sales", "Acme", user="rep2")
        change, took = _wait_for_change(feed)
        assert change is not None and took < 1.0
        assert change.touches(sales.id)
        if engine == "postgresql":
            assert change.pipeline_ids == frozenset({sales.id})  # NOTIFY carries the pipeline id
        else:
            assert change.pipeline_ids is None  # data_version cannot tell which
        assert feed.wait(0.05) is None  # one commit, reported once
    finally:
        feed.close()
        other.close()


def test_version_grows_with_each_commit(db: Database, db_target: str) -> None:
    create_pipeline(db, "Sales", "Lead,Won")
    feed = open_feed(db_target)
    try:
        first = feed.version()
        deal = create_deal(db, "Sales", "Acme", user="rep")
        deadline = time.monotonic() + 1.0
        while feed.version() == first and time.monotonic() < deadline:
            time.sleep(0.01)
        second = feed.version()
        assert second == first + 1
        move_deal(db, deal.id, "Won", user="rep")
        deadline = time.monotonic() + 1.0
        while feed.version() == second and time.monotonic() < deadline:
            time.sleep(0.01)
        assert feed.version() == second + 1
    finally:
        feed.close()


@pytest.mark.postgres_only
def test_other_pipelines_are_named_apart(db: Database, db_target: str) -> None:
    create_pipeline(db, "Sales", "Lead,Won")
    renewals = create_pipeline(db, "Renewals", "Open,Done")
    feed = open_feed(db_target)
    try:
        create_deal(db, "Renewals", "Acme renewal", user="rep")
        change, _took = _wait_for_change(feed)
        assert change is not None and change.pipeline_ids == frozenset({renewals.id})
    finally:
        feed.close()


@pytest.mark.postgres_only
def test_presence_comes_and_goes_by_notify_but_heartbeats_wake_nobody(db: Database, db_target: str) -> None:
    from tuikanban.services import presence

    sales = create_pipeline(db, "Sales", "Lead,Won")
    feed = open_feed(db_target)
    try:
        seat = presence.join(db, "bob")
        change, took = _wait_for_change(feed)
        assert change is not None and took < 1.0
        assert change.presence and change.pipeline_ids == frozenset()  # no pipeline changed
        assert not change.touches(sales.id)
        presence.heartbeat(seat)
        assert feed.wait(0.3) is None
        presence.viewing(seat, 1)
        change, _took = _wait_for_change(feed)
        assert change is not None and change.presence
        presence.leave(seat)
        change, _took = _wait_for_change(feed)
        assert change is not None and change.presence
        create_deal(db, "Sales", "Acme", user="rep")
        change, _took = _wait_for_change(feed)
        assert change is not None and not change.presence and change.pipeline_ids == frozenset({sales.id})
    finally:
        feed.close()


@pytest.mark.postgres_only
def test_the_postgres_feed_reconnects_and_asks_for_a_recheck(db: Database, db_target: str) -> None:
    sales = create_pipeline(db, "Sales", "Lead,Won")
    feed = open_feed(db_target)
    try:
        killed = rows(db_target, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                 "WHERE application_name = 'tuikanban-feed' AND pid <> pg_backend_pid() "
                                 "AND datname = current_database()")  # (not the feeds of tests in other workers)
        assert killed and all(r[0] for r in killed)
        create_deal(db, "Sales", "Sent while the feed was away", user="rep")
        # the drop is noticed (None), then the feed reconnects and reports "anything may have changed"
        seen: list[Change | None] = [feed.wait(0.5) for _ in range(3)]
        assert Change(None) in seen
        create_deal(db, "Sales", "Sent after the reconnect", user="rep")
        change, took = _wait_for_change(feed)
        assert change == Change(frozenset({sales.id})) and took < 1.0
    finally:
        feed.close()


def test_heartbeats_wake_nobody_and_presence_comes_apart(db: Database, db_target: str, engine: str) -> None:
    """On both engines: a heartbeat (it moves `seen` only) is not reported; someone joining, opening a deal or
    leaving is reported as presence alone (no pipeline), a deal's change as its pipeline's."""
    from tuikanban.services import presence

    sales = create_pipeline(db, "Sales", "Lead,Won")
    feed = open_feed(db_target)
    try:
        seat = presence.join(db, "bob")
        change, took = _wait_for_change(feed)
        assert change == Change(frozenset(), presence=True) and took < 1.0
        assert not change.touches(sales.id)
        for _ in range(3):
            presence.heartbeat(seat)
        assert feed.wait(0.3) is None
        presence.viewing(seat, 1)
        change, _took = _wait_for_change(feed)
        assert change == Change(frozenset(), presence=True)
        presence.leave(seat)
        change, _took = _wait_for_change(feed)
        assert change == Change(frozenset(), presence=True)
        create_deal(db, "Sales", "Acme", user="rep")
        change, _took = _wait_for_change(feed)
        assert change is not None and not change.presence and change.touches(sales.id)
    finally:
        feed.close()


@pytest.mark.sqlite_only
def test_an_idle_sqlite_feed_sleeps_until_the_file_is_written(db: Database, db_target: str,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """The SQLite feed looks at `data_version` once per wait and otherwise sleeps in inotify until the file or its
    log is written (polled every 50 ms, an idle board woke 20 times a second); without inotify it polls."""
    import sys

    from tuikanban.store import feed as feed_module

    if not sys.platform.startswith("linux"):
        pytest.skip("inotify is Linux's")
    create_pipeline(db, "Sales", "Lead,Won")
    for watched in (True, False):
        if not watched:
            monkeypatch.setattr(feed_module._FileWatch, "open", classmethod(lambda cls, path: None))
        feed = open_feed(db_target)
        looks: list[int] = []

        def counted(real: Any = feed._data_version, looks: list[int] = looks) -> int:  # type: ignore[attr-defined]
            looks.append(1)
            return int(real())

        feed._data_version = counted  # type: ignore[attr-defined]
        try:
            assert feed.wait(0.5) is None
            assert (len(looks) == 1) if watched else (len(looks) >= 5)
            other = open_database(db_target)
            try:
                create_deal(other, "Sales", f"Acme {watched}", user="rep2")
                start = time.monotonic()  # (committed: woken at once, not at the end of the wait)
                change = feed.wait(1.0)
                assert change == Change(None) and time.monotonic() - start < 0.5
            finally:
                other.close()
        finally:
            feed.close()
