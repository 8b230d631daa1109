"""The suite never sees the real user's settings, themes, data or TUIKANBAN_* variables (tests/conftest.py), in
every pytest-xdist worker and in module-scoped fixtures too, and no two tests share a HOME. And the README's second
test run (`pytest -m slow`) always has tests to run: pytest ends with exit status 5 when a selection is empty."""

from __future__ import annotations

import os
import pwd
from pathlib import Path

import pytest

from tuikanban.settings import config_path, user_themes_dir
from tuikanban.store.engine import default_db_path

XDG = ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME")
REAL_HOME = Path(pwd.getpwuid(os.getuid()).pw_dir)
TERMINAL_SIZE_AT_IMPORT = {n: os.environ[n] for n in ("COLUMNS", "LINES") if n in os.environ}


@pytest.fixture(scope="module")
def module_env() -> dict[str, str]:
    """What a module-scoped fixture sees: it runs before the per-test isolation."""
    return dict(os.environ)


def test_each_test_has_a_home_and_settings_of_its_own(tmp_path: Path) -> None:
    assert Path(os.environ["HOME"]) == tmp_path / "home"
    for name in XDG:
        assert Path(os.environ[name]).parent == tmp_path, name
    assert config_path().is_relative_to(tmp_path)
    assert user_themes_dir().is_relative_to(tmp_path)
    assert default_db_path().is_relative_to(tmp_path)
    assert Path(os.environ["TUIKANBAN_DB"]) == tmp_path / "board.db"
    assert os.environ["TUIKANBAN_USER"] == "tester"
    # (TUIKANBAN_TEST_* name the test servers: the tests' own settings, kept)
    settings = sorted(n for n in os.environ if n.startswith("TUIKANBAN_") and not n.startswith("TUIKANBAN_TEST_"))
    assert settings == ["TUIKANBAN_DB", "TUIKANBAN_USER"]


def test_module_fixtures_see_the_sessions_home_not_the_real_one(module_env: dict[str, str],
                                                               tmp_path_factory: pytest.TempPathFactory) -> None:
    base = tmp_path_factory.getbasetemp()  # per xdist worker (popen-gwN) when the run is parallel
    assert Path(module_env["HOME"]).is_relative_to(base)
    assert Path(module_env["HOME"]) != REAL_HOME
    for name in XDG:
        assert Path(module_env[name]).is_relative_to(base), name
    assert not [n for n in module_env if n.startswith("TUIKANBAN_") and not n.startswith("TUIKANBAN_TEST_")]


def test_no_terminal_size_is_fixed_before_the_cli_is_imported() -> None:
    """COLUMNS and LINES together would freeze the CLI's console size when the test modules import it."""
    assert TERMINAL_SIZE_AT_IMPORT == {}


def test_the_slow_selection_is_never_empty() -> None:
    marked = [p.name for p in Path(__file__).parent.glob("test_*.py") if "@pytest.mark.slow\n" in p.read_text()]
    assert "test_multiprocess_wip.py" in marked and "test_concurrency.py" in marked, marked
