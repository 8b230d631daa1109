"""What a new user meets following the README: without the PostgreSQL driver a PostgreSQL target gets one sentence
(on the fast read paths too, which try libpq first), and `config show` names the settings the board remembers."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tuikanban.settings import config_path

pytestmark = pytest.mark.engines  # the test that uses a database is postgres_only (a URL's missing schema)

NO_DRIVER = 'PostgreSQL support is not installed; install it with: pip install "tuikanban[postgres]"'

# The CLI in a process where psycopg cannot be imported (as after `pip install .` without the extra).
WITHOUT_PSYCOPG = """
import sys
sys.modules["psycopg"] = None
from tuikanban.cli import main
main(sys.argv[1:])
"""


@pytest.mark.parametrize("command", [["deal", "list"], ["deal", "list", "--json"], ["aging", "--json"],
                                     ["changes", "--since", "7d"], ["digest"], ["today"], ["deal", "add", "X"]])
def test_no_driver_is_one_sentence(command: list[str]) -> None:
    # no server is needed: the driver is missing before any connection is tried
    url = "postgresql://nobody@127.0.0.1:9/tuikanban"
    r = subprocess.run([sys.executable, "-c", WITHOUT_PSYCOPG, "--db", url, *command], capture_output=True,
                       text=True, timeout=60)
    assert (r.returncode, r.stdout, r.stderr.strip()) == (1, "", NO_DRIVER)


def test_config_show_names_the_remembered_views_and_db(capsys: pytest.CaptureFixture[str]) -> None:
    from tuikanban.cli import run

    path = config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('theme = "nord-pipeline"\ndb = "/srv/tuikanban/board.db"\nodd = 1\n\n'
                    '[view."/srv/tuikanban/board.db".ann.Sales]\nlanes = true\nsort = "value"\n\n'
                    '[view."/home/ann/demo.db".ann.SMB]\nlanes = false\n')
    assert run(["config", "show"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "Database:    /srv/tuikanban/board.db (when neither --db nor TUIKANBAN_DB names one)" in lines
    assert "Board views remembered (lanes, filter, sort, density, focus) for 2 databases." in lines
    unknown = [line for line in lines if line.startswith("Unknown setting")]
    assert unknown == ["Unknown setting kept as is: odd"]  # `view` is the board's own, not unknown


def test_config_show_without_views_says_nothing_of_them(capsys: pytest.CaptureFixture[str]) -> None:
    from tuikanban.cli import run

    assert not config_path().exists()
    assert run(["config", "show"]) == 0
    out = capsys.readouterr().out
    assert "Board views remembered" not in out and "Database:" not in out
    assert "(not created yet; the defaults apply)" in out


@pytest.mark.postgres_only
def test_a_url_naming_a_missing_schema_says_so(pg_database: str) -> None:
    from engines import database_url, rows
    from tuikanban.domain.errors import DatabaseError
    from tuikanban.domain.targets import parse_target
    from tuikanban.store.engine import open_database

    url = database_url(pg_database, "tk_no_such_schema")
    shown = parse_target(url).display
    for create in (True, False):  # the board and `pipeline create` set up a database; other commands do not
        with pytest.raises(DatabaseError) as info:
            open_database(url, create=create)
        assert str(info.value) == (
            f"The database {shown} has no schema tk_no_such_schema; create it first "
            "(CREATE SCHEMA tk_no_such_schema), or check the URL.")
    assert rows(database_url(pg_database), "SELECT 1 FROM pg_namespace WHERE nspname = 'tk_no_such_schema'") == []
