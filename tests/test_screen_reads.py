"""The screens' reads without the ORM (services.screen_reads on store.screenreads) give exactly what the ORM reads
give: the deal detail (fields, stage, types, history, activities, aging), its checklist and gate, the deal form's
choices and the pipeline settings; before the database is open (a driver connection of their own) and after (the
ORM session's connection). On both engines, on a rich history with hostile text and empty fields."""

from __future__ import annotations

import pytest

from tuikanban.domain.errors import NotFoundError
from tuikanban.services import deals as ds
from tuikanban.services import gates as gs
from tuikanban.services import pipelines as ps
from tuikanban.services import screen_reads as sr
from tuikanban.services.aging import aging_snapshot
from tuikanban.services.lifecycle import delete_deal, snooze_deal
from tuikanban.store import screenreads
from tuikanban.store.engine import Database
from tuikanban.store.uow import of_session

pytestmark = pytest.mark.engines  # on SQLite and on PostgreSQL

# escape sequences, bidi controls, quotes, SQL and placeholder characters, and text that looks like markup
HOSTILE = ("\x1b]52;c;SGFja2Vk\x07\x1b[31mevil\x9b1337m \u202e\u2066 '; DROP TABLE deal; -- ? %s %(x)s "
           "[bold]x[/] \u00e9\U0001f600 \"q\" \\")


@pytest.fixture
def rich(db: Database, fixed_now: str) -> dict[str, int]:
    """A pipeline with an archived stage and types, a gate and a checklist, and deals with every kind of event."""
    p = ps.create_pipeline(db, "Sales", ["Lead", "Qualified", "Proposal", "Old"], types=["New", "Renewal"])
    ps.set_stage(db, p.id, "Proposal", wip_max=3, wip_min=1, expected_days=5, probability=60,
                 exit_criteria="Proposal sent")
    gs.set_gate(db, p.id, "Proposal", require="value,close", checklist="Budget confirmed\nDecision maker met")
    full = ds.create_deal(db, p.id, "Full deal", user="alice", stage="Lead", value="12500", company="Initech",
                          contact="Bill", owner="alice", dtype="New", close="2026-04-01", notes="line 1\nline 2",
                          at="2026-02-01T09:00:00")
    bare = ds.create_deal(db, p.id, "Bare", user="bob", stage="Lead", owner="", at="2026-02-02T09:00:00")
    closed = ds.create_deal(db, p.id, "Closed one", user="bob", stage="Old", value="100", dtype="Renewal",
                            at="2026-02-03T09:00:00")
    lost = ds.create_deal(db, p.id, "Lost one", user="carol", stage="Lead", at="2026-02-03T10:00:00")
    gone = ds.create_deal(db, p.id, "Deleted one", user="dave", owner="dave", at="2026-02-03T11:00:00")
    other = ps.create_pipeline(db, "Other", ["One"])
    ds.create_deal(db, other.id, "Elsewhere", user="erin", owner="Erin", at="2026-02-03T12:00:00")

    ds.move_deal(db, full.id, "Qualified", user="alice", at="2026-02-05T09:00:00")
    ds.edit_deal(db, full.id, {"value": "13000", "close": "2026-04-15", "type": "Renewal", "company": "Initrode",
                               "notes": "changed"}, user="bob", at="2026-02-06T09:00:00")
    ds.move_deal(db, full.id, "Proposal", user="alice", at="2026-02-07T09:00:00")
    ds.add_activity(db, full.id, "call", "Called Bill", user="alice", at="2026-02-08T09:00:00")
    ds.add_activity(db, full.id, "note", "Same instant A", user="bob", at="2026-02-09T09:00:00")
    ds.add_activity(db, full.id, "email", "Same instant B", user="carol", at="2026-02-09T09:00:00")
    task = ds.add_activity(db, full.id, "task", "Send contract", user="alice", due="2026-03-10",
                           at="2026-02-10T09:00:00")
    ds.add_activity(db, full.id, "task", "Old task", user="alice", due="2026-02-20", at="2026-02-10T10:00:00",
                    done=True)
    ds.set_task_done(db, task.id, True, user="alice")
    ds.set_task_done(db, task.id, False, user="alice")
    gs.tick(db, full.id, "Budget confirmed", user="alice", at="2026-02-11T09:00:00")
    ds.move_deal(db, bare.id, "Qualified", user="bob", at="2026-02-11T10:00:00")
    ds.undo_last(db, p.id, user="bob")  # that move: an undo event
    ds.win_deal(db, closed.id, user="bob", at="2026-02-12T09:00:00")
    ds.lose_deal(db, lost.id, "Price", user="carol", at="2026-02-12T10:00:00")
    ds.reopen_deal(db, lost.id, "Qualified", user="carol", at="2026-02-13T09:00:00")
    ds.lose_deal(db, lost.id, "Timing", user="carol", at="2026-02-14T09:00:00")
    ps.archive_stage(db, p.id, "Old")  # the won deal's stage is archived since
    snooze_deal(db, bare.id, "2026-04-01", user="bob")
    delete_deal(db, gone.id, user="dave")

    def plant(s: object) -> None:  # hostile text where a rep (or another program) could have put it
        u = of_session(s)
        u.run("UPDATE deal SET title = ?, contact = ?, lost_reason = ? WHERE id = ?",
              (HOSTILE, HOSTILE, HOSTILE, lost.id))
        u.run("UPDATE activity SET subject = ?, \"user\" = ? WHERE deal_id = ? AND kind = 'call'",
              (HOSTILE, HOSTILE, full.id))
        u.run("UPDATE event SET reason = ?, \"user\" = ? WHERE deal_id = ? AND kind = 'lost'",
              (HOSTILE, HOSTILE, lost.id))
        u.run("UPDATE stage SET exit_criteria = ? WHERE name = 'Qualified'", (HOSTILE,))
        u.run("UPDATE deal_type SET archived = ? WHERE name = 'New'", (True,))

    db.write(plant)
    return {"pipeline": p.id, "other": other.id, "full": full.id, "bare": bare.id, "closed": closed.id,
            "lost": lost.id, "gone": gone.id}


def orm_detail(db: Database, deal_id: int) -> sr.DealDetail:
    """What the deal detail read through the ORM before (ui/screens/deal_detail.py)."""
    deal = ds.get_deal(db, deal_id)
    stages = ps.list_stages(db, deal.pipeline_id, include_archived=True)
    aging, stale_days = None, None
    if deal.status == "open":
        snap = aging_snapshot(db, deal.pipeline_id, deal_ids=[deal_id])
        aging, stale_days = (snap.items[0] if snap.items else None), snap.stale_days
    return sr.DealDetail(deal, next((s for s in stages if s.id == deal.stage_id), None),
                         ps.list_types(db, deal.pipeline_id), ds.deal_history(db, deal_id),
                         ds.list_activities(db, deal_id), aging, stale_days)


def both_ways(db: Database, read: object) -> tuple[object, object]:
    """`read` on a driver connection of its own (the database not open: store.screenreads.run) and on the ORM
    session's connection (Database.read_plain)."""
    plain = screenreads.run(db.target, read)  # type: ignore[arg-type]
    assert plain is not None
    return plain, db.read_plain(read)  # type: ignore[arg-type]


def test_the_deal_detail_read_without_the_orm_is_the_orm_read(db: Database, rich: dict[str, int]) -> None:
    for name in ("full", "bare", "closed", "lost", "gone"):
        deal_id = rich[name]
        expected = orm_detail(db, deal_id)
        plain, in_session = both_ways(db, lambda u, i=deal_id: sr.deal_detail(u, i))
        assert plain == expected, name
        assert in_session == expected, name
    full = orm_detail(db, rich["full"])
    assert full.aging is not None and len(full.events) >= 8 and len(full.activities) == 5
    assert [a.subject for a in full.activities][2:4] == ["Same instant B", "Same instant A"]  # (the tie-break)
    lost = orm_detail(db, rich["lost"])
    assert lost.deal.title == HOSTILE and lost.aging is None
    closed = orm_detail(db, rich["closed"])
    assert closed.stage is not None and closed.stage.archived


def test_the_checklist_and_gate_read_without_the_orm_is_the_orm_read(db: Database, rich: dict[str, int]) -> None:
    for name in ("full", "bare", "closed", "lost"):
        plain, in_session = both_ways(db, lambda u, i=rich[name]: sr.deal_gate(u, i))
        assert plain == in_session == gs.deal_gate(db, rich[name]), name
    gate = gs.deal_gate(db, rich["full"])
    assert gate.checklist == (("Budget confirmed", True), ("Decision maker met", False))
    assert gate.requires and not gate.missing


def test_the_form_and_settings_reads_without_the_orm_are_the_orm_reads(db: Database, rich: dict[str, int]) -> None:
    p = rich["pipeline"]
    for deal_id in (None, rich["full"], rich["closed"]):
        plain, in_session = both_ways(db, lambda u, i=deal_id: sr.form_choices(u, p, i))
        deal = ds.get_deal(db, deal_id) if deal_id is not None else None
        stages = ps.list_stages(db, p)
        if deal is not None and deal.stage_id not in {s.id for s in stages}:
            stages = [s for s in ps.list_stages(db, p, include_archived=True)
                      if s.id == deal.stage_id or not s.archived]
        expected = sr.FormChoices(ps.get_pipeline(db, p), stages, ps.list_types(db, p), deal, ds.known_owners(db))
        assert plain == in_session == expected, deal_id
    assert "dave" not in expected.owners and "Erin" in expected.owners  # (a deleted deal's owner is not offered)
    for pid in (p, rich["other"]):
        plain, in_session = both_ways(db, lambda u, i=pid: sr.pipeline_settings(u, i))
        pipeline, rows = ps.stage_rows(db, pid)
        assert plain == in_session == (pipeline, rows, ps.list_types(db, pid)), pid


def test_a_deal_or_pipeline_that_is_gone_is_refused_as_the_orm_refuses_it(db: Database,
                                                                          rich: dict[str, int]) -> None:
    with pytest.raises(NotFoundError) as orm:
        ds.get_deal(db, 999_999)
    with pytest.raises(NotFoundError) as plain:
        both_ways(db, lambda u: sr.deal_detail(u, 999_999))
    assert str(plain.value) == str(orm.value)
    with pytest.raises(NotFoundError) as orm:
        ps.get_pipeline(db, 999_999)
    with pytest.raises(NotFoundError) as plain:
        both_ways(db, lambda u: sr.form_choices(u, 999_999, None))
    assert str(plain.value) == str(orm.value)
