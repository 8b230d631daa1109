"""The metrics read without the ORM (services.metrics_plain, what the metrics screen runs) gives exactly the report
of the ORM's Core read (services.metrics.compute_metrics, what `metrics` prints): before the database is open (a
driver connection of its own) and after (the ORM session's connection). On both engines, on a rich history: wins
and losses inside and outside the window, a reopened deal, an undone move, a deal without a value, one in another
currency, a deleted deal with stays, an archived stage, owners spelled two ways, wins on the edges of a day."""

from __future__ import annotations

from dataclasses import asdict

import pytest

from tuikanban.domain.errors import NotFoundError, ValidationError
from tuikanban.services import deals as ds
from tuikanban.services import pipelines as ps
from tuikanban.services.lifecycle import delete_deal, snooze_deal
from tuikanban.services.metrics import compute_metrics, metrics_json
from tuikanban.services.metrics_plain import metrics_in, pipelines
from tuikanban.store import screenreads
from tuikanban.store.engine import Database
from tuikanban.store.uow import of_session

pytestmark = pytest.mark.engines  # on SQLite and on PostgreSQL


@pytest.fixture
def history(db: Database, fixed_now: str) -> dict[str, int]:
    """Now is 2026-03-02 12:00 UTC (fixed_now)."""
    p = ps.create_pipeline(db, "Sales", ["Lead", "Qualified", "Proposal", "Old"], types=["New", "Renewal"],
                           target="90k")
    ps.set_stage(db, p.id, "Proposal", probability=60)
    ps.set_stage(db, p.id, "Qualified", probability=25)
    made = {}

    def deal(name: str, at: str, **kw: object) -> int:
        made[name] = ds.create_deal(db, p.id, name, user="alice", at=at, **kw).id  # type: ignore[arg-type]
        return made[name]

    a = deal("A", "2025-11-20T08:00:00", value="12500.50", owner="ann", dtype="New")
    ds.move_deal(db, a, "Qualified", user="alice", at="2025-12-01T09:30:00")
    ds.move_deal(db, a, "Proposal", user="alice", at="2026-01-15T10:00:00")
    ds.win_deal(db, a, user="alice", at="2026-02-20T17:45:30")
    b = deal("B", "2026-01-03T09:00:00", value="4999.99", owner="Ann", dtype="Renewal")
    ds.move_deal(db, b, "Qualified", user="alice", at="2026-01-10T09:00:00")
    ds.lose_deal(db, b, "Price", user="alice", at="2026-02-01T12:00:00")
    c = deal("C", "2025-06-01T09:00:00", value="700", owner="bob")
    ds.win_deal(db, c, user="bob", at="2025-09-01T09:00:00")  # outside a 90-day window, inside 365
    d = deal("D", "2026-02-10T09:00:00", owner="bob")  # no value
    ds.move_deal(db, d, "Proposal", user="bob", at="2026-02-11T09:00:00")
    ds.win_deal(db, d, user="bob", at="2026-02-24T00:00:00")  # 00:00:00 of the last week's first date
    e = deal("E", "2026-02-01T09:00:00", value="3000", owner="carol", dtype="New")
    ds.move_deal(db, e, "Qualified", user="carol", at="2026-02-02T09:00:00")
    ds.undo_last(db, p.id, user="carol")  # that move, undone
    ds.lose_deal(db, e, "Budget", user="carol", at="2026-02-05T09:00:00")
    ds.reopen_deal(db, e, "Lead", user="carol", at="2026-02-06T09:00:00")
    ds.move_deal(db, e, "Proposal", user="carol", at="2026-02-09T09:00:00")
    f = deal("F", "2026-01-20T09:00:00", value="20000", owner="carol", dtype="Renewal", stage="Proposal")
    ds.win_deal(db, f, user="carol", at="2026-03-01T23:59:59")  # yesterday's last second
    g = deal("G", "2026-02-15T09:00:00", value="800", owner="dave")
    ds.move_deal(db, g, "Qualified", user="dave", at="2026-02-16T09:00:00")
    delete_deal(db, g, user="dave")  # its stays leave every figure
    h = deal("H", "2026-02-20T09:00:00", value="1500", owner="ann", stage="Old")
    ds.move_deal(db, h, "Lead", user="alice", at="2026-02-22T09:00:00")
    ps.archive_stage(db, p.id, "Old")  # a stay ended in an archived stage
    i = deal("I", "2026-02-25T09:00:00", value="2500", owner="erin")
    snooze_deal(db, i, "2026-04-01", user="erin")  # snoozed: still open in the metrics
    j = deal("J", "2026-02-26T09:00:00", value="900", owner="erin")
    k = deal("K", "2026-01-05T09:00:00", value="5000", owner="erin")
    ds.lose_deal(db, k, "Timing", user="erin", at="2026-02-27T09:00:00")
    other = ps.create_pipeline(db, "Other", ["One", "Two"])
    ds.create_deal(db, other.id, "Elsewhere", user="erin", owner="ann", value="50", at="2026-02-03T12:00:00")

    def plant(s: object) -> None:  # a deal valued in another currency and a loss without a reason (an import can
        u = of_session(s)  # bring both)
        u.run("UPDATE deal SET currency = 'EUR' WHERE id = ?", (j,))
        u.run("UPDATE deal SET lost_reason = '' WHERE id = ?", (k,))

    db.write(plant)
    return {"pipeline": p.id, "other": other.id, **made}


def both_ways(db: Database, pipeline_id: int, **kw: object) -> tuple[object, object]:
    """The plain read on a driver connection of its own (the database not open yet: store.screenreads.run) and on
    the ORM session's connection (Database.read_plain)."""
    def read(u: object) -> object:
        return metrics_in(u, pipeline_id, **kw)  # type: ignore[arg-type]

    plain = screenreads.run(db.target, read)  # type: ignore[arg-type]
    assert plain is not None
    return plain, db.read_plain(read)  # type: ignore[arg-type]


@pytest.mark.parametrize("window", [1, 30, 90, 365])
def test_the_plain_read_is_the_orm_read(db: Database, history: dict[str, int], window: int) -> None:
    for owner in (None, "ann", "ANN", "erin"):
        expected = compute_metrics(db, history["pipeline"], window_days=window, owner=owner, seed=0)
        plain, in_session = both_ways(db, history["pipeline"], window_days=window, owner=owner, seed=0)
        assert plain == expected, (window, owner)
        assert in_session == expected, (window, owner)
        assert metrics_json(plain) == metrics_json(expected)  # type: ignore[arg-type]
    other_expected = compute_metrics(db, history["other"], window_days=window, seed=0)
    assert both_ways(db, history["other"], window_days=window, seed=0) == (other_expected, other_expected)


def test_the_history_reaches_every_branch(db: Database, history: dict[str, int]) -> None:
    """(So that the comparison above compares something: each kind of row is there, to the cent.)"""
    r = compute_metrics(db, history["pipeline"], window_days=90, seed=0)
    assert (r.open_deals, r.won_deals, r.lost_deals, r.other_currency_deals) == (4, 3, 2, 1)  # E H I J; A D F; B K
    assert r.open_value_minor == 300000 + 150000 + 250000  # E, H, I (J is in EUR)
    assert r.won_value_minor == 1250050 + 2000000  # A, F (D has no value)
    assert r.won_with_value == 2
    assert [(x.reason, x.count) for x in r.lost_reasons] == [("(no reason)", 1), ("Price", 1)]
    assert [o.key for o in r.by_owner] == ["Ann", "ann", "bob", "carol", "erin"]
    assert any(st.archived and st.stays_ended for st in r.stages)
    assert (r.weekly[-1].start.isoformat(), r.weekly[-1].won_deals, r.weekly[-1].won_value_minor) == (
        "2026-02-24", 2, 2000000)  # D (its first instant) and F (yesterday 23:59:59)
    assert r.forecast.levels and asdict(r.forecast)["won_deals_in_history"] == 3


def test_the_pipelines_and_the_refusals_are_the_orms(db: Database, history: dict[str, int]) -> None:
    plain = screenreads.run(db.target, pipelines)
    assert plain is not None and [p.name for p in plain] == ["Sales", "Other"]
    assert plain == ps.list_pipelines(db)
    with pytest.raises(NotFoundError) as orm:
        compute_metrics(db, history["pipeline"], owner="nobody")
    with pytest.raises(NotFoundError) as fast:
        both_ways(db, history["pipeline"], owner="nobody")
    assert str(fast.value) == str(orm.value) == "No deal in pipeline Sales is owned by 'nobody'."
    with pytest.raises(ValidationError) as orm_w:
        compute_metrics(db, history["pipeline"], window_days=0)
    with pytest.raises(ValidationError) as fast_w:
        both_ways(db, history["pipeline"], window_days=0)
    assert str(fast_w.value) == str(orm_w.value)
    with pytest.raises(NotFoundError) as gone:
        both_ways(db, 999_999)
    assert str(gone.value) == "There is no pipeline with id 999999."
