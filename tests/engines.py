"""Database targets for tests on both engines, an engine-neutral way to read rows for independent checks, and the
check that every test taking the database is marked `engines`, `sqlite_only` or `postgres_only`.

The PostgreSQL half runs against TUIKANBAN_TEST_PG (a postgresql:// URL of a server where the user may create
databases), else the local default server (postgresql://root@127.0.0.1/postgres-style, through libpq defaults).
One database with a random name is created for the test session and dropped at its end; each test gets a schema
of its own in it (its URL sets the search_path). When no server is reachable, PostgreSQL tests skip with one
reason, except under CI (the CI variable set), where they fail: CI must run both halves.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

ENV_TEST_PG = "TUIKANBAN_TEST_PG"
ENGINES = ("sqlite", "postgresql")

# Which engine a test that uses the database is for: both, or one of them for a reason of that engine's own.
MARKERS = ("engines", "sqlite_only", "postgres_only")
# A test uses the test's database when it takes one of these fixtures (directly or through its own fixtures).
DATABASE_FIXTURES = frozenset({"db", "db_target", "cli", "pg_schema"})


@dataclass
class MarkerCheck:
    """What the collection found: the modules that gave tests, and the tests without an engine marker."""

    modules: set[str] = field(default_factory=set)
    problems: list[str] = field(default_factory=list)


MARKER_CHECK = pytest.StashKey[MarkerCheck]()
# Set by tests/test_markers.py for a collection it runs itself: where to write the check (as JSON).
ENV_MARKER_REPORT = "TUIKANBAN_TEST_MARKER_REPORT"


def server_url() -> str:
    """The admin URL of the test server (its database is only used to create and drop the test database)."""
    return os.environ.get(ENV_TEST_PG, "").strip() or "postgresql:///postgres"


def _connect(url: str) -> Any:
    import psycopg

    from tuikanban.domain.targets import parse_target

    t = parse_target(url)
    return psycopg.connect(host=t.host, port=t.port, user=t.user, password=t.password, dbname=t.database,
                           autocommit=True, connect_timeout=3)


def unreachable_reason() -> str | None:
    """None when the test server answers, else why not (one sentence, without a password)."""
    from tuikanban.domain.targets import parse_target

    try:
        import psycopg
    except ImportError:
        return "psycopg is not installed"
    try:
        _connect(server_url()).close()
    except psycopg.Error as exc:
        return f"no PostgreSQL server at {parse_target(server_url())} ({str(exc).strip().splitlines()[0]})"
    return None


def require_server() -> None:
    reason = unreachable_reason()
    if reason is None:
        return
    if os.environ.get("CI"):
        pytest.fail(f"CI needs the PostgreSQL half of the tests: {reason} (set {ENV_TEST_PG}).", pytrace=False)
    pytest.skip(f"PostgreSQL tests skipped: {reason} (set {ENV_TEST_PG} to a server URL)")


def database_url(database: str, schema: str | None = None) -> str:
    """The URL of `database` on the test server (keeping its user, host and password), in `schema` if given."""
    from tuikanban.domain.targets import parse_target

    t = parse_target(server_url())
    auth = quote(t.user or "", safe="")
    if t.password:
        auth += ":" + quote(t.password, safe="")
    host = f"[{t.host}]" if t.host and ":" in t.host else (t.host or "")
    url = f"postgresql://{auth + '@' if auth else ''}{host}{':' + str(t.port) if t.port else ''}/{database}"
    if schema:
        url += "?options=" + quote(f"-csearch_path={schema}", safe="")
    return url


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A fresh database with a random name for this test session, dropped at the end."""
    require_server()
    name = f"tk_test_{secrets.token_hex(4)}"
    admin = _connect(server_url())
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield name
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def new_schema(database: str) -> str:
    """A new empty schema in `database`; returns the URL that works in it."""
    schema = f"t_{secrets.token_hex(5)}"
    con = _connect(database_url(database))
    try:
        con.execute(f'CREATE SCHEMA "{schema}"')
    finally:
        con.close()
    return database_url(database, schema)


def drop_schema(url: str) -> None:
    from tuikanban.domain.targets import parse_target

    t = parse_target(url)
    schema = dict(t.query)["options"].split("=", 1)[1]
    con = _connect(database_url(t.database or ""))
    try:
        con.execute("SET lock_timeout = '5s'")
        con.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    except Exception:
        pass
    finally:
        con.close()


def _engine_of(target: str | Path) -> Any:
    """A SQLAlchemy engine of its own on the target (a file or a URL), for checks made past tuikanban."""
    from sqlalchemy import create_engine

    from tuikanban.domain.targets import parse_target

    t = parse_target(target)
    if t.path is not None:
        return create_engine(f"sqlite:///{t.path}")
    from tuikanban.store.pg import make_engine

    return make_engine(t)


def rows(target: str | Path, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    """Rows of `sql` read through SQLAlchemy on a connection of its own (an independent check on either engine)."""
    from sqlalchemy import text

    engine = _engine_of(target)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(sql), params)]
    finally:
        engine.dispose()


def execute(target: str | Path, *statements: tuple[str, dict[str, Any]]) -> None:
    """Run `statements` (SQL with :named parameters, and the parameters) in one transaction of their own, past
    tuikanban, as another program with write access to the database could (on either engine)."""
    from sqlalchemy import text

    engine = _engine_of(target)
    try:
        with engine.begin() as conn:
            for sql, params in statements:
                conn.execute(text(sql), params)
    finally:
        engine.dispose()


# A module opens a database itself (rather than through the fixtures above) when its source names one of these.
OPENS_A_DATABASE = re.compile(r"\b(?:open_database|sqlite3\.connect|psycopg\.connect|create_engine|first_read)\("
                              r"|[\"']--db[\"']|\bpg_database\b")


def _takes_the_database(item: Any) -> bool:
    return bool(set(getattr(item, "fixturenames", ())) & (DATABASE_FIXTURES | {"db_path", "pg_database"}))


def _engine_param(item: Any) -> str | None:
    callspec = getattr(item, "callspec", None)
    return None if callspec is None else callspec.params.get("engine")


def marker_problems(items: Iterable[Any]) -> list[str]:
    """One line per problem with the engine markers of the collected tests:

    - a test that takes the test's database (db_path, the SQLite file, included) without a marker saying which
      engines it is for, or with both `sqlite_only` and `postgres_only`;
    - a module that uses a database (one of its tests takes it, or its source opens one: `open_database(`,
      `sqlite3.connect(`, `--db`...) without a module-level marker (`pytestmark`): each database module says
      which half of the suite it belongs to, and a test in it may only narrow that (`sqlite_only`, `postgres_only`);
    - a module marked `engines` none of whose tests runs on PostgreSQL (none takes the database): the marker
      would claim a PostgreSQL half that does not exist.
    """
    problems = []
    modules: dict[str, list[Any]] = {}
    for item in items:
        modules.setdefault(item.getparent(pytest.Module).nodeid, []).append(item)
        if not _takes_the_database(item):
            continue
        marked = [name for name in MARKERS if item.get_closest_marker(name) is not None]
        if not marked:
            problems.append(f"{item.nodeid}: takes the database but is marked none of {', '.join(MARKERS)}")
        elif {"sqlite_only", "postgres_only"} <= set(marked):
            problems.append(f"{item.nodeid}: marked both sqlite_only and postgres_only")
    for nodeid, tests in modules.items():
        module = tests[0].getparent(pytest.Module)
        marks = {mark.name for mark in module.own_markers} & set(MARKERS)
        uses = [t for t in tests if _takes_the_database(t)]
        opens = OPENS_A_DATABASE.search(Path(module.path).read_text())
        if not marks and (uses or opens):
            why = (f"{uses[0].name} takes the database" if uses
                   else f"its source names {opens.group(0).rstrip('(')}")  # type: ignore[union-attr]
            problems.append(f"{nodeid}: uses a database ({why}) but has no module marker (pytestmark = "
                            f"pytest.mark.engines, sqlite_only or postgres_only)")
        if "engines" in marks and not any(_engine_param(t) == "postgresql" for t in tests):
            problems.append(f"{nodeid}: marked engines but none of its tests takes the database, so none runs on "
                            "PostgreSQL (drop the marker, or take db / db_target)")
    return problems


def upgraded_from(target: str, version: int, dropped: Iterable[str]) -> Any:
    """The board at `target` as schema `version` left it (the indexes `dropped`, which a later schema added, dropped
    again and the version set back), opened again: the open database, checked to be at the current schema with
    those indexes back on either engine. The caller closes it."""
    from sqlalchemy import text

    from tuikanban.store.engine import open_database
    from tuikanban.store.version import SCHEMA_VERSION

    names = sorted(dropped)
    old = open_database(target)
    with old.engine.begin() as conn:
        for name in names:
            conn.execute(text(f"DROP INDEX {name}"))
        conn.execute(text(f"UPDATE tk_meta SET value = '{version}' WHERE key = 'schema_version'"))
    old.close()
    db = open_database(target)
    assert db.schema_version() == SCHEMA_VERSION > version
    catalog = ("SELECT indexname FROM pg_indexes" if target.startswith("postgresql")
               else "SELECT name FROM sqlite_master WHERE type = 'index'")
    with db.engine.connect() as conn:
        found = {r[0] for r in conn.execute(text(catalog))}
    assert set(names) <= found, sorted(set(names) - found)
    return db
