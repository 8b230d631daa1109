"""Schema versions: a first-release (schema 1) database opens and is upgraded keeping its data; a database from a
newer tuikanban, or with an unreadable version, is refused and left byte-for-byte unchanged."""

from __future__ import annotations

import sqlite3
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from tuikanban.domain.errors import DatabaseError
from tuikanban.services.deals import get_deal, list_deals, move_deal
from tuikanban.services.pipelines import get_pipeline, list_stages, list_types
from tuikanban.store import migrations
from tuikanban.store.engine import open_database
from tuikanban.store.tables import SCHEMA_VERSION

pytestmark = pytest.mark.sqlite_only  # schema-1 and newer-schema files, left byte-for-byte unchanged

FIXTURE = Path(__file__).parent / "fixtures" / "schema_v1.sql"


def make_v1(path: Path) -> Path:
    con = sqlite3.connect(path)
    con.executescript(FIXTURE.read_text())
    con.commit()
    con.close()
    return path


def columns(path: Path) -> dict[str, set[str]]:
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return {t: {r[1] for r in con.execute(f'PRAGMA table_info("{t}")')} for t in tables}
    finally:
        con.close()


def indexes(path: Path) -> set[str]:
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='index' AND sql IS NOT NULL")}
    finally:
        con.close()


def meta(path: Path) -> dict[str, str]:
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return dict(con.execute("SELECT key, value FROM tk_meta").fetchall())
    finally:
        con.close()


def test_the_fixture_is_schema_1(tmp_path: Path) -> None:
    path = make_v1(tmp_path / "v1.db")
    assert meta(path) == {"app": "tuikanban", "schema_version": "1"}
    cols = columns(path)
    assert "archived" not in cols["stage"]
    assert not {"lost_reasons", "is_default"} & cols["pipeline"]
    assert "ref_id" not in cols["event"]


def test_schema_1_opens_upgraded_with_its_data(tmp_path: Path) -> None:
    path = make_v1(tmp_path / "v1.db")
    db = open_database(path)
    try:
        assert SCHEMA_VERSION >= 2
        assert db.schema_version() == SCHEMA_VERSION
        p = get_pipeline(db, "sales")
        assert (p.name, p.currency, p.target_minor, p.stale_days) == ("Sales", "USD", 50_000_000, 10)
        assert (p.lost_reasons, p.is_default) == ((), False)  # the new columns got their defaults
        stages = list_stages(db, "Sales")
        assert [(s.name, s.wip_max, s.expected_days, s.probability, s.archived) for s in stages] == [
            ("Lead", None, None, 10, False), ("Proposal", 2, 14, 50, False), ("Negotiation", None, None, 80, False)]
        assert stages[1].exit_criteria == "Proposal sent"
        assert [t.name for t in list_types(db, "Sales")] == ["Renewal"]
        acme = get_deal(db, 1)
        assert (acme.title, acme.value_minor, acme.owner, acme.type_name, acme.stage_name, acme.version) == (
            "Acme renewal", 1_250_050, "ann", "Renewal", "Proposal", 2)
        assert acme.expected_close == date(2026, 4, 1)
        assert acme.stage_entered_at == datetime(2026, 1, 10, 9, 0, tzinfo=UTC)
        beta = get_deal(db, 2)
        assert (beta.status, beta.lost_reason, beta.closed_at) == ("lost", "Price",
                                                                    datetime(2026, 1, 20, 9, 0, tzinfo=UTC))
        assert [d.id for d in list_deals(db, "Sales", status="all")] == [2, 1]
        # and it works as a current database: a move writes an event with the new ref_id column
        move_deal(db, 1, "Negotiation", user="ann", at="2026-02-01T09:00")
        assert get_deal(db, 1).stage_name == "Negotiation"
    finally:
        db.close()
    assert meta(path)["schema_version"] == str(SCHEMA_VERSION)


def test_upgraded_schema_matches_a_new_database(tmp_path: Path) -> None:
    old = make_v1(tmp_path / "v1.db")
    open_database(old).close()
    new = tmp_path / "new.db"
    open_database(new).close()
    assert columns(old) == columns(new)
    assert indexes(old) == indexes(new)


def test_opening_twice_migrates_once(tmp_path: Path) -> None:
    path = make_v1(tmp_path / "v1.db")
    open_database(path).close()
    after_first = columns(path)
    db = open_database(path)
    try:
        assert db.schema_version() == SCHEMA_VERSION
        assert [d.id for d in list_deals(db, "Sales", status="all")] == [2, 1]
    finally:
        db.close()
    assert columns(path) == after_first


def test_a_failing_migration_changes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = make_v1(tmp_path / "v1.db")
    before = columns(path)

    def half_then_fail(conn: Any) -> None:
        migrations._add_column(conn, "stage", migrations.Column("archived", migrations.Boolean, nullable=False,
                                                                server_default="0"))
        raise RuntimeError("simulated failure half-way through a migration")

    monkeypatch.setitem(migrations.MIGRATIONS, 2, half_then_fail)
    with pytest.raises(RuntimeError):
        open_database(path)
    assert columns(path) == before  # the ALTER was rolled back with the rest
    assert meta(path)["schema_version"] == "1"


def _with_version(path: Path, version: str) -> None:
    con = sqlite3.connect(path)
    con.execute("UPDATE tk_meta SET value = ? WHERE key = 'schema_version'", (version,))
    con.commit()
    con.close()


def test_a_newer_database_is_refused_and_untouched(tmp_path: Path) -> None:
    path = make_v1(tmp_path / "future.db")
    _with_version(path, "99")
    before = path.read_bytes()
    files = sorted(p.name for p in tmp_path.iterdir())
    with pytest.raises(DatabaseError) as info:
        open_database(path)
    assert str(info.value) == (
        f"The database {path} was written by a newer tuikanban (schema 99, this one knows {SCHEMA_VERSION}); "
        "upgrade tuikanban to open it. It was left untouched."
    )
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == files


def test_a_newer_database_through_the_cli(cli: Any, tmp_path: Path) -> None:
    path = make_v1(tmp_path / "future.db")
    _with_version(path, "99")
    before = path.read_bytes()
    r = cli("--db", str(path), "deal", "list")
    assert r.code == 1
    assert r.err.strip().startswith(f"The database {path} was written by a newer tuikanban (schema 99")
    assert "\n" not in r.err.strip() and "Traceback" not in r.err
    assert path.read_bytes() == before


def test_an_unreadable_version_is_called_damaged(tmp_path: Path) -> None:
    path = make_v1(tmp_path / "odd.db")
    _with_version(path, "one")
    before = path.read_bytes()
    with pytest.raises(DatabaseError, match=r"is damaged \(its schema version is unreadable\)\.$"):
        open_database(path)
    assert path.read_bytes() == before
