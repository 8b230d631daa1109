"""Shared fixtures: a fresh database per test, a fixed clock, and an in-process CLI runner."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from engines import (  # noqa: F401 - pg_database is a fixture
    DATABASE_FIXTURES,
    ENGINES,
    ENV_MARKER_REPORT,
    MARKER_CHECK,
    MarkerCheck,
    drop_schema,
    marker_problems,
    new_schema,
    pg_database,
)
from tuikanban.store.engine import Database, open_database

FIXED_NOW = "2026-03-02T12:00:00+00:00"


def pytest_configure(config: pytest.Config) -> None:
    """Before the test modules import the CLI: no terminal size from the environment. A Rich console fixes its size
    for good when COLUMNS and LINES are both set at its creation (pytest-xdist workers start with 80 x 24), and the
    CLI's consoles are created once per process; tests that need a width set COLUMNS themselves."""
    for name in ("COLUMNS", "LINES"):
        os.environ.pop(name, None)
    config.addinivalue_line("markers", "engines: run the test on SQLite and on PostgreSQL (the `engine` fixture)")
    config.addinivalue_line("markers", "sqlite_only: the test is about the SQLite file itself")
    config.addinivalue_line("markers", "postgres_only: the test is about a PostgreSQL mechanism (NOTIFY, locks)")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--engine", choices=ENGINES, default=None,
                     help="run one half of the suite: the tests on this engine only (sqlite: with the tests that "
                          "use no database)")


def _engine_of(item: pytest.Item) -> str:
    """The engine a collected test runs on (a test without a database counts as SQLite's half)."""
    callspec = getattr(item, "callspec", None)
    return str(callspec.params.get("engine", "sqlite")) if callspec is not None else "sqlite"


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects any: the check covers the whole collection
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    check = MarkerCheck({item.path.name for item in items}, marker_problems(items))
    config.stash[MARKER_CHECK] = check
    report = os.environ.get(ENV_MARKER_REPORT)
    if report:
        Path(report).write_text(json.dumps({"modules": sorted(check.modules), "problems": check.problems}))
    half = config.getoption("--engine")
    if half is not None:
        other = [item for item in items if _engine_of(item) != half]
        if other:
            config.hook.pytest_deselected(items=other)
            items[:] = [item for item in items if _engine_of(item) == half]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Tests marked `engines` run once per engine; `postgres_only` ones on PostgreSQL, `sqlite_only` on SQLite.

    A module marked `engines` as a whole runs its tests that use no database (pure rules, formatting) once."""
    def marked(name: str) -> bool:
        return metafunc.definition.get_closest_marker(name) is not None

    if marked("postgres_only"):
        metafunc.parametrize("engine", ["postgresql"], indirect=True)
    elif marked("engines") and not marked("sqlite_only") and DATABASE_FIXTURES & set(metafunc.fixturenames):
        metafunc.parametrize("engine", ENGINES, indirect=True)


@pytest.fixture
def engine(request: pytest.FixtureRequest) -> str:
    """Which engine the test's database is on: sqlite, unless the test runs on both (marked `engines`)."""
    return str(getattr(request, "param", "sqlite"))


@pytest.fixture
def pg_schema(pg_database: str) -> Iterator[str]:  # noqa: F811 - pg_database is the fixture imported above
    """The URL of a fresh schema of its own for one test, dropped afterwards."""
    url = new_schema(pg_database)
    yield url
    drop_schema(url)


def _point_home_at(mp: pytest.MonkeyPatch, root: Path) -> None:
    """HOME and every XDG folder under `root`, so platformdirs finds no real config, data, cache or state."""
    mp.setenv("HOME", str(root / "home"))
    for name, folder in (("XDG_CONFIG_HOME", "xdg-config"), ("XDG_DATA_HOME", "xdg-data"),
                         ("XDG_CACHE_HOME", "xdg-cache"), ("XDG_STATE_HOME", "xdg-state")):
        mp.setenv(name, str(root / folder))


@pytest.fixture(scope="session", autouse=True)
def _no_real_user_environment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Before any other fixture (module- and session-scoped ones too), in every process (each pytest-xdist worker
    runs this itself): no TUIKANBAN_* setting of the person running the tests, and a HOME of the session's own."""
    with pytest.MonkeyPatch.context() as mp:
        # (TUIKANBAN_TEST_* say where the test servers are: they are the tests' own settings, and stay)
        for name in [n for n in os.environ if n.startswith("TUIKANBAN_") and not n.startswith("TUIKANBAN_TEST_")]:
            mp.delenv(name)
        _point_home_at(mp, tmp_path_factory.mktemp("session-home"))
        yield


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, engine: str, request: pytest.FixtureRequest
                  ) -> None:
    """No test touches the real user's data or config directories (nor another test's: tmp_path is per test and
    per xdist worker), and every test is the same user.

    TUIKANBAN_DB is a file in the test's folder, or on PostgreSQL the URL of a schema of its own."""
    monkeypatch.setenv("TUIKANBAN_USER", "tester")
    monkeypatch.delenv("TUIKANBAN_NOW", raising=False)
    _point_home_at(monkeypatch, tmp_path)
    target = str(request.getfixturevalue("pg_schema")) if engine == "postgresql" else str(tmp_path / "board.db")
    monkeypatch.setenv("TUIKANBAN_DB", target)


@pytest.fixture
def db_path(engine: str) -> Path:
    """The SQLite file of the test's database (a test on both engines takes `db_target` instead)."""
    if engine != "sqlite":
        raise AssertionError("db_path is the SQLite file; use db_target in tests that run on both engines")
    return Path(os.environ["TUIKANBAN_DB"])


@pytest.fixture
def db_target() -> str:
    """The test's database as the CLI takes it: a file path or a postgresql:// URL."""
    return os.environ["TUIKANBAN_DB"]


@pytest.fixture
def db(db_target: str) -> Iterator[Database]:
    database = open_database(db_target)
    yield database
    database.close()


@pytest.fixture
def fixed_now(monkeypatch: pytest.MonkeyPatch) -> str:
    """Fix the one clock (TUIKANBAN_NOW) at 2026-03-02 12:00 UTC."""
    monkeypatch.setenv("TUIKANBAN_NOW", FIXED_NOW)
    return FIXED_NOW


@dataclass
class CliResult:
    code: int
    out: str
    err: str


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]):  # type: ignore[no-untyped-def]
    """Run `tuikanban ARGS...` in-process; returns exit code, stdout and stderr."""
    from tuikanban.cli import main

    def run(*args: str) -> CliResult:
        capsys.readouterr()
        code = 0
        try:
            main(list(args))
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run
