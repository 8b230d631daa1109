"""Shared fixtures: a fresh database per test, a fixed clock, and an in-process CLI runner."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tuikanban.store.engine import Database, open_database

FIXED_NOW = "2026-03-02T12:00:00+00:00"


def pytest_configure(config: pytest.Config) -> None:
    """Before the test modules import the CLI: no terminal size from the environment. A Rich console fixes its size
    for good when COLUMNS and LINES are both set at its creation (pytest-xdist workers start with 80 x 24), and the
    CLI's consoles are created once per process; tests that need a width set COLUMNS themselves."""
    for name in ("COLUMNS", "LINES"):
        os.environ.pop(name, None)


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
        for name in [n for n in os.environ if n.startswith("TUIKANBAN_")]:
            mp.delenv(name)
        _point_home_at(mp, tmp_path_factory.mktemp("session-home"))
        yield


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test touches the real user's data or config directories (nor another test's: tmp_path is per test and
    per xdist worker), and every test is the same user."""
    monkeypatch.setenv("TUIKANBAN_USER", "tester")
    monkeypatch.delenv("TUIKANBAN_NOW", raising=False)
    _point_home_at(monkeypatch, tmp_path)
    monkeypatch.setenv("TUIKANBAN_DB", str(tmp_path / "board.db"))


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return Path(os.environ["TUIKANBAN_DB"])


@pytest.fixture
def db(db_path: Path) -> Iterator[Database]:
    database = open_database(db_path)
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
