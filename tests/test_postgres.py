"""Targets (a path or a postgresql:// URL, never a password shown) and the PostgreSQL engine's guarantees: the
write lock, identity ids after explicit-id inserts, 64-bit numbers, bytewise text order, one setup under the lock,
one sentence per failure, and the same numbers as SQLite on the demo board."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

import pytest

from engines import rows
from tuikanban.domain.errors import DatabaseError
from tuikanban.domain.targets import Target, TargetError, parse_target
from tuikanban.services.deals import create_deal
from tuikanban.services.pipelines import create_pipeline, set_stage
from tuikanban.store.engine import Database, open_database
from tuikanban.store.pg import WRITE_LOCK_KEY, describe_pg_error
from tuikanban.store.tables import SCHEMA_VERSION

pytestmark = pytest.mark.engines  # the tests that use a database run on SQLite and on PostgreSQL (a test
# marked postgres_only or sqlite_only is about one engine's mechanism)

SECRET = "s3cr3t-pw"

# -- targets ----------------------------------------------------------------------------------------------


def test_a_path_is_an_sqlite_target(tmp_path: Path) -> None:
    t = parse_target(str(tmp_path / "board.db"))
    assert (t.kind, t.path, t.display) == ("sqlite", tmp_path / "board.db", str(tmp_path / "board.db"))
    assert parse_target(tmp_path / "x.db").path == tmp_path / "x.db"


@pytest.mark.parametrize("url", [
    f"postgresql://ana:{SECRET}@db.example.com:5433/sales",
    f"postgresql+psycopg://ana:{SECRET}@db.example.com:5433/sales",
    f"postgresql://ana@db.example.com:5433/sales?password={SECRET}",
])
def test_a_url_is_a_postgres_target_shown_without_its_password(url: str) -> None:
    t = parse_target(url)
    assert t.is_postgres and t.path is None
    assert (t.user, t.host, t.port, t.database, t.password) == ("ana", "db.example.com", 5433, "sales", SECRET)
    assert t.display == "postgresql://ana@db.example.com:5433/sales"
    assert SECRET not in str(t) and SECRET not in repr(t) and SECRET not in t.display
    assert SECRET not in str(t.query)


def test_an_unknown_scheme_is_one_sentence_without_the_password() -> None:
    with pytest.raises(TargetError) as caught:
        parse_target(f"mysql://ana:{SECRET}@host/sales")
    assert str(caught.value) == ("The database target mysql://ana@host/sales uses the unknown scheme 'mysql'; give "
                                 "a file path or a postgresql://user@host/dbname URL.")


def test_a_url_without_a_database_is_refused() -> None:
    with pytest.raises(TargetError, match="names no database"):
        parse_target("postgresql://ana@host")


# -- the partial indexes' predicates, and an SQLite process without the PostgreSQL dialect ----------------------


def test_an_sqlite_board_through_the_orm_never_imports_the_postgresql_dialect(tmp_path: Path) -> None:
    """The PostgreSQL predicates of the partial indexes are attached by store.pg: naming them in store.tables
    imported SQLAlchemy's PostgreSQL dialect (and its drivers' probing) into every process, SQLite boards' too."""
    import subprocess
    import sys

    script = (
        "import sys\n"
        "from sqlmodel import select\n"
        "from tuikanban.services import presence\n"
        "from tuikanban.services.deals import create_deal\n"
        "from tuikanban.services.pipelines import create_pipeline\n"
        "from tuikanban.store.engine import open_database\n"
        "from tuikanban.store.tables import Deal\n"
        f"db = open_database({str(tmp_path / 'board.db')!r})\n"
        "create_pipeline(db, 'Sales', 'Lead,Won')\n"
        "create_deal(db, 'Sales', 'Acme', user='rep')\n"
        "with db.read() as s:\n"
        "    assert [d.title for d in s.exec(select(Deal))] == ['Acme']\n"
        "assert presence.who(db) == []\n"
        "db.close()\n"
        "print(sorted(m for m in sys.modules if m.startswith('sqlalchemy.dialects.postgresql')))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


@pytest.mark.postgres_only
def test_the_event_tables_partial_indexes_are_partial_on_postgres(db: Database, db_target: str) -> None:
    partial = ("SELECT indexname, indexdef FROM pg_indexes "
               "WHERE schemaname = current_schema() AND indexdef LIKE '% WHERE %'")
    found = {str(r[0]): str(r[1]) for r in rows(db_target, partial)}
    assert sorted(found) == ["ix_event_close_edit", "ix_event_close_undo", "ix_event_create", "ix_event_deal_state",
                             "ix_event_review_slim", "ix_event_value"]
    assert found["ix_event_create"].endswith("WHERE ((kind)::text = 'create'::text)")


# -- the planner's statistics after a bulk fill -------------------------------------------------------------


def analyzed_tables(target: str) -> set[str]:
    """The tables of the target's schema the server holds statistics for (pg_stats has rows only after an ANALYZE
    of a table with rows; autovacuum may be off, as on the test server)."""
    return {str(r[0]) for r in rows(target, "SELECT DISTINCT tablename FROM pg_stats "
                                            "WHERE schemaname = current_schema()")}


@pytest.mark.postgres_only
def test_a_copy_to_postgres_leaves_the_tables_analyzed(cli: Any, db_target: str, tmp_path: Path) -> None:
    """Without statistics the planner guessed: one read of `changes` ran for minutes on a copied 100,000-deal board."""
    source = str(tmp_path / "laptop.db")
    assert cli("--db", source, "pipeline", "create", "Sales", "--stages", "Lead,Won").code == 0
    for title in ("One", "Two"):
        assert cli("--db", source, "deal", "add", title).code == 0
    assert cli("--db", source, "deal", "move", "1", "Won").code == 0
    assert analyzed_tables(db_target) == set()
    copied = cli("--db", source, "copy", "--to", db_target)
    assert copied.code == 0, copied.err
    assert {"pipeline", "stage", "deal", "event", "stay"} <= analyzed_tables(db_target)


def test_a_copy_carries_no_seats(cli: Any, db_target: str, tmp_path: Path) -> None:
    """Who has the source open is not who has the copy open: `copy --to` (a file or PostgreSQL) copies no presence
    rows, as backup and restore keep none, so `who` on the copy names nobody while the source's rep is there."""
    from tuikanban.services import presence

    source = str(tmp_path / "laptop.db")
    assert cli("--db", source, "pipeline", "create", "Sales", "--stages", "Lead,Won").code == 0
    db = open_database(source)
    try:
        presence.join(db, "alice")  # (this process: a live seat)
    finally:
        db.close()
    assert "alice" in cli("--db", source, "who").out
    copied = cli("--db", source, "copy", "--to", db_target)
    assert copied.code == 0, copied.err
    assert cli("--db", db_target, "who").out.strip() == "Nobody has the board open."
    assert rows(db_target, "SELECT count(*) FROM presence") == [(0,)]


def test_a_copy_keeps_ticked_checklist_items_and_each_users_last_review(cli: Any, db_target: str,
                                                                        tmp_path: Path) -> None:
    """A rep's ticks and a manager's last review are work too: `copy --to` carries them (it left both behind)."""
    source = str(tmp_path / "laptop.db")
    assert cli("--db", source, "pipeline", "create", "Sales", "--stages", "Lead,Proposal,Won").code == 0
    assert cli("--db", source, "stage", "set", "Proposal", "--checklist", "Budget confirmed;Decision maker named"
               ).code == 0
    assert cli("--db", source, "deal", "add", "Acme", "--stage", "Proposal").code == 0
    ticked = cli("--db", source, "deal", "check", "1", "Budget confirmed")
    assert ticked.code == 0, ticked.err
    reviewed = cli("--db", source, "--user", "maria", "changes", "--since", "7d")
    assert reviewed.code == 0, reviewed.err
    marks = rows(source, 'SELECT "user", at FROM review_mark')
    assert [m[0] for m in marks] == ["maria"]
    copied = cli("--db", source, "copy", "--to", db_target)
    assert copied.code == 0, copied.err
    assert rows(db_target, "SELECT deal_id, item FROM deal_check") == [(1, "Budget confirmed")]
    assert [m[0] for m in rows(db_target, 'SELECT "user", at FROM review_mark')] == ["maria"]
    shown = cli("--db", db_target, "deal", "show", "1", "--json")
    assert shown.code == 0, shown.err
    assert "Budget confirmed" in shown.out
    # and the copy goes on: new ticks and reviews get ids past the copied ones (PostgreSQL: the sequences moved)
    assert cli("--db", db_target, "deal", "check", "1", "Decision maker named").code == 0
    assert cli("--db", db_target, "--user", "ana", "changes", "--since", "7d").code == 0
    assert rows(db_target, "SELECT id, item FROM deal_check ORDER BY id") == [
        (1, "Budget confirmed"), (2, "Decision maker named")]
    assert [m[0] for m in rows(db_target, 'SELECT "user" FROM review_mark ORDER BY id')] == ["maria", "ana"]


@pytest.mark.postgres_only
def test_a_big_import_into_postgres_leaves_the_tables_analyzed_and_a_small_one_leaves_them(
        cli: Any, db_target: str, tmp_path: Path) -> None:
    assert cli("pipeline", "create", "Sales", "--stages", "Lead,Won").code == 0
    small = tmp_path / "small.csv"
    small.write_text("title\nOne\nTwo\n", encoding="utf-8")
    assert cli("import", str(small)).code == 0
    assert analyzed_tables(db_target) == set()  # (a few deals: left to autovacuum)
    big = tmp_path / "big.csv"
    big.write_text("title\n" + "".join(f"Deal {n}\n" for n in range(1000)), encoding="utf-8")
    imported = cli("import", str(big))
    assert imported.code == 0, imported.err
    assert {"deal", "event", "stay"} <= analyzed_tables(db_target)


@pytest.mark.postgres_only  # (no server needed: the URL is of a closed port)
def test_a_url_is_never_a_file(cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The old bug: a URL became the path `postgresql:/ana@host/db` and, with a folder of that name, a file."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "postgresql:" / "ana@127.0.0.1:1").mkdir(parents=True)
    r = cli("--db", f"postgresql://ana:{SECRET}@127.0.0.1:1/sales", "pipeline", "list")
    assert r.code == 1
    assert r.err.strip() == ("The PostgreSQL server for postgresql://ana@127.0.0.1:1/sales cannot be reached (is it "
                             "running?); nothing was changed.")
    assert SECRET not in r.out + r.err
    assert list((tmp_path / "postgresql:" / "ana@127.0.0.1:1").iterdir()) == []


@pytest.mark.sqlite_only  # the file the config names is created
def test_the_config_file_names_the_database(cli: Any, tmp_path: Path) -> None:
    from tuikanban.settings import config_path

    board = tmp_path / "from-config.db"
    config_path().parent.mkdir(parents=True, exist_ok=True)
    config_path().write_text(f'db = "{board}"\n')
    os.environ.pop("TUIKANBAN_DB")  # restored by the autouse fixture's monkeypatch
    assert cli("pipeline", "create", "Sales", "--stages", "A,B").code == 0
    assert board.exists()


def test_a_password_in_the_config_file_is_refused(tmp_path: Path) -> None:
    from tuikanban.settings import load_settings

    path = tmp_path / "config.toml"
    path.write_text(f'db = "postgresql://ana:{SECRET}@host/sales"\n')
    settings = load_settings(path)
    assert settings.db is None and settings.problem is not None
    assert "holds a password" in settings.problem and SECRET not in settings.problem


@pytest.mark.parametrize("command", [
    ("deal", "list"), ("metrics",), ("pipeline", "create", "Sales", "--stages", "A,B")])
def test_a_config_file_whose_db_holds_a_password_is_one_sentence_not_the_default_file(
        cli: Any, tmp_path: Path, command: tuple[str, ...]) -> None:
    """Refused means refused: the command says why in one sentence and exits 1; it does not fall back to (and
    create) the default database file as if the config file named no database."""
    from tuikanban.settings import config_path

    config_path().parent.mkdir(parents=True, exist_ok=True)
    config_path().write_text(f'db = "postgresql://ana:{SECRET}@host/sales"\n')
    os.environ.pop("TUIKANBAN_DB")  # restored by the autouse fixture's monkeypatch
    before = sorted(p for p in tmp_path.rglob("*") if p.is_file())
    result = cli(*command)
    assert result.code == 1 and result.out == ""
    assert "holds a password" in result.err and SECRET not in result.err + result.out
    assert len(result.err.strip().splitlines()) <= 2 and "Traceback" not in result.err  # one sentence (wrapped)
    assert sorted(p for p in tmp_path.rglob("*") if p.is_file()) == before  # no default board was created
    shown = cli("config", "show")  # the config commands still work, to see and fix the file
    assert shown.code == 0 and "holds a password" in shown.err


@pytest.mark.parametrize("text, refused", [
    ('db = "postgresql://ana@host/sales"\ntheme = "nord\n', True),  # broken, and it names the team's database
    ('theme = "nord\n', False),  # broken, but it names no database: the defaults apply, as before
])
def test_a_broken_config_file_that_names_a_database_is_one_sentence_not_the_default_file(
        cli: Any, tmp_path: Path, text: str, refused: bool) -> None:
    """A config file that is not valid TOML cannot say which database it names. When it has a `db` line, opening
    the default file instead would put a rep's work where the team cannot see it: one sentence, exit 1."""
    from tuikanban.settings import config_path

    config_path().parent.mkdir(parents=True, exist_ok=True)
    config_path().write_text(text)
    os.environ.pop("TUIKANBAN_DB")  # restored by the autouse fixture's monkeypatch
    before = sorted(p for p in tmp_path.rglob("*") if p.is_file())
    result = cli("pipeline", "create", "Sales", "--stages", "A,B")
    assert "Traceback" not in result.err
    if refused:
        assert result.code == 1 and result.out == ""
        assert "is not valid TOML" in result.err and "nothing was opened" in result.err
        assert sorted(p for p in tmp_path.rglob("*") if p.is_file()) == before  # no default board was created
    else:
        assert result.code == 0, result.err  # the default file, as before
    assert cli("config", "show").code == 0  # the config commands still work, to see and fix the file


class _Diag:
    def __init__(self, sqlstate: str) -> None:
        self.sqlstate = sqlstate


class _Driver(Exception):
    def __init__(self, message: str, sqlstate: str) -> None:
        super().__init__(message)
        self.diag = _Diag(sqlstate)


@pytest.mark.parametrize(("sqlstate", "message", "expected"), [
    ("28P01", 'FATAL:  password authentication failed for user "ana"',
     "PostgreSQL refused the login to postgresql://ana@h/sales (check the user, and the password in ~/.pgpass or "
     "PGPASSWORD); nothing was changed."),
    ("55P03", "canceling statement due to lock timeout",
     "The database postgresql://ana@h/sales stayed locked by another process for over 15 seconds; nothing was "
     "changed, try again."),
    ("3D000", 'database "sales" does not exist',
     "The database postgresql://ana@h/sales does not exist on the server; create it first (createdb), or check the "
     "URL."),
    ("XX000", f"something odd about postgresql://ana:{SECRET}@h/sales and {SECRET}",
     "The database postgresql://ana@h/sales could not be used: something odd about postgresql://ana@h/sales and ***."),
])
def test_server_failures_are_one_sentence_without_the_password(sqlstate: str, message: str, expected: str) -> None:
    target: Target = parse_target(f"postgresql://ana:{SECRET}@h/sales")
    assert describe_pg_error(_Driver(message, sqlstate), target) == expected


# -- the engine on a server -------------------------------------------------------------------------------


@pytest.mark.postgres_only
def test_a_missing_database_is_one_sentence(pg_database: str) -> None:
    from engines import database_url

    url = database_url(f"{pg_database}_missing")
    with pytest.raises(DatabaseError) as caught:
        open_database(url)
    assert str(caught.value) == (f"The database {parse_target(url)} does not exist on the server; create it first "
                                 "(createdb), or check the URL.")


@pytest.mark.postgres_only
def test_a_held_write_lock_is_the_stayed_locked_sentence(db: Database, db_target: str, cli: Any,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    import psycopg

    from tuikanban.store.pg import conninfo

    create_pipeline(db, "Sales", "Lead,Won")
    monkeypatch.setenv("TUIKANBAN_LOCK_TIMEOUT", "0.5")
    with psycopg.connect(conninfo(parse_target(db_target))) as other:  # another rep's transaction, mid-write
        other.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK_KEY,))
        r = cli("deal", "add", "Acme")
        other.rollback()
    assert r.code == 1
    assert r.err.strip() == (f"The database {parse_target(db_target)} stayed locked by another process for over 0.5 "
                             "seconds; nothing was changed, try again.")
    assert rows(db_target, "SELECT count(*) FROM deal") == [(0,)]
    assert cli("deal", "add", "Acme").code == 0  # once the lock is free


@pytest.mark.postgres_only
def test_explicit_ids_never_break_the_next_add(db: Database, db_target: str, cli: Any) -> None:
    """Rows inserted with explicit ids (an import, a copy) move the id sequence past them."""
    from sqlalchemy import insert

    from tuikanban.store.tables import Deal

    sales = create_pipeline(db, "Sales", "Lead,Won")
    stage_id = rows(db_target, "SELECT id FROM stage WHERE name = 'Lead'")[0][0]
    first = create_deal(db, "Sales", "First", user="rep")
    assert first.id == 1

    def explicit(session: Any) -> None:
        deal_t = Deal.__table__  # type: ignore[attr-defined]
        session.connection().execute(insert(deal_t), [{
            "id": 500, "pipeline_id": sales.id, "title": "Imported", "stage_id": stage_id,
            "created_at": first.created_at, "stage_entered_at": first.created_at, "currency": "USD",
            "status": "open", "owner": "rep", "rank": 9, "version": 1}])

    db.write(explicit)
    r = cli("deal", "add", "Next")
    assert r.code == 0, r.err
    assert rows(db_target, "SELECT max(id) FROM deal") == [(501,)]


def test_numbers_sqlite_takes_are_not_out_of_range(db: Database, db_target: str) -> None:
    """BIGINT everywhere on PostgreSQL: a WIP limit of 3 billion and the largest deal value fit on both engines."""
    create_pipeline(db, "Sales", "Lead,Won")
    set_stage(db, "Sales", "Lead", wip_max=3_000_000_000)
    deal = create_deal(db, "Sales", "Huge", user="rep", value="9999999999999.99")
    assert rows(db_target, "SELECT wip_max FROM stage WHERE name = 'Lead'") == [(3_000_000_000,)]
    assert rows(db_target, "SELECT value_minor FROM deal WHERE id = :d", d=deal.id) == [(999_999_999_999_999,)]


def test_text_order_is_bytewise_on_both_engines(db: Database, db_target: str) -> None:
    """Whatever the server's collation: upper case before lower case, accents after ASCII (as on SQLite)."""
    create_pipeline(db, "Sales", "Lead,Won")
    titles = ["beta", "Beta", "alpha", "Zulu", "émile", "_x"]
    for title in titles:
        create_deal(db, "Sales", title, user="rep")
    ordered = [r[0] for r in rows(db_target, "SELECT title FROM deal ORDER BY title")]
    assert ordered == sorted(titles, key=lambda t: t.encode())  # ['Beta', 'Zulu', '_x', 'alpha', 'beta', 'émile']
    assert rows(db_target, "SELECT count(*) FROM deal WHERE title > 'Zulu'") == [(4,)]  # _x alpha beta émile


def test_a_read_sees_one_consistent_state(db: Database, db_target: str) -> None:
    from sqlalchemy import func, select

    from tuikanban.store.tables import Deal

    create_pipeline(db, "Sales", "Lead,Won")
    other = open_database(db_target)
    try:
        with db.read() as s:
            before = s.execute(select(func.count()).select_from(Deal)).scalar()
            create_deal(other, "Sales", "Committed meanwhile", user="rep2")
            during = s.execute(select(func.count()).select_from(Deal)).scalar()
        with db.read() as s:
            after = s.execute(select(func.count()).select_from(Deal)).scalar()
    finally:
        other.close()
    assert (before, during, after) == (0, 0, 1)


@pytest.mark.postgres_only
def test_two_first_starts_set_up_the_schema_once(db_target: str) -> None:
    opened: list[Database] = []
    failures: list[BaseException] = []
    go = threading.Barrier(3)

    def start() -> None:
        go.wait()
        try:
            opened.append(open_database(db_target))
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=start) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    for db in opened:
        db.close()
    assert failures == [] and len(opened) == 3
    assert sorted(rows(db_target, "SELECT key, value FROM tk_meta")) == [
        ("app", "tuikanban"), ("schema_version", str(SCHEMA_VERSION))]


@pytest.mark.postgres_only
def test_a_schema_of_another_program_is_left_untouched(db_target: str) -> None:
    import psycopg

    from tuikanban.store.pg import conninfo

    with psycopg.connect(conninfo(parse_target(db_target))) as con:
        con.execute("CREATE TABLE notes (id int PRIMARY KEY, body text)")
    with pytest.raises(DatabaseError) as caught:
        open_database(db_target)
    assert str(caught.value) == (f"The database {parse_target(db_target)} holds other tables but no tuikanban data; "
                                 "it was left untouched (give an empty database or schema).")
    assert sorted(r[0] for r in rows(db_target, "SELECT table_name FROM information_schema.tables WHERE "
                                                 "table_schema = current_schema()")) == ["notes"]


@pytest.mark.postgres_only
def test_a_newer_schema_is_refused(db: Database, db_target: str) -> None:
    db.close()
    import psycopg

    from tuikanban.store.pg import conninfo

    with psycopg.connect(conninfo(parse_target(db_target))) as con:
        con.execute("UPDATE tk_meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(DatabaseError, match=r"written by a newer tuikanban \(schema 99"):
        open_database(db_target)


# -- the same numbers -------------------------------------------------------------------------------------


@pytest.mark.postgres_only
def test_the_demo_gives_the_same_numbers_on_both_engines(cli: Any, db_target: str, tmp_path: Path,
                                                        fixed_now: str) -> None:
    """The demo board built in SQLite and copied to PostgreSQL: metrics, aging and deal lists are identical."""
    from tuikanban.services.demo import build_demo

    sqlite_file = tmp_path / "demo.db"
    build_demo(sqlite_file)
    copied = cli("--db", str(sqlite_file), "copy", "--to", db_target)
    assert copied.code == 0, copied.err
    assert copied.out.startswith("Copied 3 pipelines, ")
    listed = json.loads(cli("--db", str(sqlite_file), "pipeline", "list", "--json").out)
    names = [p["name"] for p in listed["pipelines"]]
    assert len(names) == 3
    for name in names:
        for command in (("metrics", "--json", "--seed", "7", "--backtest"), ("aging", "--json"),
                        ("deal", "list", "--json", "--status", "all")):
            on_sqlite = cli("--db", str(sqlite_file), "-p", name, *command)
            on_postgres = cli("--db", db_target, "-p", name, *command)
            assert on_sqlite.code == on_postgres.code == 0, (on_sqlite.err, on_postgres.err)
            assert json.loads(on_sqlite.out) == json.loads(on_postgres.out), (name, command)
            assert on_sqlite.out == on_postgres.out
    again = cli("--db", str(sqlite_file), "copy", "--to", db_target)
    assert again.code == 1 and "already holds pipelines" in again.err  # never merged into a board
    assert cli("--db", db_target, "deal", "add", "After the copy", "-p", names[0]).code == 0


@pytest.mark.postgres_only
def test_the_demo_built_on_postgres_gives_the_numbers_of_the_demo_built_in_a_file(
        cli: Any, db_target: str, tmp_path: Path, fixed_now: str) -> None:
    sqlite_file = tmp_path / "demo.db"
    built = cli("demo", "--db", db_target, "--no-open", "--seed", "5")
    assert built.code == 0, built.err
    assert built.out.startswith(f"Demo database written to {parse_target(db_target)} (seed 5, ")
    assert cli("demo", "--db", str(sqlite_file), "--no-open", "--seed", "5").code == 0
    for command in (("metrics", "--json", "--seed", "7"), ("aging", "--json"),
                    ("deal", "list", "--json", "--status", "all")):
        on_sqlite = cli("--db", str(sqlite_file), *command)
        on_postgres = cli("--db", db_target, *command)
        assert on_sqlite.code == on_postgres.code == 0, (on_sqlite.err, on_postgres.err)
        assert on_sqlite.out == on_postgres.out, command
    kept = cli("demo", "--db", db_target, "--no-open")
    assert kept.out.startswith(f"A demo database already exists at {parse_target(db_target)} (built with seed 5)")
    rebuilt = cli("demo", "--db", db_target, "--no-open", "--fresh", "--seed", "6")
    assert rebuilt.code == 0 and "(seed 6, " in rebuilt.out
    assert rows(db_target, "SELECT value FROM tk_meta WHERE key = 'demo'") == [("seed=6",)]
    assert cli("--db", db_target, "deal", "add", "After the demo").code == 0  # ids go on after the demo's


@pytest.mark.postgres_only
def test_the_demo_refuses_a_postgres_database_with_other_data_even_with_fresh(cli: Any, db_target: str) -> None:
    assert cli("pipeline", "create", "Sales", "--stages", "Lead,Won it").code == 0
    assert cli("deal", "add", "Acme").code == 0
    for extra in ((), ("--fresh",)):
        refused = cli("demo", "--db", db_target, "--no-open", *extra)
        assert refused.code == 1
        assert refused.err.strip() == (
            f"{parse_target(db_target)} already holds other tuikanban data (1 pipeline, 1 deal); the demo never "
            "writes into it, so give it an empty database or schema with --db.")
    assert rows(db_target, "SELECT title FROM deal") == [("Acme",)]


# -- operations -------------------------------------------------------------------------------------------


@pytest.mark.postgres_only
def test_backup_is_a_pg_dump_that_restores(cli: Any, db: Database, db_target: str, tmp_path: Path,
                                           pg_database: str) -> None:
    import subprocess

    import psycopg

    from engines import database_url
    from tuikanban.store.pg import conninfo

    create_pipeline(db, "Sales", "Lead,Won")
    create_deal(db, "Sales", "Acme", user="rep", value="1200")
    r = cli("backup", str(tmp_path))
    assert r.code == 0, r.err
    dumps = list(tmp_path.glob("*.dump"))
    assert len(dumps) == 1 and r.out.startswith(f"Backed up {parse_target(db_target)} to {dumps[0]} (")
    restored_db = f"{pg_database}_restored"
    with psycopg.connect(conninfo(parse_target(database_url(pg_database))), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{restored_db}"')
    try:
        restored = parse_target(db_target.replace(f"/{pg_database}?", f"/{restored_db}?"))
        done = subprocess.run(["pg_restore", "--no-owner", f"--dbname={restored.database}"]
                              + ([f"--host={restored.host}"] if restored.host else []) + [str(dumps[0])],
                              capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        shown = cli("--db", str(db_target), "deal", "list", "--json")
        again = cli("--db", db_target.replace(f"/{pg_database}?", f"/{restored_db}?"), "deal", "list", "--json")
        assert again.code == 0 and json.loads(again.out) == json.loads(shown.out)
    finally:
        with psycopg.connect(conninfo(parse_target(database_url(pg_database))), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{restored_db}" WITH (FORCE)')


def test_pg_dump_gets_the_password_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import subprocess

    from tuikanban.store import pg

    seen: dict[str, Any] = {}

    def fake_run(args: list[str], **kw: Any) -> subprocess.CompletedProcess[str]:
        seen["args"], seen["env"] = args, kw["env"]
        return subprocess.CompletedProcess(args, 1, "", f"pg_dump: error: connection to postgresql://ana:{SECRET}@h "
                                                         "failed\n")

    monkeypatch.setattr(subprocess, "run", fake_run)
    monkeypatch.setattr("shutil.which", lambda _name: "/usr/bin/pg_dump")
    with pytest.raises(DatabaseError) as caught:
        pg.dump(parse_target(f"postgresql://ana:{SECRET}@h:5433/sales"), str(tmp_path / "x.dump"))
    assert not any(SECRET in a for a in seen["args"])
    assert seen["env"]["PGPASSWORD"] == SECRET
    assert "--format=custom" in seen["args"] and "--host=h" in seen["args"] and "--port=5433" in seen["args"]
    assert SECRET not in str(caught.value)
    assert str(caught.value) == ("pg_dump could not back up postgresql://ana@h:5433/sales: connection to "
                                 "postgresql://ana@h failed.")


@pytest.mark.postgres_only
def test_doctor_on_postgres(cli: Any, db: Database) -> None:
    create_pipeline(db, "Sales", "Lead,Won")
    create_deal(db, "Sales", "Acme", user="rep")
    r = cli("doctor", "--json")
    assert r.code == 0, r.out + r.err
    checks = {c["name"]: c for c in json.loads(r.out)["checks"]}
    assert {"server", "database", "access", "backup", "history"} <= set(checks)
    assert checks["server"]["message"].startswith("Connected to PostgreSQL ")
    assert checks["history"]["message"] == "The event log and stays agree with the one deal."
    assert all(c["level"] != "problem" for c in checks.values())


def test_a_json_import_then_deal_add(cli: Any, db_target: str, tmp_path: Path) -> None:
    """A pipeline exported from another board and imported where ids 1.. are taken; the next add still works."""
    source = str(tmp_path / "source.db")
    assert cli("--db", source, "pipeline", "create", "Sales", "--stages", "Lead,Won").code == 0
    for title in ("One", "Two", "Three"):
        assert cli("--db", source, "deal", "add", title).code == 0
    export = tmp_path / "sales.json"
    assert cli("--db", source, "export", "--format", "json", "-o", str(export)).code == 0
    assert cli("pipeline", "create", "Other", "--stages", "A,B").code == 0
    assert cli("deal", "add", "Existing", "-p", "Other").code == 0
    imported = cli("import", str(export))
    assert imported.code == 0, imported.err
    added = cli("deal", "add", "After the import", "-p", "Sales")
    assert added.code == 0, added.err
    ids = [r[0] for r in rows(db_target, "SELECT id FROM deal ORDER BY id")]
    assert len(ids) == len(set(ids)) == 5
    assert rows(db_target, "SELECT title FROM deal WHERE id = :i", i=max(ids)) == [("After the import",)]


@pytest.mark.postgres_only  # (no server needed: the URL is of a closed port)
def test_the_board_on_an_unreachable_server_and_the_demo_say_so_in_one_sentence(
        cli: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import tuikanban.cli.board as cli_board

    monkeypatch.setattr(cli_board, "has_terminal", lambda: True)  # fails before Textual takes the screen
    url = f"postgresql://ana:{SECRET}@127.0.0.1:1/sales"
    board = cli("--db", url)
    assert board.code == 1
    assert board.err.strip() == ("The PostgreSQL server for postgresql://ana@127.0.0.1:1/sales cannot be reached "
                                 "(is it running?); nothing was changed.")
    demo = cli("demo", "--db", url, "--no-open")
    assert demo.code == 1
    assert demo.err.strip() == ("The PostgreSQL server for postgresql://ana@127.0.0.1:1/sales cannot be reached "
                                "(is it running?); nothing was changed.")


def test_without_psycopg_a_postgres_target_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "psycopg" else real(name, *a))
    with pytest.raises(DatabaseError) as caught:
        open_database(f"postgresql://ana:{SECRET}@127.0.0.1/sales")
    assert str(caught.value) == ('PostgreSQL support is not installed; install it with: '
                                 'pip install "tuikanban[postgres]"')


def test_the_last_pipeline_of_a_url_is_remembered_without_the_password(tmp_path: Path) -> None:
    from tuikanban.settings import load_settings, remember

    path = tmp_path / "config.toml"
    assert remember(db_path=f"postgresql://ana:{SECRET}@h/sales", pipeline="SMB", path=path) is None
    assert SECRET not in path.read_text()
    assert load_settings(path).pipeline_for("postgresql://ana@h/sales") == "SMB"
