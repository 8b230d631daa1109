"""`tuikanban demo`: deterministic for a seed, the promised shape, history consistent with the services, and it
never writes into a database that holds other data."""

from __future__ import annotations

import hashlib
import json
import os
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from tuikanban.domain import clock
from tuikanban.domain.errors import WipLimitError
from tuikanban.services import deals as deal_svc
from tuikanban.services import pipelines as pipe_svc
from tuikanban.services.demo import DemoError, build_demo, default_demo_path
from tuikanban.store.engine import Database, open_database

pytestmark = pytest.mark.sqlite_only  # each test builds demo files of its own; the demo on PostgreSQL: test_postgres.py


@pytest.fixture
def demo_db(tmp_path: Path, fixed_now: str):  # type: ignore[no-untyped-def]
    result = build_demo(tmp_path / "demo.db", seed=7)
    db = open_database(result.path)
    yield db
    db.close()


def snapshot(path: Path) -> dict[str, object]:
    """Everything a user could see of the demo: every deal of every pipeline, history and activities."""
    db = open_database(path)
    try:
        out: dict[str, object] = {}
        for p in pipe_svc.list_pipelines(db):
            rows = deal_svc.list_deals(db, p.id, status="all")
            out[p.name] = [repr(d) for d in rows]
            out[p.name + "/history"] = [repr(deal_svc.deal_history(db, d.id)) for d in rows[::10]]
            out[p.name + "/activities"] = [repr(deal_svc.list_activities(db, d.id)) for d in rows[::10]]
            out[p.name + "/stages"] = [repr(s) for s in pipe_svc.list_stages(db, p.id)]
        return out
    finally:
        db.close()


def test_the_same_seed_and_clock_give_the_same_demo(tmp_path: Path, fixed_now: str, cli) -> None:  # type: ignore[no-untyped-def]
    a = build_demo(tmp_path / "a.db", seed=11)
    b = build_demo(tmp_path / "b.db", seed=11)
    assert (a.deals, a.events, a.activities) == (b.deals, b.events, b.activities)
    assert snapshot(a.path) == snapshot(b.path)
    ja = cli("--db", str(a.path), "deal", "list", "-p", "SMB", "--status", "all", "--json")
    jb = cli("--db", str(b.path), "deal", "list", "-p", "SMB", "--status", "all", "--json")
    assert ja.code == 0 and ja.out == jb.out
    assert len(json.loads(ja.out)["deals"]) == 147  # 120 closed + 27 open, as specified for SMB
    c = build_demo(tmp_path / "c.db", seed=12)
    assert snapshot(c.path)["SMB"] != snapshot(a.path)["SMB"]


def test_the_demo_ends_at_the_clock(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TUIKANBAN_NOW", "2024-07-15T09:30:00Z")
    result = build_demo(tmp_path / "d.db", seed=3)
    db = open_database(result.path)
    try:
        with db.read() as s:
            first, last_event = s.connection().execute(text("SELECT min(created_at), max(at) FROM event "
                                                             "JOIN deal ON deal.id = event.deal_id")).one()
    finally:
        db.close()
    assert str(last_event) <= "2024-07-15 09:30:00"
    assert str(first) >= "2024-01-15"  # 182 days before the clock
    assert str(last_event) >= "2024-07-13"


def test_shape_pipelines_types_owners_targets(demo_db: Database) -> None:
    pipes = {p.name: p for p in pipe_svc.list_pipelines(demo_db)}
    assert list(pipes) == ["SMB", "Enterprise", "Partnerships"]
    assert pipes["SMB"].is_default
    assert pipes["SMB"].target_minor == 120_000_00
    assert pipes["Enterprise"].target_minor == 1_500_000_00
    assert pipes["Partnerships"].currency == "EUR"
    for name in ("SMB", "Enterprise"):
        assert [t.name for t in pipe_svc.list_types(demo_db, name)] == ["New business", "Expansion", "Renewal"]
        probs = [s.probability for s in pipe_svc.list_stages(demo_db, name)]
        assert probs == sorted(probs) and probs[0] > 0 and probs[-1] < 100
    owners = {d.owner for d in deal_svc.list_deals(demo_db, "SMB", status="all")}
    assert owners == {"alice", "bob", "carol", "dave"}
    lost = [d for d in deal_svc.list_deals(demo_db, "SMB", status="lost")]
    assert lost and all(d.lost_reason for d in lost)
    assert len({d.lost_reason for d in lost}) >= 4
    won = deal_svc.list_deals(demo_db, "SMB", status="won")
    assert 0.2 <= len(won) / (len(won) + len(lost)) <= 0.5  # a believable SMB win rate


def test_shape_exactly_one_stage_at_its_limit_and_one_below_its_minimum(demo_db: Database) -> None:
    at_limit, over, under = [], [], []
    for p in pipe_svc.list_pipelines(demo_db):
        _, rows = pipe_svc.stage_rows(demo_db, p.id)
        for r in rows:
            label = f"{p.name}/{r.stage.name}"
            if r.stage.wip_max is not None and r.open_deals == r.stage.wip_max:
                at_limit.append(label)
            if r.stage.wip_max is not None and r.open_deals > r.stage.wip_max:
                over.append(label)
            if r.stage.wip_min is not None and r.open_deals < r.stage.wip_min:
                under.append(label)
    assert at_limit == ["SMB/Proposal"]
    assert over == []
    assert under == ["SMB/Qualified"]
    # per-rep limits hold too
    negotiation = [d for d in deal_svc.list_deals(demo_db, "SMB") if d.stage_name == "Negotiation"]
    per_owner: dict[str, int] = {}
    for d in negotiation:
        per_owner[d.owner] = per_owner.get(d.owner, 0) + 1
    assert max(per_owner.values()) <= 2


def test_the_full_stage_refuses_one_more_deal(demo_db: Database) -> None:
    demo_deal = next(d for d in deal_svc.list_deals(demo_db, "SMB") if d.stage_name == "Demo")
    with pytest.raises(WipLimitError) as info:
        deal_svc.move_deal(demo_db, demo_deal.id, "Proposal", user="tester")
    assert str(info.value) == "Proposal is at its WIP limit (6/6)"


def test_shape_stalled_deals_exist(demo_db: Database) -> None:
    now = clock.now()
    stalled: list[str] = []
    for p in pipe_svc.list_pipelines(demo_db):
        expected = {s.id: s.expected_days for s in pipe_svc.list_stages(demo_db, p.id)}
        for d in deal_svc.list_deals(demo_db, p.id):
            days = expected[d.stage_id]
            if days is not None and (now - d.stage_entered_at) >= timedelta(days=2 * days):
                stalled.append(p.name)
    assert 4 <= len(stalled) <= 10  # "a few"
    assert stalled.count("SMB") >= 2 and stalled.count("Enterprise") >= 1


def test_shape_signals_and_follow_ups(demo_db: Database) -> None:
    today = clock.today()
    open_deals = deal_svc.list_deals(demo_db, "SMB")
    assert any(d.value_minor is None for d in open_deals)  # no_value
    assert any(d.expected_close is not None and d.expected_close < today for d in open_deals)  # past_close
    overdue = done = 0
    for d in open_deals:
        for a in deal_svc.list_activities(demo_db, d.id):
            if a.kind == "task" and not a.done and a.due is not None and a.due < today:
                overdue += 1
            if a.kind != "task":
                done += 1
    assert overdue >= 2
    assert done >= len(open_deals)  # every open deal has some logged activity
    with demo_db.read() as s:
        pushed = s.connection().execute(text(
            "SELECT count(*) FROM (SELECT deal_id FROM event WHERE kind='edit' AND field='close' "
            "GROUP BY deal_id HAVING count(*) >= 2)")).scalar_one()
    assert pushed >= 1  # close_pushed


def test_history_is_what_the_services_would_have_written(demo_db: Database) -> None:
    with demo_db.read() as s:
        conn = s.connection()

        def q(sql: str) -> int:
            return int(conn.execute(text(sql)).scalar_one())

        # one stay per create or move; each deal has exactly one open stay while open and none once closed
        assert q("SELECT count(*) FROM stay") == q("SELECT count(*) FROM event WHERE kind IN ('create','move')")
        open_stays = q("SELECT count(*) FROM stay WHERE left_at IS NULL")
        assert q("SELECT count(*) FROM deal WHERE status='open'") == open_stays
        assert q("SELECT count(*) FROM deal d JOIN stay st ON st.deal_id=d.id AND st.left_at IS NULL "
                 "WHERE d.status != 'open' OR st.stage_id != d.stage_id OR st.entered_at != d.stage_entered_at") == 0
        # a closed deal's last stay ends when it closed, advanced when won, dropped when lost
        assert q("SELECT count(*) FROM deal d JOIN stay st ON st.deal_id=d.id AND st.left_at=d.closed_at "
                 "WHERE (d.status='won' AND st.outcome='advanced') OR (d.status='lost' AND st.outcome='dropped')") \
            == q("SELECT count(*) FROM deal WHERE status != 'open'")
        # a move's stay outcome follows the stage order
        assert q("SELECT count(*) FROM stay a JOIN stay b ON b.deal_id=a.deal_id AND b.entered_at=a.left_at "
                 "JOIN stage sa ON sa.id=a.stage_id JOIN stage sb ON sb.id=b.stage_id "
                 "WHERE (sb.position > sa.position) != (a.outcome='advanced')") == 0
        # every event within its deal's life, none after now; version counts the changes
        assert q("SELECT count(*) FROM event e JOIN deal d ON d.id=e.deal_id WHERE e.at < d.created_at "
                 "OR (d.closed_at IS NOT NULL AND e.at > d.closed_at)") == 0
        assert q("SELECT count(*) FROM deal d WHERE d.version != 1 + (SELECT count(*) FROM event e "
                 "WHERE e.deal_id=d.id AND e.kind IN ('move','edit','won','lost'))") == 0
        assert q("SELECT count(*) FROM deal d WHERE d.last_activity_at IS NOT "
                 "(SELECT max(at) FROM activity a WHERE a.deal_id=d.id)") == 0
        assert q("SELECT count(*) FROM event WHERE kind='lost' AND (reason IS NULL OR reason='')") == 0
        assert q("SELECT count(*) FROM pipeline WHERE created_at > (SELECT min(created_at) FROM deal)") == 0


def test_a_demo_deal_moves_like_any_other(demo_db: Database) -> None:
    d = next(d for d in deal_svc.list_deals(demo_db, "Enterprise") if d.stage_name == "Discovery")
    moved = deal_svc.move_deal(demo_db, d.id, "Solution design", user="tester")
    assert moved.deal.version == d.version + 1
    top = next(x for x in deal_svc.list_deals(demo_db, "Enterprise") if x.stage_name == "Solution design")
    assert top.id == d.id  # a deal that just entered a column is on top of it
    assert "undid" in deal_svc.undo_last(demo_db, "Enterprise", user="tester").lower()


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_refuses_a_database_that_holds_other_data(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    real = tmp_path / "real.db"
    db = open_database(real)
    pipe_svc.create_pipeline(db, "Sales", "Lead,Won")
    db.close()
    before = _digest(real)
    with pytest.raises(DemoError) as info:
        build_demo(real, fresh=True)
    assert str(info.value) == (
        f"{real} already holds other tuikanban data (1 pipeline, 0 deals); the demo never writes into it, "
        "so give it another file with --db.")
    r = cli("--db", str(real), "demo", "--no-open", "--fresh")
    assert r.code == 1
    assert r.err.strip() == str(info.value)
    r = cli("demo", "--db", str(real), "--no-open")
    assert r.code == 1
    assert _digest(real) == before
    junk = tmp_path / "notes.txt"
    junk.write_text("my notes")
    r = cli("demo", "--db", str(junk), "--no-open")
    assert r.code == 1 and "not a tuikanban database" in r.err
    assert junk.read_text() == "my notes"


def test_an_existing_demo_is_kept_unless_fresh(tmp_path: Path, fixed_now: str, cli) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "demo.db"
    first = cli("demo", "--db", str(path), "--no-open", "--seed", "5")
    assert first.code == 0, first.err
    assert f"Demo database written to {path} (seed 5" in first.out
    db = open_database(path)
    d = deal_svc.list_deals(db, "SMB")[0]
    deal_svc.edit_deal(db, d.id, {"title": "Changed by the user"}, user="tester")
    db.close()
    again = cli("demo", "--db", str(path), "--no-open", "--seed", "6")
    assert again.code == 0
    assert "already exists" in again.out and "built with seed 5" in again.out and "--fresh" in again.out
    db = open_database(path)
    assert deal_svc.get_deal(db, d.id).title == "Changed by the user"
    db.close()
    fresh = cli("demo", "--db", str(path), "--no-open", "--seed", "5", "--fresh")
    assert fresh.code == 0
    db = open_database(path)
    assert deal_svc.get_deal(db, d.id).title != "Changed by the user"
    db.close()


def test_a_half_built_demo_is_rebuilt(tmp_path: Path, fixed_now: str) -> None:
    path = tmp_path / "demo.db"
    build_demo(path, seed=2)
    db = open_database(path)
    db.write(lambda s: s.connection().execute(text("UPDATE tk_meta SET value='building' WHERE key='demo'")))
    db.close()
    result = build_demo(path, seed=2)
    assert result.built
    db = open_database(path)
    try:
        assert len(deal_svc.list_deals(db, "SMB", status="all")) == 147
    finally:
        db.close()


def test_default_location_is_beside_the_default_database(monkeypatch: pytest.MonkeyPatch, fixed_now: str,
                                                          cli) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("TUIKANBAN_DB")
    target = Path(os.environ["XDG_DATA_HOME"]) / "tuikanban" / "demo.db"
    assert default_demo_path() == target
    r = cli("demo", "--no-open")
    assert r.code == 0, r.err
    assert f"Demo database written to {target}" in r.out
    assert f"tuikanban --db {target}" in r.out
    assert target.exists()
    assert not (target.parent / "tuikanban.db").exists()  # the real database is not touched (or created)
    assert oct(target.stat().st_mode & 0o777) == oct(0o600)


def test_demo_opens_the_board_on_the_demo_database(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                    fixed_now: str, cli) -> None:  # type: ignore[no-untyped-def]
    opened = []
    import tuikanban.cli.board as board

    monkeypatch.setattr(board, "open_board", lambda state: opened.append(state))
    path = tmp_path / "shown.db"
    r = cli("--theme", "nord-pipeline", "demo", "--db", str(path))
    assert r.code == 0, r.err
    assert len(opened) == 1
    assert opened[0].db_path == path and opened[0].theme == "nord-pipeline" and opened[0].user == "tester"
    opened.clear()
    assert cli("demo", "--db", str(path), "--no-open").code == 0
    assert opened == []
