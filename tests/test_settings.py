"""The config file: location, round trip, the tiny TOML writer, and a broken file left alone."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

import pytest

from tuikanban import settings as st

pytestmark = pytest.mark.engines  # the tests that use a database run on SQLite and on PostgreSQL


def expected_path() -> Path:
    return Path(os.environ["XDG_CONFIG_HOME"]) / "tuikanban" / "config.toml"


def test_the_config_lives_in_the_user_config_dir() -> None:
    assert st.config_path() == expected_path()
    assert st.user_themes_dir() == expected_path().parent / "themes"


def test_no_file_means_defaults_without_a_problem() -> None:
    s = st.load_settings()
    assert (s.theme, s.last_pipeline, s.problem) == (None, {}, None)
    assert not expected_path().exists()


def test_settings_round_trip(tmp_path: Path) -> None:
    db = tmp_path / "team.db"
    s = st.Settings(theme="solarized-deal")
    s.set_pipeline(db, "Enterprise")
    written = st.save_settings(s)
    assert written == expected_path()
    back = st.load_settings()
    assert back.theme == "solarized-deal"
    assert back.pipeline_for(db) == "Enterprise"
    assert back.pipeline_for(tmp_path / "other.db") is None
    assert back.problem is None
    assert tomllib.loads(expected_path().read_text()) == {
        "theme": "solarized-deal", "last_pipeline": {str(db.resolve()): "Enterprise"}}


def test_remember_changes_one_thing_and_keeps_the_rest(tmp_path: Path) -> None:
    assert st.remember(theme="nord-pipeline") is None
    assert st.remember(db_path=tmp_path / "a.db", pipeline="SMB") is None
    assert st.remember(db_path=tmp_path / "b.db", pipeline="Partnerships") is None
    s = st.load_settings()
    assert s.theme == "nord-pipeline"
    assert s.pipeline_for(tmp_path / "a.db") == "SMB"
    assert s.pipeline_for(tmp_path / "b.db") == "Partnerships"
    assert st.remember(theme=None) is None
    assert st.load_settings().theme is None
    assert st.load_settings().pipeline_for(tmp_path / "a.db") == "SMB"


def test_unknown_keys_are_kept_when_saving() -> None:
    path = expected_path()
    path.parent.mkdir(parents=True)
    path.write_text('theme = "high-contrast"\nfuture_option = [1, 2]\n\n[future]\nflag = true\n')
    assert st.remember(theme="tuikanban-light") is None
    assert tomllib.loads(path.read_text()) == {
        "theme": "tuikanban-light", "future_option": [1, 2], "future": {"flag": True}}


@pytest.mark.parametrize("text, why", [
    ("theme = [unclosed\n", "it is not valid TOML"),
    ("theme = 3\n", "its 'theme' is not a theme name in quotes"),
    ("last_pipeline = \"SMB\"\n", "its [last_pipeline] table does not map files to names"),
])
def test_a_broken_config_is_reported_used_as_defaults_and_never_overwritten(text: str, why: str) -> None:
    path = expected_path()
    path.parent.mkdir(parents=True)
    path.write_text(text)
    s = st.load_settings()
    assert s.theme is None and s.last_pipeline == {}
    assert s.problem is not None
    assert s.problem.startswith(f"The config file {path} was not used because {why}")
    assert s.problem.endswith("the defaults apply and the file was left as it is.")
    assert "\n" not in s.problem
    with pytest.raises(st.SettingsError, match="could not be read, so it was not overwritten"):
        st.save_settings(st.Settings(theme="nord-pipeline"))
    problem = st.remember(theme="nord-pipeline")
    assert problem == s.problem
    assert path.read_text() == text


def test_a_folder_in_place_of_the_file_is_a_problem_not_a_crash() -> None:
    expected_path().mkdir(parents=True)
    s = st.load_settings()
    assert s.problem is not None and "it is a folder" in s.problem


AWKWARD = {
    "plain": "text",
    "quotes": 'say "hi" \\ back',
    "lines": "one\ntwo\tthree\r",
    "control": "bell\x07 del\x7f",
    "unicode": "Zürich – 東京 ✓",
    "number": 42,
    "negative": -7,
    "ratio": 0.25,
    "yes": True,
    "no": False,
    "list": ["a", "b\"c", 3],
    "empty table": {},
    "nested": {"/home/ana/my db.sqlite": "SMB", "deeper": {"k": "v", "x y": [1.5, 2.5]}},
}


def test_the_toml_writer_round_trips_awkward_values() -> None:
    text = st.dumps_toml(AWKWARD)
    assert tomllib.loads(text) == AWKWARD


def test_the_toml_writer_output_is_plain_to_read() -> None:
    text = st.dumps_toml({"theme": "nord-pipeline", "last_pipeline": {"/data/t.db": "SMB"}})
    assert text == 'theme = "nord-pipeline"\n\n[last_pipeline]\n"/data/t.db" = "SMB"\n'


def test_config_commands(cli) -> None:  # type: ignore[no-untyped-def]
    r = cli("config", "path")
    assert r.code == 0
    assert r.out.strip() == str(expected_path())
    r = cli("config", "show")
    assert r.code == 0
    assert "not created yet" in r.out
    assert cli("config", "theme", "high-contrast").code == 0
    r = cli("config", "show")
    assert "Theme:       high-contrast" in r.out
    expected_path().write_text("theme = \n")
    r = cli("config", "show")
    assert r.code == 0
    assert r.err.strip().startswith(f"The config file {expected_path()} was not used because it is not valid TOML")
    r = cli("config", "theme", "nord-pipeline")
    assert r.code == 1
    # one sentence: the broken file is named, kept as it is, and not overwritten with the new theme
    assert r.err.strip() == (f"The config file {expected_path()} was not used because it is not valid TOML (Invalid "
                             "value (at line 1, column 9)); the defaults apply and the file was left as it is.")
    assert expected_path().read_text() == "theme = \n"


def test_two_saves_at_once_both_land(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The board saves the rep's view on the UI thread while a job saves the last pipeline on another thread: each
    loads, changes and saves the file. Loading is slowed so that, without the lock, both would load the same file and
    the second save would drop the first one's change (the view, then lost on the next start)."""
    import threading
    import time

    real_load = st.load_settings

    def slow_load(path: Path | None = None) -> st.Settings:
        loaded = real_load(path)
        time.sleep(0.2)
        return loaded

    monkeypatch.setattr(st, "load_settings", slow_load)
    board = tmp_path / "board.db"
    view = st.SavedView(query="owner:alice", sort="value", density="compact")
    results: list[str | None] = []
    threads = [threading.Thread(target=lambda: results.append(st.remember(db_path=board, pipeline="Partners"))),
               threading.Thread(target=lambda: results.append(st.remember_view(board, "tester", "Sales", view)))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [None, None]
    saved = real_load()
    assert saved.pipeline_for(board) == "Partners"
    assert st.saved_view(saved, board, "tester", "Sales") == view


@pytest.mark.parametrize("text, refusal", [
    ('db = "postgresql://ana:s3cret@host/sales"\n', "holds a password"),
    ('db = "postgresql://ana@host/sales"\ntheme = "nord\n', "is not valid TOML"),  # broken, with a db line
    ("db = 3\n", "its 'db' is not a file path or URL in quotes"),
    ('db = "mysql://host/sales"\n', "unknown scheme 'mysql'"),  # read, but not a database tuikanban can open
])
def test_help_and_config_show_work_with_a_config_file_whose_db_is_refused(
        cli: Any, tmp_path: Path, text: str, refusal: str) -> None:
    """Help needs no database: the root's and every command's `--help` (and a group without its command) print
    their help even when the config file's `db` is refused; the commands that need the database still refuse it
    in one sentence, and nothing is created."""
    expected_path().parent.mkdir(parents=True)
    expected_path().write_text(text)
    os.environ.pop("TUIKANBAN_DB")  # restored by the autouse fixture's monkeypatch
    before = sorted(p for p in tmp_path.rglob("*") if p.is_file())
    for args, usage in [(("--help",), "Usage: tuikanban [OPTIONS]"), (("deal", "--help"), "Usage: tuikanban deal "),
                        (("deal",), "Usage: tuikanban deal "), (("task", "list", "--help"), "--include-snoozed"),
                        (("deal", "add", "--help"), "Usage: tuikanban deal add"),  # the fast path's command
                        (("aging", "--help"), "Usage: tuikanban aging"), (("-p", "Sales", "today", "--help"),
                                                                         "Usage: tuikanban today")]:
        r = cli(*args)
        assert (r.code, r.err) == (0, ""), (args, r.err)
        assert usage in r.out, args
    shown = cli("config", "show")
    assert shown.code == 0 and "Config file:" in shown.out
    for args in [("deal", "list"), ("deal", "add", "Acme"), ("task", "list"), ("today",), ()]:
        r = cli(*args)
        assert r.code == 1 and r.out == "" and refusal in r.err and "Traceback" not in r.err, (args, r.err)
        assert "s3cret" not in r.err and len(r.err.strip().splitlines()) <= 2  # one sentence (wrapped)
    assert sorted(p for p in tmp_path.rglob("*") if p.is_file()) == before  # no default board was created
